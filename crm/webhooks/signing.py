"""How a delivery is signed, and how a receiver checks it.

The telephony webhook's convention in reverse, with a timestamp against replays:

- ``X-Dialflow-Timestamp``: Unix time in whole seconds when the attempt was sent;
- ``X-Dialflow-Signature``: ``sha256=`` + the lowercase hex HMAC-SHA256, keyed with the
  subscription's secret (UTF-8), of the timestamp's ASCII digits, one ``.``, and the raw body
  bytes exactly as received: ``hmac(secret, f"{timestamp}.".encode() + body)``.

A receiver recomputes it over the raw body, compares in constant time, and refuses a timestamp
more than a few minutes from its own clock. The event id (``X-Dialflow-Event-Id``, also sent as
``Idempotency-Key``) is the same on every attempt and redelivery: apply each id once.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Dialflow-Signature"
TIMESTAMP_HEADER = "X-Dialflow-Timestamp"
EVENT_ID_HEADER = "X-Dialflow-Event-Id"
EVENT_TYPE_HEADER = "X-Dialflow-Event"
DELIVERY_HEADER = "X-Dialflow-Delivery"
ATTEMPT_HEADER = "X-Dialflow-Attempt"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE_SECONDS = 300

SCHEME = (
    "Each delivery is a POST of the JSON event {id, type, occurred_at, data}. "
    f"{SIGNATURE_HEADER} is sha256=<hex HMAC-SHA256 with the subscription's secret of "
    f"the {TIMESTAMP_HEADER} value (Unix seconds), a '.', and the raw body>. "
    f"{EVENT_ID_HEADER} and {IDEMPOTENCY_HEADER} carry the event id, the same on every "
    f"attempt: apply each id once. {EVENT_TYPE_HEADER} names the type, {DELIVERY_HEADER} the "
    "delivery. Answer 2xx within 5 s; anything else is retried with exponential backoff "
    "(30 s, 1 min, 2 min … at most 6 h apart), 10 attempts in all, then the delivery is failed "
    "and can be redelivered."
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    body: bytes,
    header: str | None,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if ``header`` signs ``body`` at ``timestamp`` and the timestamp is recent."""
    if not timestamp or not header or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    expected = signature(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, header.strip().lower().encode())  # bytes: any header
