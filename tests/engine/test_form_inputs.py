"""What a task's form offers and takes: fields start with the instance's values of their
names (the API's ``values``, the task page's inputs), and formats such as ``date-time`` are
checked when the task is completed."""

from __future__ import annotations

import json
import re

from crm.users import create_token
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import Actor, only
from tests.engine.test_diagram_forms import CAMUNDA

SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def form_process(process_id: str, form: dict, tasks: int = 1) -> list[tuple[str, bytes]]:
    """A process of ``tasks`` user tasks in a row whose form is ``form`` (a JSON-Schema file)."""
    steps = "".join(
        f"""
    <bpmn:userTask id="ask{n}" name="Ask {n}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{process_id}.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f{n}" sourceRef="{f"ask{n - 1}" if n else "start"}"
      targetRef="ask{n}"/>"""
        for n in range(tasks)
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://example.com/forms">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>{steps}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f_end" sourceRef="ask{tasks - 1}" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return [(f"{process_id}.bpmn", xml.encode()), (f"{process_id}.json", json.dumps(form).encode())]


def test_a_form_starts_with_the_instances_values_of_its_fields(client, db, make_user, owner):
    user = make_user("agent", username="qian", password=PASSWORD)
    with db() as session:
        token = create_token(session, user, name="test")
    qian = Actor(client, user, {"Authorization": f"Bearer {token}"})
    owner.deploy(CAMUNDA)
    data = {
        "customer": "上海明远贸易",
        "notes": "上次说下周再打",
        "minutes": 12,
        "vip": True,
        "callback": None,  # left empty before: the default shows
        "credit_limit": 50000,  # no field of the form: never offered
    }
    started = qian.start("c7_followup", data)
    offered = {"customer": "上海明远贸易", "notes": "上次说下周再打", "minutes": 12, "vip": True}
    assert started["ready_tasks"][0]["values"] == offered
    task = only(qian.tasks("mine=1&values=1"), process_instance_id=started["id"])
    assert task["values"] == offered
    assert qian.post(f"/api/v1/tasks/{task['id']}/unclaim").get_json()["values"] == offered

    assert sign_in(client, "qian").status_code == 302
    page = client.get(f"/tasks/{task['id']}").text
    notes = re.search(r'data-field="notes">(.*?)</div>', page, re.S)
    assert notes and 'value="上次说下周再打"' in notes.group(1)
    minutes = re.search(r'data-field="minutes">(.*?)</div>', page, re.S)
    assert minutes and 'value="12"' in minutes.group(1)  # not the default 5
    vip = re.search(r'data-field="vip">(.*?)</div>', page, re.S)
    assert vip and "checked" in vip.group(1)
    assert 'value="2026-06-01"' in page  # the callback's default
    assert "50000" not in page


def test_a_write_only_field_is_never_offered_back(owner: Actor):
    form = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "writeOnly": True},
            "reason": {"type": "string"},
        },
    }
    assert owner.upload(extra=form_process("ask_code", form)).status_code == 201
    started = owner.start("ask_code", {"code": "4711", "reason": "verify"})
    assert started["ready_tasks"][0]["values"] == {"reason": "verify"}


def test_a_persons_answer_is_not_offered_to_the_next_form_that_asks(owner: Actor):
    """A second approval starts without the first approver's decision; what the instance
    was started with is still offered, and a read-only field still shows its value."""
    form = {
        "type": "object",
        "properties": {
            "deal": {"type": "string", "readOnly": True},
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "amount": {"type": "number"},
        },
    }
    assert owner.upload(extra=form_process("two_approvals", form, tasks=2)).status_code == 201
    started = owner.start("two_approvals", {"deal": "D-7", "decision": "approve"})
    first = started["ready_tasks"][0]
    assert first["values"] == {"deal": "D-7", "decision": "approve"}  # the starter's data
    done = owner.complete_ok(first["id"], {"decision": "approve", "amount": 900})
    (second,) = done["ready_tasks"]
    assert second["values"] == {"deal": "D-7"}
    assert only(owner.tasks("all=1&values=1"), id=second["id"])["values"] == {"deal": "D-7"}
    assert "values" not in only(owner.tasks("all=1"), id=second["id"])  # work items alone


def test_a_date_time_field_takes_a_date_and_time_only(owner: Actor):
    """``"format": "date-time"`` is checked at completion: RFC 3339, or a local date and time
    as a browser's datetime-local input sends it; anything else is a 422 on the field."""
    form = {
        "type": "object",
        "properties": {
            "visit_at": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
        },
    }
    assert owner.upload(extra=form_process("visit", form)).status_code == 201
    for wrong in ("tomorrow", "2026-12-05 10:30", "2026-13-05T10:30:00+08:00", "2026-12-05"):
        task = owner.start("visit")["ready_tasks"][0]
        response = owner.complete(task["id"], {"visit_at": wrong})
        assert response.status_code == 422, (wrong, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "invalid_form_data"
        assert [d["field"] for d in error["details"]] == ["visit_at"], wrong
    refused = owner.complete(task["id"], {"visit_at": "2026-12-05T10:30", "email": "nobody"})
    assert [d["field"] for d in refused.get_json()["error"]["details"]] == ["email"]
    for right in ("2026-12-05T10:30:00+08:00", "2026-12-05T02:30:00Z", "2026-12-05T10:30"):
        task = owner.start("visit")["ready_tasks"][0]
        done = owner.complete_ok(task["id"], {"visit_at": right})
        assert done["data"]["visit_at"] == right


def two_forms(process_id: str, first: dict, second: dict) -> list[tuple[str, bytes]]:
    """A process of two user tasks in a row, ``first`` and ``second`` their forms."""

    def task(n: int) -> str:
        return f"""
    <bpmn:userTask id="ask{n}" name="Ask {n}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{process_id}_{n}.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""

    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://example.com/forms">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>{task(0)}{task(1)}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="ask0"/>
    <bpmn:sequenceFlow id="f1" sourceRef="ask0" targetRef="ask1"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ask1" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return [
        (f"{process_id}.bpmn", xml.encode()),
        (f"{process_id}_0.json", json.dumps(first).encode()),
        (f"{process_id}_1.json", json.dumps(second).encode()),
    ]


def test_a_field_an_earlier_form_only_showed_is_still_offered(owner: Actor):
    """A read-only field is shown, never answered (completing its task does not take it): a
    later form that lets someone correct it starts with the instance's value. Before, it
    started empty, as if the earlier task had answered it, and a completion that left it so
    wrote None over the customer's name."""
    review = {
        "type": "object",
        "properties": {
            "customer_name": {"type": "string", "readOnly": True},
            "name_wrong": {"type": "boolean"},
        },
    }
    correct = {"type": "object", "properties": {"customer_name": {"type": "string"}}}
    assert owner.upload(extra=two_forms("name_check", review, correct)).status_code == 201
    started = owner.start("name_check", {"customer_name": "上海明远贸易"})
    first = started["ready_tasks"][0]
    assert first["values"] == {"customer_name": "上海明远贸易"}
    (second,) = owner.complete_ok(first["id"], {"name_wrong": True})["ready_tasks"]
    assert second["values"] == {"customer_name": "上海明远贸易"}
    assert only(owner.tasks("all=1&values=1"), id=second["id"])["values"] == second["values"]
