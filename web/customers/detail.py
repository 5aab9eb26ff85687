"""The customer 360 page: details, deals, one timeline, edit and note forms, click-to-call.

Every view is audited (one INSERT). Another agent's customer is "not found", like in the API.
Edits go through ``crm.customers.update_customer``: the same rules and messages as the API.
"""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from crm import audit
from crm.customers import get_customer, update_customer
from crm.deals import deals_of_customer
from crm.models import Customer, LeadStage, Team, User
from crm.notes import add_note
from crm.phones import display_phone, mask_phone
from crm.scoping import may_change_phone
from dialflow.errors import Conflict, DialflowError, Forbidden, InvalidInput
from engine.dialing import may_see_number, start_call
from engine.models import ProcessVersion
from engine.timeline import customer_timeline
from processes import settings as process_settings
from web.auth import _safe_next
from web.context import runtime, settings, unit_of_work
from web.customers import customers_bp
from web.forms_schema import bilingual
from web.labels import (
    change_label,
    deal_stage_label,
    disposition_label,
    instance_status_label,
    task_status_label,
)
from web.service_messages import localize, task_title

CALL_REFUSALS = {
    "do_not_call": _l("This customer is on the do-not-call list."),
    "no_consent": _l("This customer has not consented to be called."),
    "erased": _l("This customer's data was erased; they are not called."),
    "outside_calling_window": _l(
        "It is outside the customer's calling window now; call them during their calling hours."
    ),
    "daily_attempt_cap": _l("This customer was already called as often as allowed today."),
    "no_phone": _l("This customer has no phone number."),
}
TIMELINE_PAGE = 30
MAX_TIMELINE_PAGE = 160  # 160 × 30 stays within the timeline's paging depth
TEXT_FIELDS = (
    "name",
    "company",
    "email",
    "address",
    "region",
    "timezone",
    "source",
    "dnc_reason",
    "notes",
)
USER_FIELDS = (
    "author_id",
    "agent_id",
    "actor_id",
    "changed_by_id",
    "assignee_id",
    "completed_by_id",
)


@customers_bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "deal_stage_label": deal_stage_label,
        "disposition_label": disposition_label,
        "task_status_label": task_status_label,
        "instance_status_label": instance_status_label,
        "change_label": change_label,
        "step_name": _step_name,
    }


@customers_bp.get("/customers/<int:customer_id>")
@login_required
def customer_page(customer_id: int) -> ResponseReturnValue:
    # Read and render without the write lock (SQLite); then the audit entry, one INSERT.
    with unit_of_work(read_only=True) as db:
        html = render_template("customers/detail.html", **_page(db, customer_id))
    with unit_of_work() as db:
        audit.record(
            db,
            actor=current_user,
            action="view",
            entity_type="customer",
            entity_id=customer_id,
            source="web",
        )
    return html


@customers_bp.post("/customers/<int:customer_id>/edit")
@login_required
def edit_customer(customer_id: int) -> ResponseReturnValue:
    """Save the edit form, all of it or nothing. Phones submitted by someone who may not change
    them (a crafted form: theirs shows the numbers read-only, if at all) refuse the whole save
    with an error on the phones field, like every other refused field."""
    data = _form_input(request.form)
    try:
        with unit_of_work() as db:
            update_customer(
                db, customer_id, data, actor=current_user, region=settings().default_region
            )
    except (InvalidInput, Conflict, Forbidden) as exc:
        with unit_of_work(read_only=True) as db:
            context = _page(db, customer_id, submitted=request.form, errors=_field_errors(exc))
        status = 403 if isinstance(exc, Forbidden) else 422
        return render_template("customers/detail.html", **context), status
    flash(_("The customer was saved."), "success")
    return redirect(url_for("customers.customer_page", customer_id=customer_id))


@customers_bp.post("/customers/<int:customer_id>/notes")
@login_required
def post_note(customer_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as db:
            add_note(db, customer_id, request.form.get("text", ""), actor=current_user)
    except InvalidInput as exc:
        with unit_of_work(read_only=True) as db:
            context = _page(
                db,
                customer_id,
                note_error=localize(exc.message),
                note_text=request.form.get("text", ""),
            )
        return render_template("customers/detail.html", **context), 422
    flash(_("The note was added."), "success")
    return redirect(url_for("customers.customer_page", customer_id=customer_id))


@customers_bp.post("/customers/<int:customer_id>/call")
@login_required
def click_to_call(customer_id: int) -> ResponseReturnValue:
    """Log an outbound call now; the agent sets its disposition in their task afterwards."""
    try:
        with unit_of_work() as db:
            window, daily_cap = process_settings.calling_rules(db, get_customer(db, customer_id))
            start_call(
                db,
                customer_id,
                actor=current_user,
                window=window,
                daily_cap=daily_cap,
                now=runtime().clock.now(),
                region=settings().default_region,
            )
    except Conflict as exc:
        flash(str(CALL_REFUSALS.get(exc.code, exc.message)), "error")
    else:
        flash(_("The outbound call was logged. Set its outcome in your task."), "success")
    target = request.form.get("next")  # the task page's form comes back to the task
    if target:
        return redirect(_safe_next(target))
    return redirect(url_for("customers.customer_page", customer_id=customer_id))


def _page(
    db: Session,
    customer_id: int,
    *,
    submitted: MultiDict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    note_error: str | None = None,
    note_text: str = "",
) -> dict[str, Any]:
    customer = get_customer(db, customer_id, viewer=current_user)
    reveal = may_see_number(db, current_user, customer)
    region = settings().default_region
    page = min(max(1, request.args.get("page", 1, type=int) or 1), MAX_TIMELINE_PAGE)
    entries, total = customer_timeline(
        runtime().engine,
        db,
        customer.id,
        viewer=current_user,
        limit=TIMELINE_PAGE,
        offset=(page - 1) * TIMELINE_PAGE,
    )
    timeline = [{**entry.to_dict(), "at_value": entry.at} for entry in entries]
    phones = [
        display_phone(p.e164, region) if reveal else mask_phone(p.e164) for p in customer.phones
    ]
    return {
        "customer": customer,
        "phones": phones,
        "tel": customer.primary_phone if reveal and not customer.do_not_call else None,
        "reveal": reveal,
        "phones_editable": may_change_phone(current_user, customer),
        "owner": db.get(User, customer.owner_id) if customer.owner_id else None,
        "team": db.get(Team, customer.team_id) if customer.team_id else None,
        "deals": deals_of_customer(db, customer.id),
        "timeline": timeline,
        "names": _names(db, timeline),
        "process_names": _process_names(db, timeline),
        "page": page,
        "pages": max(1, min(MAX_TIMELINE_PAGE, -(-total // TIMELINE_PAGE))),
        "total": total,
        "form": submitted if submitted is not None else _form_values(customer),
        "errors": errors or {},
        "stages": [s.value for s in LeadStage],
        "note_error": note_error,
        "note_text": note_text,
    }


def _form_values(customer: Customer) -> dict[str, Any]:
    values: dict[str, Any] = {key: getattr(customer, key) or "" for key in TEXT_FIELDS}
    values.update(
        stage=customer.stage.value,
        tags=", ".join(customer.tags),
        phones=", ".join(p.e164 for p in customer.phones),
        consent="1" if customer.consent else "",
        do_not_call="1" if customer.do_not_call else "",
    )
    return values


def _form_input(form: MultiDict[str, str]) -> dict[str, Any]:
    """The edit form as API input. Unchecked boxes are absent from a form, so they mean false;
    phones are only an input for people who may change them, and absent otherwise."""
    data: dict[str, Any] = {key: form.get(key, "") for key in TEXT_FIELDS}
    data["stage"] = form.get("stage", "")
    data["tags"] = form.get("tags", "")
    data["consent"] = "1" if form.get("consent") else "0"
    data["do_not_call"] = "1" if form.get("do_not_call") else "0"
    if "phones" in form:
        data["phones"] = [p for p in re.split(r"[,;\n]+", form.get("phones", "")) if p.strip()]
    return data


def _field_errors(exc: DialflowError) -> dict[str, list[str]]:
    """Error details by form field (``phones[1]`` and ``phone`` belong to the phones field)."""
    by_field: dict[str, list[str]] = {}
    for detail in exc.details:
        field = re.sub(r"\[\d+\]$", "", str(detail.get("field", "")))
        field = "phones" if field == "phone" else field
        by_field.setdefault(field or "_form", []).append(localize(detail.get("message", "")))
    if not by_field:
        by_field["_form"] = [localize(exc.message)]
    return by_field


def _step_name(entry: dict[str, Any]) -> str:
    """A task entry's process step: its element's name in the diagram, in the reader's language
    like process names (``bilingual``) and the shipped processes' task titles (``task_title``,
    which knows their task names); the element id when the element has no name."""
    name = entry.get("element_name")
    if not name:
        return str(entry.get("element_id") or "")
    return task_title({**entry, "title": bilingual(str(name))})


def _process_names(db: Session, timeline: list[dict[str, Any]]) -> dict[str, str]:
    """Process ids on this page → the latest version's name in the reader's language
    (the shipped diagrams are named in both languages, "Call cadence / 跟进节奏")."""
    ids = {entry["process_id"] for entry in timeline if entry.get("process_id")}
    if not ids:
        return {}
    rows = db.execute(
        select(ProcessVersion.process_id, ProcessVersion.name)
        .where(ProcessVersion.process_id.in_(ids))
        .order_by(ProcessVersion.process_id, ProcessVersion.version)
    )
    return {process_id: bilingual(name) for process_id, name in rows if name}


def _names(db: Session, timeline: list[dict[str, Any]]) -> dict[int, str]:
    ids = {entry[key] for entry in timeline for key in USER_FIELDS if entry.get(key)}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}
