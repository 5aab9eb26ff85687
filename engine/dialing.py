"""“Dialing them”: the assignee of an open task about a customer may call that customer.

A manager may hand a customer's call task to an agent who does not own the customer. While
that agent holds the open task, they see the full number (``crm.scoping``'s masking rule
takes ``dialing``) and may log the outbound call; the task is the reason, so the right ends
when the task is completed, cancelled or reassigned.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.calls import start_outbound_call
from crm.compliance import Window
from crm.customers import get_customer
from crm.models import Call, Customer, User
from crm.scoping import may_see_customer, may_see_full_phone
from crm.timeline import business_keys
from engine.models import WorkItem, WorkItemStatus


def is_dialing(session: Session, user: User, customer_id: int) -> bool:
    """True while ``user`` is the assignee of an open work item about the customer."""
    found = session.scalar(
        select(WorkItem.id)
        .where(
            WorkItem.business_key.in_(business_keys(customer_id)),
            WorkItem.status == WorkItemStatus.OPEN,
            WorkItem.assignee_id == user.id,
        )
        .limit(1)
    )
    return found is not None


def may_see_number(session: Session, user: User, customer: Customer) -> bool:
    """Whether ``user`` reads the customer's full number where the record shows it (the
    customer page, ``GET``/``PATCH /api/v1/customers/{id}``): ``may_see_full_phone``, or
    dialing them."""
    return may_see_full_phone(user, customer) or is_dialing(session, user, customer.id)


def start_call(
    session: Session,
    customer_id: int,
    *,
    actor: User,
    window: Window,
    daily_cap: int,
    now: datetime,
    region: str = "CN",
) -> Call:
    """Click-to-call: for customers the actor may see, ``crm.calls.start_outbound_call``; for
    a customer they are dialing through an open task, the same checks without the row scope
    (the compliance gate: window, daily cap, do-not-call, consent). Anyone else gets
    ``customer_not_found``."""
    customer = get_customer(session, customer_id)
    scoped = may_see_customer(actor, customer) or not is_dialing(session, actor, customer_id)
    return start_outbound_call(
        session,
        customer_id,
        actor=actor,
        window=window,
        daily_cap=daily_cap,
        now=now,
        region=region,
        scoped=scoped,
    )
