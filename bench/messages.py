"""One keyed message among many instances waiting for its name.

    python bench/messages.py [--waiting 2000] [--postgres URL] [--skip-sqlite]

``--waiting`` instances of one process wait for the message ``bench_lead_answered``, each
for its own Camunda 8 subscription key (``correlationKey="=lead_id"``). Prints the time of one
message sent with the key of one of them, as ``POST /api/v1/messages`` delivers it:

- keyed: the waits carry their key (``event_waits.correlation_key``), so the message loads
  the one instance waiting for it;
- unkeyed: the same waits with no key, as rows written before the key was stored (and as
  every message was matched before): the message loads up to ``MAX_CANDIDATES`` (1,000)
  instances, offering it to each; the last instance's key is not found at all.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text, update

from dialflow import schema
from dialflow.errors import DialflowError
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine import messages
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance
from engine.models import EventWait

DIAGRAM = Path(__file__).resolve().parent / "diagrams" / "bench_keyed_wait.bpmn"
NAME = "bench_lead_answered"


def prepare(rt: Runtime, waiting: int) -> None:
    with rt.db.unit_of_work() as session:
        deploy(rt.engine, session, Bundle.from_paths([DIAGRAM]), actor=None, source="cli")
    for start in range(0, waiting, 200):
        with rt.db.unit_of_work() as session:
            for n in range(start, min(start + 200, waiting)):
                data = {"lead_id": f"L-{n}"}
                start_instance(rt.engine, session, "bench_keyed_wait", data=data, actor=None)


def send(rt: Runtime, key: str) -> tuple[float, list[int]]:
    """Seconds to deliver (in its transaction) the message for ``key``, and who took it."""
    message: dict[str, Any] = {
        "name": NAME,
        "business_key": None,
        "message_id": None,
        "correlation": {"correlationKey": key},
        "payload": {"answer": "yes"},
    }
    rt.engine.kept.clear()  # each waiting instance is read from the database, as in a worker
    started = time.perf_counter()
    try:
        with rt.db.unit_of_work() as session:
            delivered = messages.deliver(rt.engine, session, message, actor=None).delivered_to
    except DialflowError:
        delivered = []
    return time.perf_counter() - started, delivered


def forget_keys(rt: Runtime) -> None:
    """The waits as they were written before their keys were stored."""
    with rt.db.unit_of_work() as session:
        session.execute(update(EventWait).values(correlation_property=None, correlation_key=None))


def run(label: str, rt: Runtime, waiting: int) -> None:
    prepare(rt, waiting)
    send(rt, "none")  # the version's spec is loaded once, before any figure
    picked = [waiting // 8, waiting // 4, waiting // 3]  # among the first 1,000 instances
    keyed = [send(rt, f"L-{n}") for n in picked]
    last = send(rt, f"L-{waiting - 1}")
    forget_keys(rt)
    unkeyed = [send(rt, f"L-{n + 1}") for n in picked]
    missed = send(rt, f"L-{waiting - 2}")
    keyed_ms = statistics.median(t for t, _ in keyed) * 1000
    unkeyed_ms = statistics.median(t for t, _ in unkeyed) * 1000
    print(
        f"{label}, {waiting:,} instances waiting for {NAME!r}, one message with a key "
        f"(median of {len(picked)}):\n"
        f"  keyed waits:   {keyed_ms:8.1f} ms, delivered {sum(len(d) for _, d in keyed)} of "
        f"{len(picked)}; the last instance's key: {last[0] * 1000:.1f} ms, delivered "
        f"{len(last[1])} of 1\n"
        f"  unkeyed waits: {unkeyed_ms:8.1f} ms, delivered {sum(len(d) for _, d in unkeyed)} "
        f"of {len(picked)}; the last instance's key: {missed[0] * 1000:.1f} ms, delivered "
        f"{len(missed[1])} of 1\n"
        f"  unkeyed / keyed: {unkeyed_ms / keyed_ms:.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=2000)
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
            run("SQLite", rt, args.waiting)
        finally:
            rt.close()
    if not args.skip_postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        env = {**base, "DATABASE_URL": args.postgres, "DATABASE_SCHEMA": name}
        rt = Runtime.build(Settings.from_env(env))
        schema.upgrade(rt.db.engine, schema=name)
        try:
            run("PostgreSQL", rt, args.waiting)
        finally:
            with rt.db.engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            rt.close()


if __name__ == "__main__":
    main()
