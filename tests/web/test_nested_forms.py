"""A Camunda Form with a group inside a group and a dynamic list inside a group, on the task
page: fieldsets of their own inputs (not one JSON box), the submission read back into the
nested object, and the schema's messages beside the nested input they are about."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_camunda7_forms import c7
from tests.engine.test_io_mappings import C8, diagram
from tests.web.test_pages import csrf_token
from tests.web.workspace import bearer

NESTED = {
    "id": "call-result",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "summary", "label": "Summary"},
        {
            "type": "group",
            "label": "Contact",
            "path": "contact",
            "components": [
                {
                    "type": "textfield",
                    "key": "name",
                    "label": "Name",
                    "validate": {"required": True},
                },
                {
                    "type": "group",
                    "label": "Address",
                    "path": "address",
                    "components": [
                        {
                            "type": "textfield",
                            "key": "city",
                            "label": "City",
                            "validate": {"required": True},
                        },
                        {
                            "type": "number",
                            "key": "floor",
                            "label": "Floor",
                            "validate": {"min": 1},
                        },
                    ],
                },
                {
                    "type": "dynamiclist",
                    "label": "Phones",
                    "path": "phones",
                    "components": [{"type": "textfield", "key": "number", "label": "Number"}],
                },
            ],
        },
    ],
}


def deploy_and_start(client, db, make_user) -> tuple[str, str, dict[str, str]]:
    """The task's id, the instance's id and the agent's API headers."""
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(NESTED).encode()), "call-result.form"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    started = client.post(
        "/api/v1/process-instances", headers=headers, json={"process_id": "c7_form_ref"}
    ).get_json()
    return started["ready_tasks"][0]["id"], started["id"], headers


@pytest.fixture
def task(client, db, make_user) -> tuple[str, str, dict[str, str]]:
    found = deploy_and_start(client, db, make_user)
    assert sign_in(client, "li").status_code == 302
    return found


def field_html(page: str, key: str) -> str:
    found = re.search(
        rf'<div class="field[^"]*" data-field="{key}">(.*?)\n      </div>', page, re.S
    )
    assert found, f"no field {key}"
    return found.group(1)


def list_html(page: str, key: str) -> str:
    found = re.search(
        rf'<fieldset class="field field-list[^"]*" id="[^"]*" data-field="{key}"(.*?)'
        r"\n      </fieldset>",
        page,
        re.S,
    )
    assert found, f"no list {key}"
    return found.group(1)


def post(client, task_id: str, data: dict[str, str]):
    page = client.get(f"/tasks/{task_id}")
    return client.post(f"/tasks/{task_id}", data={**data, "csrf_token": csrf_token(page.text)})


def test_nested_groups_render_as_fieldsets_of_their_own_inputs(client, task):
    page = client.get(f"/tasks/{task[0]}").text
    assert 'name="field:summary"' in field_html(page, "summary")  # top level as before
    assert '<fieldset class="field field-group" id="field-1" data-field="contact">' in page
    assert '<fieldset class="field field-group" id="field-1-1" data-field="/contact/address">' in (
        page
    )
    city = field_html(page, "/contact/address/city")
    assert 'name="field:/contact/address/city"' in city and "required" in city
    assert 'type="number"' in field_html(page, "/contact/address/floor")
    phones = list_html(page, "/contact/phones")  # rows, not a JSON box
    assert 'name="field:/contact/phones/__index__/number"' in phones
    assert 'name="field:/contact/phones"' not in page
    assert 'name="field:contact"' not in page  # no JSON box for the group


def test_a_nested_submission_completes_with_the_nested_object(client, task):
    task_id, instance_id, headers = task
    answer = post(
        client,
        task_id,
        {
            "field:summary": "ok",
            "field:/contact/name": "王芳",
            "field:/contact/address/city": "上海",
            "field:/contact/address/floor": "12",
            "field:/contact/phones": '[{"number": "13800138000"}]',
        },
    )
    assert answer.status_code == 302, answer.text
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert done["status"] == "completed"
    assert done["data"] == {
        "summary": "ok",
        "contact": {
            "name": "王芳",
            "address": {"city": "上海", "floor": 12},
            "phones": [{"number": "13800138000"}],
        },
    }


def test_nested_errors_show_beside_their_inputs_and_keep_what_was_typed(client, task):
    task_id, instance_id, headers = task
    answer = post(
        client,
        task_id,
        {"field:/contact/name": "王芳", "field:/contact/address/floor": "0"},
    )
    assert answer.status_code == 422
    page = answer.text
    city = field_html(page, "/contact/address/city")
    assert 'class="field-error"' in city
    floor = field_html(page, "/contact/address/floor")
    assert 'class="field-error"' in floor and 'value="0"' in floor
    assert 'class="field-error"' not in field_html(page, "/contact/name")
    assert 'value="王芳"' in field_html(page, "/contact/name")
    waiting = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert waiting["status"] != "completed"


def test_a_value_that_cannot_be_typed_is_said_on_its_nested_input(client, task):
    answer = post(
        client,
        task[0],
        {
            "field:/contact/name": "王芳",
            "field:/contact/address/city": "上海",
            "field:/contact/address/floor": "high",
            "field:/contact/phones": "[not json",
        },
    )
    assert answer.status_code == 422
    assert 'class="field-error"' in field_html(answer.text, "/contact/address/floor")
    # a list sent as JSON text (as the page sent it before it had rows) is still read
    assert 'class="field-error"' in list_html(answer.text, "/contact/phones")


DEAL_SCHEMA = {
    "type": "object",
    "required": ["deal"],
    "properties": {
        "deal": {
            "type": "object",
            "title": "Deal",
            "required": ["billing"],
            "properties": {
                "title": {"type": "string"},
                "billing": {
                    "type": "object",
                    "title": "Billing",
                    "required": ["city"],
                    "properties": {
                        "city": {"type": "string", "title": "City"},
                        "seats": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
        "followup": {  # optional: left out when nothing in it is given
            "type": "object",
            "required": ["when"],
            "properties": {
                "when": {"type": "string", "format": "date"},
                "urgent": {"type": "boolean"},
            },
        },
    },
}


def test_a_json_schema_object_inside_an_object_renders_and_submits_nested(client, db, make_user):
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="deal.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "json_schema_nested",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_deal" name="Deal">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_deal" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_deal" targetRef="Event_end" />""",
    )
    files = [
        (BytesIO(bpmn), "json_schema_nested.bpmn"),
        (BytesIO(json.dumps(DEAL_SCHEMA).encode()), "deal.schema.json"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    started = client.post(
        "/api/v1/process-instances", headers=headers, json={"process_id": "json_schema_nested"}
    ).get_json()
    task_id = started["ready_tasks"][0]["id"]
    assert sign_in(client, "li").status_code == 302
    page = client.get(f"/tasks/{task_id}").text
    assert 'data-field="/deal/billing"' in page and 'name="field:deal"' not in page
    answer = post(
        client, task_id, {"field:/deal/title": "年度合同", "field:/deal/billing/seats": "0"}
    )
    assert answer.status_code == 422
    assert 'class="field-error"' in field_html(answer.text, "/deal/billing/city")
    assert 'class="field-error"' in field_html(answer.text, "/deal/billing/seats")
    answer = post(
        client,
        task_id,
        {"field:/deal/billing/city": "杭州", "field:/deal/billing/seats": "5"},
    )
    assert answer.status_code == 302, answer.text
    done = client.get(f"/api/v1/process-instances/{started['id']}", headers=headers).get_json()
    # the optional follow-up was left out (every field of a form is in the data: null)
    assert done["data"] == {"deal": {"billing": {"city": "杭州", "seats": 5}}, "followup": None}


def test_an_item_of_a_nested_list_refused_by_the_schema_is_said_beside_its_row(client, task):
    """A list inside a group sent as JSON text (as the page sent it before it had rows): what
    the schema says of one of its items is shown beside that item's row, what was typed kept."""
    answer = post(
        client,
        task[0],
        {
            "field:/contact/name": "王芳",
            "field:/contact/address/city": "上海",
            "field:/contact/phones": '[{"number": 13800138000}]',
        },
    )
    assert answer.status_code == 422
    number = field_html(answer.text, "/contact/phones/0/number")
    assert 'class="field-error"' in number and 'value="13800138000"' in number
