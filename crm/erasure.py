"""Erasure of a customer's personal data on request (个人信息保护法, PIPL art. 47).

The customer row stays (deals, call counts and the audit trail keep their meaning) but every
personal field is blanked, phone numbers and contacts are deleted, the text of calls and notes
is scrubbed and ``erased_at`` is set; erased customers are then invisible everywhere. The
audit log is append-only and keeps its past entries (retention required by law; PIPL art. 47
allows storage with no further processing); the erasure entry itself holds no personal data.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm import audit
from crm.models import Activity, Call, Customer, Deal, DealStageChange, Role, User
from crm.phones import display_phone, national_number
from crm.scoping import visible_customers
from dialflow.db import utcnow
from dialflow.errors import Forbidden, NotFound

ERASED_NAME = "[erased]"
ERASED_TEXT = "[erased]"
ERASERS = frozenset({Role.ADMIN})


def personal_texts(customer: Customer) -> set[str]:
    """The customer's personal data as texts other records may hold copies of: name,
    company, email, address, notes, each phone number (E.164 and the national number people
    type) and each contact's name, phone and email. Read before ``erase_customer`` blanks
    them; empty when the customer is erased already."""
    if customer.erased_at is not None:
        return set()
    texts = {
        customer.name,
        customer.company,
        customer.email,
        customer.address,
        customer.notes,
    }
    numbers = [phone.e164 for phone in customer.phones]
    for contact in customer.contacts:
        texts.update((contact.name, contact.email))
        numbers.append(contact.phone_e164)
    for number in numbers:
        if number:
            texts.add(number)
            texts.update((national_number(number), display_phone(number)))
    return {text.strip() for text in texts if isinstance(text, str) and text.strip()}


def erase_customer(session: Session, customer_id: int, *, actor: User) -> Customer:
    """Erase once; erasing an erased customer returns it unchanged (idempotent).

    Only administrators may erase. Others get 404 for customers they cannot see (ids do not
    reveal what exists) and 403 for those they can.
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"No customer #{customer_id}.", code="customer_not_found")
    if actor.role not in ERASERS:
        visible = session.scalar(
            select(Customer.id).where(
                Customer.id == customer_id,
                Customer.erased_at.is_(None),
                visible_customers(actor),
            )
        )
        if visible is None:
            raise NotFound(f"No customer #{customer_id}.", code="customer_not_found")
        raise Forbidden("Only administrators may erase a customer's personal data.")
    if customer.erased_at is not None:
        return customer

    customer.name = ERASED_NAME
    for field in ("company", "email", "address", "region", "source", "notes"):
        setattr(customer, field, None)
    customer.phones = []
    customer.contacts = []
    customer.tag_rows = []
    customer.consent = False
    customer.do_not_call = True  # never dialled again, even if the number comes back
    customer.dnc_reason = "erased"
    customer.erased_at = utcnow()
    session.execute(
        update(Call)
        .where(Call.customer_id == customer.id)
        .values(notes=None, number=None, recording_url=None)
    )
    session.execute(
        update(Activity).where(Activity.customer_id == customer.id).values(body=ERASED_TEXT)
    )
    session.execute(
        update(DealStageChange)
        .where(
            DealStageChange.deal_id.in_(select(Deal.id).where(Deal.customer_id == customer.id)),
            DealStageChange.comment.isnot(None),
        )
        .values(comment=ERASED_TEXT)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="erase",
        entity_type="customer",
        entity_id=customer.id,
        after={"erased_at": customer.erased_at.isoformat()},
    )
    return customer
