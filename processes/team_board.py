"""The team board: each agent's load today, the team's open tasks, reassignment and lead caps.

Figures count rows (work items, calls, lead assignments, pool claims) in a few grouped
queries; "today" is the team's local day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from crm import audit, pool
from crm.assignment import OPEN_STAGES
from crm.compliance import local_day_bounds
from crm.models import Call, Customer, LeadAssignment, PoolClaim, PoolStatus, Role, Team, User
from dialflow.errors import Forbidden, InvalidInput, NotFound
from engine import tasks
from engine.inbox import customer_id_of
from engine.models import WorkItem, WorkItemStatus
from engine.task_order import DEFAULT_ORDER, TaskOrder, order_by
from engine.work_items import offered_to_group_or_nobody, offered_to_nobody
from processes import settings

SEES_EVERY_TEAM = frozenset({Role.DIRECTOR, Role.ADMIN})
MAX_TASKS = 200
MAX_LEAD_CAP = 10_000


@dataclass
class AgentLoad:
    user: User
    open_tasks: int
    overdue_tasks: int
    calls_today: int
    leads_held: int
    leads_today: int
    lead_cap: int
    lead_cap_is_default: bool
    claims_today: int
    claim_cap: int
    holding_cap: int


@dataclass
class TeamTask:
    item: WorkItem
    assignee: User | None
    overdue: bool
    customer_id: int | None
    customer_name: str | None = None
    offered_to_nobody: bool = False


def may_manage(user: User, team: Team) -> bool:
    """Managers their own team; directors and administrators every team."""
    if user.role in SEES_EVERY_TEAM:
        return True
    return user.role == Role.MANAGER and user.team_id == team.id


def teams_for(session: Session, user: User) -> list[Team]:
    if user.role in SEES_EVERY_TEAM:
        return list(session.scalars(select(Team).order_by(Team.name)))
    if user.role == Role.MANAGER and user.team is not None:
        return [user.team]
    return []


def members(session: Session, team: Team) -> list[User]:
    """The team's active agents, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.team_id == team.id, User.role == Role.AGENT, User.active.is_(True))
            .order_by(User.display_name, User.id)
        )
    )


def agent_loads(session: Session, team: Team, *, now: datetime) -> list[AgentLoad]:
    agents = members(session, team)
    ids = [a.id for a in agents]
    if not ids:
        return []
    start, end = local_day_bounds(now, pool.user_zone(agents[0]))
    open_items = WorkItem.status == WorkItemStatus.OPEN
    task_counts = {
        user_id: (total, late)
        for user_id, total, late in session.execute(
            select(
                WorkItem.assignee_id,
                func.count(WorkItem.id),
                func.count(WorkItem.due_at).filter(WorkItem.due_at < now),
            )
            .where(open_items, WorkItem.assignee_id.in_(ids))
            .group_by(WorkItem.assignee_id)
        ).all()
    }
    calls = _counts(
        session,
        Call.agent_id,
        Call.id,
        Call.agent_id.in_(ids),
        Call.started_at >= start,
        Call.started_at < end,
    )
    held = _counts(
        session,
        Customer.owner_id,
        Customer.id,
        Customer.owner_id.in_(ids),
        Customer.pool_status == PoolStatus.OWNED,
        Customer.stage.in_(OPEN_STAGES),
        Customer.erased_at.is_(None),
    )
    assigned = _counts(
        session,
        LeadAssignment.user_id,
        LeadAssignment.id,
        LeadAssignment.user_id.in_(ids),
        LeadAssignment.assigned_at >= start,
        LeadAssignment.assigned_at < end,
    )
    claims = _counts(
        session,
        PoolClaim.user_id,
        PoolClaim.id,
        PoolClaim.user_id.in_(ids),
        PoolClaim.claimed_at >= start,
        PoolClaim.claimed_at < end,
    )
    default_cap = int(settings.effective(session, "assignment", team.id)["default_daily_cap"])
    pool_rules = settings.effective(session, "pool", team.id)
    return [
        AgentLoad(
            user=agent,
            open_tasks=task_counts.get(agent.id, (0, 0))[0],
            overdue_tasks=task_counts.get(agent.id, (0, 0))[1],
            calls_today=calls.get(agent.id, 0),
            leads_held=held.get(agent.id, 0),
            leads_today=assigned.get(agent.id, 0),
            lead_cap=agent.daily_lead_cap if agent.daily_lead_cap is not None else default_cap,
            lead_cap_is_default=agent.daily_lead_cap is None,
            claims_today=claims.get(agent.id, 0),
            claim_cap=int(pool_rules["daily_claim_cap"]),
            holding_cap=int(pool_rules["holding_cap"]),
        )
        for agent in agents
    ]


def _counts(session: Session, key: Any, counted: Any, *where: Any) -> dict[int, int]:
    return {
        k: int(n)
        for k, n in session.execute(
            select(key, func.count(counted)).where(*where).group_by(key)
        ).all()
    }


def _of_the_team(session: Session, team: Team, people: list[int]) -> ColumnElement[bool]:
    """Open tasks assigned to the team's ``people``, or waiting for the team's group, and
    those no one may claim (their lane names no role and no team): any manager may give
    them to an agent of theirs.

    Read from the open items alone, through ``work_items (assignee_id, status, due_at)``: the
    people's, and the unassigned ones, each of those with one seek of its candidates by its
    id (``offered_to_group_or_nobody``). The team's group was read as the list of every item
    ever offered to it, done ones too, each then looked up: ~100 ms at 200,000 items, growing
    with the team's history (``bench/team_board.py``)."""
    return and_(
        WorkItem.status == WorkItemStatus.OPEN,
        or_(
            WorkItem.assignee_id.in_(people or [0]),
            offered_to_group_or_nobody(session, f"group:{team.name}"),
        ),
    )


def team_tasks(
    session: Session, team: Team, *, now: datetime, order: TaskOrder = DEFAULT_ORDER
) -> list[TeamTask]:
    """The team's open tasks (:func:`_of_the_team`), the first ``MAX_TASKS`` in ``order``."""
    people = {u.id: u for u in session.scalars(select(User).where(User.team_id == team.id))}
    items = session.scalars(
        select(WorkItem)
        .where(_of_the_team(session, team, list(people)))
        .order_by(*order_by(order, now=now))
        .limit(MAX_TASKS)
    ).all()
    rows = [
        TeamTask(
            item=item,
            assignee=people.get(item.assignee_id) if item.assignee_id else None,
            overdue=item.due_at is not None and item.due_at < now,
            customer_id=customer_id_of(item.business_key),
        )
        for item in items
    ]
    unassigned = [row.item.id for row in rows if row.item.assignee_id is None]
    if unassigned:
        nobody = offered_to_nobody(session)
        orphans = set(
            session.scalars(select(WorkItem.id).where(WorkItem.id.in_(unassigned), nobody))
        )
        for row in rows:
            row.offered_to_nobody = row.item.id in orphans
    ids = {r.customer_id for r in rows if r.customer_id is not None}
    names = (
        dict(
            session.execute(
                select(Customer.id, Customer.name).where(
                    Customer.id.in_(ids), Customer.erased_at.is_(None)
                )
            ).all()
        )
        if ids
        else {}
    )
    for row in rows:
        row.customer_name = names.get(row.customer_id) if row.customer_id else None
    return rows


def reassign(
    session: Session, team: Team, task_id: str, user_id: Any, *, actor: User, now: datetime
) -> tuple[WorkItem, User]:
    """Give one of the team's open tasks to another agent of the team (``engine.tasks.assign``)."""
    if not may_manage(actor, team):
        raise Forbidden("You may not manage this team.")
    people = list(session.scalars(select(User.id).where(User.team_id == team.id)))
    ours = select(WorkItem.id).where(WorkItem.id == task_id, _of_the_team(session, team, people))
    if session.scalar(ours) is None:  # on the board, whichever of its orders and rows it shows
        raise NotFound("No such task in this team.", code="task_not_found")
    target = None
    numeric = isinstance(user_id, str) and user_id.isascii() and user_id.isdigit()
    if isinstance(user_id, int) or numeric:
        target = session.get(User, int(user_id))
    if target is None or target not in members(session, team):
        raise InvalidInput(
            "Choose an agent of the team.",
            details=[{"field": "user", "message": "not an agent of the team"}],
        )
    item = tasks.assign(session, task_id, target.username, actor=actor, now=now)
    return item, target


def set_lead_cap(session: Session, team: Team, agent_id: int, raw: Any, *, actor: User) -> User:
    """An agent's own daily lead cap; blank → the team's default (audited)."""
    if not may_manage(actor, team):
        raise Forbidden("You may not manage this team.")
    agent = session.get(User, agent_id)
    if agent is None or agent not in members(session, team):
        raise NotFound("No such agent in this team.", code="user_not_found")
    text = str(raw if raw is not None else "").strip()
    cap: int | None = None
    if text:
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_LEAD_CAP:
            raise InvalidInput(
                f"The daily lead cap is a whole number from 0 to {MAX_LEAD_CAP}.",
                details=[{"field": "daily_lead_cap", "message": "out of range"}],
            )
        cap = int(text)
    before = agent.daily_lead_cap
    if before != cap:
        agent.daily_lead_cap = cap
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="user",
            entity_id=agent.id,
            before={"daily_lead_cap": before},
            after={"daily_lead_cap": cap},
        )
    return agent
