"""The pipeline board: deals by stage with a count and total per stage, scoped like deals."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from crm.models import Customer, Deal, DealStage, User
from crm.money import in_cents, money_of_cents
from crm.scoping import visible_customers

CARDS_PER_STAGE = 50


@dataclass
class StageColumn:
    stage: DealStage
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency → sum
    deals: list[Deal] = field(default_factory=list)


def pipeline(
    session: Session,
    viewer: User,
    *,
    owner_id: int | None = None,
    team_id: int | None = None,
    per_stage: int = CARDS_PER_STAGE,
) -> list[StageColumn]:
    """One column per stage; counts and totals cover every visible deal, cards the newest."""
    where = [Customer.erased_at.is_(None), visible_customers(viewer)]
    if owner_id is not None:
        where.append(Deal.owner_id == owner_id)
    if team_id is not None:
        where.append(Deal.team_id == team_id)
    columns = {stage: StageColumn(stage) for stage in DealStage}
    sums = session.execute(
        select(Deal.stage, Deal.currency, func.count(Deal.id), func.sum(in_cents(Deal.amount)))
        .join(Customer, Customer.id == Deal.customer_id)
        .where(*where)
        .group_by(Deal.stage, Deal.currency)
    ).all()
    for stage, currency, count, total in sums:
        column = columns[DealStage(stage)]
        column.count += int(count)
        column.totals[currency] = money_of_cents(total)
    ranked = (
        select(
            Deal.id,
            func.row_number()
            .over(partition_by=Deal.stage, order_by=(Deal.updated_at.desc(), Deal.id.desc()))
            .label("n"),
        )
        .join(Customer, Customer.id == Deal.customer_id)
        .where(*where)
        .subquery()
    )
    deals = session.scalars(
        select(Deal)
        .join(ranked, ranked.c.id == Deal.id)
        .where(ranked.c.n <= per_stage)
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .options(joinedload(Deal.customer))
    ).all()
    for deal in deals:
        columns[deal.stage].deals.append(deal)
    return list(columns.values())
