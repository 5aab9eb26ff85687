"""Make SpiffWorkflow's timers read the engine's clock instead of the wall clock.

SpiffWorkflow 3.2 calls ``datetime.now(timezone.utc)`` inside its timer module. We replace that
module's ``datetime`` name with a subclass whose ``now()`` reads the clock of the step running
on this thread (a context variable), so a test clock moves timers by days without sleeping
and every worker thread keeps its own step's time.

SpiffWorkflow also counts a duration's years and months out one month at a time: a duration
from task data such as ``P99999999Y`` would hold the step busy for good. Durations longer than
``MAX_DURATION_YEARS`` raise ``ValueError`` instead (a task error, so an incident).

A timer is due at its due time itself: SpiffWorkflow 3.2 fires a date, duration or cycle timer
only once its time is strictly before now, so a timer due at the instant the scheduler looked
waited for a later pass (a second later in production, a further move of a test clock). Here
``has_fired`` and ``cycle_complete`` compare with ``<=``, as the scheduler's ``next_due_at <=
now`` and the start timers' ``next_start_at <= now`` do (``timers.py``, ``start_timers.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

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


def _now() -> datetime:
    return _StepDatetime.now(UTC)


def _date_has_fired(self: TimeDateEventDefinition, my_task: Any) -> bool:
    """SpiffWorkflow's ``TimeDateEventDefinition.has_fired``, due at the due instant."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        my_task._set_internal_data(event_value=event_value)
    if TimerEventDefinition.parse_time_or_duration(event_value) <= _now():
        my_task._set_internal_data(event_fired=True)
    return bool(my_task._get_internal_data("event_fired", False))


def _duration_has_fired(self: DurationTimerEventDefinition, my_task: Any) -> bool:
    """SpiffWorkflow's ``DurationTimerEventDefinition.has_fired``, due at the due instant."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        parsed = TimerEventDefinition.parse_iso_duration(expression)
        event_value = (_now() + TimerEventDefinition.get_timedelta_from_start(parsed)).isoformat()
        my_task._set_internal_data(event_value=event_value)
    if TimerEventDefinition.get_datetime(event_value) <= _now():
        my_task._set_internal_data(event_fired=True)
    return bool(my_task._get_internal_data("event_fired", False))


def _cycle_complete(self: CycleTimerEventDefinition, my_task: Any) -> bool:
    """SpiffWorkflow's ``CycleTimerEventDefinition.cycle_complete``, due at the due instant:
    True when the next occurrence is due (its time is now or past)."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(expression)
        event_value = {
            "cycles": cycles,
            "next": start.isoformat(),
            "duration": duration.total_seconds(),
        }
    ready = False
    if event_value["cycles"] != 0:
        next_event = datetime.fromisoformat(event_value["next"])
        if next_event <= _now():
            following = next_event + timedelta(seconds=event_value["duration"])
            event_value["next"] = following.isoformat()
            event_value["cycles"] -= 1
            ready = True
    else:
        my_task.internal_data.pop("event_value", None)
        my_task.internal_data["event_fired"] = True
    my_task._set_internal_data(event_value=event_value)
    return ready


def install() -> None:
    """Idempotent: point SpiffWorkflow's timer module at the step clock, make its timers due
    at their due instant, and bound the durations it counts out."""
    if spiff_timer.datetime is not _StepDatetime:
        spiff_timer.datetime = _StepDatetime  # type: ignore[misc]
    # Set only when not set: every step calls this, and setting a class's attribute, even to
    # the same function, makes Python drop what it cached about that class.
    if TimeDateEventDefinition.has_fired is not _date_has_fired:
        TimeDateEventDefinition.has_fired = _date_has_fired  # type: ignore[method-assign]
    if DurationTimerEventDefinition.has_fired is not _duration_has_fired:
        DurationTimerEventDefinition.has_fired = _duration_has_fired  # type: ignore[method-assign]
    if CycleTimerEventDefinition.cycle_complete is not _cycle_complete:
        CycleTimerEventDefinition.cycle_complete = _cycle_complete  # type: ignore[method-assign]
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
