"""``/team``: a manager's team at a glance, task reassignment and agents' daily lead caps."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from crm.models import Team
from dialflow.errors import DialflowError, InvalidInput, NotFound
from engine.task_order import DEFAULT_ORDER, page_order
from processes.team_board import (
    agent_loads,
    may_manage,
    members,
    reassign,
    set_lead_cap,
    team_tasks,
    teams_for,
)
from web import id_arg
from web.context import runtime, unit_of_work
from web.inbox import ORDER_CHOICES, user_zone
from web.sales import MANAGERS, roles_required, sales_bp
from web.service_messages import task_title
from web.task_page import refusal


def _team(db: Session, team_id: int | None) -> tuple[Team | None, list[Team]]:
    """The team shown: the manager's own; directors and admins pick (default: the first)."""
    teams = teams_for(db, current_user)
    if team_id is None:
        return (teams[0] if teams else None), teams
    team = db.get(Team, team_id)
    if team is None or not may_manage(current_user, team):
        raise NotFound("No such team.", code="team_not_found")
    return team, teams


@sales_bp.get("/team")
@roles_required(*MANAGERS)
def team_board() -> ResponseReturnValue:
    team_id = id_arg("team")
    order = page_order(request.args.get("sort"))
    now = runtime().clock.now()
    with unit_of_work(read_only=True) as db:
        team, teams = _team(db, team_id)
        return render_template(
            "sales/team.html",
            team=team,
            teams=teams,
            loads=agent_loads(db, team, now=now) if team else [],
            tasks=team_tasks(db, team, now=now, order=order) if team else [],
            agents=members(db, team) if team else [],
            order=order,
            orders=ORDER_CHOICES,
            now=now,
            zone=str(user_zone(current_user)),
        )


def _back(team_id: int) -> ResponseReturnValue:
    """To the board, in the order it was shown in (a reassignment form says which)."""
    order = page_order(request.form.get("sort"))
    sort = None if order == DEFAULT_ORDER else order.value
    return redirect(url_for("sales.team_board", team=team_id, sort=sort))


@sales_bp.post("/team/<int:team_id>/tasks/<task_id>/reassign")
@roles_required(*MANAGERS)
def reassign_task(team_id: int, task_id: str) -> ResponseReturnValue:
    if len(task_id) > 36:
        abort(404)
    try:
        with unit_of_work() as db:
            team, _teams = _team(db, team_id)
            assert team is not None
            item, target = reassign(
                db,
                team,
                task_id,
                request.form.get("user", ""),
                actor=current_user,
                now=runtime().clock.now(),
            )
            message = _(
                "“%(title)s” now belongs to %(name)s.",
                title=task_title(item),
                name=target.display_name,
            )
        flash(message, "ok")
    except InvalidInput:
        flash(_("Choose an agent of the team."), "error")
    except NotFound:
        raise
    except DialflowError as exc:  # the task closed or changed meanwhile: say so on the board
        flash(refusal(exc), "error")
    return _back(team_id)


@sales_bp.post("/team/<int:team_id>/agents/<int:user_id>/cap")
@roles_required(*MANAGERS)
def set_cap(team_id: int, user_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as db:
            team, _teams = _team(db, team_id)
            assert team is not None
            agent = set_lead_cap(
                db, team, user_id, request.form.get("daily_lead_cap"), actor=current_user
            )
            if agent.daily_lead_cap is None:
                message = _(
                    "%(name)s now follows the team's daily lead cap.", name=agent.display_name
                )
            else:
                message = _(
                    "%(name)s may now get %(cap)s leads a day.",
                    name=agent.display_name,
                    cap=agent.daily_lead_cap,
                )
        flash(message, "ok")
    except InvalidInput:
        flash(_("The daily lead cap is a whole number from 0 to 10000."), "error")
    return _back(team_id)
