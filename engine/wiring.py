"""How the elements of an executable process are wired by sequence flows, checked at deploy.

SpiffWorkflow 3.2 builds a process by walking sequence flows from its start events, by their
``sourceRef`` and ``targetRef``; an element's ``<bpmn:incoming>`` and ``<bpmn:outgoing>`` lists
are not read. So:

- a task whose ``<bpmn:outgoing>`` names a flow the file does not have (deleted, or renamed by
  hand) has no way on, and the path ended after it without a word; an ``<bpmn:incoming>``
  naming a missing flow is the other half of the same break. Both are refused, on the line of
  the reference. A flow its source does not list is no problem: it runs as drawn (some
  exporters write no lists at all).
- an element no sequence flow leads to is left out of the process and never runs. BPMN
  starts such an activity with the process, SpiffWorkflow does not, so it is refused. Start
  events, boundary events, event subprocesses, compensation handlers and the activities of an
  ad-hoc subprocess start without an incoming flow and are left alone.

A collaboration's pools that are not executable are drawn, not run, and are not checked.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import ACTIVITIES, BPMN_NS, element_problem, executable_processes
from engine.errors import problem

# Elements a sequence flow may lead to and that run only when one does.
REACHED_BY_FLOWS = ACTIVITIES | {
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "endEvent",
}
# An element's list, the end of a flow that must be the element, and how to say where it is.
SIDES = (("outgoing", "sourceRef", "leaves"), ("incoming", "targetRef", "enters"))


def wiring_problems(name: str, tree: Any) -> list[dict[str, Any]]:
    """Broken incoming/outgoing references and elements nothing leads to, per executable
    process of one BPMN file (after link events were joined: a link catch has its flow)."""
    flows = {flow.get("id"): flow for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    found: list[dict[str, Any]] = []
    for process in executable_processes(tree):
        for element in process.iter():
            if _local(element) in REACHED_BY_FLOWS:
                found += _reference_problems(name, element, flows)
        found += _unreached(name, process)
    return found


def _reference_problems(name: str, element: Any, flows: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``incoming``/``outgoing`` entries of ``element`` that name no flow of it."""
    found = []
    for kind, end, word in SIDES:
        for ref in element.iterchildren(f"{{{BPMN_NS}}}{kind}"):
            flow_id = (ref.text or "").strip()
            flow = flows.get(flow_id)
            if flow is not None and flow.get(end) == element.get("id"):
                continue
            where = (
                "which is no sequence flow of the model"
                if flow is None
                else f"but that sequence flow {word} {flow.get(end)!r}"
            )
            consequence = (
                "the path would end after this element"
                if kind == "outgoing"
                else "nothing would lead here along it"
            )
            found.append(
                problem(
                    f"{name}: {_local(element)} {element.get('id')!r} lists {kind} "
                    f"{flow_id!r}, {where}; SpiffWorkflow follows the sequence flows "
                    f"themselves, so {consequence}. Draw the flow again, or remove the "
                    f"<bpmn:{kind}> entry",
                    element_id=element.get("id"),
                    line=ref.sourceline,
                    file=name,
                )
            )
    return found


def _unreached(name: str, process: Any) -> list[dict[str, Any]]:
    """Elements of ``process`` (and its subprocesses) that no sequence flow leads to."""
    targets = {flow.get("targetRef") for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    found = []
    for element in process.iter():
        kind = _local(element)
        if kind not in REACHED_BY_FLOWS or element.get("id") in targets or _starts_alone(element):
            continue
        what = "task" if kind.endswith("Task") or kind == "task" else "element"
        found.append(
            element_problem(
                name,
                element,
                f"nothing leads to this {what}; no sequence flow has it as its target, so no "
                "instance would ever reach it (SpiffWorkflow starts a process at its start "
                "events only). Connect it with a sequence flow, or remove it",
            )
        )
    return found


def _starts_alone(element: Any) -> bool:
    """Whether ``element`` starts without an incoming flow: an event subprocess, a
    compensation handler, or an activity of an ad-hoc subprocess. The elements of a
    (sub)process without a start event are left to the parser, which names the missing
    start event: that is the problem to fix first."""
    parent = element.getparent()
    return (
        element.get("triggeredByEvent") == "true"
        or element.get("isForCompensation") == "true"
        or parent is None
        or _local(parent) == "adHocSubProcess"
        or parent.find(f"{{{BPMN_NS}}}startEvent") is None
    )


def _local(element: Any) -> str:
    if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
        return ""
    return etree.QName(element).localname
