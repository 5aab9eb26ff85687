"""An instance's walks of its task tree (``engine.task_walk``): the tasks SpiffWorkflow's
iterators find, in their order, without a Python call per task visited."""

import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine.quiet_workflow import InstanceWorkflow

# A parallel split into a user task, an embedded subprocess (its own user task, a timer on
# its boundary) and a run of script tasks; the branches join before the end.
DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_walk" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="walk" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork">
      <bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>fa</bpmn:outgoing><bpmn:outgoing>fs</bpmn:outgoing>
      <bpmn:outgoing>fc</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:userTask id="ask" name="Ask">
      <bpmn:incoming>fa</bpmn:incoming><bpmn:outgoing>fa2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:subProcess id="sub">
      <bpmn:incoming>fs</bpmn:incoming><bpmn:outgoing>fs2</bpmn:outgoing>
      <bpmn:startEvent id="sub_start"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="inner" name="Inner">
        <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
      </bpmn:userTask>
      <bpmn:endEvent id="sub_end"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="sub_start" targetRef="inner" />
      <bpmn:sequenceFlow id="g2" sourceRef="inner" targetRef="sub_end" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="late" attachedToRef="sub" cancelActivity="false">
      <bpmn:outgoing>fl</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="late_end"><bpmn:incoming>fl</bpmn:incoming></bpmn:endEvent>
    <bpmn:scriptTask id="c1"><bpmn:incoming>fc</bpmn:incoming><bpmn:outgoing>fc1</bpmn:outgoing>
      <bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="c2"><bpmn:incoming>fc1</bpmn:incoming><bpmn:outgoing>fc2</bpmn:outgoing>
      <bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:parallelGateway id="join">
      <bpmn:incoming>fa2</bpmn:incoming><bpmn:incoming>fs2</bpmn:incoming>
      <bpmn:incoming>fc2</bpmn:incoming><bpmn:outgoing>fe</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>fe</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork" />
    <bpmn:sequenceFlow id="fa" sourceRef="fork" targetRef="ask" />
    <bpmn:sequenceFlow id="fs" sourceRef="fork" targetRef="sub" />
    <bpmn:sequenceFlow id="fc" sourceRef="fork" targetRef="c1" />
    <bpmn:sequenceFlow id="fc1" sourceRef="c1" targetRef="c2" />
    <bpmn:sequenceFlow id="fa2" sourceRef="ask" targetRef="join" />
    <bpmn:sequenceFlow id="fs2" sourceRef="sub" targetRef="join" />
    <bpmn:sequenceFlow id="fc2" sourceRef="c2" targetRef="join" />
    <bpmn:sequenceFlow id="fl" sourceRef="late" targetRef="late_end" />
    <bpmn:sequenceFlow id="fe" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

MASKS = [
    TaskState.ANY_MASK,
    TaskState.READY,
    TaskState.WAITING,
    TaskState.READY | TaskState.WAITING,
    TaskState.NOT_FINISHED_MASK,
    TaskState.FINISHED_MASK,
    TaskState.PREDICTED_MASK,
    TaskState.DEFINITE_MASK,
    TaskState.COMPLETED,
]


def _workflow() -> InstanceWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(DIAGRAM)
    return InstanceWorkflow(parser.get_spec("walk"), parser.get_subprocess_specs("walk"))


def _ids(tasks: Any) -> list[Any]:
    return [task.id for task in tasks]


def _complete(workflow: InstanceWorkflow, spec_name: str) -> None:
    ready = workflow.get_tasks(state=TaskState.READY)
    (task,) = [t for t in ready if t.task_spec.name == spec_name]
    task.run()
    workflow.do_engine_steps()


def _stages() -> list[InstanceWorkflow]:
    """The same instance's workflow new, started, and after each user task."""
    stages = [_workflow()]
    started = _workflow()
    started.do_engine_steps()
    stages.append(started)
    inner = _workflow()
    inner.do_engine_steps()
    _complete(inner, "inner")
    stages.append(inner)
    done = _workflow()
    done.do_engine_steps()
    _complete(done, "inner")
    _complete(done, "ask")
    stages.append(done)
    return stages


@pytest.mark.parametrize("stage", range(4))
def test_the_instances_walks_find_what_spiffworkflows_iterators_find(stage):
    workflow = _stages()[stage]
    starts = [workflow.task_tree, *[t for t in workflow.get_tasks() if t.task_spec.name == "sub"]]
    for first in starts:
        for state in MASKS:
            for options in (
                {},
                {"skip_subprocesses": True},
                {"manual": True},
                {"manual": False},
                {"spec_name": "inner"},
            ):
                given = {"state": state, **options}
                expected = _ids(BpmnTaskIterator(first, **given))
                assert _ids(workflow.get_tasks(first, **given)) == expected, given
                found = workflow.get_next_task(first, **given)
                assert (found.id if found else None) == (expected[0] if expected else None)
    assert workflow.is_completed() == (stage == 3)


@pytest.mark.parametrize("stage", range(4))
def test_the_plain_walk_stays_in_its_workflow_as_spiffworkflows_does(stage):
    """``TaskIterator`` (not ``BpmnTaskIterator``), which SpiffWorkflow uses to update the
    WAITING tasks after each completed task and to tell whether a workflow is completed."""
    from engine.task_walk import walk

    workflow = _stages()[stage]
    for first in (workflow.task_tree, *workflow.get_tasks(state=TaskState.WAITING)):
        for state in MASKS:
            for options in ({}, {"manual": False}, {"spec_name": "inner"}):
                given = {"state": state, **options}
                assert _ids(walk(first, None, **given)) == _ids(TaskIterator(first, **given))


def _python_calls(run: Callable[[], Any]) -> int:
    """Python functions called by ``run``, less the task ids' hashing (``UUID.__hash__``):
    each look-up of a task by its id makes one, in SpiffWorkflow's walks as here."""
    calls = 0

    def count(frame: Any, event: str, _arg: Any) -> None:
        nonlocal calls
        if event == "call" and frame.f_code is not _UUID_HASH:
            calls += 1

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


_UUID_HASH = UUID.__hash__.__code__


def test_a_walk_costs_no_python_call_per_task_visited():
    """SpiffWorkflow's iterators made several Python calls per task visited (``__next__``,
    ``_next``, the filter's ``matches``, ``has_state``, ``children``, ``parent``): a fifth
    of a benchmark instance's instructions went to the walks of its steps."""
    workflow = _workflow()
    workflow.do_engine_steps()
    assert len(workflow.get_tasks()) > 25
    assert len(workflow.get_tasks(state=TaskState.READY)) == 2
    # the lambda, get_tasks, get_tasks_iterator, its test of the arguments, and the
    # generator: started, then resumed after each of the two tasks it gives
    assert _python_calls(lambda: workflow.get_tasks(state=TaskState.READY)) <= 7
    assert _python_calls(lambda: workflow.get_next_task(state=TaskState.READY)) <= 6
    assert _python_calls(workflow.is_completed) <= 3
