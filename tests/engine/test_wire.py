"""On PostgreSQL a step's statements go through libpq's pipeline (``dialflow.wire``): a start
and a completion are two round trips each with nothing sent through psycopg's cursor; values of
every kind come back as they went in, a state of megabytes included; a failing statement
rolls the step back whole; prepared statements deallocated behind Dialflow's back (an
administrator's ``DEALLOCATE ALL``, a pooler) cost one refused attempt, answered "busy, try
again", and the same request then succeeds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

import dialflow.wire
from crm.models import Notification
from dialflow.db import fetch, lock_failure, pipelined, utcnow
from engine.instances import start
from engine.models import ProcessInstance
from engine.tasks import _LOCK_ROWS, complete
from tests.conftest import backend

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="libpq's pipeline: PostgreSQL only"
)

_DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_wire_call" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="wire_call" name="Call back" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_agent" name="agent"><bpmn:flowNodeRef>call</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="call" name="Call the customer back" />
    <bpmn:scriptTask id="score" name="Score the call">
      <bpmn:script>score = len(notes) + (10 if outcome == "interested" else 0)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="score" />
    <bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def deployed(owner: Any) -> None:
    response = owner.upload(extra=[("wire_call.bpmn", _DIAGRAM)])
    assert response.status_code in (200, 201), response.get_json()


class _Sends:
    """Counts the wire's syncs (each one round trip) and the statements psycopg's own cursors
    execute."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.flushes = 0
        self.through_psycopg: list[str] = []
        flush = dialflow.wire._flush

        def counted_flush(pgconn: Any) -> None:
            self.flushes += 1
            flush(pgconn)

        monkeypatch.setattr(dialflow.wire, "_flush", counted_flush)
        for cls in (psycopg.Cursor, psycopg.Connection):
            execute = cls.execute

            def counted(obj: Any, query: Any, *args: Any, _execute: Any = execute, **kw: Any):
                self.through_psycopg.append(str(query)[:60])
                return _execute(obj, query, *args, **kw)

            monkeypatch.setattr(cls, "execute", counted)

    def reset(self) -> None:
        self.flushes, self.through_psycopg = 0, []


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Sends]:
    yield _Sends(monkeypatch)


def _start(runtime: Any, agent: Any, data: dict[str, Any]) -> tuple[int, str]:
    with runtime.db.unit_of_work() as session:
        started = start(runtime.engine, session, "wire_call", data=data, actor=agent.user)
        return started.row.id, started.ready_tasks[0]["id"]


def test_a_start_and_a_completion_are_two_round_trips_each(runtime, deployed, agent, sends):
    # Warm: the statements get prepared, the version's diagram is known to this process.
    _instance_id, first_task = _start(runtime, agent, {"customer_id": 1})
    with runtime.db.unit_of_work() as session:
        done = {"outcome": "no_answer", "notes": ""}
        complete(runtime.engine, session, first_task, done, actor=agent.user)
    sends.reset()
    instance_id, task_id = _start(runtime, agent, {"customer_id": 2})
    assert (sends.flushes, sends.through_psycopg) == (2, [])
    sends.reset()
    with runtime.db.unit_of_work() as session:
        done = {"outcome": "interested", "notes": "回电确认"}
        complete(runtime.engine, session, task_id, done, actor=agent.user)
    assert (sends.flushes, sends.through_psycopg) == (2, [])
    with runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert (row.status.value, row.data["score"]) == ("completed", 14)


def test_values_and_a_large_state_come_back_as_sent(runtime, deployed, agent):
    notes = "客户说下周再打。" * 60_000  # about 1.4 MB of UTF-8
    data = {
        "customer_id": 2**40,
        "amount": 12.5,
        "tags": ["回访", None, True, {"深": [1, 2.5, "x"]}],
        "quote": 'it\'s "quoted" \\ and % and %% and $1',
    }
    instance_id, task_id = _start(runtime, agent, data)
    with runtime.db.unit_of_work() as session:
        done = {"outcome": "no_answer", "notes": notes}
        complete(runtime.engine, session, task_id, done, actor=agent.user)
    with runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert {key: row.data[key] for key in data} == data
        assert row.data["notes"] == notes and row.data["score"] == len(notes)


def test_a_failing_statement_in_the_pipeline_rolls_the_step_back(runtime, deployed, agent):
    instance_id, task_id = _start(runtime, agent, {"customer_id": 3})
    with runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        before = (row.status, row.lock_version, row.state)
    done = {"outcome": "interested", "notes": "x"}
    with pytest.raises(IntegrityError), runtime.db.unit_of_work() as session:
        complete(runtime.engine, session, task_id, done, actor=agent.user)
        # a write the server refuses (no such user) queued behind the step's, before COMMIT
        with pipelined(session) as batch:
            row = {"user_id": -1, "message": "x", "instance_id": None, "created_at": utcnow()}
            batch.execute(Notification.__table__.insert().inline(), row)
    with runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert (row.status, row.lock_version, row.state) == before
        assert session.scalar(select(func.count(Notification.id))) == 0
    with runtime.db.unit_of_work() as session:  # the connection and the task still work
        complete(runtime.engine, session, task_id, done, actor=agent.user)
    with runtime.db.unit_of_work() as session:
        assert session.get(ProcessInstance, instance_id).status.value == "completed"


def test_statements_deallocated_behind_its_back_cost_one_attempt(runtime, deployed, agent):
    instance_id, task_id = _start(runtime, agent, {"customer_id": 4})
    refused = []
    for attempt in range(3):
        try:
            with runtime.db.unit_of_work() as session:
                if attempt == 0:
                    # the completion's locked read prepared on this connection, then an
                    # administrator's (or a pooler's) DEALLOCATE ALL
                    fetch(session, _LOCK_ROWS, {"task_id": task_id})
                    session.execute(text("DEALLOCATE ALL"))
                done = {"outcome": "interested", "notes": "ok"}
                complete(runtime.engine, session, task_id, done, actor=agent.user)
            break
        except DBAPIError as exc:  # what the API answers 503 "busy, try again"
            assert lock_failure(exc), exc
            refused.append(attempt)
    assert refused == [0]
    with runtime.db.unit_of_work() as session:
        assert session.get(ProcessInstance, instance_id).status.value == "completed"
