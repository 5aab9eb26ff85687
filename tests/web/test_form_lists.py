"""Lists on the task page: a JSON-Schema array of objects or of scalars (a form-js dynamic
list), at top level or inside a group, is shown as rows of inputs with "Add row" / "Remove"
(it was one JSON text box); the rows are read back into the list, typed as other fields, and
what the schema says of an item is shown beside that item's row."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_io_mappings import C8, diagram
from tests.web.test_nested_forms import field_html, list_html
from tests.web.test_pages import csrf_token
from tests.web.workspace import bearer

SCHEMA = {
    "type": "object",
    "required": ["contacts"],
    "properties": {
        "contacts": {
            "type": "array",
            "title": "Contacts / 联系人",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "title": "Name"},
                    "phone": {"type": "string", "pattern": "^[0-9]{11}$"},
                    "calls": {"type": "integer", "minimum": 0},
                    "primary": {"type": "boolean"},
                    "notes": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "account": {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
            },
        },
    },
}

STARTING = {
    "contacts": [{"name": "王芳", "phone": "13800138000", "calls": 2, "primary": True}],
    "account": {"tags": ["vip", "north"]},
}


def start(client, db, make_user, data=None) -> tuple[str, str, dict[str, str]]:
    """The task's id, the instance's id and the agent's API headers; the agent signed in."""
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="contacts.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "contact_lists",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_contacts" name="Contacts">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_contacts" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_contacts" targetRef="Event_end" />""",
    )
    files = [
        (BytesIO(bpmn), "contact_lists.bpmn"),
        (BytesIO(json.dumps(SCHEMA).encode()), "contacts.schema.json"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    body = {"process_id": "contact_lists", **({"data": data} if data else {})}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    assert sign_in(client, "li").status_code == 302
    return started["ready_tasks"][0]["id"], started["id"], headers


@pytest.fixture
def task(client, db, make_user) -> tuple[str, str, dict[str, str]]:
    return start(client, db, make_user)


def post(client, task_id: str, data: dict[str, object]):
    page = client.get(f"/tasks/{task_id}")
    return client.post(f"/tasks/{task_id}", data={**data, "csrf_token": csrf_token(page.text)})


def row_indexes(page: str, key: str) -> list[str]:
    return re.findall(rf'name="row:{re.escape(key)}" value="([^"]*)"', page)


def test_lists_render_as_rows_filled_from_the_task_data(client, db, make_user):
    task_id, _instance, _headers = start(client, db, make_user, STARTING)
    page = client.get(f"/tasks/{task_id}").text
    assert 'name="field:contacts"' not in page and 'name="field:/account/tags"' not in page
    contacts = list_html(page, "contacts")
    assert 'data-min-items="1" data-max-items="3"' in contacts
    assert row_indexes(page, "contacts") == ["0", "__index__"]  # one row, and the template
    assert 'value="王芳"' in field_html(page, "/contacts/0/name")
    calls = field_html(page, "/contacts/0/calls")
    assert 'type="number"' in calls and 'value="2"' in calls
    assert "checked" in field_html(page, "/contacts/0/primary")
    notes = field_html(page, "/contacts/0/notes")  # a list inside a row stays a JSON box
    assert "<textarea" in notes and 'name="field:/contacts/0/notes"' in notes
    # at minItems the row cannot be removed; a row can be added
    assert re.search(r'class="button small ghost list-remove" disabled>', contacts)
    assert re.search(r'class="button small list-add">', contacts)
    tags = list_html(page, "/account/tags")  # scalars inside a group: one input a row
    assert row_indexes(page, "/account/tags") == ["0", "1", "__index__"]
    assert 'value="vip"' in field_html(page, "/account/tags/0")
    assert 'value="north"' in field_html(page, "/account/tags/1")
    assert re.search(r'class="button small list-add" disabled>', tags)  # at maxItems
    assert "/static/task/form_lists.js" in page


def test_rows_posted_are_stored_as_the_list_typed(client, task):
    task_id, instance_id, headers = task
    answer = post(
        client,
        task_id,
        {
            # rows in page order, whatever their indexes; row 5 was added and left blank
            "row:contacts": ["7", "0", "5"],
            "field:/contacts/0/name": "李雷",
            "field:/contacts/0/calls": "4",
            "field:/contacts/7/name": "王芳",
            "field:/contacts/7/phone": "13800138000",
            "field:/contacts/7/primary": "1",
            "field:/contacts/7/notes": '["morning"]',
            "field:/contacts/5/name": "",
            "row:/account/tags": ["1", "2"],
            "field:/account/tags/1": "vip",
            "field:/account/tags/2": "南方",
        },
    )
    assert answer.status_code == 302, answer.text
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert done["status"] == "completed"
    assert done["data"]["contacts"] == [
        {"name": "王芳", "phone": "13800138000", "primary": True, "notes": ["morning"]},
        {"name": "李雷", "calls": 4, "primary": False},
    ]
    assert done["data"]["account"] == {"tags": ["vip", "南方"]}


def test_an_item_refused_is_said_beside_its_row(client, task):
    task_id, instance_id, headers = task
    answer = post(
        client,
        task_id,
        {
            "row:contacts": ["3", "8"],
            "field:/contacts/3/phone": "13800138000",
            "field:/contacts/8/name": "王芳",
            "field:/contacts/8/phone": "12ab",
            "field:/contacts/8/calls": "many",
        },
    )
    assert answer.status_code == 422
    page = answer.text
    assert row_indexes(page, "contacts") == ["0", "1", "__index__"]  # renumbered as the data
    name = field_html(page, "/contacts/0/name")  # the first row has no name
    assert 'class="field-error"' in name
    assert 'value="13800138000"' in field_html(page, "/contacts/0/phone")
    phone = field_html(page, "/contacts/1/phone")
    assert 'class="field-error"' in phone and 'value="12ab"' in phone
    calls = field_html(page, "/contacts/1/calls")
    assert 'class="field-error"' in calls and 'value="many"' in calls
    assert 'class="field-error"' not in field_html(page, "/contacts/1/name")
    assert (
        'class="field-error"' not in list_html(page, "contacts").split('<div class="list-rows">')[0]
    )
    waiting = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert waiting["status"] != "completed"


def test_the_list_limits_are_said_beside_the_list(client, task):
    task_id, _instance, _headers = task
    rows = {f"field:/contacts/{i}/name": f"客户{i}" for i in range(4)}
    too_many = post(client, task_id, {"row:contacts": ["0", "1", "2", "3"], **rows})
    assert too_many.status_code == 422
    contacts = list_html(too_many.text, "contacts")
    assert "3" in re.search(r'class="field-error"[^>]*>([^<]*)<', contacts).group(1)
    assert re.search(r'class="button small list-add" disabled>', contacts)
    # every row removed (or left blank): the required list is sent empty, and refused
    none = post(client, task_id, {"row:contacts": "0", "field:/contacts/0/name": " "})
    assert none.status_code == 422
    contacts = list_html(none.text, "contacts")
    assert "1" in re.search(r'class="field-error"[^>]*>([^<]*)<', contacts).group(1)
    assert row_indexes(none.text, "contacts") == ["0", "__index__"]  # minItems rows shown
