"""The read-only cells of a list's rows as the task page shows them and sends them back: a
cell's ``default`` shown for an item that has no value of it, a list shown from its default
where the instance holds null, and a cell hidden by a row condition. Each of these rows was
one the task showed, and the page could not be completed (the agent cannot change a
read-only cell) or lost the item's value; a value no item has stays refused."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_io_mappings import C8, diagram
from tests.web.test_form_lists_kept import instance, submitted
from tests.web.workspace import bearer

DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def start(client, db, make_user, schema: dict, data: dict) -> tuple[str, str, dict[str, str]]:
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="rows.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "row_cells",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_rows" name="Rows">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_rows" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_rows" targetRef="Event_end" />""",
    )
    files = [
        (BytesIO(bpmn), "row_cells.bpmn"),
        (BytesIO(json.dumps(schema).encode()), "rows.schema.json"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    body = {"process_id": "row_cells", "data": data}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    assert sign_in(client, "li").status_code == 302
    return started["ready_tasks"][0]["id"], started["id"], headers


def form_of(item: dict[str, Any], **contacts: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "outcome": {"type": "string"},
            "contacts": {"type": "array", "items": item, **contacts},
        },
    }


STATUS = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "status": {"type": "string", "readOnly": True, "default": "new"},
        "name": {"type": "string"},
    },
}


def complete(client, task_id: str, headers: dict[str, str], data: dict) -> tuple[int, dict]:
    answer = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data})
    return answer.status_code, answer.get_json()


def test_a_read_only_cells_default_shown_for_an_item_without_it_completes(client, db, make_user):
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(STATUS), {"contacts": [{"id": 7, "name": "王芳"}]}
    )
    page = client.get(f"/tasks/{task_id}").text
    form = submitted(page, {}, {"field:outcome": "reached"})
    assert json.loads(form["field:/contacts/0/status"]) == "new"  # the page shows the default
    done = client.post(f"/tasks/{task_id}", data=form)
    assert done.status_code == 302, done.text
    stored = instance(client, instance_id, headers)["data"]["contacts"]
    assert stored == [{"id": 7, "status": "new", "name": "王芳"}]

    # another value than the default, for an item without one, is still no item shown
    task_id, _instance_id, headers = restart(client, headers, {"contacts": [{"id": 7}]})
    forged = {"contacts": [{"id": 7, "status": "won", "name": "x"}]}
    status, body = complete(client, task_id, headers, forged)
    assert status == 422 and [d["field"] for d in body["error"]["details"]] == ["contacts.0.status"]


def test_a_row_the_page_adds_for_min_items_completes(client, db, make_user):
    # the instance holds no contact: the page shows the one row minItems asks for, with the
    # read-only cell's default, which the agent cannot change
    task_id, instance_id, headers = start(client, db, make_user, form_of(STATUS, minItems=1), {})
    page = client.get(f"/tasks/{task_id}").text
    form = submitted(page, {}, {"field:outcome": "reached", "field:/contacts/0/name": "李雷"})
    done = client.post(f"/tasks/{task_id}", data=form)
    assert done.status_code == 302, done.text
    stored = instance(client, instance_id, headers)["data"]["contacts"]
    assert stored == [{"status": "new", "name": "李雷"}]


def restart(client, headers: dict[str, str], data: dict) -> tuple[str, str, dict[str, str]]:
    body = {"process_id": "row_cells", "data": data}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    return started["ready_tasks"][0]["id"], started["id"], headers


ID_NAME = {
    "type": "object",
    "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
}


def test_a_list_shown_from_its_default_where_the_instance_holds_null_completes(
    client, db, make_user
):
    default = [{"id": 1, "name": "总部"}]
    schema = form_of(ID_NAME, default=default)
    task_id, instance_id, headers = start(client, db, make_user, schema, {"contacts": None})
    page = client.get(f"/tasks/{task_id}").text
    form = submitted(page, {}, {"field:outcome": "reached", "field:/contacts/0/name": "总部2"})
    done = client.post(f"/tasks/{task_id}", data=form)
    assert done.status_code == 302, done.text
    stored = instance(client, instance_id, headers)["data"]["contacts"]
    assert stored == [{"id": 1, "name": "总部2"}]

    # an id neither the instance nor the default has stays refused
    task_id, _instance_id, headers = restart(client, headers, {"contacts": None})
    status, body = complete(client, task_id, headers, {"contacts": [{"id": 2, "name": "x"}]})
    assert status == 422 and [d["field"] for d in body["error"]["details"]] == ["contacts.0.id"]


HIDDEN_ID = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["person", "business"]},
        "id": {
            "type": "integer",
            "readOnly": True,
            "x-hide-if": {"tests": [[["this", "kind"], "=", "person"]]},
        },
        "company": {
            "type": "string",
            "x-hide-if": {"tests": [[["this", "kind"], "!=", "business"]]},
        },
    },
}


def test_a_read_only_cell_hidden_by_its_row_keeps_the_items_value(client, db, make_user):
    contacts = [{"id": 7, "kind": "person"}, {"id": 9, "kind": "business", "company": "ACME"}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(HIDDEN_ID), {"contacts": contacts}
    )
    page = client.get(f"/tasks/{task_id}").text
    done = client.post(f"/tasks/{task_id}", data=submitted(page, {}, {"field:outcome": "x"}))
    assert done.status_code == 302, done.text
    assert instance(client, instance_id, headers)["data"]["contacts"] == contacts

    # hidden or not, a read-only cell sent must be that of an item shown
    task_id, _instance_id, headers = restart(client, headers, {"contacts": contacts})
    forged = [{"id": 8, "kind": "person"}]
    status, body = complete(client, task_id, headers, {"contacts": forged})
    assert status == 422 and [d["field"] for d in body["error"]["details"]] == ["contacts.0.id"]


def test_a_draft_07_form_whose_rows_hide_cells_still_refuses_a_forged_read_only_cell(
    client, db, make_user
):
    schema = {"$schema": DRAFT_07, **form_of(HIDDEN_ID)}
    contacts = [{"id": 9, "kind": "business", "company": "ACME"}]
    task_id, instance_id, headers = start(client, db, make_user, schema, {"contacts": contacts})
    # the second row hides its cells, so the first is checked against a schema per row
    forged = [{"id": 999, "kind": "business", "company": "ACME"}, {"kind": "person"}]
    status, body = complete(client, task_id, headers, {"contacts": forged})
    assert status == 422, body
    assert [d["field"] for d in body["error"]["details"]] == ["contacts.0.id"]
    assert instance(client, instance_id, headers)["data"]["contacts"] == contacts


def test_a_whole_number_stored_as_a_float_matches_the_same_number_sent(client, db, make_user):
    # a script or a decision stored 7.0; a client in JavaScript sends it back as 7
    item = {
        "type": "object",
        "properties": {"price": {"type": "number", "readOnly": True}, "name": {"type": "string"}},
    }
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(item), {"contacts": [{"price": 7.0, "name": "a"}]}
    )
    status, body = complete(client, task_id, headers, {"contacts": [{"price": 7, "name": "b"}]})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == [{"price": 7, "name": "b"}]

    # a true is no 1, nor a text "7" the number 7
    for forged in (True, "7", 7.5):
        task_id, _instance_id, headers = restart(client, headers, {"contacts": [{"price": 7.0}]})
        status, body = complete(client, task_id, headers, {"contacts": [{"price": forged}]})
        assert status == 422, (forged, body)
        assert "contacts.0.price" in [d["field"] for d in body["error"]["details"]]


def test_reordered_items_match_the_item_whose_read_only_cells_they_carry(client, db, make_user):
    # the first item has a read-only date, the second none: sent the other way round, the
    # row without a date is the second item, not the first (which the next row then needs)
    item = {
        "type": "object",
        "properties": {
            "source": {"type": "string", "readOnly": True},
            "since": {"type": "string", "readOnly": True},
            "name": {"type": "string"},
        },
    }
    contacts = [{"source": "import", "since": "2026-01-02", "name": "a"}, {"source": "import"}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(item), {"contacts": contacts}
    )
    sent = [{"source": "import", "name": "b"}, {"source": "import", "since": "2026-01-02"}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == sent


def test_a_required_read_only_cell_its_row_hides_is_not_asked_of_a_new_row(client, db, make_user):
    item = {**HIDDEN_ID, "required": ["id"]}
    contacts = [{"id": 9, "kind": "business", "company": "ACME"}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(item), {"contacts": contacts}
    )
    sent = [*contacts, {"kind": "person"}]  # a new person: its id hidden, none to give
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == sent


def test_a_typing_mistake_on_the_page_says_nothing_of_the_rows_read_only_cells(
    client, db, make_user
):
    schema = form_of(ID_NAME)
    schema["properties"]["calls"] = {"type": "integer"}
    contacts = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    task_id, instance_id, headers = start(client, db, make_user, schema, {"contacts": contacts})
    page = client.get(f"/tasks/{task_id}").text
    typo = submitted(page, {}, {"field:outcome": "x", "field:calls": "three"})
    answer = client.post(f"/tasks/{task_id}", data=typo)
    assert answer.status_code == 422
    assert answer.text.count('class="field-error"') == 1  # the number typed, no other
    assert "is read-only" not in answer.text
    # corrected, the task completes with the rows as they were
    fixed = submitted(answer.text, {}, {"field:calls": "3"})
    assert client.post(f"/tasks/{task_id}", data=fixed).status_code == 302
    assert instance(client, instance_id, headers)["data"]["contacts"] == contacts
