"""The read-only cells of a list's items through the API: an item's read-only ``id`` could be
changed by sending another value, since the items sent replace the list (the task page sends
them back as hidden inputs). Each item sent must carry the read-only values of an item the
task showed, or none (a new row)."""

from __future__ import annotations

from tests.web.test_form_lists_kept import STARTING, instance, start


def complete(client, task_id: str, headers: dict[str, str], data: dict) -> tuple[int, dict]:
    answer = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data})
    return answer.status_code, answer.get_json()


def test_an_items_read_only_id_cannot_be_changed(client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    forged = [{"id": 8, "name": "王芳"}, {"id": 9, "name": "李雷"}]
    status, body = complete(client, task_id, headers, {"outcome": "x", "contacts": forged})
    assert status == 422, body
    assert body["error"]["code"] == "invalid_form_data"
    assert [d["field"] for d in body["error"]["details"]] == ["contacts.0.id"]
    # nothing stored, the task still open
    assert instance(client, instance_id, headers)["data"]["contacts"] == STARTING["contacts"]

    # one item sent twice with its id: the second is no item the task showed
    twice = [{"id": 9, "name": "a"}, {"id": 9, "name": "b"}]
    status, body = complete(client, task_id, headers, {"outcome": "x", "contacts": twice})
    assert status == 422 and [d["field"] for d in body["error"]["details"]] == ["contacts.1.id"]

    # a read-only date changed on an item whose id is right
    changed = [{"id": 7, "name": "王芳", "since": "2020-01-01T00:00:00Z"}]
    status, body = complete(client, task_id, headers, {"outcome": "x", "contacts": changed})
    assert status == 422 and [d["field"] for d in body["error"]["details"]] == ["contacts.0.since"]


def test_items_kept_removed_reordered_or_added_complete(client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    contacts = [{"id": 9, "name": "李雷雷"}, {"name": "新"}, STARTING["contacts"][0]]
    status, body = complete(client, task_id, headers, {"outcome": "x", "contacts": contacts})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == contacts


def test_a_list_asking_for_absurdly_many_rows_is_refused_at_deploy(client, db, make_user):
    import json
    from io import BytesIO

    from tests.engine.test_io_mappings import C8, diagram
    from tests.web.workspace import bearer

    owner = bearer(db, make_user("process_owner", username="po", team=None))
    form = (
        "<spiffworkflow:properties><spiffworkflow:property "
        'name="formJsonSchemaFilename" value="rows.schema.json" /></spiffworkflow:properties>'
    )
    bpmn = diagram(
        C8,
        "many_rows",
        f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_rows" name="Rows">
      <bpmn:extensionElements>{form}</bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_rows" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_rows" targetRef="Event_end" />""",
    )
    item = {"type": "object", "properties": {"name": {"type": "string"}}}

    def deploy(low: int):
        schema = {
            "type": "object",
            "properties": {
                "group": {
                    "type": "object",
                    "properties": {
                        "rows": {"type": "array", "minItems": low, "items": item},
                    },
                }
            },
        }
        files = [
            (BytesIO(bpmn), "many_rows.bpmn"),
            (BytesIO(json.dumps(schema).encode()), "rows.schema.json"),
        ]
        return client.post(
            "/api/v1/process-models",
            headers=owner,
            data={"file": files},
            content_type="multipart/form-data",
        )

    refused = deploy(20_000)
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    [detail] = error["details"]
    assert (
        detail["element_id"] == "Activity_rows"
        and detail["line"]
        == bpmn.decode().count("\n", 0, bpmn.decode().index('id="Activity_rows"')) + 1
    )
    assert "group.rows" in detail["message"] and "20,000" in detail["message"]
    assert "1,000" in detail["message"]
    assert deploy(1_000).status_code in (200, 201)
