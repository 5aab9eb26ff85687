"""A connection lost at commit time, through the API: once the request's COMMIT was sent, the
outcome is unknown (``503 commit_unknown``, telling the client to read before it sends again)
and a GET of the instance shows what was stored; lost before the COMMIT was sent, nothing was
stored (``503 database_unavailable``) and the task completes when sent again."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from tests.conftest import backend
from tests.engine.test_wire import _DIAGRAM

_DONE = {"outcome": "interested", "notes": "回电"}


class _Lost(Exception):
    sqlstate = "57P01"  # terminating connection due to administrator command


def _lost_connection() -> Exception:
    """What the driver raises when the server's answer never comes."""
    if backend() == "postgresql":
        import psycopg

        return psycopg.OperationalError("server closed the connection unexpectedly")
    return sqlite3.ProgrammingError("Cannot operate on a closed database.")


@pytest.fixture
def started(owner: Any, agent: Any) -> tuple[int, str]:
    response = owner.upload(extra=[("wire_call.bpmn", _DIAGRAM)])
    assert response.status_code in (200, 201), response.get_json()
    instance = agent.start("wire_call", {"customer_id": 1})
    return instance["id"], instance["ready_tasks"][0]["id"]


def test_a_connection_lost_after_the_commit_is_commit_unknown_and_a_get_tells(
    runtime, agent, started, monkeypatch
):
    instance_id, task_id = started
    engine = runtime.db.engine
    dialect = engine.dialect
    commit = dialect.do_commit
    writing: list[bool] = []

    def note(connection: Any) -> None:  # the request's reads commit too; its write is the one
        writing.append(not connection.get_execution_options().get("read_only", False))

    def committed_then_lost(dbapi_connection: Any) -> None:
        commit(dbapi_connection)  # the server stored it; its answer is lost on the way back
        if writing[-1]:
            raise _lost_connection()

    event.listen(engine, "commit", note)
    monkeypatch.setattr(dialect, "do_commit", committed_then_lost)
    try:
        response = agent.complete(task_id, _DONE)
    finally:
        monkeypatch.setattr(dialect, "do_commit", commit)
        event.remove(engine, "commit", note)

    assert response.status_code == 503, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "commit_unknown"
    assert "may or may not have been stored" in error["message"]
    assert "GET the process instance or task" in error["message"]
    assert response.headers["Retry-After"]
    # What the message tells the client to do: read, and find the completion stored.
    instance = agent.instance(instance_id)
    assert instance["status"] == "completed"
    assert instance["ready_tasks"] == []
    again = agent.complete(task_id, _DONE)  # sent again regardless: refused, not done twice
    assert again.status_code in (404, 409), again.get_json()


def test_a_connection_lost_before_the_commit_was_sent_is_database_unavailable(
    runtime, agent, started
):
    instance_id, task_id = started
    sessions = runtime.db.session_factory  # the writing units of work's

    def lost_before_commit(_session: Any) -> None:
        raise OperationalError("UPDATE", {}, _Lost(), connection_invalidated=True)

    event.listen(sessions, "before_commit", lost_before_commit)
    try:
        response = agent.complete(task_id, _DONE)
    finally:
        event.remove(sessions, "before_commit", lost_before_commit)

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_unavailable"
    instance = agent.instance(instance_id)
    assert instance["status"] == "running"
    assert [task["id"] for task in instance["ready_tasks"]] == [task_id]
    assert agent.complete_ok(task_id, _DONE)["status"] == "completed"


def test_a_connection_lost_at_a_read_s_commit_is_database_unavailable(runtime, agent, started):
    """A read-only unit of work stores nothing: its COMMIT lost is no change of unknown fate.
    The bearer token's look-up that begins every API request is one: a completion whose
    look-up lost its connection never reached its write, and was told to GET the instance
    before sending it again as if it might have been stored."""
    instance_id, task_id = started
    engine = runtime.db.engine
    dialect = engine.dialect
    commit = dialect.do_commit
    reading: list[bool] = []

    def note(connection: Any) -> None:
        reading.append(connection.get_execution_options().get("read_only", False))

    def read_then_lost(dbapi_connection: Any) -> None:
        commit(dbapi_connection)
        if reading[-1] and len(reading) == 1:  # the request's first read: the token's
            raise _lost_connection()

    event.listen(engine, "commit", note)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(dialect, "do_commit", read_then_lost)
    try:
        response = agent.complete(task_id, _DONE)
        reading.clear()
        page = agent.get(f"/api/v1/process-instances/{instance_id}")
    finally:
        monkeypatch.undo()
        event.remove(engine, "commit", note)

    for answer in (response, page):
        assert answer.status_code == 503, answer.get_json()
        assert answer.get_json()["error"]["code"] == "database_unavailable"
    instance = agent.instance(instance_id)
    assert [task["id"] for task in instance["ready_tasks"]] == [task_id]
    assert agent.complete_ok(task_id, _DONE)["status"] == "completed"
