"""``/api/v1/webhooks``: subscriptions to key events (administrators only), their delivery
log, redelivery and test events. The signing scheme is in ``crm.webhooks.signing``."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from crm.models import DeliveryStatus
from crm.webhooks import subscriptions as hooks
from crm.webhooks.catalog import EVENT_TYPES
from crm.webhooks.signing import SCHEME
from crm.webhooks.targets import TargetPolicy
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, token_required
from web.api.openapi import choice, documented
from web.api.schemas import ANY_OBJECT, BOOL, INT, STR, TIME, obj, page
from web.context import settings, unit_of_work

EVENT_TYPE = {"type": "string", "enum": list(EVENT_TYPES)}
SUBSCRIPTION = obj(
    {
        "id": INT,
        "url": STR,
        "description": {"type": "string", "nullable": True},
        "event_types": {"type": "array", "items": EVENT_TYPE},
        "active": BOOL,
        "secret_hint": STR,
        "created_by_id": {"type": "integer", "nullable": True},
        "created_at": TIME,
        "updated_at": TIME,
    }
)
WITH_SECRET = obj({**SUBSCRIPTION["properties"], "secret": STR})
DELIVERY = obj(
    {
        "id": INT,
        "subscription_id": INT,
        "event_id": STR,
        "event_type": STR,
        "status": {"type": "string", "enum": ["pending", "sending", "delivered", "failed"]},
        "attempts": INT,
        "next_attempt_at": TIME,
        "last_attempt_at": TIME,
        "last_status_code": {"type": "integer", "nullable": True},
        "last_error": {"type": "string", "nullable": True},
        "delivered_at": TIME,
        "created_at": TIME,
        "payload": ANY_OBJECT,
    }
)
INPUT = {
    "url": {
        "type": "string",
        "format": "uri",
        "description": "http:// or https://, to a public address: internal ones (loopback, "
        "link-local, private networks …) are refused with 422 webhook_target_refused unless "
        "DIALFLOW_WEBHOOK_ALLOWED_TARGETS allows them",
    },
    "event_types": {"type": "array", "items": EVENT_TYPE, "minItems": 1},
    "description": {
        "type": "string",
        "nullable": True,
        "description": "at most 500 characters; null or blank clears it",
    },
    "active": BOOL,
}
ERRORS = (401, 403, 404, 422)


@api_bp.get("/webhooks/event-types")
@documented(
    "The event types a webhook may subscribe to, with the fields of their data",
    tag="webhooks",
    errors=(401, 403),
    response=obj({"items": {"type": "array", "items": obj({"type": STR, "data": STR})}}),
)
@token_required
def get_event_types() -> ResponseReturnValue:
    hooks.ensure_admin(api_user())
    return jsonify({"items": [{"type": k, "data": v} for k, v in EVENT_TYPES.items()]})


@api_bp.get("/webhooks")
@documented(
    "Webhook subscriptions (administrators)",
    tag="webhooks",
    errors=(401, 403),
    response=page(SUBSCRIPTION),
)
@token_required
def get_webhooks() -> ResponseReturnValue:
    hooks.ensure_admin(api_user())
    with unit_of_work(read_only=True) as db:
        items = [hooks.subscription_to_dict(s) for s in hooks.list_subscriptions(db)]
    return jsonify({"items": items, "total": len(items)})


@api_bp.post("/webhooks")
@documented(
    "Subscribe a URL to events; the response holds the signing secret, shown this once",
    description=SCHEME,
    tag="webhooks",
    status=201,
    errors=(401, 403, 422),
    request=obj(INPUT, required=["url", "event_types"]),
    response=WITH_SECRET,
)
@token_required
def post_webhook() -> ResponseReturnValue:
    data = json_body(invalid_code="invalid_webhook")
    with unit_of_work() as db:
        subscription, secret = hooks.create_subscription(
            db, data, actor=api_user(), targets=TargetPolicy.from_settings(settings())
        )
        body = {**hooks.subscription_to_dict(subscription), "secret": secret}
    return jsonify(body), 201


@api_bp.get("/webhooks/<int:subscription_id>")
@documented("One webhook subscription", tag="webhooks", errors=ERRORS[:3], response=SUBSCRIPTION)
@token_required
def get_webhook(subscription_id: int) -> ResponseReturnValue:
    hooks.ensure_admin(api_user())
    with unit_of_work(read_only=True) as db:
        body = hooks.subscription_to_dict(hooks.get_subscription(db, subscription_id))
    return jsonify(body)


@api_bp.patch("/webhooks/<int:subscription_id>")
@documented(
    "Change a subscription's URL, event types, description, or disable it (active: false)",
    tag="webhooks",
    errors=ERRORS,
    request=obj(INPUT),
    response=SUBSCRIPTION,
)
@token_required
def patch_webhook(subscription_id: int) -> ResponseReturnValue:
    data = json_body(invalid_code="invalid_webhook")
    with unit_of_work() as db:
        subscription = hooks.update_subscription(
            db,
            subscription_id,
            data,
            actor=api_user(),
            targets=TargetPolicy.from_settings(settings()),
        )
        body = hooks.subscription_to_dict(subscription)
    return jsonify(body)


@api_bp.delete("/webhooks/<int:subscription_id>")
@documented(
    "Delete a subscription and its delivery log",
    tag="webhooks",
    errors=ERRORS[:3],
    response=obj({"id": INT, "deleted": BOOL}),
)
@token_required
def delete_webhook(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        hooks.delete_subscription(db, subscription_id, actor=api_user())
    return jsonify({"id": subscription_id, "deleted": True})


@api_bp.post("/webhooks/<int:subscription_id>/secret")
@documented(
    "Replace the signing secret; the new one is shown this once",
    tag="webhooks",
    errors=ERRORS[:3],
    response=obj({"id": INT, "secret": STR}),
)
@token_required
def rotate_webhook_secret(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        secret = hooks.rotate_secret(db, subscription_id, actor=api_user())
    return jsonify({"id": subscription_id, "secret": secret})


@api_bp.post("/webhooks/<int:subscription_id>/test")
@documented(
    "Send a webhook.test event to this subscription now (delivered like any event)",
    tag="webhooks",
    status=202,
    errors=ERRORS[:3],
    response=DELIVERY,
)
@token_required
def post_webhook_test(subscription_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        body = hooks.delivery_to_dict(hooks.send_test(db, subscription_id, actor=api_user()))
    return jsonify(body), 202


@api_bp.get("/webhooks/<int:subscription_id>/deliveries")
@documented(
    "The subscription's deliveries, newest first: status, attempts, last answer, next attempt",
    tag="webhooks",
    errors=ERRORS,
    response=page(DELIVERY),
    query={
        "status": choice("pending, sending, delivered or failed", DeliveryStatus),
        "limit": "page size",
        "offset": "skip",
    },
)
@token_required
def get_webhook_deliveries(subscription_id: int) -> ResponseReturnValue:
    hooks.ensure_admin(api_user())
    limit, offset = paging()
    with unit_of_work(read_only=True) as db:
        items, total = hooks.list_deliveries(
            db, subscription_id, status=request.args.get("status"), limit=limit, offset=offset
        )
        body = {"items": [hooks.delivery_to_dict(d) for d in items], "total": total}
    return jsonify(body)


@api_bp.post("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver")
@documented(
    "Send a delivery again (same event id) with a fresh set of attempts",
    tag="webhooks",
    status=202,
    errors=(401, 403, 404, 409),
    response=DELIVERY,
)
@token_required
def redeliver_webhook(subscription_id: int, delivery_id: int) -> ResponseReturnValue:
    with unit_of_work() as db:
        delivery = hooks.redeliver(db, subscription_id, delivery_id, actor=api_user())
        body = hooks.delivery_to_dict(delivery)
    return jsonify(body), 202
