"""Expressions written to hurt the engine: FEEL or JUEL too deep to parse, and arithmetic whose
value no step could finish computing (``10 ** 10 ** 10``, ``"x" * 10 ** 12``).

A FEEL condition of thousands of terms answered the deploy with a 500 (Python's parser gave up
with a ``RecursionError`` the translation did not expect); it is refused on its element now. A
huge power in an input mapping, a condition or a Python script ran in one bytecode
instruction, where the step's time limit never got a say, and held the worker for good; it is
an incident on its element now, which a retry with other data fixes."""

# ruff: noqa: E501  (diagrams written as Camunda Modeler writes them, one element a line)
from __future__ import annotations

from typing import Any

from tests.engine.conftest import Actor, by_element, refused

C8 = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def diagram(process_id: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {C8} id="defs" targetNamespace="http://bpmn.io/schema/bpmn" '
        'exporter="Camunda Modeler" exporterVersion="5.20.0">\n'
        f'  <bpmn:process id="{process_id}" isExecutable="true">\n{body}\n  </bpmn:process>\n'
        "</bpmn:definitions>\n"
    ).encode()


def gateway(condition: str) -> str:
    return f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_in" sourceRef="StartEvent_1" targetRef="Gateway_1" />
    <bpmn:exclusiveGateway id="Gateway_1" default="Flow_other" />
    <bpmn:sequenceFlow id="Flow_big" sourceRef="Gateway_1" targetRef="End_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_other" sourceRef="Gateway_1" targetRef="End_other" />
    <bpmn:endEvent id="End_big" />
    <bpmn:endEvent id="End_other" />"""


def test_a_feel_condition_too_deep_to_parse_is_refused_on_its_flow(owner: Actor) -> None:
    condition = "=" + " + ".join(["amount"] * 5000) + " &gt; 10"
    response = owner.upload(extra=[("deep_feel.bpmn", diagram("deep_feel", gateway(condition)))])
    assert "Traceback" not in response.get_data(as_text=True)
    assert "Flow_big" in by_element(refused(response))


def test_a_huge_power_in_an_input_mapping_is_an_incident_a_retry_fixes(
    owner: Actor, agent: Actor
) -> None:
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:userTask id="Activity_call" name="Call">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=base ** exponent" target="reach" />
          <zeebe:output source="=reach" target="reach" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="End_1" />
    <bpmn:endEvent id="End_1" />"""
    response = owner.upload(extra=[("huge_power.bpmn", diagram("huge_power", body))])
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:2000]
    started = agent.start("huge_power", {"base": 10, "exponent": 10**10})
    assert started["status"] == "error", started
    [incident] = started["incidents"]
    assert incident["element_id"] == "Activity_call"
    assert "too large" in incident["message"] and "Traceback" not in incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"exponent": 3}}
    )
    assert retried.status_code == 200, retried.get_json()
    [task] = agent.instance(started["id"])["ready_tasks"]
    assert agent.complete_ok(task["id"], {})["data"]["reach"] == 1000


def _script(process_id: str, script: str) -> bytes:
    return diagram(
        process_id,
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_score" />
    <bpmn:scriptTask id="Activity_score" scriptFormat="python">
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_score" targetRef="End_1" />
    <bpmn:endEvent id="End_1" />""",
    )


def test_huge_repetitions_and_shifts_in_a_script_are_incidents(owner: Actor, agent: Actor) -> None:
    scripts = {
        "huge_text": "pad = 'x' * size",
        "huge_shift": "mask = 1 &lt;&lt; size",
        "huge_pow_call": "reach = pow(7, size)",
        "huge_aug": "reach = 9\nreach **= size",
    }
    for process_id, script in scripts.items():
        response = owner.upload(extra=[(f"{process_id}.bpmn", _script(process_id, script))])
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:2000]
        started: dict[str, Any] = agent.start(process_id, {"size": 10**12})
        assert started["status"] == "error", (process_id, started)
        [incident] = started["incidents"]
        assert incident["element_id"] == "Activity_score"
        assert "too large" in incident["message"], incident
    small = agent.start("huge_shift", {"size": 4})
    assert small["status"] == "completed" and small["data"]["mask"] == 16
