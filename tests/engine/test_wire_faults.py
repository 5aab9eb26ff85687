"""What breaks under the wire (``dialflow.wire``) on PostgreSQL, and what the API answers: a
backend terminated while a completion's pipeline is in flight (``503 database_unavailable``,
the connection replaced, the task completed by the next request), or under a service task's
handler (the step lost, no incident written on a dead connection: 503 too), an interrupt
inside the wire's wait (raised as itself), a column changing type under the prepared reads
(one ``503 database_busy``), a row lock waited for past an administrator's
``statement_timeout`` (``503 database_busy``), and a failing script's message holding a NUL
(an incident)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

import dialflow.wire
from engine.service import ProcessEngine
from engine.tasks import complete
from handlers import build_registry
from handlers.registry import HandlerContext
from tests.conftest import backend
from tests.engine.test_wire import _DIAGRAM

postgresql_only = pytest.mark.skipif(
    backend() != "postgresql", reason="libpq's pipeline: PostgreSQL only"
)
_DONE = {"outcome": "interested", "notes": "回电"}


@pytest.fixture
def deployed(owner: Any) -> None:
    response = owner.upload(extra=[("wire_call.bpmn", _DIAGRAM)])
    assert response.status_code in (200, 201), response.get_json()


@pytest.fixture
def other(runtime: Any) -> Iterator[Engine]:
    """A connection of its own, as an administrator's session."""
    engine = create_engine(str(runtime.settings.database_url))
    yield engine
    engine.dispose()


def _started(agent: Any) -> tuple[int, str]:
    started = agent.start("wire_call", {"customer_id": 1})
    return started["id"], started["ready_tasks"][0]["id"]


def _still_open(agent: Any, instance_id: int, task_id: str) -> None:
    instance = agent.instance(instance_id)
    assert instance["status"] == "running"
    assert [task["id"] for task in instance["ready_tasks"]] == [task_id]


@postgresql_only
@pytest.mark.parametrize("round_trip", [0, 1], ids=["locked_read", "writes_and_commit"])
def test_a_backend_terminated_mid_completion_is_a_503_and_the_task_completes_next(
    runtime, deployed, agent, other, monkeypatch, round_trip
):
    instance_id, task_id = _started(agent)
    sync = dialflow.wire.Wire.sync
    syncs: list[int] = []

    def terminated_first(wire: Any, **kwargs: Any) -> None:
        # the statements are on the server already; its backend ends before the sync is read
        syncs.append(wire.pgconn.backend_pid)
        if len(syncs) == round_trip + 1:
            with other.connect() as session:
                pid = wire.pgconn.backend_pid
                session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        sync(wire, **kwargs)

    monkeypatch.setattr(dialflow.wire.Wire, "sync", terminated_first)
    response = agent.complete(task_id, _DONE)
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"]
    monkeypatch.setattr(dialflow.wire.Wire, "sync", sync)
    _still_open(agent, instance_id, task_id)
    assert agent.complete_ok(task_id, _DONE)["status"] == "completed"


@postgresql_only
def test_a_backend_terminated_under_a_handler_is_a_503_not_an_incident(
    runtime, owner, agent, other, make_customer
):
    registry = build_registry()

    @registry.register("test.sleep", "Ends its own database session")
    def terminated(ctx: HandlerContext, seconds: int) -> dict[str, Any]:
        if seconds:
            pid = ctx.session.scalar(text("SELECT pg_backend_pid()"))
            with other.connect() as session:
                session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            ctx.session.scalar(text("SELECT 1"))
        return {"slept": seconds}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    owner.deploy("slow_note.bpmn", "call-form.json")
    instance = agent.start("slow_note", {"customer_id": make_customer().id})
    task_id = instance["ready_tasks"][0]["id"]
    response = agent.complete(task_id, {"outcome": "interested", "sleep_seconds": 1})
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_unavailable"
    _still_open(agent, instance["id"], task_id)
    assert agent.instance(instance["id"])["incidents"] == []
    done = agent.complete_ok(task_id, {"outcome": "interested", "sleep_seconds": 0})
    assert (done["status"], done["data"]["slept"]) == ("completed", {"slept": 0})


@postgresql_only
def test_an_interrupt_inside_the_wires_wait_is_raised_as_itself(
    runtime, deployed, agent, monkeypatch
):
    instance_id, task_id = _started(agent)
    wait = dialflow.wire._wait

    def interrupted(fileno: int, mask: int) -> int:
        raise KeyboardInterrupt  # Ctrl-C while the locked read's answer is awaited

    monkeypatch.setattr(dialflow.wire, "_wait", interrupted)
    with pytest.raises(KeyboardInterrupt), runtime.db.unit_of_work() as session:
        complete(runtime.engine, session, task_id, _DONE, actor=agent.user)
    monkeypatch.setattr(dialflow.wire, "_wait", wait)
    _still_open(agent, instance_id, task_id)
    assert agent.complete_ok(task_id, _DONE)["status"] == "completed"


@postgresql_only
def test_a_column_changing_type_under_prepared_reads_costs_one_busy_answer(
    runtime, deployed, agent
):
    tasks = [_started(agent) for _ in range(3)]
    agent.complete_ok(tasks[0][1], _DONE)  # the locked read is prepared on the connection
    alter = "ALTER TABLE process_instances ALTER COLUMN step_count TYPE {}"
    with runtime.db.engine.begin() as connection:  # a migration run meanwhile
        connection.execute(text(alter.format("bigint")))
    try:
        response = agent.complete(tasks[1][1], _DONE)  # "cached plan must not change result type"
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "database_busy"
        _still_open(agent, *tasks[1])
        for _instance_id, task_id in tasks[1:]:
            assert agent.complete_ok(task_id, _DONE)["status"] == "completed"
    finally:
        with runtime.db.engine.begin() as connection:
            connection.execute(text(alter.format("integer")))


_FAILING = _DIAGRAM.replace(
    b'score = len(notes) + (10 if outcome == "interested" else 0)',
    b'raise ValueError("no such outcome: " + outcome + chr(0))',
)


def test_a_nul_in_a_failing_scripts_message_is_an_incident(runtime, owner, agent):
    response = owner.upload(extra=[("wire_call.bpmn", _FAILING)])
    assert response.status_code in (200, 201), response.get_json()
    instance_id, task_id = _started(agent)
    done = agent.complete_ok(task_id, _DONE)
    assert done["status"] == "error"
    (incident,) = done["incidents"]
    assert incident["element_id"] == "score"
    assert "no such outcome: interested\\x00" in incident["message"]
    assert agent.instance(instance_id)["incidents"] == [incident]


@postgresql_only
def test_a_statement_timeout_on_a_locked_instance_is_a_busy_answer(runtime, deployed, agent):
    instance_id, task_id = _started(agent)
    runtime.db.engine.dispose()  # every connection from here on: the role's statement_timeout

    @event.listens_for(runtime.db.engine, "connect")
    def _timeout(driver: Any, _record: Any) -> None:
        driver.execute("SET statement_timeout = 300")

    lock = text("SELECT 1 FROM process_instances WHERE id = :id FOR UPDATE")
    with runtime.db.engine.connect() as holder:  # a long transaction holding the instance
        holder.execute(lock, {"id": instance_id})
        response = agent.complete(task_id, _DONE)
        holder.rollback()
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_busy"
    _still_open(agent, instance_id, task_id)
    assert agent.complete_ok(task_id, _DONE)["status"] == "completed"
