"""A deadlock (40P01) and a lock wait past ``lock_timeout`` (55P03) inside the wire's pipeline
(``dialflow.wire``) while a task is completed on PostgreSQL: the API answers ``503
database_busy`` with ``Retry-After``, the instance is as it was, and the same request sent
again completes the task once.

The deadlock is the server's own error, raised once by a trigger on the instance's UPDATE (the
write the wire queues with the commit; a real deadlock picks its victim by timing); the lock
timeout is a real one, the instance's row held by another connection while the completion's
locked read waits for it.

A statement cancelled by the role's ``statement_timeout`` inside a scheduler pass is logged as
one warning line that says so and the pass is tried again: nothing is lost, the timer fires
once the table is free (it was logged with a traceback, as any bug is)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from dialflow.background import TimerLoop
from engine.models import ProcessInstance
from tests.conftest import backend
from tests.engine.test_wire import _DIAGRAM

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="libpq's pipeline and SQLSTATEs: PostgreSQL only"
)
_DONE = {"outcome": "interested", "notes": "回电"}


@pytest.fixture
def deployed(owner: Any) -> None:
    response = owner.upload(extra=[("wire_call.bpmn", _DIAGRAM)])
    assert response.status_code in (200, 201), response.get_json()


def _started(agent: Any) -> tuple[int, str]:
    started = agent.start("wire_call", {"customer_id": 1})
    return started["id"], started["ready_tasks"][0]["id"]


def _snapshot(runtime: Any, instance_id: int) -> tuple[Any, ...]:
    with runtime.db.unit_of_work(read_only=True) as session:
        row = session.get(ProcessInstance, instance_id)
        return (row.status.value, row.step_count, row.state, row.data)


@pytest.fixture
def fails_once(runtime: Any) -> Iterator[Any]:
    """Arm a trigger that fails the next UPDATE of an instance with the given SQLSTATE, once
    (a sequence counts the attempts: it is not rolled back with the failed transaction)."""
    armed: list[str] = []

    def arm(sqlstate: str) -> None:
        with runtime.db.engine.begin() as connection:
            connection.execute(text("CREATE SEQUENCE test_fault_attempts"))
            connection.execute(
                text(
                    "CREATE FUNCTION test_fault_once() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN IF nextval('test_fault_attempts') = 1 THEN"
                    f" RAISE EXCEPTION 'injected %', '{sqlstate}' USING ERRCODE = '{sqlstate}';"
                    " END IF; RETURN NEW; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER test_fault_once BEFORE UPDATE ON process_instances"
                    " FOR EACH ROW EXECUTE FUNCTION test_fault_once()"
                )
            )
        armed.append(sqlstate)

    yield arm
    if armed:
        with runtime.db.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER test_fault_once ON process_instances"))
            connection.execute(text("DROP FUNCTION test_fault_once()"))
            connection.execute(text("DROP SEQUENCE test_fault_attempts"))


def _attempts(runtime: Any) -> int:
    with runtime.db.engine.connect() as connection:
        return connection.scalar(text("SELECT last_value FROM test_fault_attempts"))


@pytest.mark.parametrize("sqlstate", ["40P01", "55P03"], ids=["deadlock", "lock_timeout"])
def test_a_lock_failure_in_the_pipelined_writes_is_busy_and_a_retry_completes(
    runtime, deployed, agent, fails_once, sqlstate
):
    instance_id, task_id = _started(agent)
    before = _snapshot(runtime, instance_id)
    fails_once(sqlstate)
    response = agent.complete(task_id, _DONE)
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_busy"
    assert int(response.headers["Retry-After"]) >= 1
    assert _snapshot(runtime, instance_id) == before
    assert agent.instance(instance_id)["incidents"] == []

    done = agent.complete_ok(task_id, _DONE)
    assert done["status"] == "completed"
    assert _attempts(runtime) == 2  # the failed write, then the retry's: nothing else ran
    assert _snapshot(runtime, instance_id)[1] == before[1] + 1  # one step, not two
    again = agent.complete(task_id, _DONE)
    assert again.status_code in (404, 409), again.get_json()


def test_a_real_lock_timeout_on_the_locked_read_is_busy_and_a_retry_completes(
    runtime, deployed, agent
):
    instance_id, task_id = _started(agent)
    before = _snapshot(runtime, instance_id)
    runtime.db.engine.dispose()  # every connection from here on waits 0.3 s for a lock

    @event.listens_for(runtime.db.engine, "connect")
    def _short_wait(driver: Any, _record: Any) -> None:
        driver.execute("SET lock_timeout = 300")

    holder: Connection
    with runtime.db.engine.connect() as holder:  # another transaction holds the instance
        holder.execute(
            text("SELECT 1 FROM process_instances WHERE id = :id FOR UPDATE"), {"id": instance_id}
        )
        response = agent.complete(task_id, _DONE)
        holder.rollback()
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["code"] == "database_busy"
    assert _snapshot(runtime, instance_id) == before
    done = agent.complete_ok(task_id, _DONE)
    assert done["status"] == "completed"
    assert _snapshot(runtime, instance_id)[1] == before[1] + 1


def test_a_statement_timeout_in_a_scheduler_pass_is_one_logged_line_and_a_retry(
    runtime, owner, agent, caplog
):
    owner.deploy("timer_waits.bpmn")
    instance_id = agent.start("wait_seconds", {"wait_for": "PT1S"})["id"]
    time.sleep(1.1)  # due
    runtime.db.engine.dispose()  # every connection from here on: the role's statement_timeout

    @event.listens_for(runtime.db.engine, "connect")
    def _timeout(driver: Any, _record: Any) -> None:
        driver.execute("SET statement_timeout = 300")

    loop = TimerLoop(runtime, interval=0.05)
    caplog.set_level(logging.WARNING, logger="dialflow.background")
    with runtime.db.engine.connect() as holder:  # a long report, a VACUUM FULL: claims wait
        holder.execute(text("SET statement_timeout = 0"))
        holder.execute(text("LOCK TABLE process_instances IN EXCLUSIVE MODE"))
        passes = threading.Thread(target=loop.run_forever, daemon=True)
        passes.start()
        deadline = time.monotonic() + 20
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.6)  # tried again under the lock after 1 s: not logged again
        assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
        assert _snapshot(runtime, instance_id)[0] == "waiting"
        holder.rollback()
    deadline = time.monotonic() + 20
    while _snapshot(runtime, instance_id)[0] != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    loop.stopped.set()
    passes.join(timeout=10)

    records = [r for r in caplog.records if r.name == "dialflow.background"]
    # one line when the passes start failing, one when they work again
    assert len(records) == 2, [r.getMessage() for r in caplog.records]
    for record in records:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None  # no traceback
        assert "\n" not in record.getMessage()
    failed, works = (record.getMessage() for record in records)
    assert failed.startswith("timer pass failed; trying again in 1 s")
    assert "(database busy: a statement" in failed
    assert "statement_timeout" in failed and "canceling statement" in failed
    assert re.match(r"timer pass works again after ([2-9]|\d\d+) failed attempts", works), works
    status, step_count = _snapshot(runtime, instance_id)[:2]
    assert status == "completed"
    assert step_count == 2  # started, fired: once each
