"""Alfresco Process Services decision tasks run as the business rule tasks they are.

APS's modeler draws a "Decision task" and exports it as a service task running its DMN
engine's Java delegate, the decision named by a field:
``<serviceTask activiti:class="com.activiti.runtime.activiti.KieDecisionTaskDelegate">`` with
``<activiti:field name="decisionTableReferenceKey"><activiti:string>quote_route…``. The table
is evaluated over the process variables and its outputs set under their own names, as a
Dialflow decision's are. It was refused as a Java class, with a hint naming an operator that
records a deal's decision, so an APS quote approval with its table did not deploy.

``adopt`` (a pass of ``validation.parse_bundle``) makes such a task the business rule task it
stands for, calling the decision by ``spiffworkflow:calledDecisionId``; the deploy's checks
then refuse a decision no DMN file defines as for Dialflow's own. A key written as an
expression, or a task with other fields (``decisionTaskThrowErrorOnNoHits``, a
``fallbackToDefaultTenant``) stays refused by ``foreign.py`` on what it cannot run.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, extension_elements

ACTIVITI_NS = "http://activiti.org/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DELEGATE = "com.activiti.runtime.activiti.KieDecisionTaskDelegate"
KEY_FIELD = "decisionTableReferenceKey"
_SERVICE = f"{{{BPMN_NS}}}serviceTask"
_FIELD = f"{{{ACTIVITI_NS}}}field"


def runs(local: str, element: Any) -> bool:
    """Whether the ``activiti:`` attribute ``local`` of ``element`` is the delegate of a
    decision task ``adopt`` runs."""
    return local == "class" and decision_of(element) is not None


def adopted(element: Any) -> bool:
    """Whether ``element`` is the ``<activiti:field>`` naming the decision of such a task."""
    if element.tag != _FIELD or element.get("name") != KEY_FIELD:
        return False
    extensions = element.getparent()
    task = extensions.getparent() if extensions is not None else None
    return task is not None and decision_of(task) is not None


def adopt(tree: Any) -> None:
    """Write each APS decision task as a business rule task calling its decision."""
    for task in list(tree.iter(_SERVICE)):
        decision = decision_of(task)
        if decision is None:
            continue
        task.tag = f"{{{BPMN_NS}}}businessRuleTask"
        del task.attrib[f"{{{ACTIVITI_NS}}}class"]
        extensions = extension_elements(task)
        for field in extensions.findall(_FIELD):
            extensions.remove(field)
        called = etree.SubElement(extensions, f"{{{SPIFF_NS}}}calledDecisionId")
        called.text = decision


def decision_of(task: Any) -> str | None:
    """The decision an APS decision task calls: its delegate is APS's and its one field is
    the table's key, written as text (no expression), else ``None``."""
    if task.tag != _SERVICE or task.get(f"{{{ACTIVITI_NS}}}class", "").strip() != DELEGATE:
        return None
    extensions = task.find(f"{{{BPMN_NS}}}extensionElements")
    fields = [] if extensions is None else extensions.findall(_FIELD)
    if len(fields) != 1 or fields[0].get("name") != KEY_FIELD:
        return None
    field = fields[0]
    said = [child for child in field if isinstance(child.tag, str)]
    if said:
        if len(said) != 1 or said[0].tag != f"{{{ACTIVITI_NS}}}string":
            return None  # an activiti:expression chooses the table at run time
        key = (said[0].text or "").strip()
    else:
        key = (field.get("stringValue") or "").strip()
    if not key or any(mark in key for mark in ("${", "#{", " ")):
        return None
    return key
