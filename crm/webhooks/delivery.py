"""Posting due deliveries: claim with row locks, send outside any transaction, record.

A pass claims up to ``limit`` due rows in one short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent workers take disjoint rows; SQLite's single writer serializes the
claims): each becomes ``sending`` with a lease (``next_attempt_at`` = now + lease) and a claim
token, and counts an attempt. Right before its POST, each row's lease is renewed (same token,
still ``sending``): the rows of a batch are posted one after another, so without it the last
ones' leases could run out while the first are sent, another worker would claim them, and
both would post them; a row whose claim was lost is skipped. The POST happens with no
transaction open, through the guarded client of ``crm.webhooks.transport`` (internal addresses
refused after DNS resolution; the whole attempt within ``attempt_limit``, well under the
lease). The answer is
recorded only by the claim's holder (same token): 2xx → ``delivered``; anything else →
``pending`` again after an exponential backoff, or ``failed`` once the attempts are used up. A
worker that dies mid-send leaves its lease to run out; the row is then due again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from crm.webhooks import signing, transport
from crm.webhooks.targets import TargetPolicy
from dialflow.db import Database

if TYPE_CHECKING:
    from dialflow.settings import Settings

log = logging.getLogger(__name__)
USER_AGENT = "Dialflow-Webhooks/1.0"
MAX_ERROR = 500
MAX_ANSWER = 1024  # bytes of a failed answer read for its excerpt
DUE = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


@dataclass(frozen=True)
class RetryPolicy:
    """How attempts are timed: each one's limits, the claim's lease, the backoff between."""

    max_attempts: int = 10
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=6)
    timeout: float = 5.0  # seconds for connect, one write, one read
    attempt_limit: float = 10.0  # seconds for the whole attempt, however the receiver trickles
    lease: timedelta = timedelta(seconds=60)  # longer than any attempt can take

    def __post_init__(self) -> None:
        # A lease shorter than an attempt would let a second sender post the same delivery.
        if self.attempt_limit * 2 > self.lease.total_seconds():
            raise ValueError("attempt_limit must be at most half of the lease")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        limit = float(settings.webhook_attempt_seconds)
        return cls(attempt_limit=limit, timeout=min(cls.timeout, limit))

    def delay(self, attempts: int) -> timedelta:
        """Wait after the ``attempts``-th failed attempt: base, 2×base, 4×base … capped."""
        return min(self.backoff_cap, self.backoff_base * 2 ** max(attempts - 1, 0))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    attempt: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def claim_due(
    session: Session, now: datetime, *, limit: int = 20, policy: RetryPolicy = DEFAULT_POLICY
) -> list[Claim]:
    """Claim due deliveries (first attempts, retries and expired leases), oldest due first.

    A delivery whose subscription was disabled meanwhile fails here, unsent, and so does one
    whose last attempt's claim expired (the sender died, or kept dying, on it)."""
    rows = session.execute(
        select(
            WebhookDelivery,
            WebhookSubscription.url,
            WebhookSubscription.secret,
            WebhookSubscription.active,
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.status.in_(DUE), WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    claims = []
    for delivery, url, secret, active in rows:
        if not active or delivery.attempts >= policy.max_attempts:
            # An expired claim of the last attempt: its senders died; do not try forever.
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.claim_token = None
            delivery.last_error = (
                "The subscription is disabled."
                if not active
                else "No answer was recorded for the last attempt (the sender stopped)."
            )
            continue
        token = secrets.token_hex(16)
        delivery.status = DeliveryStatus.SENDING
        delivery.attempts += 1
        delivery.claim_token = token
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + policy.lease
        claims.append(
            Claim(
                delivery_id=delivery.id,
                token=token,
                attempt=delivery.attempts,
                url=url,
                secret=secret,
                event_id=delivery.event_id,
                event_type=delivery.event_type,
                body=body_bytes(delivery.payload),
            )
        )
    session.flush()
    return claims


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def send(claim: Claim, client: httpx.Client, *, limit: float | None = None) -> Outcome:
    """POST one claimed delivery, signed; never raises for the receiver's failures.

    ``limit``: seconds the whole attempt may take with the guarded client
    (``crm.webhooks.transport``), from resolving the host to the answer's last byte read."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.TIMESTAMP_HEADER: timestamp,
        signing.SIGNATURE_HEADER: signing.signature(claim.secret, timestamp, claim.body),
        signing.EVENT_ID_HEADER: claim.event_id,
        signing.IDEMPOTENCY_HEADER: claim.event_id,
        signing.EVENT_TYPE_HEADER: claim.event_type,
        signing.DELIVERY_HEADER: str(claim.delivery_id),
        signing.ATTEMPT_HEADER: str(claim.attempt),
    }
    ends = time.monotonic() + (limit or 0)
    try:
        # Streamed: the body of a 2xx is never read, of another answer only its first bytes
        # (an endless answer cannot fill the memory or hold the sender).
        with (
            transport.deadline(limit) if limit else contextlib.nullcontext(),
            client.stream("POST", claim.url, content=claim.body, headers=headers) as response,
        ):
            if 200 <= response.status_code < 300:
                return Outcome(response.status_code, None)
            head = _first_bytes(response, MAX_ANSWER)
    except httpx.TimeoutException as exc:
        if limit and time.monotonic() >= ends:
            return Outcome(None, f"Timed out: no full answer within {limit:g} s")
        return Outcome(None, f"Timed out: {type(exc).__name__}")
    except httpx.ConnectError as exc:
        refusal = transport.refused(exc)
        if refusal is not None:
            return Outcome(None, f"Not sent: {refusal}"[:MAX_ERROR])
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: IDNA, UTF-8
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    excerpt = head.decode(response.encoding or "utf-8", errors="replace")[:200].strip()
    error = f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else "")
    return Outcome(response.status_code, error[:MAX_ERROR])


def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= limit:
            break
    return head[:limit]


def renew(
    session: Session, claim: Claim, now: datetime, policy: RetryPolicy = DEFAULT_POLICY
) -> bool:
    """Extend the claim's lease for the attempt about to start; False if it is no longer ours
    (its lease ran out and another worker claimed the row, or it was deleted)."""
    result: Any = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.claim_token == claim.token,
            WebhookDelivery.status == DeliveryStatus.SENDING,
        )
        .values(next_attempt_at=now + policy.lease)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def record(
    session: Session,
    claim: Claim,
    outcome: Outcome,
    now: datetime,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> DeliveryStatus | None:
    """Store the attempt's answer if the claim is still ours; the delivery's new status."""
    if outcome.ok:
        values: dict[str, Any] = {
            "status": DeliveryStatus.DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
        }
    elif claim.attempt >= policy.max_attempts:
        values = {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    else:
        values = {
            "status": DeliveryStatus.PENDING,
            "next_attempt_at": now + policy.delay(claim.attempt),
        }
    result: Any = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.claim_token == claim.token,
            WebhookDelivery.status == DeliveryStatus.SENDING,
        )
        .values(
            **values,
            claim_token=None,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
        )
        .execution_options(synchronize_session=False)
    )
    return values["status"] if result.rowcount else None


def deliver_due(
    db: Database,
    now: Callable[[], datetime],
    *,
    policy: RetryPolicy | None = None,
    targets: TargetPolicy | None = None,
    limit: int = 20,
    client: httpx.Client | None = None,
) -> int:
    """One pass: claim, send each, record each; the number of attempts made.

    ``policy`` and ``targets`` default to the database's settings (attempt time limit,
    allowed internal receivers). A look first, without the write lock: the embedded sender is
    woken after every step that may have written deliveries, and most wrote none (no
    subscription wanted the event)."""
    policy = policy or RetryPolicy.from_settings(db.settings)
    with db.unit_of_work(read_only=True) as session:
        if not due_count(session, now()):
            return 0
    with db.unit_of_work() as session:
        claims = claim_due(session, now(), limit=limit, policy=policy)
    if not claims:
        return 0
    own = client is None
    allowed = targets or TargetPolicy.from_settings(db.settings)
    http = client or transport.sender_client(allowed, policy.timeout)
    try:
        for index, claim in enumerate(claims):
            if index:  # the first was claimed just now
                with db.unit_of_work() as session:
                    if not renew(session, claim, now(), policy):
                        log.info("webhook delivery %s: claim lost", claim.delivery_id)
                        continue
            outcome = send(claim, http, limit=policy.attempt_limit)
            with db.unit_of_work() as session:
                status = record(session, claim, outcome, now(), policy)
            log.info(
                "webhook delivery %s (%s, attempt %s): %s",
                claim.delivery_id,
                claim.event_type,
                claim.attempt,
                status.value if status else "claim lost",
            )
    finally:
        if own:
            http.close()
    return len(claims)


def due_count(session: Session, now: datetime) -> int:
    """How many deliveries are due (the scheduler dispatches workers when there are any)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status.in_(DUE), WebhookDelivery.next_attempt_at <= now)
        )
        or 0
    )
