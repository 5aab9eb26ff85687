"""Camunda's extension properties that name a property Dialflow reads, read as Dialflow's.

Camunda Modeler writes a task's generic properties as ``<zeebe:properties><zeebe:property
name="kind" value="callback"/></zeebe:properties>`` (Camunda 8) or ``<camunda:properties>``
(Camunda 7): name and value pairs the engine keeps for whoever reads the model. Dialflow reads
some properties of an element itself (``spiffworkflow:properties``: a work item's ``title``,
``kind``, ``priority``, ``dueIn`` and ``dueAt``, ``followUpIn`` and ``followUpAt``, a user
task's ``completionCheck`` and ``instructionsForEndUser``, a service task's ``async``);
``adopt`` writes such a Camunda property as that ``spiffworkflow:property`` (an XML pass of
``validation.parse_bundle``), so it is read, checked at deploy and evaluated the same way (the
work item's kind was none). A property the element already says itself (or by
``zeebe:taskSchedule``, ``zeebe:priorityDefinition``, ``camunda:dueDate``, …, adopted before)
keeps that; other names (``owner``, ``team``) stay the modeller's bookkeeping.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, add_spiff_property

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_HOLDERS = (
    "{http://camunda.org/schema/zeebe/1.0}properties",
    "{http://camunda.org/schema/1.0/bpmn}properties",
)
# the properties Dialflow reads from an element's spiffworkflow:properties
DIALFLOW_PROPERTIES = frozenset(
    {
        "title",
        "kind",
        "priority",
        "dueIn",
        "dueAt",
        "followUpIn",
        "followUpAt",
        "completionCheck",
        "instructionsForEndUser",
        "async",
    }
)
_DUE = frozenset({"dueIn", "dueAt"})
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_NOT_FLOW_NODES = ("process", "definitions", "collaboration", "participant")


def said_properties(element: Any) -> set[str]:
    """The names of ``element``'s own ``spiffworkflow:property`` elements."""
    return {
        (prop.get("name") or "").strip()
        for extensions in element.findall(_EXTENSIONS)
        for prop in extensions.iterfind(f"{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")
    }


def camunda_properties(element: Any) -> list[tuple[str, str]]:
    """The (name, value) of ``element``'s own Camunda 7 or 8 properties Dialflow reads."""
    found = []
    for extensions in element.findall(_EXTENSIONS):
        for holder in extensions:
            if holder.tag not in CAMUNDA_HOLDERS:
                continue
            for prop in holder:
                if not isinstance(prop.tag, str) or etree.QName(prop).localname != "property":
                    continue
                name = (prop.get("name") or "").strip()
                if name in DIALFLOW_PROPERTIES and prop.get("value") is not None:
                    found.append((name, prop.get("value")))
    return found


def adopt(tree: Any) -> None:
    """Write each flow element's Camunda properties Dialflow reads as its
    ``spiffworkflow:properties`` (see the module)."""
    for holder in list(tree.iter(*CAMUNDA_HOLDERS)):
        extensions = holder.getparent()
        element = extensions.getparent() if extensions is not None else None
        if element is None or extensions.tag != _EXTENSIONS:
            continue
        if etree.QName(element).localname in _NOT_FLOW_NODES:
            continue
        said = said_properties(element)
        for name, value in camunda_properties(element):
            if name in said or (name in _DUE and said & _DUE):
                continue
            add_spiff_property(element, name, value)
            said.add(name)
