"""``spiffworkflow:`` extensions read as diagrams written by hand or by a chat assistant have
them, where SpiffWorkflow 3.2's parser stopped at what the schema allows.

A ``<spiffworkflow:calledDecisionId>`` written over three lines (the decision id between line
breaks, as pretty-printed XML has it) was looked up with its spaces and refused as calling no
decision of the deploy ("No DMN Diagram available with id …"); the id is read without them,
and from a ``spiffworkflow:calledDecisionId`` attribute on the task (the schema allows
attributes of other namespaces there) when the task has no such element: it was refused as
naming no decision.
A ``<spiffworkflow:parameter>`` without ``type`` (the schema makes it optional, and the
parameter's value is what the handler gets: its type is the handler's, see
``handlers.registry``) stopped the parser with a bare ``KeyError('type')``; it is read as given.
A ``<spiffworkflow:property name="dueIn">PT4H</spiffworkflow:property>`` (its value as the
element's text, as XML is mostly written) stopped the parser with ``KeyError('value')``; the
text, spaces around left out, is its value (``text_values``). A property with no value at all,
or with a ``value`` and a different text, is refused on its element and line
(``property_problems``).
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser

from engine.bpmn_xml import BPMN_NS
from engine.errors import problem
from engine.task_scripts import BuildingBusinessRuleTaskParser

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_OPERATORS = f"{{{SPIFF_NS}}}serviceTaskOperator"
_PARAMETER = f"{{{SPIFF_NS}}}parameter"
_PROPERTY = f"{{{SPIFF_NS}}}property"
_SERVICE_TASK_PARSER = SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][0]


class TrimmedDecisionParser(BuildingBusinessRuleTaskParser):
    """A business rule task calling its decision by the id written, spaces around left out,
    in its extension element or else in an attribute of that name."""

    @staticmethod
    def get_decision_ref(node: Any) -> Any:
        decision = BusinessRuleTaskParser.get_decision_ref(node)
        if decision is None:  # written as an attribute of the task, as assistants do
            decision = node.get(f"{{{SPIFF_NS}}}calledDecisionId")
        return decision.strip() if isinstance(decision, str) else decision


class UntypedParametersParser(_SERVICE_TASK_PARSER):  # type: ignore[misc, valid-type]
    """A service task whose operator's parameters may leave out their ``type``."""

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        node = self.node if node is None else node
        untyped = [
            parameter
            for extensions in node.iterfind(f"{{{BPMN_NS}}}extensionElements")
            for operator in extensions.iterfind(_OPERATORS)
            for parameter in operator.iter(_PARAMETER)
            if "value" in parameter.attrib and "type" not in parameter.attrib
        ]
        for parameter in untyped:  # SpiffWorkflow reads attrib["type"]; nothing uses it
            parameter.set("type", "")
        try:
            return super().parse_extensions(node)
        finally:
            for parameter in untyped:
                del parameter.attrib["type"]


def text_values(tree: Any) -> None:
    """Each ``spiffworkflow:property`` of ``tree`` without a ``value`` attribute gets its text
    as its value, before the parser reads it."""
    for found in tree.iter(_PROPERTY):
        text = (found.text or "").strip()
        if "value" not in found.attrib and text:
            found.set("value", text)


def property_problems(file: str, tree: Any) -> list[dict[str, Any]]:
    """A ``spiffworkflow:property`` with no value, or with two (a ``value`` and a different
    text), said on the element it belongs to and the property's line."""
    found = []
    for prop in tree.iter(_PROPERTY):
        text = (prop.text or "").strip()
        value = prop.get("value")
        name = prop.get("name")
        if value is None and not text:
            said = (
                f'property {name!r} has no value: write it as value="…" or as the text '
                "between its tags"
            )
        elif value is not None and text and text != value.strip():
            said = (
                f"property {name!r} gives value={value!r} and the text {text!r}: keep the one "
                "meant and remove the other"
            )
        else:
            continue
        owner = _owner(prop)
        kind = etree.QName(owner).localname if owner is not None else "element"
        element_id = owner.get("id") if owner is not None else None
        found.append(
            problem(
                f"{file}: {kind} {element_id!r}: {said}",
                element_id=element_id,
                line=prop.sourceline,
                file=file,
            )
        )
    return found


def _owner(element: Any) -> Any:
    """The nearest BPMN element with an id around ``element``."""
    node = element.getparent()
    while node is not None:
        if etree.QName(node).namespace == BPMN_NS and node.get("id"):
            return node
        node = node.getparent()
    return None
