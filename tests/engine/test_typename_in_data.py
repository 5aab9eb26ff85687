"""Objects holding a ``typename`` key in an instance's data, from the sources the API's refusal
does not see: a script changing an object in place or naming a variable so, a service handler's
result (a form field of the task page is the same write). SpiffWorkflow
reads such an object as a stored type: it came back as a datetime, or every step failed (500)
once the instance was read from the database. They are kept and read back as they were."""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext
from tests.engine.conftest import Actor, one_process

WHEN = {"typename": "datetime", "value": "2026-05-04T09:00:00"}
EVENT = {"typename": "BpmnEvent", "x": [1, {"typename": "Task"}]}

THEN_ASK = """
<userTask id="ask"><incoming>f2</incoming><outgoing>f3</outgoing></userTask>
<endEvent id="end"><incoming>f3</incoming></endEvent>
<sequenceFlow id="f2" sourceRef="make" targetRef="ask"/>
<sequenceFlow id="f3" sourceRef="ask" targetRef="end"/>
"""

IN_PLACE = (
    """
<startEvent id="start"><outgoing>f0</outgoing></startEvent>
<scriptTask id="first"><incoming>f0</incoming><outgoing>f1</outgoing>
  <script>when = {'at': 1}
event = {'x': [1, {}]}</script></scriptTask>
<sequenceFlow id="f0" sourceRef="start" targetRef="first"/>
<sequenceFlow id="f1" sourceRef="first" targetRef="make"/>
<scriptTask id="make"><incoming>f1</incoming><outgoing>f2</outgoing>
  <script>del when['at']
when['typename'] = 'datetime'
when['value'] = '2026-05-04T09:00:00'
event['typename'] = 'BpmnEvent'
event['x'][1]['typename'] = 'Task'
typename = 'Task'</script></scriptTask>
"""
    + THEN_ASK
)

HANDLED = (
    """
<startEvent id="start"><outgoing>f1</outgoing></startEvent>
<sequenceFlow id="f1" sourceRef="start" targetRef="make"/>
<serviceTask id="make"><extensionElements>
  <spiffworkflow:serviceTaskOperator id="test.echo_typed" resultVariable="echoed">
    <spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator>
</extensionElements><incoming>f1</incoming><outgoing>f2</outgoing></serviceTask>
"""
    + THEN_ASK
)


def read_back(runtime: Runtime, agent: Actor, instance_id: int) -> dict[str, Any]:
    """The instance as another worker reads it: from the database."""
    runtime.engine.kept.clear()
    return agent.instance(instance_id)


def finish(runtime: Runtime, agent: Actor, instance: dict[str, Any]) -> dict[str, Any]:
    """The instance read back, its task completed after another read: its final data."""
    again = read_back(runtime, agent, instance["id"])
    [task] = again["ready_tasks"]
    runtime.engine.kept.clear()
    done = agent.complete_ok(task["id"], {"ok": True})
    assert done["status"] == "completed", done
    return done["data"]


def test_objects_a_script_changes_in_place_keep_their_typename_key(
    owner: Actor, agent: Actor, runtime: Runtime
) -> None:
    assert (
        owner.upload(extra=[("in_place.bpmn", one_process("in_place", IN_PLACE))]).status_code
        == 201
    )
    started = agent.start("in_place")
    assert (started["status"], started["incidents"]) == ("running", []), started
    data = finish(runtime, agent, started)
    assert data["when"] == WHEN  # an object, not a datetime
    assert data["event"] == EVENT
    assert data["typename"] == "Task"


@pytest.fixture
def echo_engine(runtime: Runtime) -> ProcessEngine:
    """The runtime's engine with ``test.echo_typed``, whose result holds ``typename`` keys."""
    registry = build_registry()

    @registry.register("test.echo_typed", "Answer with typed-looking objects")
    def echo_typed(ctx: HandlerContext) -> dict[str, Any]:
        return {
            "when": dict(WHEN),
            "event": {"typename": "BpmnEvent", "x": [1, {"typename": "Task"}]},
        }

    engine = ProcessEngine(registry=registry, clock=runtime.clock)
    runtime._engine = engine
    return engine


def test_a_handlers_result_with_typename_keys_is_kept_as_it_was(
    echo_engine: ProcessEngine, owner: Actor, agent: Actor, runtime: Runtime
) -> None:
    xml = one_process("handled", HANDLED).replace(
        b'xmlns:xsi="',
        b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"\n  xmlns:xsi="',
    )
    uploaded = owner.upload(extra=[("handled.bpmn", xml)])
    assert uploaded.status_code == 201, uploaded.get_json()
    started = agent.start("handled")
    assert (started["status"], started["incidents"]) == ("running", []), started
    data = finish(runtime, agent, started)
    assert data["echoed"] == {"when": WHEN, "event": EVENT}


def test_an_api_body_with_a_long_integer_and_a_typename_key_is_refused(
    owner: Actor, agent: Actor, runtime: Runtime
) -> None:
    """A body with a 19-digit integer is read by the plain-JSON path: the refusal given to
    other bodies applies (it did before this guard too: pinned)."""
    body = (
        '{"process_id": "in_place", "data": {"big": 12345678901234567890123, '
        '"x": {"typename": "datetime", "value": "2026-05-04T09:00:00"}}}'
    )
    assert (
        owner.upload(extra=[("in_place.bpmn", one_process("in_place", IN_PLACE))]).status_code
        == 201
    )
    response = agent.client.post(
        "/api/v1/process-instances",
        data=body,
        headers={**agent.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.get_json()
    assert "'typename'" in response.get_json()["error"]["message"]
