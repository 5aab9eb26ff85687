"""An event-based gateway takes the first event that reaches it, and that one only.

SpiffWorkflow 3.2 waits at an event-based gateway with one ``MultipleEventDefinition`` of
its events. Once a message had reached it, the same step's check of the gateway still added
every timer of it that was due (``has_fired`` appends each due timer to ``seen_events``), and
the gateway ran the paths of all the events it had seen: a reply coming while the gateway's
timeout was due but not fired yet (the background pass had not come round) took the reply's
path *and* the timeout's. The same held for a message reaching a gateway that had already
seen an event in its step. BPMN's exclusive event-based gateway is triggered by one event:
here the first one caught wins, a later event is not caught (a message goes to another
catch, or to no instance), and a due timer is not added after it. Whichever step comes
first wins, as between a completion and its task's due boundary timer: a timer that came due
fires in the scheduler's next pass, in a step of its own (``due_timers.py``), unless a step's
own event got there first.

The timers of one gateway also shared one due time: SpiffWorkflow keeps a timer's value in
its task's ``event_value``, and the gateway is the task of all its events, so a gateway's
second timer took the first's due time (a two-hour deadline beside a one-hour reminder was
shown and scheduled at one hour; drawn first, the two-hour timer held the one-hour timer back
to two hours). Here each timer keeps its own value (``TIMER_VALUES``, by its event's id, so
a migrated instance keeps it when only the timer's label changed); of several due at one
check, the one due first is the event. A gateway that was waiting with one shared value keeps
it for each of its timers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util import BpmnEvent, PendingBpmnEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

TIMER_VALUES = "timer_values"  # a gateway task's internal data: each timer's own value
LABEL = "shared_label"  # a timer's label, when another timer of its gateway has it too
EVENT_ID = "event_id"  # the id of a gateway's timer's event, which its value is kept under


class FirstEvent(MultipleEventDefinition):
    """``MultipleEventDefinition`` that, unless parallel, stops at the first event caught."""

    def has_fired(self, my_task: Any) -> bool:
        if self.parallel:
            return super().has_fired(my_task)
        if my_task.internal_data.get("seen_events"):
            return True
        timers = [d for d in self.event_definitions if isinstance(d, TimerEventDefinition)]
        _share_out(my_task, timers)
        due = [d for d in timers if own_value(my_task, d, d.has_fired)]
        if not due:
            return False
        first = min(due, key=lambda d: _due_at(own_value(my_task, d, d.details)))
        my_task.internal_data["seen_events"] = [BpmnEvent(first)]
        return True

    def waiting(self, my_task: Any) -> list[PendingBpmnEvent]:
        """Each event still awaited, a timer with its own due time."""
        seen = [e.event_definition for e in my_task.internal_data.get("seen_events", [])]
        _share_out(
            my_task, [d for d in self.event_definitions if isinstance(d, TimerEventDefinition)]
        )
        return [
            own_value(my_task, d, d.details)
            if isinstance(d, TimerEventDefinition)
            else d.details(my_task)
            for d in self.event_definitions
            if d not in seen
        ]

    def reset(self, my_task: Any) -> None:
        my_task.internal_data.pop(TIMER_VALUES, None)
        super().reset(my_task)

    def catches(self, my_task: Any, event: Any = None) -> bool:
        if not self.parallel and my_task.internal_data.get("seen_events"):
            return False
        return bool(super().catches(my_task, event))


def own_value(task: Any, timer: TimerEventDefinition, call: Callable[[Any], Any]) -> Any:
    """``call(task)`` with ``timer``'s own value as the task's ``event_value``, kept after."""
    data = task.internal_data
    values = data.setdefault(TIMER_VALUES, {})
    key = _key(timer)
    data.pop("event_fired", None)
    if values.get(key) is not None:
        data["event_value"] = values[key]
    try:
        return call(task)
    finally:
        values[key] = data.pop("event_value", None)
        data.pop("event_fired", None)


def _key(timer: TimerEventDefinition) -> str:
    """What a timer's value is kept under: its event's id, which a new version keeps when
    the timer's label changes (a migrated instance's timer is not started again)."""
    return getattr(timer, EVENT_ID, None) or timer.name


def _share_out(task: Any, timers: list[TimerEventDefinition]) -> None:
    """A gateway waiting since before each timer kept its value: its one shared value is
    each timer's, as it was; a value kept under the timer's label (its name, or the label it
    shared) is kept under its event's id."""
    data = task.internal_data
    if TIMER_VALUES not in data and data.get("event_value") is not None:
        shared = data.pop("event_value")
        data[TIMER_VALUES] = {_key(timer): shared for timer in timers}
    values = data.get(TIMER_VALUES) or {}
    for timer in timers:
        key = _key(timer)
        for before in (timer.name, getattr(timer, LABEL, None)):
            if key not in values and before in values:
                values[key] = values[before]


def _due_at(event: PendingBpmnEvent) -> datetime:
    try:
        return TimerEventDefinition.get_datetime(str(event.value))
    except (TypeError, ValueError):
        return datetime.max.replace(tzinfo=UTC)


def first_event_wins(spec: Any) -> None:
    """Give each event-based gateway of ``spec`` a ``FirstEvent`` of its events."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(task_spec, EventBasedGateway) and type(definition) is MultipleEventDefinition:
            _own_names(task_spec, definition.event_definitions)
            task_spec.event_definition = FirstEvent(
                definition.event_definitions,
                definition.parallel,
                description=definition.description,
            )


def _own_names(gateway: Any, definitions: list[Any]) -> None:
    """Each timer of ``gateway`` knows its event's id (``EVENT_ID``), and timers that share a
    label are named by those ids, as timers without a label are: SpiffWorkflow tells timers
    apart by name, so two labelled "Wait" shared one due time and the first drawn's path was
    taken whichever fired. Each keeps the label it was known by (``LABEL``), for the value a
    gateway waiting since then stored."""
    timers = [
        (d, output)
        for d, output in zip(definitions, gateway.outputs, strict=False)
        if isinstance(d, TimerEventDefinition)
    ]
    for timer, output in timers:
        setattr(timer, EVENT_ID, output.bpmn_id)
    names = [d.name for d, _output in timers]
    if len(set(names)) == len(names):
        return
    for timer, output in timers:
        setattr(timer, LABEL, timer.name)
        timer.name = output.bpmn_id or timer.name


def register(registry: Any) -> None:
    """Convert ``FirstEvent`` as SpiffWorkflow's own ``MultipleEventDefinition``."""
    SPIFF_CONFIG[MultipleEventDefinition](FirstEvent, registry)
