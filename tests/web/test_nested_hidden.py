"""A Camunda Form field inside a group with a hide condition: the task page marks it with its
condition and loads the script that applies it, as for a top-level field (it was shown
always, its condition left to the server)."""

from __future__ import annotations

import json
import re
from io import BytesIO

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_camunda7_forms import c7
from tests.web.workspace import bearer

CONTACT_FORM = {
    "id": "call-result",
    "type": "default",
    "components": [
        {
            "type": "group",
            "label": "Contact",
            "path": "contact",
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
                    "conditional": {"hide": '=contact.kind != "business"'},
                },
            ],
        },
    ],
}


def test_a_nested_field_carries_its_condition_and_the_page_applies_it(client, db, make_user):
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(CONTACT_FORM).encode()), "call-result.form"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    started = client.post(
        "/api/v1/process-instances", headers=bearer(db, agent), json={"process_id": "c7_form_ref"}
    ).get_json()
    task_id = started["ready_tasks"][0]["id"]
    assert sign_in(client, "li").status_code == 302
    page = client.get(f"/tasks/{task_id}").text
    found = re.search(r'<div class="field[^"]*" data-field="/contact/company"([^>]*)>', page)
    assert found, page
    assert 'data-hide-if="{&#34;any&#34;: false' in found.group(1)
    assert "task/form_conditions.js" in page
