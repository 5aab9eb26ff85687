"""Camunda 8 (Zeebe) message subscriptions, correlated as Camunda 8 correlates them.

A Camunda 8 diagram names a message's key on the message itself: ``<bpmn:message
name="quote_accepted"><bpmn:extensionElements><zeebe:subscription correlationKey="=lead_id"/>
</bpmn:extensionElements></bpmn:message>``. Each catch of that message (an intermediate catch
event, a receive task, a boundary event, an event subprocess's start) reads the key from its
instance's data when it begins to wait; a message published with that name and key reaches
it, one with another key does not. A message sent to ``POST /api/v1/messages`` carries the
key as the correlation value ``correlationKey`` (``"correlation": {"correlationKey": "L-1"}``;
in ``payload`` too, as correlation values are read); a business key, when given, narrows the
instances as always.

``SubscribedMessage`` is that catch's definition: the key (the FEEL expression as Python,
``zeebe_hints``) is evaluated on the waiting task's data once, when it begins to wait, and kept
in the task's internal data; text and numbers compare as text (``5`` is ``"5"``, as Camunda
turns a number key into text). A key that cannot be read is an incident on that task, which a
retry reads again once the data is fixed. A process's message start event keeps going by name
(Camunda 8 has no key for a start), so does a message thrown: only catches subscribe.

What is not a plain key (another attribute, a FEEL expression with no Python here, no key at
all) is not taken; ``foreign.py`` refuses it on its line with ``hint_for``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition as SpiffMessageEventDefinition,
)

from engine import zeebe_expressions, zeebe_hints
from engine.bpmn_xml import BPMN_NS

KEY_FIELD = "correlationKey"  # the message's correlation value holding the key
_KEPT = "zeebe_correlation_key"  # the waiting task's key, in its internal data
_ZEEBE = f"{{{zeebe_hints.ZEEBE_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_CATCHES = {"intermediateCatchEvent", "boundaryEvent", "receiveTask", "startEvent"}


def subscriptions(message: Any) -> list[Any]:
    """The ``<zeebe:subscription>`` elements of a ``<bpmn:message>``."""
    return [
        found
        for extensions in message.findall(_EXTENSIONS)
        for found in extensions.findall(f"{_ZEEBE}subscription")
    ]


def key_expression(message: Any) -> str | None:
    """The Python of the message's subscription key, when its subscription says only that."""
    found = subscriptions(message)
    if len(found) != 1 or len(found[0]) or set(found[0].attrib) != {"correlationKey"}:
        return None
    key = (found[0].get("correlationKey") or "").strip()
    if not key or not zeebe_hints.is_feel(key):
        return repr(key) if key else None  # a fixed key, as the Modeler's text field writes
    return zeebe_expressions.python(key)


def adopted(element: Any) -> bool:
    """True for a ``<zeebe:subscription>`` whose key ``SubscribedMessage`` reads."""
    owner = element.getparent()
    owner = owner.getparent() if owner is not None and owner.tag == _EXTENSIONS else None
    return (
        owner is not None
        and owner.tag == f"{{{BPMN_NS}}}message"
        and etree.QName(element).localname == "subscription"
        and key_expression(owner) is not None
    )


def hint_for(element: Any) -> str | None:
    """What to write instead of a subscription ``adopted`` does not take."""
    if etree.QName(element).localname != "subscription":
        return None
    others = sorted(set(element.attrib) - {"correlationKey"})
    if others:
        said = ", ".join(others)
        return f"a subscription names its key only: remove {said}"
    key = (element.get("correlationKey") or "").strip()
    if not key:
        return (
            'name the key the message is matched by: correlationKey="=lead_id" (the variable '
            "that holds it when the instance begins to wait)"
        )
    part = f" (it holds {zeebe_expressions.untranslated(key)})" if zeebe_hints.is_feel(key) else ""
    return (
        f"its correlationKey {key!r} has no Python Dialflow evaluates{part}: write the key as a "
        'variable or a field of one (="=lead_id", "=lead.id"), or correlate by business key: '
        "start the instance with the business key and send the message with that business_key"
    )


def subscribed(parser: Any, message_event: Any, definition: Any) -> Any:
    """``definition`` made a ``SubscribedMessage`` when ``message_event`` (a message event
    definition, or a receive task naming its message) is a catch whose message subscribes;
    ``parser`` is the task parser reading it."""
    ref = message_event.get("messageRef")
    node = parser.node
    kind = etree.QName(node).localname
    if not ref or kind not in _CATCHES:
        return definition
    if kind == "startEvent" and etree.QName(node.getparent()).localname != "subProcess":
        return definition  # a process's message start: Camunda 8 starts it by name
    messages = parser.doc_xpath(f'.//bpmn:message[@id="{ref}"]')
    key = key_expression(messages[0]) if len(messages) == 1 else None
    if key is None:
        return definition
    definition.__class__ = SubscribedMessage
    definition.key = key
    return definition


def as_text(value: Any) -> str | None:
    """A key as Camunda 8 compares it: text, or a number as its text; else none."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def carried_key(payload: Any) -> str | None:
    """The key a message carries (its correlation and payload values), as text."""
    return as_text(payload.get(KEY_FIELD)) if isinstance(payload, dict) else None


class SubscribedMessage(SpiffMessageEventDefinition):
    """A catch of a message with a Camunda 8 subscription (see the module), set as the class
    of the definition the parser read (``subscribed``)."""

    key: str = ""

    def update_task(self, my_task: Any) -> None:
        super().update_task(my_task)
        kept = my_task.internal_data.setdefault(_KEPT, {})
        if self.name not in kept:
            kept[self.name] = self._read(my_task)

    def _read(self, my_task: Any) -> str:
        try:
            value = my_task.workflow.script_engine.environment.evaluate(
                self.key, dict(my_task.data)
            )
        except Exception as exc:
            raise WorkflowTaskException(
                f"the correlation key of message {self.name!r} ({self.key}) cannot be read "
                f"from the task's data: {type(exc).__name__}: {exc}",
                task=my_task,
                exception=exc,
            ) from exc
        text = as_text(value)
        if text is None:
            raise WorkflowTaskException(
                f"the correlation key of message {self.name!r} ({self.key}) is {value!r}: a "
                "key is text or a number",
                task=my_task,
            )
        return text

    def catches(self, my_task: Any, event: Any) -> bool:
        sent = event.event_definition
        if not isinstance(sent, MessageEventDefinition) or sent.name != self.name:
            return False
        given = carried_key(event.payload)
        return given is not None and given == self.kept(my_task)

    def kept(self, my_task: Any) -> str | None:
        """The key read when the task began to wait; read now when nothing read it then (a
        catch of several events, whose definition does not pass the wait on to this one)."""
        kept = my_task.internal_data.get(_KEPT, {})
        if self.name not in kept:
            try:
                return self._read(my_task)
            except WorkflowTaskException:
                return None  # not readable from its data: it takes no message
        return kept[self.name]

    def reset(self, my_task: Any) -> None:
        my_task.internal_data.get(_KEPT, {}).pop(self.name, None)
        super().reset(my_task)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, MessageEventDefinition) and self.name == other.name

    __hash__ = MessageEventDefinition.__hash__


class SubscribingGateway(MultipleEventDefinition):
    """An event-based gateway's events, of which some are subscribed messages: SpiffWorkflow
    moves its events' definitions into the gateway, which waits in their stead, so the keys
    are read when the gateway begins to wait."""

    def update_task(self, my_task: Any) -> None:
        super().update_task(my_task)
        for definition in self.event_definitions:
            if isinstance(definition, SubscribedMessage):
                definition.update_task(my_task)


def subscribe_gateway(definition: Any) -> Any:
    """``definition`` (an event-based gateway's) as a ``SubscribingGateway`` when one of its
    events is a subscribed message."""
    if type(definition) is MultipleEventDefinition and any(
        isinstance(item, SubscribedMessage) for item in definition.event_definitions
    ):
        definition.__class__ = SubscribingGateway
    return definition
