"""Writing the audit log. Every change, view and export of personal data comes through here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from crm.models import AuditEntry, User
from dialflow.db import Batch, utcnow


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    source: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the change)."""
    entry = AuditEntry(
        **entry_values(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            source=source,
        )
    )
    session.add(entry)
    return entry


def entry_values(
    *,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """The column values of one entry, for :func:`append` (same arguments as :func:`record`)."""
    return {
        "actor_id": actor.id if actor is not None else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": before,
        "after": after,
        "source": source,
    }


def append(connection: Connection | Batch, entries: list[dict[str, Any]]) -> None:
    """Insert entries from :func:`entry_values` with one statement, without the ORM; for hot
    paths that batch their writes (the engine's steps). Same transaction as the caller's."""
    if entries:
        at = utcnow()
        connection.execute(_INSERT, [{"at": at, **entry} for entry in entries])


_INSERT = insert(AuditEntry.__table__).inline()


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose values differ, so entries show what actually changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}
