"""The agent's inbox: my tasks, my groups' claimable tasks and due callbacks in one queue.

Reads the work-item tables only (three queries: counts, the page, customer names); no
workflow is loaded. A *callback* is a work item of kind ``callback`` (the user task's
``kind`` property, an expression; the shipped call cadence sets it after a requested
callback); callbacks show up once due by the ``horizon`` (the end of the agent's day), the
rest wait out of sight.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, defer

from crm.models import Customer, User
from engine.models import WorkItem, WorkItemStatus
from engine.task_order import DEFAULT_ORDER, TaskOrder, order_by
from engine.tasks import mine_or_claimable

CALLBACK_KIND = "callback"

MAX_ROWS = 200
MAX_CUSTOMER_ID = 2**31 - 1


class InboxKind(enum.StrEnum):
    MINE = "mine"
    CLAIMABLE = "claimable"
    CALLBACK = "callback"
    OVERDUE = "overdue"


@dataclass
class InboxRow:
    item: WorkItem
    kind: InboxKind  # mine, claimable or callback
    overdue: bool
    customer_id: int | None = None
    customer_name: str | None = None
    # Its follow-up date (``follow_up_at``) has come: the page marks it "follow up now".
    follow_up_now: bool = False


@dataclass
class Inbox:
    rows: list[InboxRow]
    counts: dict[InboxKind, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return (
            self.counts[InboxKind.MINE]
            + self.counts[InboxKind.CLAIMABLE]
            + self.counts[InboxKind.CALLBACK]
        )


def is_callback(item: WorkItem) -> bool:
    return item.kind == CALLBACK_KIND


def customer_id_of(business_key: str | None) -> int | None:
    """Telesales processes use the customer id as business key; other keys are not ids."""
    if business_key and business_key.isascii() and business_key.isdigit():
        value = int(business_key)
        return value if 0 < value <= MAX_CUSTOMER_ID else None
    return None


def load_inbox(
    session: Session,
    viewer: User,
    *,
    now: datetime,
    horizon: datetime,
    kind: InboxKind | None = None,
    order: TaskOrder = DEFAULT_ORDER,
    limit: int = MAX_ROWS,
) -> Inbox:
    """Rows in ``order`` (``engine.task_order``); ``kind`` narrows the rows, not the counts."""
    mine = WorkItem.assignee_id == viewer.id
    # Within the shown items (mine or claimable), the unassigned ones are the claimable ones.
    claimable = WorkItem.assignee_id.is_(None)
    callback = func.coalesce(WorkItem.kind, "") == CALLBACK_KIND
    due_callback = callback & WorkItem.due_at.is_not(None) & (WorkItem.due_at <= horizon)
    overdue = WorkItem.due_at.is_not(None) & (WorkItem.due_at < now)
    shown = and_(
        WorkItem.status == WorkItemStatus.OPEN,
        mine_or_claimable(viewer),
        or_(not_(callback), due_callback),
    )
    conditions = {
        InboxKind.MINE: mine & not_(callback),
        InboxKind.CLAIMABLE: claimable & not_(callback),
        InboxKind.CALLBACK: due_callback,
        InboxKind.OVERDUE: overdue,
    }
    totals = session.execute(
        select(*[func.coalesce(func.sum(case((c, 1), else_=0)), 0) for c in conditions.values()])
        .select_from(WorkItem)
        .where(shown)
    ).one()
    counts = {k: int(v) for k, v in zip(conditions, totals, strict=True)}

    # The form is read when a task is opened, not for the list: 200 rows × ~1.5 KB of JSON.
    query = select(WorkItem).where(shown).options(defer(WorkItem.form_schema))
    if kind is not None:
        query = query.where(conditions[kind])
    query = query.order_by(*order_by(order, now=now)).limit(max(1, min(limit, MAX_ROWS)))
    items = session.scalars(query).all()
    rows = [
        InboxRow(
            item=item,
            kind=_kind_of(item, viewer),
            overdue=item.due_at is not None and item.due_at < now,
            customer_id=customer_id_of(item.business_key),
            follow_up_now=item.follow_up_at is not None and item.follow_up_at <= now,
        )
        for item in items
    ]
    _attach_customer_names(session, rows)
    return Inbox(rows=rows, counts=counts)


def _kind_of(item: WorkItem, viewer: User) -> InboxKind:
    if is_callback(item):
        return InboxKind.CALLBACK
    return InboxKind.MINE if item.assignee_id == viewer.id else InboxKind.CLAIMABLE


def _attach_customer_names(session: Session, rows: list[InboxRow]) -> None:
    """One query for every row's customer; erased customers show no name."""
    ids = {row.customer_id for row in rows if row.customer_id is not None}
    if not ids:
        return
    names: dict[int, Any] = dict(
        session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_(ids), Customer.erased_at.is_(None)
            )
        ).all()
    )
    for row in rows:
        if row.customer_id is not None:
            row.customer_name = names.get(row.customer_id)
            if row.customer_name is None:
                row.customer_id = None
