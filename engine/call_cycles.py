"""Call activities that lead back to their own process with nothing on the way that could stop
them, refused at deploy.

Every call on such a cycle is reached from its process's start through automatic elements only
(no choice, no wait), so a step would only ever nest deeper until the step's guard stops it; a
recursion behind a gateway, a user task or an event may end, and deploys. It lives apart from
``engine.references`` because it follows calls across the files of a deploy, not one file's
references.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS
from engine.errors import problem


def call_cycle_problems(added: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Call activities that lead back to their own process, directly or through others, with
    nothing that could stop them: every call on the way is reached from its process's start
    through automatic elements only, no choice and no wait (:func:`_certain_calls`). Such a
    step would only ever nest deeper (the step's guard stops it at ``MAX_CALL_DEPTH``); a
    recursion behind a gateway, a user task or an event may end, and deploys."""
    calls: dict[str, list[tuple[str, Any, str]]] = {}  # process -> (called, element, file)
    for name, tree in added:
        for process in tree.iter(f"{{{BPMN_NS}}}process"):
            for call in _certain_calls(process):
                if call.get("calledElement"):
                    calls.setdefault(process.get("id"), []).append(
                        (call.get("calledElement"), call, name)
                    )

    def path(start: str, goal: str) -> list[str] | None:
        """The processes from ``start`` to ``goal`` along call activities, or None."""
        seen, todo = {start}, [[start]]
        while todo:
            trail = todo.pop()
            if trail[-1] == goal:
                return trail
            for called, _call, _name in calls.get(trail[-1], []):
                if called not in seen:
                    seen.add(called)
                    todo.append([*trail, called])
        return None

    found = []
    for process_id, targets in calls.items():
        for called, call, name in targets:
            back = path(called, process_id)
            if back is None:
                continue
            found.append(
                problem(
                    f"{name}: callActivity {call.get('id')!r} calls {called!r}, which leads "
                    f"back to {process_id!r} ({' → '.join([process_id, *back])}); called "
                    "processes may not call themselves again: SpiffWorkflow 3.2 would start "
                    "them without end. Repeat work with a sequence flow back through a gateway",
                    element_id=call.get("id"),
                    line=call.sourceline,
                    file=name,
                )
            )
    return found


# Elements a step runs through on its own, whatever the data: the next ones are certain too.
_AUTOMATIC = {
    "startEvent",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "intermediateThrowEvent",
    "parallelGateway",
}
_CHOICES = {"exclusiveGateway", "inclusiveGateway"}  # automatic only with one way out
_SCOPES = {"subProcess", "transaction"}  # entered at their start events


def _certain_calls(process: Any) -> list[Any]:
    """The call activities of ``process`` that every instance reaches in its first step: from
    the start events along sequence flows without a condition, through automatic elements
    (gateways only with one outgoing flow) and into embedded subprocesses."""
    flows: dict[str, list[Any]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        flows.setdefault(flow.get("sourceRef"), []).append(flow)
    by_id = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str)}

    def starts(scope: Any) -> list[Any]:
        return [child for child in scope if _local(child) == "startEvent"]

    found, seen, todo = [], set(), starts(process)
    while todo:
        element = todo.pop()
        if element is None or element.get("id") in seen:
            continue
        seen.add(element.get("id"))
        kind, outgoing = _local(element), flows.get(element.get("id"), [])
        if kind == "callActivity":
            found.append(element)
            continue
        if kind in _SCOPES:
            todo += starts(element)
            continue
        if kind not in _AUTOMATIC and not (kind in _CHOICES and len(outgoing) == 1):
            continue  # a choice, a wait, or a start that needs an event
        if kind == "startEvent" and any(
            _local(child).endswith("EventDefinition") for child in element
        ):
            continue
        todo += [
            by_id.get(flow.get("targetRef"))
            for flow in outgoing
            if flow.find(f"{{{BPMN_NS}}}conditionExpression") is None
        ]
    return found


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""
