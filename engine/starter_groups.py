"""Who may start a process, as Camunda 7, Flowable and Activiti diagrams say it
(``camunda:candidateStarterGroups``, ``candidateStarterUsers``), passed with a warning.

Those engines do not check the attributes when a process is started: their task lists only
offer the process to those groups and users, and their APIs start it for anyone. Dialflow let
no such diagram deploy ("remove it"). It deploys now, as it runs in those engines, with a
deploy warning on the process saying that anyone who may start processes may start this one,
so a process owner who counted on the restriction learns that it does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem, executable_processes, readable_trees

JAVA_ENGINES = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://activiti.org/bpmn": "activiti",
    "http://flowable.org/bpmn": "flowable",
}
ATTRIBUTES = ("candidateStarterGroups", "candidateStarterUsers")


def passes(namespace: str, local: str, element: Any) -> bool:
    """Whether the attribute is a process's candidate starters (passed with a warning)."""
    return (
        namespace in JAVA_ENGINES and local in ATTRIBUTES and element.tag == f"{{{BPMN_NS}}}process"
    )


def warnings(bpmn: Mapping[str, str]) -> list[dict[str, Any]]:
    """One warning per executable process that names candidate starters."""
    found = []
    for file, tree in readable_trees(bpmn):
        for process in executable_processes(tree):
            said = [
                f"{JAVA_ENGINES[etree.QName(a).namespace]}:{etree.QName(a).localname}={v!r}"
                for a, v in process.attrib.items()
                if passes(etree.QName(a).namespace or "", etree.QName(a).localname, process)
            ]
            if said:
                found.append(
                    element_problem(
                        file,
                        process,
                        f"{' and '.join(said)} restrict nothing: every user who may start "
                        "processes may start this one (the Java engines do not check it "
                        "either; their task lists only offer the process to those starters)",
                        sep=": ",
                    )
                )
    return found
