"""``dialflow seed-demo`` meeting a lock failure says so in one line, never a traceback.

``make run`` seeds the demo; a second seeder on the same database, or a step of a running
server holding a team's row, makes the seeder's transaction fail for want of a lock. The
command then said nothing clear: a lock failure that a handler reported as its own failure
(or that the driver raised from a bulk copy) was no ``OperationalError`` and went up as a
traceback.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from crm import assignment
from crm.models import Customer
from engine.models import ProcessInstance
from handlers.registry import HandlerError
from tests.cli.test_cli import cli_env, invoke
from tests.conftest import PG_URL

__all__ = ["cli_env", "invoke"]  # the fixtures of test_cli.py


def assert_busy(result) -> None:
    """Exit status 1, one line saying the database was busy after the progress bar's label,
    and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "the database is busy" in errors[0]
    assert result.stderr.rstrip().endswith("run the command again")


class _LockTimeout(Exception):
    """The driver's error for a statement cancelled by PostgreSQL's lock timeout."""

    sqlstate = "55P03"


def test_a_lock_failure_a_handler_reports_as_its_own_is_said_in_one_line(invoke, monkeypatch, db):
    def busy_team(*_args, **_kwargs):
        cause = OperationalError("SELECT … FOR UPDATE", {}, _LockTimeout("lock timeout"))
        raise HandlerError("the lead could not be assigned: the team is busy") from cause

    monkeypatch.setattr(assignment, "pick_agent", busy_team)

    result = invoke("seed-demo", "--customers", "5", "--leads", "2")

    assert_busy(result)
    assert "seeded 5 customers" in result.stdout  # committed before the leads
    with db() as session:  # the lead's step was undone whole: no instance was stored
        assert session.scalar(select(func.count(ProcessInstance.id))) == 0


@pytest.mark.skipif(not PG_URL, reason="SQLite's write lock is taken whole at BEGIN")
def test_a_seeder_behind_a_step_holding_the_teams_says_it_is_busy(invoke, cli_env, db):
    """A step of the running server holds the teams' rows past the lock wait: the customers'
    bulk copy, whose rows name their team, fails in the driver itself."""
    from tests.engine.test_crash_review import pg_connection

    env = {**cli_env, "DIALFLOW_LOCK_WAIT_SECONDS": "1"}
    assert invoke("seed-demo", "--customers", "0", env=env).exit_code == 0  # the teams
    holder = pg_connection(cli_env)
    try:
        holder.execute("SELECT id FROM teams FOR UPDATE")
        result = invoke("seed-demo", "--customers", "5", "--leads", "0", env=env)
    finally:
        holder.rollback()
        holder.close()

    assert_busy(result)
    with db() as session:
        assert session.scalar(select(func.count(Customer.id))) == 0
