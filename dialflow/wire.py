"""A step's statements sent to PostgreSQL through libpq's pipeline, their answers read once.

psycopg's cursor runs a statement through several layers of Python (query conversion,
preparation bookkeeping, generators that send and poll for results after each statement,
even in its pipeline mode): for the dozen statements of a workflow step that costs more than
the engine's own work on the step. The statements every step runs
are few and fixed (``dialflow.direct``), so here they are sent on psycopg's own libpq
connection directly: its values converted by psycopg's adapters (as text, datetimes in
binary, with the types psycopg gives them), prepared once per connection and set of types
under a name of its own, queued in libpq's pipeline (each written to the socket as it is
queued, without waiting) and their answers read in one go when they are needed. Rows are read
with psycopg's loaders and errors raised as psycopg raises them, so callers see what the
cursor gave them.

A :class:`Wire` lives from its first statement to its sync; while it is open nothing else may
use the connection (``dialflow.db`` syncs it before any other statement runs).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import select
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

_NAMES = itertools.count(1)
_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s|%%")


class WireStatement:
    """One statement in libpq's form: ``$n`` placeholders, the keys in their order, a name."""

    __slots__ = ("keys", "sql")

    def __init__(self, pyformat_sql: str) -> None:
        places: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            key = match.group(1)
            if key is None:
                return "%"
            if key not in places:
                places[key] = len(places) + 1
            return f"${places[key]}"

        self.sql: bytes = _PLACEHOLDER.sub(number, pyformat_sql).encode()
        self.keys: tuple[str, ...] = tuple(places)


class WireResult:
    """What one queued statement gave, filled in when its pipeline syncs."""

    __slots__ = ("rowcount", "rows")

    def __init__(self) -> None:
        self.rowcount = -1
        self.rows: list[tuple[Any, ...]] | None = None


class _Connection:
    """What the wire keeps per psycopg connection: its adapters, what it has prepared."""

    __slots__ = ("encoding", "prepared", "transformer")

    def __init__(self, driver: Any) -> None:
        from psycopg.adapt import Transformer

        self.transformer = Transformer(driver)
        self.encoding: str = driver.info.encoding
        # (statement, its parameters' types) → the name it is prepared under on this connection
        self.prepared: dict[tuple[WireStatement, tuple[int, ...]], bytes] = {}


_PREPARE = object()  # a queued entry: the preparation of a statement
# invalid_sql_statement_name (no such prepared statement), feature_not_supported (a cached
# plan whose result type changed)
_LOST_PREPARED = frozenset({"26000", "0A000"})
_MOST_PREPARED = 2000  # per connection; past it statements are sent unprepared
_TEXT: dict[int, list[Any]] = {}


def _text_formats(count: int) -> list[Any]:
    formats = _TEXT.get(count)
    if formats is None:
        from psycopg.adapt import PyFormat

        formats = _TEXT[count] = [PyFormat.TEXT] * count
    return formats


def _formats(values: Sequence[Any]) -> list[Any] | None:
    """The formats ``values`` are sent in: text, but a ``datetime`` in UTC (what every
    ``UTCDateTime`` column gives) or naive in binary, the same instant under the same type
    (psycopg's text form of one is ``str(value)``, whose UTC offset and C formatting cost some
    10,000 instructions a value; the binary form is arithmetic). Any other time zone stays
    text: psycopg's binary form subtracts, which fails for a ``tzinfo`` without an offset
    (its text, without one, means the session's time zone) and keeps the microseconds of an
    offset the text refused. ``None`` when none is sent in binary (all text)."""
    if datetime not in map(type, values):
        return None
    text, binary = _FORMATS or _psycopg_formats()
    formats = [
        binary if type(v) is datetime and (v.tzinfo is UTC or v.tzinfo is None) else text
        for v in values
    ]
    return formats if binary in formats else None


_FORMATS: list[Any] = []  # psycopg's PyFormat.TEXT and .BINARY, once imported


def _psycopg_formats() -> list[Any]:
    """psycopg's text and binary ``PyFormat``, imported once (an import statement, and an
    enum member read in Python 3.11, cost a microsecond or so each time)."""
    from psycopg.adapt import PyFormat

    _FORMATS[:] = [PyFormat.TEXT, PyFormat.BINARY]
    return _FORMATS


class Wire:
    """libpq's pipeline on one psycopg connection, open until :meth:`sync`."""

    __slots__ = ("_commit_at", "_conn", "_names", "_pending", "checks", "pgconn")

    def __init__(self, driver: Any) -> None:
        conn = getattr(driver, "_dialflow_wire", None)
        if conn is None:
            conn = driver._dialflow_wire = _Connection(driver)
        self._conn: _Connection = conn
        self.pgconn = driver.pgconn
        self.pgconn.enter_pipeline_mode()
        self._pending: list[Any] = []  # per queued query: a WireResult, _PREPARE or None
        self._names: list[Any] = []  # the keys of ``prepared`` added in this pipeline, in order
        self.checks: list[Callable[[], None]] = []
        self._commit_at = -1  # the COMMIT's place among the queued queries, if one is queued

    def send_plain(self, sql: bytes) -> None:
        """Queue a statement without parameters or rows (BEGIN, COMMIT)."""
        if sql == b"COMMIT":
            self._commit_at = len(self._pending)
        self.pgconn.send_query_params(sql, None)
        self._pending.append(None)

    def send(self, statement: WireStatement, values: Sequence[Any]) -> WireResult:
        """Queue ``statement`` with ``values`` in its keys' order."""
        conn = self._conn
        transformer = conn.transformer
        formats = _formats(values)
        if formats is None:
            params = transformer.dump_sequence(values, _text_formats(len(values)))
            sent_formats = None
        else:
            params = transformer.dump_sequence(values, formats)
            sent_formats = transformer.formats
        types = transformer.types
        key = (statement, types)
        name = conn.prepared.get(key)
        if name is None and len(conn.prepared) < _MOST_PREPARED:
            name = conn.prepared[key] = b"dialflow_%d" % next(_NAMES)
            self.pgconn.send_prepare(name, statement.sql, types)
            self._pending.append(_PREPARE)
            self._names.append(key)
        if name is not None:
            self.pgconn.send_query_prepared(name, params, sent_formats)
        else:
            self.pgconn.send_query_params(statement.sql, params, types, sent_formats)
        result = WireResult()
        self._pending.append(result)
        # Out at once, without waiting: the server works on it while the step goes on. (A
        # full socket leaves the rest in libpq's buffer for the sync.)
        self.pgconn.flush()
        return result

    def sync(self, *, raise_errors: bool = True) -> None:
        """Send what is queued, read every answer, leave pipeline mode. The first failure
        is raised (later statements only say the pipeline was aborted) if ``raise_errors``;
        a connection that cannot be read to the end is closed, for its pool to replace."""
        errors, ExecStatus = _psycopg_names()
        pgconn, conn = self.pgconn, self._conn
        failure: Exception | None = None
        failed_at = -1
        try:
            pgconn.pipeline_sync()
            _flush(pgconn)
            names = iter(self._names)
            for place, entry in enumerate(self._pending):
                result = _next_result(pgconn)
                while result is None:  # the end of the previous query's results
                    result = _next_result(pgconn)
                status = result.status
                if status == ExecStatus.FATAL_ERROR:
                    if failure is None:
                        failed_at = place
                    failure = failure or errors.error_from_result(result, conn.encoding)
                    if failure.sqlstate in _LOST_PREPARED:
                        # deallocated behind this module's back (DISCARD ALL), or a table
                        # changed under a prepared read: prepare afresh from the next pipeline,
                        # and say so (``dialflow.db.lock_failure``: the work may run again)
                        conn.prepared.clear()
                        failure.prepared_lost = True  # type: ignore[attr-defined]
                if entry is _PREPARE:
                    key = next(names)
                    if status != ExecStatus.COMMAND_OK:  # never reached the server, or refused
                        conn.prepared.pop(key, None)
                elif entry is not None and status in _DONE:
                    if status == ExecStatus.TUPLES_OK:
                        transformer = conn.transformer
                        transformer.set_pgresult(result)
                        entry.rows = transformer.load_rows(0, result.ntuples, tuple)
                    tuples = result.command_tuples
                    entry.rowcount = -1 if tuples is None else tuples
            result = _next_result(pgconn)
            while result is None:
                result = _next_result(pgconn)
            if result.status == ExecStatus.FATAL_ERROR:
                # the server's last words instead of the sync: its backend was terminated
                # (57P01 ``pg_terminate_backend``, a shutdown) after answering the queries
                raise failure or errors.error_from_result(result, conn.encoding)
            if result.status != ExecStatus.PIPELINE_SYNC:
                raise errors.InternalError(f"expected the pipeline's end, got {result.status}")
            pgconn.exit_pipeline_mode()
        except BaseException as exc:
            for key in self._names:
                conn.prepared.pop(key, None)
            _close_broken(pgconn)
            if failure is not None and 0 <= failed_at < self._commit_at:
                # The server refused a statement queued before the COMMIT, then the connection
                # went: the transaction was aborted, the COMMIT could not store it
                # (``dialflow.db.commit_unknown`` is then false).
                exc.refused_before_commit = True  # type: ignore[attr-defined]
            raise
        if failure is not None and raise_errors:
            raise failure


@functools.cache
def _psycopg_names() -> tuple[Any, Any]:
    """psycopg's ``errors`` module and ``ExecStatus``, imported on first use (SQLite needs no
    psycopg) and kept: an import statement in :meth:`Wire.sync` cost a few microseconds on
    every sync, searching the package for the names each time."""
    from psycopg import errors
    from psycopg.pq import ExecStatus

    return errors, ExecStatus


def _flush(pgconn: Any) -> None:
    """Send libpq's output buffer; read meanwhile, so a full answer cannot block the send."""
    while pgconn.flush():
        events = _wait(pgconn.socket, select.POLLIN | select.POLLOUT)
        if events & select.POLLIN:
            pgconn.consume_input()


def _next_result(pgconn: Any) -> Any:
    while pgconn.is_busy():
        _wait(pgconn.socket, select.POLLIN)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(fileno: int, mask: int) -> int:
    poller = select.poll()
    poller.register(fileno, mask)
    events = 0
    while not events:
        for _fd, happened in poller.poll():
            events |= happened
    if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL) and not events & mask:
        from psycopg import OperationalError

        raise OperationalError("the connection to the server was lost")
    return events


def _close_broken(pgconn: Any) -> None:
    """A pipeline that could not be read to its end leaves the connection unusable."""
    with contextlib.suppress(Exception):  # already gone
        pgconn.finish()


def _done_states() -> frozenset[Any]:
    from psycopg.pq import ExecStatus

    return frozenset({ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK})


_DONE = _done_states()
