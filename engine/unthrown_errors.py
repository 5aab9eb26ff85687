"""Error and escalation boundary events that nothing could ever reach, refused at deploy.

An error or escalation reaches a boundary event from inside its activity: an end or throw
event in an embedded subprocess, or in the process a call activity runs. A failing script or
handler is an error thrown at its own script or service task (``caught_failures.py``), which
the nearest interrupting error catch takes: a boundary event on the task (or on its
multi-instance activity), on a subprocess or call activity around it, or an error event
subprocess of its scope. Those all deploy; nothing needs to be relaxed for them. Nothing else
throws: Dialflow completes a person's task (user, manual) with its form data, a send, receive
or business-rule task's failure is an incident to retry, and no task throws an escalation.
Such a boundary event deployed and its path never ran, and is still refused.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem

# What an error or escalation can be thrown inside of.
THROWN_INSIDE = frozenset({"subProcess", "callActivity", "transaction"})
# Tasks whose failure is an error at the task itself (not an escalation).
FAILS_AS_ERROR = frozenset({"scriptTask", "serviceTask"})
CAUGHT = {"errorEventDefinition": "an error", "escalationEventDefinition": "an escalation"}
ADVICE = {
    "userTask": "a person's task ends with its form data: draw an exclusive gateway after it "
    "that tests the answer",
    "manualTask": "a person's task ends with its form data: draw an exclusive gateway after it "
    "that tests the answer",
    "scriptTask": "a failing script is caught by an error boundary event, not an escalation "
    "one; to branch otherwise, let the script set a variable and test it in an exclusive "
    "gateway",
    "serviceTask": "a failing handler is caught by an error boundary event, not an escalation "
    "one; to branch on its outcome otherwise, test its result variable in an exclusive gateway",
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
            if kind in FAILS_AS_ERROR:
                caught = [each for each in caught if each != CAUGHT["errorEventDefinition"]]
            if kind in THROWN_INSIDE or not caught:
                continue
            advice = ADVICE.get(kind, "draw the path after it with an exclusive gateway")
            found.append(
                element_problem(
                    file,
                    boundary,
                    f"catches {caught[0]} on {kind} {host.get('id')!r}, which never throws "
                    "one: only an error or escalation end or throw event inside a subprocess "
                    "or a called process, or a failing script or handler at that task or "
                    f"inside the activity (an error), reaches a boundary event; {advice}",
                    sep=" ",
                )
            )
    return found
