"""``/pool``: the public pool (公海池), the caller's caps, and claiming a lead."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from crm.phones import display_phone, mask_phone
from crm.pool import list_pool
from crm.scoping import may_see_full_phone
from dialflow.errors import Conflict, Forbidden
from engine.models import WorkItem, WorkItemStatus
from processes import telesales
from web.context import runtime, settings, unit_of_work
from web.sales import sales_bp

PAGE_SIZE = 25
MAX_PAGE = 10_000
CLAIMERS = ("agent", "manager")

REFUSALS = {
    "daily_claim_cap_reached": _l("You reached today's claim cap. Try again tomorrow."),
    "holding_cap_reached": _l(
        "You hold as many open leads as allowed. Close or release some before claiming more."
    ),
    "already_claimed": _l("Someone claimed this lead first."),
}


@sales_bp.get("/pool")
@login_required
def pool_page() -> ResponseReturnValue:
    page = min(max(1, request.args.get("page", 1, type=int) or 1), MAX_PAGE)
    region = settings().default_region
    with unit_of_work(read_only=True) as db:
        customers, total = list_pool(
            db, current_user, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        rows = []
        for customer in customers:
            phone = customer.primary_phone
            shown = ""
            if phone:
                reveal = may_see_full_phone(current_user, customer)
                shown = display_phone(phone, region) if reveal else mask_phone(phone)
            rows.append({"customer": customer, "phone": shown})
        caps = telesales.pool_caps(runtime().engine, db, current_user)
        return render_template(
            "sales/pool.html",
            rows=rows,
            total=total,
            caps=caps,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            may_claim=current_user.role.value in CLAIMERS,
        )


@sales_bp.post("/pool/<int:customer_id>/claim")
@login_required
def claim(customer_id: int) -> ResponseReturnValue:
    rt = runtime()
    try:
        with unit_of_work() as db:
            _id, instance = telesales.claim_from_pool(
                rt.engine, db, customer_id, actor=current_user
            )
            task_id = db.scalar(
                select(WorkItem.id).where(
                    WorkItem.instance_id == instance.id, WorkItem.status == WorkItemStatus.OPEN
                )
            )
    except Conflict as exc:
        flash(str(REFUSALS.get(exc.code, exc.message)), "error")
        return redirect(url_for("sales.pool_page"))
    except Forbidden:
        flash(_("Only agents and managers claim leads from the pool."), "error")
        return redirect(url_for("sales.pool_page"))
    if task_id:
        link = Markup('<a href="{}">{}</a>').format(
            url_for("task.show", task_id=task_id), _("Open the call task")
        )
        flash(Markup("{} {}").format(_("The lead is yours."), link), "ok")
    else:
        flash(
            _("The lead is yours. Its call task appears in your inbox when it may be called."), "ok"
        )
    return redirect(url_for("sales.pool_page"))
