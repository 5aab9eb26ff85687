"""A unit of work is one transaction whatever its first statement is.

On PostgreSQL the driver connection runs in autocommit mode and Dialflow sends BEGIN with a
transaction's first statement (``dialflow.db``): these tests check that every kind of first
statement (with parameters, without, a server-side cursor, executemany, a pipelined write,
COPY) really opens a transaction, so a rollback undoes it and ``now()`` stays the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crm.models import Notification
from dialflow.bulk import bulk_insert
from dialflow.db import fetch, pipelined
from tests.conftest import backend

_NOW_IF_ONE = select(func.now()).where(bindparam("one") == 1)


class Undo(Exception):
    """Raised to roll a unit of work back."""


def _row(user_id: int, message: str, now: Any) -> dict[str, Any]:
    return {"user_id": user_id, "message": message, "instance_id": None, "created_at": now}


def _insert_with_parameters(session: Session, user_id: int, now: Any) -> None:
    session.execute(Notification.__table__.insert(), _row(user_id, "params", now))


def _insert_many(session: Session, user_id: int, now: Any) -> None:
    rows = [_row(user_id, "many", now), _row(user_id, "many", now)]
    session.execute(Notification.__table__.insert(), rows)


def _insert_pipelined(session: Session, user_id: int, now: Any) -> None:
    with pipelined(session) as batch:
        batch.execute(Notification.__table__.insert().inline(), _row(user_id, "batch", now))


def _insert_by_copy(session: Session, user_id: int, now: Any) -> None:
    bulk_insert(session, Notification.__table__, [_row(user_id, "copy", now)])


FIRST_WRITES: dict[str, Callable[[Session, int, Any], None]] = {
    "with parameters": _insert_with_parameters,
    "executemany": _insert_many,
    "pipelined": _insert_pipelined,
    "copy": _insert_by_copy,
}


@pytest.mark.parametrize("kind", list(FIRST_WRITES))
def test_a_rolled_back_unit_of_work_leaves_nothing(runtime, make_user, db, kind):
    user = make_user("agent", username=f"tx_{kind.replace(' ', '_')}")
    with pytest.raises(Undo), runtime.db.unit_of_work() as session:
        FIRST_WRITES[kind](session, user.id, runtime.clock.now())
        raise Undo
    with db() as session:
        assert session.scalar(select(func.count(Notification.id))) == 0
    with runtime.db.unit_of_work() as session:  # and the same write commits when it should
        FIRST_WRITES[kind](session, user.id, runtime.clock.now())
    with db() as session:
        assert session.scalar(select(func.count(Notification.id))) >= 1


@pytest.mark.skipif(backend() != "postgresql", reason="now() is PostgreSQL's transaction time")
@pytest.mark.parametrize(
    "first",
    [
        "SELECT now() AS at WHERE 1 = :one",  # with parameters: travels with its BEGIN
        "SELECT now() AS at",  # without: may hold several commands, BEGIN goes alone
        "server-side cursor",
        "direct read",  # run by the driver itself (dialflow.db.fetch)
    ],
)
def test_statements_after_the_first_share_its_transaction(runtime, first):
    with runtime.db.unit_of_work() as session:
        if first == "server-side cursor":
            result = session.execute(
                select(func.now()).execution_options(yield_per=10, stream_results=True)
            )
            at_first = result.scalar()
        elif first == "direct read":
            at_first = fetch(session, _NOW_IF_ONE, {"one": 1})[0][0]
        elif ":one" in first:
            at_first = session.execute(text(first), {"one": 1}).scalar()
        else:
            at_first = session.connection().exec_driver_sql(first).scalar()
        time.sleep(0.02)
        at_second = session.scalar(select(func.now()))
        assert at_first == at_second


@pytest.mark.parametrize("then", ["write", "pipelined"])
def test_a_read_that_may_precede_begin_leaves_the_transaction_to_what_follows(
    runtime, make_user, db, then
):
    """The start's version look-up runs before the owed BEGIN on PostgreSQL: what follows
    must still be one transaction, undone as a whole, and share one ``now()``."""
    user = make_user("agent", username=f"precede_{then}")
    write = _insert_with_parameters if then == "write" else _insert_pipelined
    with pytest.raises(Undo), runtime.db.unit_of_work() as session:
        assert fetch(session, select(bindparam("x")), {"x": 7}, may_precede_begin=True) == [(7,)]
        write(session, user.id, runtime.clock.now())
        raise Undo
    with db() as session:
        assert session.scalar(select(func.count(Notification.id))) == 0
    with runtime.db.unit_of_work() as session:
        fetch(session, select(bindparam("x")), {"x": 7}, may_precede_begin=True)
        if backend() == "postgresql":  # the read did not open the transaction on the server
            driver = session.connection().connection.driver_connection
            assert driver.info.transaction_status == 0  # IDLE
        write(session, user.id, runtime.clock.now())
        if backend() == "postgresql":  # SQLite's now() is the second of each statement
            at_first = session.scalar(select(func.now()))
            time.sleep(0.02)
            assert session.scalar(select(func.now())) == at_first
    with db() as session:
        assert session.scalar(select(func.count(Notification.id))) == 1


def test_a_failing_first_statement_rolls_back_and_the_connection_recovers(runtime, db):
    with pytest.raises(DBAPIError), runtime.db.unit_of_work() as session:
        session.execute(text("SELECT * FROM no_such_table WHERE 1 = :one"), {"one": 1})
    with db() as session:
        assert session.execute(text("SELECT 2 * :two"), {"two": 2}).scalar() == 4


def test_a_unit_of_work_that_runs_nothing_commits(runtime, db):
    with runtime.db.unit_of_work():
        pass
    with db() as session:
        assert session.execute(text("SELECT 1 + :one"), {"one": 1}).scalar() == 2


@pytest.mark.skipif(backend() != "postgresql", reason="a PostgreSQL server dropping a connection")
@pytest.mark.parametrize("read", ["direct", "sqlalchemy"])
def test_a_dropped_connection_reports_its_own_error_and_the_next_unit_of_work_runs(
    runtime, settings, read
):
    with runtime.db.unit_of_work() as session:
        session.execute(select(func.now())).one()  # a pooled connection exists
    killer = create_engine(settings.database_url, poolclass=NullPool)
    try:
        with pytest.raises(DBAPIError) as raised, runtime.db.unit_of_work() as session:
            pid = session.execute(text("SELECT pg_backend_pid() WHERE 1 = :one"), {"one": 1})
            with killer.begin() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid.scalar()})
            if read == "direct":
                fetch(session, _NOW_IF_ONE, {"one": 1})
            else:
                session.execute(_NOW_IF_ONE, {"one": 1}).all()
        assert isinstance(raised.value, OperationalError)  # not a PendingRollbackError
    finally:
        killer.dispose()
    with runtime.db.unit_of_work() as session:
        assert fetch(session, _NOW_IF_ONE, {"one": 1})


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's write-ahead log only")
def test_sqlite_databases_have_small_pages_and_checkpoint_every_forty_megabytes(runtime):
    """A commit writes every page it changed whole into the WAL: small pages write less. The
    checkpoint's two fsyncs are paid by the commit that crosses the threshold: at SQLite's
    default of 1,000 pages they were most of the commits' time."""
    from dialflow.db import SQLITE_PAGE_SIZE, SQLITE_WAL_CHECKPOINT_BYTES

    with runtime.db.engine.connect() as first, runtime.db.engine.connect() as second:
        for connection in (first, second):
            driver = connection.connection.driver_connection
            assert driver.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert driver.execute("PRAGMA page_size").fetchone() == (SQLITE_PAGE_SIZE,)
            assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (20_000,)
    assert SQLITE_PAGE_SIZE == 2048 and SQLITE_WAL_CHECKPOINT_BYTES == 40_960_000


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's page size")
def test_a_database_made_with_4_kb_pages_keeps_them_and_checkpoints_at_the_same_size(tmp_path):
    """An existing file keeps its page size: its checkpoint threshold is counted in its own
    pages, so it still comes every 40 MB of WAL."""
    import sqlite3

    from dialflow.db import build_engine
    from dialflow.settings import Settings

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t (x)")
    old.close()
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "DIALFLOW_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 32,
        }
    )
    engine = build_engine(settings)
    try:
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver.execute("PRAGMA page_size").fetchone() == (4096,)
            assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (10_000,)
    finally:
        engine.dispose()
