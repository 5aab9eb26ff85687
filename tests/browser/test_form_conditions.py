"""A Camunda Form field hidden by a condition on another field, in Chromium: the task page
shows "Why lost" only once the agent picks "Lost", and completes without it otherwise."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from tests.conftest import PASSWORD
from tests.engine.test_camunda7_forms import LOST_REASON, c7
from tests.web.workspace import bearer

pytestmark = pytest.mark.browser


def test_a_hidden_field_shows_when_its_condition_stops_holding(page, client, db, make_user):
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(LOST_REASON).encode()), "call-result.form"),
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
    reason = page.locator('[data-field="lost_reason"]')
    budget = page.locator('[data-field="budget"]')
    assert reason.is_hidden() and budget.is_hidden()  # no outcome yet
    page.select_option('[data-field="outcome"] select', "interested")
    assert reason.is_hidden() and budget.is_visible()
    page.select_option('[data-field="outcome"] select', "lost")
    assert reason.is_visible() and budget.is_hidden()
    page.select_option('[data-field="outcome"] select', "interested")
    page.fill('[data-field="budget"] input', "5000")
    page.click("button[type=submit].primary")  # "Why lost" is required, but hidden
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(
        f"/api/v1/process-instances/{started['id']}", headers=bearer(db, agent)
    ).get_json()
    assert done["status"] == "completed"
    assert done["data"] == {"outcome": "interested", "budget": 5000}
