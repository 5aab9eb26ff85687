"""A post-script that fails once the task's own work is done: the retry runs only the
post-script, with what the work left in the data (and the retry's fix), exactly once.

A script task's script is not run again; a user task is not opened again for its form to be
entered once more: the submitted form is kept, its work item stays completed by whoever
submitted it, when they did, and the retry completes the task."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.engine.conftest import Actor, Timed, notes_of
from tests.engine.test_completion_failures import between, deploy, incident_at, retry


def post_script(text: str) -> str:
    return (
        "<bpmn:extensionElements><spiffworkflow:postScript>"
        f"{text}</spiffworkflow:postScript></bpmn:extensionElements>"
    )


SCRIPT = between(
    "count",
    f'<bpmn:scriptTask id="count">{post_script("share = total / parts")}'
    "<bpmn:script>total = total + 10</bpmn:script></bpmn:scriptTask>",
    "count",
)


def test_a_script_tasks_failed_post_script_is_retried_without_running_the_script_again(
    owner: Actor,
):
    deploy(owner, "script_post_script", SCRIPT)
    started = owner.start("script_post_script", {"total": 0, "parts": 0})
    assert incident_at(started) == ("error", "count", "script_error")

    done = retry(owner, started["id"], {"parts": 2})

    assert (done["status"], done["incidents"]) == ("completed", [])
    assert (done["data"]["total"], done["data"]["share"]) == (10, 5)  # the script ran once


def test_a_script_tasks_post_script_failing_again_stays_retryable(owner: Actor):
    deploy(owner, "script_post_script", SCRIPT)
    started = owner.start("script_post_script", {"total": 0, "parts": 0})

    again = retry(owner, started["id"], {})
    assert incident_at(again) == ("error", "count", "script_error")
    assert again["incidents"][0]["attempts"] == 2

    done = retry(owner, started["id"], {"parts": 5})
    assert (done["status"], done["data"]["total"], done["data"]["share"]) == ("completed", 10, 2)


USER = between(
    "ask",
    f'<bpmn:userTask id="ask" name="Ask">{post_script("ratio = 10 / x")}</bpmn:userTask>',
    "ask",
)


def timeline_tasks(actor: Actor, customer_id: int) -> list[dict[str, Any]]:
    response = actor.get(f"/api/v1/customers/{customer_id}/timeline")
    assert response.status_code == 200, response.get_json()
    return [e for e in response.get_json()["items"] if e["kind"] == "task"]


def test_a_user_tasks_failed_post_script_keeps_the_submitted_form(timed: Timed, make_customer):
    customer = make_customer()
    deploy(timed.owner, "user_post_script", USER)
    started = timed.agent.start("user_post_script", business_key=str(customer.id))
    [task] = started["ready_tasks"]
    submitted_at = timed.clock.now()

    failed = timed.agent.complete_ok(task["id"], {"x": 0, "note": "called twice"})

    assert incident_at(failed) == ("error", "ask", "script_error")
    [incident] = failed["incidents"]
    assert "Post-Script" in incident["message"] and incident["line"] == 1, incident
    assert failed["ready_tasks"] == []
    assert timed.owner.tasks("all=1") == []

    timed.clock.advance(timedelta(hours=1))
    done = retry(timed.owner, started["id"], {"x": 4})

    assert (done["status"], done["incidents"]) == ("completed", [])
    assert (done["data"]["ratio"], done["data"]["note"]) == (2.5, "called twice")
    assert timed.owner.tasks("all=1") == []
    [entry] = timeline_tasks(timed.owner, customer.id)
    assert entry["id"] == task["id"]
    assert entry["status"] == "completed"
    assert entry["completed_by_id"] == timed.agent.user.id
    assert datetime.fromisoformat(entry["at"]) == submitted_at  # once, when it was submitted


def test_a_user_tasks_post_script_failing_again_stays_failed_without_reopening(owner, agent):
    deploy(owner, "user_post_script", USER)
    started = agent.start("user_post_script")
    [task] = started["ready_tasks"]
    agent.complete_ok(task["id"], {"x": 0})

    again = retry(owner, started["id"], {})

    assert incident_at(again) == ("error", "ask", "script_error")
    assert again["incidents"][0]["attempts"] == 2
    assert (again["ready_tasks"], owner.tasks("all=1")) == ([], [])
    assert agent.complete(task["id"], {"x": 5}).status_code == 409  # nothing to fill in again
    done = retry(owner, started["id"], {"x": 5})
    assert (done["status"], done["data"]["ratio"]) == ("completed", 2)


def test_a_user_tasks_retry_goes_on_beside_another_failed_branch(owner, agent):
    """Two branches fail: the user task's post-script and a script. One retry completes the
    user task and runs the script again; what follows each runs in that step."""
    deploy(
        owner,
        "two_failures",
        '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fork"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="ask"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="calc"/>'
        f'<bpmn:userTask id="ask">{post_script("ratio = 10 / x")}</bpmn:userTask>'
        '<bpmn:scriptTask id="calc"><bpmn:script>half = y / 2</bpmn:script></bpmn:scriptTask>'
        '<bpmn:parallelGateway id="join"/>'
        '<bpmn:sequenceFlow id="f4" sourceRef="ask" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f5" sourceRef="calc" targetRef="join"/>'
        '<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="e"/><bpmn:endEvent id="e"/>',
    )
    started = agent.start("two_failures")
    assert started["status"] == "error"
    [task] = started["ready_tasks"]
    failed = agent.complete_ok(task["id"], {"x": 0})
    assert sorted(i["element_id"] for i in failed["incidents"]) == ["ask", "calc"]

    done = retry(owner, started["id"], {"x": 2, "y": 4})

    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    assert (done["data"]["ratio"], done["data"]["half"]) == (5, 2)


# -- a post-script that succeeded before a later part of the completion failed: it ran once ---


SCRIPT_BODY = "<bpmn:script>ran = ran + 1</bpmn:script>"


def counting_post_script(element: str, kind: str, inner: str) -> str:
    """``element``, a ``kind`` task whose post-script counts, with a data output association
    to a data object its work does not set (the completion fails after the post-script)."""
    return '<bpmn:dataObject id="total"/>' + between(
        element,
        f'<bpmn:{kind} id="{element}"><bpmn:extensionElements>{inner}'
        "<spiffworkflow:postScript>counted = counted + 1; log = log + [len(log)]"
        "</spiffworkflow:postScript></bpmn:extensionElements>"
        '<bpmn:dataOutputAssociation id="out"><bpmn:targetRef>total_ref</bpmn:targetRef>'
        f"</bpmn:dataOutputAssociation>{SCRIPT_BODY if kind == 'scriptTask' else ''}"
        f'</bpmn:{kind}><bpmn:dataObjectReference id="total_ref" dataObjectRef="total"/>',
        element,
    )


def test_a_script_tasks_post_script_that_ran_is_not_run_again_by_the_retry(owner: Actor):
    """Before, the retry ran the post-script a second time: the count said 2."""
    deploy(owner, "script_output", counting_post_script("count", "scriptTask", ""))
    started = owner.start("script_output", {"counted": 0, "log": [], "ran": 0})
    assert incident_at(started) == ("error", "count", "script_error")
    assert "'total'" in started["incidents"][0]["message"]

    done = retry(owner, started["id"], {"total": 7})

    assert (done["status"], done["incidents"]) == ("completed", [])
    assert (done["data"]["ran"], done["data"]["counted"], done["data"]["log"]) == (1, 1, [0])
    assert done["data"]["data_objects"]["total"] == 7


def test_a_service_tasks_post_script_that_ran_is_not_run_again_by_the_retry(
    owner: Actor, make_customer, db
):
    customer = make_customer()
    operator = (
        '<spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="written">'
        "<spiffworkflow:parameters>"
        '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>'
        '<spiffworkflow:parameter id="text" type="str" value="\'Called\'"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
    )
    deploy(owner, "service_output", counting_post_script("note", "serviceTask", operator))
    data = {"customer_id": customer.id, "counted": 0, "log": []}
    started = owner.start("service_output", data)
    assert incident_at(started) == ("error", "note", "script_error")

    again = retry(owner, started["id"], {})  # still without it: fails again, counts nothing
    assert incident_at(again) == ("error", "note", "script_error")
    done = retry(owner, started["id"], {"total": 7})

    assert (done["status"], done["incidents"]) == ("completed", [])
    assert (done["data"]["counted"], done["data"]["log"]) == (1, [0])
    assert notes_of(db, customer.id) == ["Called"]
