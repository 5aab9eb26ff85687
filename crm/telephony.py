"""Call events from a PBX or dialer: signature check, then one Call per PBX call id.

An event is ``{"event_id", "type": "call.started"|"call.answered"|"call.ended", "call_id",
"direction"?, "number"?, "agent"?, "at"?, "duration_s"?, "recording_url"?}``. ``call_id`` is
the PBX's id of the call and becomes the Call's ``external_id``; ``number`` (the customer's)
finds the customer by E.164; ``agent`` is a username. Events may arrive in any order and more
than once: each ``event_id`` is stored once and a repeated one returns the first result.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.calls import MAX_CALL_SECONDS
from crm.models import Call, CallDirection, Customer, CustomerPhone, TelephonyEvent, User
from crm.phones import normalize_phone
from crm.usernames import normalise_username
from crm.validation import FieldErrors, aware_datetime, choice, text
from dialflow.db import inserted_first, utcnow
from dialflow.errors import DialflowError, InvalidInput, Unauthorized

EVENT_TYPES = ("call.started", "call.answered", "call.ended")


class TelephonyDisabled(DialflowError):
    status = 503
    code = "telephony_disabled"


@dataclass(frozen=True)
class EventResult:
    event_id: str
    call_id: int | None
    duplicate: bool


def verify_signature(secret: str | None, body: bytes, header: str | None) -> None:
    """HMAC-SHA256 of the raw body, hex, optionally prefixed ``sha256=``."""
    if not secret:
        raise TelephonyDisabled("Telephony events are not enabled (TELEPHONY_SECRET is unset).")
    if not header or not header.strip():
        raise Unauthorized("Sign the body in X-Dialflow-Signature.", code="missing_signature")
    given = header.strip()
    if given.lower().startswith("sha256="):
        given = given[len("sha256=") :]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest refuses str with non-ASCII characters (a TypeError), and
    # a header may carry any Latin-1 text.
    given_bytes = given.lower().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode("ascii"), given_bytes):
        raise Unauthorized("The signature does not match the body.", code="invalid_signature")


def receive_event(
    session: Session, payload: Mapping[str, Any], *, region: str = "CN"
) -> EventResult:
    """Store the event and apply it to its call, once per ``event_id``."""
    event = _parse(payload, region)
    existing = _stored(session, event["event_id"])
    if existing is not None:
        return EventResult(existing.event_id, existing.call_id, duplicate=True)
    row = TelephonyEvent(
        event_id=event["event_id"], event_type=event["type"], payload=dict(payload)
    )
    if not inserted_first(session, row):  # the same event, applied concurrently
        first = _stored(session, event["event_id"])
        assert first is not None
        return EventResult(first.event_id, first.call_id, duplicate=True)
    call = _apply(session, event)
    row.call_id = call.id
    session.flush()
    return EventResult(row.event_id, call.id, duplicate=False)


def _stored(session: Session, event_id: str) -> TelephonyEvent | None:
    return session.scalar(select(TelephonyEvent).where(TelephonyEvent.event_id == event_id))


def _parse(payload: Mapping[str, Any], region: str) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise InvalidInput("The event must be a JSON object.", code="invalid_json")
    errors = FieldErrors()
    event: dict[str, Any] = {
        "event_id": text(payload, "event_id", errors, max_len=120, required=True),
        "call_id": text(payload, "call_id", errors, max_len=120, required=True),
        "type": text(payload, "type", errors, max_len=40, required=True),
        "direction": choice(payload, "direction", errors, CallDirection),
        "agent": text(payload, "agent", errors, max_len=64),
        "at": aware_datetime(payload, "at", errors),
        "recording_url": text(payload, "recording_url", errors, max_len=500),
        "number": None,
        "duration_s": None,
    }
    if event["type"] is not None and event["type"] not in EVENT_TYPES:
        errors.add("type", f"Unknown event type; use one of: {', '.join(EVENT_TYPES)}.")
    if payload.get("number"):
        event["number"] = errors.guard(
            "number", lambda: normalize_phone(str(payload["number"]), region, field="number")
        )
    if payload.get("duration_s") is not None:
        value = payload["duration_s"]
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_CALL_SECONDS
        ):
            errors.add("duration_s", f"Must be whole seconds between 0 and {MAX_CALL_SECONDS}.")
        else:
            event["duration_s"] = value
    url = event["recording_url"]
    if url and not url.startswith(("http://", "https://")):
        errors.add("recording_url", "A recording link must be an http(s) URL.")
    errors.raise_if_any("The telephony event is not valid.")
    return event


def _apply(session: Session, event: dict[str, Any]) -> Call:
    at: datetime = event["at"] or utcnow()
    call = session.scalar(select(Call).where(Call.external_id == event["call_id"]))
    if call is None:
        call = _new_call(session, event, at)
    if call.customer_id is None and event["number"]:
        call.customer_id = _customer_for(session, event["number"])
    if call.agent_id is None and event["agent"]:
        call.agent_id = _agent_id(session, event["agent"])
    call.number = call.number or event["number"]
    if event["direction"] is not None:
        call.direction = event["direction"]
    if event["type"] == "call.answered":
        call.answered_at = call.answered_at or at
    elif event["type"] == "call.ended":
        call.ended_at = at
        if event["duration_s"] is not None:
            call.duration_s = event["duration_s"]
        elif call.answered_at is not None:
            call.duration_s = max(0, int((at - call.answered_at).total_seconds()))
    if event["recording_url"]:
        call.recording_url = event["recording_url"]
    session.flush()
    if call.customer_id is not None:
        customer = session.get(Customer, call.customer_id)
        if customer is not None and (
            customer.last_contact_at is None or call.started_at > customer.last_contact_at
        ):
            customer.last_contact_at = call.started_at
    return call


def _new_call(session: Session, event: dict[str, Any], at: datetime) -> Call:
    """Insert the call in a savepoint: two first events of one call may race, and the unique
    ``external_id`` lets the loser pick up the winner's row."""
    started = at
    if event["type"] == "call.ended" and event["duration_s"]:
        started = at - timedelta(seconds=event["duration_s"])
    call = Call(
        external_id=event["call_id"],
        direction=event["direction"] or CallDirection.OUTBOUND,
        number=event["number"],
        started_at=started,
        customer_id=_customer_for(session, event["number"]) if event["number"] else None,
        agent_id=_agent_id(session, event["agent"]) if event["agent"] else None,
    )
    if not inserted_first(session, call):
        existing = session.scalar(select(Call).where(Call.external_id == event["call_id"]))
        if existing is None:
            raise RuntimeError(f"call {event['call_id']!r} collided, yet is not stored")
        return existing
    if call.customer_id is not None:
        audit.record(
            session,
            actor=None,
            action="log_call",
            entity_type="customer",
            entity_id=call.customer_id,
            after={"call_id": call.id, "event_id": event["event_id"]},
            source="telephony",
        )
    return call


def _customer_for(session: Session, e164: str) -> int | None:
    return session.scalar(
        select(Customer.id)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .where(CustomerPhone.e164 == e164, Customer.erased_at.is_(None))
    )


def _agent_id(session: Session, username: str) -> int | None:
    name = normalise_username(username)
    return session.scalar(select(User.id).where(User.username == name, User.active.is_(True)))
