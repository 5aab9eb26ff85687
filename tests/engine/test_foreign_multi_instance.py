"""Countersigns and call lists drawn as Camunda 7/8, Flowable and Activiti write them run as
drawn: ``camunda:collection`` / ``flowable:elementVariable`` and Camunda 8's
``<zeebe:loopCharacteristics>`` give each instance its item, a JUEL completion condition ends
the activity early, Camunda 8's outputs are collected. A collection that is no variable stays
refused on its element and line."""

from __future__ import annotations

from typing import Any

from tests.engine.conftest import by_element, refused
from tests.engine.test_assignment_attributes import CAMUNDA, FLOWABLE, deploy, java_engine

ZEEBE = "http://camunda.org/schema/zeebe/1.0"


def multi_instance(text: str, task_id: str, attributes: str, inner: str = "") -> str:
    """``text`` with the user task ``task_id`` made multi-instance by a loop element written
    with ``attributes`` and holding ``inner``."""
    head = f'<bpmn:userTask id="{task_id}" name="{task_id}"'
    start = text.index(head)
    end = text.index("/>", start)
    return (
        text[:end]
        + f"><bpmn:multiInstanceLoopCharacteristics {attributes}>{inner}"
        + "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
        + text[end + 2 :]
    )


def countersign(collection: str) -> str:
    text = java_engine(
        "camunda",
        CAMUNDA,
        "c7_countersign",
        [("Task_Sign", "Sales", 'camunda:assignee="${approver}"')],
    )
    return multi_instance(
        text,
        "Task_Sign",
        f'camunda:collection="{collection}" camunda:elementVariable="approver"',
        "<bpmn:completionCondition>${nrOfCompletedInstances >= 2}</bpmn:completionCondition>",
    )


def test_a_camunda_7_countersign_gives_each_approver_a_task_and_ends_after_two(owner, actor):
    signers = [actor("manager", username=name, team="East") for name in ("li", "wu", "zhou")]
    answer = deploy(owner, "countersign.bpmn", countersign("${approvers}"))
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("c7_countersign", {"approvers": ["li", "wu", "zhou"]})
    tasks = started["ready_tasks"]
    assert sorted(t["assignee"] for t in tasks) == sorted(s.user.id for s in signers)
    li, wu, zhou = signers
    (mine,) = li.tasks("mine=1")
    assert wu.complete(mine["id"]).status_code == 409  # li's, not wu's
    assert li.complete_ok(mine["id"])["status"] != "completed"
    (theirs,) = wu.tasks("mine=1")
    done = wu.complete_ok(theirs["id"])
    assert done["status"] == "completed"  # two of three signed: zhou's task ends unworked
    assert zhou.tasks("mine=1") == []
    assert "approver" not in owner.instance(started["id"]).get("data", {})


def test_a_flowable_call_list_calls_each_customer_in_turn(owner, actor):
    """A sequential call task per customer, then a script run once per customer: each
    instance has its own ``customer``."""
    rep = actor("agent", username="rep", team="East")
    text = (
        multi_instance(
            java_engine(
                "flowable",
                FLOWABLE,
                "fl_call_list",
                [("Task_Call", "Sales", 'flowable:assignee="${salesRep}"')],
            ),
            "Task_Call",
            'isSequential="true" flowable:collection="${customers}" '
            'flowable:elementVariable="customer"',
        )
        .replace('targetRef="end"/>', 'targetRef="Log"/>')
        .replace(
            '<bpmn:endEvent id="end"/>',
            '<bpmn:scriptTask id="Log"><bpmn:multiInstanceLoopCharacteristics isSequential="true" '
            'flowable:collection="customers" flowable:elementVariable="customer"/>'
            "<bpmn:script>logged = logged + [customer]</bpmn:script></bpmn:scriptTask>"
            '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="fl" sourceRef="Log" targetRef="end"/>',
        )
    )
    answer = deploy(owner, "call_list.bpmn20.xml", text)
    assert answer.status_code == 201, answer.get_json()
    customers = ["Ma", "Qian", "Sun"]
    started = owner.start("fl_call_list", {"salesRep": "rep", "customers": customers, "logged": []})
    (call,) = started["ready_tasks"]
    for turn in range(3):
        assert call["assignee"] == rep.user.id
        assert len(rep.tasks("mine=1")) == 1  # one call at a time
        answer = rep.complete_ok(call["id"])
        if turn < 2:
            (call,) = answer["ready_tasks"]
    assert answer["status"] == "completed"
    assert owner.instance(started["id"])["data"]["logged"] == customers


C8_APPROVAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="{ZEEBE}" id="d_c8_mi" targetNamespace="http://x">
  <bpmn:process id="c8_parallel_approval" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="Task_Approve" name="Approve">
      <bpmn:extensionElements>
        <zeebe:assignmentDefinition assignee="=approver"/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="COLLECTION" inputElement="approver"
              outputCollection="results" outputElement="=decision"/>
        </bpmn:extensionElements>
        <bpmn:completionCondition>=nrOfCompletedInstances >= 2</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Task_Approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_camunda_8_parallel_approval_collects_each_decision(owner, actor):
    """Three approvers in parallel, a FEEL completion condition after two: the two
    decisions are collected in the approvers' order, the third task ends unworked."""
    li, wu, zhou = (actor("manager", username=n, team="East") for n in ("c8_li", "c8_wu", "zh"))
    text = C8_APPROVAL.replace("COLLECTION", "=approvers")
    answer = deploy(owner, "approval.bpmn", text)
    assert answer.status_code == 201, answer.get_json()
    started = owner.start("c8_parallel_approval", {"approvers": ["c8_li", "c8_wu", "zh"]})
    assert sorted(t["assignee"] for t in started["ready_tasks"]) == sorted(
        [li.user.id, wu.user.id, zhou.user.id]
    )
    (second,) = wu.tasks("mine=1")
    assert wu.complete_ok(second["id"], {"decision": "no"})["status"] != "completed"
    (first,) = li.tasks("mine=1")
    assert li.complete_ok(first["id"], {"decision": "yes"})["status"] == "completed"
    assert zhou.tasks("mine=1") == []
    data: dict[str, Any] = owner.instance(started["id"])["data"]
    assert data["results"] == ["yes", "no"]  # in the approvers' order


def test_a_collection_that_is_no_variable_is_refused_on_its_task_and_line(owner):
    details = refused(deploy(owner, "countersign.bpmn", countersign("${service.list()}")))
    said = by_element(details)
    assert "camunda:collection='${service.list()}'" in said["Task_Sign"]
    assert "names one variable" in said["Task_Sign"]
    # said once, on the collection: not on its element variable, nor as the parser's words
    assert len(details) == 1, details
    (line,) = {d["line"] for d in details if "collection" in d["message"]}
    text = countersign("${service.list()}")
    assert text.splitlines()[line - 1].count("camunda:collection") == 1
    written = "=for i in 1..3 return a[i]"  # a range: no Python (``=a[1]`` runs now)
    zeebe = refused(deploy(owner, "approval.bpmn", C8_APPROVAL.replace("COLLECTION", written)))
    (detail,) = zeebe
    assert (
        detail["element_id"] == "Task_Approve"
        and "<zeebe:loopCharacteristics>" in detail["message"]
    )
    assert "names one variable" in detail["message"]
    assert "FEEL's range '1..3'" in detail["message"]


NESTED = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="{CAMUNDA}" id="d_nested" targetNamespace="http://x">
  <bpmn:process id="c7_nested" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="Sub_Each">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true"
          camunda:collection="${{deals}}" camunda:elementVariable="deal"/>
      <bpmn:startEvent id="sub_start"/>
      <bpmn:scriptTask id="Note"><bpmn:script>noted = noted + [deal]</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="sub_end"/>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="Note"/>
      <bpmn:sequenceFlow id="s2" sourceRef="Note" targetRef="sub_end"/>
    </bpmn:subProcess>
    <bpmn:callActivity id="Call_Each" calledElement="c7_dial">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true"
          camunda:collection="customers" camunda:elementVariable="customer"/>
    </bpmn:callActivity>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Sub_Each"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Sub_Each" targetRef="Call_Each"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Call_Each" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="c7_dial" isExecutable="true">
    <bpmn:startEvent id="d_start"/>
    <bpmn:scriptTask id="Dial">
      <bpmn:script>dialed = dialed + [customer]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="d_end"/>
    <bpmn:sequenceFlow id="d1" sourceRef="d_start" targetRef="Dial"/>
    <bpmn:sequenceFlow id="d2" sourceRef="Dial" targetRef="d_end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_subprocess_and_a_call_activity_run_once_per_item(owner):
    answer = deploy(owner, "nested.bpmn", NESTED)
    assert answer.status_code == 201, answer.get_json()
    started = owner.start(
        "c7_nested",
        {"deals": [7, 8], "noted": [], "customers": ["Ma", "Sun"], "dialed": []},
    )
    assert started["status"] == "completed", started
    data = owner.instance(started["id"])["data"]
    assert (data["noted"], data["dialed"]) == ([7, 8], ["Ma", "Sun"])
    assert "deal" not in data and "customer" not in data
