"""Fixtures for the workspace pages: a deployed pair of diagrams and an agent with tasks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from crm.models import User
from tests.conftest import PASSWORD
from tests.web import workspace


@dataclass
class Desk:
    """An agent (``li``, team East) and a process owner who deployed the workspace diagrams."""

    agent: User
    agent_api: dict[str, str]
    owner_api: dict[str, str]
    client: FlaskClient

    def start_call(self, customer_id: int | None = None, **data: Any) -> dict[str, Any]:
        key = str(customer_id) if customer_id is not None else None
        return workspace.start(
            self.client, self.agent_api, "workspace_call", business_key=key, data=data
        )

    def start_queue(self, **data: Any) -> dict[str, Any]:
        return workspace.start(self.client, self.owner_api, "workspace_queue", data=data)


@pytest.fixture
def desk(client: FlaskClient, db: Callable[..., Any], make_user: Callable[..., User]) -> Desk:
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = make_user("process_owner", username="po", team=None)
    owner_api = workspace.bearer(db, owner)
    workspace.deploy(client, owner_api)
    return Desk(agent, workspace.bearer(db, agent), owner_api, client)
