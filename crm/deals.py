"""Deals (opportunities): create, move between stages with history, and serialize."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crm import audit, events
from crm.customers import get_customer
from crm.models import Customer, Deal, DealStage, DealStageChange, LeadStage, User
from crm.scoping import visible_customers
from crm.validation import FieldErrors, choice, decimal, iso_date, text
from dialflow.db import utcnow
from dialflow.errors import InvalidInput, NotFound

MAX_AMOUNT = Decimal("1000000000")
MAX_PAGE = 200
CENT = Decimal("0.01")


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
    currency = _currency(data, errors) or "CNY"
    expected_close = iso_date(data, "expected_close", errors)
    errors.raise_if_any("The deal is not valid.")
    customer = get_customer(session, customer_id, viewer=actor if scoped else None)
    deal = Deal(
        customer_id=customer.id,
        title=title,
        amount=cents(amount or Decimal(0)),
        discount_pct=cents(discount or Decimal(0)),
        currency=currency,
        expected_close=expected_close,
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


def get_deal(session: Session, deal_id: int, *, viewer: User | None = None) -> Deal:
    """The deal; with ``viewer``, only if its customer is visible to them and not erased
    (otherwise not found, so that ids do not reveal what exists)."""
    if viewer is None:
        deal = session.get(Deal, deal_id)
    else:
        deal = session.scalar(
            select(Deal)
            .join(Customer, Customer.id == Deal.customer_id)
            .where(Deal.id == deal_id, Customer.erased_at.is_(None), visible_customers(viewer))
        )
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
    events.publish(
        session,
        "deal_stage_changed",
        {"deal": deal, "from_stage": previous, "actor_id": actor.id if actor else None},
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


def list_deals(
    session: Session,
    *,
    viewer: User | None,
    stage: str | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Deal], int]:
    """Deals of customers ``viewer`` may see, newest first, with the total for paging."""
    query = (
        select(Deal)
        .join(Customer, Customer.id == Deal.customer_id)
        .where(Customer.erased_at.is_(None))
    )
    if viewer is not None:
        query = query.where(visible_customers(viewer))
    if stage:
        errors = FieldErrors()
        parsed = choice({"stage": stage}, "stage", errors, DealStage)
        errors.raise_if_any("Unknown deal stage.", code="invalid_stage")
        query = query.where(Deal.stage == parsed)
    if owner_id is not None:
        query = query.where(Deal.owner_id == owner_id)
    if customer_id is not None:
        query = query.where(Deal.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Deal.created_at.desc(), Deal.id.desc())
        .limit(max(1, min(limit, MAX_PAGE)))
        .offset(max(0, offset))
        .options(selectinload(Deal.stage_changes))
    ).all()
    return list(items), total


def update_deal(
    session: Session,
    deal_id: int,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    scoped: bool = True,
) -> Deal:
    """Change a deal's fields and, with ``stage`` (and an optional ``comment``), its stage.

    Every problem is reported in one error before anything changes; the stage moves through
    ``set_deal_stage`` so its history and side effects are the same as from a process.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("Expected a JSON object with the deal's fields.")
    deal = get_deal(session, deal_id, viewer=actor if scoped else None)
    errors = FieldErrors()
    values: dict[str, Any] = {}
    parsers = {
        "title": lambda: text(data, "title", errors, max_len=200, required=True),
        "amount": lambda: decimal(data, "amount", errors, minimum=Decimal(0), maximum=MAX_AMOUNT),
        "discount_pct": lambda: decimal(
            data, "discount_pct", errors, minimum=Decimal(0), maximum=Decimal(100)
        ),
        "currency": lambda: _currency(data, errors),
        "expected_close": lambda: iso_date(data, "expected_close", errors),
        "lost_reason": lambda: text(data, "lost_reason", errors, max_len=200),
    }
    for key, parse in parsers.items():
        if key in data:
            values[key] = parse()
    for key in ("amount", "discount_pct", "currency"):
        if key in values and values[key] is None and not _has_error(errors, key):
            errors.add(key, "This field cannot be empty.")
    stage = data.get("stage")
    if stage is not None:
        choice({"stage": stage}, "stage", errors, DealStage)
    comment = text(data, "comment", errors, max_len=2000)
    errors.raise_if_any("The deal is not valid.")

    before = deal_to_dict(deal)
    for key, value in values.items():
        setattr(deal, key, cents(value) if isinstance(value, Decimal) else value)
    session.flush()
    changed_before, changed_after = audit.changed_fields(before, deal_to_dict(deal))
    if changed_after:
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="deal",
            entity_id=deal.id,
            before=changed_before,
            after=changed_after,
        )
    if stage is not None:
        set_deal_stage(session, deal.id, str(stage), actor=actor, comment=comment)
    return deal


def deal_detail(deal: Deal) -> dict[str, Any]:
    """The deal with its stage history, oldest change first."""
    return {
        **deal_to_dict(deal),
        "team_id": deal.team_id,
        "lost_reason": deal.lost_reason,
        "created_at": deal.created_at.isoformat() if deal.created_at else None,
        "updated_at": deal.updated_at.isoformat() if deal.updated_at else None,
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "stage_history": [
            {
                "from_stage": change.from_stage.value if change.from_stage else None,
                "to_stage": change.to_stage.value,
                "changed_by_id": change.changed_by_id,
                "changed_at": change.changed_at.isoformat() if change.changed_at else None,
                "comment": change.comment,
            }
            for change in deal.stage_changes
        ],
    }


def _currency(data: Mapping[str, Any], errors: FieldErrors) -> str | None:
    value = text(data, "currency", errors, max_len=3)
    if value is None:
        return None
    # ASCII: isalpha() holds for "人民币" and "ＣＮＹ", which are no ISO 4217 codes
    if len(value) != 3 or not (value.isascii() and value.isalpha()):
        errors.add("currency", "Use a three-letter currency code such as CNY.")
        return None
    return value.upper()


def cents(value: Decimal) -> Decimal:
    """As the NUMERIC(…, 2) column will hold it, so responses match what a re-read returns."""
    return value.quantize(CENT)


def _has_error(errors: FieldErrors, key: str) -> bool:
    return any(d.get("field") == key for d in errors.details)
