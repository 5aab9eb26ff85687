"""The customers list (search, filters, pages) and the form that creates a customer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from crm.customers import create_customer, search_customers
from crm.models import LeadStage, Role, User
from crm.phones import display_phone, mask_phone
from crm.scoping import may_see_full_phone
from dialflow.errors import DuplicateCustomer, InvalidInput
from web import id_arg
from web.context import settings, unit_of_work
from web.service_messages import localize

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
    filters = _filters()
    with unit_of_work(read_only=True) as db:
        result = search_customers(
            db,
            viewer=current_user,
            q=q or None,
            owner_id=filters["owner_id"],
            stage=filters["stage"],
            pool=filters["pool"],
            tag=filters["tag"],
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            region=settings().default_region,
        )
        owners = _owner_choices(db)
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
        filters=filters,
        args={k: v for k, v in request.args.items() if k != "page" and v},
        owners=owners,
        stages=[stage.value for stage in LeadStage],
    )


def _filters() -> dict[str, Any]:
    """The list's filters from the query string; a value that makes no sense is ignored."""
    stage = request.args.get("stage") or None
    pool = request.args.get("pool")
    return {
        "owner_id": id_arg("owner"),
        "stage": stage if stage in {s.value for s in LeadStage} else None,
        "pool": {"1": True, "0": False}.get(pool or ""),
        "tag": (request.args.get("tag") or "").strip()[:40] or None,
    }


def _owner_choices(db: Any) -> list[tuple[int, str]]:
    """Owners the viewer may filter by: agents see themselves, managers their team."""
    user = current_user
    if user.role == Role.AGENT:
        return [(user.id, user.display_name)]
    query = select(User.id, User.display_name).where(User.active.is_(True))
    if user.role == Role.MANAGER:
        query = query.where(User.team_id == user.team_id)
    query = query.where(User.role.in_([Role.AGENT, Role.MANAGER])).order_by(User.display_name)
    return [(row.id, row.display_name) for row in db.execute(query.limit(500))]


@customers_bp.route("/customers/new", methods=["GET", "POST"])
@login_required
def new_customer() -> ResponseReturnValue:
    """Create a customer by hand (leads that should be routed go through New lead)."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {f: request.form.get(f, "").strip() for f in NEW_CUSTOMER_FIELDS}
        data: dict[str, Any] = {k: v for k, v in values.items() if v and k != "tags"}
        if values.get("tags"):
            data["tags"] = [t.strip() for t in values["tags"].replace("，", ",").split(",")]
        try:
            with unit_of_work() as db:
                customer = create_customer(
                    db,
                    data,
                    actor=current_user,
                    region=settings().default_region,
                    default_timezone=settings().default_timezone,
                )
                customer_id = customer.id
        except DuplicateCustomer as exc:
            existing = (exc.details or [{}])[0].get("existing_id")
            errors["phone"] = _("This customer already exists (#%(id)s).", id=existing)
        except InvalidInput as exc:
            errors = {
                str(d.get("field") or "name").split("[")[0]: localize(d.get("message"))
                for d in exc.details
            } or {"name": localize(exc.message)}
        else:
            flash(_("Customer created."))
            return redirect(url_for("customers.customer_page", customer_id=customer_id))
    status = 422 if errors else 200
    return render_template("customers/new.html", values=values, errors=errors), status


NEW_CUSTOMER_FIELDS = ("name", "phone", "email", "company", "region", "source", "tags", "notes")


def _shown_phone(customer) -> str:  # type: ignore[no-untyped-def]
    phone = customer.primary_phone
    if phone is None:
        return ""
    if may_see_full_phone(current_user, customer):
        return display_phone(phone, settings().default_region)
    return mask_phone(phone)


from web.customers import detail  # noqa: E402,F401  (the 360 page's routes register on import)
