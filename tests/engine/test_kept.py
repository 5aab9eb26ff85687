"""A step may continue from the workflow the previous step of its instance saved in this
process (``engine.kept``) instead of decoding the stored state: it must behave exactly as if
it had decoded it, whatever the data held, and never use a workflow the row no longer holds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.kept import KeptWorkflows, _reads_back_the_same
from tests.engine.conftest import only

PAIR_THEN_CHECK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_kept" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="kept_types" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="make" name="Make values">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>pair = (1, 2)
by_number = {1: 'one'}
plain = {'a': [1, 2.5, None, True]}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="confirm" name="Confirm">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="look" name="Look at them">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>pair_type = type(pair).__name__
keys = sorted(str(type(k).__name__) for k in by_number)
plain_type = type(plain['a']).__name__</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="read_back" name="Read back">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="make" />
    <bpmn:sequenceFlow id="f2" sourceRef="make" targetRef="confirm" />
    <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="look" />
    <bpmn:sequenceFlow id="f4" sourceRef="look" targetRef="read_back" />
    <bpmn:sequenceFlow id="f5" sourceRef="read_back" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("keep", [True, False])
def test_the_next_step_sees_the_data_as_decoding_gives_it(owner, agent, runtime, keep):
    """A tuple and integer keys come back from JSON as a list and text keys: the step after
    the user task sees them so, whether or not this process kept the workflow."""
    response = owner.upload(extra=[("kept_types.bpmn", PAIR_THEN_CHECK)])
    assert response.status_code == 201, response.get_json()
    started = agent.start("kept_types")
    if not keep:
        runtime.engine.kept.clear()
    agent.complete_ok(only(started["ready_tasks"], name="confirm")["id"])
    data = agent.instance(started["id"])["data"]
    assert data["pair_type"] == "list"
    assert data["keys"] == ["str"]
    assert data["plain_type"] == "list"


def test_steps_from_kept_and_from_decoded_workflows_store_the_same(owner, agent, runtime):
    """The same flow run twice, once continuing from kept workflows and once decoding at every
    step, stores the same data and ends the same way."""
    owner.deploy("parallel_followup.bpmn")
    results = []
    for keep in (True, False):
        instance = agent.start("parallel_followup", {"customer_name": "Wang"})
        while instance["ready_tasks"]:
            if not keep:
                runtime.engine.kept.clear()
            task = min(instance["ready_tasks"], key=lambda t: t["name"])  # same order
            agent.complete_ok(task["id"], {"email_subject": "Hi", "call_result": task["name"]})
            instance = agent.instance(instance["id"])
        results.append((instance["status"], instance["data"]))
    assert results[0] == results[1]
    assert results[0][0] == "completed"


def test_a_kept_workflow_is_used_only_for_the_text_and_version_it_was_saved_as():
    kept = KeptWorkflows(capacity=2)
    workflow = _Workflow()
    kept.keep(1, 10, "state-1", workflow)
    assert kept.take(1, 10, "other text") is None  # e.g. the step that kept it rolled back
    kept.keep(1, 10, "state-1", workflow)
    assert kept.take(1, 11, "state-1") is None  # migrated to another version
    kept.keep(1, 10, "state-1", workflow)
    assert kept.take(1, 10, "state-1") is workflow
    assert kept.take(1, 10, "state-1") is None  # taken out while a step uses it
    for instance_id in (1, 2, 3):
        kept.keep(instance_id, 10, "s", _Workflow())
    assert kept.take(1, 10, "s") is None  # the oldest went beyond the capacity
    assert kept.take(3, 10, "s") is not None
    kept.forget(2)  # e.g. the instance completed: no step follows
    assert kept.take(2, 10, "s") is None


@pytest.mark.parametrize(
    ("value", "reads_back"),
    [
        ({"a": [1, 2.5, "x", None, True]}, True),
        (datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8))), True),
        (datetime(2026, 1, 1), True),
        ((1, 2), False),
        ({1, 2}, False),
        ({1: "one"}, False),
        (datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")), False),
        (float("nan"), False),
    ],
)
def test_only_data_that_reads_back_the_same_is_kept(value, reads_back):
    workflow = _Workflow(data={"value": value})
    assert _reads_back_the_same(workflow) is reads_back
    kept = KeptWorkflows()
    kept.keep(1, 1, "s", workflow)
    assert (kept.take(1, 1, "s") is workflow) is reads_back


class _Task:
    def __init__(self, data: dict) -> None:
        self.data = data
        self.internal_data: dict = {}


class _Workflow:
    """Just what ``engine.kept`` looks at."""

    def __init__(self, data: dict | None = None) -> None:
        self.bpmn_events: list = []
        self.subprocesses: dict = {}
        self.data: dict = {}
        self.correlations: dict = {}
        self.tasks = {"t": _Task(data or {})}
