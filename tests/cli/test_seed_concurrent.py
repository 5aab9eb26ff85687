"""Two ``dialflow seed-demo`` at once on one PostgreSQL database (two ``make run``, a start
hook run twice) behave as if run one after the other: the demo logins once, each run's
customers its own (no phone twice); so with ``--if-empty`` the second seeds nothing. Both
used to find no users and no customers: one failed on the logins' unique names with a
traceback, the other's customers were the first's again (SQLite takes its write lock at
``BEGIN``, so its seeders were already one after the other)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from crm import demo
from crm.models import Customer, CustomerPhone, User
from tests.cli.test_cli import cli_env
from tests.conftest import PG_URL
from tests.engine.test_crash_review import pg_connection

__all__ = ["cli_env"]  # the fixture of test_cli.py

pytestmark = pytest.mark.skipif(not PG_URL, reason="concurrent sessions: PostgreSQL only")
DIALFLOW = Path(sys.executable).with_name("dialflow")
ROOT = Path(__file__).resolve().parents[2]


def _fresh(connection: Any) -> Any:
    """``connection`` with pg_stat_activity read afresh: a transaction keeps its first view."""
    connection.execute("SELECT pg_stat_clear_snapshot()")
    return connection


def test_two_seeders_at_once_seed_as_one_after_the_other(runtime, cli_env, db):
    app_name = f"seed-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_SCHEMA"}
    env.update({k: v for k, v in cli_env.items() if v is not None})
    # the first waits behind the holder until the second has started, however slowly
    env.update(PGAPPNAME=app_name, PYTHONPATH=str(ROOT), DIALFLOW_LOCK_WAIT_SECONDS="300")
    argv = [str(DIALFLOW), "seed-demo", "--customers", "40", "--leads", "0"]

    holder = pg_connection(cli_env)  # both seeders meet behind the users table, then race
    try:
        holder.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        seeders = [
            subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        waiting += " AND wait_event_type = 'Lock'"
        deadline = time.monotonic() + 120
        while _fresh(holder).execute(waiting, (app_name,)).fetchone()[0] < 2:
            assert time.monotonic() < deadline, "the two seeders never both waited"
            assert all(s.poll() is None for s in seeders), [s.communicate() for s in seeders]
            time.sleep(0.1)
    finally:
        holder.rollback()
        holder.close()
    outputs = [seeder.communicate(timeout=120) for seeder in seeders]
    for seeder, (out, err) in zip(seeders, outputs, strict=True):
        assert seeder.returncode == 0, (out, err)
        assert b"Traceback" not in err, err
    with db() as session:
        usernames = session.scalars(select(User.username)).all()
        customers = session.scalar(select(func.count(Customer.id)))
        phones = session.scalar(select(func.count(func.distinct(CustomerPhone.e164))))
    assert sorted(usernames) == sorted(d.username for d in demo.DEMO_USERS)
    assert customers == phones == 80
    said = b"".join(out for out, _ in outputs)
    assert said.count(b"seeded 40 customers") == 2
