"""Keep ``event_waits`` in step with what each instance waits for, after every step.

A message wait carries the correlation value its catch takes (``correlation_property`` and
``correlation_key``, ``engine.wait_keys``) when the workflow knows it, so a message carrying
that value finds its instances by index (``engine.messages``).
"""

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
        rows = [_row(row, wait) for wait in after]
        writes.append((insert(EventWait.__table__).inline(), rows))
    return writes


def _row(row: ProcessInstance, wait: dict[str, Any]) -> dict[str, Any]:
    # one property and its value (``engine.wait_keys``), or none
    ((prop, key),) = (wait.get("correlation") or {None: None}).items()
    return {
        "instance_id": row.id,
        "kind": wait["kind"],
        "name": wait.get("name"),
        "business_key": row.business_key,
        "correlation_property": prop,
        "correlation_key": key,
        "due_at": datetime.fromisoformat(wait["due_at"]) if wait.get("due_at") else None,
    }
