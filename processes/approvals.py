"""The approvals queue: open discount approvals a person may decide, with their deal's context.

Reads work items (``deal_approval``'s approver tasks), their instances' data snapshot for the
deal id, and the deals, customers and agents in four queries; no workflow is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.models import Customer, Deal, Role, User
from engine.inbox import customer_id_of
from engine.models import ProcessInstance, WorkItem, WorkItemStatus
from engine.tasks import claimable_by
from processes.telesales import DEAL_APPROVAL

APPROVER_TASKS = ("approve_manager", "approve_director", "approve_escalated")
MAX_ROWS = 200


@dataclass
class ApprovalRow:
    item: WorkItem
    overdue: bool
    submitted_at: datetime
    deal_id: int | None = None
    deal_title: str | None = None
    amount: Decimal | None = None
    currency: str = "CNY"
    discount_pct: Decimal | None = None
    quote_comment: str | None = None
    agent_name: str | None = None
    customer_id: int | None = None
    customer_name: str | None = None

    @property
    def tier(self) -> str:
        return self.item.element_id.removeprefix("approve_")


def approval_tasks(viewer: User):  # type: ignore[no-untyped-def]
    """A WHERE clause: open approver tasks the viewer may work on (administrators: all)."""
    where = (
        (WorkItem.status == WorkItemStatus.OPEN)
        & (WorkItem.process_id == DEAL_APPROVAL)
        & WorkItem.element_id.in_(APPROVER_TASKS)
    )
    if viewer.role == Role.ADMIN:
        return where
    return where & or_(WorkItem.assignee_id == viewer.id, claimable_by(viewer))


def approval_queue(session: Session, viewer: User, *, now: datetime) -> list[ApprovalRow]:
    """Oldest due first (the ones about to escalate on top)."""
    found = session.execute(
        select(WorkItem, ProcessInstance.data, ProcessInstance.started_at)
        .join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)
        .where(approval_tasks(viewer))
        .order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.created_at, WorkItem.seq)
        .limit(MAX_ROWS)
    ).all()
    rows = []
    for item, data, started_at in found:
        data = data if isinstance(data, dict) else {}
        deal_id = data.get("deal_id")
        rows.append(
            ApprovalRow(
                item=item,
                overdue=item.due_at is not None and item.due_at < now,
                submitted_at=started_at or item.created_at,
                deal_id=deal_id if isinstance(deal_id, int) else None,
                quote_comment=data.get("quote_comment") or None,
                customer_id=customer_id_of(item.business_key),
            )
        )
    _attach_deals(session, rows)
    return rows


def _attach_deals(session: Session, rows: list[ApprovalRow]) -> None:
    deal_ids = {r.deal_id for r in rows if r.deal_id is not None}
    deals = (
        {d.id: d for d in session.scalars(select(Deal).where(Deal.id.in_(deal_ids)))}
        if deal_ids
        else {}
    )
    customer_ids = {r.customer_id for r in rows if r.customer_id is not None}
    customer_ids |= {d.customer_id for d in deals.values()}
    names = (
        dict(
            session.execute(
                select(Customer.id, Customer.name).where(
                    Customer.id.in_(customer_ids), Customer.erased_at.is_(None)
                )
            ).all()
        )
        if customer_ids
        else {}
    )
    owner_ids = {d.owner_id for d in deals.values() if d.owner_id is not None}
    agents = (
        dict(
            session.execute(select(User.id, User.display_name).where(User.id.in_(owner_ids))).all()
        )
        if owner_ids
        else {}
    )
    for row in rows:
        deal = deals.get(row.deal_id) if row.deal_id is not None else None
        if deal is not None:
            row.deal_title, row.amount, row.currency = deal.title, deal.amount, deal.currency
            row.discount_pct = deal.discount_pct
            row.agent_name = agents.get(deal.owner_id) if deal.owner_id else None
            row.customer_id = deal.customer_id
        row.customer_name = names.get(row.customer_id) if row.customer_id else None
        if row.customer_name is None:
            row.customer_id = None
