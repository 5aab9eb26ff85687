"""Defects a mutation fuzz of the deploy checks found: each answered 500 before its fix."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.engine.conftest import Actor, refused

START = """<bpmn:startEvent>
      <bpmn:extensionElements>
        <zeebe:ioMapping><zeebe:output source="=lead.phone" target="phone"/></zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_msg" messageRef="Message_lead"/>
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_call" name="Call"/>"""

CATCH = """<bpmn:startEvent id="Event_start"/>
    <bpmn:intermediateCatchEvent>
      <bpmn:extensionElements>
        <zeebe:ioMapping><zeebe:output source="=lead.phone" target="phone"/></zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_msg" messageRef="Message_lead"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Activity_call" name="Call"/>"""


def c8(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="c8_no_id" isExecutable="true">
    {body}
    <bpmn:endEvent id="Event_end"/>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Event_gone" targetRef="Activity_call"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_end"/>
  </bpmn:process>
  <bpmn:message id="Message_lead" name="new_lead"/>
</bpmn:definitions>""".encode()


@pytest.mark.parametrize("body", [START, CATCH], ids=["start", "catch"])
def test_an_event_with_mappings_but_no_id_is_refused_with_a_place(owner: Actor, body: str):
    # was 500 internal_error: the task beside the event was looked for as 'None_mappings_…'
    checked = owner.post(
        "/api/v1/process-models/validate",
        data={"file": [(BytesIO(c8(body)), "no_id.bpmn")]},
        content_type="multipart/form-data",
    )
    deployed = owner.upload(extra=[("no_id.bpmn", c8(body))])
    for response in (checked, deployed):
        details = refused(response)
        assert any(d["element_id"] and d["line"] for d in details), details
    assert owner.models() == []
