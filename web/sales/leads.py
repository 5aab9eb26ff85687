"""``/leads/new``: the web form door of lead intake (``processes.telesales.submit_lead``)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from crm.models import Customer, PoolStatus
from crm.scoping import visible_customers
from dialflow.errors import InvalidInput
from processes import telesales
from web.context import runtime, settings, unit_of_work
from web.sales import field_messages, sales_bp

FIELDS = ("name", "phone", "email", "company", "region", "source", "notes")
MAX_FIELD = 2000


@sales_bp.get("/leads/new")
@login_required
def new_lead() -> ResponseReturnValue:
    return render_template("sales/lead_form.html", form={}, errors={}, result=None)


@sales_bp.post("/leads/new")
@login_required
def submit_lead() -> ResponseReturnValue:
    form = {key: request.form.get(key, "").strip()[:MAX_FIELD] for key in FIELDS}
    data = {key: value for key, value in form.items() if value}
    try:
        with unit_of_work() as db:
            _instance, customer_id, duplicate = telesales.submit_lead(
                runtime().engine,
                db,
                data,
                actor=current_user,
                region=settings().default_region,
                default_timezone=settings().default_timezone,
            )
            result = _result(db, customer_id, duplicate)
    except InvalidInput as exc:
        errors = field_messages(exc.details) or {"_form": exc.message}
        return render_template("sales/lead_form.html", form=form, errors=errors, result=None), 422
    return render_template("sales/lead_form.html", form={}, errors={}, result=result)


def _result(db: Any, customer_id: int, duplicate: bool) -> dict[str, Any]:
    customer = db.get(Customer, customer_id)
    visible = db.scalar(
        select(Customer.id).where(Customer.id == customer_id, visible_customers(current_user))
    )
    return {
        "duplicate": duplicate,
        "name": customer.name,
        "customer_id": customer_id if visible else None,
        "owner": customer.owner.display_name if customer.owner else None,
        "team": customer.owner.team.name if customer.owner and customer.owner.team else None,
        "in_pool": customer.pool_status == PoolStatus.POOL,
    }
