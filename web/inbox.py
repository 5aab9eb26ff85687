"""``/inbox``: my tasks, my groups' claimable tasks and due callbacks, in one queue."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm.models import User
from engine.inbox import InboxKind, load_inbox
from engine.task_order import TaskOrder, page_order
from web.context import runtime, settings, unit_of_work

inbox_bp = Blueprint("inbox", __name__)

KIND_LABELS = {
    InboxKind.MINE: _l("My tasks"),
    InboxKind.CLAIMABLE: _l("Claimable"),
    InboxKind.CALLBACK: _l("Callbacks due"),
    InboxKind.OVERDUE: _l("Overdue"),
}
# The orders the inbox and the team board offer (``engine.task_order``), the default first:
# each one's name and what it does.
ORDER_CHOICES = {
    TaskOrder.URGENCY: (
        _l("Most urgent"),
        _l("Overdue first, then higher priority, then sooner due, then older"),
    ),
    TaskOrder.DUE: (_l("Due time"), _l("Sooner due first, tasks without a due time last")),
    TaskOrder.PRIORITY: (_l("Priority"), _l("Higher priority first, then sooner due")),
    TaskOrder.CREATED: (_l("Oldest first"), _l("In the order the tasks opened")),
    TaskOrder.FOLLOW_UP: (
        _l("Follow-up date"),
        _l("Follow-up date passed first, then sooner follow-up; tasks without one last"),
    ),
}


def user_zone(user: User) -> ZoneInfo:
    """The team's time zone (agents work their team's hours), else the installation's."""
    name = user.team.timezone if user.team is not None else settings().default_timezone
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo(settings().default_timezone)


def end_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=zone)


@inbox_bp.get("/inbox")
@login_required
def index() -> ResponseReturnValue:
    try:
        kind: InboxKind | None = InboxKind(request.args.get("kind", ""))
    except ValueError:
        kind = None
    order = page_order(request.args.get("sort"))
    now = runtime().clock.now()
    zone = user_zone(current_user)
    horizon = end_of_day(now, zone)
    with unit_of_work(read_only=True) as db:
        inbox = load_inbox(db, current_user, now=now, horizon=horizon, kind=kind, order=order)
    return render_template(
        "inbox/index.html",
        inbox=inbox,
        kind=kind,
        kinds=KIND_LABELS,
        order=order,
        orders=ORDER_CHOICES,
        zone=str(zone),
        now=now,
    )
