"""Hide conditions on the fields of a list's rows (a form-js dynamic list): the row's own
values are ``this`` (``this.kind``), as form-js reads them, other names the form's data. They
were not applied: a hidden required cell was asked for and a hidden cell's value kept."""

from __future__ import annotations

import json
import re
from io import BytesIO

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_camunda7_forms import c7
from tests.web.workspace import bearer

FORM = {
    "id": "call-result",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "outcome", "label": "Outcome"},
        {
            "type": "dynamiclist",
            "path": "contacts",
            "label": "Contacts",
            "components": [
                {
                    "type": "select",
                    "key": "kind",
                    "label": "Kind",
                    "values": [
                        {"label": "Person", "value": "person"},
                        {"label": "Business", "value": "business"},
                    ],
                },
                {
                    "type": "textfield",
                    "key": "company",
                    "label": "Company",
                    "validate": {"required": True},
                    "conditional": {"hide": '=this.kind != "business"'},
                },
                {
                    "type": "textfield",
                    "key": "reason",
                    "label": "Reason",
                    "conditional": {"hide": '=outcome != "lost"'},
                },
            ],
        },
    ],
}


def start(client, db, make_user) -> tuple[str, str, dict[str, str]]:
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(FORM).encode()), "call-result.form"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    headers = bearer(db, agent)
    body = {"process_id": "c7_form_ref"}
    started = client.post("/api/v1/process-instances", headers=headers, json=body).get_json()
    assert sign_in(client, "li").status_code == 302
    return started["ready_tasks"][0]["id"], started["id"], headers


def test_a_rows_hidden_cells_are_neither_asked_for_nor_kept(client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    contacts = [
        {"kind": "person", "company": "stale", "reason": "stale"},  # company hidden: dropped
        {"kind": "business"},  # company shown and required
    ]
    data = {"outcome": "won", "contacts": contacts}
    url = f"/api/v1/tasks/{task_id}/complete"
    answer = client.post(url, headers=headers, json={"data": data})
    assert answer.status_code == 422, answer.get_json()
    fields = [d["field"] for d in answer.get_json()["error"]["details"]]
    assert fields == ["contacts.1.company"]

    contacts[1]["company"] = "ACME"
    contacts[1]["reason"] = "stale"  # shown only when the outcome is "lost"
    answer = client.post(url, headers=headers, json={"data": data})
    assert answer.status_code == 200, answer.get_json()
    got = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert got["data"]["contacts"] == [{"kind": "person"}, {"kind": "business", "company": "ACME"}]


def test_a_rows_cells_carry_their_conditions_on_the_page(client, db, make_user):
    task_id, _instance_id, _headers = start(client, db, make_user)
    page = client.get(f"/tasks/{task_id}").text
    assert "task/form_conditions.js" in page
    template = page[page.index('<template class="list-template">') :]
    found = re.search(r'data-field="/contacts/__index__/company"([^>]*)>', template)
    assert found and "data-hide-if" in found.group(1), template[:2000]


def test_row_cells_hiding_each_other_are_refused_at_deploy(client, db, make_user):
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    cells = [
        {"type": "textfield", "key": "a", "conditional": {"hide": '=this.b = "x"'}},
        {"type": "textfield", "key": "b", "conditional": {"hide": '=this.a = "x"'}},
    ]
    form = {**FORM, "components": [{"type": "dynamiclist", "path": "rows", "components": cells}]}
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(form).encode()), "call-result.form"),
    ]
    refused = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422, refused.get_json()
    [detail] = refused.get_json()["error"]["details"]
    assert "'rows[].a', 'rows[].b'" in detail["message"], detail
