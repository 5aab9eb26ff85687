"""``/pipeline``: deals by stage with counts and totals, filters, and a stage change per card."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.deals import update_deal
from crm.models import DealStage, Role, Team, User
from crm.pipeline import pipeline
from dialflow.errors import InvalidInput
from web.auth import _safe_next
from web.context import unit_of_work
from web.labels import deal_stage_label
from web.sales import sales_bp
from web.service_messages import deal_title

# A deal reaches "approval" only with a quote (POST /api/v1/deals/{id}/quote): the process
# that decides it starts there, so the board does not offer it.
MOVABLE = [s.value for s in DealStage if s != DealStage.APPROVAL]


def _filters(db: Session) -> tuple[list[Team], list[User]]:
    """Teams and owners the viewer may filter by."""
    role = current_user.role
    if role in (Role.DIRECTOR, Role.ADMIN, Role.PROCESS_OWNER):
        teams = list(db.scalars(select(Team).order_by(Team.name)))
        owners = select(User).where(User.role.in_([Role.AGENT, Role.MANAGER]))
    elif role == Role.MANAGER and current_user.team_id is not None:
        teams = [current_user.team]
        owners = select(User).where(User.team_id == current_user.team_id)
    else:
        return [], [db.get(User, current_user.id)]
    return teams, list(db.scalars(owners.where(User.active.is_(True)).order_by(User.display_name)))


def _int_arg(name: str, allowed: set[int]) -> int | None:
    value = request.args.get(name, type=int)
    return value if value in allowed else None


@sales_bp.get("/pipeline")
@login_required
def pipeline_board() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        teams, owners = _filters(db)
        owner_id = _int_arg("owner", {u.id for u in owners})
        team_id = _int_arg("team", {t.id for t in teams})
        columns = pipeline(db, current_user, owner_id=owner_id, team_id=team_id)
        names: dict[Any, str] = dict(db.execute(select(User.id, User.display_name)).all())
        return render_template(
            "sales/pipeline.html",
            columns=columns,
            teams=teams,
            owners=owners,
            owner_id=owner_id,
            team_id=team_id,
            names=names,
            movable=MOVABLE,
            deal_stage_label=deal_stage_label,
        )


@sales_bp.post("/pipeline/deals/<int:deal_id>/stage")
@login_required
def move_deal(deal_id: int) -> ResponseReturnValue:
    """The same use case as ``PATCH /api/v1/deals/{id}``; a win starts the after-sale."""
    stage = request.form.get("stage", "").strip()
    comment = request.form.get("comment", "").strip()
    back = _safe_next(request.form.get("next") or url_for("sales.pipeline_board"))
    if stage not in MOVABLE:
        flash(_("Choose a stage. A deal goes to approval when its quote is submitted."), "error")
        return redirect(back)
    try:
        with unit_of_work() as db:
            deal = update_deal(
                db, deal_id, {"stage": stage, "comment": comment or None}, actor=current_user
            )
            message = _(
                "“%(title)s” moved to %(stage)s.",
                title=deal_title(deal.title),
                stage=deal_stage_label(deal.stage.value),
            )
        flash(message, "ok")
    except InvalidInput:
        flash(_("The stage change was not saved: the comment is too long."), "error")
    return redirect(back)
