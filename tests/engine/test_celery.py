"""Timers through Celery and a real Redis: ``dialflow scheduler`` dispatches, ``dialflow worker``
fires; a worker killed mid-step loses nothing and the instance fires once, after its claim ends.

Redis comes from ``DIALFLOW_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379``), one database
per xdist worker from 5 up, flushed around each test. Unreachable Redis skips these tests,
except with ``CI=true``, where it fails them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from crm.models import Activity
from dialflow.background import TimerLoop, celery_app, celery_dispatcher
from dialflow.runtime import Runtime
from engine.models import ProcessInstance
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("celery_worker.py")
DIALFLOW = Path(sys.executable).with_name("dialflow")
REDIS_BASE = re.sub(
    r"/\d*$", "", os.environ.get("DIALFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379")
)


@pytest.fixture
def redis_url(worker_id: str) -> Iterator[str]:
    """A flushed Redis database of this xdist worker's own (5 for gw0, 6 for gw1, ...)."""
    number = 5 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0)
    url = f"{REDIS_BASE}/{number}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis is not reachable at {url} ({exc}); set DIALFLOW_TEST_REDIS_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: Redis tests must run. {reason}")
        pytest.skip(reason)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def celery_env(test_env: dict[str, str], redis_url: str) -> dict[str, str]:
    """The test database's environment for ``dialflow worker`` and ``dialflow scheduler``."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_SCHEMA"}  # only the test's
    env.update(test_env, REDIS_URL=redis_url, LOG_LEVEL="INFO", PYTHONPATH=str(ROOT))
    return env


class Processes:
    """Child processes, each in its own session so its whole group can be signalled."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path, self.env = tmp_path, env
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, *argv: str | Path) -> subprocess.Popen:
        log = self.tmp_path / f"{name}.log"
        with log.open("wb") as handle:
            child = subprocess.Popen(
                [str(a) for a in argv],
                cwd=ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append((child, log))
        return child

    def kill(self, child: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if child.poll() is None:
            os.killpg(child.pid, sig)  # the worker and its pool processes
        child.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.running)

    def stop_all(self) -> None:
        for child, _ in self.running:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child, _ in self.running:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=15)


@pytest.fixture
def processes(tmp_path: Path, celery_env: dict[str, str]) -> Iterator[Processes]:
    procs = Processes(tmp_path, celery_env)
    yield procs
    procs.stop_all()


def wait_for(condition: Callable[[], Any], timeout: float, what: str, procs: Processes) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        for child, log in procs.running:
            if child.poll() is not None and child.returncode not in (0, -signal.SIGKILL):
                pytest.fail(f"{log.stem} exited with {child.returncode}\n{procs.logs()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{procs.logs()}")
        time.sleep(0.1)


def statuses(runtime: Runtime, ids: list[int]) -> dict[str, int]:
    with runtime.db.unit_of_work(read_only=True) as session:
        rows = session.execute(
            select(ProcessInstance.status, func.count())
            .where(ProcessInstance.id.in_(ids))
            .group_by(ProcessInstance.status)
        ).all()
    return {status.value: n for status, n in rows}


def test_scheduler_and_worker_fire_due_timers(runtime, owner, agent, processes):
    """60 instances due within a second: the scheduler hands them out in batches (50 at
    most), the two pool processes of one worker fire them in parallel (on PostgreSQL each
    process needs its own connections: inherited pooled ones broke queries before)."""
    owner.deploy("timer_waits.bpmn")
    ids = [agent.start("wait_seconds", {"wait_for": "PT1S"})["id"] for _ in range(60)]
    assert statuses(runtime, ids) == {"waiting": 60}

    processes.start("worker", DIALFLOW, "worker", "--concurrency", "2")
    processes.start(
        "scheduler", DIALFLOW, "scheduler", "--interval", "0.2", "--claim-seconds", "10"
    )
    wait_for(
        lambda: statuses(runtime, ids) == {"completed": 60},
        45,
        "all 60 timers to fire",
        processes,
    )
    with runtime.db.unit_of_work(read_only=True) as session:
        rows = session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))).all()
    assert {row.step_count for row in rows} == {2}  # started, fired: once each
    assert all(row.next_due_at is None and row.fire_claimed_until is None for row in rows)
    assert all("woke_at" in row.data for row in rows)
    log = processes.logs()
    assert "dialflow.fire_timers" in log
    assert "Traceback" not in log, log


@pytest.fixture
def holding_engine(runtime: Runtime) -> ProcessEngine:
    """This process's engine knows ``test.hold`` too, so ``timer_hold.bpmn`` deploys."""
    registry = build_registry()

    @registry.register("test.hold", "Hold the step open")
    def hold(ctx: HandlerContext) -> dict[str, Any]:
        return {"held": 0}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    return runtime._engine


def test_killed_worker_loses_nothing_and_the_timer_fires_once(
    runtime, holding_engine, owner, agent, make_customer, processes, tmp_path, redis_url
):
    """SIGKILL to a worker (and its pool) while it holds a timer's step open: the step's
    transaction dies with it, the claim stands until it ends (5 s here, 30 s by default),
    then the scheduler hands the instance to the next worker, which fires it once."""
    owner.deploy("timer_hold.bpmn")
    customer = make_customer()
    marker = tmp_path / "holding"
    first = processes.start("worker-1", sys.executable, WORKER, marker, 120)
    wait_for(lambda: "ready." in processes.log("worker-1"), 30, "worker 1 to start", processes)
    instance_id = agent.start("timer_hold", {"wait_for": "PT1S", "customer_id": customer.id})["id"]

    def row() -> ProcessInstance:
        with runtime.db.unit_of_work(read_only=True) as session:
            return session.get(ProcessInstance, instance_id)

    def notes() -> int:
        with runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(
                select(func.count(Activity.id)).where(Activity.customer_id == customer.id)
            )

    before = row()
    assert before.status.value == "waiting"
    scheduler = Runtime.build(replace(runtime.settings, redis_url=redis_url))
    dispatch = celery_dispatcher(celery_app(scheduler))
    claim_for = timedelta(seconds=5)
    loop = TimerLoop(scheduler, dispatch=dispatch, claim_for=claim_for)
    try:
        wait_for(loop.run_once, 10, "the timer to become due", processes)
        wait_for(marker.exists, 30, "worker 1 to hold the step", processes)
        processes.kill(first)  # SIGKILL to the worker and its pool processes
        assert first.returncode == -signal.SIGKILL

        # Its transaction died with it: nothing of the step is left, and the claim stands.
        after_kill = row()
        assert (after_kill.state, after_kill.step_count) == (before.state, before.step_count)
        assert after_kill.status.value == "waiting"
        assert after_kill.fire_claimed_until is not None
        assert notes() == 0
        assert loop.run_once() == 0  # still claimed: not handed out twice

        second = processes.start("worker-2", sys.executable, WORKER, marker, 0)
        wait_for(loop.run_once, claim_for.total_seconds() + 45, "the claim to end", processes)
        wait_for(lambda: row().status.value == "completed", 30, "worker 2 to fire", processes)
        done = row()
        assert done.step_count == before.step_count + 1
        assert done.data["held"] == {"held": 0.0}
        assert done.next_due_at is None and done.fire_claimed_until is None
        assert notes() == 1
        holders = marker.read_text().split()
        assert len(holders) == 2 and holders[0] != holders[1]  # one pass in each worker
        assert loop.run_once() == 0

        # The killed worker's message comes back after Redis' visibility timeout
        # (DIALFLOW_BROKER_VISIBILITY_SECONDS):
        # the same id handed out again changes nothing.
        dispatch([instance_id])

        def results() -> list[str]:  # what each fire_timers task of worker 2 returned
            pattern = r"fire_timers\[\S+\] succeeded in \S+s: (\d+)"
            return re.findall(pattern, processes.log("worker-2"))

        assert wait_for(lambda: len(results()) == 2, 20, "the repeated batch", processes)
        assert results() == ["1", "0"]
        assert second.poll() is None
    finally:
        scheduler.close()
    again = row()
    assert (again.step_count, again.state) == (done.step_count, done.state)
    assert notes() == 1
