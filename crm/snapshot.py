"""A compact customer view for the task page: who, how to reach them, what happened lately.

Four small indexed queries (customer with phones and owner, last calls, last notes, open
deals). Phone visibility is decided here with ``scoping.may_see_full_phone``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm.models import Activity, ActivityKind, Call, Customer, Deal, User
from crm.phones import display_phone, mask_phone
from crm.scoping import may_see_customer, may_see_full_phone

RECENT = 5


@dataclass
class CustomerSnapshot:
    customer: Customer
    owner_name: str | None
    phone: str | None  # as displayed: full or masked
    dial: str | None  # E.164 for a tel: link; None when masked or do-not-call
    calls: list[Call]
    notes: list[Activity]
    open_deals: list[Deal]
    visible: bool  # the viewer may open the full customer record


def customer_snapshot(
    session: Session,
    customer_id: int,
    *,
    viewer: User,
    region: str = "CN",
    dialing: bool = False,
) -> CustomerSnapshot | None:
    """None when the customer does not exist or was erased.

    No row-level scope here: callers show it beside a task the viewer may work on, which is
    the reason to see that customer; the phone number still follows the masking rule, where
    ``dialing`` (the viewer holds the open task) reveals it.
    """
    customer = session.scalar(
        select(Customer)
        .where(Customer.id == customer_id, Customer.erased_at.is_(None))
        .options(selectinload(Customer.phones), selectinload(Customer.owner))
    )
    if customer is None:
        return None
    number = customer.primary_phone
    full = number is not None and may_see_full_phone(viewer, customer, dialing=dialing)
    shown = (
        None if number is None else (display_phone(number, region) if full else mask_phone(number))
    )
    calls = session.scalars(
        select(Call)
        .where(Call.customer_id == customer.id)
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(RECENT)
    ).all()
    notes = session.scalars(
        select(Activity)
        .where(Activity.customer_id == customer.id, Activity.kind == ActivityKind.NOTE)
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .limit(RECENT)
    ).all()
    deals = session.scalars(
        select(Deal)
        .where(Deal.customer_id == customer.id, Deal.closed_at.is_(None))
        .order_by(Deal.created_at.desc())
        .limit(3)
    ).all()
    return CustomerSnapshot(
        customer=customer,
        owner_name=customer.owner.display_name if customer.owner else None,
        phone=shown,
        dial=number if full and not customer.do_not_call else None,
        calls=list(calls),
        notes=list(notes),
        open_deals=list(deals),
        visible=may_see_customer(viewer, customer),
    )
