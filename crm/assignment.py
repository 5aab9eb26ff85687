"""Giving a new lead to an agent of a team: round-robin or least-loaded, within daily caps.

No counter lives in memory: "round-robin" picks the agent whose last assignment is oldest, and
caps count ``lead_assignments`` rows of the team's local day, so any number of workers agree.
The team's row is locked first, so two leads assigned at the same moment are
serialized and a cap is never exceeded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.compliance import local_day_bounds, zone
from crm.models import Customer, LeadAssignment, LeadStage, PoolStatus, Role, Team, User
from dialflow.errors import InvalidInput

STRATEGIES = ("round_robin", "least_loaded")
OPEN_STAGES = (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.INTERESTED, LeadStage.OPPORTUNITY)


def team_by_name(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise InvalidInput(
            f"No team named {name!r}.", details=[{"field": "team", "message": "unknown team"}]
        )
    return team


def pick_agent(
    session: Session, team: Team, strategy: str, default_cap: int, now: datetime
) -> User | None:
    """The agent who gets the next lead, or None when every agent reached their cap."""
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"Unknown assignment strategy {strategy!r}; use one of {', '.join(STRATEGIES)}.",
            details=[{"field": "strategy", "message": "unknown strategy"}],
        )
    # The team row is the lock: assignments to one team run one at a time.
    session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
    agents = list(
        session.scalars(
            select(User)
            .where(User.team_id == team.id, User.role == Role.AGENT, User.active.is_(True))
            .order_by(User.id)
        )
    )
    if not agents:
        return None
    ids = [agent.id for agent in agents]
    start, end = local_day_bounds(now, zone(team.timezone))
    today = dict(
        session.execute(
            select(LeadAssignment.user_id, func.count(LeadAssignment.id))
            .where(
                LeadAssignment.user_id.in_(ids),
                LeadAssignment.assigned_at >= start,
                LeadAssignment.assigned_at < end,
            )
            .group_by(LeadAssignment.user_id)
        ).all()
    )
    eligible = [
        a
        for a in agents
        if today.get(a.id, 0) < (a.daily_lead_cap if a.daily_lead_cap is not None else default_cap)
    ]
    if not eligible:
        return None
    last = dict(
        session.execute(
            select(LeadAssignment.user_id, func.max(LeadAssignment.id))
            .where(LeadAssignment.user_id.in_(ids))
            .group_by(LeadAssignment.user_id)
        ).all()
    )
    if strategy == "least_loaded":
        load = dict(
            session.execute(
                select(Customer.owner_id, func.count(Customer.id))
                .where(
                    Customer.owner_id.in_(ids),
                    Customer.pool_status == PoolStatus.OWNED,
                    Customer.stage.in_(OPEN_STAGES),
                )
                .group_by(Customer.owner_id)
            ).all()
        )
        return min(eligible, key=lambda a: (load.get(a.id, 0), last.get(a.id, 0), a.id))
    return min(eligible, key=lambda a: (last.get(a.id, 0), a.id))


def assign(
    session: Session,
    customer: Customer,
    agent: User,
    *,
    strategy: str,
    now: datetime,
    actor: User | None,
) -> LeadAssignment:
    before = {"owner_id": customer.owner_id, "pool_status": customer.pool_status.value}
    customer.owner_id = agent.id
    customer.team_id = agent.team_id
    customer.pool_status = PoolStatus.OWNED
    customer.pool_entered_at = None
    row = LeadAssignment(
        customer_id=customer.id,
        user_id=agent.id,
        team_id=agent.team_id,
        strategy=strategy,
        assigned_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assign",
        entity_type="customer",
        entity_id=customer.id,
        before=before,
        after={"owner_id": agent.id, "strategy": strategy, "pool_status": "owned"},
    )
    return row
