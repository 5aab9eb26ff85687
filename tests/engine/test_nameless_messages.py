"""A message declared without a name, thrown and caught inside one process: SpiffWorkflow hands
it to the catch within the instance, so it runs; only one sent or caught between instances (or
by the API) needs the name it is sent by."""

from __future__ import annotations

INTERNAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_1"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="Message_ready"/>
  <bpmn:process id="prepare_offer" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Gateway_split">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing><bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:intermediateCatchEvent id="Event_ready">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing>
      <bpmn:messageEventDefinition id="Def_ready" messageRef="Message_ready"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Activity_draft" name="Draft the offer">
      <bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:intermediateThrowEvent id="Event_tell">
      <bpmn:incoming>Flow_5</bpmn:incoming><bpmn:outgoing>Flow_6</bpmn:outgoing>
      <bpmn:messageEventDefinition id="Def_tell" messageRef="Message_ready"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:parallelGateway id="Gateway_join">
      <bpmn:incoming>Flow_4</bpmn:incoming><bpmn:incoming>Flow_6</bpmn:incoming>
      <bpmn:outgoing>Flow_7</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Gateway_split"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Gateway_split" targetRef="Event_ready"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Gateway_split" targetRef="Activity_draft"/>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Event_ready" targetRef="Gateway_join"/>
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_draft" targetRef="Event_tell"/>
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Event_tell" targetRef="Gateway_join"/>
    <bpmn:sequenceFlow id="Flow_7" sourceRef="Gateway_join" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_nameless_message_thrown_and_caught_in_one_process_runs(owner, agent):
    deployed = owner.post("/api/v1/process-models", json={"bpmn": {"offer.bpmn": INTERNAL}})
    assert deployed.status_code == 201, deployed.get_json()
    started = agent.start("prepare_offer")
    (task,) = started["ready_tasks"]
    agent.complete_ok(task["id"])
    instance = agent.instance(started["id"])
    assert (instance["status"], instance["incidents"]) == ("completed", [])


def test_a_nameless_message_only_caught_is_still_refused(owner):
    text = INTERNAL.replace(
        '<bpmn:messageEventDefinition id="Def_tell" messageRef="Message_ready"/>', ""
    )
    refused = owner.post("/api/v1/process-models", json={"bpmn": {"offer.bpmn": text}})
    assert refused.status_code == 422, refused.get_json()
    (detail,) = refused.get_json()["error"]["details"]
    assert detail["element_id"] == "Event_ready"
    assert "its message 'Message_ready' has no name" in detail["message"]
