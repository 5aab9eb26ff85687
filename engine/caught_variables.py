"""The variables a caught error or escalation gives the path after its catch.

Camunda 7's variables of a caught error or escalation, and Flowable's, run as drawn.

Camunda 7 lets an error catch (boundary event, event subprocess start) name the variables
its path finds the error in: ``camunda:errorCodeVariable`` (the caught error's code) and
``camunda:errorMessageVariable`` (its message: a failing task's, or the
``camunda:errorMessage`` of the ``<bpmn:error>`` an error end or throw event names; null
without one), and an escalation catch ``camunda:escalationCodeVariable``; Flowable's and Activiti's
``errorVariableName`` holds the code as Camunda's ``errorCodeVariable`` does. They matter
most on a catch-all, whose path otherwise cannot tell which error it took. They were refused
at deploy ("remove it"), so such a diagram from Camunda Modeler had to be redrawn.

At parse time ``mark_specs`` puts the names on the catch's task spec (``CAUGHT_AS``) and a
throw's message on its spec (``THROWN_MESSAGE``); the catch adds ``caught_values`` to what
its path starts with. ``runs`` tells ``engine.foreign`` which attributes run.

SpiffArena's payload of an error or escalation (``spiffworkflow:payloadExpression`` on the
``<bpmn:error>`` or ``<bpmn:escalation>``) reaches the catch's path (``payload_values``):
SpiffWorkflow 3.2 puts it in the ``spiffworkflow:variableName`` of the catch's own
definition only, so a catch-all (no ``errorRef``, hence no variable) and an error declared
without a variable name dropped it, and the path got nothing of the thrower (the thrower's
data goes only with an error thrown without a payload). Now the payload goes in the catch's
variable, else in the one the thrown error names, else a payload that is a dict gives its
fields, as a message or signal without a variable does.
"""

from __future__ import annotations

import keyword
from copy import deepcopy
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import CodeEventDefinition

from engine.bpmn_xml import BPMN_NS

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
FLOWABLE_NAMESPACES = ("http://flowable.org/bpmn", "http://activiti.org/bpmn")
# attribute of the event definition (namespace, name) → what of the caught event goes in the
# variable it names
_NAMED = {
    "errorEventDefinition": {
        (CAMUNDA_NS, "errorCodeVariable"): "code",
        (CAMUNDA_NS, "errorMessageVariable"): "message",
        **{(ns, "errorVariableName"): "code" for ns in FLOWABLE_NAMESPACES},
    },
    "escalationEventDefinition": {(CAMUNDA_NS, "escalationCodeVariable"): "code"},
}
_CATCHES = ("boundaryEvent", "startEvent")
_THROWS = ("endEvent", "intermediateThrowEvent")
# task spec attributes: the variables a catch fills, and the message an error throw carries
CAUGHT_AS = "caught_as"
THROWN_MESSAGE = "thrown_message"


def runs(namespace: str, local: str, element: Any, value: str) -> bool:
    """Whether ``<namespace>:<local>="value"`` on ``element`` is a variable of a caught error
    or escalation that Dialflow sets, or the message of an error an error throw carries."""
    kind = etree.QName(element).localname
    if kind == "error":
        return (namespace, local) == (CAMUNDA_NS, "errorMessage")
    owner = element.getparent()
    return (
        (namespace, local) in _NAMED.get(kind, {})
        and owner is not None
        and etree.QName(owner).localname in _CATCHES
        and _is_name(value.strip())
    )


def mark_specs(process_node: Any, specs: dict[str, Any]) -> None:
    """Put the caught variables and thrown messages of the events of ``process_node`` on
    their task specs (``specs``: a process's specs by name; a boundary event's spec is named
    by its id, as are the other events')."""
    for kind, attributes in _NAMED.items():
        for definition in process_node.iter(f"{{{BPMN_NS}}}{kind}"):
            event = definition.getparent()
            spec = specs.get(event.get("id", ""))
            if spec is None:
                continue
            local = etree.QName(event).localname
            if local in _CATCHES:
                names = {
                    part: definition.get(f"{{{namespace}}}{attribute}", "").strip()
                    for (namespace, attribute), part in attributes.items()
                    if definition.get(f"{{{namespace}}}{attribute}")
                }
                names = {part: name for part, name in names.items() if _is_name(name)}
                if names:
                    setattr(spec, CAUGHT_AS, names)
            elif local in _THROWS and kind == "errorEventDefinition":
                message = _error_message(definition)
                if message is not None:
                    setattr(spec, THROWN_MESSAGE, message)


def caught_values(catch_spec: Any, event: Any, thrower: Any) -> dict[str, Any]:
    """The variables ``catch_spec`` names, set from ``event`` thrown by ``thrower`` (a
    failing task's event carries its message in its payload)."""
    names = getattr(catch_spec, CAUGHT_AS, None)
    if not names:
        return {}
    payload = event.payload if isinstance(event.payload, dict) else {}
    if "error_message" in payload and "error_code" in payload:
        message = payload["error_message"]
    else:
        message = getattr(getattr(thrower, "task_spec", None), THROWN_MESSAGE, None)
    values = {"code": getattr(event.event_definition, "code", None), "message": message}
    return {name: values[part] for part, name in names.items()}


def payload_values(catch_definition: Any, event: Any, failed: bool) -> dict[str, Any]:
    """What the payload of ``event`` (an error's or escalation's payload expression) sets on
    the path of a catch of ``catch_definition``; nothing for a failing task's event (its
    payload is the failed task's data, given by ``thrower_data``) or one without payload."""
    payload = event.payload
    if failed or payload is None or not isinstance(event.event_definition, CodeEventDefinition):
        return {}  # a message's or signal's payload is delivered as SpiffWorkflow does
    variable = getattr(catch_definition, "variable", None) or getattr(
        event.event_definition, "variable", None
    )
    if variable:
        return {variable: deepcopy(payload)}
    if isinstance(payload, dict):
        return {str(key): deepcopy(value) for key, value in payload.items()}
    return {}


def _error_message(definition: Any) -> str | None:
    ref = (definition.get("errorRef") or "").strip()
    if not ref:
        return None
    for error in definition.getroottree().iter(f"{{{BPMN_NS}}}error"):
        if error.get("id") == ref:
            return error.get(f"{{{CAMUNDA_NS}}}errorMessage")
    return None


def _is_name(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)
