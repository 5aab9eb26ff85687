"""Sign-in throttling: at most 5 failed attempts per username and address per 15 minutes.

Failures are audit entries (``action = "sign_in_failed"``), so the count is shared by every
web process and survives restarts without a table or Redis of its own. The entry's
``entity_id`` is a hash of username and address: the lookup uses the audit log's
``(entity_type, entity_id, at)`` index. Entries are append-only, so the window slides: the
oldest failure leaving the window frees one attempt.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.models import AuditEntry
from crm.usernames import normalise_username
from dialflow.errors import DialflowError

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
ENTITY = "sign_in"
ACTION = "sign_in_failed"


class TooManySignInAttempts(DialflowError):
    status = 429
    code = "too_many_sign_in_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {minutes} minutes.",
            details=[{"retry_after": retry_after}],
        )
        self.retry_after = retry_after


def attempt_key(username: str, address: str | None) -> str:
    # The name as sign-in looks it up: ``ａｄｍｉｎ`` is ``admin``'s count, not a fresh one.
    raw = f"{normalise_username(username).lower()}\0{address or '-'}"
    return hashlib.sha256(raw.encode()).hexdigest()


def seconds_locked(session: Session, username: str, address: str | None, now: datetime) -> int:
    """0 when another attempt is allowed, else the seconds until one is."""
    recent = (
        select(AuditEntry.at)
        .where(
            AuditEntry.entity_type == ENTITY,
            AuditEntry.entity_id == attempt_key(username, address),
            AuditEntry.at > now - WINDOW,
        )
        .order_by(AuditEntry.at.desc())
        .limit(MAX_FAILURES)
        .subquery()
    )
    count, oldest = session.execute(select(func.count(), func.min(recent.c.at))).one()
    if count < MAX_FAILURES or oldest is None:
        return 0
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))


def check(session: Session, username: str, address: str | None, now: datetime) -> None:
    """Raise ``TooManySignInAttempts`` (429) before the password is even looked at."""
    wait = seconds_locked(session, username, address, now)
    if wait:
        raise TooManySignInAttempts(wait)


def record_failure(
    session: Session, username: str, address: str | None, now: datetime, *, source: str
) -> None:
    entry = audit.record(
        session,
        actor=None,
        action=ACTION,
        entity_type=ENTITY,
        entity_id=attempt_key(username, address),
        after={"username": (username or "")[:64], "address": address},
        source=source,
    )
    entry.at = now
