"""Engine throughput: raw in-memory SpiffWorkflow vs Dialflow's persisted engine.

    python bench/engine.py [--instances N] [--rounds R] [--postgres URL] [--skip-sqlite]

Each instance: start → user task → complete with data → service task → end. The raw baseline
parses once and runs everything in memory, on SpiffWorkflow as shipped (Dialflow's own change
to its logging, ``engine.log_records``, is lifted while it runs); Dialflow runs the same
diagram through its use cases (two transactions per instance: start, with the client reading
its open task as the API's answer carries it; complete) with state, work items, audit and
webhook outbox stored.
Prints instances/s for each, the ratio to the baseline, and the persisted state size at the user
task; then the rate of the same SQL statements sent from the driver with no engine
(bench/floor.py), which bounds the ratio any engine on this database can reach here, and what
one durable commit waits for the disk on this machine (machines of one kind differ, and so does
the load of other writers: one thread waits for it twice an instance, whatever the engine
does). Targets on a 2-core machine, one process: ≥ 250 instances/s on PostgreSQL, state
≤ 4 KB, ratio ≤ 5×.

A shared machine's speed drifts by tens of percent within a minute, so the raw baseline is
measured right before and right after every persisted measurement, and each ratio is taken
against the mean of those two; ``--rounds`` repeats the whole sequence and the medians are
printed, with every round's ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from statistics import median
from typing import Any

# Run as `python bench/engine.py`, this file's folder comes first on the path and its name would
# shadow the `engine` package: put the project root before it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text

from bench.cpu import BackendWatcher, CpuSplit, measured
from bench.floor import database_floor, templates
from crm.users import create_user
from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine import log_records
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start, start_instance
from engine.service import ProcessEngine
from engine.tasks import complete
from handlers import build_registry
from handlers.registry import HandlerContext

DIAGRAM = Path(__file__).resolve().parent / "diagrams" / "bench_call.bpmn"


class RawEngine(PythonScriptEngine):
    def call_service(self, task: Any, operation_name: str, operation_params: dict, **_: Any) -> str:
        return json.dumps({"value": operation_params["value"]["value"]})


def raw_baseline(count: int) -> float:
    """Instances per second of SpiffWorkflow as shipped: Dialflow's own change to it
    (``engine.log_records``, loaded with the engine into this process) is lifted meanwhile."""
    spec, subprocesses = raw_specs()
    started = time.perf_counter()
    run_raw(spec, subprocesses, count)
    return count / (time.perf_counter() - started)


def raw_specs() -> tuple[Any, Any]:
    """The benchmark diagram's spec and its subprocess specs, parsed by SpiffWorkflow."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DIAGRAM))
    return parser.get_spec("bench_call"), parser.get_subprocess_specs("bench_call")


def run_raw(spec: Any, subprocesses: Any, count: int) -> None:
    """``count`` instances in memory, on SpiffWorkflow as shipped (see :func:`raw_baseline`)."""
    patched, Task._set_state = Task._set_state, log_records.SHIPPED_SET_STATE
    try:
        engine = RawEngine()
        for _ in range(count):
            workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine)
            workflow.do_engine_steps()
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.data.update({"outcome": "interested"})
            task.run()
            workflow.do_engine_steps()
            assert workflow.is_completed()
    finally:
        Task._set_state = patched


def bench_registry() -> Any:
    registry = build_registry()

    @registry.register("bench.echo", "Return its input (benchmark only)", writes=False)
    def echo(ctx: HandlerContext, value: str) -> dict[str, str]:
        return {"value": value}

    return registry


class PersistedEngine:
    """Dialflow's engine on one database, deployed with the benchmark's diagram and a user."""

    def __init__(self, settings: Settings) -> None:
        self.runtime = Runtime.build(settings)
        self.backends = BackendWatcher(self.runtime.db.engine)
        schema.upgrade(self.runtime.db.engine, schema=settings.database_schema)
        self.engine = ProcessEngine(registry=bench_registry(), clock=self.runtime.clock)
        with self.runtime.db.unit_of_work() as session:
            self.agent = create_user(session, username=f"bench{uuid.uuid4().hex[:6]}", role="agent")
            deploy(self.engine, session, Bundle.from_paths([DIAGRAM]), actor=None, source="cli")
        self._runs = 0
        self.run_instances("warmup-", 50)

    def run_instances(self, prefix: str, n: int) -> None:
        db, engine, agent = self.runtime.db, self.engine, self.agent
        for i in range(n):
            with db.unit_of_work() as session:
                started = start(
                    engine,
                    session,
                    "bench_call",
                    business_key=f"{prefix}{i}",
                    data={"customer_id": i},
                    actor=agent,
                )
                # The client learns the task to complete from the answer to its start, as
                # the API gives it (``ready_tasks``).
                task_id = started.ready_tasks[0]["id"]
            with db.unit_of_work() as session:
                complete(engine, session, task_id, {"outcome": "interested"}, actor=agent)

    def rate(self, count: int, threads: int = 1) -> tuple[float, CpuSplit]:
        """Instances per second from ``threads`` threads of this process (as a web server's
        request threads would run them), and the CPU per instance on either side."""
        self._runs += 1
        per_thread = max(1, count // threads)
        names = [f"r{self._runs}t{k}-" for k in range(threads)]
        started = time.perf_counter()
        if threads == 1:
            _, cpu = measured(self.backends, lambda: self.run_instances(names[0], per_thread))
            elapsed = time.perf_counter() - started
            return per_thread / elapsed, cpu.per_instance_ms(per_thread)
        else:
            workers = [
                threading.Thread(target=self.run_instances, args=(name, per_thread))
                for name in names
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        return per_thread * threads / (time.perf_counter() - started), CpuSplit(0, 0, None)

    def state_and_floor(self, count: int) -> tuple[int, tuple[float, CpuSplit]]:
        """The state's size at the user task, and the instances per second of the same
        statements alone (bench/floor.py) with their CPU per instance."""
        with self.runtime.db.unit_of_work() as session:
            row = start_instance(
                self.engine, session, "bench_call", data={"customer_id": 1}, actor=self.agent
            )
            state_bytes = len(row.state.encode())
            instance_id, version_id = row.id, row.version_id
        values = templates(self.runtime.db.engine, instance_id)
        engine = self.runtime.db.engine
        floor, cpu = measured(
            self.backends, lambda: database_floor(engine, values, version_id, count)
        )
        # The floor also runs a twentieth of ``count`` unmeasured instances first.
        return state_bytes, (floor, cpu.per_instance_ms(count + max(10, count // 20)))

    def commit_wait_ms(self, count: int = 300) -> float | None:
        """On PostgreSQL, what one durable commit waits for the disk here: a one-row INSERT
        committed with ``synchronous_commit`` on, less the same with it off (medians of two
        runs each). A step commits once and an instance takes two, so one thread waits this
        twice an instance whatever the engine does; threads share the flushes."""
        if self.runtime.db.engine.dialect.name != "postgresql":
            return None
        raw = self.runtime.db.engine.raw_connection()
        try:
            driver = raw.driver_connection
            driver.autocommit = True
            driver.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (n integer)")
            seconds: dict[str, list[float]] = {"on": [], "off": []}
            for mode in ("off", "on", "off", "on"):
                driver.execute(f"SET synchronous_commit = {mode}")
                started = time.perf_counter()
                for n in range(count):
                    with driver.transaction():
                        driver.execute("INSERT INTO bench_commit_probe VALUES (%s)", (n,))
                seconds[mode].append((time.perf_counter() - started) / count)
            driver.execute("RESET synchronous_commit")
        finally:
            raw.close()
        return 1000 * (median(seconds["on"]) - median(seconds["off"]))

    def close(self) -> None:
        self.runtime.close()


class Measured:
    """One line of the report: rates, and ratios to the raw runs on either side of each."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.rates: list[float] = []
        self.ratios: list[float] = []
        self.floors: list[float] = []
        self.floor_ratios: list[float] = []
        self.own_ms: list[float] = []
        self.cpu: list[CpuSplit] = []
        self.floor_cpu: list[CpuSplit] = []
        self.state_bytes: int | None = None

    def add(self, rate: float, raw: float, cpu: CpuSplit) -> None:
        self.rates.append(rate)
        self.ratios.append(raw / rate)
        self.cpu.append(cpu)

    def add_floor(self, floor: float, raw: float, rate: float, cpu: CpuSplit) -> None:
        self.floors.append(floor)
        self.floor_cpu.append(cpu)
        # An instance costs at least its statements plus SpiffWorkflow's own work.
        self.floor_ratios.append(raw / floor + 1)
        self.own_ms.append(1000 / rate - 1000 / floor - 1000 / raw)

    def report(self) -> None:
        ratios = " ".join(f"{r:.1f}" for r in self.ratios)
        state = f"   state at user task {self.state_bytes} bytes" if self.state_bytes else ""
        print(
            f"{self.label:<32} {median(self.rates):8.0f} instances/s   ratio to raw "
            f"{median(self.ratios):5.1f}x (rounds: {ratios}){state}"
        )
        if self.floors:
            print(
                f"  its statements alone, no engine {median(self.floors):8.0f} instances/s   "
                f"lowest reachable ratio {median(self.floor_ratios):5.1f}x   "
                f"engine's own time {median(self.own_ms):.2f} ms/instance"
            )
        if self.floor_cpu:
            print(f"  CPU per instance, run:          {cpu_line(self.cpu)}")
            print(f"  CPU per instance, statements:   {cpu_line(self.floor_cpu)}")


def cpu_line(splits: list[CpuSplit]) -> str:
    """The medians of CPU splits in ms per instance: this process (user + kernel), server."""
    user = median(s.user for s in splits)
    system = median(s.system for s in splits)
    servers = [s.server for s in splits if s.server is not None]
    server = f", PostgreSQL's backend {median(servers):.2f} ms" if servers else ""
    return f"this process {user + system:.2f} ms ({user:.2f} user + {system:.2f} kernel){server}"


def sqlite_settings(tmp: str) -> Settings:
    return Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "DIALFLOW_VAR_DIR": tmp,
            "SECRET_KEY": "b" * 32,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="also measure with this many threads of the one process",
    )
    args = parser.parse_args()
    count = args.instances

    raw_baseline(max(20, count // 10))  # warm up
    raws: list[float] = []

    def around(measure: Any) -> tuple[Any, float]:
        """``measure()``, and the mean raw rate right before and right after it."""
        before = raw_baseline(count)
        result = measure()
        after = raw_baseline(count)
        raws.extend((before, after))
        return result, (before + after) / 2

    targets: list[tuple[str, PersistedEngine, int]] = []
    cleanups: list[Any] = []
    try:
        if not args.skip_sqlite:
            tmp = tempfile.TemporaryDirectory()
            cleanups.append(tmp.cleanup)
            targets.append(("Dialflow on SQLite", PersistedEngine(sqlite_settings(tmp.name)), 1))
        if not args.skip_postgres:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            settings = Settings.from_env(
                {"DATABASE_URL": args.postgres, "DATABASE_SCHEMA": name, "SECRET_KEY": "b" * 32}
            )
            cleanups.append(lambda: drop_schema(settings, name))
            postgres = PersistedEngine(settings)
            targets.append(("Dialflow on PostgreSQL", postgres, 1))
            if args.threads > 1:
                targets.append((f"  the same, {args.threads} threads", postgres, args.threads))
        lines = {label: Measured(label) for label, _target, _threads in targets}
        for _round in range(args.rounds):
            for label, target, threads in targets:
                (rate, cpu), raw = around(lambda t=target, n=threads: t.rate(count, n))
                lines[label].add(rate, raw, cpu)
                if threads == 1:
                    (state_bytes, (floor, floor_cpu)), raw_floor = around(
                        lambda t=target: t.state_and_floor(count)
                    )
                    lines[label].state_bytes = state_bytes
                    lines[label].add_floor(floor, raw_floor, rate, floor_cpu)
        print(
            f"raw SpiffWorkflow, in memory     {median(raws):8.0f} instances/s   "
            f"(median of {len(raws)} runs, {min(raws):.0f}–{max(raws):.0f}, "
            "each right before or after a persisted run)"
        )
        for line in lines.values():
            line.report()
        if not args.skip_postgres:
            wait = postgres.commit_wait_ms()
            print(
                f"  a durable commit's wait for the disk here {wait:.2f} ms "
                "(two commits an instance; one thread waits for both, threads share them)"
            )
    finally:
        for _label, target, threads in targets:
            if threads == 1:
                target.close()
        for cleanup in cleanups:
            cleanup()


def drop_schema(settings: Settings, name: str) -> None:
    runtime = Runtime.build(settings)
    with runtime.db.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    runtime.close()


if __name__ == "__main__":
    main()
