"""What thrown and caught events carry, where SpiffWorkflow 3.2 drops it.

- **Catches of several definitions.** A catch event (start, intermediate or boundary) listing
  several definitions, say two signals, is parsed as a ``MultipleEventDefinition``, which
  records the events it caught (``seen_events``) but never applies their payloads: a
  signal's ``variableName`` (or a message's ``messageVariable``) stayed unset, so a parallel
  multiple catch of two signals thrown in one step got neither payload. ``MultipleCatch``
  applies each caught event's payload with the definition that matches it, as a catch of
  that one definition would (and as SpiffWorkflow's event-based gateway does), in the order
  caught.
- **Messages without a payload expression.** A message end event, intermediate throw event
  or send task without ``spiffworkflow:messagePayload`` sent an empty payload, so a diagram
  drawn in Camunda Modeler or bpmn.io (which write no such expression) handed the receiving
  instance nothing. ``DataMessage`` sends a copy of the sending task's data instead (without
  its ``lane_owners``, which route the sender's own lanes), the way BPMN's data-carrying
  message reads; with an expression, the message carries what it evaluates to, as before.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ItemAwareEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition as SpiffMessageEventDefinition,
)
from SpiffWorkflow.spiff.specs.event_definitions import (
    SignalEventDefinition as SpiffSignalEventDefinition,
)

from engine.boundaries import TaskMessage
from engine.signal_inputs import SignalWithInputs
from engine.zeebe_messages import subscribe_gateway

_WITH_PAYLOAD = (ItemAwareEventDefinition, MessageEventDefinition)
# Task data that belongs to the sender's own process, not to the message it sends.
NOT_SENT = ("lane_owners",)


class MultipleCatch(MultipleEventDefinition):
    """``MultipleEventDefinition`` that puts each caught event's payload into the task data."""

    def update_task_data(self, my_task: Any) -> None:
        for event in my_task.internal_data.get("seen_events", []):
            for definition in self.event_definitions:
                if isinstance(definition, _WITH_PAYLOAD) and definition == event.event_definition:
                    # where a catch of this one definition keeps the payload until it runs
                    my_task.internal_data[definition.name] = event.payload
                    definition.update_task_data(my_task)
                    my_task.internal_data.pop(definition.name, None)
                    break


class DataMessage(TaskMessage):
    """A thrown message without a payload expression: it carries the sending task's data."""

    def throw(self, my_task: Any) -> None:
        if self.expression is not None:
            super().throw(my_task)
            return
        payload = {k: deepcopy(v) for k, v in my_task.data.items() if k not in NOT_SENT}
        try:
            correlations = self.get_correlations(my_task, payload)
        except Exception:
            # Correlation properties the data does not hold: the message goes by business
            # key, as it did when it carried nothing.
            correlations = {}
        event = BpmnEvent(self, payload=payload, correlations=correlations)
        my_task.workflow.correlations.update(correlations)
        my_task.workflow.top_workflow.catch(event)

    def __eq__(self, other: Any) -> bool:
        # A catch's definition is SpiffWorkflow's class: compared with this subclass, Python
        # asks this method first, and a message matches by its name whatever threw it.
        return isinstance(other, MessageEventDefinition) and self.name == other.name


def carry_payloads(spec: Any) -> None:
    """Use these classes in ``spec``: ``MultipleCatch`` for each catch event of several
    definitions, ``DataMessage`` for each message thrown without a payload expression.

    A pass over the parsed spec, like the decision engines ``hit_policies`` sets, rather
    than parser classes: whichever parser class built an event, its definition is replaced
    the same way."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(task_spec, ThrowingEvent):
            task_spec.event_definition = _sent(definition)
        elif isinstance(task_spec, EventBasedGateway):
            subscribe_gateway(definition)  # its Camunda 8 message keys read as it waits
        elif (
            isinstance(task_spec, CatchingEvent)  # not a gateway: it applies payloads itself
            and type(definition) is MultipleEventDefinition
        ):
            task_spec.event_definition = MultipleCatch(
                definition.event_definitions,
                definition.parallel,
                description=definition.description,
            )


def _sent(definition: Any) -> Any:
    if type(definition) is MultipleEventDefinition:  # a multiple throw throws each of them
        definition.event_definitions = [_sent(d) for d in definition.event_definitions]
    elif (
        type(definition) in (SpiffMessageEventDefinition, TaskMessage)
        and definition.expression is None
    ):
        return DataMessage(
            definition.name,
            definition.correlation_properties,
            None,
            definition.message_var,
            definition.process_correlations,
            description=definition.description,
        )
    return definition


def register(registry: Any) -> None:
    """Make the state codec's registry convert these classes as SpiffWorkflow's own: migration's
    diff compares specs through it, and a caught message's event keeps its definition."""
    for own, base in (
        (MultipleCatch, MultipleEventDefinition),
        (DataMessage, SpiffMessageEventDefinition),
        (SignalWithInputs, SpiffSignalEventDefinition),
    ):
        SPIFF_CONFIG[base](own, registry)
