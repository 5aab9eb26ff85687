"""Database access: the declarative base, the engine, and the one unit-of-work helper.

Web requests, CLI commands and background jobs all open their transaction with
``Database.unit_of_work()``; services receive the session and never commit. A workflow step
and the CRM writes of its handlers therefore share one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from dialflow.settings import Settings

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


def utcnow() -> datetime:
    return datetime.now(UTC)


class Database:
    """Owns the SQLAlchemy engine and session factory for one settings object."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = build_engine(settings)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self._reader_factory = sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )

    @contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[Session]:
        """One transaction: commit when the block ends normally, roll back on any exception.

        ``read_only`` only changes how SQLite begins (a shared, not a reserved, lock); pages
        that merely read then never queue behind a writer.
        """
        session = (self._reader_factory if read_only else self.session_factory)()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def pipelined(session: Session) -> Iterator[Connection]:
    """Statements run on the yielded connection travel to the server together.

    On PostgreSQL the block is a psycopg pipeline: one round trip for all of them, at the end
    of the block, where a failing statement raises (as SQLAlchemy's ``DBAPIError`` family, like
    any statement). Their results are not available inside the block: use it for INSERTs and
    UPDATEs whose outcome is read afterwards, if at all. Elsewhere it is the plain connection.
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or not hasattr(driver, "pipeline"):
        yield connection
        return
    import psycopg

    try:
        with driver.pipeline():
            yield connection
    except psycopg.Error as exc:  # raised by the pipeline's final sync, not by a statement
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


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


def mark_saved(obj: Any, values: dict[str, Any]) -> None:
    """Tell the ORM that ``values`` of ``obj`` are now stored, so no flush writes them again."""
    for key, value in values.items():
        set_committed_value(obj, key, value)


def build_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict[str, Any] = {"future": True}
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if ":memory:" in url or url.rstrip("/") == "sqlite:":
            raise ValueError("Dialflow needs a SQLite file, not an in-memory database")
        if settings.environment == "test":
            kwargs["poolclass"] = NullPool  # tests swap database files between cases
    else:
        # No pre-ping (a round trip per transaction); a connection dropped by a server restart
        # is invalidated on its first error, and old connections are recycled.
        kwargs["pool_recycle"] = 1800
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 20
        if settings.database_schema:
            kwargs["connect_args"] = {"options": f"-csearch_path={settings.database_schema}"}
    engine = create_engine(url, **kwargs)
    if settings.is_sqlite:
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    """WAL lets readers work while a writer commits; foreign keys are off in SQLite by default.

    ``BEGIN IMMEDIATE`` takes the write lock at the start of a transaction, so two writers queue
    on ``busy_timeout`` instead of failing with "database is locked" halfway through.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
