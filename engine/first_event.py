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
first wins, as between a completion and its task's due boundary timer: a timer fires when
the instance next steps, unless that step's own event got there first.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class FirstEvent(MultipleEventDefinition):
    """``MultipleEventDefinition`` that, unless parallel, stops at the first event caught."""

    def has_fired(self, my_task: Any) -> bool:
        if self.parallel:
            return super().has_fired(my_task)
        seen = my_task.internal_data.get("seen_events", [])
        if seen:
            return True
        fired = super().has_fired(my_task)  # adds the timers due, several at one check
        my_task.internal_data["seen_events"] = my_task.internal_data["seen_events"][:1]
        return fired

    def catches(self, my_task: Any, event: Any = None) -> bool:
        if not self.parallel and my_task.internal_data.get("seen_events"):
            return False
        return bool(super().catches(my_task, event))


def first_event_wins(spec: Any) -> None:
    """Give each event-based gateway of ``spec`` a ``FirstEvent`` of its events."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(task_spec, EventBasedGateway) and type(definition) is MultipleEventDefinition:
            task_spec.event_definition = FirstEvent(
                definition.event_definitions,
                definition.parallel,
                description=definition.description,
            )


def register(registry: Any) -> None:
    """Convert ``FirstEvent`` as SpiffWorkflow's own ``MultipleEventDefinition``."""
    SPIFF_CONFIG[MultipleEventDefinition](FirstEvent, registry)
