"""SpiffWorkflow's task state records and an instance's workflow records: built only when
their logger is enabled, then as before."""

import logging
from pathlib import Path
from unittest import mock

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.workflow import Workflow

from engine import log_records

DIAGRAM = Path(__file__).resolve().parents[2] / "bench" / "diagrams" / "bench_call.bpmn"


def _workflow() -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DIAGRAM))
    return BpmnWorkflow(parser.get_spec("bench_call"))


def test_an_enabled_logger_gets_the_records_with_their_extras(caplog):
    log_records.install()
    with caplog.at_level(logging.DEBUG, logger="spiff.task"):
        workflow = _workflow()
        workflow.do_engine_steps()
    changes = [r for r in caplog.records if r.getMessage().startswith("State changed to ")]
    assert changes
    record = changes[-1]
    assert record.name == "spiff.task"
    assert record.task_spec == "call" and record.state == "READY"
    assert "elapsed" in record.__dict__ and "data" in record.__dict__


def test_a_disabled_logger_costs_no_extras():
    log_records.install()
    logger = logging.getLogger("spiff.task")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with mock.patch.object(Task, "collect_log_extras", side_effect=AssertionError):
            workflow = _workflow()
            workflow.do_engine_steps()
        assert workflow.get_next_task(manual=True) is not None
    finally:
        logger.setLevel(level)


CONFIRM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs_logged" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="logged_confirm" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="confirm" name="Confirm">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="confirm" />
    <bpmn:sequenceFlow id="f2" sourceRef="confirm" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def _start_and_complete(owner, agent) -> dict:
    response = owner.upload(extra=[("logged_confirm.bpmn", CONFIRM)])
    assert response.status_code in (200, 201), response.get_json()  # 200: deployed already
    started = agent.start("logged_confirm")
    agent.complete_ok(started["ready_tasks"][0]["id"])
    return agent.instance(started["id"])


def test_an_instance_s_workflow_records_get_their_extras_when_enabled(owner, agent, caplog):
    """Whoever enables SpiffWorkflow's workflow logger gets its start and end records, with
    their extras, for an instance started and completed through the API."""
    with caplog.at_level(logging.INFO, logger="spiff.workflow"):
        instance = _start_and_complete(owner, agent)
    assert instance["status"] == "completed"
    records = [r for r in caplog.records if r.name == "spiff.workflow"]
    messages = [r.getMessage() for r in records]
    assert "Initialized workflow" in messages and "Workflow completed" in messages
    ended = records[messages.index("Workflow completed")]
    assert ended.workflow_spec == "logged_confirm" and "root" in ended.__dict__


def test_an_instance_s_workflow_builds_no_extras_for_a_disabled_logger(owner, agent):
    """With SpiffWorkflow's workflow logger disabled (its level unset under a root at WARNING,
    or WARNING as ``Settings.configure_logging`` sets it), a start and a completion build none
    of its records' extras: with the level unset they listed every task of the workflow."""
    logger = logging.getLogger("spiff.workflow")
    level = logger.level
    for unset_or_warning in (logging.NOTSET, logging.WARNING):
        logger.setLevel(unset_or_warning)
        try:
            with mock.patch.object(
                Workflow, "collect_log_extras", side_effect=AssertionError("extras built")
            ):
                assert not logger.isEnabledFor(logging.INFO)
                assert _start_and_complete(owner, agent)["status"] == "completed"
        finally:
            logger.setLevel(level)
