"""Time, behind one interface, so that tests can move days forward without sleeping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe, always timezone-aware (UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            self._now = moment.astimezone(UTC)


# The time of the unit of work running on this thread: set by an engine step (its clock's
# time) and by web requests of an app on a non-system clock. Record timestamps that default
# to "now" (``dialflow.db.utcnow``) read it, so a test clock stamps calls, notes and audit
# entries with the same time as the process history.
_current: ContextVar[datetime | None] = ContextVar("dialflow_current_time", default=None)


def current_time() -> datetime:
    """The pinned time of this unit of work, else the wall clock (UTC)."""
    pinned = _current.get()
    return pinned if pinned is not None else datetime.now(UTC)


def pinned_time() -> datetime | None:
    return _current.get()


@contextmanager
def pin_time(now: datetime) -> Iterator[None]:
    token = _current.set(now)
    try:
        yield
    finally:
        _current.reset(token)


def pin_time_token(now: datetime) -> Token[datetime | None]:
    """For callers that cannot use a ``with`` block (request hooks); undo with ``unpin``."""
    return _current.set(now)


def unpin(token: Token[datetime | None]) -> None:
    _current.reset(token)
