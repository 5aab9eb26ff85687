"""A process killed in the middle of a step commits nothing; the step can simply run again.

The step is stopped (and the process killed with SIGKILL) at several points: inside a
service task's handler, in the step's save after the CRM rows were flushed, after the
step's writes were sent, and when the unit of work commits. Every time, the instance, its
work items, its waits, the CRM rows, the audit log and the webhook outbox are exactly as
before the step, and the same completion then succeeds once.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crm.models import Activity, AuditEntry
from crm.models.webhooks import WebhookDelivery
from dialflow.runtime import Runtime
from engine.models import (
    EventWait,
    Incident,
    ProcessInstance,
    ReceivedMessage,
    WorkItem,
    WorkItemCandidate,
)
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext
from tests.engine.worker_processes import ROOT, Worker

POINTS = ["handler", "save", "writes", "commit"]


@pytest.fixture
def sleepy_engine(runtime: Runtime) -> ProcessEngine:
    """The main process's engine also knows ``test.sleep``, so the model can be deployed."""
    registry = build_registry()

    @registry.register("test.sleep", "Sleep")
    def sleep(ctx: HandlerContext, seconds: int) -> dict[str, Any]:
        time.sleep(seconds)
        return {"slept": seconds}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    return runtime._engine


def snapshot(db: Any, instance_id: int) -> dict[str, Any]:
    """Everything a completion of the instance's task writes."""
    with db() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        items = session.execute(
            select(
                WorkItem.id,
                WorkItem.status,
                WorkItem.assignee_id,
                WorkItem.completed_at,
                WorkItem.completed_by_id,
            )
            .where(WorkItem.instance_id == instance_id)
            .order_by(WorkItem.id)
        ).all()
        return {
            "instance": (
                row.state,
                row.step_count,
                row.data,
                row.status.value,
                row.lock_version,
                row.waiting,
                row.next_due_at,
                row.ended_at,
                row.trail,
            ),
            "work_items": [tuple(i) for i in items],
            "candidates": session.execute(
                select(WorkItemCandidate.work_item_id, WorkItemCandidate.name).order_by(
                    WorkItemCandidate.work_item_id, WorkItemCandidate.name
                )
            ).all(),
            "waits": session.execute(
                select(EventWait.kind, EventWait.name).where(EventWait.instance_id == instance_id)
            ).all(),
            "notes": session.scalars(select(Activity.body).order_by(Activity.id)).all(),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
            "deliveries": session.scalars(
                select(WebhookDelivery.event_type).order_by(WebhookDelivery.id)
            ).all(),
        }


def run_until_killed(args: list[str], marker: Path, env: dict[str, str], point: str) -> None:
    """Run ``crash_worker.py`` with ``args`` until it stops at ``point``, then SIGKILL it."""
    child = Worker("tests.engine.crash_worker", args, env, marker.with_suffix(".log"))
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"worker ended early ({child.poll()}): {child.output()}")
            assert time.monotonic() < deadline, f"worker never reached {point}"
            time.sleep(0.02)
    finally:
        code = child.kill()
    assert code == -signal.SIGKILL


@pytest.mark.parametrize("point", POINTS)
def test_killed_mid_step_leaves_no_trace(
    sleepy_engine, owner, agent, actor, make_customer, db, test_env, tmp_path, point
):
    admin = actor("admin", username="root", team=None)
    hook = admin.post(
        "/api/v1/webhooks",
        json={
            "url": "https://hooks.example.com/dialflow",
            "event_types": ["task.completed", "process_instance.completed"],
        },
    )
    assert hook.status_code == 201, hook.get_json()
    owner.deploy("slow_note.bpmn", "call-form.json")
    customer = make_customer()
    instance = agent.start("slow_note", {"customer_id": customer.id})
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])
    assert before["instance"][3] == "running"

    marker = tmp_path / "stopped"
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    run_until_killed([task_id, str(marker), token, point], marker, env, point)

    # The step's transaction died with the process: state, tasks, CRM, outbox as before.
    assert snapshot(db, instance["id"]) == before
    seen = agent.instance(instance["id"])
    assert seen["status"] == "running"
    assert [t["id"] for t in seen["ready_tasks"]] == [task_id]
    assert [t["id"] for t in agent.tasks()] == [task_id]

    done = agent.complete_ok(task_id, {"outcome": "interested", "sleep_seconds": 0})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["slept"] == {"slept": 0}
    after = snapshot(db, instance["id"])
    assert after["notes"] == ["Outcome: interested"]
    assert after["instance"][1] == before["instance"][1] + 1
    assert after["work_items"][0][1].value == "completed"
    assert after["deliveries"] == ["task.completed", "process_instance.completed"]
    assert agent.tasks() == []
    assert agent.complete(task_id, {"outcome": "interested"}).status_code == 409


@pytest.mark.parametrize("point", ["save", "commit"])
def test_a_message_killed_mid_delivery_is_delivered_when_sent_again(
    sleepy_engine, owner, agent, make_customer, db, test_env, tmp_path, point
):
    """The message's record commits with its step: killed, neither exists, and the same
    message (same id) sent again is delivered, once."""
    owner.deploy("call_or_cancel.bpmn", "call-form.json")
    customer = make_customer()
    instance = agent.start("call_or_cancel", {"customer_id": customer.id}, business_key="c-1")
    before = snapshot(db, instance["id"])
    message = {"name": "call_cancelled", "business_key": "c-1", "message_id": "crm-evt-1"}

    marker = tmp_path / "stopped"
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    args = [f"message:{json.dumps(message)}", str(marker), token, point]
    run_until_killed(args, marker, env, point)

    assert snapshot(db, instance["id"]) == before
    with db() as session:
        assert session.scalars(select(ReceivedMessage)).all() == []

    first = agent.post("/api/v1/messages", json=message)
    assert first.status_code == 202, first.get_json()
    assert first.get_json() == {"delivered_to": [instance["id"]], "duplicate": False}
    again = agent.post("/api/v1/messages", json=message)
    assert again.get_json() == {"delivered_to": [instance["id"]], "duplicate": True}
    assert snapshot(db, instance["id"])["notes"] == ["Cancelled"]
    assert agent.instance(instance["id"])["status"] == "completed"


def incidents(db: Any, instance_id: int) -> list[tuple[Any, ...]]:
    """Every incident of the instance as stored, oldest first."""
    with db() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    Incident.id,
                    Incident.task_id,
                    Incident.element_id,
                    Incident.attempts,
                    Incident.retry_at,
                    Incident.resolved_at,
                )
                .where(Incident.instance_id == instance_id)
                .order_by(Incident.id)
            )
        ]


@pytest.mark.parametrize("point", ["save", "writes", "commit"])
def test_a_retry_of_two_incidents_killed_mid_step_changes_nothing(
    sleepy_engine, owner, db, test_env, tmp_path, point
):
    """Two failed branches, one with automatic retries: a person's retry killed mid-step
    leaves the instance, both incidents (attempts, pending retry) and the work items as
    they were; the retry then runs once."""
    owner.deploy("notify_retry_beside_script.bpmn")
    data = {"recipient": "ghost", "won": 1, "calls": 0}
    failed = owner.start("notify_retry_beside_script", data)
    assert failed["status"] == "error"
    before, incidents_before = snapshot(db, failed["id"]), incidents(db, failed["id"])
    assert sorted((i[2], i[3], i[4] is not None, i[5]) for i in incidents_before) == [
        ("score", 1, False, None),
        ("tell", 1, True, None),
    ]

    marker = tmp_path / "stopped"
    token = owner.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    run_until_killed([f"retry:{failed['id']}", str(marker), token, point], marker, env, point)

    assert snapshot(db, failed["id"]) == before
    assert incidents(db, failed["id"]) == incidents_before

    retried = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert sorted((i["element_id"], i["attempts"]) for i in retried.get_json()["incidents"]) == [
        ("score", 2),
        ("tell", 2),
    ]
    assert [i[5] is not None for i in incidents(db, failed["id"])] == [True, True, False, False]


@pytest.mark.parametrize("point", ["save", "commit"])
def test_a_step_opening_a_second_incident_killed_mid_step_changes_nothing(
    sleepy_engine, owner, agent, db, test_env, tmp_path, point
):
    """An instance in error; the completion of its other branch fails too. Killed before it
    committed: one incident, the task still open; completed again: two incidents."""
    owner.deploy("call_beside_failing_score.bpmn")
    started = agent.start("call_beside_failing_score", {"won": 1, "calls": 0})
    assert started["status"] == "error"
    [task] = started["ready_tasks"]
    before, incidents_before = snapshot(db, started["id"]), incidents(db, started["id"])

    marker = tmp_path / "stopped"
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    run_until_killed([task["id"], str(marker), token, point], marker, env, point)

    assert snapshot(db, started["id"]) == before
    assert incidents(db, started["id"]) == incidents_before
    assert [t["id"] for t in agent.instance(started["id"])["ready_tasks"]] == [task["id"]]

    done = agent.complete_ok(task["id"], {"outcome": "interested"})
    assert done["status"] == "error"
    assert [(i["element_id"], i["attempts"]) for i in done["incidents"]] == [
        ("score", 1),
        ("follow_up", 1),
    ]
    assert incidents(db, started["id"])[0] == incidents_before[0]
