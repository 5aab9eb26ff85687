"""A command whose statement PostgreSQL cancels past a ``statement_timeout`` (an
administrator's, set for Dialflow's role or database) says so in one line and exits 1; nothing
of it is stored, and it works when run again. It said "cannot reach the database: canceling
statement due to statement timeout", as if the server were down."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from crm.models import User
from tests.cli.test_cli import assert_error, cli_env, invoke
from tests.conftest import PG_URL, count
from tests.engine.test_crash_review import pg_connection

__all__ = ["cli_env", "invoke"]  # the fixtures of test_cli.py

pytestmark = pytest.mark.skipif(not PG_URL, reason="statement_timeout: PostgreSQL only")


@pytest.fixture
def statement_timeout() -> Iterator[None]:
    """Every connection the command opens runs under ``statement_timeout = 300`` ms, as the
    role's setting would give it."""

    def _set(driver: Any, _record: Any) -> None:
        driver.execute("SET statement_timeout = 300")
        driver.commit()  # kept when the new engine's first connection is rolled back

    event.listen(Engine, "connect", _set)
    yield
    event.remove(Engine, "connect", _set)


def test_a_statement_timeout_in_a_command_is_one_clear_line(invoke, cli_env, db, statement_timeout):
    holder = pg_connection(cli_env)  # a long report holding the users table
    try:
        holder.execute("LOCK TABLE users IN EXCLUSIVE MODE")
        cancelled = invoke("user", "create", "robot", "--role", "agent")
    finally:
        holder.rollback()
        holder.close()
    assert_error(cancelled, "cancelled a statement", "statement_timeout", "run the command again")
    assert cancelled.exit_code == 1
    assert "cannot reach" not in cancelled.stderr
    assert len(cancelled.stderr.strip().splitlines()) == 1, cancelled.stderr
    with db() as session:
        assert count(session, User) == 0
    assert invoke("user", "create", "robot", "--role", "agent").exit_code == 0
    with db() as session:
        assert count(session, User) == 1
