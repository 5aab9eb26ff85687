"""Engine throughput: raw in-memory SpiffWorkflow vs Dialflow's persisted engine.

    python bench/engine.py [--instances N] [--postgres URL] [--skip-sqlite]

Each instance: start → user task → complete with data → service task → end. The raw baseline
parses once and runs everything in memory; Dialflow runs the same diagram through its use
cases (two transactions per instance: start, with the client reading its open task as the
API's answer carries it; complete) with state, work items, audit and webhook outbox stored.
Prints instances/s for each, the ratio to the baseline, and the persisted state size at the user
task; then the rate of the same SQL statements sent from the driver with no engine
(bench/floor.py), which bounds the ratio any engine on this database can reach here. Targets
on a 2-core machine, one process: ≥ 250 instances/s on PostgreSQL, state ≤ 4 KB, ratio ≤ 5×.
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
from typing import Any

# Run as `python bench/engine.py`, this file's folder comes first on the path and its name would
# shadow the `engine` package: put the project root before it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text

from bench.floor import database_floor, templates
from crm.users import create_user
from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance
from engine.service import ProcessEngine
from engine.tasks import complete, open_tasks
from handlers import build_registry
from handlers.registry import HandlerContext

DIAGRAM = Path(__file__).resolve().parent / "diagrams" / "bench_call.bpmn"


class RawEngine(PythonScriptEngine):
    def call_service(self, task: Any, operation_name: str, operation_params: dict, **_: Any) -> str:
        return json.dumps({"value": operation_params["value"]["value"]})


def raw_baseline(count: int) -> float:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DIAGRAM))
    spec, subprocesses = parser.get_spec("bench_call"), parser.get_subprocess_specs("bench_call")
    engine = RawEngine()
    started = time.perf_counter()
    for _ in range(count):
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine)
        workflow.do_engine_steps()
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.data.update({"outcome": "interested"})
        task.run()
        workflow.do_engine_steps()
        assert workflow.is_completed()
    return count / (time.perf_counter() - started)


def bench_registry() -> Any:
    registry = build_registry()

    @registry.register("bench.echo", "Return its input (benchmark only)", writes=False)
    def echo(ctx: HandlerContext, value: str) -> dict[str, str]:
        return {"value": value}

    return registry


def dialflow_run(
    settings: Settings, count: int, threads: int = 1, floor: bool = False
) -> tuple[float, int, float | None]:
    """Instances per second through the engine's use cases, from ``threads`` threads of one
    process (as a web server's request threads would run them); the state's size at the user
    task; with ``floor``, the instances per second of the same statements alone (bench/floor.py)."""
    runtime = Runtime.build(settings)
    schema.upgrade(runtime.db.engine, schema=settings.database_schema)
    engine = ProcessEngine(registry=bench_registry(), clock=runtime.clock)
    with runtime.db.unit_of_work() as session:
        agent = create_user(session, username=f"bench{uuid.uuid4().hex[:6]}", role="agent")
        deploy(engine, session, Bundle.from_paths([DIAGRAM]), actor=None, source="cli")

    def run_instances(prefix: str, n: int) -> None:
        for i in range(n):
            with runtime.db.unit_of_work() as session:
                row = start_instance(
                    engine,
                    session,
                    "bench_call",
                    business_key=f"{prefix}{i}",
                    data={"customer_id": i},
                    actor=agent,
                )
                # The client learns the task to complete from the answer to its start, as
                # the API gives it (``ready_tasks``).
                task_id = open_tasks(session, row.id)[0]["id"]
            with runtime.db.unit_of_work() as session:
                complete(engine, session, task_id, {"outcome": "interested"}, actor=agent)

    run_instances("warmup", max(10, count // 20))
    per_thread = max(1, count // threads)
    workers = [
        threading.Thread(target=run_instances, args=(f"t{k}-", per_thread)) for k in range(threads)
    ]
    started = time.perf_counter()
    if threads == 1:
        run_instances("t0-", per_thread)
    else:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    elapsed = time.perf_counter() - started
    with runtime.db.unit_of_work() as session:
        row = start_instance(engine, session, "bench_call", data={"customer_id": 1}, actor=agent)
        state_bytes = len(row.state.encode())
        instance_id, version_id = row.id, row.version_id
    floor_rate = None
    if floor:
        values = templates(runtime.db.engine, instance_id)
        floor_rate = database_floor(runtime.db.engine, values, version_id, count)
    runtime.close()
    return per_thread * threads / elapsed, state_bytes, floor_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
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

    raw_baseline(max(20, args.instances // 10))  # warm up
    raw = raw_baseline(args.instances)
    print(f"raw SpiffWorkflow, in memory     {raw:8.0f} instances/s")
    results: list[tuple[str, float, int, float | None]] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env(
                {
                    "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                    "DIALFLOW_VAR_DIR": tmp,
                    "SECRET_KEY": "b" * 32,
                }
            )
            results.append(
                ("Dialflow on SQLite", *dialflow_run(settings, args.instances, floor=True))
            )
    if not args.skip_postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        settings = Settings.from_env(
            {"DATABASE_URL": args.postgres, "DATABASE_SCHEMA": name, "SECRET_KEY": "b" * 32}
        )
        try:
            results.append(
                ("Dialflow on PostgreSQL", *dialflow_run(settings, args.instances, floor=True))
            )
            if args.threads > 1:
                results.append(
                    (
                        f"  the same, {args.threads} threads",
                        *dialflow_run(settings, args.instances, args.threads),
                    )
                )
        finally:
            runtime = Runtime.build(settings)
            with runtime.db.engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            runtime.close()
    for label, rate, state_bytes, floor_rate in results:
        print(
            f"{label:<32} {rate:8.0f} instances/s   ratio to raw {raw / rate:5.1f}x   "
            f"state at user task {state_bytes} bytes"
        )
        if floor_rate is not None:
            # An instance costs at least its statements plus SpiffWorkflow's own work.
            lowest = raw / floor_rate + 1
            print(
                f"  its statements alone, no engine {floor_rate:8.0f} instances/s   "
                f"lowest reachable ratio {lowest:5.1f}x   "
                f"engine's own time {1000 / rate - 1000 / floor_rate - 1000 / raw:.2f} ms/instance"
            )


if __name__ == "__main__":
    main()
