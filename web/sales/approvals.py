"""``/approvals``: discount approvals waiting for the signed-in approver, decided inline."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from dialflow.errors import DialflowError
from engine.errors import FormInvalid, TaskConflict, TaskNotFound
from engine.forms import validate_form_data
from engine.tasks import complete, get_work_item, may_work_on
from processes.approvals import APPROVER_TASKS, approval_queue
from processes.telesales import DEAL_APPROVAL
from web.context import runtime, unit_of_work
from web.forms_schema import field_errors, parse_submission
from web.inbox import user_zone
from web.labels import deal_stage_label
from web.sales import MANAGERS, roles_required, sales_bp
from web.service_messages import task_title
from web.task_page import refusal


def _page(errors: dict[str, Any] | None = None, status: int = 200) -> ResponseReturnValue:
    now = runtime().clock.now()
    with unit_of_work(read_only=True) as db:
        rows = approval_queue(db, current_user, now=now)
        html = render_template(
            "sales/approvals.html",
            rows=rows,
            now=now,
            errors=errors or {},
            zone=str(user_zone(current_user)),
            deal_stage_label=deal_stage_label,
        )
    return html, status


@sales_bp.get("/approvals")
@roles_required(*MANAGERS)
def approvals() -> ResponseReturnValue:
    return _page()


@sales_bp.post("/approvals/<task_id>")
@roles_required(*MANAGERS)
def decide(task_id: str) -> ResponseReturnValue:
    """Approve, reject or send back through ``engine.tasks.complete`` (the API's door)."""
    if len(task_id) > 36:
        raise TaskNotFound("No such task.")
    with unit_of_work(read_only=True) as db:
        item = get_work_item(db, task_id)
        if (
            item.process_id != DEAL_APPROVAL
            or item.element_id not in APPROVER_TASKS
            or not may_work_on(current_user, item)
        ):
            raise TaskNotFound("No such task.")
        schema, title = item.form_schema, task_title(item)
    submission = parse_submission(schema, request.form, tz=user_zone(current_user))
    errors = dict(submission.errors)
    try:
        if errors:
            validate_form_data(schema, submission.data)
        else:
            with unit_of_work() as db:
                complete(runtime().engine, db, task_id, submission.data, actor=current_user)
            flash(_("Decision recorded: “%(title)s”.", title=title), "ok")
            return redirect(url_for("sales.approvals"))
    except FormInvalid as exc:
        more, general = field_errors(schema, exc.details)
        errors = {**more, **errors}
        if general:
            errors["_form"] = general[0]
    except TaskConflict as exc:
        flash(refusal(exc), "error")
        return redirect(url_for("sales.approvals"))
    except DialflowError as exc:
        errors["_form"] = refusal(exc)
    row_errors = {task_id: {"fields": errors, "form": request.form}}
    return _page(row_errors, 422)
