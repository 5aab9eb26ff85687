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
