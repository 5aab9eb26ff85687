"""Settings → Webhooks (administrators): subscriptions, their recent deliveries, redeliver.

The pages call the same use cases as ``/api/v1/webhooks`` (``crm.webhooks.subscriptions``).
A new or rotated secret is rendered into the response once, never put in a flash message
(which would travel in the session cookie).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session

from crm.webhooks import subscriptions as hooks
from crm.webhooks.catalog import EVENT_TYPES
from crm.webhooks.targets import REFUSED_CODE, TargetPolicy
from dialflow.errors import Conflict, InvalidInput
from web.context import settings, unit_of_work
from web.sales import roles_required

webhooks_bp = Blueprint("webhooks", __name__, url_prefix="/settings/webhooks")

EVENT_LABELS = {
    "customer.created": _l("Customer created"),
    "call.logged": _l("Call logged"),
    "deal.stage_changed": _l("Deal stage changed"),
    "deal.won": _l("Deal won"),
    "deal.lost": _l("Deal lost"),
    "task.completed": _l("Task completed"),
    "process_instance.completed": _l("Process instance completed"),
    "process_instance.incident": _l("Process incident"),
    "webhook.test": _l("Test event"),
}
STATUS_LABELS = {
    "pending": _l("Pending"),
    "sending": _l("Sending"),
    "delivered": _l("Delivered"),
    "failed": _l("Failed"),
}
FIELD_MESSAGES = {
    "url": _l("Enter an http:// or https:// address, without a user name or password."),
    "event_types": _l("Choose at least one event type."),
    "description": _l("At most 500 characters, and no control characters."),
}
TARGET_KINDS = {
    "loopback": _l("a loopback address (this machine)"),
    "link-local": _l("a link-local address (such as the cloud metadata service 169.254.169.254)"),
    "unspecified": _l("an unspecified address"),
    "multicast": _l("a multicast address"),
    "private": _l("a private network address"),
    "reserved": _l("a reserved, non-public address"),
}
CONFLICTS = {
    "subscription_disabled": _l("Enable the webhook before redelivering."),
    "delivery_in_progress": _l("The delivery is being sent right now; try again in a minute."),
}
RECENT = 50


@webhooks_bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"webhook_event_label": _event_label, "webhook_status_label": _status_label}


def _event_label(event_type: str) -> str:
    return str(EVENT_LABELS.get(event_type, event_type))


def _status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def _form_data() -> dict[str, Any]:
    return {
        "url": request.form.get("url", "").strip()[:3000],
        "description": request.form.get("description", "").strip()[:1000] or None,
        "event_types": request.form.getlist("event_types"),
    }


def _field_message(detail: dict[str, Any]) -> str:
    if detail.get("code") == REFUSED_CODE:
        kind = TARGET_KINDS.get(detail.get("kind", ""), detail.get("kind"))
        return _(
            "This address is %(kind)s. Webhooks go only to public addresses, unless the "
            "server's DIALFLOW_WEBHOOK_ALLOWED_TARGETS setting allows it.",
            kind=kind,
        )
    return str(FIELD_MESSAGES.get(detail.get("field"), detail.get("message")))


def _list_page(db: Session, *, values: dict[str, Any] | None = None, errors: dict | None = None):
    return render_template(
        "webhooks/list.html",
        subscriptions=hooks.list_subscriptions(db),
        counts=hooks.delivery_counts(db),
        event_types=list(EVENT_TYPES),
        values=values or {"event_types": []},
        errors=errors or {},
    )


def _detail_page(db: Session, subscription_id: int, *, secret: str | None = None) -> Response:
    """The subscription's page; one showing a new secret is not to be cached anywhere."""
    subscription = hooks.get_subscription(db, subscription_id)
    deliveries, total = hooks.list_deliveries(db, subscription_id, limit=RECENT)
    response = make_response(
        render_template(
            "webhooks/detail.html",
            subscription=subscription,
            deliveries=deliveries,
            total=total,
            secret=secret,
        )
    )
    if secret is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@webhooks_bp.get("")
@roles_required("admin")
def list_page() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        return _list_page(db)


@webhooks_bp.post("")
@roles_required("admin")
def create() -> ResponseReturnValue:
    values = _form_data()
    try:
        with unit_of_work() as db:
            subscription, secret = hooks.create_subscription(
                db, values, actor=current_user, targets=TargetPolicy.from_settings(settings())
            )
            subscription_id = subscription.id
    except InvalidInput as exc:
        errors = {d.get("field"): _field_message(d) for d in exc.details}
        with unit_of_work(read_only=True) as db:
            return _list_page(db, values=values, errors=errors), 422
    flash(_("Webhook created. Copy its secret now: it is shown only once."), "ok")
    with unit_of_work(read_only=True) as db:
        return _detail_page(db, subscription_id, secret=secret), 201


@webhooks_bp.get("/<int:subscription_id>")
@roles_required("admin")
def detail_page(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        return _detail_page(db, subscription_id)


@webhooks_bp.post("/<int:subscription_id>/active")
@roles_required("admin")
def set_active(subscription_id: int) -> ResponseReturnValue:
    active = request.form.get("active") == "1"
    with unit_of_work() as db:
        hooks.update_subscription(db, subscription_id, {"active": active}, actor=current_user)
    flash(_("Webhook enabled.") if active else _("Webhook disabled."), "ok")
    return redirect(url_for("webhooks.detail_page", subscription_id=subscription_id))


@webhooks_bp.post("/<int:subscription_id>/test")
@roles_required("admin")
def send_test(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        hooks.send_test(db, subscription_id, actor=current_user)
    flash(_("Test event queued; reload to see how it was delivered."), "ok")
    return redirect(url_for("webhooks.detail_page", subscription_id=subscription_id))


@webhooks_bp.post("/<int:subscription_id>/secret")
@roles_required("admin")
def rotate_secret(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        secret = hooks.rotate_secret(db, subscription_id, actor=current_user)
    flash(_("New secret created. Copy it now: it is shown only once."), "ok")
    with unit_of_work(read_only=True) as db:
        return _detail_page(db, subscription_id, secret=secret)


@webhooks_bp.post("/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver")
@roles_required("admin")
def redeliver(subscription_id: int, delivery_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as db:
            hooks.redeliver(db, subscription_id, delivery_id, actor=current_user)
    except Conflict as exc:
        flash(str(CONFLICTS.get(exc.code, exc.message)), "error")
    else:
        flash(_("Delivery queued again."), "ok")
    return redirect(url_for("webhooks.detail_page", subscription_id=subscription_id))


@webhooks_bp.post("/<int:subscription_id>/delete")
@roles_required("admin")
def delete(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        hooks.delete_subscription(db, subscription_id, actor=current_user)
    flash(_("Webhook deleted."), "ok")
    return redirect(url_for("webhooks.list_page"))
