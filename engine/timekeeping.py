"""Make SpiffWorkflow's timers read the engine's clock instead of the wall clock.

SpiffWorkflow 3.2 calls ``datetime.now(timezone.utc)`` inside its timer module. We replace that
module's ``datetime`` name with a subclass whose ``now()`` reads the clock of the step running
on this thread (a context variable), so a test clock moves timers by days without sleeping
and every worker thread keeps its own step's time.

SpiffWorkflow also counts a duration's years and months out one month at a time: a duration
from task data such as ``P99999999Y`` would hold the step busy for good. Durations longer than
``MAX_DURATION_YEARS`` raise ``ValueError`` instead (a task error, so an incident).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from dialflow.clock import pin_time

_step_now: ContextVar[datetime | None] = ContextVar("dialflow_step_now", default=None)


class _StepDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = _step_now.get()
        if current is None:
            return datetime.now(tz)
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


MAX_DURATION_YEARS = 100
_from_start = TimerEventDefinition.get_timedelta_from_start
_from_end = TimerEventDefinition.get_timedelta_from_end


class TooLong(ValueError):
    """A duration longer than ``MAX_DURATION_YEARS``."""


def check_duration(parsed: dict[str, Any]) -> None:
    """Raise ``TooLong`` (a ``ValueError``) for a parsed ISO 8601 duration (SpiffWorkflow's
    ``years``, ``months``... dictionary) longer than ``MAX_DURATION_YEARS``."""
    months = float(parsed.get("years", 0)) * 12 + float(parsed.get("months", 0))
    days = float(parsed.get("days", 0)) + 7 * float(parsed.get("weeks", 0))
    if months + days / 28 > MAX_DURATION_YEARS * 12:
        shown = ", ".join(f"{value} {unit}" for unit, value in parsed.items() if value)
        raise TooLong(f"a duration of {shown} is longer than {MAX_DURATION_YEARS} years")


def _bounded_from_start(parsed_duration: dict[str, Any], start: Any = None) -> Any:
    check_duration(parsed_duration)
    return _from_start(parsed_duration, start)


def _bounded_from_end(parsed_duration: dict[str, Any], end: Any) -> Any:
    check_duration(parsed_duration)
    return _from_end(parsed_duration, end)


def install() -> None:
    """Idempotent: point SpiffWorkflow's timer module at the step clock, and bound the
    durations it counts out."""
    if spiff_timer.datetime is not _StepDatetime:
        spiff_timer.datetime = _StepDatetime  # type: ignore[misc]
    if TimerEventDefinition.get_timedelta_from_start is not _bounded_from_start:
        TimerEventDefinition.get_timedelta_from_start = staticmethod(_bounded_from_start)  # type: ignore[method-assign,assignment]
        TimerEventDefinition.get_timedelta_from_end = staticmethod(_bounded_from_end)  # type: ignore[method-assign,assignment]


install()  # at import: every caller of SpiffWorkflow's durations, in a step or not


@contextmanager
def step_time(now: datetime) -> Iterator[None]:
    """Within the block, SpiffWorkflow's timers on this thread see ``now``."""
    install()
    token = _step_now.set(now)
    try:
        with pin_time(now):  # record timestamps (calls, notes, audit) follow the step too
            yield
    finally:
        _step_now.reset(token)
