"""The orders open work items are listed in: the inbox, ``GET /api/v1/tasks``, the team board.

``urgency``, the default, is what a telesales queue does: what is already late comes first
(a callback whose time has passed, a task past its due time: as a dialer puts a callback
whose time has come ahead of the rest of the list), then the higher priority (Camunda's and
a dialer hopper's sense: a higher number is more urgent; no priority is 0, a negative one is
below it), then the sooner due (no due time last), then the older. The other orders are one
of those keys first: ``due`` (soonest due, undated last), ``priority`` (highest first),
``created`` (oldest first, as they opened), ``follow_up`` (the soonest follow-up date first, so
those whose follow-up date has passed lead, then the higher priority; no follow-up date last).

Every order ends with the item's age, its place among the items its step opened, its
instance and its id, so items that tie keep one order page after page. ``urgency`` reads the
time: an item that falls due between two pages moves up.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import case

from dialflow.errors import InvalidInput
from engine.models import WorkItem


class TaskOrder(enum.StrEnum):
    URGENCY = "urgency"
    DUE = "due"
    PRIORITY = "priority"
    CREATED = "created"
    FOLLOW_UP = "follow_up"


DEFAULT_ORDER = TaskOrder.URGENCY

# Items that tie on every key the order names: as they opened, in one fixed order.
_AS_OPENED = (WorkItem.created_at, WorkItem.seq, WorkItem.instance_id, WorkItem.id)
_SOONEST_DUE = (WorkItem.due_at.is_(None), WorkItem.due_at)  # no due time last
_HIGHEST_PRIORITY = WorkItem.priority.desc()
_SOONEST_FOLLOW_UP = (WorkItem.follow_up_at.is_(None), WorkItem.follow_up_at)  # none last


def order_by(order: TaskOrder, *, now: datetime) -> tuple[Any, ...]:
    """ORDER BY clauses listing open work items in ``order`` at the time ``now``."""
    if order == TaskOrder.DUE:
        return (*_SOONEST_DUE, _HIGHEST_PRIORITY, *_AS_OPENED)
    if order == TaskOrder.PRIORITY:
        return (_HIGHEST_PRIORITY, *_SOONEST_DUE, *_AS_OPENED)
    if order == TaskOrder.CREATED:
        return _AS_OPENED
    if order == TaskOrder.FOLLOW_UP:
        return (*_SOONEST_FOLLOW_UP, _HIGHEST_PRIORITY, *_SOONEST_DUE, *_AS_OPENED)
    late_first = case((WorkItem.due_at < now, 0), else_=1)
    return (late_first, _HIGHEST_PRIORITY, *_SOONEST_DUE, *_AS_OPENED)


def parse_order(raw: str | None) -> TaskOrder:
    """The order a client asked for (``sort``); none or empty is the default."""
    if not raw:
        return DEFAULT_ORDER
    try:
        return TaskOrder(raw)
    except ValueError:
        allowed = ", ".join(order.value for order in TaskOrder)
        raise InvalidInput(
            f"Unknown sort {raw[:40]!r}; use one of: {allowed}.",
            code="invalid_sort",
            details=[{"field": "sort", "message": f"one of: {allowed}"}],
        ) from None


def page_order(raw: str | None) -> TaskOrder:
    """The order a page was asked for; an unknown one shows the default (as an unknown tab)."""
    try:
        return TaskOrder(raw or DEFAULT_ORDER)
    except ValueError:
        return DEFAULT_ORDER
