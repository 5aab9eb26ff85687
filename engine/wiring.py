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
- so is everything after it: the check follows the flows from where the process starts, so
  the rest of an unreached chain, or a loop nothing enters, is refused element by element
  too (a subprocess nothing reaches as one element, not with all it holds). What else is wrong
  with such an element (an unknown operator, a missing form) is said as well: ``validation``
  reads the elements ``reached_elements`` leaves out one by one for the semantic checks.

A collaboration's pools that are not executable are drawn, not run, and are not checked.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine import xml_ids
from engine.bpmn_xml import ACTIVITIES, BPMN_NS, element_problem, executable_processes
from engine.errors import problem
from engine.links import UNLINKED

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
# What holds elements of its own, entered at its start events.
SCOPES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
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
        found += _wrong_way(name, process)
        found += _unreached(name, process)
    return found


def _wrong_way(name: str, process: Any) -> list[dict[str, Any]]:
    """Sequence flows out of an end event or into a start event, which BPMN forbids: the
    diagram deployed, and what it meant was anyone's guess (a terminate end event cut the
    flow after it off, a plain one went on along it)."""
    events = {
        element.get("id"): element
        for element in process.iter(f"{{{BPMN_NS}}}endEvent", f"{{{BPMN_NS}}}startEvent")
    }
    found = []
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for end, kind, word in (
            ("sourceRef", "endEvent", "leaves"),
            ("targetRef", "startEvent", "enters"),
        ):
            event = events.get(flow.get(end))
            if event is None or _local(event) != kind:
                continue
            found.append(
                problem(
                    f"{name}: {kind} {event.get('id')!r}: sequence flow {flow.get('id')!r} "
                    f"{word} it; BPMN allows no sequence flow "
                    + (
                        "out of an end event: draw it from the element before the end event"
                        if kind == "endEvent"
                        else "into a start event: lead it to the element after the start event"
                    ),
                    element_id=event.get("id"),
                    line=flow.sourceline,
                    file=name,
                )
            )
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
    """Elements of ``process`` (and its subprocesses) that no path from where the process
    starts leads to, each reported once; those inside a subprocess that never runs are left
    to the subprocess's own problem."""
    reached = reached_elements(process, unlinked=True)
    into: dict[str, list[str]] = {}  # element id -> the sources of the flows into it
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        into.setdefault(flow.get("targetRef"), []).append(flow.get("sourceRef"))
    found = []
    for element in process.iter():
        kind = _local(element)
        parent = element.getparent()
        if kind not in REACHED_BY_FLOWS or element in reached:
            continue
        if parent is not process and parent not in reached:
            continue  # inside a subprocess that never runs: that is its problem
        what = "task" if kind.endswith("Task") or kind == "task" else "element"
        sources = sorted({source for source in into.get(element.get("id"), []) if source})
        if not sources:
            message = (
                f"nothing leads to this {what}; no sequence flow has it as its target, so no "
                "instance would ever reach it (SpiffWorkflow starts a process at its start "
                "events only). Connect it with a sequence flow, or remove it"
            )
        else:
            named = ", ".join(repr(source) for source in sources)
            one = len(sources) == 1
            message = (
                f"nothing that runs leads to this {what}: only {named} "
                f"{'leads' if one else 'lead'} here, and no path from a start event (or a "
                "boundary event of an activity that runs) reaches "
                f"{'it' if one else 'them'}, so no instance would ever reach it. "
                "Connect the first element of this path with a sequence flow, or remove the "
                "path"
            )
        found.append(element_problem(name, element, message))
        found[-1]["_reach"] = True  # for ``validation._first_sayings``: not the element's own
    return found


def reached_elements(process: Any, unlinked: bool = False) -> set[Any]:
    """The elements a path leads to from where ``process`` starts: its start events, the
    elements that start without an incoming flow (``_starts_alone``), then along sequence
    flows, to the boundary events of each activity reached and into each subprocess reached.
    Elements only a loop of unreached elements leads to stay unreached. With ``unlinked``, a
    link catch event no throw names counts as a start: ``engine.links`` says what is wrong
    with it, and the elements after it are not unreached on their own account."""
    by_id = {e.get("id"): e for e in process.iter() if isinstance(e.tag, str) and e.get("id")}
    # a flow naming an element whose id is no XML id as it was meant runs to it: the id's
    # problem says so, and what follows is not unreached on its own account
    meant = xml_ids.meant_refs(process)
    after: dict[Any, list[Any]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target_id = flow.get("sourceRef"), flow.get("targetRef")
        target = by_id.get(meant.get(target_id, target_id))
        if target is not None:
            after.setdefault(meant.get(source, source), []).append(target)
    for boundary in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        host = boundary.get("attachedToRef")
        # a boundary event on no element is refused elsewhere: not a reason to refuse more
        after.setdefault(host if host in by_id else None, []).append(boundary)
    reached: set[Any] = set()
    todo = [process, *after.get(None, [])]
    while todo:
        element = todo.pop()
        if element in reached:
            continue
        reached.add(element)
        todo += after.get(element.get("id"), [])
        if element is process or _local(element) in SCOPES:
            # looked up once per scope, not once per child (a scope of 25,000 elements took
            # minutes)
            has_start = element.find(f"{{{BPMN_NS}}}startEvent") is not None
            todo += [
                child
                for child in element
                if _local(child) == "startEvent"
                or (isinstance(child.tag, str) and _starts_alone(child, has_start))
                or (unlinked and isinstance(child.tag, str) and child.get(UNLINKED))
            ]
    return reached


def _starts_alone(element: Any, scope_has_start: bool) -> bool:
    """Whether ``element`` starts without an incoming flow: an event subprocess, a
    compensation handler, or an activity of an ad-hoc subprocess. The elements of a
    (sub)process without a start event (``scope_has_start`` false) are left to the parser,
    which names the missing start event: that is the problem to fix first."""
    parent = element.getparent()
    return (
        element.get("triggeredByEvent") == "true"
        or element.get("isForCompensation") == "true"
        or parent is None
        or _local(parent) == "adHocSubProcess"
        or not scope_has_start
    )


def _local(element: Any) -> str:
    if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
        return ""
    return etree.QName(element).localname
