"""One message naming a variable among many instances waiting for its name.

    python bench/held_messages.py [--waiting 10000] [--postgres URL] [--skip-sqlite]
                                  [--skip-postgres]

``--waiting`` instances of one process wait for the message ``bench_lead_answered`` at a
catch declaring no correlation property (as Camunda 7 and Activiti diagrams do), each holding
its own ``lead_id``. Prints the time of one message sent with ``"correlation": {"lead_id":
…}`` as ``POST /api/v1/messages`` delivers it (``messages._held_otherwise``,
``messages._by_variables``), for leads at several places among the instances, and for a lead
no instance holds (read as far as ``MAX_CANDIDATES``, then answered 404). On SQLite each
message starts from the same waits (the database file copied back); on PostgreSQL each
names another lead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from dialflow import schema
from dialflow.errors import DialflowError
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine import messages
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance

DIAGRAM = Path(__file__).resolve().parent / "diagrams" / "bench_held_wait.bpmn"
NAME = "bench_lead_answered"


def prepare(rt: Runtime, waiting: int) -> None:
    with rt.db.unit_of_work() as session:
        deploy(rt.engine, session, Bundle.from_paths([DIAGRAM]), actor=None, source="cli")
    for start in range(0, waiting, 500):
        with rt.db.unit_of_work() as session:
            for n in range(start, min(start + 500, waiting)):
                data = {"lead_id": f"L-{n}"}
                start_instance(rt.engine, session, "bench_held_wait", data=data, actor=None)


def send(rt: Runtime, lead: str) -> tuple[float, list[int]]:
    """Seconds to deliver (in its transaction) the message naming ``lead``, and who took it."""
    message: dict[str, Any] = {
        "name": NAME,
        "business_key": None,
        "message_id": None,
        "correlation": {"lead_id": lead},
        "payload": {"answer": "yes"},
        "time_to_live": None,
    }
    rt.engine.kept.clear()  # each waiting instance is read from the database, as in a worker
    started = time.perf_counter()
    try:
        with rt.db.unit_of_work() as session:
            delivered = messages.deliver(rt.engine, session, message, actor=None).delivered_to
    except DialflowError:
        delivered = []
    return time.perf_counter() - started, delivered


def run(label: str, rt: Runtime, waiting: int, restore: Any) -> None:
    prepare(rt, waiting)
    print(f"{label}, {waiting:,} instances waiting for {NAME!r}, each holding its lead_id:")
    places = {"first": 0, "1/8": waiting // 8, "1/3": waiting // 3, "last": waiting - 1}
    for place, n in [*places.items(), ("none holds it", -1)]:
        restore()
        seconds, delivered = send(rt, f"L-{n}")
        print(f"  {place:14} {seconds * 1000:9.1f} ms, delivered to {len(delivered)} instance(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10000)
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
        path = Path(var_dir) / "bench.db"
        rt = Runtime.build(Settings.from_env({**base, "DATABASE_URL": f"sqlite:///{path}"}))
        schema.upgrade(rt.db.engine)
        saved: list[Path] = []

        def restore() -> None:
            rt.db.engine.dispose()
            if not saved:
                saved.append(path.with_suffix(".saved"))
                shutil.copy(path, saved[0])
            shutil.copy(saved[0], path)

        try:
            run("SQLite", rt, args.waiting, restore)
        finally:
            rt.close()
    if not args.skip_postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        env = {**base, "DATABASE_URL": args.postgres, "DATABASE_SCHEMA": name}
        rt = Runtime.build(Settings.from_env(env))
        schema.upgrade(rt.db.engine, schema=name)
        try:
            run("PostgreSQL", rt, args.waiting, lambda: None)
        finally:
            with rt.db.engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            rt.close()


if __name__ == "__main__":
    main()
