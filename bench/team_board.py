"""The team board's task list with many work items: its time and its query plan.

    python bench/team_board.py [--items 200000] [--open 20000] [--postgres URL]
                               [--skip-sqlite] [--skip-postgres] [--explain]
                               [--sqlite-file PATH] [--postgres-schema NAME]

Fills ``--items`` work items (``--open`` of them open) over ten teams of ten agents, each
item with the candidates a lane gives it (its team's group, a role's group, a person), then
times ``processes.team_board.team_tasks`` for one team (median of 20) and, with
``--explain``, prints its statement's plan (SQLite's ``EXPLAIN QUERY PLAN``, PostgreSQL's
``EXPLAIN (ANALYZE, BUFFERS)``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, select, text

from crm.models import Team, User
from crm.users import create_user
from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.bundles import Bundle
from engine.deployments import deploy
from engine.instances import start_instance
from engine.models import WorkItem, WorkItemCandidate
from processes import team_board

DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
  targetNamespace="http://example.com/bench">
  <process id="bench_board" isExecutable="true">
    <startEvent id="s" /><userTask id="t" /><endEvent id="e" />
    <sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <sequenceFlow id="f2" sourceRef="t" targetRef="e" />
  </process>
</definitions>
"""
TEAMS = [f"Team{n}" for n in range(10)]
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def fill(rt: Runtime, items: int, open_items: int) -> None:
    rng = random.Random(7)
    with rt.db.unit_of_work() as session:
        for name in TEAMS:
            session.add(Team(name=name, timezone="Asia/Shanghai"))
        session.flush()
        for t, name in enumerate(TEAMS):
            create_user(session, username=f"mgr{t}", role="manager", team=name)
            for a in range(10):
                create_user(session, username=f"a{t}_{a}", role="agent", team=name)
        path = Path(tempfile.mkdtemp()) / "bench_board.bpmn"
        path.write_bytes(DIAGRAM)
        deploy(rt.engine, session, Bundle.from_paths([path]), actor=None, source="cli")
        instance_id = start_instance(rt.engine, session, "bench_board", actor=None).id
    with rt.db.unit_of_work() as session:
        users = {u.username: u.id for u in session.scalars(select(User))}
    rows, candidates = [], []
    for n in range(items):
        t = rng.randrange(len(TEAMS))
        opened = n >= items - open_items
        assigned = rng.random() < 0.6
        person = f"a{t}_{rng.randrange(10)}"
        created = NOW - timedelta(minutes=items - n)
        rows.append(
            {
                "id": f"w{n:08d}",
                "instance_id": instance_id,
                "process_id": "bench_board",
                "element_id": "t",
                "title": f"Call {n}",
                "lane": TEAMS[t],
                "status": "open" if opened else "completed",
                "assignee_id": users[person] if assigned else None,
                "due_at": created + timedelta(hours=rng.randrange(1, 72)),
                "priority": rng.choice([0, 0, 0, 50, 90]),
                "created_at": created,
                "seq": 0,
                "completed_at": None if opened else created + timedelta(hours=1),
            }
        )
        candidates.append({"work_item_id": f"w{n:08d}", "name": f"group:{TEAMS[t]}"})
        if rng.random() < 0.3:
            candidates.append({"work_item_id": f"w{n:08d}", "name": f"user:{person}"})
        if rng.random() < 0.1:
            candidates.append({"work_item_id": f"w{n:08d}", "name": "group:agent"})
    for start in range(0, items, 20_000):
        with rt.db.unit_of_work() as session:
            session.execute(insert(WorkItem), rows[start : start + 20_000])
    for start in range(0, len(candidates), 20_000):
        with rt.db.unit_of_work() as session:
            session.execute(insert(WorkItemCandidate), candidates[start : start + 20_000])
    with rt.db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def measure(label: str, rt: Runtime, explain: bool) -> None:
    with rt.db.unit_of_work(read_only=True) as session:
        team = session.scalar(select(Team).where(Team.name == TEAMS[3]))
        shown = team_board.team_tasks(session, team, now=NOW)
        times = []
        for _ in range(20):
            began = time.perf_counter()
            team_board.team_tasks(session, team, now=NOW)
            times.append(time.perf_counter() - began)
        median = statistics.median(times) * 1000
        print(f"{label}: team_tasks, {len(shown)} rows shown: {median:.1f} ms (median of 20)")
        if explain:
            explain_board(rt, session, team)


def explain_board(rt: Runtime, session, team: Team) -> None:
    """The plan of the statement that lists the board's tasks, caught as it runs (so the
    same code is explained before and after a change)."""
    caught: list[tuple[str, object]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM work_items" in statement and "LIMIT" in statement:
            caught.append((statement, parameters))

    event.listen(rt.db.engine, "before_cursor_execute", catch)
    try:
        team_board.team_tasks(session, team, now=NOW)
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", catch)
    statement, parameters = caught[0]
    sqlite = rt.db.engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    for row in session.connection().exec_driver_sql(prefix + statement, parameters):
        print("   ", row[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--sqlite-file", help="an SQLite file to fill once and measure again on later runs"
    )
    parser.add_argument(
        "--postgres-schema", help="a PostgreSQL schema to fill once and measure again, kept"
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp()
    base = {"SECRET_KEY": "b" * 32, "DIALFLOW_VAR_DIR": var_dir}
    if not args.skip_sqlite:
        path = Path(args.sqlite_file or f"{var_dir}/bench.db")
        filled = path.exists()
        rt = Runtime.build(Settings.from_env({**base, "DATABASE_URL": f"sqlite:///{path}"}))
        schema.upgrade(rt.db.engine)
        try:
            if not filled:
                fill(rt, args.items, args.open)
            measure("SQLite", rt, args.explain)
        finally:
            rt.close()
    if not args.skip_postgres:
        name = args.postgres_schema or f"bench_{uuid.uuid4().hex[:8]}"
        env = {**base, "DATABASE_URL": args.postgres, "DATABASE_SCHEMA": name}
        rt = Runtime.build(Settings.from_env(env))
        with rt.db.engine.connect() as connection:
            filled = connection.scalar(
                text("SELECT to_regclass(:table) IS NOT NULL"), {"table": f"{name}.work_items"}
            )
        schema.upgrade(rt.db.engine, schema=name)
        try:
            if not filled:
                fill(rt, args.items, args.open)
                with rt.db.engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text("VACUUM ANALYZE")
                    )
            measure("PostgreSQL", rt, args.explain)
        finally:
            if not args.postgres_schema:
                with rt.db.engine.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            rt.close()


if __name__ == "__main__":
    main()
