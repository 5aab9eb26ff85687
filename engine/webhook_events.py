"""The engine's webhook events, written to the outbox in the step's own transaction.

Completions (of a task, of an instance) happen on the engine's hot path, so their outbox
statement joins the step's batched writes (``Step.writes``: no round trip of its own, and no
row at all when no subscription wants the event). An incident is rare: it is written after the
step's save, once the incident has its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.models import User
from crm.webhooks import outbox
from engine.models import Incident, InstanceStatus, ProcessInstance, WorkItem

MAX_MESSAGE = 500


def task_completed(
    session: Session, item: WorkItem, row: ProcessInstance, actor: User, now: datetime
) -> tuple[Any, dict[str, Any]]:
    data = {
        "task_id": item.id,
        "instance_id": row.id,
        "process_id": row.process_id,
        "element_id": item.element_id,
        "business_key": row.business_key,
        "completed_by_id": actor.id,
    }
    return outbox.batched_write(session, "task.completed", data, occurred_at=now)


def step_events(
    session: Session, row: ProcessInstance, status_before: InstanceStatus | None, now: datetime
) -> list[tuple[Any, dict[str, Any]]]:
    """The writes for what this step did to the instance (it reached its end)."""
    if row.status != InstanceStatus.COMPLETED or status_before == InstanceStatus.COMPLETED:
        return []
    data = {
        "instance_id": row.id,
        "process_id": row.process_id,
        "business_key": row.business_key,
        "ended_at": row.ended_at or now,
    }
    return [outbox.batched_write(session, "process_instance.completed", data, occurred_at=now)]


def incident_opened(session: Session, row: ProcessInstance, incident: Incident) -> None:
    outbox.enqueue(
        session,
        "process_instance.incident",
        {
            "incident_id": incident.id,
            "instance_id": row.id,
            "process_id": row.process_id,
            "business_key": row.business_key,
            "element_id": incident.element_id,
            "kind": incident.kind,
            "message": (incident.message or "")[:MAX_MESSAGE],
            "attempts": incident.attempts,
            "retry_at": incident.retry_at,
        },
        occurred_at=incident.created_at,
    )
