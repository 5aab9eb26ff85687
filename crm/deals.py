"""Deals (opportunities): create, move between stages with history, and serialize."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit, events
from crm.customers import get_customer
from crm.models import Customer, Deal, DealStage, DealStageChange, LeadStage, User
from crm.validation import FieldErrors, choice, decimal, text
from dialflow.db import utcnow
from dialflow.errors import NotFound

MAX_AMOUNT = Decimal("1000000000")


def create_deal(
    session: Session,
    customer_id: int,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    scoped: bool = True,
) -> Deal:
    errors = FieldErrors()
    title = text(data, "title", errors, max_len=200, required=True)
    amount = decimal(data, "amount", errors, minimum=Decimal(0), maximum=MAX_AMOUNT)
    discount = decimal(data, "discount_pct", errors, minimum=Decimal(0), maximum=Decimal(100))
    currency = text(data, "currency", errors, max_len=3) or "CNY"
    errors.raise_if_any("The deal is not valid.")
    customer = get_customer(session, customer_id, viewer=actor if scoped else None)
    deal = Deal(
        customer_id=customer.id,
        title=title,
        amount=amount or Decimal(0),
        discount_pct=discount or Decimal(0),
        currency=currency.upper(),
        owner_id=customer.owner_id or (actor.id if actor else None),
        team_id=customer.team_id,
        stage=DealStage.QUALIFICATION,
    )
    session.add(deal)
    deal.stage_changes.append(
        DealStageChange(
            from_stage=None,
            to_stage=DealStage.QUALIFICATION,
            changed_by_id=actor.id if actor else None,
        )
    )
    if customer.stage in (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.INTERESTED):
        customer.stage = LeadStage.OPPORTUNITY
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="deal",
        entity_id=deal.id,
        after=deal_to_dict(deal),
    )
    return deal


def get_deal(session: Session, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound(f"No deal #{deal_id}.", code="deal_not_found")
    return deal


def set_deal_stage(
    session: Session, deal_id: int, stage: str, *, actor: User | None, comment: str | None = None
) -> Deal:
    """Move a deal; a closed deal's customer becomes a customer (won) or stays a lead (lost)."""
    errors = FieldErrors()
    new_stage = choice({"stage": stage}, "stage", errors, DealStage)
    if new_stage is None and not errors.details:
        errors.add("stage", "A stage is required.")
    errors.raise_if_any("Unknown deal stage.", code="invalid_stage")
    assert new_stage is not None
    deal = get_deal(session, deal_id)
    if deal.stage == new_stage:
        return deal
    previous = deal.stage
    deal.stage = new_stage
    deal.closed_at = utcnow() if new_stage.is_closed else None
    deal.stage_changes.append(
        DealStageChange(
            from_stage=previous,
            to_stage=new_stage,
            changed_by_id=actor.id if actor else None,
            comment=comment,
        )
    )
    if new_stage == DealStage.WON:
        customer = session.get(Customer, deal.customer_id)
        if customer is not None:
            customer.stage = LeadStage.CUSTOMER
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="set_stage",
        entity_type="deal",
        entity_id=deal.id,
        before={"stage": previous.value},
        after={"stage": new_stage.value},
    )
    if new_stage == DealStage.WON:
        events.publish(
            session,
            "deal_won",
            {"deal_id": deal.id, "customer_id": deal.customer_id, "at": deal.closed_at},
        )
    return deal


def deals_of_customer(session: Session, customer_id: int) -> list[Deal]:
    return list(
        session.scalars(
            select(Deal).where(Deal.customer_id == customer_id).order_by(Deal.created_at.desc())
        )
    )


def deal_to_dict(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.id,
        "customer_id": deal.customer_id,
        "title": deal.title,
        "stage": deal.stage.value,
        "amount": str(deal.amount),
        "currency": deal.currency,
        "discount_pct": str(deal.discount_pct),
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else None,
        "owner_id": deal.owner_id,
    }
