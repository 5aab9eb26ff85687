"""A command whose database connection is lost while it runs (the server restarted or went
away, an administrator ended the session) says so in one line, not "cannot reach the
database", which stays the words for a database refusing the connection; nothing of the lost
transaction is stored, and the command works when run again."""

from __future__ import annotations

import time
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


@pytest.fixture
def lost_on_insert(cli_env: dict[str, Any]) -> Iterator[None]:
    """The first ``INSERT INTO users`` of any engine finds its connection gone: on PostgreSQL
    its backend is terminated by another session (as ``pg_terminate_backend`` or a restart
    would), on SQLite the driver's connection is closed under it."""
    done: list[bool] = []

    def _lose(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if done or not statement.startswith("INSERT INTO users"):
            return
        done.append(True)
        driver = connection.connection.driver_connection
        if not PG_URL:
            driver.close()
            return
        pid = driver.info.backend_pid
        other = pg_connection(cli_env)
        try:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            deadline = time.monotonic() + 10
            while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.02)
        finally:
            other.close()

    event.listen(Engine, "before_cursor_execute", _lose)
    yield
    event.remove(Engine, "before_cursor_execute", _lose)


def test_a_connection_lost_during_a_command_is_said_as_that(invoke, db, lost_on_insert):
    lost = invoke("user", "create", "robot", "--role", "agent")
    assert_error(
        lost, "connection to the database was lost during the command", "run the command again"
    )
    assert lost.exit_code == 1
    assert "cannot reach" not in lost.stderr
    assert len(lost.stderr.strip().splitlines()) == 1, lost.stderr
    with db() as session:
        assert count(session, User) == 0
    assert invoke("user", "create", "robot", "--role", "agent").exit_code == 0
    with db() as session:
        assert count(session, User) == 1


def test_a_database_refusing_connections_cannot_be_reached(invoke, cli_env):
    refused = {**cli_env, "DATABASE_URL": "postgresql://127.0.0.1:1/dialflow"}
    result = invoke("user", "create", "robot", "--role", "agent", env=refused)
    assert_error(result, "cannot reach the database")
    assert "lost" not in result.stderr
    assert result.exit_code == 1


def test_a_connection_lost_after_a_commands_commit_says_its_outcome_is_unknown(
    invoke, db, monkeypatch
):
    """The server stored the new user; the answer to the COMMIT never came back."""
    import sqlite3

    from sqlalchemy.engine.default import DefaultDialect

    commit = DefaultDialect.do_commit
    inserted: list[bool] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO users"):
            inserted.append(True)

    def committed_then_lost(dialect: Any, dbapi_connection: Any) -> None:
        commit(dialect, dbapi_connection)
        if inserted:
            inserted.clear()
            if PG_URL:
                import psycopg

                raise psycopg.OperationalError("server closed the connection unexpectedly")
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")

    event.listen(Engine, "before_cursor_execute", note)
    monkeypatch.setattr(DefaultDialect, "do_commit", committed_then_lost)
    try:
        unknown = invoke("user", "create", "robot", "--role", "agent")
    finally:
        monkeypatch.setattr(DefaultDialect, "do_commit", commit)
        event.remove(Engine, "before_cursor_execute", note)
    assert_error(unknown, "while the command's changes were being committed", "may or may not")
    assert "cannot reach" not in unknown.stderr
    with db() as session:
        assert count(session, User) == 1  # stored: a second run would say it exists
    assert invoke("user", "create", "robot", "--role", "agent").exit_code == 1
