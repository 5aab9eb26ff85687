"""The daily trend: per local day of the period (``scope.zone``, every day from ``first_day``
to ``last_day``, days without figures as zeros), with the agent KPIs' definitions and rows:

- ``calls``: calls started that day by an agent in scope (``calls.started_at``,
  ``calls.agent_id``); ``dialed``: the outbound ones; ``connected``: outbound calls someone
  answered (answered by the PBX, or a disposition that means someone answered);
  ``connect_rate`` = connected / dialed (``None`` when nothing was dialed).
- ``deals_won``: won deals closed that day (``deals.closed_at``), owned by someone in scope;
  ``revenue``: per currency (never added across currencies), their amounts net of the approved
  discount, ``amount × (100 − discount_pct) / 100``, rounded to the cent per day; a day lists
  only the currencies it has.

A call or deal belongs to the local day its time falls in: 23:50 and 00:10 in Shanghai are two
days even though both are 15:50 and 16:10 UTC of one day. ``totals`` add the days up, so they
are the agent report's totals for the same filters (revenue to the cent of each day);
``currencies`` lists every currency of the period, for charts and CSV columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from crm.models import Call, CallDirection, Deal, DealStage
from crm.money import money_of_cents, net_in_cents
from processes.analytics.filters import Scope
from processes.analytics.funnel import connected, ratio
from processes.analytics.sql import local_day

COUNTED = ("calls", "dialed", "connected", "deals_won")


@dataclass
class TrendDay:
    day: date | None
    calls: int = 0
    dialed: int = 0
    connected: int = 0
    connect_rate: float | None = None
    deals_won: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {} if self.day is None else {"day": self.day.isoformat()}
        data |= {name: getattr(self, name) for name in COUNTED}
        data["connect_rate"] = self.connect_rate
        data["revenue"] = {k: str(v) for k, v in sorted(self.revenue.items())}
        return data


@dataclass
class Trend:
    days: list[TrendDay]
    totals: TrendDay
    currencies: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": [d.as_dict() for d in self.days],
            "totals": self.totals.as_dict(),
            "currencies": self.currencies,
        }


def daily_trend(session: Session, scope: Scope) -> Trend:
    """One entry per local day of ``scope`` (see the module's definitions)."""
    count = (scope.last_day - scope.first_day).days + 1
    days = {
        scope.first_day + timedelta(days=n): TrendDay(scope.first_day + timedelta(days=n))
        for n in range(count)
    }
    _calls(session, scope, days)
    _deals(session, scope, days)
    totals = TrendDay(None)
    for entry in days.values():
        entry.connect_rate = ratio(entry.connected, entry.dialed)
        for name in COUNTED:
            setattr(totals, name, getattr(totals, name) + getattr(entry, name))
        for currency, amount in entry.revenue.items():
            totals.revenue[currency] = totals.revenue.get(currency, Decimal(0)) + amount
    totals.connect_rate = ratio(totals.connected, totals.dialed)
    return Trend(list(days.values()), totals, sorted(totals.revenue))


def _entry(days: dict[date, TrendDay], text: Any) -> TrendDay | None:
    return days.get(date.fromisoformat(str(text)[:10]))


def _calls(session: Session, scope: Scope, days: dict[date, TrendDay]) -> None:
    outbound = Call.direction == CallDirection.OUTBOUND
    day = local_day(Call.started_at, *scope.zone_range).label("day")
    for text, calls, dialed, hits in session.execute(
        select(
            day,
            func.count(Call.id),
            func.coalesce(func.sum(case((outbound, 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(outbound, connected()), 1), else_=0)), 0),
        )
        .where(
            Call.started_at >= scope.start,
            Call.started_at < scope.end,
            Call.agent_id.is_not(None),
            scope.people(Call.agent_id),
        )
        .group_by(day)
    ):
        entry = _entry(days, text)
        if entry is not None:
            entry.calls, entry.dialed, entry.connected = int(calls), int(dialed), int(hits)


def _deals(session: Session, scope: Scope, days: dict[date, TrendDay]) -> None:
    net = net_in_cents(Deal.amount, Deal.discount_pct)
    day = local_day(Deal.closed_at, *scope.zone_range).label("day")
    for text, currency, won, total in session.execute(
        select(day, Deal.currency, func.count(Deal.id), func.sum(net))
        .where(
            Deal.stage == DealStage.WON,
            Deal.closed_at >= scope.start,
            Deal.closed_at < scope.end,
            Deal.owner_id.is_not(None),
            scope.people(Deal.owner_id),
        )
        .group_by(day, Deal.currency)
    ):
        entry = _entry(days, text)
        if entry is None:
            continue
        entry.deals_won += int(won)
        amount = money_of_cents(total)
        entry.revenue[currency] = entry.revenue.get(currency, Decimal(0)) + amount
