"""The compliance gate in front of every call: calling window, daily attempt cap, DNC, consent.

Times are judged in the customer's own time zone. A window comes from the team's settings and
is always clipped to 08:00-22:00, whatever is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import Call, Customer
from dialflow.errors import Conflict

EARLIEST = time(8, 0)
LATEST = time(22, 0)
DEFAULT_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    @classmethod
    def from_setting(cls, value: dict[str, str]) -> Window:
        start = max(time.fromisoformat(value.get("start", "09:00")), EARLIEST)
        end = min(time.fromisoformat(value.get("end", "21:00")), LATEST)
        if start >= end:
            start, end = time(9, 0), time(21, 0)
        return cls(start, end)


@dataclass(frozen=True)
class Verdict:
    """``allowed`` now; else ``blocked`` for good (DNC, no consent, erased) with ``reason``, or
    deferred to ``next_allowed_at`` (outside the window, daily cap reached)."""

    allowed: bool
    blocked: bool
    reason: str | None
    next_allowed_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "blocked": self.blocked,
            "reason": self.reason,
            "next_allowed_at": self.next_allowed_at.isoformat() if self.next_allowed_at else None,
        }


def zone(name: str | None) -> ZoneInfo:
    """The named time zone; the default zone when the name is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def zone_of(customer: Customer) -> ZoneInfo:
    return zone(customer.timezone)


def next_allowed(at: datetime, zone: ZoneInfo, window: Window) -> datetime:
    """``at`` itself when it falls inside the window, else the window's next opening (UTC)."""
    local = at.astimezone(zone)
    if window.start <= local.time() < window.end:
        return at.astimezone(UTC)
    day = local.date() if local.time() < window.start else local.date() + timedelta(days=1)
    return datetime.combine(day, window.start, tzinfo=zone).astimezone(UTC)


def local_day_bounds(at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of the local day that contains ``at``."""
    day = at.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def calls_today(session: Session, customer: Customer, now: datetime) -> int:
    start, end = local_day_bounds(now, zone_of(customer))
    return (
        session.scalar(
            select(func.count(Call.id)).where(
                Call.customer_id == customer.id, Call.started_at >= start, Call.started_at < end
            )
        )
        or 0
    )


def check_call(
    session: Session, customer: Customer, now: datetime, window: Window, daily_cap: int | None
) -> Verdict:
    """The gate's verdict; ``daily_cap=None`` leaves the attempt cap out (a call already made
    is being logged)."""
    if customer.erased_at is not None:
        return Verdict(False, True, "erased", None)
    if customer.do_not_call:
        return Verdict(False, True, "do_not_call", None)
    if not customer.consent:
        return Verdict(False, True, "no_consent", None)
    zone = zone_of(customer)
    if daily_cap is not None and calls_today(session, customer, now) >= daily_cap:
        _, tomorrow = local_day_bounds(now, zone)
        return Verdict(False, False, "daily_attempt_cap", next_allowed(tomorrow, zone, window))
    allowed_at = next_allowed(now, zone, window)
    if allowed_at > now:
        return Verdict(False, False, "outside_calling_window", allowed_at)
    return Verdict(True, False, None, None)


class CallNotAllowed(Conflict):
    """A call the gate refuses; ``code`` is the verdict's reason (``do_not_call``,
    ``no_consent``, ``erased``, ``outside_calling_window``, ``daily_attempt_cap``)."""

    code = "call_not_allowed"


def require_callable(
    session: Session, customer: Customer, now: datetime, window: Window, daily_cap: int | None
) -> None:
    """Raise :class:`CallNotAllowed` (409) unless ``customer`` may be called at ``now``."""
    verdict = check_call(session, customer, now, window, daily_cap)
    if verdict.allowed:
        return
    reason = verdict.reason or "call_not_allowed"
    later = verdict.next_allowed_at
    local = now.astimezone(zone_of(customer))
    messages = {
        "erased": "This customer's data was erased; they are not called.",
        "do_not_call": "This customer is on the do-not-call list.",
        "no_consent": "This customer has not consented to be called.",
        "daily_attempt_cap": f"This customer was already called {daily_cap} times today.",
        "outside_calling_window": (
            f"It is {local:%H:%M} for the customer, outside the calling window "
            f"{window.start:%H:%M}-{window.end:%H:%M}."
        ),
    }
    message = messages.get(reason, "This customer may not be called now.")
    details = []
    if later is not None:
        message += f" Next allowed at {later.astimezone(UTC).isoformat()}."
        details.append({"field": "next_allowed_at", "message": later.astimezone(UTC).isoformat()})
    raise CallNotAllowed(message, code=reason, details=details)
