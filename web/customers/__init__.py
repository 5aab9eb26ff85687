"""The customers list page (the full customer workspace comes with the web layer)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from crm.customers import search_customers
from crm.phones import display_phone, mask_phone
from crm.scoping import may_see_full_phone
from web.context import settings, unit_of_work

customers_bp = Blueprint("customers", __name__)
PAGE_SIZE = 25
MAX_PAGE = 100_000


@customers_bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("customers.list_customers"))


@customers_bp.get("/customers")
@login_required
def list_customers() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()[:100]
    page = min(max(1, request.args.get("page", 1, type=int) or 1), MAX_PAGE)
    with unit_of_work(read_only=True) as db:
        result = search_customers(
            db,
            viewer=current_user,
            q=q or None,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            region=settings().default_region,
        )
        rows = [
            {
                "customer": c,
                "phone": _shown_phone(c),
                "owner": c.owner.display_name if c.owner else None,
            }
            for c in result.items
        ]
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render_template(
        "customers/list.html",
        rows=rows,
        total=result.total,
        total_capped=result.total_capped,
        q=q,
        page=page,
        pages=pages,
    )


def _shown_phone(customer) -> str:  # type: ignore[no-untyped-def]
    phone = customer.primary_phone
    if phone is None:
        return ""
    if may_see_full_phone(current_user, customer):
        return display_phone(phone, settings().default_region)
    return mask_phone(phone)


from web.customers import detail  # noqa: E402,F401  (the 360 page's routes register on import)
