"""Datetimes sent through libpq's pipeline (``dialflow.wire``) mean on the server what
psycopg's text form of them meant: the same type (``timestamp`` for a naive value,
``timestamptz`` for an aware one), the same instant, the same text and JSON when the
parameter is cast or stored as either, the same refusal where the type does not fit; a
statement prepared for a datetime, then given ``None``, then a datetime again, and one
deallocated by ``DISCARD ALL`` behave as before. Each is compared, on a session whose time
zone and date style are not the defaults, with the same statement run through psycopg's
cursor with text parameters. Pins behaviour that was already right before datetimes went in
binary; sending every datetime in binary broke two: a ``tzinfo`` without an offset (a
``TypeError`` instead of the session's time zone) and an offset with microseconds (stored,
where its text was refused)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from dialflow.wire import Wire, WireStatement
from tests.conftest import PG_URL, backend

pytestmark = pytest.mark.skipif(backend() != "postgresql", reason="libpq's pipeline")


class _NoOffset(tzinfo):
    """A time zone that gives no UTC offset: Python then treats its times as naive."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None


_AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_VALUES: list[Any] = [
    datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC),
    datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 3, 4, 5, 6, 7, 1, tzinfo=timezone(timedelta(hours=-8))),
    datetime(2026, 3, 4, 5, 6, 7, 999999),  # naive
    datetime(2026, 10, 25, 2, 30, tzinfo=_AMSTERDAM),  # the repeated hour, fold 0
    datetime(2026, 10, 25, 2, 30, tzinfo=_AMSTERDAM, fold=1),
    datetime(1900, 1, 1, 12, tzinfo=_AMSTERDAM),  # an offset with seconds (+00:19:32)
    datetime.min,
    datetime.min.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),  # 1 BC in UTC
    datetime.max,
    datetime.max.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),  # year 10000 in UTC
    datetime(2026, 3, 4, 5, 6, 7, tzinfo=_NoOffset()),  # its text means the session's zone
    datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=1, microseconds=500))),
    date(2026, 3, 4),
    None,
]
_SQL = [
    "SELECT (%(v)s)::text, pg_typeof(%(v)s)::text",
    "SELECT to_jsonb(%(v)s)::text",
    "SELECT to_json(%(v)s)::text",
    "SELECT (%(v)s)::timestamp::text, (%(v)s)::timestamptz::text, (%(v)s)::date::text",
    "INSERT INTO dt_cols (ts) VALUES (%(v)s)",
    "INSERT INTO dt_cols (tstz) VALUES (%(v)s)",
    "INSERT INTO dt_cols (t) VALUES (%(v)s)",
    "INSERT INTO dt_cols (j) VALUES (%(v)s)",
    "INSERT INTO dt_cols (js) VALUES (%(v)s)",
    "SELECT count(*) FROM dt_cols WHERE tstz = %(v)s OR ts = %(v)s",
]
_TABLE = "CREATE TEMP TABLE dt_cols (ts timestamp, tstz timestamptz, t text, j jsonb, js json)"
_READ_BACK = "SELECT ts::text, tstz::text, t, j::text, js::text FROM dt_cols"


def _connect() -> psycopg.Connection[Any]:
    assert PG_URL is not None
    conn = psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"))
    conn.autocommit = True
    conn.execute("SET TimeZone = 'America/St_Johns'")  # -03:30 / -02:30
    conn.execute("SET DateStyle = 'SQL, DMY'")
    conn.execute(_TABLE)
    return conn


@pytest.fixture
def conn() -> Iterator[psycopg.Connection[Any]]:
    with _connect() as connection:
        yield connection


def _outcome(run: Any) -> Any:
    try:
        return ("rows", run())
    except psycopg.Error as exc:
        return ("error", type(exc).__name__, exc.sqlstate)
    except (TypeError, ValueError) as exc:  # a value psycopg could not convert
        return ("error", type(exc).__name__)


def _by_wire(conn: psycopg.Connection[Any], statement: WireStatement, values: list[Any]) -> Any:
    def run() -> Any:
        wire = Wire(conn)
        try:
            result = wire.send(statement, values)
        except Exception:
            wire.sync(raise_errors=False)  # out of pipeline mode for the next statement
            raise
        wire.sync()
        return result.rows

    return _outcome(run)


def _by_cursor(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> Any:
    def run() -> Any:
        cursor = conn.execute(sql.replace(")s", ")t"), params)  # text parameters
        return cursor.fetchall() if cursor.description else None

    return _outcome(run)


def _read_back(conn: psycopg.Connection[Any]) -> Any:
    rows = conn.execute(_READ_BACK).fetchall()
    conn.execute("DELETE FROM dt_cols")
    return rows


def test_each_datetime_means_on_the_server_what_its_text_form_meant(conn):
    for sql in _SQL:
        statement = WireStatement(sql)
        for value in _VALUES:
            wired = _by_wire(conn, statement, [value])
            stored_by_wire = _read_back(conn)
            texted = _by_cursor(conn, sql, {"v": value})
            stored_by_cursor = _read_back(conn)
            assert (wired, stored_by_wire) == (texted, stored_by_cursor), (sql, value)


def test_datetimes_among_other_values_and_nones_in_one_statement(conn):
    sql = (
        "SELECT (%(a)s)::text, (%(b)s)::text, (%(c)s)::text, (%(d)s)::text, (%(e)s)::text,"
        " (%(f)s)::text"
    )
    statement = WireStatement(sql)
    rows = [
        {"a": 1, "b": "x", "c": _VALUES[0], "d": None, "e": _VALUES[3], "f": {"k": 1}},
        {"a": 2**40, "b": None, "c": None, "d": _VALUES[1], "e": "y", "f": [1.5]},
    ]
    for params in rows:
        wired = _by_wire(conn, statement, [params[key] for key in statement.keys])
        assert wired == _by_cursor(conn, sql, params), params


def test_one_statement_given_a_datetime_then_none_then_a_datetime(conn):
    sql = "SELECT (%(v)s)::text, (%(w)s)::timestamptz::text"
    statement = WireStatement(sql)
    sequence = [
        (_VALUES[0], _VALUES[1]),
        (None, _VALUES[1]),
        (_VALUES[0], None),
        (None, None),
        (_VALUES[3], _VALUES[2]),
        (_VALUES[0], _VALUES[1]),
    ]
    for v, w in sequence:  # each set of types prepared once, reused, on one connection
        wired = _by_wire(conn, statement, [v, w])
        assert wired == _by_cursor(conn, sql, {"v": v, "w": w}), (v, w)


def test_a_datetime_statement_prepared_again_after_discard_all(conn):
    statement = WireStatement("INSERT INTO dt_cols (tstz) VALUES (%(v)s)")
    assert _by_wire(conn, statement, [_VALUES[1]]) == ("rows", None)
    conn.execute("DISCARD ALL")  # drops the temporary table and the prepared statements too
    conn.execute(_TABLE)
    lost = _by_wire(conn, statement, [_VALUES[1]])
    assert lost == ("error", "InvalidSqlStatementName", "26000")
    assert _by_wire(conn, statement, [_VALUES[1]]) == ("rows", None)
    assert _by_wire(conn, statement, [None]) == ("rows", None)
    stored = [(None, tstz, None, None, None) for tstz in _tstz_texts(conn, [_VALUES[1], None])]
    assert _read_back(conn) == stored


def _tstz_texts(conn: psycopg.Connection[Any], values: list[Any]) -> list[Any]:
    return [conn.execute("SELECT (%t)::timestamptz::text", [v]).fetchone()[0] for v in values]
