"""A real ``dialflow worker`` (Celery, Redis, PostgreSQL) stopped while a timer's step is under
way: the step has written its CRM note (``crm.add_note``) and is held open by ``test.hold``
until the test releases it. ``test_celery.py`` kills a worker with SIGKILL; here it is stopped
with SIGTERM, as ``docker stop`` does (the worker's main process) and as systemd does (every
process of the unit). Either the step finishes before the worker exits (a warm shutdown) or it
is rolled back whole and its message handed back to Redis for the next worker; it is never
lost and never run twice.

PostgreSQL and Redis only: on SQLite a killed step's file lock and journal are another story,
and ``test_celery.py`` covers them. Unreachable Redis skips, except with ``CI=true``.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crm.models import Activity
from dialflow.background import TimerLoop, celery_app, celery_dispatcher
from dialflow.runtime import Runtime
from engine.models import ProcessInstance
from tests.conftest import backend
from tests.engine.test_celery import (
    WORKER,
    Processes,
    celery_env,
    holding_engine,
    processes,
    redis_url,
    wait_for,
)

__all__ = ["celery_env", "holding_engine", "processes", "redis_url"]  # test_celery's fixtures

pytestmark = [
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.skipif(
        backend() != "postgresql",
        reason="a worker's open transaction killed under it: PostgreSQL only "
        "(set DIALFLOW_TEST_DATABASE_URL); test_celery.py covers SQLite",
    ),
]


class HeldStep:
    """One ``timer_hold`` instance whose timer a worker is firing, its step held open."""

    def __init__(self, runtime: Runtime, processes: Processes, tmp_path: Path, customer_id: int):
        self.runtime, self.processes = runtime, processes
        self.marker, self.release = tmp_path / "holding", tmp_path / "release"
        self.customer_id = customer_id
        processes.env["DIALFLOW_TEST_RELEASE"] = str(self.release)

    def row(self) -> ProcessInstance:
        with self.runtime.db.unit_of_work(read_only=True) as session:
            return session.get(ProcessInstance, self.instance_id)

    def notes(self) -> int:
        with self.runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(
                select(func.count(Activity.id)).where(Activity.customer_id == self.customer_id)
            )

    def holders(self) -> list[str]:
        return self.marker.read_text().split() if self.marker.exists() else []

    def start_worker(self, name: str) -> Any:
        worker = self.processes.start(name, sys.executable, WORKER, self.marker, 120)
        started = lambda: "ready." in self.processes.log(name)  # noqa: E731
        wait_for(started, 30, f"{name} to start", self.processes)
        return worker

    def hold(self, agent: Any, loop: TimerLoop) -> None:
        self.instance_id = agent.start(
            "timer_hold", {"wait_for": "PT1S", "customer_id": self.customer_id}
        )["id"]
        self.before = self.row()
        assert self.before.status.value == "waiting"
        wait_for(loop.run_once, 10, "the timer to become due", self.processes)
        wait_for(lambda: self.holders(), 30, "the worker to hold the step", self.processes)

    def assert_untouched(self) -> None:
        row = self.row()
        assert (row.state, row.step_count) == (self.before.state, self.before.step_count)
        assert row.status.value == "waiting"
        assert self.notes() == 0  # the note the step wrote is not there: nothing half-written

    def assert_fired_once(self) -> None:
        done = self.row()
        assert done.status.value == "completed"
        assert done.step_count == self.before.step_count + 1
        assert done.next_due_at is None and done.fire_claimed_until is None
        assert self.notes() == 1


@pytest.fixture
def loop(runtime: Runtime, redis_url: str) -> Any:
    scheduler = Runtime.build(replace(runtime.settings, redis_url=redis_url))
    yield TimerLoop(scheduler, dispatch=celery_dispatcher(celery_app(scheduler)))
    scheduler.close()


@pytest.fixture
def held(runtime, holding_engine, owner, make_customer, processes, tmp_path) -> HeldStep:
    owner.deploy("timer_hold.bpmn")
    return HeldStep(runtime, processes, tmp_path, make_customer().id)


def test_sigterm_to_the_worker_is_a_warm_shutdown_the_step_finishes(held, agent, loop):
    """``docker stop``, ``kill PID``: the worker stops taking work, waits for the step under
    way, which commits once, and exits 0."""
    worker = held.start_worker("worker")
    held.hold(agent, loop)
    os.kill(worker.pid, signal.SIGTERM)  # the main process only
    wait_for(
        lambda: "warm shutdown" in held.processes.log("worker").lower(),
        20,
        "the worker to begin its warm shutdown",
        held.processes,
    )
    assert worker.poll() is None  # still running: waiting for the step
    held.assert_untouched()
    held.release.touch()
    assert worker.wait(timeout=30) == 0, held.processes.logs()
    held.assert_fired_once()
    assert len(held.holders()) == 1
    assert loop.run_once() == 0  # nothing left to hand out


def test_sigterm_to_every_process_of_the_worker_rolls_back_and_redelivers(
    held, agent, loop, processes
):
    """systemd's default (``KillMode=control-group``) signals the pool processes too: the
    one holding the step dies with its transaction, the worker hands its message back to
    Redis, and the next worker fires the instance from it, before the claim ends, once."""
    worker = held.start_worker("worker-1")
    held.hold(agent, loop)
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)
    held.assert_untouched()

    held.release.touch()  # the next worker does not hold
    processes.start("worker-2", sys.executable, WORKER, held.marker, 120)
    # No scheduler pass from here: the instance stays claimed, only the message redelivered
    # by worker 1 can reach worker 2.
    wait_for(lambda: held.row().status.value == "completed", 45, "worker 2 to fire", processes)
    held.assert_fired_once()
    holders = held.holders()
    assert len(holders) == 2 and holders[0] != holders[1], holders
    assert loop.run_once() == 0
