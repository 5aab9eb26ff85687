"""The transactional outbox: an event's deliveries are written in the caller's transaction.

One ``INSERT INTO webhook_deliveries … SELECT … FROM webhook_subscriptions JOIN
webhook_subscription_events`` fans an event out to every active subscription that wants its
type: nothing to read first, no row at all when nobody subscribed, and the rows commit or roll
back with the business change (a savepoint rolled back takes them too). Each row is due at
once; a worker posts it after the commit (see ``crm.webhooks.delivery``).

``session.info[WAKE]`` tells the after-commit hook (``dialflow.background``) that deliveries
were written (``"yes"``) or may have been (``"maybe"``: a step's batched write whose row count
nobody waits for, or a statement whose count PostgreSQL's pipeline did not report), so a sender
can start without waiting for the next sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Integer, String, bindparam, exists, insert, literal_column, select
from sqlalchemy.orm import Session

from crm.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from crm.models import WebhookSubscriptionEvent as SubscriptionEvent
from dialflow.db import UTCDateTime, utcnow

WAKE = "dialflow.webhooks"

_deliveries = WebhookDelivery.__table__
_subscriptions = WebhookSubscription.__table__
_wanted = SubscriptionEvent.__table__

_COLUMNS = [
    "subscription_id",
    "event_id",
    "event_type",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
]


def _fan_out(*, one_subscription: bool) -> Any:
    event_type = bindparam("w_event_type", type_=String(60))
    now = bindparam("w_now", type_=UTCDateTime())
    rows = select(
        _subscriptions.c.id,
        bindparam("w_event_id", type_=String(36)),
        event_type,
        bindparam("w_payload", type_=JSON()),
        bindparam("w_status", type_=String(12)),
        literal_column("0", Integer),
        now,
        now,
    )
    if one_subscription:  # a test event: to this subscription, whatever it asked for
        rows = rows.where(_subscriptions.c.id == bindparam("w_subscription_id", type_=Integer))
    else:
        rows = rows.join(_wanted, _wanted.c.subscription_id == _subscriptions.c.id).where(
            _wanted.c.event_type == event_type, _subscriptions.c.active
        )
    return insert(_deliveries).from_select(_COLUMNS, rows)


# Built once: the direct statements of a step are cached by the statement's identity.
FAN_OUT = _fan_out(one_subscription=False)
TO_ONE = _fan_out(one_subscription=True)

# Whether any active subscription wants any event: a column for the reads a workflow step makes
# anyway (the version look-up of a start, the locked read of a completion). Where it is false
# the step writes no outbox statement, the same result as :data:`FAN_OUT` matching no row.
SUBSCRIBED = exists(
    select(_wanted.c.subscription_id)
    .join(_subscriptions, _subscriptions.c.id == _wanted.c.subscription_id)
    .where(_subscriptions.c.active)
).label("webhooks_subscribed")


def event_body(
    event_type: str, data: Mapping[str, Any], occurred_at: datetime, event_id: str | None = None
) -> dict[str, Any]:
    """The JSON a receiver gets: ``{"id", "type", "occurred_at", "data"}``."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "data": plain(data),
    }


def parameters(
    event_type: str, data: Mapping[str, Any], *, occurred_at: datetime | None = None
) -> dict[str, Any]:
    """The bound values of :data:`FAN_OUT` for one event (a new event id each time)."""
    now = utcnow()
    body = event_body(event_type, data, occurred_at or now)
    return {
        "w_event_id": body["id"],
        "w_event_type": event_type,
        "w_payload": body,
        "w_status": DeliveryStatus.PENDING.value,
        "w_now": now,
    }


def enqueue(
    session: Session,
    event_type: str,
    data: Mapping[str, Any],
    *,
    occurred_at: datetime | None = None,
) -> int:
    """Write the event's deliveries in the session's transaction; how many were written, as
    far as the driver tells (a statement sent in PostgreSQL's pipeline reports 0)."""
    result: Any = session.execute(FAN_OUT, parameters(event_type, data, occurred_at=occurred_at))
    written = max(result.rowcount or 0, 0)
    if written:
        session.info[WAKE] = "yes"
    else:
        session.info.setdefault(WAKE, "maybe")
    return written


def enqueue_many(session: Session, event_type: str, items: Iterable[Mapping[str, Any]]) -> None:
    """One event per item, in one statement (an import batch's new customers)."""
    rows = [parameters(event_type, data) for data in items]
    if rows:
        session.execute(FAN_OUT, rows)
        session.info.setdefault(WAKE, "maybe")


def batched_write(
    session: Session, event_type: str, data: Mapping[str, Any], *, occurred_at: datetime
) -> tuple[Any, dict[str, Any]]:
    """The statement and values of one event for a caller that sends its writes together
    (a workflow step, ``dialflow.db.pipelined``): it costs no round trip of its own."""
    session.info.setdefault(WAKE, "maybe")
    return FAN_OUT, parameters(event_type, data, occurred_at=occurred_at)


def enqueue_test(session: Session, subscription_id: int, data: Mapping[str, Any]) -> str:
    """A ``webhook.test`` event to one subscription; returns its event id."""
    from crm.webhooks.catalog import TEST_EVENT

    values = parameters(TEST_EVENT, data)
    session.execute(TO_ONE, {**values, "w_subscription_id": subscription_id})
    session.info[WAKE] = "yes"
    return values["w_event_id"]


_AS_IS = frozenset({str, int, float, bool})


def plain(value: Any) -> Any:
    """``value`` as JSON has it: times as ISO 8601, decimals as text, enums by value."""
    if value is None or type(value) in _AS_IS:  # most values: no ABC checks
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
