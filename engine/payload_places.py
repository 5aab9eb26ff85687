"""A ``spiffworkflow:payloadExpression`` written where nothing reads it, refused on its element.

SpiffWorkflow 3.2 reads a signal's payload expression (and an error's or an escalation's)
from the ``extensionElements`` of the ``<bpmn:signal>`` (``<bpmn:error>``,
``<bpmn:escalation>``) the event refers to, never from the event or its event definition.
Written on the throw event, or inside its ``signalEventDefinition``, the expression deployed
and was never evaluated: the signal carried nothing and every instance it reached got
nothing. Such a diagram is refused on the event (from ``constructs.py``), with where to
write it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# The elements whose extensions SpiffWorkflow reads a payload expression from.
READ_ON = {"signal", "error", "escalation"}
_KINDS = {"signalEventDefinition": "signal", "errorEventDefinition": "error"}
_KINDS["escalationEventDefinition"] = "escalation"


def misplaced_payloads(name: str, tree: Any) -> list[dict[str, Any]]:
    """One problem per payload expression of file ``name`` that no signal, error or
    escalation holds."""
    found = []
    for expression in tree.iter(f"{{{SPIFF_NS}}}payloadExpression"):
        holder = expression.getparent()
        holder = holder.getparent() if holder is not None else None
        if holder is None or holder.tag in {f"{{{BPMN_NS}}}{kind}" for kind in READ_ON}:
            continue
        event = holder
        while event is not None and (
            not event.get("id") or etree.QName(event).localname.endswith("EventDefinition")
        ):
            event = event.getparent()
        if event is None or etree.QName(event).namespace != BPMN_NS:
            continue
        found.append(element_problem(name, event, _where(event), sep=" "))
    return found


def _where(event: Any) -> str:
    for kind, element in _KINDS.items():
        definition = event.find(f"{{{BPMN_NS}}}{kind}")
        if definition is not None:
            ref = definition.get(f"{element}Ref")
            target = f'<bpmn:{element} id="{ref}">' if ref else f"the <bpmn:{element}>"
            return (
                "holds a spiffworkflow:payloadExpression that is never evaluated (the "
                f"{element} would carry nothing): write it in the extensionElements of {target}"
            )
    return (
        "holds a spiffworkflow:payloadExpression that is never evaluated: a payload "
        "expression is written on the <bpmn:signal>, <bpmn:error> or <bpmn:escalation> an "
        "event throws"
    )
