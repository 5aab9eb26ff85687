"""The SQL the reports need that SQLite and PostgreSQL spell differently.

- :class:`seconds_between` ``(start, end)``: seconds from ``start`` to ``end`` as a float
  (PostgreSQL ``EXTRACT(EPOCH FROM end - start)``, SQLite ``julianday`` difference × 86 400).
- :func:`local_hour` / :func:`local_day` ``(at, zone, start, end)``: the local clock hour
  (``YYYY-MM-DD HH``) or day (``YYYY-MM-DD``) holding ``at`` in the IANA ``zone``, as text, for
  grouping and counting distinct hours. PostgreSQL converts with ``AT TIME ZONE`` (the zone
  name rendered as a literal when the statement runs, so the expression in ``GROUP BY`` is the
  one in the select list, and cached SQL is shared by every zone). SQLite knows no zones: the
  zone's UTC offsets over ``[start, end)`` are worked out here (:func:`zone_offsets`, daylight
  saving changes included) and applied as a ``strftime`` modifier chosen by a ``CASE`` on
  ``at``. Values outside ``[start, end)`` get the nearest segment's offset, so callers filter
  on the same range. Half- and quarter-hour zones (Asia/Kolkata, Asia/Kathmandu) have hours of
  their own, which is why UTC hours will not do.
- :func:`nearest_rank` : the rank of the ``p``-th percentile among ``n`` sorted values,
  ⌈p·n⌉ in integer arithmetic, so both databases agree exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, String, bindparam, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from dialflow.db import UTCDateTime


class seconds_between(FunctionElement[float]):
    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def zone_offsets(zone: str, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The UTC offsets of ``zone`` over ``[start, end)``: ``[(from, seconds), ...]`` in order,
    the first from ``start``; a new entry at every change of offset (to the second)."""
    tz = ZoneInfo(zone)

    def offset(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    segments = [(start, offset(start))]
    probe = start
    while probe < end:
        step = min(probe + timedelta(days=1), end)
        if offset(step) == segments[-1][1]:
            probe = step
            continue
        # One change (at least) in (probe, step]: find its first second.
        low, high = int(probe.timestamp()), int(step.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if offset(datetime.fromtimestamp(middle, UTC)) == segments[-1][1]:
                low = middle
            else:
                high = middle
        change = datetime.fromtimestamp(high, UTC)
        segments.append((change, offset(change)))
        probe = change
    return segments


class _local_hour(FunctionElement[str]):
    type = String()
    inherit_cache = True
    name = "local_hour"


class _local_day(FunctionElement[str]):
    type = String()
    inherit_cache = True
    name = "local_day"


def local_hour(at: Any, zone: str, start: datetime, end: datetime) -> Any:
    """``YYYY-MM-DD HH``: the local clock hour of ``at`` in ``zone`` (see the module)."""
    return _local_hour(at, *_zone_arguments(at, zone, start, end))


def local_day(at: Any, zone: str, start: datetime, end: datetime) -> Any:
    """``YYYY-MM-DD``: the local day of ``at`` in ``zone`` (see the module)."""
    return _local_day(at, *_zone_arguments(at, zone, start, end))


def _zone_arguments(at: Any, zone: str, start: datetime, end: datetime) -> tuple[Any, Any]:
    """The zone's name for PostgreSQL and the offset modifier for SQLite."""
    ZoneInfo(zone)  # an IANA name, or the caller's error
    name = bindparam(None, zone, type_=String(), literal_execute=True)
    segments = zone_offsets(zone, start, end)
    modifiers = [f"{seconds:+d} seconds" for _, seconds in segments]
    if len(segments) == 1:
        return name, literal(modifiers[0], String())
    shift = case(
        *(
            (at < literal(until, UTCDateTime), literal(modifier, String()))
            for (until, _), modifier in zip(segments[1:], modifiers, strict=False)
        ),
        else_=literal(modifiers[-1], String()),
    )
    return name, shift


def _pg_local(element: FunctionElement[str], compiler: Any, pattern: str, **kw: Any) -> str:
    at, zone, _ = element.clauses
    return (
        f"to_char(({compiler.process(at, **kw)}) AT TIME ZONE {compiler.process(zone, **kw)},"
        f" '{pattern}')"
    )


@compiles(_local_hour, "postgresql")
def _local_hour_pg(element: _local_hour, compiler: Any, **kw: Any) -> str:
    return _pg_local(element, compiler, "YYYY-MM-DD HH24", **kw)


@compiles(_local_day, "postgresql")
def _local_day_pg(element: _local_day, compiler: Any, **kw: Any) -> str:
    return _pg_local(element, compiler, "YYYY-MM-DD", **kw)


@compiles(_local_hour, "sqlite")
def _local_hour_sqlite(element: _local_hour, compiler: Any, **kw: Any) -> str:
    at, _, shift = element.clauses
    at_sql, shift_sql = compiler.process(at, **kw), compiler.process(shift, **kw)
    return f"strftime('%Y-%m-%d %H', {at_sql}, {shift_sql})"


@compiles(_local_day, "sqlite")
def _local_day_sqlite(element: _local_day, compiler: Any, **kw: Any) -> str:
    at, _, shift = element.clauses
    return f"date({compiler.process(at, **kw)}, {compiler.process(shift, **kw)})"


def nearest_rank(n: Any, percent: int) -> Any:
    """⌈percent/100 · n⌉ for a SQL integer ``n`` (integer division on both databases)."""
    return (n * percent + 99) // 100
