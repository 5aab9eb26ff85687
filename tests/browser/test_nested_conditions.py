"""A Camunda Form field inside a group, hidden by a condition on its sibling, in Chromium: the
task page shows "Company" only while the contact's kind is "Business", as it does for a
top-level field, and completes without the hidden value."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from tests.conftest import PASSWORD
from tests.engine.test_camunda7_forms import c7
from tests.web.test_nested_hidden import CONTACT_FORM
from tests.web.workspace import bearer

pytestmark = pytest.mark.browser


def test_a_field_in_a_group_hides_and_shows_as_its_sibling_changes(page, client, db, make_user):
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
        "/api/v1/process-instances",
        headers=bearer(db, agent),
        json={"process_id": "c7_form_ref", "data": {}},
    ).get_json()
    [task] = started["ready_tasks"]

    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task['id']}")
    company = page.locator('[data-field="/contact/company"]')
    kind = '[data-field="/contact/kind"] select'
    assert company.is_hidden()  # no kind yet
    page.select_option(kind, "business")
    assert company.is_visible()
    page.fill('[data-field="/contact/company"] input', "typed before")
    page.select_option(kind, "person")
    assert company.is_hidden()
    page.click("button[type=submit].primary")  # "Company" is required, but hidden
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(
        f"/api/v1/process-instances/{started['id']}", headers=bearer(db, agent)
    ).get_json()
    assert done["status"] == "completed"
    assert done["data"]["contact"] == {"kind": "person"}
