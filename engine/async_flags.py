"""Flowable's and Activiti's ``async`` and ``exclusive`` flags, run with those engines' meaning.

Flowable UI's modeler and the admin systems' designers offer both on every activity, and
teams tick them: ``flowable:async="true"`` makes Flowable commit what came before and go on
in a job, ``flowable:exclusive="false"`` lets two jobs of one instance run at once. Dialflow
saves every step of an instance on its own and runs one step of an instance at a time, which
is a schedule both allow: such diagrams were refused with "remove it". They pass now, and an
async service task is left to a worker as Dialflow's own ``async`` property leaves it
(``adopt`` writes that property; Flowable runs its job in the background too).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS

NAMESPACES = ("http://flowable.org/bpmn", "http://activiti.org/bpmn")
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_FLAGS = {"async", "exclusive"}
_TRUE = {"true", "1"}


def passes(attribute: str, element: Any, value: str) -> bool:
    """Whether a Flowable or Activiti ``async`` or ``exclusive`` attribute runs as drawn."""
    qname = etree.QName(attribute)
    if qname.namespace not in NAMESPACES or qname.localname not in _FLAGS:
        return False
    return value.strip().lower() in _TRUE | {"false", "0"} and etree.QName(element).namespace == (
        BPMN_NS
    )


def adopt(tree: Any) -> None:
    """Each service task marked ``async="true"`` gets Dialflow's property ``async = true``,
    unless it sets that property itself."""
    for task in tree.iter(f"{{{BPMN_NS}}}serviceTask"):
        if not any(
            etree.QName(a).namespace in NAMESPACES
            and etree.QName(a).localname == "async"
            and v.strip().lower() in _TRUE
            for a, v in task.attrib.items()
        ):
            continue
        extensions = task.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is None:
            extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
            task.insert(_after_documentation(task), extensions)
        holder = extensions.find(f"{{{SPIFF_NS}}}properties")
        if holder is None:
            holder = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties")
        if any(p.get("name") == "async" for p in holder.iter(f"{{{SPIFF_NS}}}property")):
            continue
        etree.SubElement(holder, f"{{{SPIFF_NS}}}property", name="async", value="true")


def _after_documentation(task: Any) -> int:
    return sum(
        1
        for child in task
        if isinstance(child.tag, str) and etree.QName(child).localname == "documentation"
    )
