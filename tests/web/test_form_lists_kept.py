"""What a list's rows on the task page keep when the task is completed: the read-only cells
of the rows shown (an item's ``id`` shown disabled was dropped from every item, since
disabled inputs are not sent and the rows replace the whole list), and a list whose rows
were all removed (stored as the schema's default, or null, instead of an empty list; a
required list with no ``minItems`` could not be left empty at all).

The form is sent as the browser sends it: every enabled input of the page's form outside the
rows removed and the new-row template (``submitted``)."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import lxml.html
from werkzeug.datastructures import MultiDict

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_io_mappings import C8, diagram
from tests.web.workspace import bearer

SCHEMA = {
    "type": "object",
    "required": ["contacts", "outcome"],
    "properties": {
        "outcome": {"type": "string", "title": "Outcome"},
        "contacts": {
            "type": "array",
            "title": "Contacts",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "title": "Id", "readOnly": True},
                    "name": {"type": "string", "title": "Name"},
                    "since": {"type": "string", "format": "date-time", "readOnly": True},
                },
            },
        },
        "tags": {"type": "array", "default": ["new"], "items": {"type": "string"}},
        "answers": {"type": "array", "items": {"type": "boolean", "title": "Yes"}},
    },
}

STARTING = {
    "contacts": [
        {"id": 7, "name": "王芳", "since": "2026-01-02T03:04:05Z"},
        {"id": 9, "name": "李雷"},
    ],
    "tags": ["vip", "north"],
    "answers": [True, False, True],
}


def start(client, db, make_user) -> tuple[str, str, dict[str, str]]:
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="kept.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "kept_lists",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_contacts" name="Contacts">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_contacts" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_contacts" targetRef="Event_end" />""",
    )
    files = [
        (BytesIO(bpmn), "kept_lists.bpmn"),
        (BytesIO(json.dumps(SCHEMA).encode()), "kept.schema.json"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    body = {"process_id": "kept_lists", "data": STARTING}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    assert sign_in(client, "li").status_code == 302
    return started["ready_tasks"][0]["id"], started["id"], headers


def submitted(page: str, removed: dict[str, list[int]], typed: dict[str, str]) -> MultiDict:
    """What the browser sends from ``page``'s task form once the agent removed the rows
    ``removed`` (list key → positions on the page) and typed ``typed``."""
    doc = lxml.html.fromstring(page)
    [form] = doc.xpath('//form[@id="task-form"]')
    for template in form.xpath(".//template"):
        template.drop_tree()
    for key, positions in removed.items():
        rows = form.xpath(f'.//fieldset[@data-field="{key}"]/div[@class="list-rows"]/div')
        for position in positions:
            rows[position].drop_tree()
    values = form.form_values()
    names = {name for name, _value in values}
    assert set(typed) <= names, f"no input {set(typed) - names}"
    return MultiDict([(name, typed.get(name, value)) for name, value in values])


def instance(client, instance_id: str, headers: dict[str, str]) -> dict[str, Any]:
    return client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()


def test_the_read_only_cells_of_the_rows_kept_stay_in_their_items(client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    page = client.get(f"/tasks/{task_id}").text
    # the agent renames the second contact and forgets the outcome: refused
    first = submitted(page, {}, {"field:/contacts/1/name": "李雷雷"})
    answer = client.post(f"/tasks/{task_id}", data=first)
    assert answer.status_code == 422
    # the page shown again keeps them; the agent removes the first contact and completes
    form = submitted(answer.text, {"contacts": [0]}, {"field:outcome": "reached"})
    done = client.post(f"/tasks/{task_id}", data=form)
    assert done.status_code == 302, done.text
    data = instance(client, instance_id, headers)["data"]
    assert data["contacts"] == [{"id": 9, "name": "李雷雷"}]

    # the first contact kept: its date-time read-only cell stays as stored, not re-typed
    task_id, instance_id, headers = start_again(client, headers)
    page = client.get(f"/tasks/{task_id}").text
    done = client.post(f"/tasks/{task_id}", data=submitted(page, {}, {"field:outcome": "reached"}))
    assert done.status_code == 302, done.text
    assert instance(client, instance_id, headers)["data"]["contacts"] == STARTING["contacts"]


def start_again(client, headers: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    body = {"process_id": "kept_lists", "data": STARTING}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    return started["ready_tasks"][0]["id"], started["id"], headers


def test_a_list_whose_rows_were_all_removed_is_stored_empty(client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    page = client.get(f"/tasks/{task_id}").text
    form = submitted(page, {"contacts": [0, 1], "tags": [0, 1]}, {"field:outcome": "reached"})
    done = client.post(f"/tasks/{task_id}", data=form)
    assert done.status_code == 302, done.text  # a required list without minItems may be empty
    data = instance(client, instance_id, headers)["data"]
    assert data["contacts"] == [] and data["tags"] == []  # not null, not the default back


def test_an_unticked_row_of_a_list_of_booleans_stays_false(client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    page = client.get(f"/tasks/{task_id}").text
    done = client.post(f"/tasks/{task_id}", data=submitted(page, {}, {"field:outcome": "reached"}))
    assert done.status_code == 302, done.text
    assert instance(client, instance_id, headers)["data"]["answers"] == [True, False, True]
