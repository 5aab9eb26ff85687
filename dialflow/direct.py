"""Statements compiled once by SQLAlchemy and run on the database driver itself.

For the few statements every workflow step runs, SQLAlchemy's execution machinery (an
execution context, cache look-ups, result metadata, events) costs several times what the
driver needs to send the statement and read its rows. A :class:`DirectStatement` keeps the
compiled SQL and the type processors of one statement for one dialect and one set of
parameter keys, so values are converted exactly as SQLAlchemy would convert them, then hands
the SQL to the driver's cursor (psycopg's named ``%(x)s`` or sqlite3's ``?`` parameters).

This module only compiles and runs; transactions (PostgreSQL's deferred BEGIN, pipelines) are
``dialflow.db``'s business, which is the only caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError

from dialflow.wire import Wire, WireResult, WireStatement


class DirectStatement:
    """One statement compiled for one dialect and one set of parameter keys."""

    def __init__(self, statement: Any, compiled: Any, dialect: Dialect, keys: tuple[str, ...]):
        self.sql: str = compiled.string
        # On PostgreSQL the statement can also be sent through libpq's pipeline (``wire``).
        self.wire = WireStatement(self.sql) if dialect.driver == "psycopg" else None
        self._compiled = compiled
        self._bind_processors = list(compiled._bind_processors.items())
        # Every parameter of the SQL is named by a given key or has a fixed value of its own
        # (a LIMIT): the values are the given ones and those.
        self._keys: frozenset[str] | None = None
        self._fixed: dict[str, Any] = {}
        if set(keys) <= set(compiled.binds):
            fixed = {
                name: bind.value
                for name, bind in compiled.binds.items()
                if name not in keys and bind.callable is None and not bind.required
            }
            if len(fixed) + len(keys) == len(compiled.binds):
                self._keys, self._fixed = frozenset(keys), fixed
        self._order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        # A positional driver (sqlite3) given the statement's own keys: for each place in
        # order, where its value comes from (the fixed values or the parameters) and its
        # type's conversion, so the driver's tuple is built in one pass.
        self._places: list[tuple[str, bool, Callable[[Any], Any] | None]] | None = None
        if self._order is not None and self._keys is not None:
            processors = dict(self._bind_processors)
            self._places = [
                (name, name in self._fixed, processors.get(name)) for name in self._order
            ]
        # The same for the wire (PostgreSQL's pipeline): each ``$n`` in order, when every key
        # of the statement is a given or a fixed one.
        self._wire_places: list[tuple[str, bool, Callable[[Any], Any] | None]] | None = None
        if self.wire is not None and self._keys is not None:
            processors = dict(self._bind_processors)
            if set(self.wire.keys) <= self._keys | self._fixed.keys():
                self._wire_places = [
                    (name, name in self._fixed, processors.get(name)) for name in self.wire.keys
                ]
        # The columns whose values are converted, by their place in the row.
        self._result_processors: list[tuple[int, Callable[[Any], Any]]] = []
        if getattr(statement, "is_select", False):
            # Built without the driver's type codes: a type whose processing needs them
            # (psycopg's Numeric) raises here, and the statement stays with SQLAlchemy.
            processors = [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            ]
            self._width = len(processors)
            self._result_processors = [
                (place, process) for place, process in enumerate(processors) if process
            ]

    def values(self, parameters: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        """The driver's parameters: bound values processed, in the driver's style. A value
        that is missing or cannot be converted raises ``StatementError`` as SQLAlchemy would."""
        try:
            if self._places is not None and parameters.keys() == self._keys:
                fixed, converted = self._fixed, []
                for name, is_fixed, process in self._places:
                    value = fixed[name] if is_fixed else parameters[name]
                    converted.append(value if process is None else process(value))
                return tuple(converted)
            if self._keys is not None and parameters.keys() == self._keys:
                values = {**self._fixed, **parameters}
            else:
                values = self._compiled.construct_params(parameters, _check=True)
            for name, process in self._bind_processors:
                if name in values:
                    values[name] = process(values[name])
        except Exception as exc:
            raise StatementError(str(exc), self.sql, parameters, exc) from exc
        if self._order is not None:
            return tuple(values[name] for name in self._order)
        return values

    def execute(self, cursor: Any, parameters: dict[str, Any] | list[dict[str, Any]]) -> Any:
        if isinstance(parameters, dict):
            cursor.execute(self.sql, self.values(parameters))
        elif len(parameters) == 1:  # psycopg's executemany costs more, even for one row
            cursor.execute(self.sql, self.values(parameters[0]))
        else:
            cursor.executemany(self.sql, [self.values(p) for p in parameters])
        return cursor

    def send(self, wire: Wire, parameters: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """Queue the statement in ``wire`` (once per set of parameters); the result's
        ``rowcount`` and ``rows`` are there once the wire has synced."""
        statement = self.wire
        assert statement is not None, "a statement for psycopg"
        if isinstance(parameters, dict):
            return wire.send(statement, self._ordered(statement, parameters))
        results = [wire.send(statement, self._ordered(statement, p)) for p in parameters]
        return results[0] if len(results) == 1 else _Results(results)

    def _ordered(self, statement: WireStatement, parameters: dict[str, Any]) -> list[Any]:
        places = self._wire_places
        if places is not None and parameters.keys() == self._keys:
            # One pass, as ``values`` does for sqlite3's places.
            fixed, converted = self._fixed, []
            try:
                for name, is_fixed, process in places:
                    value = fixed[name] if is_fixed else parameters[name]
                    converted.append(value if process is None else process(value))
            except Exception as exc:
                raise StatementError(str(exc), self.sql, parameters, exc) from exc
            return converted
        values = self.values(parameters)
        assert isinstance(values, dict)
        try:
            return [values[key] for key in statement.keys]
        except KeyError as exc:
            raise StatementError(f"no value for {exc}", self.sql, parameters, exc) from exc

    def rows(self, cursor: Any) -> list[tuple[Any, ...]]:
        """The fetched rows, each value converted by its column's type."""
        return self.converted(cursor.fetchall())

    def converted(self, fetched: Any) -> list[tuple[Any, ...]]:
        """``fetched`` rows (a driver's, or a :class:`WireResult`'s), each value converted
        by its column's type."""
        processors = self._result_processors
        if not processors:
            return [tuple(row) for row in fetched]
        rows = []
        for row in fetched:
            values = list(row)
            if len(values) != self._width:
                raise ValueError(f"a row of {len(values)} values for {self._width} columns")
            for place, process in processors:
                value = values[place]
                if value is not None:
                    values[place] = process(value)
            rows.append(tuple(values))
        return rows


class _Results:
    """The results of one statement queued once per set of parameters: its rows matched."""

    __slots__ = ("_results",)

    def __init__(self, results: list[WireResult]) -> None:
        self._results = results

    @property
    def rowcount(self) -> int:
        return sum(result.rowcount for result in self._results)


# Statements are built once, at import; they are kept alive here so their ids stay theirs.
# A caller that builds its statement per call only refills the cache: it is bounded.
_CACHE_SIZE = 512
_CACHE: dict[tuple[int, int, tuple[str, ...]], tuple[Any, DirectStatement | None]] = {}


def direct_statement(dialect: Dialect, statement: Any, parameters: Any) -> DirectStatement | None:
    """The direct form of ``statement`` for these parameters' keys, or ``None`` if it needs
    more than the driver can be given as it is: defaults computed in Python, expanding or
    renamed parameters, RETURNING, or a driver this module does not know."""
    first = parameters if isinstance(parameters, dict) else parameters[0]
    keys = tuple(first)
    key = (id(statement), id(dialect), keys)
    found = _CACHE.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    direct = None
    if dialect.driver in ("psycopg", "pysqlite") and _plain(statement):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if not (
            compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.post_compile_params
            or compiled.escaped_bind_names
            or compiled.literal_execute_params
            or (compiled.positional and dialect.paramstyle != "qmark")
            or (not compiled.positional and dialect.paramstyle != "pyformat")
        ):
            try:
                direct = DirectStatement(statement, compiled, dialect, keys)
            except Exception:  # a type the driver's rows cannot be converted for without it
                direct = None
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = (statement, direct)
    return direct


def _plain(statement: Any) -> bool:
    """A Core SELECT, or an INSERT/UPDATE/DELETE without RETURNING (ORM statements need
    the ORM to build their results)."""
    if statement._propagate_attrs.get("compile_state_plugin") == "orm":
        return False
    if getattr(statement, "is_select", False):
        return True
    return getattr(statement, "is_dml", False) and not getattr(statement, "_returning", ())
