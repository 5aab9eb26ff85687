"""Listeners and post-scripts of a parallel multi-instance task that count across its instances.

A countersign (会签) counts its sign-offs with a task listener (``signed + 1``) or a post-script
(``signed = signed + 1``, ``approvals.append(approver)``): as in Flowable and Camunda every
completion adds to the one shared variable, whatever the order the approvers sign in. Before,
each instance counted on its own copy and the copies overwrote each other: two sign-offs gave 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine import stepper
from tests.engine.conftest import Actor
from tests.engine.test_completion_failures import deploy, incident_at, retry

APPROVERS = ["m1", "m2", "m3", "m4"]

FLOWABLE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowable="http://flowable.org/bpmn" targetNamespace="http://www.flowable.org/processdef">\n'
    '<process id="flowable_count" isExecutable="true">\n'
    '<startEvent id="s"/>\n<sequenceFlow id="f1" sourceRef="s" targetRef="sign"/>\n'
    '<userTask id="sign" name="Sign" flowable:assignee="${approver}">\n<extensionElements>\n'
    '<flowable:taskListener event="complete" '
    "expression=\"${execution.setVariable('signed', signed + 1)}\"/>\n</extensionElements>\n"
    '<multiInstanceLoopCharacteristics isSequential="false" flowable:collection="${approvers}" '
    'flowable:elementVariable="approver">{condition}</multiInstanceLoopCharacteristics>\n'
    "</userTask>\n"
    '<sequenceFlow id="f2" sourceRef="sign" targetRef="after"/>\n<userTask id="after"/>\n'
    '<sequenceFlow id="f3" sourceRef="after" targetRef="e"/>\n<endEvent id="e"/>\n'
    "</process>\n</definitions>\n"
)
HALF = (
    "<completionCondition>${nrOfCompletedInstances/nrOfInstances &gt;= 0.5}</completionCondition>"
)


def spiff(post: str, output: bool = False) -> str:
    """A SpiffArena countersign whose post-script runs on each instance."""
    collection = "<bpmn:loopDataOutputRef>decisions</bpmn:loopDataOutputRef>" if output else ""
    item = '<bpmn:outputDataItem id="ok"/>' if output else ""
    return (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign"/>'
        '<bpmn:userTask id="sign"><bpmn:extensionElements>'
        f"<spiffworkflow:postScript>{post}</spiffworkflow:postScript></bpmn:extensionElements>"
        '<bpmn:multiInstanceLoopCharacteristics spiffworkflow:scriptsOnInstances="true">'
        f"<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>{collection}"
        f'<bpmn:inputDataItem id="approver"/>{item}'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
        '<bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="after"/><bpmn:userTask id="after"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/><bpmn:endEvent id="e"/>'
    )


def sign_tasks(body: dict[str, Any]) -> list[str]:
    return [task["id"] for task in body["ready_tasks"] if task["name"] == "sign"]


def complete_all(owner: Actor, tasks: list[str], order: list[int], **form: Any) -> dict:
    body: dict[str, Any] = {}
    for index in order:
        body = owner.complete_ok(tasks[index], form or None)
    return body


@pytest.fixture
def managers(actor: Callable[..., Actor]) -> dict[str, Actor]:
    return {name: actor("manager", username=name) for name in APPROVERS}


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 1, 0, 2]])
def test_a_flowable_complete_listener_counts_every_sign_off(owner, agent, managers, order):
    response = owner.upload(
        extra=[("count.bpmn20.xml", FLOWABLE.replace("{condition}", "").encode())]
    )
    assert response.status_code in (200, 201), response.get_json()
    started = agent.start("flowable_count", {"approvers": APPROVERS, "signed": 0})
    tasks = sign_tasks(started)
    assert len(tasks) == 4

    body: dict[str, Any] = {}
    for count, index in enumerate(order, start=1):
        body = managers[APPROVERS[index]].complete_ok(tasks[index], {})
        assert body["data"]["signed"] == count  # was 1 after each
    assert [t["name"] for t in body["ready_tasks"]] == ["after"]


def test_a_completion_condition_cuts_the_count_short_at_half(owner, agent, managers):
    xml = FLOWABLE.replace("{condition}", HALF).encode()
    assert owner.upload(extra=[("count.bpmn20.xml", xml)]).status_code in (200, 201)
    started = agent.start("flowable_count", {"approvers": APPROVERS, "signed": 0})
    tasks = sign_tasks(started)

    managers["m4"].complete_ok(tasks[3], {})
    body = managers["m2"].complete_ok(tasks[1], {})

    assert body["data"]["signed"] == 2
    assert [t["name"] for t in body["ready_tasks"]] == ["after"]
    assert managers["m1"].tasks() == []


def test_a_post_script_appends_every_approver_to_the_shared_list(owner, agent):
    deploy(owner, "appended", spiff("approvals.append(approver); signed = signed + 1"))
    started = agent.start("appended", {"approvers": APPROVERS, "approvals": [], "signed": 0})

    body = complete_all(agent, sign_tasks(started), [2, 0, 3, 1])

    assert body["data"]["approvals"] == ["m3", "m1", "m4", "m2"]  # in the order they signed
    assert body["data"]["signed"] == 4
    assert "approver" not in body["data"]


def test_each_instances_own_changes_stay_beside_the_others(owner, agent):
    """A field one approver changed is not put back by another's stale copy; a dict is
    merged key by key."""
    deploy(owner, "notes", spiff("votes[approver] = ok"))
    started = agent.start("notes", {"approvers": APPROVERS[:2], "votes": {}, "note": ""})
    first, second = sign_tasks(started)

    agent.complete_ok(first, {"ok": True, "note": "call back on Monday"})
    body = agent.complete_ok(second, {"ok": False})

    assert body["data"]["votes"] == {"m1": True, "m2": False}
    assert body["data"]["note"] == "call back on Monday"  # the second's "" put it back


def test_a_post_script_with_an_output_collection_counts_too(owner, agent):
    deploy(owner, "collected", spiff("signed = signed + 1", output=True))
    started = agent.start("collected", {"approvers": APPROVERS[:3], "signed": 0})

    body = complete_all(agent, sign_tasks(started), [1, 2, 0], ok=True)

    assert body["data"]["signed"] == 3  # was 0: only the output item was merged
    assert body["data"]["decisions"] == [True, True, True]


def test_a_failed_listener_retried_counts_once(owner, agent, managers):
    """The listener reads a variable the process lacks: an incident on that instance; its
    retry with the variable counts it once, and the others count on from there."""
    xml = FLOWABLE.replace("{condition}", "").encode()
    assert owner.upload(extra=[("count.bpmn20.xml", xml)]).status_code in (200, 201)
    started = agent.start("flowable_count", {"approvers": APPROVERS[:3]})
    tasks = sign_tasks(started)

    failed = managers["m2"].complete_ok(tasks[1], {})
    assert incident_at(failed) == ("error", "sign", "script_error")
    fixed = retry(owner, started["id"], {"signed": 0})
    assert (fixed["status"], fixed["data"]["signed"]) == ("running", 1)

    managers["m1"].complete_ok(tasks[0], {})
    body = managers["m3"].complete_ok(tasks[2], {})
    assert body["data"]["signed"] == 3


def test_a_post_script_failing_after_its_count_is_retried_without_counting_twice(owner, agent):
    """The script adds one, then fails: the failed completion's count is not kept, and the
    retry, after another approver signed, adds its one to theirs."""
    deploy(owner, "half_failed", spiff("signed = signed + 1; check = 1 / len(why)"))
    started = agent.start("half_failed", {"approvers": APPROVERS[:2], "signed": 0})
    first, second = sign_tasks(started)

    failed = agent.complete_ok(first, {"why": ""})
    assert incident_at(failed) == ("error", "sign", "script_error")
    assert failed["data"]["signed"] == 0
    agent.complete_ok(second, {"why": "ok"})
    body = retry(owner, started["id"], {"why": "fixed"})

    assert (body["status"], body["incidents"], body["data"]["signed"]) == ("running", [], 2)


def test_a_sign_off_whose_step_dies_counts_once_when_sent_again(
    owner, agent, managers, monkeypatch
):
    """The step completing an approver's task dies once its writes were sent: nothing of it
    stays, and the same completion sent again counts once."""
    xml = FLOWABLE.replace("{condition}", "").encode()
    assert owner.upload(extra=[("count.bpmn20.xml", xml)]).status_code in (200, 201)
    started = agent.start("flowable_count", {"approvers": APPROVERS[:2], "signed": 0})
    first, second = sign_tasks(started)
    managers["m1"].complete_ok(first, {})

    saved = stepper.save

    def save_then_die(*args: Any) -> None:
        monkeypatch.setattr(stepper, "save", saved)
        saved(*args)
        raise RuntimeError("killed after the step's writes")

    monkeypatch.setattr(stepper, "save", save_then_die)
    assert managers["m2"].complete(second, {}).status_code == 500  # the step died
    assert agent.instance(started["id"])["data"]["signed"] == 1

    body = managers["m2"].complete_ok(second, {})
    assert body["data"]["signed"] == 2
    assert [t["name"] for t in body["ready_tasks"]] == ["after"]


def test_the_same_value_appended_by_two_instances_is_kept_twice(owner, agent):
    deploy(owner, "twice", spiff("marks.append(approver[:1])"))
    started = agent.start("twice", {"approvers": APPROVERS[:3], "marks": ["m"]})

    body = complete_all(agent, sign_tasks(started), [1, 0, 2])

    assert body["data"]["marks"] == ["m", "m", "m", "m"]  # was ["m"]


SUBPROCESS = (
    '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>'
    '<bpmn:subProcess id="review"><bpmn:extensionElements>'
    "<spiffworkflow:postScript>signed = signed + 1</spiffworkflow:postScript>"
    "</bpmn:extensionElements>"
    '<bpmn:multiInstanceLoopCharacteristics spiffworkflow:scriptsOnInstances="true">'
    "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>"
    '<bpmn:inputDataItem id="approver"/></bpmn:multiInstanceLoopCharacteristics>'
    '<bpmn:startEvent id="rs"/><bpmn:sequenceFlow id="r1" sourceRef="rs" targetRef="sign"/>'
    '<bpmn:userTask id="sign"/><bpmn:sequenceFlow id="r2" sourceRef="sign" targetRef="re"/>'
    '<bpmn:endEvent id="re"/></bpmn:subProcess>'
    '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="after"/><bpmn:userTask id="after"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/><bpmn:endEvent id="e"/>'
)


def test_a_post_script_of_a_parallel_subprocess_counts_every_instance(owner, agent):
    deploy(owner, "reviewed", SUBPROCESS)
    started = agent.start("reviewed", {"approvers": APPROVERS[:3], "signed": 0, "note": ""})
    first, second, third = sign_tasks(started)

    agent.complete_ok(third, {"note": "needs a discount"})
    agent.complete_ok(first, {})
    body = agent.complete_ok(second, {})

    assert (body["data"]["signed"], body["data"]["note"]) == (3, "needs a discount")
    assert [t["name"] for t in body["ready_tasks"]] == ["after"]
