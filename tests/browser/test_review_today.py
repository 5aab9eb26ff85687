"""Review of the day's merged work, in Chromium: a field hidden by a condition on a field that
is hidden itself."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from tests.conftest import PASSWORD
from tests.engine.test_camunda7_forms import c7
from tests.engine.test_review_today import CHAINED
from tests.web.workspace import bearer

pytestmark = pytest.mark.browser


def test_a_stale_value_of_a_hidden_field_hides_nothing(page, client, db, make_user):
    """The agent picks "Lost", types "price" (``next_step`` hides), then picks "Won": "Why
    lost" hides and its "price" is not submitted, so "Next step" shows and is asked for."""
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(CHAINED).encode()), "call-result.form"),
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
    next_step = page.locator('[data-field="next_step"]')
    page.select_option('[data-field="outcome"] select', "lost")
    page.fill('[data-field="lost_reason"] input', "price")
    assert next_step.is_hidden()
    page.select_option('[data-field="outcome"] select', "won")
    assert next_step.is_visible()  # was hidden by the hidden "price"
    page.fill('[data-field="next_step"] input', "send the contract")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(
        f"/api/v1/process-instances/{started['id']}", headers=bearer(db, agent)
    ).get_json()
    assert done["data"] == {"outcome": "won", "next_step": "send the contract"}
