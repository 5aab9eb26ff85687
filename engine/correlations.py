"""Correlation properties named by the deploy's message correlations and keys.

A ``spiffworkflow:processVariableCorrelation`` whose ``propertyId`` (or a ``correlationKey``
whose ``correlationPropertyRef``) names no ``<bpmn:correlationProperty>`` deployed: the
catching side correlated on a property no message carries, so the instance waited for good
(or took a message of another conversation). Properties are looked up across the deploy's
files, as SpiffWorkflow's parser collects them; one problem on the element holding the
reference, with the properties there are.
"""

from __future__ import annotations

from typing import Any

from engine.bpmn_xml import BPMN_NS, element_problem

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def correlation_problems(trees: dict[str, Any]) -> list[dict[str, Any]]:
    properties = {
        p.get("id")
        for tree in trees.values()
        for p in tree.iter(f"{{{BPMN_NS}}}correlationProperty")
        if p.get("id")
    }
    known = ", ".join(repr(p) for p in sorted(properties))
    there = (
        f"the deploy's correlation properties are {known}"
        if known
        else ("the deploy defines no correlation property")
    )
    found = []
    for name, tree in trees.items():
        for ref in tree.iter(f"{{{SPIFF_NS}}}propertyId"):
            wanted = (ref.text or "").strip()
            if wanted in properties:
                continue
            holder = _holder(ref)
            found.append(
                element_problem(
                    name,
                    holder,
                    f"correlates on property {wanted!r}, which no <bpmn:correlationProperty> "
                    f"of this deploy defines, so no message would match: {there}; name one of "
                    "them, or add the property with a retrieval expression for the message",
                )
            )
        for key in tree.iter(f"{{{BPMN_NS}}}correlationKey"):
            for ref in key.iter(f"{{{BPMN_NS}}}correlationPropertyRef"):
                wanted = (ref.text or "").strip().rsplit(":", 1)[-1]
                if wanted in properties:
                    continue
                found.append(
                    element_problem(
                        name,
                        key,
                        f"lists correlation property {wanted!r}, which no "
                        f"<bpmn:correlationProperty> of this deploy defines: {there}",
                    )
                )
    return found


def _holder(element: Any) -> Any:
    """The nearest element with an id around a reference: the event or task the modeler
    clicks (a message event definition is inside its event)."""
    owner = element.getparent()
    while owner is not None and (
        not owner.get("id") or owner.tag == f"{{{BPMN_NS}}}messageEventDefinition"
    ):
        owner = owner.getparent()
    return owner if owner is not None else element
