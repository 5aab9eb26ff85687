"""``/tasks/<id>``: the task's form beside a compact customer panel; claim and release."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from crm import audit
from crm.models import User
from crm.snapshot import customer_snapshot
from dialflow.errors import DialflowError
from engine import form_conditions
from engine.errors import FormInvalid, TaskConflict, TaskNotFound
from engine.forms import form_values, validate_form_data
from engine.inbox import customer_id_of
from engine.models import InstanceStatus, WorkItem, WorkItemStatus
from engine.tasks import (
    SUPERVISORS,
    claim,
    complete,
    form_sources,
    get_work_item,
    may_work_on,
    unclaim,
)
from web.auth import _safe_next
from web.context import runtime, settings, unit_of_work
from web.forms_schema import build_fields, field_errors, parse_submission
from web.inbox import user_zone
from web.service_messages import task_title

task_bp = Blueprint("task", __name__)

# Domain messages are English; the page says the same in the reader's language.
REFUSALS = {
    "task_assigned": _l("Someone else is working on this task."),
    "task_closed": _l("This task is already closed."),
    "task_conflict": _l("This task was completed or changed in the meantime."),
    "not_a_candidate": _l("This task is for another team or role."),
    "task_not_found": _l("This task does not exist."),
}


def refusal(exc: DialflowError) -> str:
    return str(REFUSALS.get(exc.code, exc.message))


@task_bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def show(task_id: str) -> ResponseReturnValue:
    zone = user_zone(current_user)
    with unit_of_work(read_only=True) as db:
        item = _visible_item(db, task_id, current_user)
        context = _context(db, item)
    _audit_snapshot(context)
    if item.status != WorkItemStatus.OPEN:
        return render_template("task/page.html", **context, closed=True), 409
    if request.method == "GET":
        return render_template(
            "task/page.html",
            **context,
            fields=build_fields(item.form_schema, tz=zone, values=context["values"]),
        )

    schema = item.form_schema
    submission = parse_submission(schema, request.form, tz=zone)
    errors, general = dict(submission.errors), []
    try:
        if errors:  # report the schema's complaints about the other fields at the same time
            validate_form_data(schema, submission.data, context["condition_context"])
        else:
            with unit_of_work() as db:
                row = complete(runtime().engine, db, task_id, submission.data, actor=current_user)
                # kept out (``engine.state_limit``): the instance is in error, the task open
                kept_out = (
                    row.status == InstanceStatus.ERROR
                    and get_work_item(db, task_id, lock=True).status == WorkItemStatus.OPEN
                )
            if kept_out:
                message = _l(
                    "“%(title)s” was not completed: the process's data would grow too large "
                    "after it. A process owner sees the incident; complete the task again once "
                    "it is fixed.",
                    title=task_title(item),
                )
                flash(message, "error")
                return redirect(url_for("task.show", task_id=task_id))
            flash(_l("Task “%(title)s” completed.", title=task_title(item)), "ok")
            return redirect(url_for("inbox.index"))
    except FormInvalid as exc:
        more, general = field_errors(schema, exc.details)
        errors = {**more, **errors}
    except TaskConflict as exc:
        context["conflict"] = refusal(exc)
        return render_template("task/page.html", **context, closed=True), 409
    except DialflowError as exc:
        general = [refusal(exc)]
    fields = build_fields(
        schema, submitted=request.form, errors=errors, tz=zone, values=context["values"]
    )
    page = render_template("task/page.html", **context, fields=fields, general_errors=general)
    return page, 422


@task_bp.post("/tasks/<task_id>/claim")
@login_required
def claim_task(task_id: str) -> ResponseReturnValue:
    return _take_or_release(task_id, take=True)


@task_bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim_task(task_id: str) -> ResponseReturnValue:
    return _take_or_release(task_id, take=False)


def _take_or_release(task_id: str, *, take: bool) -> ResponseReturnValue:
    """Claim or release, then back where the button was; a refusal is a message, not a page."""
    try:
        with unit_of_work() as db:
            if take:
                item = claim(db, task_id, actor=current_user, now=runtime().clock.now())
                message = _l("You claimed “%(title)s”.", title=task_title(item))
            else:
                item = unclaim(db, task_id, actor=current_user)
                message = _l("“%(title)s” is back in the group queue.", title=task_title(item))
        flash(message, "ok")
    except TaskNotFound:
        raise
    except DialflowError as exc:
        flash(refusal(exc), "error")
    target = request.form.get("next")
    return redirect(_safe_next(target) if target else url_for("inbox.index"))


def _visible_item(db: Session, task_id: str, user: User) -> WorkItem:
    """404 for a task the user may not see, as if it did not exist."""
    if len(task_id) > 36:
        raise TaskNotFound("No such task.")
    item = get_work_item(db, task_id)
    if not (may_work_on(user, item) or user.role in SUPERVISORS):
        raise TaskNotFound("No such task.")
    return item


def _context(db: Session, item: WorkItem) -> dict[str, Any]:
    customer_id = customer_id_of(item.business_key)
    # Whoever holds the open task is dialing the customer: they see the number to call.
    dialing = item.status == WorkItemStatus.OPEN and item.assignee_id == current_user.id
    snapshot = (
        customer_snapshot(
            db,
            customer_id,
            viewer=current_user,
            region=settings().default_region,
            dialing=dialing,
        )
        if customer_id is not None
        else None
    )
    names = {u.id: u.display_name for u in _users(db, item)}
    return {
        "item": item,
        "snapshot": snapshot,
        "assignee": names.get(item.assignee_id or 0),
        "completed_by": names.get(item.completed_by_id or 0),
        "mine": item.assignee_id == current_user.id,
        "candidates": item.candidate_names,
        **_shown_values(db, item),
    }


def _shown_values(db: Session, item: WorkItem) -> dict[str, Any]:
    """The instance's values of the form's fields (``engine.forms.form_values``): read-only
    fields show them, the others start with them, as the API's ``values`` says; and what the
    fields' hide conditions read besides the form (``engine.form_conditions``)."""
    data, answered = form_sources(db, [item]).get(item.instance_id, (None, frozenset()))
    instance = {**(data or {}), **(item.item_values or {})}
    return {
        "values": form_values(item.form_schema, data, answered, item.item_values),
        "condition_context": form_conditions.context_of(item.form_schema, instance),
        "hide_context": form_conditions.variables_read(item.form_schema, instance),
    }


def _audit_snapshot(context: dict[str, Any]) -> None:
    """The customer panel is a customer view: audited like the customer page (one INSERT)."""
    snapshot = context.get("snapshot")
    if snapshot is None:
        return
    with unit_of_work() as db:
        audit.record(
            db,
            actor=current_user,
            action="view",
            entity_type="customer",
            entity_id=snapshot.customer.id,
            source="web_task",
        )


def _users(db: Session, item: WorkItem) -> list[User]:
    ids = {i for i in (item.assignee_id, item.completed_by_id) if i is not None}
    return [u for u in (db.get(User, i) for i in ids) if u is not None]
