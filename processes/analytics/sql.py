"""The SQL the reports need that SQLite and PostgreSQL spell differently.

- :class:`seconds_between` ``(start, end)``: seconds from ``start`` to ``end`` as a float
  (PostgreSQL ``EXTRACT(EPOCH FROM end - start)``, SQLite ``julianday`` difference × 86 400).
- :class:`utc_hour` ``(at)``: the UTC clock hour holding ``at`` (for counting distinct hours);
  whole-hour time zones have the same hours, so no zone is needed.
- :func:`nearest_rank` : the rank of the ``p``-th percentile among ``n`` sorted values,
  ⌈p·n⌉ in integer arithmetic, so both databases agree exactly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


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


class utc_hour(FunctionElement[str]):
    type = String()
    inherit_cache = True
    name = "utc_hour"


@compiles(utc_hour, "postgresql")
def _hour_pg(element: utc_hour, compiler: Any, **kw: Any) -> str:
    (at,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"date_trunc('hour', {at} AT TIME ZONE 'UTC')"


@compiles(utc_hour, "sqlite")
def _hour_sqlite(element: utc_hour, compiler: Any, **kw: Any) -> str:
    (at,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m-%d %H', {at})"


def nearest_rank(n: Any, percent: int) -> Any:
    """⌈percent/100 · n⌉ for a SQL integer ``n`` (integer division on both databases)."""
    return (n * percent + 99) // 100
