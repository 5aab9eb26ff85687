"""Timer start events: the scheduler starts a new instance at each date, duration or cycle.

Deploying a version whose start event has a literal timer (``'R/PT24H'``, ``'PT1H'`` or a
date) schedules it on the version row (``next_start_at``, indexed); older versions of the same
process stop being scheduled. A start expression computed from data cannot be scheduled: such
a start event only holds instances started through the API until their time.
"""

from __future__ import annotations

import ast
import logging
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dialflow.db import Database
from engine import stepper
from engine.models import ProcessVersion
from engine.service import ProcessEngine
from engine.state_limit import StateTooLarge
from engine.timekeeping import calendar_later, cycle_calendar, step_time

log = logging.getLogger(__name__)


def start_timer_of(spec: Any) -> dict[str, str] | None:
    """``{"kind": "date"|"duration"|"cycle", "value": ISO text}`` of a literal start timer."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if not isinstance(task_spec, StartEvent) or not isinstance(
            definition, TimerEventDefinition
        ):
            continue
        try:
            value = ast.literal_eval(definition.expression.strip())
        except (ValueError, SyntaxError):
            return None  # computed from data at run time
        if not isinstance(value, str):
            return None
        kind = (
            "cycle"
            if isinstance(definition, CycleTimerEventDefinition)
            else "duration"
            if isinstance(definition, DurationTimerEventDefinition)
            else "date"
        )
        return {"kind": kind, "value": value}
    return None


def schedule(
    session: Session, version: ProcessVersion, timer: dict[str, str] | None, now: datetime
) -> None:
    """Schedule the first start of ``version``; unschedule the process's older versions."""
    session.execute(
        update(ProcessVersion)
        .where(ProcessVersion.process_id == version.process_id, ProcessVersion.id != version.id)
        .values(next_start_at=None)
        .execution_options(synchronize_session=False)
    )
    version.start_timer = timer
    version.next_start_at, version.starts_left = _first(timer, now) if timer else (None, None)


def start_due(engine: ProcessEngine, database: Database, limit: int = 50) -> int:
    """Start one instance for each version whose start time has come (now or past); returns
    how many."""
    started = 0
    for _ in range(limit):
        with database.unit_of_work() as session:
            now = engine.clock.now()
            version = session.scalar(
                select(ProcessVersion)
                .where(ProcessVersion.next_start_at <= now)
                .order_by(ProcessVersion.next_start_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if version is None:
                return started
            try:
                with session.begin_nested():  # a refused start undoes its handlers' writes
                    _start(engine, session, version)
                started += 1
            except StateTooLarge as error:  # this start is refused; the schedule goes on
                log.warning("timer start of %s refused: %s", version.process_id, error.message)
            _reschedule(version, now)
    return started


def _start(engine: ProcessEngine, session: Session, version: ProcessVersion) -> None:
    """A new instance whose start timer fires at once: the scheduler decided it is time."""
    step = stepper.begin(engine, session, version, None, {}, actor=None)
    due = (step.context.now - timedelta(seconds=1)).isoformat()
    for task in step.workflow.get_tasks():
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(task.task_spec, StartEvent):
            continue
        if isinstance(definition, CycleTimerEventDefinition):
            # One cycle, already due: SpiffWorkflow then takes the path once and finishes.
            task._set_internal_data(event_value={"cycles": 1, "next": due, "duration": 1})
        elif isinstance(definition, TimerEventDefinition):
            task._set_internal_data(event_fired=True)
    stepper.run(engine, session, step)


def _first(timer: dict[str, str], now: datetime) -> tuple[datetime | None, int | None]:
    with step_time(now):  # cycles without a start date begin "now": the engine's now
        return _first_start(timer["kind"], timer["value"], now)


def _first_start(kind: str, value: str, now: datetime) -> tuple[datetime | None, int | None]:
    try:
        if kind == "cycle":
            cycles, start, _interval = TimerEventDefinition.parse_iso_recurring_interval(value)
            return _aware(start), (None if cycles < 0 else cycles)
        if kind == "duration":
            parsed = TimerEventDefinition.parse_iso_duration(value)
            return now + TimerEventDefinition.get_timedelta_from_start(parsed, now), 1
        return _aware(TimerEventDefinition.get_datetime(value)), 1
    except Exception:  # checked at deploy; an odd value never stops a deploy here
        log.warning("cannot schedule start timer %r", value)
        return None, None


def _reschedule(version: ProcessVersion, now: datetime) -> None:
    """The next cycle after ``now``: times missed while nothing ran are skipped rather than
    started in a burst; a bounded cycle still starts its full number of instances."""
    timer = version.start_timer or {}
    left = None if version.starts_left is None else version.starts_left - 1
    if timer.get("kind") != "cycle" or left == 0:
        version.next_start_at, version.starts_left = None, 0
        return
    _cycles, _start_at, interval = TimerEventDefinition.parse_iso_recurring_interval(timer["value"])
    step = timedelta(seconds=max(interval.total_seconds(), 1))
    calendar = cycle_calendar(timer["value"])  # calendar months and days: no fixed length

    def after(moment: datetime) -> datetime:
        if calendar is None:
            return moment + step
        months, days, seconds = calendar
        return calendar_later(moment, months, days) + timedelta(seconds=seconds)

    assert version.next_start_at is not None
    upcoming = after(version.next_start_at)
    while upcoming <= now:  # one start per instant: the one just made covers now
        upcoming = after(upcoming)
    version.next_start_at, version.starts_left = upcoming, left


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.astimezone()
