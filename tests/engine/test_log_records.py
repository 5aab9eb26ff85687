"""SpiffWorkflow's task state records: built only when the logger is enabled, then as before."""

import logging
from pathlib import Path
from unittest import mock

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.task import Task

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
