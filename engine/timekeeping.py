"""Make SpiffWorkflow's timers read the engine's clock instead of the wall clock.

SpiffWorkflow 3.2 calls ``datetime.now(timezone.utc)`` inside its timer module. We replace that
module's ``datetime`` name with a subclass whose ``now()`` reads the clock of the step running
on this thread (a context variable), so a test clock moves timers by days without sleeping
and every worker thread keeps its own step's time.

SpiffWorkflow also counts a duration's years and months out one month at a time: a duration
from task data such as ``P99999999Y`` would hold the step busy for good. Durations longer than
``MAX_DURATION_YEARS`` raise ``ValueError`` instead (a task error, so an incident).

A duration's months (and years) are calendar months, as in Camunda and Java's ``plusMonths``:
the same day of the month that many months on, the month's last day when it has no such day.
SpiffWorkflow 3.2 added the length of each month counted from the start's, so ``P1M`` from
31 January was due on 3 March, and from 31 March on 1 May.

A cycle with an end date, ``R/PT1H/2026-06-30T18:00:00+08:00`` (or ``R5/...``), repeats from
now until the end, as Camunda 7 and Flowable read it: none after it, and at most the
repetitions it names. SpiffWorkflow 3.2 read the end as the first repetition's end, so the
cycle began one interval before the end date and then went on for ever. A cycle between two
dates, ``R/<start>/<end>``, repeats the interval between them from the start (SpiffWorkflow
failed the step with an ``AttributeError``).

A date without an offset is in the installation's zone (``use_zone``) on that date, summer
time included: SpiffWorkflow 3.2 read it in the server's zone, with the offset it had when the
server started, so a server in Europe/Berlin started in winter fired a July timer for 09:00 at
10:00. Scripts' ``parse_time`` and FEEL's ``date and time`` read such text the same way
(``read_time``).

Calendar arithmetic (a duration's years, months, weeks and days) counts in the installation's
zone, its hours, minutes and seconds as elapsed time: ``P1M`` from 31 January 00:30 in
Shanghai (30 January 16:30 UTC) is due on 28 February 00:30 in Shanghai, where months counted
in UTC gave 1 March 00:30; ``P1D`` over a change to summer time is the same time of day the
next day, 23 hours later.

A timer is due at its due time itself: SpiffWorkflow 3.2 fires a date, duration or cycle timer
only once its time is strictly before now, so a timer due at the instant the scheduler looked
waited for a later pass (a second later in production, a further move of a test clock). Here
``has_fired`` and ``cycle_complete`` compare with ``<=``, as the scheduler's ``next_due_at <=
now`` and the start timers' ``next_start_at <= now`` do (``timers.py``, ``start_timers.py``).
"""

from __future__ import annotations

import functools
from calendar import monthrange
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from dialflow.clock import pin_time_token, unpin

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
    start = start or _now()
    months, days = _whole_months(parsed_duration), _whole_days(parsed_duration)
    return calendar_later(start, months, days) - start + _from_start(parsed_duration, start)


def _bounded_from_end(parsed_duration: dict[str, Any], end: Any) -> Any:
    check_duration(parsed_duration)
    months, days = _whole_months(parsed_duration), _whole_days(parsed_duration)
    return end - calendar_later(end, -months, -days) + _from_end(parsed_duration, end)


def _whole_months(parsed: dict[str, Any]) -> int:
    """Take the whole years and months out of a parsed duration (SpiffWorkflow counts what is
    left: days, weeks, hours..., and a fraction of a month); returns them in months."""
    years, months = parsed.get("years", 0), parsed.get("months", 0)
    whole = int(years) * 12 + int(months)
    parsed["years"] = years - int(years)
    parsed["months"] = months - int(months)
    return whole


def _whole_days(parsed: dict[str, Any]) -> int:
    """Take the whole weeks and days out of a parsed duration; returns them in days (what is
    left is a fraction of a day or a week, elapsed time)."""
    weeks, days = parsed.get("weeks", 0), parsed.get("days", 0)
    whole = int(weeks) * 7 + int(days)
    parsed["weeks"] = weeks - int(weeks)
    parsed["days"] = days - int(days)
    return whole


def calendar_later(moment: datetime, months: int, days: int = 0) -> datetime:
    """``months`` and then ``days`` later (earlier when negative) on the installation's
    calendar: the same time of day on the same day of the month, or that month's last day.
    An aware ``moment`` is counted in the installation's zone (``use_zone``; else its own)
    and returned in its own zone; a naive one is counted as it is."""
    if not months and not days:
        return moment
    zone = _local_zone if moment.tzinfo is not None else None
    local = moment.astimezone(zone) if zone is not None else moment
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    day = min(local.day, monthrange(year, month + 1)[1])
    # Wall-clock arithmetic: an aware datetime plus days keeps its time of day, and its zone
    # gives the offset of the day it lands on.
    shifted = local.replace(year=year, month=month + 1, day=day) + timedelta(days=days)
    return shifted.astimezone(moment.tzinfo) if zone is not None else shifted


def cycle_calendar(expression: str) -> tuple[int, int, float] | None:
    """A cycle's interval when it counts calendar months or days (``R/P1M``, ``R/P1D``): the
    whole months, the whole days, and the seconds of the rest of it; ``None`` for an interval
    of hours, minutes and seconds only, which is a fixed number of seconds (SpiffWorkflow's
    repeats took the first month's length for every month, so a monthly reminder from 4 May
    fell on 4 June, then 5 July, 5 August...; and a day as 24 hours, so a daily 09:00 in a
    zone with summer time moved to 10:00)."""
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    duration = next((part for part in parts[1:] if part.startswith("P")), None)
    if duration is None:
        return None
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    months, days = _whole_months(parsed), _whole_days(parsed)
    if not months and not days:
        return None
    return months, days, _from_start(parsed, _now()).total_seconds()


# The installation's zone (``Settings.default_timezone``, set by ``Runtime.build``): a timer date
# without an offset is a time there. SpiffWorkflow read it in the server's zone, so on a server
# running in UTC, as containers do, a callback drawn for 09:00 came at 17:00 in Shanghai.
_local_zone: tzinfo | None = None


def use_zone(name: str) -> None:
    """Read timer dates written without an offset in the zone ``name`` (configuration, the
    same in every process of an installation)."""
    global _local_zone
    _local_zone = ZoneInfo(name)


def installation_zone() -> tzinfo | None:
    """The zone ``use_zone`` set (``None`` before an engine was built: the server's)."""
    return _local_zone


def in_installation_zone(moment: datetime) -> datetime:
    """A naive ``moment`` as a time of the installation's zone (``use_zone``; else the
    server's) with the offset that zone has on that date; an aware one as it is."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=_local_zone) if _local_zone else moment.astimezone()


def read_time(text: str) -> datetime:
    """An aware datetime from ISO 8601 text, as timers read it: text without an offset is a
    time of the installation's zone."""
    return in_installation_zone(datetime.fromisoformat(text))


def _get_datetime(expression: str) -> datetime:
    """SpiffWorkflow's ``get_datetime``: the UTC instant of an ISO 8601 date, one without an
    offset read in the installation's zone (``use_zone``; else the server's) with the offset
    it has on that date."""
    moment = read_time(expression)
    # SpiffWorkflow tells a date from a duration by ``isinstance`` of its module's
    # ``datetime``, which ``install`` makes ``_StepDatetime``: a plain one read as neither, and a
    # cycle from a start date (``R/2026-05-04T09:00:00+08:00/P1D``) was "invalid".
    utc = moment.astimezone(UTC)
    return _StepDatetime.combine(utc.date(), utc.timetz())


_recurring = TimerEventDefinition.parse_iso_recurring_interval


def _recurring_interval(expression: str) -> tuple[int, datetime, timedelta]:
    """SpiffWorkflow's ``parse_iso_recurring_interval`` (cycles, first time, interval), with
    the forms it misreads: a duration and an end (``R/PT1H/<end>``), repeated from now, the
    cycles counted to the end, and a start and an end (``R/<start>/<end>``)."""
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    if len(parts) != 3 or parts[2].startswith("P"):
        return _recurring(expression)
    repeats = int(parts[0]) if parts[0] else -1
    end = TimerEventDefinition.parse_time_or_duration(parts[2])
    if parts[1].startswith("P"):
        now = _now()
        interval = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now
        )
        start = now + interval
    else:
        start = TimerEventDefinition.parse_time_or_duration(parts[1])
        interval = end - start
    if not isinstance(end, datetime) or interval <= timedelta(0):
        raise ValueError(f"the cycle {expression!r} ends before its first repetition")
    if parts[1].startswith("P"):
        until_end = 0 if start > end else (end - start) // interval + 1
        repeats = until_end if repeats < 0 else min(repeats, until_end)
    return repeats, start, interval


def _now() -> datetime:
    return _StepDatetime.now(UTC)


def _as_text(value: Any) -> Any:
    """A timer expression's value as the ISO 8601 text SpiffWorkflow reads: a script's
    ``datetime`` or ``date`` (``planned_at = datetime(...) + timedelta(hours=4)``) as its
    ``isoformat()``, a ``timedelta`` as a duration in seconds (``PT14400S``). SpiffWorkflow 3.2
    read only text and failed the step with ``'datetime.datetime' object has no attribute
    'upper'``."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds < 0:
            raise ValueError(
                f"the timer's duration is {seconds:g} seconds, negative: it would be due before now"
            )
        return f"PT{int(seconds) if seconds.is_integer() else seconds}S"
    if not isinstance(value, str):  # SpiffWorkflow failed on None with "no attribute 'lower'"
        raise ValueError(
            f"the timer's expression gave {_shown(value)}, where a timer needs an ISO 8601 text "
            "(a duration such as 'PT2H', a date-time such as '2026-05-04T09:00:00+08:00', a "
            "cycle such as 'R3/PT1H'), a datetime or a timedelta: fix the expression or the "
            "data it reads, then retry"
        )
    return value


def _shown(value: Any) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
    return f"{shown} (of type {type(value).__name__})" if value is not None else "None"


_BEFORE_WAITING = "Error occurred in the Pre-Script"  # engine.task_scripts.PRE_SCRIPT_NOTE


def _on_the_timer(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """``check`` (a timer's ``has_fired``) failing as an error of the timer's task: a
    duration past ``MAX_DURATION_YEARS`` or a text that is no ISO 8601 time was an incident on
    no element (``engine_error``), which the process owner could not place."""

    @functools.wraps(check)
    def on_the_timer(self: Any, my_task: Any) -> bool:
        try:
            return check(self, my_task)
        except WorkflowTaskException:
            raise  # its expression failed: said on its task already
        except Exception as exc:
            failure = WorkflowTaskException(
                f"the timer of {my_task.task_spec.bpmn_id!r} cannot be set: "
                f"{type(exc).__name__}: {exc}",
                task=my_task,
                exception=exc,
            )
            # failed before it began to wait, as a failed pre-script: its retry reads the
            # timer again and waits (``engine.task_scripts.rerun_pre_script``)
            failure.add_note(_BEFORE_WAITING)
            my_task._set_state(TaskState.ERROR)
            raise failure from exc

    return on_the_timer


@_on_the_timer
def _date_has_fired(self: TimeDateEventDefinition, my_task: Any) -> bool:
    """SpiffWorkflow's ``TimeDateEventDefinition.has_fired``, due at the due instant."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        event_value = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
        my_task._set_internal_data(event_value=event_value)
    if TimerEventDefinition.parse_time_or_duration(event_value) <= _now():
        my_task._set_internal_data(event_fired=True)
    return bool(my_task._get_internal_data("event_fired", False))


@_on_the_timer
def _duration_has_fired(self: DurationTimerEventDefinition, my_task: Any) -> bool:
    """SpiffWorkflow's ``DurationTimerEventDefinition.has_fired``, due at the due instant."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        expression = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
        parsed = TimerEventDefinition.parse_iso_duration(expression)
        event_value = (_now() + TimerEventDefinition.get_timedelta_from_start(parsed)).isoformat()
        my_task._set_internal_data(event_value=event_value)
    if TimerEventDefinition.get_datetime(event_value) <= _now():
        my_task._set_internal_data(event_fired=True)
    return bool(my_task._get_internal_data("event_fired", False))


@_on_the_timer
def _cycle_complete(self: CycleTimerEventDefinition, my_task: Any) -> bool:
    """SpiffWorkflow's ``CycleTimerEventDefinition.cycle_complete``, due at the due instant:
    True when the next occurrence is due (its time is now or past)."""
    event_value = my_task._get_internal_data("event_value")
    if event_value is None:
        expression = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
        cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(expression)
        event_value = {
            "cycles": cycles,
            "next": start.isoformat(),
            "duration": duration.total_seconds(),
        }
        calendar = cycle_calendar(expression)
        if calendar is not None:  # months and days, and the rest of the interval in seconds
            event_value["months"], event_value["days"], event_value["duration"] = calendar
    ready = False
    if event_value["cycles"] != 0:
        next_event = datetime.fromisoformat(event_value["next"])
        if next_event <= _now():
            following = calendar_later(
                next_event, event_value.get("months", 0), event_value.get("days", 0)
            ) + timedelta(seconds=event_value["duration"])
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
        TimerEventDefinition.parse_iso_recurring_interval = staticmethod(_recurring_interval)  # type: ignore[method-assign,assignment]
        TimerEventDefinition.get_datetime = staticmethod(_get_datetime)  # type: ignore[method-assign,assignment]


install()  # at import: every caller of SpiffWorkflow's durations, in a step or not


class step_time:  # lower case: called as the function it was, ``with step_time(now):``
    """Within the block, SpiffWorkflow's timers on this thread see ``now``, and record
    timestamps (calls, notes, audit) follow the step too (``dialflow.clock``).

    A class rather than a generator: every step enters it, and a generator's context
    manager costs a few times what setting two context variables does."""

    __slots__ = ("_now", "_pin_token", "_step_token")

    def __init__(self, now: datetime) -> None:
        self._now = now

    def __enter__(self) -> None:
        install()
        self._step_token = _step_now.set(self._now)
        self._pin_token = pin_time_token(self._now)

    def __exit__(self, *_: object) -> None:
        try:
            unpin(self._pin_token)
        finally:
            _step_now.reset(self._step_token)
