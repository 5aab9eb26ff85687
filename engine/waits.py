"""Keep ``event_waits`` in step with what each instance waits for, after every step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from engine.models import EventWait, ProcessInstance


def sync_event_waits(
    session: Session,
    row: ProcessInstance,
    before: list[dict[str, Any]] | None,
    after: list[dict[str, Any]],
    *,
    fresh: bool,
) -> None:
    """Rewrite the instance's wait rows when its waits changed (most steps change nothing)."""
    if not fresh and before == after:
        return
    if not fresh:
        session.execute(delete(EventWait).where(EventWait.instance_id == row.id))
    if after:
        session.execute(
            insert(EventWait),
            [
                {
                    "instance_id": row.id,
                    "kind": wait["kind"],
                    "name": wait.get("name"),
                    "business_key": row.business_key,
                    "due_at": datetime.fromisoformat(wait["due_at"])
                    if wait.get("due_at")
                    else None,
                }
                for wait in after
            ],
        )
