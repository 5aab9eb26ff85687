"""Make SpiffWorkflow's timers read the engine's clock instead of the wall clock.

SpiffWorkflow 3.2 calls ``datetime.now(timezone.utc)`` inside its timer module. We replace that
module's ``datetime`` name with a subclass whose ``now()`` reads the clock of the step running
on this thread (a context variable), so a test clock moves timers by days without sleeping
and every worker thread keeps its own step's time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from dialflow.clock import pin_time

_step_now: ContextVar[datetime | None] = ContextVar("dialflow_step_now", default=None)


class _StepDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = _step_now.get()
        if current is None:
            return datetime.now(tz)
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def install() -> None:
    """Idempotent: point SpiffWorkflow's timer module at the step clock."""
    if spiff_timer.datetime is not _StepDatetime:
        spiff_timer.datetime = _StepDatetime  # type: ignore[misc]


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
