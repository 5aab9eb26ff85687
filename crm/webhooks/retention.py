"""Retention of the delivery log: finished deliveries older than the kept days are deleted.

Delivered ones and ones that gave up (``failed``) are deleted once their event is older than
``DIALFLOW_WEBHOOK_RETENTION_DAYS`` (``created_at``, index ``(status, created_at)`` of
revision 0011); pending and sending ones never are, however old: they are still to be sent.
Each batch is its own short transaction, so a large backlog neither holds locks for long nor
keeps the sender from sending; what a pass leaves is deleted by the next.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.models import DeliveryStatus, WebhookDelivery
from dialflow.db import Database

FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
BATCH = 1000
MOST_BATCHES = 10


def delete_batch(session: Session, cutoff: datetime, batch: int = BATCH) -> int:
    """Delete up to ``batch`` finished deliveries created before ``cutoff``; how many."""
    old = (WebhookDelivery.status.in_(FINISHED), WebhookDelivery.created_at < cutoff)
    ids = select(WebhookDelivery.id).where(*old).limit(batch).scalar_subquery()
    # The conditions again on the deleted rows: on PostgreSQL a row redelivered (back to
    # pending) since the sub-select read it is re-checked, and kept.
    result: Any = session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), *old)
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)


def purge_finished(
    db: Database,
    now: datetime,
    *,
    keep_days: int,
    batch: int = BATCH,
    most_batches: int = MOST_BATCHES,
) -> tuple[int, bool]:
    """Delete expired finished deliveries in batches: how many, and whether more are left
    (the last batch was full). ``keep_days`` 0 keeps them forever."""
    if keep_days <= 0:
        return 0, False
    cutoff = now - timedelta(days=keep_days)
    deleted = 0
    for _ in range(most_batches):
        with db.unit_of_work() as session:
            count = delete_batch(session, cutoff, batch)
        deleted += count
        if count < batch:
            return deleted, False
    return deleted, True
