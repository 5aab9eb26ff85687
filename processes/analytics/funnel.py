"""The sales funnel: how far the deals and leads of a period got, and the conversion between
stages.

**Deal funnel.** The cohort is the deals *created* in the period (``deals.created_at`` in
``[start, end)``), the owner in scope. A deal has *reached* a stage of the path
qualification → proposal → negotiation → approval → won when its stage history
(``deal_stage_changes.to_stage``) or its current stage is that stage or a later one, as of
now: a deal won without a discount approval has passed approval, a lost deal counts for the
stages it had reached before it was lost.

- ``reached[s]``: deals of the cohort that reached stage ``s``.
- ``from_previous[s]`` = reached[s] / reached[previous stage]; ``from_first[s]`` =
  reached[s] / reached[qualification] (``None`` when the divisor is 0).
- ``won``, ``lost``, ``open``: the cohort by current stage; ``win_rate`` = won / (won + lost),
  deals still open left out.
- ``won_amount``: per currency, the sum of the won deals' amount net of their approved
  discount, ``amount × (100 − discount_pct) / 100``.

**Lead funnel.** The cohort is the customers *created* in the period (not erased), the owner
in scope: ``leads``; ``called``: with at least one call; ``connected``: with a connected call
(answered, or a disposition that means someone answered); ``opportunity``: with a deal;
``won``: with a won deal. Calls and deals count whenever they happened, so a recent cohort
is still filling up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from crm.models import Call, Customer, Deal, DealStage, DealStageChange
from crm.models.calls import CONNECTED_DISPOSITIONS
from crm.money import money_of_cents, net_in_cents
from processes.analytics.filters import Scope

PATH = (
    DealStage.QUALIFICATION,
    DealStage.PROPOSAL,
    DealStage.NEGOTIATION,
    DealStage.APPROVAL,
    DealStage.WON,
)
LEAD_STEPS = ("leads", "called", "connected", "opportunity", "won")


@dataclass
class FunnelStep:
    step: str
    count: int
    from_previous: float | None
    from_first: float | None


@dataclass
class Funnel:
    stages: list[FunnelStep]
    leads: list[FunnelStep]
    deals: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    win_rate: float | None = None
    won_amount: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["won_amount"] = {k: str(v) for k, v in self.won_amount.items()}
        return data


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def funnel(session: Session, scope: Scope) -> Funnel:
    """The deal and lead funnels of ``scope`` (see the module's definitions)."""
    report = Funnel(stages=_deal_stages(session, scope), leads=_lead_steps(session, scope))
    _deal_outcomes(session, scope, report)
    return report


def _steps(names: list[str], counts: list[int]) -> list[FunnelStep]:
    first = counts[0] if counts else 0
    steps = []
    for index, (name, number) in enumerate(zip(names, counts, strict=True)):
        previous = counts[index - 1] if index else None
        steps.append(
            FunnelStep(
                name,
                number,
                ratio(number, previous) if previous is not None else None,
                ratio(number, first) if index else None,
            )
        )
    return steps


def _cohort(scope: Scope) -> list[Any]:
    return [
        Deal.created_at >= scope.start,
        Deal.created_at < scope.end,
        scope.people(Deal.owner_id),
    ]


def _rank(column: Any) -> Any:
    return case({stage: index + 1 for index, stage in enumerate(PATH)}, value=column, else_=0)


def _deal_stages(session: Session, scope: Scope) -> list[FunnelStep]:
    history = (
        select(
            DealStageChange.deal_id.label("deal_id"),
            func.max(_rank(DealStageChange.to_stage)).label("rank"),
        )
        # The cohort's history only (its deal_id index), not every deal's ever.
        .where(DealStageChange.deal_id.in_(select(Deal.id).where(*_cohort(scope))))
        .group_by(DealStageChange.deal_id)
        .subquery()
    )
    per_deal = (
        select(
            func.coalesce(history.c.rank, 0).label("history_rank"),
            _rank(Deal.stage).label("current_rank"),
        )
        .outerjoin(history, history.c.deal_id == Deal.id)
        .where(*_cohort(scope))
        .subquery()
    )
    ranks = (per_deal.c.history_rank, per_deal.c.current_rank)
    rows = session.execute(select(*ranks, func.count()).group_by(*ranks)).all()
    counts = [0] * len(PATH)
    for history_rank, current_rank, number in rows:
        furthest = max(int(history_rank or 0), int(current_rank or 0))
        for index in range(furthest):
            counts[index] += int(number)
    return _steps([stage.value for stage in PATH], counts)


def _deal_outcomes(session: Session, scope: Scope, report: Funnel) -> None:
    net = net_in_cents(Deal.amount, Deal.discount_pct)
    rows = session.execute(
        select(Deal.stage, Deal.currency, func.count(Deal.id), func.sum(net))
        .where(*_cohort(scope))
        .group_by(Deal.stage, Deal.currency)
    ).all()
    for stage, currency, number, total in rows:
        report.deals += int(number)
        if stage == DealStage.WON:
            report.won += int(number)
            amount = money_of_cents(total)
            report.won_amount[currency] = report.won_amount.get(currency, Decimal(0)) + amount
        elif stage == DealStage.LOST:
            report.lost += int(number)
        else:
            report.open += int(number)
    report.win_rate = ratio(report.won, report.won + report.lost)


def connected(call: type[Call] = Call) -> Any:
    """A call someone answered: answered by the PBX, or logged with a connected disposition."""
    return or_(call.answered_at.is_not(None), call.disposition.in_(CONNECTED_DISPOSITIONS))


def _lead_steps(session: Session, scope: Scope) -> list[FunnelStep]:
    called = exists().where(Call.customer_id == Customer.id)
    answered = exists().where(Call.customer_id == Customer.id, connected())
    opportunity = exists().where(Deal.customer_id == Customer.id)
    won = exists().where(Deal.customer_id == Customer.id, Deal.stage == DealStage.WON)

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            func.count(Customer.id),
            count_if(called),
            count_if(answered),
            count_if(opportunity),
            count_if(won),
        ).where(
            and_(
                Customer.created_at >= scope.start,
                Customer.created_at < scope.end,
                Customer.erased_at.is_(None),
                scope.people(Customer.owner_id),
            )
        )
    ).one()
    return _steps(list(LEAD_STEPS), [int(v or 0) for v in row])
