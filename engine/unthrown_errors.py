"""Error and escalation boundary events that nothing could ever reach, refused at deploy.

An error or escalation reaches a boundary event only from inside its activity: an end or
throw event in an embedded subprocess, or in the process a call activity runs. A user, manual,
script, service, send, receive or business-rule task throws neither: Dialflow completes a
person's task with its form data, and a failing script, handler or decision is an incident to
retry, not a BPMN error (SpiffWorkflow 3.2 raises no error event for it either). Such a
boundary event deployed and its path never ran.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem

# What an error or escalation can be thrown inside of.
THROWN_INSIDE = frozenset({"subProcess", "callActivity", "transaction"})
CAUGHT = {"errorEventDefinition": "an error", "escalationEventDefinition": "an escalation"}
ADVICE = {
    "userTask": "a person's task ends with its form data: draw an exclusive gateway after it "
    "that tests the answer",
    "manualTask": "a person's task ends with its form data: draw an exclusive gateway after it "
    "that tests the answer",
    "scriptTask": "a failing script is an incident to retry; to branch, let the script set a "
    "variable and test it in an exclusive gateway, or throw from an error end event inside a "
    "subprocess around it",
    "serviceTask": "a failing handler is an incident to retry; to branch on its outcome, test "
    "its result variable in an exclusive gateway",
    "businessRuleTask": "test the decision's outputs in an exclusive gateway after it",
}


def unthrown_boundary_problems(file: str, processes: list[Any]) -> list[dict[str, Any]]:
    """One problem per error or escalation boundary event on an activity that throws none."""
    found: list[dict[str, Any]] = []
    for process in processes:
        hosts = {element.get("id"): element for element in process.iter() if element.get("id")}
        for boundary in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
            host = hosts.get(boundary.get("attachedToRef"))
            if host is None or etree.QName(host).namespace != BPMN_NS:
                continue  # a missing host is reported by validation
            kind = etree.QName(host).localname
            caught = [
                CAUGHT[etree.QName(child).localname]
                for child in boundary
                if isinstance(child.tag, str) and etree.QName(child).localname in CAUGHT
            ]
            if kind in THROWN_INSIDE or not caught:
                continue
            advice = ADVICE.get(kind, "draw the path after it with an exclusive gateway")
            found.append(
                element_problem(
                    file,
                    boundary,
                    f"catches {caught[0]} on {kind} {host.get('id')!r}, which never throws "
                    "one: only an error or escalation end or throw event inside a subprocess "
                    f"or a called process reaches a boundary event; {advice}",
                    sep=" ",
                )
            )
    return found
