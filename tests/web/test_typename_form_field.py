"""A form field named ``typename``, at top level and in a group, completed through the task page:
SpiffWorkflow's serializer read the task's data (or the group's object) holding that key as a
stored type, so the next step failed (500) once the instance was read from the database. The
values are kept as they were typed."""

from __future__ import annotations

import json
from io import BytesIO

from tests.conftest import PASSWORD, sign_in
from tests.web.test_pages import csrf_token
from tests.web.workspace import bearer

FORM = {
    "id": "typed-names",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "typename", "label": "Type name"},
        {"type": "textfield", "key": "value", "label": "Value"},
        {
            "type": "group",
            "label": "Event",
            "path": "event",
            "components": [{"type": "textfield", "key": "typename", "label": "Type name"}],
        },
    ],
}

TWO_TASKS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    b'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" '
    b'targetNamespace="http://bpmn.io/schema/bpmn">\n'
    b'  <bpmn:process id="typed_names" isExecutable="true">\n'
    b'    <bpmn:startEvent id="start" />\n'
    b'    <bpmn:userTask id="fill" camunda:formRef="typed-names" camunda:assignee="li" />\n'
    b'    <bpmn:userTask id="next" camunda:assignee="li" />\n'
    b'    <bpmn:endEvent id="end" />\n'
    b'    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill" />\n'
    b'    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="next" />\n'
    b'    <bpmn:sequenceFlow id="f3" sourceRef="next" targetRef="end" />\n'
    b"  </bpmn:process>\n</bpmn:definitions>\n"
)


def test_form_fields_named_typename_are_kept_as_typed(client, db, make_user, runtime):
    agent = bearer(db, make_user("agent", username="li", team="East", password=PASSWORD))
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(TWO_TASKS), "typed_names.bpmn"),
        (BytesIO(json.dumps(FORM).encode()), "typed-names.form"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    started = client.post(
        "/api/v1/process-instances", headers=owner, json={"process_id": "typed_names"}
    ).get_json()
    task_id = started["ready_tasks"][0]["id"]
    assert sign_in(client, "li").status_code == 302
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    answer = client.post(
        f"/tasks/{task_id}",
        data={
            "field:typename": "datetime",
            "field:value": "2026-05-04T09:00:00",
            "field:/event/typename": "BpmnEvent",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert answer.status_code == 302, answer.text

    runtime.engine.kept.clear()  # read back from the database, as another worker would
    url = f"/api/v1/process-instances/{started['id']}"
    instance = client.get(url, headers=owner)
    assert instance.status_code == 200, instance.get_json()
    [next_task] = instance.get_json()["ready_tasks"]
    runtime.engine.kept.clear()
    done = client.post(f"/api/v1/tasks/{next_task['id']}/complete", headers=agent, json={})
    assert done.status_code == 200, done.get_json()
    data = done.get_json()["data"]
    assert done.get_json()["status"] == "completed"
    assert (data["typename"], data["value"]) == ("datetime", "2026-05-04T09:00:00")
    assert data["event"] == {"typename": "BpmnEvent"}
