"""Firing due timers: find due instances by their indexed ``next_due_at``, claim, fire.

A pass costs O(due instances): ``next_due_at`` holds each instance's earliest timer and is
indexed. On PostgreSQL, claims use ``FOR UPDATE SKIP LOCKED``, so two schedulers or workers
never take the same instance; the instance lock in the step itself is the final guard.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from dialflow.db import Database, log_failure
from engine import stepper
from engine.instances import retry
from engine.models import (
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    ReceivedMessage,
    SignalBroadcast,
)
from engine.service import ProcessEngine

log = logging.getLogger(__name__)
CLAIM_FOR = timedelta(seconds=30)
FIREABLE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
# An instance in error still fires the timers of its other branches, and its automatic retry.
CLAIMABLE = (*FIREABLE, InstanceStatus.ERROR)


def claim_due(
    session: Session, now: datetime, limit: int = 500, claim_for: timedelta = CLAIM_FOR
) -> list[int]:
    """Mark up to ``limit`` due, unclaimed instances as claimed for ``claim_for``; returns
    their ids. Due means now or past: a timer fires at its due instant (``timekeeping`` makes
    SpiffWorkflow's own check agree, so a claim at that instant fires and is not claimed
    again)."""
    due = (
        select(ProcessInstance.id)
        .where(
            ProcessInstance.next_due_at <= now,
            ProcessInstance.status.in_(CLAIMABLE),
            (ProcessInstance.fire_claimed_until.is_(None))
            | (ProcessInstance.fire_claimed_until < now),
        )
        .order_by(ProcessInstance.next_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    if ids:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id.in_(ids))
            # A claim is no change of the instance: its onupdate stamp is kept, so a pass
            # that dies before firing leaves the row as the last step wrote it.
            .values(fire_claimed_until=now + claim_for, updated_at=ProcessInstance.updated_at)
            .execution_options(synchronize_session=False)
        )
    return ids


def fire(engine: ProcessEngine, session: Session, instance_id: int) -> bool:
    """Fire the due timers of one instance; False when it is no longer due or is busy."""
    row = session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    now = engine.clock.now()
    if row is None or row.status not in CLAIMABLE:
        return False
    row.fire_claimed_until = None
    if row.next_due_at is None or row.next_due_at > now:
        return False
    retry_at = stepper.pending_retry_at(row)
    if retry_at is not None and retry_at <= now:  # the retry the diagram asked for is due
        retry(engine, session, row.id, actor=None, locked=row)
        return True
    step = stepper.load(engine, session, row, actor=None)
    step.allow_async = True  # also continues tasks marked async in the background
    stepper.run(engine, session, step, lambda workflow: workflow.refresh_timers())
    return True


def fire_batch(engine: ProcessEngine, database: Database, instance_ids: list[int]) -> int:
    """Fire each instance in its own transaction, so one failure never holds back the rest."""
    fired = 0
    for instance_id in instance_ids:
        try:
            with database.unit_of_work() as session:
                fired += fire(engine, session, instance_id)
        except Exception as exc:
            what = f"timer of instance {instance_id} failed; it will be claimed again"
            log_failure(log, what, exc)
    return fired


def fire_due(engine: ProcessEngine, database: Database, limit: int = 500) -> int:
    """One embedded pass: claim what is due and fire it here."""
    with database.unit_of_work() as session:
        ids = claim_due(session, engine.clock.now(), limit)
    return fire_batch(engine, database, ids) if ids else 0


def pending_work(session: Session, now: datetime) -> tuple[bool, bool, bool]:
    """(timer starts due, thrown messages queued, signal broadcasts pending), in one
    read-only query on three small indexes, so that passes with none take no write
    transaction for them."""
    starts = exists().where(ProcessVersion.next_start_at <= now)
    messages = exists().where(ReceivedMessage.status == "queued")
    signals = exists().where(SignalBroadcast.status == "pending")
    row = session.execute(select(starts, messages, signals)).one()
    return bool(row[0]), bool(row[1]), bool(row[2])
