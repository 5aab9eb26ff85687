"""Listeners of a task a Flowable ``skipExpression`` skips, fired as Flowable fires them.

Flowable fires a skipped activity's execution listeners (``start`` before the activity's
behaviour decides to skip, ``end`` as it leaves) but no task listener: the skipped user task
is never created, so neither ``create`` nor ``complete`` runs. Before, the skip's gateway
went around the task and its scripts, so the execution listeners did not run either: a
count an ``end`` listener keeps missed every skipped approval.
"""

from __future__ import annotations

from typing import Any


def skipping(listeners: str) -> bytes:
    """Start → a user task ``review`` skipped when ``amount < 100`` with ``listeners`` → a
    user task ``after`` → end."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:flowable="http://flowable.org/bpmn" '
        'targetNamespace="http://www.flowable.org/processdef">\n'
        '<process id="skipped_listeners" isExecutable="true">\n'
        '<startEvent id="s"/>\n<sequenceFlow id="f1" sourceRef="s" targetRef="review"/>\n'
        '<userTask id="review" flowable:skipExpression="${amount &lt; 100}">'
        f"<extensionElements>{listeners}</extensionElements></userTask>\n"
        '<sequenceFlow id="f2" sourceRef="review" targetRef="after"/>\n<userTask id="after"/>\n'
        '<sequenceFlow id="f3" sourceRef="after" targetRef="e"/>\n<endEvent id="e"/>\n'
        "</process>\n</definitions>\n"
    ).encode()


def listener(kind: str, event: str, name: str, value: str) -> str:
    return (
        f'<flowable:{kind} event="{event}" '
        f"expression=\"${{execution.setVariable('{name}', {value})}}\"/>"
    )


LISTENERS = (
    listener("executionListener", "start", "entered", "entered + 1")
    + listener("taskListener", "create", "created", "created + 1")
    + listener("taskListener", "complete", "completed", "completed + 1")
    + listener("executionListener", "end", "left", "entered * 10 + left + 1")
)
COUNTS = {"entered": 0, "created": 0, "completed": 0, "left": 0}


def names(body: dict[str, Any]) -> list[str]:
    return [task["name"] for task in body["ready_tasks"]]


def test_a_skipped_task_fires_its_execution_listeners_and_no_task_listener(owner, agent):
    response = owner.upload(extra=[("skip.bpmn20.xml", skipping(LISTENERS))])
    assert response.status_code in (200, 201), response.get_json()

    body = agent.start(
        "skipped_listeners", {"_FLOWABLE_SKIP_EXPRESSION_ENABLED": True, "amount": 50, **COUNTS}
    )

    assert names(body) == ["after"]  # skipped
    [after] = [task["id"] for task in body["ready_tasks"]]
    data = agent.complete_ok(after, {})["data"]
    assert (data["entered"], data["left"]) == (1, 11)  # start, then end (was 0 and 0)
    assert (data["created"], data["completed"]) == (0, 0)  # no task was created

    # not skipped: every listener fires once
    body = agent.start(
        "skipped_listeners", {"_FLOWABLE_SKIP_EXPRESSION_ENABLED": True, "amount": 500, **COUNTS}
    )
    [review] = [task["id"] for task in body["ready_tasks"] if task["name"] == "review"]
    [after] = [task["id"] for task in agent.complete_ok(review, {})["ready_tasks"]]
    data = agent.complete_ok(after, {})["data"]
    assert data["entered"] == data["created"] == data["completed"] == 1
    assert data["left"] == 11
