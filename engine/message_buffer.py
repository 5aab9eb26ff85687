"""Messages kept for a while (a time to live) for the instance that will wait for them.

A telephony system posts "call ended", a payment system "paid", a moment before the process
reaches the catch that waits for it (the agent's completion of the task before it is still in
flight). Sent with ``time_to_live``, a message nothing waits for is kept (``buffered_until`` on
its ``received_messages`` row) instead of being only recorded; a step that leaves an instance
waiting for a message of its name (and of its business key or correlation value) within that
time takes it at once, in the same transaction, oldest first: a crash in between commits
neither the step nor the take, so the message is neither lost nor delivered twice. Each kept
message is taken by one catch: its row is locked (``FOR UPDATE SKIP LOCKED``) and marked
``delivered`` to that instance. An expired one stays recorded, undelivered, as a message
without a time to live is; a repeated ``message_id`` while it is kept is refused
(``409 duplicate_message``), as Camunda 8 refuses it.

On PostgreSQL a message being kept and an instance beginning to wait for its name could each
miss the other (neither's transaction sees the other's row yet): the sender holds the name's
advisory lock exclusively while it looks again for waiting instances and keeps the message,
a step that opens a wait holds it shared while it looks for kept messages. SQLite runs one
writer at a time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from dialflow.db import UTCDateTime
from dialflow.errors import Conflict, InvalidInput
from engine.models import ProcessInstance, ReceivedMessage
from engine.models.events import BUFFERED
from engine.wait_keys import carried

if TYPE_CHECKING:
    from engine.service import ProcessEngine

FIELD = "time_to_live"
# Kept messages read per look-up, the oldest first; a catch takes one of them, and when none
# of them is one it may take (each is another key's), the next look-up reads on from there.
LOOKUP_LIMIT = 50
INDEX = "ix_received_messages_buffered"  # revision 0020
# ISO 8601 durations of a fixed length: weeks, days, hours, minutes, seconds.
_DURATION = re.compile(
    r"P(?=\d|T\d)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)
_CALENDAR = re.compile(r"P(?:\d+[YM])+")  # years or months, before any time part
_taking: ContextVar[bool] = ContextVar("taking_buffered_messages", default=False)


class DuplicateBufferedMessage(Conflict):
    """A ``message_id`` sent again while its first message is still kept."""

    code = "duplicate_message"


def parse_ttl(value: Any, max_seconds: int) -> tuple[timedelta | None, str | None]:
    """``(time to live, None)``, or ``(None, what is wrong)``; absent or 0 is no time to live.

    Seconds as a JSON integer ≥ 0, or an ISO 8601 duration (``"PT10M"``, ``"P1D"``); months
    and years are refused, having no fixed length. At most ``max_seconds``.
    """
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            return None, "a time to live is 0 or more seconds"
        ttl = timedelta(seconds=value) if value <= max_seconds else None
    elif isinstance(value, str):
        found = _DURATION.fullmatch(value.strip())
        if found is None:
            if _CALENDAR.match(value.strip()):
                return None, "months and years have no fixed length: give days (P30D)"
            return None, (
                "a time to live is whole seconds (600) or an ISO 8601 duration "
                f"(PT10M, P1D), not {value[:40]!r}"
            )
        parts = {k: float(v.replace(",", ".")) for k, v in found.groupdict().items() if v}
        try:
            ttl = timedelta(**parts)
        except OverflowError:
            ttl = None
        if ttl is not None and ttl.total_seconds() > max_seconds:
            ttl = None
    else:
        return None, "a time to live is whole seconds (600) or an ISO 8601 duration (PT10M)"
    if ttl is None:
        return None, f"a time to live is at most {max_seconds} seconds (DIALFLOW_MESSAGE_TTL_MAX)"
    return (ttl if ttl > timedelta(0) else None), None


def hold_name(session: Session, name: str) -> None:
    """On PostgreSQL, the message name's advisory lock, exclusive, until the transaction ends:
    no step looks for kept messages of the name meanwhile, and every wait committed before it
    is seen by the sender's next look for waiting instances."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_HOLD, {"text": _lock_text(name)})


def keep(record: ReceivedMessage, message: dict[str, Any], until: datetime) -> None:
    """Keep an unmatched message until ``until``, with the one correlation value it carries
    (``wait_keys.carried``) where a step's look-up finds it by index."""
    record.buffered_until = until
    values = carried(message)
    if len(values) == 1:
        ((record.correlation_property, record.correlation_key),) = values.items()


def duplicate_of(record: ReceivedMessage, now: datetime) -> DuplicateBufferedMessage | None:
    """The refusal of a repeat of ``record``'s ``message_id`` while it is kept, else None."""
    until = record.buffered_until
    if until is None or until <= now:
        return None
    return DuplicateBufferedMessage(
        f"Message id {record.message_id!r} was received already, with a time to live until "
        f"{until.isoformat()}; it was not stored again.",
        details=[
            {
                "message_record": record.id,
                "buffered_until": until.isoformat(),
                "delivered_to": list(record.delivered_to or []),
            }
        ],
    )


def opened(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> list[dict]:
    """The message waits of ``after`` that ``before`` did not have (each counted)."""
    for wait in after:
        if wait.get("kind") == "message" and wait.get("name"):
            break
    else:  # no message wait (most steps): nothing opened, and nothing to count
        return []

    def key(wait: dict[str, Any]) -> tuple[Any, ...]:
        return wait.get("name"), tuple(sorted((wait.get("correlation") or {}).items()))

    old = Counter(key(w) for w in before or [] if w.get("kind") == "message")
    new = []
    for wait in after:
        if wait.get("kind") != "message" or not wait.get("name"):
            continue
        if old[key(wait)] > 0:
            old[key(wait)] -= 1
        else:
            new.append(wait)
    return new


def take(engine: ProcessEngine, session: Session, row: ProcessInstance, waits: list[dict]) -> bool:
    """Give the instance the kept messages its new ``waits`` take, one after the other (each
    take is a step, which may wait for more); True when one was taken. Steps run by a take
    look no further themselves: this loop does, without recursion."""
    if _taking.get():
        return False
    took = False
    with _taking_now():
        while waits and _take_one(engine, session, row, waits):
            took = True
            waits = [w for w in row.waiting or [] if w.get("kind") == "message"]
    return took


@contextmanager
def _taking_now() -> Iterator[None]:
    token = _taking.set(True)
    try:
        yield
    finally:
        _taking.reset(token)


def _take_one(
    engine: ProcessEngine, session: Session, row: ProcessInstance, waits: list[dict]
) -> bool:
    """Offer the instance the oldest kept message one of ``waits`` may take; True when one
    was taken."""
    from engine.messages import offer  # messages steps instances: imported when used

    names = sorted({w["name"] for w in waits})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_SHARE, {"texts": [_lock_text(n) for n in names]})
    now = engine.clock.now()
    after = 0
    while True:
        # a page at a time: the messages of other keys the index cannot tell from this
        # one's (carrying two values, or another property's) may be more than one page
        ids = _lookup(session, waits, row.business_key, now, after)
        records = {
            record.id: record
            for record in session.scalars(
                select(ReceivedMessage).where(ReceivedMessage.id.in_(ids))
            )
        }
        for record_id in ids:
            record = records[record_id]
            message = _message(record)
            if not any(_may_take(wait, message) for wait in waits):
                continue
            if not _lock(session, record.id, now):  # another step is taking it
                continue
            try:
                matched = offer(engine, session, row.id, message, None)
            except InvalidInput:  # refused by this instance (its correlation): kept for others
                continue
            if matched:
                record.status = "delivered"
                record.delivered_to = [row.id]
                return True
        if len(ids) < LOOKUP_LIMIT:
            return False
        after = ids[-1]


def _lookup(
    session: Session,
    waits: list[dict[str, Any]],
    business_key: str | None,
    now: datetime,
    after: int = 0,
) -> list[int]:
    """The ids after ``after`` of the oldest kept messages the waits may take (at most
    ``LOOKUP_LIMIT``): one part per seek in the
    partial index (of the wait's name; for the instance's business key or none; for a wait
    expecting a value, those carrying it, none or several, or a value of another property),
    united. Written as SQL: SQLite reads ``business_key IS NULL`` as less selective than
    ``status = 'unmatched'`` and walked every unmatched message by the status index; only
    ``INDEXED BY``, which SQLAlchemy does not write for it, says otherwise."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    source = f"received_messages INDEXED BY {INDEX}" if sqlite else "received_messages"
    params: dict[str, Any] = {"now": now, "business_key": business_key, "after": after}
    keys = ["business_key IS NULL"] + (["business_key = :business_key"] if business_key else [])
    parts = []
    for n, (name, expected) in enumerate(sorted({_wait_key(w) for w in waits}, key=repr)):
        params[f"name{n}"] = name
        values = [""]
        if expected is not None:
            params[f"prop{n}"], params[f"key{n}"] = expected
            values = [
                f" AND correlation_property = :prop{n} AND correlation_key = :key{n}",
                " AND correlation_property IS NULL",
                f" AND correlation_property < :prop{n}",
                f" AND correlation_property > :prop{n}",
            ]
        for key in keys:
            for value in values:
                parts.append(
                    f"SELECT id FROM {source} WHERE {BUFFERED} AND buffered_until > :now "
                    f"AND name = :name{n} AND {key}{value} AND id > :after"
                )
    statement = sql_text(
        f"SELECT id FROM ({' UNION ALL '.join(parts)}) AS kept ORDER BY id LIMIT {LOOKUP_LIMIT}"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    return list(session.scalars(statement, params))


def _wait_key(wait: dict[str, Any]) -> tuple[str, tuple[str, str] | None]:
    expected = wait.get("correlation") or {}
    return wait["name"], next(iter(expected.items()), None)


def _message(record: ReceivedMessage) -> dict[str, Any]:
    return {
        "name": record.name,
        "business_key": record.business_key,
        "message_id": record.message_id,
        "correlation": record.correlation or {},
        "payload": record.payload or {},
    }


def _may_take(wait: dict[str, Any], message: dict[str, Any]) -> bool:
    """Whether a wait may take the message by its correlation value, as
    ``messages._candidates`` chooses: a wait expecting another value of a property the
    message names does not."""
    if wait["name"] != message["name"]:
        return False
    expected = wait.get("correlation") or {}
    values = carried(message)
    return all(values.get(prop, value) == value for prop, value in expected.items())


def _lock(session: Session, record_id: int, now: datetime) -> bool:
    """Lock a kept message that is still untaken and unexpired; False if another holds it."""
    locked = session.scalar(
        select(ReceivedMessage.id)
        .where(
            ReceivedMessage.id == record_id,
            ReceivedMessage.status == "unmatched",
            ReceivedMessage.buffered_until > now,
        )
        .with_for_update(skip_locked=True)
    )
    return locked is not None


def _lock_text(name: str) -> str:
    return f"buffered message {name}"


_HOLD = sql_text("SELECT pg_advisory_xact_lock(hashtext(:text))")
_SHARE = sql_text(
    "SELECT count(pg_advisory_xact_lock_shared(k)) FROM "
    "(SELECT DISTINCT hashtext(t) AS k FROM unnest(CAST(:texts AS text[])) AS t ORDER BY k) AS h"
)
