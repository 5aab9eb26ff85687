"""Camunda 7 business rule tasks (``camunda:decisionRef``, ``camunda:resultVariable``,
``camunda:mapDecisionResult``) run as drawn.

Camunda Modeler writes a Camunda 7 business rule task as attributes:
``<businessRuleTask camunda:decisionRef="lead_tier" camunda:resultVariable="tier"
camunda:mapDecisionResult="singleEntry"/>``. It was refused ("use
spiffworkflow:calledDecisionId"), so such a diagram did not deploy for its most ordinary task.
``adopt`` writes the decision as the task's ``spiffworkflow:calledDecisionId`` and, with a
result variable, the variable and the mapping as its properties; the business rule task
(``zeebe_decisions.ResultVariableDecision``) then sets the variable as Camunda 7 maps the
decision's result (``camunda7_result``):

- ``resultList`` (Camunda's default): a list with one dict of outputs per matched rule;
- ``singleResult``: the one matched rule's dict of outputs, null when none matched;
- ``singleEntry``: the one matched rule's one output, null when none matched;
- ``collectEntries``: the one output's values of every matched rule.

A result that does not fit its mapping (two rules matched for ``singleResult``, two outputs for
``singleEntry``) is an incident on the task, as Camunda raises it. Without a result variable
the decision's outputs are set under their own names, as a Dialflow decision's are (Camunda
keeps nothing then). A decision id written as an expression, a binding other than ``latest``,
a tenant, or an unknown mapping stays refused on the task with what to write (``foreign.py``).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine import version_tags
from engine.assignment_attributes import JAVA_ENGINES
from engine.bpmn_xml import BPMN_NS, add_spiff_property, extension_elements
from engine.zeebe_decisions import MAPPING_PROPERTY, RESULT_PROPERTY

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SPIFF = f"{{{SPIFF_NS}}}"
_TASK = f"{{{BPMN_NS}}}businessRuleTask"
MAPPINGS = ("resultList", "singleResult", "singleEntry", "collectEntries")
ATTRIBUTES = {
    "decisionRef",
    "resultVariable",
    "mapDecisionResult",
    "decisionRefBinding",
    "decisionRefVersionTag",
}


def runs(local: str, element: Any) -> bool:
    """Whether the attribute ``local`` of ``element`` is part of a decision ``adopt`` runs."""
    return local in ATTRIBUTES and _adoptable(element) is not None


def adopt(tree: Any) -> None:
    """Give each adoptable business rule task its ``spiffworkflow:calledDecisionId`` and, with
    a result variable, the variable and its mapping as properties (see the module)."""
    for task in tree.iter(_TASK):
        said = _adoptable(task)
        if said is None:
            continue
        decision, variable, mapping = said
        called = etree.SubElement(extension_elements(task), f"{_SPIFF}calledDecisionId")
        called.text = decision
        if variable is not None:
            add_spiff_property(task, RESULT_PROPERTY, variable)
            add_spiff_property(task, MAPPING_PROPERTY, mapping)


def _adoptable(task: Any) -> tuple[str, str | None, str] | None:
    """The decision, result variable and mapping of a business rule task whose Camunda 7
    attributes say what Dialflow runs, else ``None``."""
    if task.tag != _TASK or any(True for _ in task.iter(f"{_SPIFF}calledDecisionId")):
        return None
    said: dict[str, str] = {}
    for attribute, value in task.attrib.items():
        qname = etree.QName(attribute)
        if qname.namespace in JAVA_ENGINES:
            said[qname.localname] = value.strip()
    decision = said.get("decisionRef", "")
    if not decision or not _is_id(decision):
        return None
    # by version tag: the decision of the newest deploy carrying it (``engine.version_tags``)
    tagged = version_tags.camunda_decision_binding(task) is not None
    if said.get("decisionRefBinding", "latest") != "latest" and not tagged:
        return None
    if set(said) & {"decisionRefVersion", "decisionRefTenantId"}:
        return None
    if "decisionRefVersionTag" in said and not tagged:
        return None
    mapping = said.get("mapDecisionResult", "resultList")
    variable = said.get("resultVariable")
    if mapping not in MAPPINGS or (variable is not None and not variable.isidentifier()):
        return None
    return decision, variable, mapping


def _is_id(text: str) -> bool:
    """A decision id, not an expression (``${…}``) choosing one."""
    return not any(mark in text for mark in ("${", "#{", " ")) and bool(text)
