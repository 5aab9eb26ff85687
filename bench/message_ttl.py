"""Steps that begin to wait for a message, with many messages kept for other instances.

    python bench/message_ttl.py [--kept 5000] [--starts 200] [--postgres URL] [--skip-sqlite]

Each start of ``bench_keyed_wait`` ends waiting for ``bench_lead_answered`` with its own
Camunda 8 key, so its step looks for a kept message (``engine.message_buffer``). Prints the
time per start (its own transaction, as a worker runs it):

- none kept: the look-up finds nothing (what every such step now pays);
- ``--kept`` messages kept for other keys: the look-up seeks its key by index, not the others;
- each start's message kept before it: the start takes it in its transaction (the instance
  ends), counted.

Run against code without time to live (``PYTHONPATH`` at an older tree), only the first line
is printed: the same starts without the look-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text

from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine import messages
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance
from engine.models import ProcessInstance

DIAGRAM = Path(__file__).resolve().parent / "diagrams" / "bench_keyed_wait.bpmn"
NAME = "bench_lead_answered"
HAS_TTL = hasattr(messages, "message_buffer")


def keep(rt: Runtime, keys: list[str]) -> None:
    """Send a message for each key, nothing waiting for it, kept for a day."""
    for start in range(0, len(keys), 500):
        with rt.db.unit_of_work() as session:
            for key in keys[start : start + 500]:
                message = {
                    "name": NAME,
                    "business_key": None,
                    "message_id": None,
                    "correlation": {"correlationKey": key},
                    "payload": {"answer": "yes"},
                    "time_to_live": timedelta(days=1),
                }
                messages.deliver(rt.engine, session, message, actor=None)


def starts(rt: Runtime, keys: list[str]) -> tuple[float, int]:
    """Median milliseconds per start, and how many of the instances ended (took a message)."""
    times, ids = [], []
    for key in keys:
        began = time.perf_counter()
        with rt.db.unit_of_work() as session:
            started = start_instance(
                rt.engine, session, "bench_keyed_wait", data={"lead_id": key}, actor=None
            )
            ids.append(started.id)
        times.append(time.perf_counter() - began)
    with rt.db.unit_of_work() as session:
        ended = session.scalar(
            select(text("count(*)"))
            .select_from(ProcessInstance)
            .where(ProcessInstance.id.in_(ids), ProcessInstance.status == "completed")
        )
    return statistics.median(times) * 1000, int(ended or 0)


def run(label: str, rt: Runtime, kept: int, count: int) -> None:
    with rt.db.unit_of_work() as session:
        deploy(rt.engine, session, Bundle.from_paths([DIAGRAM]), actor=None, source="cli")
    starts(rt, ["warm-up"])
    none_ms, _ = starts(rt, [f"A-{n}" for n in range(count)])
    print(f"{label}: {count} starts that wait for {NAME!r}, median per start")
    print(f"  none kept:                        {none_ms:6.2f} ms")
    if not HAS_TTL:
        return
    keep(rt, [f"K-{n}" for n in range(kept)])
    other_ms, _ = starts(rt, [f"B-{n}" for n in range(count)])
    print(f"  {kept:,} kept for other keys:     {other_ms:6.2f} ms")
    own = [f"T-{n}" for n in range(count)]
    keep(rt, own)
    took_ms, ended = starts(rt, own)
    print(f"  its own kept (taken at start):    {took_ms:6.2f} ms, {ended} of {count} took it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=int, default=5000)
    parser.add_argument("--starts", type=int, default=200)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp()
    base = {"SECRET_KEY": "b" * 32, "DIALFLOW_VAR_DIR": var_dir}
    if not args.skip_sqlite:
        url = f"sqlite:///{var_dir}/bench.db"
        rt = Runtime.build(Settings.from_env({**base, "DATABASE_URL": url}))
        schema.upgrade(rt.db.engine)
        try:
            run("SQLite", rt, args.kept, args.starts)
        finally:
            rt.close()
    if not args.skip_postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        env = {**base, "DATABASE_URL": args.postgres, "DATABASE_SCHEMA": name}
        rt = Runtime.build(Settings.from_env(env))
        schema.upgrade(rt.db.engine, schema=name)
        try:
            run("PostgreSQL", rt, args.kept, args.starts)
        finally:
            with rt.db.engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            rt.close()


if __name__ == "__main__":
    main()
