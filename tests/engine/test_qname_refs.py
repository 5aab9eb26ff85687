"""References written as QNames of the file's own namespace name the bare id
(``engine.qname_refs``), a flow node's ``<bpmn:incoming>`` and ``<bpmn:outgoing>`` too."""

from __future__ import annotations

from tests.engine.conftest import Actor

SCHEMA_BOUND = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:tns="http://example.com/payments" id="defs" targetNamespace="http://example.com/payments">
  <bpmn:message id="m_paid" name="invoice_paid"/>
  <bpmn:process id="await_payment" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>tns:f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="paid">
      <bpmn:incoming>tns:f1</bpmn:incoming><bpmn:outgoing>tns:f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="tns:m_paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="thank">
      <bpmn:incoming>tns:f2</bpmn:incoming><bpmn:outgoing>tns:f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>tns:f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="paid"/>
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="thank"/>
    <bpmn:sequenceFlow id="f3" sourceRef="thank" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_incoming_and_outgoing_flows_written_as_qnames_deploy_and_run(owner: Actor):
    """BPMN's schema types a flow node's incoming and outgoing entries as QNames, which
    schema-bound exports prefix like the other references; each was refused as "no sequence
    flow of the model"."""
    deployed = owner.upload(extra=[("payments.bpmn", SCHEMA_BOUND.encode())])
    assert deployed.status_code == 201, deployed.get_json()
    started = owner.start("await_payment", business_key="INV-7")
    assert [w["name"] for w in started["waiting"]] == ["invoice_paid"]
    sent = owner.post("/api/v1/messages", json={"name": "invoice_paid", "business_key": "INV-7"})
    assert sent.get_json()["delivered_to"] == [started["id"]]
    assert [t["name"] for t in owner.instance(started["id"])["ready_tasks"]] == ["thank"]
