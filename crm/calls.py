"""Logging calls: the call log row, the customer's contact state and DNC, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.customers import get_customer
from crm.models import Call, CallDirection, Disposition, LeadStage, User
from crm.phones import normalize_phone
from crm.validation import FieldErrors, aware_datetime, choice, text
from dialflow.db import utcnow
from dialflow.errors import Conflict

MAX_CALL_SECONDS = 24 * 3600


def log_call(
    session: Session,
    customer_id: int,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    region: str = "CN",
    scoped: bool = True,
) -> Call:
    """Record a call. A repeated ``external_id`` returns the call already logged (idempotent)."""
    errors = FieldErrors()
    disposition = choice(data, "disposition", errors, Disposition)
    direction = choice(data, "direction", errors, CallDirection) or CallDirection.OUTBOUND
    notes = text(data, "notes", errors, max_len=10_000)
    recording_url = text(data, "recording_url", errors, max_len=500)
    external_id = text(data, "external_id", errors, max_len=120)
    started_at = aware_datetime(data, "started_at", errors)
    duration = _duration(data.get("duration_s", 0), errors)
    if recording_url and not recording_url.startswith(("http://", "https://")):
        errors.add("recording_url", "A recording link must be an http(s) URL.")
    number = None
    if data.get("number"):
        number = errors.guard(
            "number", lambda: normalize_phone(str(data["number"]), region, field="number")
        )
    errors.raise_if_any("The call could not be logged.")

    if external_id:
        existing = session.scalar(select(Call).where(Call.external_id == external_id))
        if existing is not None:
            if existing.customer_id != customer_id:
                raise Conflict(
                    f"Call {external_id!r} was already logged on another customer.",
                    code="duplicate_external_id",
                )
            get_customer(session, customer_id, viewer=actor if scoped else None)
            return existing
    customer = get_customer(session, customer_id, viewer=actor if scoped else None)
    started_at = started_at or utcnow()
    call = Call(
        customer_id=customer.id,
        agent_id=actor.id if actor else None,
        direction=direction,
        number=number or customer.primary_phone,
        started_at=started_at,
        ended_at=started_at + timedelta(seconds=duration) if duration else None,
        answered_at=started_at if disposition and disposition.connected else None,
        duration_s=duration,
        disposition=disposition,
        notes=notes,
        recording_url=recording_url,
        external_id=external_id,
    )
    session.add(call)
    _update_contact_state(customer, call, started_at)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="log_call",
        entity_type="customer",
        entity_id=customer.id,
        after={
            "call_id": call.id,
            "disposition": disposition.value if disposition else None,
            "duration_s": duration,
        },
    )
    return call


def _update_contact_state(customer: Any, call: Call, at: datetime) -> None:
    if customer.last_contact_at is None or at > customer.last_contact_at:
        customer.last_contact_at = at
    if call.disposition and call.disposition.connected and customer.stage == LeadStage.NEW:
        customer.stage = LeadStage.CONTACTED
    if call.disposition == Disposition.DO_NOT_CALL:
        customer.do_not_call = True
        customer.dnc_reason = customer.dnc_reason or "requested on call"


def _duration(value: Any, errors: FieldErrors) -> int:
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        errors.add("duration_s", "Must be a whole number of seconds.")
        return 0
    if not 0 <= seconds <= MAX_CALL_SECONDS:
        errors.add("duration_s", f"Must be between 0 and {MAX_CALL_SECONDS} seconds.")
        return 0
    return seconds
