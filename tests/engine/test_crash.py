"""A process killed in the middle of a step commits nothing; the step can simply run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Activity
from dialflow.runtime import Runtime
from engine.models import ProcessInstance, WorkItem
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext

WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).resolve().parents[2]


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


def snapshot(db: Any, instance_id: int) -> tuple[str, int, dict, str]:
    with db() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row.state, row.step_count, row.data, row.status.value


def test_killed_mid_step_leaves_no_trace(
    sleepy_engine, owner, agent, make_customer, db, test_env, tmp_path
):
    owner.deploy("slow_note.bpmn", "call-form.json")
    customer = make_customer()
    instance = agent.start("slow_note", {"customer_id": customer.id})
    task_id = instance["ready_tasks"][0]["id"]
    before = snapshot(db, instance["id"])

    marker = tmp_path / "inside-sleep"
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(WORKER), task_id, str(marker), token],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"worker ended early ({child.returncode}): {out!r} {err!r}")
            assert time.monotonic() < deadline, "worker never reached test.sleep"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    # The step's transaction died with the process: state, task and CRM are as before.
    assert snapshot(db, instance["id"]) == before
    seen = agent.instance(instance["id"])
    assert seen["status"] == "running"
    assert [t["id"] for t in seen["ready_tasks"]] == [task_id]
    with db() as session:
        notes = session.scalars(select(Activity).where(Activity.customer_id == customer.id))
        assert notes.all() == []
        item = session.get(WorkItem, task_id)
        assert item is not None and item.status.value == "open"

    done = agent.complete_ok(task_id, {"outcome": "interested", "sleep_seconds": 0})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["slept"] == {"slept": 0}
    with db() as session:
        notes = session.scalars(
            select(Activity.body).where(Activity.customer_id == customer.id)
        ).all()
    assert notes == ["Outcome: interested"]
