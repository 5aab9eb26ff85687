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
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser

from engine.bpmn_xml import BPMN_NS
from engine.task_scripts import BuildingBusinessRuleTaskParser

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_OPERATORS = f"{{{SPIFF_NS}}}serviceTaskOperator"
_PARAMETER = f"{{{SPIFF_NS}}}parameter"
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
