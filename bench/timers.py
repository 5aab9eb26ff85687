"""Timers at scale, fire latency, and long loops.

    python bench/timers.py [--waiting 100000] [--due 10000] [--latency 200] [--passes 2000]

(a) 100,000 instances wait on timers (cloned with COPY from one real instance), 10,000 of them
    due: the time of one scheduler pass (claim + hand to Celery) and of an idle pass, then the
    timers fired per second by 1 and by 2 `dialflow worker` processes (PostgreSQL + Redis).
(b) Fire latency p50/p99: instances with PT2S…PT6S timers, fired by the scheduler and workers,
    and by the embedded loop; latency = the step's time − the timer's due time.
(c) A 2,000-pass call loop: step time at pass 2,000 vs pass 10 (ratio), persisted state size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import func, select, text

from crm.users import create_user
from dialflow import schema
from dialflow.background import TimerLoop, celery_app, celery_dispatcher
from dialflow.bulk import bulk_insert, reserve_ids
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance
from engine.models import EventWait, InstanceStatus, ProcessInstance, WorkItem, WorkItemStatus
from engine.service import ProcessEngine
from engine.tasks import complete

DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
ROOT = Path(__file__).resolve().parent.parent


def build(settings: Settings, clock: ManualClock | None = None) -> Runtime:
    rt = Runtime.build(settings, clock=clock)
    return rt


def clone_waiting(rt: Runtime, count: int, due_at: datetime, started_at: datetime) -> None:
    """``count`` instances waiting on one timer due at ``due_at``, cloned from a real one."""
    clock = ManualClock(started_at)
    engine = ProcessEngine(clock=clock)
    with rt.db.unit_of_work() as session:
        template = start_instance(
            engine, session, "bench_timer", data={"delay": _iso(due_at - started_at)}, actor=None
        )
        state, version_id, waiting = template.state, template.version_id, template.waiting
    chunk = 20_000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        with rt.db.unit_of_work() as session:
            ids = reserve_ids(session, ProcessInstance.__table__, size)
            bulk_insert(
                session,
                ProcessInstance.__table__,
                [
                    {
                        "id": i,
                        "process_id": "bench_timer",
                        "version_id": version_id,
                        "business_key": f"b{i}",
                        "status": "waiting",
                        "state": state,
                        "data": "{}",
                        "waiting": json.dumps(waiting),
                        "next_due_at": due_at,
                        "fire_claimed_until": None,
                        "started_by_id": None,
                        "started_at": started_at,
                        "updated_at": started_at,
                        "ended_at": None,
                        "step_count": 1,
                        "lock_version": 1,
                    }
                    for i in ids
                ],
            )
            bulk_insert(
                session,
                EventWait.__table__,
                [
                    {
                        "instance_id": i,
                        "kind": "timer",
                        "name": "Wait",
                        "business_key": f"b{i}",
                        "due_at": due_at,
                    }
                    for i in ids
                ],
            )


def _iso(delta: timedelta) -> str:
    return f"PT{int(delta.total_seconds())}S"


def count_completed(rt: Runtime) -> int:
    with rt.db.unit_of_work(read_only=True) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.status == InstanceStatus.COMPLETED)
            )
            or 0
        )


def start_workers(n: int, env: dict[str, str]) -> list[subprocess.Popen]:
    workers = []
    for k in range(n):
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dialflow.cli",
                    "worker",
                    "--concurrency",
                    "1",
                    "--queues",
                    "timers",
                ],
                env={**os.environ, **env, "LOG_LEVEL": "WARNING"},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        _ = k
    time.sleep(6)  # let them connect to the broker
    return workers


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.kill()
        worker.wait()


def scale(rt: Runtime, env: dict[str, str], waiting: int, due: int) -> None:
    now = datetime.now(UTC)
    clone_waiting(rt, waiting - due, now + timedelta(days=1), now)
    app = celery_app(rt)
    loop = TimerLoop(rt, dispatch=celery_dispatcher(app))
    for workers_n in (1, 2):
        clone_waiting(rt, due, now - timedelta(minutes=1), now - timedelta(hours=1))
        done_before = count_completed(rt)
        started = time.perf_counter()
        claimed = 0
        while True:  # claim_due takes 500 per pass; a pass over 10,000 due is 20 claims
            got = loop.run_once()
            claimed += got
            if not got:
                break
        pass_time = time.perf_counter() - started
        idle_started = time.perf_counter()
        loop.run_once()
        idle = time.perf_counter() - idle_started
        workers = start_workers(workers_n, env)
        fire_started = time.perf_counter()
        while count_completed(rt) - done_before < due:
            time.sleep(0.5)
            if time.perf_counter() - fire_started > 900:
                print("  gave up after 15 minutes")
                break
        elapsed = time.perf_counter() - fire_started
        stop(workers)
        print(
            f"(a) {waiting:,} waiting, {due:,} due, {workers_n} worker(s): scheduler pass "
            f"{pass_time * 1000:.0f} ms for {claimed:,} claimed, idle pass {idle * 1000:.1f} ms; "
            f"fired {due / elapsed:.0f} timers/s"
        )


def latency(rt: Runtime, env: dict[str, str], n: int, *, embedded: bool) -> list[float]:
    workers: list[subprocess.Popen] = []
    if embedded:
        loop = TimerLoop(rt)
    else:
        loop = TimerLoop(rt, dispatch=celery_dispatcher(celery_app(rt)))
        workers = start_workers(1, env)
    thread = loop.start_thread()
    ids = []
    for k in range(n):  # one transaction each, as instances start in real life
        with rt.db.unit_of_work() as session:
            row = start_instance(
                rt.engine, session, "bench_timer", data={"delay": f"PT{2 + k % 5}S"}, actor=None
            )
            ids.append(row.id)
    deadline = time.time() + 30
    while time.time() < deadline:
        with rt.db.unit_of_work(read_only=True) as session:
            rows = session.execute(
                select(ProcessInstance.data, ProcessInstance.status).where(
                    ProcessInstance.id.in_(ids)
                )
            ).all()
        if all(status == InstanceStatus.COMPLETED for _d, status in rows):
            break
        time.sleep(0.5)
    loop.stopped.set()
    thread.join()
    stop(workers)
    latencies = []
    with rt.db.unit_of_work(read_only=True) as session:
        for row in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids))):
            fired = datetime.fromisoformat(row.data["fired_at"])
            due = row.started_at + timedelta(seconds=int(row.data["delay"][2:-1]))
            latencies.append((fired - due).total_seconds())
    return latencies


def loop_ratio(rt: Runtime, passes: int) -> None:
    with rt.db.unit_of_work() as session:
        agent = create_user(session, username=f"loop{uuid.uuid4().hex[:6]}", role="agent")
        row = start_instance(
            rt.engine, session, "bench_loop", data={"attempts": 0, "limit": passes}, actor=agent
        )
        instance_id = row.id
    times, sizes = [], {}
    for n in range(1, passes + 1):
        with rt.db.unit_of_work() as session:
            task_id = session.scalar(
                select(WorkItem.id).where(
                    WorkItem.instance_id == instance_id, WorkItem.status == WorkItemStatus.OPEN
                )
            )
            started = time.perf_counter()
            done = complete(rt.engine, session, task_id, {}, actor=agent)
            times.append(time.perf_counter() - started)
            if n in (10, passes):
                sizes[n] = len(done.state)
    with rt.db.unit_of_work(read_only=True) as session:
        final = session.get(ProcessInstance, instance_id)
        status, attempts = final.status, final.data.get("attempts")
    early = statistics.median(times[5:25])
    late = statistics.median(times[-20:])
    print(
        f"(c) {passes:,}-pass loop: {status.value}, attempts={attempts}; step at pass 10 "
        f"{early * 1000:.2f} ms, at pass {passes:,} {late * 1000:.2f} ms, ratio "
        f"{late / early:.2f}x; state {sizes.get(10)} → {sizes.get(passes)} bytes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--passes", type=int, default=2000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()

    name = f"bench_{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": args.postgres,
        "DATABASE_SCHEMA": name,
        "REDIS_URL": args.redis,
        "SECRET_KEY": "b" * 32,
        "DIALFLOW_VAR_DIR": tempfile.mkdtemp(),
    }
    settings = Settings.from_env(env)
    redis.Redis.from_url(args.redis).flushdb()
    rt = build(settings)
    schema.upgrade(rt.db.engine, schema=name)
    try:
        with rt.db.unit_of_work() as session:
            deploy(
                rt.engine,
                session,
                Bundle.from_paths([DIAGRAMS / "bench_timer.bpmn", DIAGRAMS / "bench_loop.bpmn"]),
                actor=None,
                source="cli",
            )
        if not args.skip_scale:
            scale(rt, env, args.waiting, args.due)
        for embedded in (True, False):
            values = sorted(latency(rt, env, args.latency, embedded=embedded))
            p50 = statistics.median(values)
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            label = "embedded loop" if embedded else "scheduler + 1 Celery worker"
            print(
                f"(b) fire latency, {label}, {len(values)} timers: p50 {p50:.2f} s, "
                f"p99 {p99:.2f} s (target: within 2 s)"
            )
        loop_ratio(rt, args.passes)
    finally:
        with rt.db.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        rt.close()


if __name__ == "__main__":
    main()
