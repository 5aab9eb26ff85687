"""Logging calls: the call log row, the customer's contact state and DNC, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from crm import audit, events
from crm.compliance import Window, require_callable
from crm.customers import get_customer
from crm.models import Call, CallDirection, Customer, Disposition, LeadStage, User
from crm.phones import mask_phone, normalize_phone
from crm.scoping import SEES_ALL, may_see_full_phone, visible_customers
from crm.validation import FieldErrors, aware_datetime, choice, text
from dialflow.db import inserted_first, utcnow
from dialflow.errors import Conflict

MAX_PAGE = 200

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
    return log_call_once(session, customer_id, data, actor=actor, region=region, scoped=scoped).call


@dataclass(frozen=True)
class LoggedCall:
    call: Call
    new: bool  # False: the call logged before under the same ``external_id``


def log_call_once(
    session: Session,
    customer_id: int,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    region: str = "CN",
    scoped: bool = True,
) -> LoggedCall:
    """``log_call``, saying whether the call is new or was logged before under its
    ``external_id`` (by an earlier request, or by one running at the same time)."""
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
        existing = _logged_before(session, external_id, customer_id, actor if scoped else None)
        if existing is not None:
            return LoggedCall(existing, new=False)
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
    if not _inserted(session, call):  # the same external_id, logged meanwhile
        existing = _logged_before(session, external_id, customer_id, actor if scoped else None)
        if existing is None:
            raise RuntimeError(f"call {external_id!r} collided, yet is not stored")
        return LoggedCall(existing, new=False)
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
    events.publish(session, "call_logged", {"call": call})
    return LoggedCall(call, new=True)


def _logged_before(
    session: Session, external_id: str | None, customer_id: int, viewer: User | None
) -> Call | None:
    """The call stored under ``external_id``; 409 if it was logged on another customer."""
    existing = session.scalar(select(Call).where(Call.external_id == external_id))
    if existing is None:
        return None
    if existing.customer_id != customer_id:
        raise Conflict(
            f"Call {external_id!r} was already logged on another customer.",
            code="duplicate_external_id",
        )
    get_customer(session, customer_id, viewer=viewer)
    return existing


def _inserted(session: Session, call: Call) -> bool:
    """Insert ``call``; False if another transaction stored its ``external_id`` first (the
    other request then answers with that call instead of failing)."""
    if call.external_id is None:
        session.add(call)
        return True
    return inserted_first(session, call)


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
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        errors.add("duration_s", "Must be a whole number of seconds.")
        return 0
    if not 0 <= seconds <= MAX_CALL_SECONDS:
        errors.add("duration_s", f"Must be between 0 and {MAX_CALL_SECONDS} seconds.")
        return 0
    return seconds


def start_outbound_call(
    session: Session,
    customer_id: int,
    *,
    actor: User,
    window: Window,
    daily_cap: int,
    now: datetime,
    region: str = "CN",
    scoped: bool = True,
) -> Call:
    """Click-to-call: log an outbound call now; the disposition comes later, in the agent's task.

    Behind the same compliance gate as every other dial path (``compliance.require_callable``:
    do-not-call, consent, the customer's local calling window, the daily attempt cap): a
    refusal is a 409 with the reason as its code, and no call is logged. ``scoped=False``
    skips the actor's row scope (someone dialing the customer through a task of theirs).
    """
    customer = get_customer(session, customer_id, viewer=actor if scoped else None)
    require_callable(session, customer, now, window, daily_cap)
    if customer.primary_phone is None:
        raise Conflict("This customer has no phone number.", code="no_phone")
    return log_call(
        session,
        customer.id,
        {"direction": "outbound", "started_at": now},
        actor=actor,
        region=region,
        scoped=scoped,
    )


def list_calls(
    session: Session,
    *,
    viewer: User | None,
    customer_id: int | None = None,
    agent_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Call, Customer | None]], int]:
    """Calls ``viewer`` may see, newest first: those of customers they may see, and calls not
    matched to any customer that they made themselves (all of them for directors and admins)."""
    query = select(Call, Customer).outerjoin(Customer, Customer.id == Call.customer_id)
    if viewer is not None:
        unmatched = Call.customer_id.is_(None)
        if viewer.role not in SEES_ALL:
            unmatched = and_(unmatched, Call.agent_id == viewer.id)
        query = query.where(
            or_(and_(Customer.erased_at.is_(None), visible_customers(viewer)), unmatched)
        )
    if customer_id is not None:
        query = query.where(Call.customer_id == customer_id)
    if agent_id is not None:
        query = query.where(Call.agent_id == agent_id)
    if since is not None:
        query = query.where(Call.started_at >= since)
    if until is not None:
        query = query.where(Call.started_at < until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Call.started_at.desc(), Call.id.desc())
        .limit(max(1, min(limit, MAX_PAGE)))
        .offset(max(0, offset))
    ).all()
    return [(call, customer) for call, customer in rows], total


def call_to_dict(call: Call, *, reveal_phone: bool = True) -> dict[str, Any]:
    number = call.number
    return {
        "id": call.id,
        "customer_id": call.customer_id,
        "agent_id": call.agent_id,
        "direction": call.direction.value,
        "number": number if reveal_phone or number is None else mask_phone(number),
        "started_at": _utc_iso(call.started_at),
        "answered_at": _utc_iso(call.answered_at),
        "ended_at": _utc_iso(call.ended_at),
        "duration_s": call.duration_s,
        "disposition": call.disposition.value if call.disposition else None,
        "notes": call.notes,
        "recording_url": call.recording_url,
        "external_id": call.external_id,
    }


def may_see_call_number(viewer: User, call: Call, customer: Customer | None) -> bool:
    if customer is not None:
        return may_see_full_phone(viewer, customer)
    return viewer.role in SEES_ALL or call.agent_id == viewer.id


def _utc_iso(value: datetime | None) -> str | None:
    """Stored times come back in UTC; a call still in memory may carry the caller's offset."""
    return value.astimezone(UTC).isoformat() if value is not None else None
