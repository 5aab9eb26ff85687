"""Parallel and inclusive joins keep what each branch changed (``engine.joins``): a branch
that never touched a variable does not undo, by arriving last, what another branch set."""

from __future__ import annotations

import pytest

from tests.engine.conftest import Actor, one_process

PARALLEL = """
    <startEvent id="start"/>
    <scriptTask id="prepare"><script>approved = False
note = "new"
shared = "split"</script></scriptTask>
    <{kind} id="split"/>
    <userTask id="credit" name="credit"/>
    <scriptTask id="approve"><script>approved = True
shared = "credit"</script></scriptTask>
    <userTask id="review" name="review"/>
    <scriptTask id="noted"><script>note = "reviewed"
shared = "review"</script></scriptTask>
    <{kind} id="join"/>
    <userTask id="close" name="close"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="split"/>
    <sequenceFlow id="f3" sourceRef="split" targetRef="credit"{flow_end}
    <sequenceFlow id="f4" sourceRef="credit" targetRef="approve"/>
    <sequenceFlow id="f5" sourceRef="approve" targetRef="join"/>
    <sequenceFlow id="f6" sourceRef="split" targetRef="review"{flow_end}
    <sequenceFlow id="f7" sourceRef="review" targetRef="noted"/>
    <sequenceFlow id="f8" sourceRef="noted" targetRef="join"/>
    <sequenceFlow id="f9" sourceRef="join" targetRef="close"/>
    <sequenceFlow id="f10" sourceRef="close" targetRef="end"/>
"""
# An inclusive split takes every flow whose condition holds.
FLOW_END = {
    "parallelGateway": "/>",
    "inclusiveGateway": "><conditionExpression>True</conditionExpression></sequenceFlow>",
}


@pytest.mark.parametrize("kind", ["parallelGateway", "inclusiveGateway"])
@pytest.mark.parametrize("first", ["credit", "review"])
def test_each_branch_keeps_what_it_changed_whichever_arrives_last(
    owner: Actor, agent: Actor, kind: str, first: str
) -> None:
    body = PARALLEL.format(kind=kind, flow_end=FLOW_END[kind])
    assert owner.upload(extra=[("joins.bpmn", one_process("joins", body))]).status_code == 201
    started = agent.start("joins")
    tasks = {task["name"]: task["id"] for task in started["ready_tasks"]}
    assert set(tasks) == {"credit", "review"}
    second = "review" if first == "credit" else "credit"
    agent.complete_ok(tasks[first])
    after = agent.complete_ok(tasks[second])
    data = after["data"]
    # Each branch's own change survives; the value both changed is the later branch's.
    assert (data["approved"], data["note"]) == (True, "reviewed")
    assert data["shared"] == second
    assert [task["name"] for task in after["ready_tasks"]] == ["close"]
