"""Fixtures for the workspace pages: a deployed pair of diagrams and an agent with tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from crm.models import User
from tests.web.workspace import Desk, set_up_desk


@pytest.fixture
def desk(client: FlaskClient, db: Callable[..., Any], make_user: Callable[..., User]) -> Desk:
    return set_up_desk(client, db, make_user)


# -- telesales pages: the processes' team on a test clock, each person in their own browser ----

from tests.processes.conftest import team  # noqa: E402, F401
