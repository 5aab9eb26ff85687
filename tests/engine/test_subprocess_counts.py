"""Scripts inside a parallel multi-instance subprocess that count across its instances.

A subprocess run once per approver whose script task counts (``count = count + 1``) or
collects (``names.append(approver)``): as in Flowable and Camunda the variable lives on the
process and every instance adds to it. Before, each instance counted on its own copy of the
data taken when the activity started, and the copies overwrote each other: N instances gave 1.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.test_completion_failures import deploy

APPROVERS = ["m1", "m2", "m3"]


def counting(script: str, wait: bool) -> str:
    """A parallel multi-instance subprocess over ``approvers`` whose script task runs
    ``script``, with a user task after it (``wait``) or straight to its end."""
    after = (
        '<bpmn:sequenceFlow id="g2" sourceRef="count" targetRef="review"/>'
        '<bpmn:userTask id="review"/>'
        '<bpmn:sequenceFlow id="g3" sourceRef="review" targetRef="se"/>'
        if wait
        else '<bpmn:sequenceFlow id="g2" sourceRef="count" targetRef="se"/>'
    )
    return (
        '<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sub"/>'
        '<bpmn:subProcess id="sub">'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
        "<bpmn:loopDataInputRef>approvers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="approver"/></bpmn:multiInstanceLoopCharacteristics>'
        '<bpmn:startEvent id="ss"/><bpmn:sequenceFlow id="g1" sourceRef="ss" targetRef="count"/>'
        f'<bpmn:scriptTask id="count"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
        f'{after}<bpmn:endEvent id="se"/>'
        "</bpmn:subProcess>"
        '<bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/><bpmn:userTask id="after"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e"/><bpmn:endEvent id="e"/>'
    )


def ready(body: dict[str, Any], name: str) -> list[str]:
    return [task["id"] for task in body["ready_tasks"] if task["name"] == name]


def test_a_script_in_each_instance_counts_every_instance(owner, agent):
    deploy(owner, "sub_count", counting("count = count + 1", wait=False))
    body = agent.start("sub_count", {"approvers": APPROVERS, "count": 0})

    assert ready(body, "after")
    assert body["data"]["count"] == 3  # was 1


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1]])
def test_instances_finishing_in_any_order_keep_every_count(owner, agent, order):
    deploy(owner, "sub_wait", counting("count = count + 1; names.append(approver)", wait=True))
    started = agent.start("sub_wait", {"approvers": APPROVERS, "count": 0, "names": []})
    reviews = ready(started, "review")
    assert len(reviews) == 3

    body: dict[str, Any] = {}
    for index in order:
        body = agent.complete_ok(reviews[index], {})

    assert ready(body, "after")
    assert body["data"]["count"] == 3  # was 1: the last to finish put its copy back
    assert body["data"]["names"] == APPROVERS  # each appended in the order its script ran
    assert "approver" not in body["data"]
