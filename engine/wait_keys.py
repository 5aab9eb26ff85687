"""The correlation value a message wait expects, stored with the wait so that a message
carrying a correlation value is offered to the instances waiting for it, found by index,
without loading every instance that waits for its name (``engine.messages._candidates``).

A wait's key is one property and its value as text (``as_text``: a number is its digits, as
Camunda 8 and ``messages._same`` compare): a Camunda 8 subscription's key, read when its
catch began to wait (property ``correlationKey``, ``engine.zeebe_messages``), or for a BPMN
correlation the value the instance already holds: its conversation's (set by
``spiffworkflow:processVariableCorrelation`` when the catch began to wait, or by an earlier
message), else the one a retrieval expression reads from the waiting task's data (what
``messages._keyed_otherwise`` compares). Only a value that rules other values out is stored:
a catch taking any value (no correlation, or none known yet), one that may match by either of
two correlation keys, a value that is no text or number, or one too long for the column has
no key, and its instance is offered every message of the name, as before keys were stored.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition

from engine.zeebe_messages import KEY_FIELD, SubscribedMessage, as_text, carried_key

# The length of ``event_waits.correlation_property`` and ``correlation_key``.
STORED_LENGTH = 200


def expected(task: Any) -> dict[str, dict[str, str]]:
    """``{message name: {property: value}}`` for each message a waiting task (a catch, an
    event-based gateway) takes only with that value."""
    definition = task.task_spec.event_definition
    found = {}
    for candidate in getattr(definition, "event_definitions", None) or [definition]:
        if isinstance(candidate, SubscribedMessage):
            key = (KEY_FIELD, candidate.kept(task))
        elif isinstance(candidate, MessageEventDefinition):
            key = _held(task, candidate)
        else:
            continue
        if key is not None and key[1] is not None and _storable(*key):
            found[candidate.name] = {key[0]: key[1]}
    return found


def _held(task: Any, definition: Any) -> tuple[str, str | None] | None:
    """One correlation property of the catch and the value its instance holds for it."""
    properties = sorted(definition.correlation_properties or [], key=lambda p: p.name)
    known = task.workflow.correlations
    if known:
        # SpiffWorkflow catches a message whose values equal those of one correlation key the
        # conversation holds: with two such keys, either may match.
        keys = {key for prop in properties for key in prop.correlation_keys if key in known}
        if len(keys) != 1:
            return None
        values = known[keys.pop()]
        for prop in properties:
            if prop.name in values and as_text(values[prop.name]) is not None:
                return prop.name, as_text(values[prop.name])
        return None
    for prop in properties:  # the instance's own value, as messages._keyed_otherwise reads it
        if not prop.correlation_keys:  # the message's value is read for no key: any is taken
            continue
        try:
            own = task.workflow.script_engine.environment.evaluate(
                prop.retrieval_expression, dict(task.data)
            )
        except Exception:  # not known yet: the first message keys the conversation
            continue
        if own is not None and as_text(own) is not None:
            return prop.name, as_text(own)
    return None


def _storable(prop: str, value: str) -> bool:
    return len(prop) <= STORED_LENGTH and len(value) <= STORED_LENGTH


def carried(message: dict[str, Any]) -> dict[str, str]:
    """``{property: value}`` a message carries, as waits store them: its ``correlation``
    values (a correlation property's value is read from the message, and one that reads
    otherwise than its ``correlation`` says is refused), and the subscription key as
    ``messages.offer`` reads it (``correlation``, then ``payload``). A property named twice
    with two values is left out: each wait then takes or refuses the message itself."""
    found = {}
    for prop, value in message["correlation"].items():
        text = as_text(value)
        if text is not None and _storable(prop, text):
            found[prop] = text
    key = carried_key({**message["correlation"], **message["payload"]})
    if key is not None and found.get(KEY_FIELD, key) != key:
        found.pop(KEY_FIELD)
    elif key is not None and _storable(KEY_FIELD, key):
        found[KEY_FIELD] = key
    return found
