"""Nested form groups on the task page and through the API, attacked.

Before: completing a task whose group (``contact``) shows a read-only field replaced the
instance's whole object with the fields typed, so the read-only ``contact.id`` (and every key
the form does not show) was lost; the API took a new ``contact.id`` although the task only
shows it. A top-level field named ``/contact/name`` had the same input name as the nested
field ``contact.name``: what was typed in one was saved in both.
"""

from __future__ import annotations

import json
from io import BytesIO

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_camunda7_forms import c7
from tests.engine.test_io_mappings import C8, diagram
from tests.web.test_nested_forms import post
from tests.web.workspace import bearer

CONTACT = {
    "id": "call-result",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "summary", "label": "Summary"},
        {
            "type": "group",
            "label": "Contact",
            "path": "contact",
            "components": [
                {"type": "textfield", "key": "id", "label": "Customer id", "readonly": True},
                {"type": "textfield", "key": "name", "label": "Name"},
                {"type": "textfield", "key": "phone", "label": "Phone"},
            ],
        },
    ],
}
BEFORE = {"contact": {"id": "C-1", "name": "王", "phone": "138", "crm_ref": 77}}


def deploy(client, owner: dict[str, str], files: list[tuple[BytesIO, str]]) -> None:
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()


def started(client, headers: dict[str, str], process_id: str, data: dict) -> tuple[str, int]:
    body = {"process_id": process_id, "data": data}
    instance = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    return instance["ready_tasks"][0]["id"], instance["id"]


def test_a_group_keeps_its_read_only_field_and_the_keys_the_form_does_not_show(
    client, db, make_user
):
    agent = bearer(db, make_user("agent", username="li", team="East", password=PASSWORD))
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = json.dumps(CONTACT).encode()
    bpmn = c7('camunda:formRef="call-result" camunda:assignee="li"')
    deploy(
        client, owner, [(BytesIO(bpmn), "c7_form_ref.bpmn"), (BytesIO(form), "call-result.form")]
    )
    task_id, instance_id = started(client, agent, "c7_form_ref", BEFORE)
    assert sign_in(client, "li").status_code == 302
    # the page: a new name, the phone cleared
    answer = post(client, task_id, {"field:/contact/name": "王五", "field:/contact/phone": ""})
    assert answer.status_code == 302, answer.text
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=agent).get_json()
    assert done["data"]["contact"] == {"id": "C-1", "name": "王五", "crm_ref": 77}
    # the API: the read-only field inside the group is refused, as a top-level one is
    task_id, instance_id = started(client, agent, "c7_form_ref", BEFORE)
    refused = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=agent,
        json={"data": {"contact": {"id": "C-9", "name": "n"}}},
    )
    assert refused.status_code == 422, refused.get_json()
    (detail,) = refused.get_json()["error"]["details"]
    assert (detail["field"], detail["validator"]) == ("contact.id", "readOnly")
    unchanged = client.get(f"/api/v1/process-instances/{instance_id}", headers=agent).get_json()
    assert unchanged["data"]["contact"] == BEFORE["contact"]


SLASHED = {
    "type": "object",
    "properties": {
        "contact": {"type": "object", "properties": {"name": {"type": "string"}}},
        "/contact/name": {"type": "string", "title": "Imported as"},
    },
}


def test_a_top_level_field_named_like_a_nested_one_is_its_own_input(client, db, make_user):
    user = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="slashed.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "slashed",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_name" name="Name">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_name" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_name" targetRef="Event_end" />""",
    )
    schema = json.dumps(SLASHED).encode()
    deploy(
        client, owner, [(BytesIO(bpmn), "slashed.bpmn"), (BytesIO(schema), "slashed.schema.json")]
    )
    agent = bearer(db, user)
    task_id, instance_id = started(client, agent, "slashed", {})
    assert sign_in(client, "li").status_code == 302
    page = client.get(f"/tasks/{task_id}").text
    assert page.count('name="field:/contact/name"') == 1
    answer = post(
        client, task_id, {"field:/contact/name": "王五", "field:/~1contact~1name": "Wang"}
    )
    assert answer.status_code == 302, answer.text
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=agent).get_json()
    assert done["data"] == {"contact": {"name": "王五"}, "/contact/name": "Wang"}
