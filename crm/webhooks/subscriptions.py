"""The admin's webhook use cases: subscriptions, their deliveries, redeliver, test events.

A URL naming an internal address is refused (``crm.webhooks.targets``) unless ``targets``,
built from the settings by the caller, allows it. Every change is audited (``entity_type``
``webhook_subscription``); the secret never enters the audit log or a listing: it is returned
once, by ``create`` and ``rotate_secret``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.models import (
    DeliveryStatus,
    Role,
    User,
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionEvent,
)
from crm.validation import FieldErrors, text
from crm.webhooks import outbox
from crm.webhooks.catalog import EVENT_TYPES
from crm.webhooks.targets import REFUSED_CODE, TargetPolicy, message
from dialflow.db import utcnow
from dialflow.errors import Conflict, Forbidden, InvalidInput, NotFound

MAX_URL = 2000
MAX_PAGE = 200
ENTITY = "webhook_subscription"
STRICT = TargetPolicy()  # no internal receiver allowed


def ensure_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden("Only administrators manage webhooks.", code="admin_required")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_subscription(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: User,
    targets: TargetPolicy = STRICT,
) -> tuple[WebhookSubscription, str]:
    """A new active subscription and its secret (shown this once)."""
    ensure_admin(actor)
    errors = FieldErrors()
    url = _url(data, errors, required=True, targets=targets)
    event_types = _event_types(data, errors, required=True)
    description = _description(data, errors)
    active = _flag(data, "active", errors, default=True)
    _raise_if_any(errors)
    secret = new_secret()
    subscription = WebhookSubscription(
        url=url,
        description=description,
        secret=secret,
        active=active,
        created_by_id=actor.id,
        event_rows=[WebhookSubscriptionEvent(event_type=t) for t in event_types or []],
    )
    session.add(subscription)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type=ENTITY,
        entity_id=subscription.id,
        after=subscription_to_dict(subscription),
    )
    return subscription, secret


def _description(data: Mapping[str, Any], errors: FieldErrors) -> str | None:
    """Text or null, as documented (``text`` also takes a number, as a spreadsheet cell)."""
    value = data.get("description")
    if value is not None and not isinstance(value, str):
        errors.add("description", "Must be text.")
        return None
    return text(data, "description", errors, max_len=500)


def get_subscription(
    session: Session, subscription_id: int, *, for_update: bool = False
) -> WebhookSubscription:
    """``for_update``: lock the row, so a request deleting it at the same moment waits and
    then finds it gone (on PostgreSQL; SQLite runs one writer at a time)."""
    found = session.get(WebhookSubscription, subscription_id, with_for_update=for_update)
    if found is None:
        raise NotFound(f"No webhook subscription #{subscription_id}.", code="webhook_not_found")
    return found


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def update_subscription(
    session: Session,
    subscription_id: int,
    data: Mapping[str, Any],
    *,
    actor: User,
    targets: TargetPolicy = STRICT,
) -> WebhookSubscription:
    """Change url, event types, description or the active flag; all problems at once."""
    ensure_admin(actor)
    if not isinstance(data, Mapping):
        raise InvalidInput("Expected a JSON object with the subscription's fields.")
    subscription = get_subscription(session, subscription_id)
    errors = FieldErrors()
    url = _url(data, errors, required=True, targets=targets) if "url" in data else None
    event_types = _event_types(data, errors, required=True) if "event_types" in data else None
    description = _description(data, errors)
    active = _flag(data, "active", errors, default=None)
    _raise_if_any(errors)
    before = subscription_to_dict(subscription)
    if url is not None:
        subscription.url = url
    if "description" in data:
        subscription.description = description
    if active is not None:
        subscription.active = active
    if event_types is not None and event_types != subscription.event_types:
        keep = {row.event_type: row for row in subscription.event_rows}
        subscription.event_rows = [
            keep.get(t) or WebhookSubscriptionEvent(event_type=t) for t in event_types
        ]
    session.flush()
    changed_before, changed_after = audit.changed_fields(before, subscription_to_dict(subscription))
    if changed_after:
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type=ENTITY,
            entity_id=subscription.id,
            before=changed_before,
            after=changed_after,
        )
    return subscription


def delete_subscription(session: Session, subscription_id: int, *, actor: User) -> None:
    """Remove the subscription and its delivery log."""
    ensure_admin(actor)
    subscription = get_subscription(session, subscription_id, for_update=True)
    before = subscription_to_dict(subscription)
    session.delete(subscription)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity_type=ENTITY,
        entity_id=subscription_id,
        before=before,
    )


def rotate_secret(session: Session, subscription_id: int, *, actor: User) -> str:
    """A new secret for the subscription (the old one stops signing at once)."""
    ensure_admin(actor)
    subscription = get_subscription(session, subscription_id)
    subscription.secret = new_secret()
    subscription.updated_at = utcnow()
    audit.record(
        session, actor=actor, action="rotate_secret", entity_type=ENTITY, entity_id=subscription.id
    )
    return subscription.secret


def send_test(session: Session, subscription_id: int, *, actor: User) -> WebhookDelivery:
    """Queue a ``webhook.test`` event to this subscription (active or not: it checks the
    receiver; a disabled subscription's test fails unsent, as any of its deliveries would)."""
    ensure_admin(actor)
    subscription = get_subscription(session, subscription_id)
    event_id = outbox.enqueue_test(
        session,
        subscription.id,
        {"subscription_id": subscription.id, "message": "Test event from Dialflow."},
    )
    audit.record(
        session,
        actor=actor,
        action="send_test",
        entity_type=ENTITY,
        entity_id=subscription.id,
        after={"event_id": event_id},
    )
    delivery = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.event_id == event_id,
        )
    )
    assert delivery is not None
    return delivery


def redeliver(
    session: Session, subscription_id: int, delivery_id: int, *, actor: User
) -> WebhookDelivery:
    """Send a delivery again, with the same event id, with a fresh set of attempts."""
    ensure_admin(actor)
    subscription = get_subscription(session, subscription_id)
    delivery = get_delivery(session, subscription.id, delivery_id, lock=True)
    if delivery.status == DeliveryStatus.SENDING:
        raise Conflict(
            "The delivery is being sent right now; try again in a minute.",
            code="delivery_in_progress",
        )
    if not subscription.active:
        raise Conflict(
            "The subscription is disabled; enable it before redelivering.",
            code="subscription_disabled",
        )
    before = {"status": delivery.status.value, "attempts": delivery.attempts}
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    delivery.claim_token = None
    session.flush()
    session.info[outbox.WAKE] = "yes"
    audit.record(
        session,
        actor=actor,
        action="redeliver",
        entity_type=ENTITY,
        entity_id=subscription.id,
        before={"delivery_id": delivery.id, **before},
        after={"delivery_id": delivery.id, "event_id": delivery.event_id},
    )
    return delivery


def get_delivery(
    session: Session, subscription_id: int, delivery_id: int, *, lock: bool = False
) -> WebhookDelivery:
    query = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
    )
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"No delivery #{delivery_id} of this webhook.", code="delivery_not_found")
    return found


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WebhookDelivery], int]:
    """The subscription's deliveries, newest first, with the total for paging."""
    get_subscription(session, subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status:
        try:
            query = query.where(WebhookDelivery.status == DeliveryStatus(status))
        except ValueError:
            raise InvalidInput(
                f"Unknown delivery status {status!r}.",
                code="invalid_status",
                details=[{"field": "status", "message": "pending, sending, delivered or failed"}],
            ) from None
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(max(1, min(limit, MAX_PAGE)))
        .offset(max(0, offset))
    ).all()
    return list(items), total


def delivery_counts(session: Session) -> dict[int, dict[str, int]]:
    """Per subscription: how many deliveries are in each status (for the list page)."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.subscription_id, WebhookDelivery.status
        )
    )
    for subscription_id, status, number in rows:
        counts.setdefault(subscription_id, {})[status.value] = number
    return counts


def subscription_to_dict(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "description": subscription.description,
        "event_types": subscription.event_types,
        "active": subscription.active,
        "secret_hint": "…" + subscription.secret[-4:],
        "created_by_id": subscription.created_by_id,
        "created_at": _iso(subscription.created_at),
        "updated_at": _iso(subscription.updated_at),
    }


def delivery_to_dict(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_attempt_at": _iso(delivery.last_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": _iso(delivery.delivered_at),
        "created_at": _iso(delivery.created_at),
        "payload": delivery.payload,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _raise_if_any(errors: FieldErrors) -> None:
    """One InvalidInput for all problems; its code says when the only one is a refused
    target (a client can tell "fix the URL's form" from "ask for an allowance")."""
    codes = {detail.get("code") for detail in errors.details}
    if codes == {REFUSED_CODE}:
        [detail] = errors.details
        errors.raise_if_any(detail["message"], code=REFUSED_CODE)
    errors.raise_if_any("The webhook subscription is not valid.", code="invalid_webhook")


def _url(
    data: Mapping[str, Any], errors: FieldErrors, *, required: bool, targets: TargetPolicy
) -> str | None:
    raw = data.get("url")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors.add("url", "A URL is required.")
        return None
    if not isinstance(raw, str):
        errors.add("url", "The URL must be text.")
        return None
    url = raw.strip()
    problem = url_problem(url)
    if problem:
        errors.add("url", problem)
        return None
    host = urlsplit(url).hostname or ""
    kind = targets.url_host_refusal(host)
    if kind:
        errors.add("url", message(host, kind), code=REFUSED_CODE, kind=kind)
        return None
    return url


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive webhooks, or None: absolute http(s), a host, no user
    name or password in it (they would show in listings), no spaces, at most 2,000 characters."""
    if len(url) > MAX_URL:
        return f"The URL is longer than {MAX_URL} characters."
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "The URL may not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.Request("POST", url)  # as the sender builds it: a host IDNA can encode, UTF-8
    except (ValueError, httpx.InvalidURL):  # UnicodeError and IDNAError are ValueErrors
        return "The URL is not valid."
    if parts.scheme.lower() not in ("http", "https"):
        return "Use an http:// or https:// URL."
    if not parts.hostname:
        return "The URL needs a host name."
    if parts.username is not None or parts.password is not None:
        return "Do not put a user name or password in the URL; receivers check the signature."
    if port == 0:
        return "The URL's port is not valid."
    if parts.fragment:
        return "The URL may not have a #fragment."
    return None


def _event_types(data: Mapping[str, Any], errors: FieldErrors, *, required: bool) -> list[str]:
    raw = data.get("event_types")
    if raw is None:
        if required:
            errors.add("event_types", "Choose at least one event type.")
        return []
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        errors.add("event_types", "Give the event types as a list of names.")
        return []
    unknown = sorted({t for t in raw if t not in EVENT_TYPES})
    for name in unknown:
        errors.add(
            "event_types",
            f"Unknown event type {name!r}; known: {', '.join(EVENT_TYPES)}.",
        )
    if not raw:
        errors.add("event_types", "Choose at least one event type.")
    return sorted(set(raw)) if not unknown else []


def _flag(
    data: Mapping[str, Any], key: str, errors: FieldErrors, *, default: bool | None
) -> bool | None:
    if key not in data or data[key] is None:
        return default
    if not isinstance(data[key], bool):
        errors.add(key, "Use true or false.")
        return default
    return data[key]
