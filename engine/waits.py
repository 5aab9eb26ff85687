"""Keep ``event_waits`` in step with what each instance waits for, after every step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert

from engine.models import EventWait, ProcessInstance


def sync_event_waits(
    row: ProcessInstance,
    before: list[dict[str, Any]] | None,
    after: list[dict[str, Any]],
    *,
    fresh: bool,
) -> list[tuple[Any, Any]]:
    """The statements that rewrite the instance's wait rows when its waits changed (most
    steps change nothing); the caller runs them with the step's other writes."""
    writes: list[tuple[Any, Any]] = []
    if not fresh and before == after:
        return writes
    if not fresh:
        writes.append((delete(EventWait.__table__).where(EventWait.instance_id == row.id), None))
    if after:
        writes.append(
            (
                insert(EventWait.__table__).inline(),
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
        )
    return writes
