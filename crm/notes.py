"""Notes on a customer's timeline."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm import audit
from crm.customers import get_customer
from crm.models import Activity, ActivityKind, User
from dialflow.errors import InvalidInput

MAX_NOTE_LENGTH = 10_000


def add_note(
    session: Session,
    customer_id: int,
    body: str,
    *,
    actor: User | None,
    kind: ActivityKind = ActivityKind.NOTE,
    deal_id: int | None = None,
    scoped: bool = True,
) -> Activity:
    text = (body or "").strip() if isinstance(body, str) else ""
    if not text:
        raise InvalidInput(
            "A note needs some text.",
            details=[{"field": "text", "message": "This field is required."}],
        )
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"A note holds at most {MAX_NOTE_LENGTH} characters.",
            details=[{"field": "text", "message": "Too long."}],
        )
    customer = get_customer(session, customer_id, viewer=actor if scoped else None)
    note = Activity(
        customer_id=customer.id,
        deal_id=deal_id,
        kind=kind,
        body=text,
        author_id=actor.id if actor else None,
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="add_note",
        entity_type="customer",
        entity_id=customer.id,
        after={"activity_id": note.id, "kind": kind.value},
    )
    return note
