"""Search conditions that indexes can serve at a million rows.

Substrings: ``column LIKE '%q%'`` plus, on PostgreSQL, a
condition on ``dialflow_grams(column)`` that the GIN indexes of revision 0007 answer.

``dialflow_grams`` lists every character and every pair of adjacent characters of a value.
A value containing ``q`` contains all of ``q``'s grams, so ``grams(column) @> grams(q)``
narrows the rows by index and ``LIKE`` keeps the exact ones. Pairs serve the two-character
Chinese names trigrams cannot (``王伟``); single characters serve one-character searches.
On other databases the grams condition compiles to true and ``LIKE`` alone decides.

``id_in(column, ids)``: ``column IN (subquery)`` that PostgreSQL runs subquery first (see
there); search values are written into the SQL (``searched``), so each search is planned for
its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Select, Text, and_, bindparam, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


def query_grams(q: str) -> list[str]:
    """The grams every value containing ``q`` has: its pairs, or ``q`` itself if one character."""
    if len(q) < 2:
        return [q]
    return sorted({q[i : i + 2] for i in range(len(q) - 1)})


class HasGrams(ColumnElement[bool]):
    """``dialflow_grams(column) @> :grams`` on PostgreSQL, true elsewhere."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("grams", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, q: str) -> None:
        self.column = column
        self.grams = bindparam(None, query_grams(q), type_=ARRAY(Text), literal_execute=True)


@compiles(HasGrams)
def _anywhere(element: HasGrams, compiler: Any, **kw: Any) -> str:
    return "1 = 1"


@compiles(HasGrams, "postgresql")
def _postgresql(element: HasGrams, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"dialflow_grams({column}) @> {compiler.process(element.grams, **kw)}"


def contains(columns: Sequence[Any], q: str) -> ColumnElement[bool]:
    """One of ``columns`` contains ``q`` (case-sensitive, ``%`` and ``_`` taken literally).

    Written ``(grams OR grams) AND (LIKE OR LIKE)`` (the same rows as ``LIKE OR LIKE``): the
    first half is exactly what the GIN bitmaps answer, so PostgreSQL checks only the cheap
    ``LIKE`` on the rows they return instead of computing ``dialflow_grams`` again for each.
    """
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return and_(
        or_(*(HasGrams(column, q) for column in columns)),
        or_(*(column.like(searched(pattern), escape="\\") for column in columns)),
    )


def searched(value: str) -> Any:
    """A search value written into the SQL rather than sent as a parameter.

    A prepared statement (psycopg prepares a query run five times) would get PostgreSQL's
    generic plan, made without the value: it cannot tell ``王`` (thousands of rows) from
    ``王伟`` (a few), and may walk a whole table. With the value in the text each search is
    planned for what it looks for.
    """
    return bindparam(None, value, type_=Text, literal_execute=True)


class IdIn(ColumnElement[bool]):
    """``column = ANY (ARRAY(subquery))`` on PostgreSQL, ``column IN (subquery)`` elsewhere."""

    type = Boolean()
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, ids: Select[Any]) -> None:
        self.column = column
        self.ids = ids.scalar_subquery()


@compiles(IdIn)
def _in_anywhere(element: IdIn, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.ids, **kw)}"


@compiles(IdIn, "postgresql")
def _in_postgresql(element: IdIn, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY (ARRAY{compiler.process(element.ids, **kw)})"


def id_in(column: Any, ids: Select[Any]) -> ColumnElement[bool]:
    """``column IN (ids)`` for a subquery that selects few rows out of many.

    PostgreSQL cannot estimate how many phones end in ``4481`` (it guesses 1% of them, 10,000
    of a million, when there are a few hundred) and then reads every customer the viewer may
    see to join them. As ``= ANY (ARRAY(subquery))`` the subquery runs once, first, and its
    ids are looked up by primary key.
    """
    return IdIn(column, ids)
