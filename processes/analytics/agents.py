"""Agent KPIs for a period: one row per agent in scope, and the totals.

Calls count by ``calls.started_at`` in ``[start, end)`` and belong to ``calls.agent_id``:

- ``calls``: every call the agent made or took; ``dialed``: the outbound ones.
- ``connected``: outbound calls someone answered (``answered_at`` set by the PBX, or a
  disposition that means someone answered: interested, other, callback requested, not
  interested, do-not-call, wrong number); ``connect_rate`` = connected / dialed.
- ``talk_time_s``: the seconds (``duration_s``) of every answered call, either direction;
  ``avg_talk_s`` = talk_time_s / ``answered`` (answered calls, either direction).
- ``calling_hours``: the local clock hours (of the report's zone, ``scope.zone``: an hour of
  Asia/Kolkata runs from :30 to :30 UTC) in which the agent logged at least one call.
  Dialflow records no shifts or sign-in time, so this is the working time the data shows;
  ``calls_per_hour`` = calls / calling_hours.

Callbacks are the work items of kind ``callback`` (the call cadence's call task after a
customer asked to be called back; its due time is the time asked for), not withdrawn,
due in ``[start, min(end, now))``, belonging to whoever completed them, else their assignee:

- ``callbacks_due``: those items; ``callbacks_kept``: those completed (the call logged)
  within ``CALLBACK_GRACE_S`` (one hour) either side of the due time;
  ``callback_keep_rate`` = kept / due. A callback still open past its due time is not kept.

Deals count by ``deals.closed_at`` in the period and belong to ``deals.owner_id``:

- ``deals_won``: deals whose stage is won; ``revenue``: per currency, their amounts net of
  the approved discount, ``amount × (100 − discount_pct) / 100``.

Rates are ``None`` when their divisor is 0. The totals add the rows up and recompute the
rates from the sums (``calls_per_hour`` over everyone's calling hours).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from crm.models import Call, CallDirection, Deal, DealStage, Role, Team, User
from crm.money import money_of_cents, net_in_cents
from dialflow.db import UTCDateTime
from engine.inbox import CALLBACK_KIND
from engine.models import WorkItem, WorkItemStatus
from processes.analytics.filters import Scope
from processes.analytics.funnel import connected, ratio
from processes.analytics.sql import local_hour, seconds_between

CALLBACK_GRACE_S = 3600
LIVE = (WorkItemStatus.OPEN, WorkItemStatus.COMPLETED)  # not withdrawn


@dataclass
class AgentKpis:
    user_id: int | None
    username: str | None
    display_name: str
    team: str | None
    calls: int = 0
    dialed: int = 0
    connected: int = 0
    connect_rate: float | None = None
    answered: int = 0
    talk_time_s: int = 0
    avg_talk_s: float | None = None
    calling_hours: int = 0
    calls_per_hour: float | None = None
    callbacks_due: int = 0
    callbacks_kept: int = 0
    callback_keep_rate: float | None = None
    deals_won: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)

    def finish(self) -> AgentKpis:
        self.connect_rate = ratio(self.connected, self.dialed)
        self.avg_talk_s = round(self.talk_time_s / self.answered, 1) if self.answered else None
        self.calls_per_hour = (
            round(self.calls / self.calling_hours, 2) if self.calling_hours else None
        )
        self.callback_keep_rate = ratio(self.callbacks_kept, self.callbacks_due)
        return self

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["revenue"] = {k: str(v) for k, v in sorted(self.revenue.items())}
        return data


@dataclass
class AgentReport:
    agents: list[AgentKpis]
    totals: AgentKpis

    def as_dict(self) -> dict[str, Any]:
        return {
            "agents": [a.as_dict() for a in self.agents],
            "totals": self.totals.as_dict(),
        }


COUNTED = (
    "calls",
    "dialed",
    "connected",
    "answered",
    "talk_time_s",
    "calling_hours",
    "callbacks_due",
    "callbacks_kept",
    "deals_won",
)


def agent_kpis(session: Session, scope: Scope) -> AgentReport:
    """One row per agent in scope (active agents, and anyone else with figures in the
    period), ordered by name; see the module's definitions."""
    rows: dict[int, AgentKpis] = {}

    def row(user_id: int) -> AgentKpis:
        if user_id not in rows:
            rows[user_id] = AgentKpis(user_id, None, "", None)
        return rows[user_id]

    for user_id in session.scalars(
        select(User.id).where(User.role == Role.AGENT, User.active.is_(True), scope.people(User.id))
    ):
        row(user_id)
    _calls(session, scope, row)
    _callbacks(session, scope, row)
    _deals(session, scope, row)
    _name(session, rows)
    agents = sorted(rows.values(), key=lambda a: (a.display_name, a.user_id or 0))
    totals = AgentKpis(None, None, "", None)
    for agent in agents:
        agent.finish()
        for name in COUNTED:
            setattr(totals, name, getattr(totals, name) + getattr(agent, name))
        for currency, amount in agent.revenue.items():
            totals.revenue[currency] = totals.revenue.get(currency, Decimal(0)) + amount
    return AgentReport(agents, totals.finish())


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _calls(session: Session, scope: Scope, row: Any) -> None:
    outbound = Call.direction == CallDirection.OUTBOUND
    answered = connected()
    for user_id, calls, dialed, hits, answers, talk, hours in session.execute(
        select(
            Call.agent_id,
            func.count(Call.id),
            _count_if(outbound),
            _count_if(and_(outbound, answered)),
            _count_if(answered),
            func.coalesce(func.sum(case((answered, Call.duration_s), else_=0)), 0),
            func.count(func.distinct(local_hour(Call.started_at, *scope.zone_range))),
        )
        .where(
            Call.started_at >= scope.start,
            Call.started_at < scope.end,
            Call.agent_id.is_not(None),
            scope.people(Call.agent_id),
        )
        .group_by(Call.agent_id)
    ):
        kpis = row(user_id)
        kpis.calls, kpis.dialed, kpis.connected = int(calls), int(dialed), int(hits)
        kpis.answered, kpis.talk_time_s, kpis.calling_hours = int(answers), int(talk), int(hours)


def _callbacks(session: Session, scope: Scope, row: Any) -> None:
    person = func.coalesce(WorkItem.completed_by_id, WorkItem.assignee_id)
    until = min(scope.end, scope.now)
    lateness = seconds_between(WorkItem.due_at, WorkItem.completed_at)
    kept = and_(
        WorkItem.status == WorkItemStatus.COMPLETED,
        lateness <= CALLBACK_GRACE_S,
        lateness >= -CALLBACK_GRACE_S,
    )
    if until <= scope.start:
        return
    for user_id, due, kept_count in session.execute(
        select(person, func.count(WorkItem.id), _count_if(kept))
        .where(
            WorkItem.kind == CALLBACK_KIND,
            WorkItem.status.in_(LIVE),  # (status, due_at) index: two ranges
            WorkItem.due_at >= scope.start,
            WorkItem.due_at < literal(until, UTCDateTime),
            person.is_not(None),
            scope.people(person),
        )
        .group_by(person)
    ):
        kpis = row(user_id)
        kpis.callbacks_due, kpis.callbacks_kept = int(due), int(kept_count)


def _deals(session: Session, scope: Scope, row: Any) -> None:
    net = net_in_cents(Deal.amount, Deal.discount_pct)
    for user_id, currency, won, total in session.execute(
        select(Deal.owner_id, Deal.currency, func.count(Deal.id), func.sum(net))
        .where(
            Deal.stage == DealStage.WON,
            Deal.closed_at >= scope.start,
            Deal.closed_at < scope.end,
            Deal.owner_id.is_not(None),
            scope.people(Deal.owner_id),
        )
        .group_by(Deal.owner_id, Deal.currency)
    ):
        kpis = row(user_id)
        kpis.deals_won += int(won)
        amount = money_of_cents(total)
        kpis.revenue[currency] = kpis.revenue.get(currency, Decimal(0)) + amount


def _name(session: Session, rows: dict[int, AgentKpis]) -> None:
    if not rows:
        return
    for user_id, username, display_name, team in session.execute(
        select(User.id, User.username, User.display_name, Team.name)
        .outerjoin(Team, Team.id == User.team_id)
        .where(User.id.in_(list(rows)))
    ):
        kpis = rows[user_id]
        kpis.username, kpis.display_name, kpis.team = username, display_name, team
