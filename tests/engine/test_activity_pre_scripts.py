"""A pre-script failing on a subprocess, call activity, business-rule, send or receive task.

SpiffWorkflow 3.2 raised such a failure through the completion of the task before it, so a
parallel branch beside the failed element never opened and the join after both waited for
good. Now, as for user, script and service tasks (``test_instance_scripts.py``), the failure
is an incident on that element only, the branches beside it open as usual, and a retry runs
the pre-script again, with the retry's data, before the element goes on.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor
from tests.engine.test_completion_failures import NS, incident_at, retry

PRE = (
    "<bpmn:extensionElements><spiffworkflow:preScript>share = 1 / parts"
    "</spiffworkflow:preScript></bpmn:extensionElements>"
)

DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_tier" name="Tier"
    namespace="http://dialflow.example/tier">
  <decision id="tier" name="Tier">
    <decisionTable id="tier_table" hitPolicy="FIRST">
      <input id="in_share" label="Share">
        <inputExpression id="in_share_expr" typeRef="number"><text>share</text></inputExpression>
      </input>
      <output id="out_tier" label="Tier" name="tier" typeRef="string"/>
      <rule id="r_small"><inputEntry id="r_small_in"><text>&lt; 0.5</text></inputEntry>
        <outputEntry id="r_small_out"><text>"small"</text></outputEntry></rule>
      <rule id="r_big"><inputEntry id="r_big_in"><text>&gt;= 0.5</text></inputEntry>
        <outputEntry id="r_big_out"><text>"big"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""

ELEMENTS = {
    "subprocess": (
        f'<bpmn:subProcess id="x">{PRE}<bpmn:startEvent id="xs"/>'
        '<bpmn:sequenceFlow id="x1" sourceRef="xs" targetRef="inside"/>'
        '<bpmn:userTask id="inside"/><bpmn:sequenceFlow id="x2" sourceRef="inside" targetRef="xe"/>'
        '<bpmn:endEvent id="xe"/></bpmn:subProcess>'
    ),
    "call_activity": f'<bpmn:callActivity id="x" calledElement="called">{PRE}</bpmn:callActivity>',
    "business_rule": (
        '<bpmn:businessRuleTask id="x"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>tier</spiffworkflow:calledDecisionId>"
        "<spiffworkflow:preScript>share = 1 / parts</spiffworkflow:preScript>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
    ),
    "send": f'<bpmn:sendTask id="x" messageRef="m_done">{PRE}</bpmn:sendTask>',
    "receive": f'<bpmn:receiveTask id="x" messageRef="m_reply">{PRE}</bpmn:receiveTask>',
}

CALLED = (
    '<bpmn:process id="called" isExecutable="true"><bpmn:startEvent id="cs"/>'
    '<bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="called_task"/>'
    '<bpmn:userTask id="called_task"/>'
    '<bpmn:sequenceFlow id="c2" sourceRef="called_task" targetRef="ce"/><bpmn:endEvent id="ce"/>'
    "</bpmn:process>"
)


def forked(element: str) -> str:
    return (
        '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="x"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="beside"/>'
        f'{element}<bpmn:userTask id="beside"/><bpmn:parallelGateway id="join"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="x" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f5" sourceRef="beside" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/><bpmn:endEvent id="e"/>'
    )


def deploy(owner: Actor, kind: str) -> None:
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" '
        'targetNamespace="http://example.com/pre">'
        '<bpmn:message id="m_done" name="share_done"/><bpmn:message id="m_reply" name="reply"/>'
        f'<bpmn:process id="branches" isExecutable="true">{forked(ELEMENTS[kind])}</bpmn:process>'
        f"{CALLED}</bpmn:definitions>\n"
    ).encode()
    response = owner.upload(extra=[("branches.bpmn", xml), ("tier.dmn", DMN)])
    assert response.status_code in (200, 201), response.get_json()


def names(body: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in body["ready_tasks"])


# what opens once the retry ran the element's pre-script again
OPENED = {
    "subprocess": ["beside", "inside"],
    "call_activity": ["beside", "called_task"],
    "business_rule": ["beside"],
    "send": ["beside"],
    "receive": ["beside"],
}


@pytest.mark.parametrize("kind", list(ELEMENTS))
def test_a_failing_pre_script_is_an_incident_on_its_element_and_the_branch_beside_it_opens(
    owner: Actor, agent: Actor, kind: str
):
    deploy(owner, kind)
    started = agent.start("branches", {"parts": 0}, business_key="lead-7")

    # before, the branch beside it never opened and the join waited for good
    assert incident_at(started) == ("error", "x", "script_error")
    assert "Pre-Script" in started["incidents"][0]["message"]
    assert names(started) == ["beside"]
    assert started["waiting"] == []  # a receive task does not wait before its pre-script ran

    again = retry(owner, started["id"], {"parts": 4})
    assert (again["status"], again["incidents"], names(again)) == ("running", [], OPENED[kind])
    if kind == "receive":  # it waits for its message now
        assert [w["name"] for w in again["waiting"]] == ["reply"]
        sent = agent.post("/api/v1/messages", json={"name": "reply", "business_key": "lead-7"})
        assert sent.status_code == 202, sent.get_json()
        assert sent.get_json()["delivered_to"] == [started["id"]]
    for task in agent.instance(started["id"])["ready_tasks"]:
        body = agent.complete_ok(task["id"])
    assert (body["status"], body["data"].get("share")) == ("completed", 0.25)
    if kind == "business_rule":  # the decision saw what the pre-script computed
        assert body["data"]["tier"] == "small"


# each review sends a notice (its pre-script names the reviewer) beside a person reading it
REVIEWS = (
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>'
    '<bpmn:subProcess id="review"><bpmn:multiInstanceLoopCharacteristics>'
    "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>"
    "<bpmn:loopDataOutputRef>reviewers</bpmn:loopDataOutputRef>"
    '<bpmn:inputDataItem id="approver"/><bpmn:outputDataItem id="reviewer"/>'
    '</bpmn:multiInstanceLoopCharacteristics><bpmn:startEvent id="rs"/>'
    '<bpmn:parallelGateway id="rfork"/>'
    '<bpmn:sequenceFlow id="r1" sourceRef="rs" targetRef="rfork"/>'
    '<bpmn:sequenceFlow id="r2" sourceRef="rfork" targetRef="notify"/>'
    '<bpmn:sequenceFlow id="r3" sourceRef="rfork" targetRef="read"/>'
    '<bpmn:sendTask id="notify" messageRef="m_done"><bpmn:extensionElements>'
    "<spiffworkflow:preScript>reviewer = approver.strip()</spiffworkflow:preScript>"
    '</bpmn:extensionElements></bpmn:sendTask><bpmn:userTask id="read"/>'
    '<bpmn:parallelGateway id="rjoin"/>'
    '<bpmn:sequenceFlow id="r4" sourceRef="notify" targetRef="rjoin"/>'
    '<bpmn:sequenceFlow id="r5" sourceRef="read" targetRef="rjoin"/>'
    '<bpmn:sequenceFlow id="r6" sourceRef="rjoin" targetRef="re"/><bpmn:endEvent id="re"/>'
    '</bpmn:subProcess><bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>'
    '<bpmn:endEvent id="e"/>'
)


def test_a_pre_script_failing_in_one_instance_of_a_multi_instance_subprocess(
    owner: Actor, agent: Actor
):
    """Before, the failed instance's person never got their task, and after the retry the
    instance stayed running with nothing to do."""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" '
        'targetNamespace="http://example.com/pre"><bpmn:message id="m_done" name="share_done"/>'
        f'<bpmn:process id="reviews" isExecutable="true">{REVIEWS}</bpmn:process>'
        "</bpmn:definitions>\n"
    ).encode()
    response = owner.upload(extra=[("reviews.bpmn", xml)])
    assert response.status_code in (200, 201), response.get_json()
    started = agent.start("reviews", {"approvers": [" m1", 2, "m3 "]})

    # the second instance's notice failed; every instance's reading opened
    assert incident_at(started) == ("error", "notify", "script_error")
    assert names(started) == ["read", "read", "read"]

    again = retry(owner, started["id"], {"approver": " m2 "})
    assert (again["status"], again["incidents"], names(again)) == ("running", [], ["read"] * 3)
    for task in again["ready_tasks"]:
        body = agent.complete_ok(task["id"])
    assert (body["status"], body["data"]["reviewers"]) == ("completed", ["m1", "m2", "m3"])
