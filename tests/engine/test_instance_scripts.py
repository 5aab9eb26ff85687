"""Pre- and post-scripts of multi-instance activities that run once per instance.

A countersign (会签) gives each approver a work item of their own: the pre-script reads the
instance's element variable (``approver``) and sets ``lane_owners`` before the instance is
ready; the post-script runs as each instance completes. Before, both ran once for the whole
activity, where the element variable does not exist: the pre-script failed with a NameError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import Actor, notes_of
from tests.engine.test_completion_failures import deploy, incident_at, retry

OWN_APPROVER = 'lane_owners = {"manager": [approver]}'
LANES = (
    '<bpmn:laneSet id="lanes"><bpmn:lane id="managers" name="manager">'
    "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef><bpmn:flowNodeRef>after</bpmn:flowNodeRef>"
    "</bpmn:lane></bpmn:laneSet>"
)


def scripts(pre: str, post: str = "") -> str:
    post = f"<spiffworkflow:postScript>{post}</spiffworkflow:postScript>" if post else ""
    return (
        f"<bpmn:extensionElements><spiffworkflow:preScript>{pre}</spiffworkflow:preScript>"
        f"{post}</bpmn:extensionElements>"
    )


def countersign(sequential: bool = False, pre: str = "") -> str:
    """Each approver signs; the post-script collects each signature; then one more manager
    task, in the same lane, for the lane's own group."""
    return (
        LANES + '<bpmn:startEvent id="s"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign"/>'
        f'<bpmn:userTask id="sign" name="Sign">'
        f"{scripts(pre or OWN_APPROVER, 'signed = [approver, ok]')}"
        f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">'
        "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>"
        "<bpmn:loopDataOutputRef>signatures</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="approver"/><bpmn:outputDataItem id="signed"/>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
        '<bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="after"/>'
        '<bpmn:userTask id="after" name="After"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/><bpmn:endEvent id="e"/>'
    )


APPROVERS = ["m1", "m2", "m3"]


@pytest.fixture
def managers(actor: Callable[..., Actor]) -> dict[str, Actor]:
    return {name: actor("manager", username=name) for name in APPROVERS}


def owners(body: dict[str, Any]) -> list[list[str]]:
    return [task["candidates"] for task in body["ready_tasks"]]


def test_a_parallel_countersign_gives_each_approver_their_own_work_item(
    owner: Actor, agent: Actor, managers: dict[str, Actor]
):
    deploy(owner, "countersign", countersign())
    started = agent.start("countersign", {"approvers": APPROVERS})

    assert (started["status"], started["incidents"]) == ("running", [])
    assert owners(started) == [["user:m1"], ["user:m2"], ["user:m3"]]
    assert [t["assignee"] for t in started["ready_tasks"]] == [
        managers[name].user.id for name in APPROVERS
    ]
    tasks = {name: managers[name].tasks("mine=1") for name in APPROVERS}
    assert [len(items) for items in tasks.values()] == [1, 1, 1]

    managers["m3"].complete_ok(tasks["m3"][0]["id"], {"ok": False})
    assert managers["m1"].complete(tasks["m3"][0]["id"]).status_code in (403, 409)
    managers["m1"].complete_ok(tasks["m1"][0]["id"], {"ok": True})
    done = managers["m2"].complete_ok(tasks["m2"][0]["id"], {"ok": True})

    # the post-script collected each instance's signature, in the approvers' order
    assert done["data"]["signatures"] == [["m1", True], ["m2", True], ["m3", False]]
    # the owners each instance was given stay with it: the next manager task is the lane's
    assert "lane_owners" not in done["data"]
    assert owners(done) == [["group:manager"]]


def test_a_sequential_countersign_opens_each_approvers_item_in_turn(
    owner: Actor, agent: Actor, managers: dict[str, Actor]
):
    deploy(owner, "countersign", countersign(sequential=True))
    body = agent.start("countersign", {"approvers": APPROVERS})

    for name in APPROVERS:
        assert owners(body) == [[f"user:{name}"]]
        [task] = managers[name].tasks("mine=1")
        body = managers[name].complete_ok(task["id"], {"ok": name != "m2"})

    assert body["data"]["signatures"] == [["m1", True], ["m2", False], ["m3", True]]
    assert owners(body) == [["group:manager"]]


def test_a_pre_script_failing_in_the_second_instance_is_retried_on_that_instance(
    owner: Actor, agent: Actor, managers: dict[str, Actor]
):
    pre = 'lane_owners = {"manager": [aliases.get(approver, approver)]}; check = 1 / len(approver)'
    deploy(owner, "countersign", countersign(pre=pre))
    started = agent.start("countersign", {"approvers": ["m1", "", "m3"], "aliases": {}})

    # the second instance failed; the first and third are each with their approver
    assert incident_at(started) == ("error", "sign", "script_error")
    [incident] = started["incidents"]
    assert "Pre-Script" in incident["message"] and "ZeroDivisionError" in incident["message"]
    assert owners(started) == [["user:m1"], ["user:m3"]]
    assert incident["task_id"] not in {t["id"] for t in started["ready_tasks"]}

    # the fix reaches the failed instance's pre-script: it opens, for its own approver
    again = retry(owner, started["id"], {"approver": "2", "aliases": {"2": "m2"}})
    assert (again["status"], again["incidents"]) == ("running", [])
    assert sorted(owners(again)) == [["user:m1"], ["user:m2"], ["user:m3"]]
    assert incident["task_id"] in {t["id"] for t in again["ready_tasks"]}

    for name in APPROVERS:
        [task] = managers[name].tasks("mine=1")
        body = managers[name].complete_ok(task["id"], {"ok": True})
    assert body["data"]["signatures"] == [["m1", True], ["2", True], ["m3", True]]


def test_an_instances_pre_script_failing_again_stays_retryable(owner: Actor, agent: Actor):
    pre = f"{OWN_APPROVER}; x = 1 / len(approver)"
    deploy(owner, "countersign", countersign(sequential=True, pre=pre))
    started = agent.start("countersign", {"approvers": [""]})
    assert incident_at(started) == ("error", "sign", "script_error")

    again = retry(owner, started["id"], {})
    assert incident_at(again) == ("error", "sign", "script_error")
    assert (again["incidents"][0]["attempts"], again["ready_tasks"]) == (2, [])

    done = retry(owner, started["id"], {"approver": "m9"})
    assert (done["status"], owners(done)) == ("running", [["user:m9"]])


def test_a_pre_script_building_the_collection_still_runs_once_for_the_activity(
    owner: Actor, agent: Actor
):
    """A script that names no item variable stays with the activity, as in SpiffArena."""
    activity_level = (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign"/>'
        f'<bpmn:scriptTask id="sign">{scripts("items = list(range(n)); runs = runs + 1")}'
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items"
        "</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>out</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="i"/><bpmn:outputDataItem id="o"/>'
        "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>o = i * 10</bpmn:script>"
        '</bpmn:scriptTask><bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="e"/>'
        '<bpmn:endEvent id="e"/>'
    )
    deploy(owner, "built_collection", activity_level)
    done = agent.start("built_collection", {"n": 3, "runs": 0})
    assert (done["status"], done["data"]["out"], done["data"]["runs"]) == (
        "completed",
        [0, 10, 20],
        1,
    )


def test_script_and_service_instances_run_their_scripts_each(owner: Actor, make_customer, db):
    customer = make_customer()
    body = (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>'
        f'<bpmn:scriptTask id="calc">{scripts("base = step * 2", "total = total + part * step")}'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        "<bpmn:loopDataInputRef>steps</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="step"/></bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:script>part = base + 1</bpmn:script></bpmn:scriptTask>"
        '<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="note"/>'
        '<bpmn:serviceTask id="note"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="written">'
        "<spiffworkflow:parameters>"
        '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>'
        '<spiffworkflow:parameter id="text" type="str" value="text"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
        "<spiffworkflow:preScript>text = f'call {who}'</spiffworkflow:preScript>"
        "<spiffworkflow:postScript>noted = [who, written['note_id'] &gt; 0]"
        "</spiffworkflow:postScript></bpmn:extensionElements>"
        "<bpmn:multiInstanceLoopCharacteristics>"
        "<bpmn:loopDataInputRef>people</bpmn:loopDataInputRef>"
        "<bpmn:loopDataOutputRef>notes</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="who"/><bpmn:outputDataItem id="noted"/>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>"
        '<bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="e"/><bpmn:endEvent id="e"/>'
    )
    deploy(owner, "each_instance", body)
    data = {"customer_id": customer.id, "steps": [1, 2, 3], "total": 0, "people": ["王", "李"]}
    done = owner.start("each_instance", data)

    assert (done["status"], done["incidents"]) == ("completed", [])
    # each instance's post-script added its part, in turn: 3 * 1 + 5 * 2 + 7 * 3
    assert done["data"]["total"] == 34
    assert done["data"]["notes"] == [["王", True], ["李", True]]
    assert notes_of(db, customer.id) == ["call 王", "call 李"]


def test_a_multi_instance_subprocess_gives_each_instance_its_owners(
    owner: Actor, agent: Actor, managers: dict[str, Actor]
):
    body = (
        '<bpmn:laneSet id="lanes"><bpmn:lane id="managers" name="manager">'
        "<bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>'
        f'<bpmn:subProcess id="review">{scripts(OWN_APPROVER)}'
        "<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>approvers"
        '</bpmn:loopDataInputRef><bpmn:inputDataItem id="approver"/>'
        '</bpmn:multiInstanceLoopCharacteristics><bpmn:startEvent id="rs"/>'
        '<bpmn:sequenceFlow id="r1" sourceRef="rs" targetRef="read"/>'
        '<bpmn:userTask id="read"/><bpmn:sequenceFlow id="r2" sourceRef="read" targetRef="re"/>'
        '<bpmn:endEvent id="re"/></bpmn:subProcess>'
        '<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/><bpmn:endEvent id="e"/>'
    )
    deploy(owner, "sub_countersign", body)
    started = agent.start("sub_countersign", {"approvers": ["m1", "m2"]})

    assert (started["status"], owners(started)) == ("running", [["user:m1"], ["user:m2"]])
    for name in ("m1", "m2"):
        [task] = managers[name].tasks("mine=1")
        done = managers[name].complete_ok(task["id"])
    assert (done["status"], "lane_owners" in done["data"]) == ("completed", False)


# -- the retry of a pre-script that failed: it runs again before the task is ready ------------


def test_a_single_tasks_failed_pre_script_runs_again_on_retry(owner: Actor, agent: Actor):
    """Before, the retry opened the task without its pre-script: offered to the whole lane."""
    single = (
        LANES + '<bpmn:startEvent id="s"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sign"/>'
        f'<bpmn:userTask id="sign">{scripts(OWN_APPROVER.replace("approver", "boss.strip()"))}'
        '</bpmn:userTask><bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="after"/>'
        '<bpmn:userTask id="after"/><bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/>'
        '<bpmn:endEvent id="e"/>'
    )
    deploy(owner, "single", single)
    started = agent.start("single", {"boss": 1})
    assert incident_at(started) == ("error", "sign", "script_error")

    done = retry(owner, started["id"], {"boss": " m9 "})

    assert (done["status"], done["incidents"], owners(done)) == ("running", [], [["user:m9"]])


def test_an_activitys_failed_pre_script_building_its_collection_runs_again_on_retry(
    owner: Actor, agent: Actor
):
    """Before, the retry ended the activity at once with no instance: nobody signed."""
    deploy(owner, "countersign", countersign(pre="approvers = list(team)"))
    started = agent.start("countersign", {})
    assert incident_at(started) == ("error", "sign", "script_error")

    done = retry(owner, started["id"], {"team": ["m1", "m2"]})

    assert (done["status"], done["incidents"]) == ("running", [])
    assert [(t["name"], t["candidates"]) for t in done["ready_tasks"]] == [
        ("sign", ["group:manager"]),
        ("sign", ["group:manager"]),
    ]


def test_a_pre_script_failing_in_one_branch_leaves_the_other_branch_open(
    owner: Actor, agent: Actor
):
    """Before, the failure left the parallel branch beside it unreached: it never opened,
    and the join after both waited for good."""
    forked = (
        '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="b"/>'
        f'<bpmn:userTask id="a">{scripts("share = 1 / parts")}</bpmn:userTask>'
        '<bpmn:scriptTask id="b"><bpmn:script>done = 1</bpmn:script></bpmn:scriptTask>'
        '<bpmn:inclusiveGateway id="join"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/><bpmn:endEvent id="e"/>'
    )
    deploy(owner, "forked", forked)
    started = agent.start("forked", {"parts": 0})
    # the branch beside it ran, and the join waits for the failed one
    assert incident_at(started) == ("error", "a", "script_error")
    assert (started["ready_tasks"], started["data"]["done"]) == ([], 1)

    again = retry(owner, started["id"], {"parts": 4})
    assert (again["status"], [t["name"] for t in again["ready_tasks"]]) == ("running", ["a"])
    done = agent.complete_ok(again["ready_tasks"][0]["id"])
    assert (done["status"], done["data"]["share"]) == ("completed", 0.25)
