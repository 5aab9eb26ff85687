"""Failures after a task already completed: post-scripts, loop and completion conditions.

Each is driven through the API to its failure, fixed by the retry's data, and retried: the
instance must go on from the failed part (not stay "running" with nothing to run)."""

from __future__ import annotations

from typing import Any

from tests.engine.conftest import Actor, notes_of

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def deploy(owner: Actor, process_id: str, body: str) -> None:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" '
        'targetNamespace="http://example.com/completion">\n'
        f'<bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process>\n'
        "</bpmn:definitions>\n"
    ).encode()
    response = owner.upload(extra=[(f"{process_id}.bpmn", content)])
    assert response.status_code in (200, 201), response.get_json()


def between(start_to: str, body: str, end_from: str) -> str:
    """``body`` between a start event and an end event."""
    return (
        '<bpmn:startEvent id="s"/>'
        f'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{start_to}"/>'
        f'{body}<bpmn:sequenceFlow id="f2" sourceRef="{end_from}" targetRef="e"/>'
        '<bpmn:endEvent id="e"/>'
    )


def retry(owner: Actor, instance_id: int, data: dict[str, Any]) -> dict[str, Any]:
    response = owner.post(f"/api/v1/process-instances/{instance_id}/retry", json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def incident_at(body: dict[str, Any]) -> tuple[str, str, str]:
    [incident] = body["incidents"]
    return body["status"], incident["element_id"], incident["kind"]


LOOP = between(
    "step",
    '<bpmn:scriptTask id="step"><bpmn:standardLoopCharacteristics loopMaximum="5">'
    "<bpmn:loopCondition>n &lt; limit</bpmn:loopCondition>"
    "</bpmn:standardLoopCharacteristics><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>",
    "step",
)


def test_a_failing_loop_condition_is_retried_and_the_loop_goes_on(owner):
    deploy(owner, "loop_condition", LOOP)
    started = owner.start("loop_condition", {"n": 0})
    assert incident_at(started) == ("error", "step", "script_error")
    assert "n < limit" in started["incidents"][0]["message"]

    done = retry(owner, started["id"], {"limit": 3})

    # the first iteration is not run again: three in all, as the fixed condition says
    assert (done["status"], done["incidents"], done["data"]["n"]) == ("completed", [], 3)


def test_a_loop_condition_failing_again_stays_retryable(owner):
    deploy(owner, "loop_condition", LOOP)
    started = owner.start("loop_condition", {"n": 0})

    again = retry(owner, started["id"], {"other": 1})
    assert incident_at(again) == ("error", "step", "script_error")
    assert again["incidents"][0]["attempts"] == 2

    done = retry(owner, started["id"], {"limit": 2})
    assert (done["status"], done["data"]["n"]) == ("completed", 2)


SEQUENTIAL = between(
    "each",
    '<bpmn:scriptTask id="each"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
    '<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item"/>'
    "<bpmn:completionCondition>done &gt; limit</bpmn:completionCondition>"
    "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>done = item</bpmn:script>"
    "</bpmn:scriptTask>",
    "each",
)


def test_a_failing_completion_condition_of_a_sequential_activity_is_retried(owner):
    deploy(owner, "sequential_condition", SEQUENTIAL)
    started = owner.start("sequential_condition", {"items": [1, 2, 3]})
    assert incident_at(started) == ("error", "each", "script_error")

    done = retry(owner, started["id"], {"limit": 1})

    # the second instance makes the condition true; the third never runs
    assert (done["status"], done["incidents"], done["data"]["done"]) == ("completed", [], 2)


PARALLEL = between(
    "approve",
    '<bpmn:userTask id="approve"><bpmn:multiInstanceLoopCharacteristics>'
    '<bpmn:loopDataInputRef>managers</bpmn:loopDataInputRef><bpmn:inputDataItem id="manager"/>'
    "<bpmn:completionCondition>nrOfCompletedInstances &gt;= needed</bpmn:completionCondition>"
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    "approve",
)


def test_a_failing_completion_condition_of_a_parallel_activity_is_retried(owner):
    deploy(owner, "parallel_condition", PARALLEL)
    started = owner.start("parallel_condition", {"managers": ["a", "b", "c"]})
    first, second, _third = (t["id"] for t in started["ready_tasks"])

    failed = owner.complete_ok(first)
    assert incident_at(failed) == ("error", "approve", "script_error")

    waiting = retry(owner, started["id"], {"needed": 2})
    assert (waiting["status"], waiting["incidents"]) == ("running", [])
    assert len(waiting["ready_tasks"]) == 2  # the others still open; the first not again

    done = owner.complete_ok(second)
    assert (done["status"], done["ready_tasks"]) == ("completed", [])  # the third cancelled


def test_a_failing_post_script_of_a_user_task_is_retried_with_the_submitted_form(owner):
    """The post-script's failure puts the task itself in error; the retry runs only the
    post-script, with the form as submitted and the retry's fix (it opened the task again,
    for the form to be entered once more)."""
    deploy(
        owner,
        "user_post_script",
        between(
            "ask",
            '<bpmn:userTask id="ask"><bpmn:extensionElements><spiffworkflow:postScript>'
            "ratio = 10 / x</spiffworkflow:postScript></bpmn:extensionElements></bpmn:userTask>",
            "ask",
        ),
    )
    started = owner.start("user_post_script")
    [task] = started["ready_tasks"]

    failed = owner.complete_ok(task["id"], {"x": 0, "y": 1})
    assert incident_at(failed) == ("error", "ask", "script_error")
    assert owner.tasks("all=1") == []

    done = retry(owner, started["id"], {"x": 4})
    assert (done["status"], done["data"]["ratio"], done["data"]["y"]) == ("completed", 2.5, 1)
    assert owner.tasks("all=1") == []


def test_a_failing_loop_condition_tested_before_the_first_iteration_is_retried(owner):
    deploy(
        owner,
        "loop_tested_before",
        LOOP.replace(
            "<bpmn:standardLoopCharacteristics ",
            '<bpmn:standardLoopCharacteristics testBefore="true" ',
        ),
    )
    started = owner.start("loop_tested_before", {"n": 0})
    assert incident_at(started) == ("error", "step", "script_error")

    done = retry(owner, started["id"], {"limit": 3})

    assert (done["status"], done["incidents"], done["data"]["n"]) == ("completed", [], 3)


def test_a_failing_post_script_of_a_service_task_does_not_call_its_handler_again(
    owner, make_customer, db
):
    customer = make_customer()
    deploy(
        owner,
        "service_post_script",
        between(
            "note",
            '<bpmn:serviceTask id="note"><bpmn:extensionElements>'
            '<spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="written">'
            "<spiffworkflow:parameters>"
            '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>'
            '<spiffworkflow:parameter id="text" type="str" value="\'Called\'"/>'
            "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
            "<spiffworkflow:postScript>share = 1 / parts</spiffworkflow:postScript>"
            "</bpmn:extensionElements></bpmn:serviceTask>",
            "note",
        ),
    )
    started = owner.start("service_post_script", {"customer_id": customer.id, "parts": 0})
    assert incident_at(started) == ("error", "note", "script_error")
    assert notes_of(db, customer.id) == ["Called"]

    done = retry(owner, started["id"], {"parts": 4})

    assert (done["status"], done["incidents"], done["data"]["share"]) == ("completed", [], 0.25)
    assert notes_of(db, customer.id) == ["Called"]  # the handler's work, done once
    assert done["data"]["written"]["note_id"] > 0


# -- a user task whose completion fails after its form was submitted, not in its post-script:
#    the form is kept, the work item completes once, the retry completes the task -------------


def submitted_once(owner: Actor, agent: Actor, failed: dict[str, Any], task_id: str) -> None:
    """The task failed in place: nothing to fill in again, its work item completed."""
    assert (failed["ready_tasks"], owner.tasks("all=1")) == ([], [])
    assert agent.complete(task_id, {"x": 1}).status_code == 409


DATA_OBJECT = '<bpmn:dataObject id="total"/>' + between(
    "ask",
    '<bpmn:userTask id="ask"><bpmn:extensionElements><spiffworkflow:postScript>'
    "counted = counted + 1</spiffworkflow:postScript></bpmn:extensionElements>"
    '<bpmn:dataOutputAssociation id="out"><bpmn:targetRef>total_ref</bpmn:targetRef>'
    '</bpmn:dataOutputAssociation></bpmn:userTask><bpmn:dataObjectReference id="total_ref" '
    'dataObjectRef="total"/>',
    "ask",
)


def test_a_data_output_the_form_did_not_give_is_retried_with_the_submitted_form(owner, agent):
    """Before, the task stayed completed with nothing after it: the retry found nothing to
    run and the instance stayed running for good, with no task and no wait."""
    deploy(owner, "data_output", DATA_OBJECT)
    started = agent.start("data_output", {"counted": 0})
    [task] = started["ready_tasks"]

    failed = agent.complete_ok(task["id"], {"note": "kept"})
    assert incident_at(failed) == ("error", "ask", "script_error")
    assert "'total'" in failed["incidents"][0]["message"]
    submitted_once(owner, agent, failed, task["id"])

    done = retry(owner, started["id"], {"total": 7})

    assert (done["status"], done["incidents"]) == ("completed", [])
    assert (done["data"]["note"], done["data"]["data_objects"]["total"]) == ("kept", 7)
    assert done["data"]["counted"] == 1  # the post-script that had run, not run again


def test_a_multi_instance_output_item_the_form_did_not_give_is_retried_without_reopening(
    owner, agent
):
    """Before, the retry opened the instance's task again, for its form to be filled in once
    more."""
    deploy(
        owner,
        "output_item",
        between(
            "ask",
            '<bpmn:userTask id="ask"><bpmn:multiInstanceLoopCharacteristics>'
            "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
            "<bpmn:loopDataOutputRef>answers</bpmn:loopDataOutputRef>"
            '<bpmn:inputDataItem id="item"/><bpmn:outputDataItem id="answer"/>'
            "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
            "ask",
        ),
    )
    started = agent.start("output_item", {"items": ["a", "b"]})
    first, second = (t["id"] for t in started["ready_tasks"])

    failed = agent.complete_ok(first, {"reached": True})
    assert incident_at(failed) == ("error", "ask", "script_error")
    assert failed["incidents"][0]["task_id"] == first
    assert [t["id"] for t in failed["ready_tasks"]] == [second]  # its sibling still open
    assert agent.complete(first, {"answer": "again"}).status_code == 409

    mended = retry(owner, started["id"], {"answer": "yes"})
    assert (mended["status"], [t["id"] for t in mended["ready_tasks"]]) == ("running", [second])

    done = agent.complete_ok(second, {"answer": "no"})
    assert (done["status"], done["data"]["answers"]) == ("completed", ["yes", "no"])


def test_a_user_tasks_failing_loop_condition_keeps_its_completed_iteration(owner, agent):
    deploy(
        owner,
        "user_loop",
        LOOP.replace("scriptTask", "userTask").replace("<bpmn:script>n = n + 1</bpmn:script>", ""),
    )
    started = agent.start("user_loop", {"n": 0})
    [task] = started["ready_tasks"]

    failed = agent.complete_ok(task["id"], {"n": 1})
    assert incident_at(failed) == ("error", "step", "script_error")
    submitted_once(owner, agent, failed, task["id"])

    again = retry(owner, started["id"], {"limit": 2})

    [following] = again["ready_tasks"]  # the next iteration, the first one not again
    assert (again["status"], following["id"] != task["id"]) == ("running", True)
    assert agent.complete_ok(following["id"], {"n": 2})["status"] == "completed"
