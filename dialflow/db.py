"""Database access: the declarative base, the engine, and the one unit-of-work helper.

Web requests, CLI commands and background jobs all open their transaction with
``Database.unit_of_work()``; services receive the session and never commit. A workflow step
and the CRM writes of its handlers therefore share one transaction.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect, text, update
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import (
    DeclarativeBase,
    Session,
    class_mapper,
    make_transient_to_detached,
    sessionmaker,
)
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.types import TypeDecorator

from dialflow import json_text
from dialflow.clock import current_time
from dialflow.direct import direct_statement
from dialflow.settings import Settings

_T = TypeVar("_T")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend; SQLite gives naive values back otherwise."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, :meth:`process_bind_param` and SQLite's own text of the UTC time (its
        default storage format) in one function: the same text, joined from the fields
        (:func:`sqlite_text`) instead of a dictionary of the seven fields formatted, for
        every time every step writes. Elsewhere, where the driver takes the datetime itself,
        :func:`_as_utc`, one call instead of SQLAlchemy's two."""
        if type(self).process_bind_param is not UTCDateTime.process_bind_param:
            return super().bind_processor(dialect)
        if dialect.name != "sqlite":
            if self.impl_instance.bind_processor(dialect) is not None:
                return super().bind_processor(dialect)
            return _as_utc  # the driver's own datetime (psycopg): one call, not two
        if getattr(self.impl_instance, "_storage_format", None) != _SQLITE_DATETIME:
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given to a UTCDateTime column")
                value = value.astimezone(UTC)
            return sqlite_text(value)

        return process


def _as_utc(value: datetime | None) -> datetime | None:
    """:meth:`UTCDateTime.process_bind_param`, as one function (a UTC time as it is, which
    ``astimezone(UTC)`` also gives)."""
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return value.astimezone(UTC)


_TWO_DIGITS = [f"{n:02d}" for n in range(100)]


def sqlite_text(value: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` of ``value``'s own fields, the text SQLite's DATETIME
    writes: joined from its fields, where ``isoformat`` costs twice as much (it goes through
    ``PyUnicode_FromFormat``, which reads its format on every call)."""
    year = value.year
    two = _TWO_DIGITS
    return (
        f"{year if year > 999 else f'{year:04d}'}-{two[value.month]}-{two[value.day]} "
        f"{two[value.hour]}:{two[value.minute]}:{two[value.second]}"
        f".{str(1_000_000 + value.microsecond)[1:]}"
    )


# SQLite's DATETIME text by default (``sqlalchemy.dialects.sqlite.DATETIME``).
_SQLITE_DATETIME = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)


def utcnow() -> datetime:
    """Now for record timestamps: the unit of work's pinned time (see ``dialflow.clock``)."""
    return current_time()


class Database:
    """Owns the SQLAlchemy engine and session factory for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = build_engine(settings)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self._reader_factory = sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )
        self._idle = _IdleSessions()

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """One transaction: commit when the block ends normally, roll back on any exception.

        ``read_only`` only changes how SQLite begins (a shared, not a reserved, lock); pages
        that merely read then never queue behind a writer.
        """
        return UnitOfWork(
            self._reader_factory if read_only else self.session_factory,
            self._idle.sessions,
            read_only,
        )

    def dispose(self) -> None:
        self.engine.dispose()


class _IdleSessions(threading.local):
    """Per thread, the session each factory's last unit of work closed, to be used again."""

    def __init__(self) -> None:
        self.sessions: dict[Any, Session] = {}


class UnitOfWork:
    """``with session.begin():`` on a session of its own, closed after: see
    :meth:`Database.unit_of_work`.

    A closed session holds nothing (no objects, no connection, no transaction) and is
    used again by the thread's next unit of work (``idle``, this thread's), as SQLAlchemy
    allows, rather than a new one built: building and closing one cost some 80,000
    instructions, a seventh of what an empty transaction costs through SQLAlchemy. A unit of
    work begun inside another gets a session of its own, and so does one after a session
    was used past its unit of work (``_touched``). A class rather than a
    ``@contextmanager`` generator, which costs several times more to enter and leave: every
    request and step enters one."""

    __slots__ = ("_factory", "_idle", "_read_only", "_session", "_transaction")

    def __init__(
        self, factory: Callable[[], Session], idle: dict[Any, Session], read_only: bool = False
    ) -> None:
        self._factory, self._idle, self._read_only = factory, idle, read_only

    def __enter__(self) -> Session:
        session = self._idle.pop(self._factory, None)
        if session is None or _touched(session):
            session = self._factory()
        self._session = session
        try:
            self._transaction = session.begin()
            self._transaction.__enter__()
        except BaseException:
            session.close()
            raise
        return session

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Any
    ) -> None:
        session = self._session
        try:
            if kind is None:
                _COMMITTING.sent = False
                try:
                    self._transaction.__exit__(None, None, None)
                except BaseException as exc:
                    # A reader's COMMIT stores nothing: lost, it is a connection lost alone (the
                    # token's look-up that begins every API request is one).
                    if (
                        _COMMITTING.sent
                        and not self._read_only
                        and connection_lost(exc)
                        and not _refused_first(exc)
                    ):
                        exc.commit_unknown = True  # type: ignore[attr-defined]
                    raise
            else:
                self._transaction.__exit__(kind, error, trace)
        finally:
            session.close()
            info = session.__dict__.get("info")  # what the transaction noted is its own
            if info:
                info.clear()
            self._idle.setdefault(self._factory, session)


def _touched(session: Session) -> bool:
    """Whether ``session`` was used after its unit of work closed it: by whoever kept it (a
    result read later, a callback run after the commit). Such a use begins a transaction of its
    own, or commits and keeps what it loaded (not expired on commit), or leaves a note in
    ``info``; the next unit of work would begin on it ("A transaction is already begun") or see
    those objects for the rows it reads. It is left to its holder, and a new session built."""
    return (
        session.in_transaction()
        or len(session.identity_map) > 0
        or bool(session.__dict__.get("info"))
    )


class Batch:
    """Writes sent together; see :func:`pipelined`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._pipeline: _Pipeline | None = None

    def execute(self, statement: Any, parameters: Any = None) -> Any:
        """Run ``statement``; give the result to :meth:`rowcount`, not to anything else.

        A plain INSERT or UPDATE with its parameters skips SQLAlchemy's execution machinery
        (most of such a statement's cost, see ``dialflow.direct``): the driver runs it, queued
        in libpq's pipeline on PostgreSQL (``dialflow.wire``).
        """
        if parameters:
            direct = direct_statement(self.connection.dialect, statement, parameters)
            if direct is not None:
                with _as_dbapi_error(self.connection, direct.sql, parameters):
                    if self._pipeline is not None:
                        return direct.send(self._current().wire, parameters)
                    driver = self.connection.connection.driver_connection
                    return direct.execute(driver.cursor(), parameters)
        return self.connection.execute(statement, parameters)

    def _current(self) -> _Pipeline:
        """The batch's pipeline; a new one if a statement that needed results closed it."""
        assert self._pipeline is not None
        if self._pipeline.closed:
            self._pipeline = _open_pipeline(self.connection)
            self._pipeline.batching = True
        return self._pipeline

    @staticmethod
    def rowcount(result: Any) -> int:
        """Rows matched by a statement run with :meth:`execute`, once its results are in."""
        if isinstance(result, CursorResult):
            return result.context.cursor.rowcount
        return result.rowcount

    def check(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the results of the writes are in, if that is before the
        transaction ends (at once without a pipeline)."""
        if self._pipeline is None:
            callback()
        else:
            self._current().checks.append(callback)


# SQLite's result codes for a lock held by another connection (SQLITE_BUSY) or by the same
# one (SQLITE_LOCKED), their extended codes in the high bits; PostgreSQL's SQLSTATEs of a
# serialization failure, a deadlock and a lock wait past ``lock_timeout``, and of a prepared
# statement deallocated behind ``dialflow.wire``'s back (prepared again by the next attempt;
# so is one whose table changed type under it, "cached plan must not change result type",
# which the wire marks ``prepared_lost``: its SQLSTATE, 0A000, says only "not supported").
_SQLITE_LOCK_CODES = frozenset({5, 6})
_PG_LOCK_STATES = frozenset({"40001", "40P01", "55P03", "26000"})


def lock_failure(exc: BaseException) -> bool:
    """True if ``exc`` (or what it was raised from) is the database failing a statement for
    want of a lock: SQLite's "database is locked" after its busy timeout, PostgreSQL's lock
    timeout, deadlock and serialization failure. The transaction is lost, nothing of it is
    stored, and the same work can simply run again; it is no fault of the work itself."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = current.orig if isinstance(current, DBAPIError) else current
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _SQLITE_LOCK_CODES:
            return True
        if getattr(orig, "sqlstate", None) in _PG_LOCK_STATES:
            return True
        if getattr(orig, "prepared_lost", False):  # ``dialflow.wire`` prepares it afresh
            return True
        current = current.__cause__ or current.__context__
    return False


def connection_lost(exc: BaseException) -> bool:
    """True if ``exc`` (or what it was raised from) is PostgreSQL's connection dropping under
    the work: its backend terminated (``pg_terminate_backend``, a restart: SQLSTATE class
    57P), a connection exception (class 08), or psycopg finding the connection closed or
    lost (no SQLSTATE). The transaction is gone; the pool replaces the connection, and the
    work may be sent again (a COMMIT cut off on its way may have been stored: a repeated
    completion then finds its task done)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        orig = current.orig if isinstance(current, DBAPIError) else current
        if type(orig).__module__.startswith("psycopg") and _lost_state(orig):
            return True
        current = current.__cause__ or current.__context__
    return False


class _Committing(threading.local):
    """Per thread: whether the unit of work being committed has sent its COMMIT (the engine's
    ``commit`` event fired), so a connection lost after it is told from one lost before."""

    sent = False


_COMMITTING = _Committing()


def _note_commit(_connection: Connection) -> None:
    _COMMITTING.sent = True


def commit_unknown(exc: BaseException) -> bool:
    """True if ``exc`` (or what it was raised from) is the connection lost once a writing
    unit of work's COMMIT was on its way (:class:`UnitOfWork` marks it): the server may have
    stored the transaction or not, and nothing here can tell which. Lost before the COMMIT, or
    at a read-only unit of work's, nothing was stored (``connection_lost`` alone)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "commit_unknown", False):
            return True
        current = current.__cause__ or current.__context__
    return False


def connect_failed(exc: BaseException) -> bool:
    """True if ``exc`` (or what it was raised from) is a new connection that could not be
    opened (refused, no such host, wrong password: the engine's ``handle_error`` marks it),
    not a connection lost under work already begun (``connection_lost``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "connect_failed", False):
            return True
        current = current.__cause__ or current.__context__
    return False


def _mark_connect_failure(context: Any) -> None:
    if context.connection is None:  # SQLAlchemy's sign of a failure to connect
        for error in (context.sqlalchemy_exception, context.original_exception):
            if error is not None:
                error.connect_failed = True


def _refused_first(exc: BaseException) -> bool:
    """Whether the server answered a statement sent with the COMMIT with an error before the
    connection went (``dialflow.wire`` marks it): the transaction was aborted, the COMMIT
    could only roll it back, so nothing was stored."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = current.orig if isinstance(current, DBAPIError) else current
        if getattr(orig, "refused_before_commit", False):
            return True
        if getattr(current, "refused_before_commit", False):
            return True
        current = current.__cause__ or current.__context__
    return False


def _lost_state(error: BaseException) -> bool:
    import psycopg

    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    return state is None or state.startswith(("08", "57P"))


def statement_cancelled(exc: BaseException) -> bool:
    """True if ``exc`` (or what it was raised from) is PostgreSQL cancelling a statement
    (57014): past a ``statement_timeout`` an administrator set for Dialflow's role, mostly
    while it waited for a row lock, or by ``pg_cancel_backend``. The transaction is lost
    whole, as for a lock failure; a request may be sent again. (A handler's own statement
    cancelled is still that task's failure, an incident.)"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        orig = current.orig if isinstance(current, DBAPIError) else current
        if getattr(orig, "sqlstate", None) == "57014":
            return True
        current = current.__cause__ or current.__context__
    return False


def pool_exhausted(exc: BaseException) -> bool:
    """True if ``exc`` is the connection pool giving up: every connection was in use for the
    whole lock wait (more requests at once than ``pool_size`` + ``max_overflow``). Nothing
    of the request ran; like a lock failure, it may simply be sent again."""
    return isinstance(exc, PoolTimeout)


def retryable_failure(exc: BaseException) -> str | None:
    """What the database did to fail the work, in a few words, when running it again is the
    cure (a lock not granted, a statement cancelled, the connection lost, no free connection;
    the transaction rolled back whole); None for any other error. Background passes log it
    as one line and retry, commands say it as one line, instead of a traceback."""
    if lock_failure(exc):
        return "busy: a lock was not granted in time"
    if statement_cancelled(exc):
        return "busy: a statement was cancelled (statement_timeout or pg_cancel_backend)"
    if connection_lost(exc):
        return "unavailable: the connection was lost"
    if pool_exhausted(exc):
        return "busy: every connection was in use"
    return None


def log_failure(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """Log work that failed and will be tried again (``what`` says what and when): one
    warning line when the database failed it for a reason a retry cures, else the traceback."""
    reason = retryable_failure(exc)
    if reason is None:
        logger.error("%s", what, exc_info=exc)
        return
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    said = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    logger.warning("%s (database %s: %s)", what, reason, said)


@contextmanager
def held_alone(engine: Engine, name: str, on_wait: Callable[[], None]) -> Iterator[None]:
    """Run the block while no other process runs a block of the same ``name`` on this
    database (and schema): on PostgreSQL a session advisory lock on a connection of its own,
    waited for without a lock timeout once ``on_wait`` has said so. SQLite needs none: its
    write transactions begin with the database's write lock (``BEGIN IMMEDIATE``), so what
    one reads before writing stays true until it commits."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = text("SELECT hashtext(current_schema() || ':' || :name)")
    with engine.connect() as connection:
        lock_id = connection.scalar(key, {"name": name})
        connection.commit()
        got = connection.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id})
        if not got:
            on_wait()
            connection.execute(text("SET LOCAL lock_timeout = 0"))  # this wait only
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
        connection.commit()  # a session lock: kept past the transaction, ended by unlock
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
            connection.commit()


def inserted_first(session: Session, row: Any) -> bool:
    """Insert ``row`` in a savepoint; False if a unique key refused it because another
    transaction stored the same key first (two requests doing the same at once: both missed
    the row in their lookup, the unique index settles which one stores it; on PostgreSQL the
    second waits for the first's commit). The savepoint keeps the transaction usable."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


class pipelined:  # lower case: entered as the function it was, ``with pipelined(session):``
    """INSERTs and UPDATEs whose results nobody reads, sent without waiting for each.

    On PostgreSQL they are queued in libpq's pipeline (``dialflow.wire``), which stays open
    after the block: the next read or the COMMIT travels with them and syncs it, so a step's
    writes and its commit cost one round trip. A failing write raises there, as
    SQLAlchemy's ``DBAPIError`` family, and the transaction rolls back as usual. Elsewhere
    (SQLite) the statements just run. (A class, not a generator: every step enters it.)
    """

    __slots__ = ("_batch", "_session")

    def __init__(self, session: Session) -> None:
        self._session = session

    def __enter__(self) -> Batch:
        connection = self._session.connection()
        batch = self._batch = Batch(connection)
        if connection.dialect not in _CARRYING:  # SQLite, or an engine not from build_engine
            return batch
        pipeline = connection.info.get(_PIPELINE)
        if pipeline is None:
            pipeline = _open_pipeline(connection)
        batch._pipeline = pipeline
        pipeline.batching = True
        return batch

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        batch = self._batch
        if batch._pipeline is None:
            return
        if kind is not None:
            _close_pipeline(batch.connection.info, raise_errors=False, run_checks=False)
            return
        batch._current().batching = False


def _open_pipeline(connection: Connection) -> _Pipeline:
    """A pipeline for ``connection``'s next statements, the transaction's owed BEGIN first."""
    pipeline = connection.info[_PIPELINE] = _Pipeline(connection.connection.driver_connection)
    if connection.info.pop(_BEGIN, False):
        pipeline.wire.send_plain(b"BEGIN")
    return pipeline


def fetch(
    session: Session,
    statement: Any,
    parameters: dict[str, Any],
    *,
    may_precede_begin: bool = False,
) -> list[tuple[Any, ...]]:
    """The rows of a Core SELECT, run by the driver itself (see ``dialflow.direct``): for
    the reads every workflow step makes. Same transaction, same values as
    ``session.execute(statement, parameters).all()``, and it sees the session's pending ORM
    changes (it flushes them first, as an ORM query would); a statement the driver cannot be
    given as it is goes through SQLAlchemy.

    ``may_precede_begin``: a read that locks nothing and sees only committed rows, which at
    READ COMMITTED is all a transaction's first statement sees, may run on PostgreSQL before
    the transaction's owed BEGIN, on its own; BEGIN then travels with the next statement.
    One statement answered costs the driver less than a pipeline of BEGIN and the read."""
    if session.autoflush and (session.new or session.deleted or session.dirty):
        session.flush()  # as a query through the session would
    connection = session.connection()
    direct = direct_statement(connection.dialect, statement, parameters)
    if direct is None:
        return [tuple(row) for row in connection.execute(statement, parameters)]
    driver = connection.connection.driver_connection
    info = connection.info
    with _as_dbapi_error(connection, direct.sql, parameters):
        if direct.wire is None or connection.dialect not in _CARRYING:
            cursor = driver.cursor()
            return direct.rows(direct.execute(cursor, parameters))
        # PostgreSQL: the read travels with what is owed (the pipeline's writes, or the
        # transaction's BEGIN unless it may precede it) and syncs them.
        pipeline = info.get(_PIPELINE)
        if pipeline is None:
            pipeline = info[_PIPELINE] = _Pipeline(driver)
            if not (may_precede_begin and info.get(_BEGIN)) and info.pop(_BEGIN, False):
                pipeline.wire.send_plain(b"BEGIN")
        result = direct.send(pipeline.wire, parameters)
        _close_pipeline(info, raise_errors=True)
        return direct.converted(result.rows)


def inserted_id(session: Session, statement: Any, returning: Any, values: dict[str, Any]) -> int:
    """Run the INSERT ``statement`` of one row and give its new integer key: SQLite's
    driver tells it without RETURNING (run directly, see ``fetch``); elsewhere ``returning``,
    the same INSERT returning the key, is run."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        direct = direct_statement(connection.dialect, statement, values)
        if direct is not None:
            cursor = connection.connection.driver_connection.cursor()
            with _as_dbapi_error(connection, direct.sql, values):
                return direct.execute(cursor, values).lastrowid
    return connection.scalar(returning, values)


class _as_dbapi_error:
    """The driver's errors raised as SQLAlchemy raises them (``IntegrityError``...).

    A class rather than a ``@contextmanager`` generator, which costs several times more to
    enter and leave: every statement of a step passes through it."""

    __slots__ = ("connection", "parameters", "sql")

    def __init__(self, connection: Connection, sql: str, parameters: Any) -> None:
        self.connection, self.sql, self.parameters = connection, sql, parameters

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> bool:
        if exc is not None:
            lost = _invalidate_if_lost(self.connection, exc)
            error = self.connection.dialect.loaded_dbapi.Error
            if isinstance(exc, error):
                raise DBAPIError.instance(
                    self.sql, self.parameters, exc, error, connection_invalidated=lost
                ) from exc
        return False


def _invalidate_if_lost(connection: Connection, exc: BaseException) -> bool:
    """Invalidate ``connection`` if its driver connection was closed under a statement run
    directly (the server ended it, or an interrupt cut ``dialflow.wire`` off mid-answer):
    SQLAlchemy did not run the statement, so it would not know, and its rollback would then
    fail on the closed connection with an error of its own, raised over ``exc`` (a
    ``KeyboardInterrupt`` became an ``OperationalError``). The pool replaces the connection."""
    if connection.invalidated:
        return True
    driver = connection.connection.driver_connection
    if not getattr(driver, "closed", False):  # sqlite3's connection has no ``closed``
        return False
    connection.invalidate(exc if isinstance(exc, Exception) else None)
    return True


def _send(info: dict[Any, Any], driver: Any, execute: Callable[[], Any]) -> bool:
    """Before ``execute`` (which sends one statement with parameters on ``driver`` through
    psycopg) the pipeline's writes are synced; if the transaction's BEGIN is owed, it travels
    with the statement in psycopg's pipeline. ``False`` if nothing was owed and it was not
    run."""
    _close_pipeline(info, raise_errors=True)
    if not info.pop(_BEGIN, False):
        return False
    with driver.pipeline():
        driver.execute("BEGIN")
        execute()
    return True


_PIPELINE = "dialflow_pipeline"
# In a connection's ``info``: a transaction began, and its BEGIN is not sent yet (see
# ``_carry_pipeline``). Only statements that pass through this module's hooks may be sent then.
_BEGIN = "dialflow_begin"
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE
_CARRYING: weakref.WeakSet[Any] = weakref.WeakSet()  # dialects of engines with the hooks below


class _Pipeline:
    """The writes of :func:`pipelined` (and what joins them) queued in libpq's pipeline
    (``dialflow.wire``) until something needs results."""

    __slots__ = ("batching", "checks", "closed", "driver", "wire")

    def __init__(self, driver: Any) -> None:
        from dialflow.wire import Wire

        self.driver = driver
        self.wire = Wire(driver)
        self.batching = False
        self.closed = False
        self.checks = self.wire.checks

    def close(self, *, raise_errors: bool, run_checks: bool, commit: bool = False) -> None:
        import psycopg

        self.closed = True
        try:
            if commit:
                self.wire.send_plain(b"COMMIT")
            self.wire.sync(raise_errors=raise_errors)
        except psycopg.Error as error:  # the first failure is the cause; later ones say "aborted"
            if raise_errors:
                raise DBAPIError.instance(None, None, error, psycopg.Error) from error
            return
        if run_checks:
            for check in self.checks:
                check()


def settle(session: Session) -> None:
    """Sync writes still waiting in a pipeline (raising their errors) and open the transaction
    before the caller uses the driver directly, e.g. for COPY, which psycopg refuses in
    pipeline mode."""
    connection = session.connection()
    _close_pipeline(connection.info, raise_errors=True)
    if connection.info.pop(_BEGIN, False):
        connection.connection.driver_connection.execute("BEGIN")


def _close_pipeline(
    info: dict[Any, Any], *, raise_errors: bool, run_checks: bool = True, commit: bool = False
) -> None:
    pipeline = info.pop(_PIPELINE, None)
    if pipeline is not None:
        pipeline.close(raise_errors=raise_errors, run_checks=run_checks, commit=commit)


def _carry_pipeline(engine: Engine) -> None:
    """Reads after :func:`pipelined` join its pipeline and sync it (one round trip); any
    statement psycopg runs itself syncs it first; a transaction's BEGIN travels with its
    first statement.

    psycopg sends BEGIN on its own before a transaction's first statement and waits for the
    answer, even in a pipeline: a round trip per transaction. Instead the driver connection
    stays in autocommit mode and Dialflow owes the server a BEGIN from SQLAlchemy's "begin"
    until the first statement, which sends both together. psycopg's commit and rollback go
    by the server's transaction status, so they end such a transaction as their own.
    """
    _CARRYING.add(engine.dialect)

    def info_of(context: Any) -> dict[Any, Any] | None:
        try:
            return context.root_connection.info
        except NotImplementedError:  # the dialect's first connect has no pooled record yet
            return None

    def run(cursor: Any, info: dict[Any, Any] | None, statement: str, parameters: Any) -> bool:
        if info is None:
            return False
        if not parameters or getattr(cursor, "name", None):
            # Without parameters the SQL may hold several commands, which a pipeline (the
            # extended protocol) refuses; a server-side cursor cannot run in one either.
            _close_pipeline(info, raise_errors=True)
            if info.pop(_BEGIN, False):
                cursor.connection.execute("BEGIN")
            return False
        return _send(info, cursor.connection, lambda: cursor.execute(statement, parameters))

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        driver = connection.connection.driver_connection
        if driver.info.transaction_status != _IDLE or driver._pipeline is not None:
            return  # not a fresh transaction: psycopg begins it as usual
        if not driver.autocommit:
            driver.autocommit = True
        connection.info[_BEGIN] = True

    @event.listens_for(engine, "do_execute")
    def _execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        return run(cursor, info_of(context), statement, parameters) or None

    @event.listens_for(engine, "do_execute_no_params")
    def _execute_no_params(cursor: Any, statement: str, context: Any) -> bool | None:
        return run(cursor, info_of(context), statement, None) or None

    @event.listens_for(engine, "do_executemany")
    def _executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        info = info_of(context)
        if info is None:
            return
        _close_pipeline(info, raise_errors=True)
        if info.pop(_BEGIN, False):
            cursor.connection.execute("BEGIN")

    @event.listens_for(engine, "commit")
    def _commit(connection: Connection) -> None:
        # COMMIT joins the pipeline; psycopg's own commit then finds nothing to do. The row
        # locks the writes were made under, not the checks, guard them at this point. A
        # transaction that sent nothing has nothing to end.
        connection.info.pop(_BEGIN, None)
        _close_pipeline(connection.info, raise_errors=True, run_checks=False, commit=True)

    @event.listens_for(engine, "rollback")
    def _rollback(connection: Connection) -> None:
        if connection.invalidated:  # the server dropped it: no pipeline or BEGIN left to end,
            return  # and reading its info would raise over the error that dropped it
        connection.info.pop(_BEGIN, None)
        _close_pipeline(connection.info, raise_errors=False, run_checks=False)

    @event.listens_for(engine, "reset")
    def _reset(_dbapi_connection: Any, record: Any, _state: Any = None) -> None:
        record.info.pop(_BEGIN, None)
        _close_pipeline(record.info, raise_errors=False, run_checks=False)


def pending_update(obj: Any) -> tuple[Any, dict[str, Any]] | None:
    """The UPDATE that would flush ``obj``'s changed columns, and those values; ``None`` if
    nothing changed. Pair it with :func:`mark_saved` once it has run."""
    state = inspect(obj)
    mapper = state.mapper
    values = {}
    for prop in mapper.column_attrs:
        history = state.attrs[prop.key].history
        if history.added or history.deleted:
            values[prop.key] = getattr(obj, prop.key)
    if not values:
        return None
    table = mapper.local_table
    condition = [
        column == getattr(obj, mapper.get_property_by_column(column).key)
        for column in mapper.primary_key
    ]
    return update(table).where(*condition).values(values), values


def as_loaded(cls: type[_T], values: dict[str, Any]) -> _T:
    """An object of ``cls`` with ``values``, every column's value as read from its row, made
    to look loaded by a query: no history, its identity key set (add it to the session to make
    it persistent without SQL). For reads that skip the ORM's loading (``fetch``).

    Like the ORM's own loading it skips ``__init__`` and its attribute events, which would
    record every value as a change only to have it forgotten at once."""
    obj = as_new(cls, values)
    make_loaded(obj)
    return obj


def make_loaded(obj: Any) -> None:
    """``make_transient_to_detached(obj)``: a new object with every column's value becomes
    detached, as if loaded from its row (its values as they are, no history).

    With every column's value in it (the common case) that is its changes committed and its
    identity key: what ``make_transient_to_detached`` would expire then are its relationships,
    which are not loaded and load on access either way, and working that out attribute by
    attribute costs several times the rest of building the object. The whole work is still
    done when a column is missing or something listens to expiry."""
    state = instance_state(obj)
    mapper = state.mapper
    loaded = state.dict
    keys = _KEYS.get(mapper)
    if keys is None:
        keys = _KEYS[mapper] = (
            tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key),
            frozenset(prop.key for prop in mapper.column_attrs),
        )
    identity, columns = keys
    if (
        state.key is not None
        or state.session_id is not None
        or state.manager.dispatch.expire
        or not columns <= loaded.keys()
    ):
        make_transient_to_detached(obj)
        return
    if state.modified or state.committed_state:
        state._commit_all(loaded)
    state.key = mapper.identity_key_from_primary_key(tuple(loaded[key] for key in identity))


_KEYS: dict[Any, tuple[tuple[str, ...], frozenset[str]]] = {}


def add_loaded(session: Session, obj: Any, related: Sequence[Any] = ()) -> None:
    """``session.add(obj)`` for an object made loaded by :func:`as_loaded` or
    :func:`make_loaded` whose relationships hold nothing loaded: ``add`` would walk every
    relationship of its mapper for objects to cascade to and find none.

    ``related``: every object that ``obj``'s loaded relationships hold (set with
    ``set_committed_value``), each made loaded the same way with nothing loaded of its own.
    They are added with it, which is what ``add``'s walk would find. Any other object is
    added as usual."""
    state = instance_state(obj)
    relationships = _RELATIONSHIPS.get(state.mapper)
    if relationships is None:
        relationships = _RELATIONSHIPS[state.mapper] = tuple(state.mapper.relationships.keys())
    loaded = state.dict
    if state.key is None or (not related and any(key in loaded for key in relationships)):
        session.add(obj)
        return
    state._orphaned_outside_of_session = False
    session._save_or_update_impl(state)
    for other in related:
        add_loaded(session, other)


_RELATIONSHIPS: dict[Any, tuple[str, ...]] = {}


def as_new(cls: type[_T], values: dict[str, Any]) -> _T:
    """A new (transient) object of ``cls`` with ``values``, built as :func:`as_loaded` builds
    it but not made to look loaded: for a row whose INSERT the caller sends itself and then
    makes loaded (a step's new instance). ``cls(**values)`` would record every value as a
    change, only for that to forget them."""
    obj = class_mapper(cls).class_manager.new_instance()
    instance_state(obj).dict.update(values)
    return obj


def mark_saved(obj: Any, values: dict[str, Any]) -> None:
    """Tell the ORM that ``values`` of ``obj`` are now stored, so no flush writes them again.

    The values go in as a refresh from the database would put them (no change events, their
    history dropped); an object with nothing else changed leaves the session's list of
    modified ones, so the commit's flush has nothing to look at."""
    state = instance_state(obj)
    state.dict.update(values)
    state._commit(state.dict, values)
    if not state.committed_state and state.modified:
        state._commit_all(state.dict, state.session.identity_map if state.session else None)


def build_engine(settings: Settings) -> Engine:
    url = settings.database_url
    # JSON columns written as json.dumps writes them, without an encoder built per value.
    kwargs: dict[str, Any] = {"future": True, "json_serializer": json_text.dumps}
    wait = settings.lock_wait_seconds
    # More requests at once than connections: one waits for a connection as long as it would
    # wait for a lock, then is refused busy (``pool_exhausted``), as for a lock.
    kwargs["pool_timeout"] = wait
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": wait, "check_same_thread": False}
        if ":memory:" in url or url.rstrip("/") == "sqlite:":
            raise ValueError("Dialflow needs a SQLite file, not an in-memory database")
    else:
        # No pre-ping (a round trip per transaction); a connection dropped by a server restart
        # is invalidated on its first error, and old connections are recycled.
        kwargs["pool_recycle"] = 1800
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 20
        # A lock held by a stuck transaction fails the waiting statement after the lock wait
        # (``lock_failure``), as SQLite's busy timeout does, instead of holding it for good.
        options = f"-clock_timeout={wait * 1000}"
        if settings.database_schema:
            options += f" -csearch_path={settings.database_schema}"
        kwargs["connect_args"] = {"options": options}
        if url.startswith("postgresql+psycopg:") or url.startswith("postgresql:"):
            # The statements every step runs are prepared by ``dialflow.wire``; psycopg's own
            # preparing would, at every rollback, deallocate them all with its own.
            kwargs["connect_args"]["prepare_threshold"] = None
    engine = create_engine(url, **kwargs)
    # First of the engine's "commit" listeners: the pipeline's sends the COMMIT in its own.
    event.listen(engine, "commit", _note_commit)
    event.listen(engine, "handle_error", _mark_connect_failure)
    if settings.is_sqlite:
        _tune_sqlite(engine, wait)
    elif engine.dialect.driver == "psycopg":
        _carry_pipeline(engine)
    return engine


SQLITE_PAGE_SIZE = 2048
SQLITE_WAL_CHECKPOINT_BYTES = 40_960_000  # 20,000 pages of 2 KB; 10,000 of an older 4 KB file


def _tune_sqlite(engine: Engine, lock_wait_seconds: int = 30) -> None:
    """WAL lets readers work while a writer commits; foreign keys are off in SQLite by default.

    ``BEGIN IMMEDIATE`` takes the write lock at the start of a transaction, so two writers queue
    on ``busy_timeout`` instead of failing with "database is locked" halfway through.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cursor = dbapi_connection.cursor()
        # Before WAL mode: a new database takes the page size (an existing one keeps its own).
        # A commit writes each page it changed whole into the WAL, and a step changes one
        # leaf page in each of some twenty tables and indexes: at 2 KB instead of SQLite's
        # 4 KB a step's commit writes about 45 KB instead of 80 KB.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={lock_wait_seconds * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A checkpoint copies the WAL into the database file and syncs both: its fixed cost
        # (two fsyncs), paid by whichever commit crosses the threshold, dominated the commits
        # at SQLite's default of 1,000 pages. About 40 MB of WAL makes it some twenty times
        # rarer; the copying is the same, a crossing commit waits tens of milliseconds. The
        # threshold counts pages, of the size this file actually has.
        page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_BYTES // page_size}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("read_only", False)
        # On the driver: one per transaction, SQLAlchemy's execution would cost more. A locked
        # or read-only database still raises SQLAlchemy's OperationalError.
        sql = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        with _as_dbapi_error(connection, sql, None):
            connection.connection.driver_connection.execute(sql)
