"""Fast bulk inserts for seeding and imports: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session

from dialflow.db import settle


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert plain dict rows into ``table`` inside the session's transaction.

    Values must already be database-ready (enum values as strings, aware datetimes).
    """
    if not rows:
        return
    columns = list(rows[0].keys())
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        settle(session)  # a step's pipelined writes first: COPY cannot run in pipeline mode
        raw = connection.connection.driver_connection
        column_list = ", ".join(f'"{c}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        session.execute(table.insert(), list(rows))


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` primary keys that no concurrent writer will take, for rows inserted by COPY."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sequence = session.scalar(text(f"SELECT pg_get_serial_sequence('{table.name}', 'id')"))
        result = session.execute(
            text("SELECT nextval(:seq) FROM generate_series(1, :n)"), {"seq": sequence, "n": count}
        )
        return [row[0] for row in result]
    # SQLite: the unit of work began IMMEDIATE, so nobody else writes until we commit.
    start = (session.scalar(text(f'SELECT COALESCE(MAX(id), 0) FROM "{table.name}"')) or 0) + 1
    return list(range(start, start + count))
