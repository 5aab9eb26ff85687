"""Review of the day's merged work, in Chromium: a field hidden by a condition on a field that
is hidden itself; fields hidden by a read-only field's value and by a variable no field shows."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest

from tests.conftest import PASSWORD
from tests.engine.test_camunda7_forms import c7
from tests.engine.test_review_today import BY_THE_INSTANCE, CHAINED
from tests.web.workspace import bearer

pytestmark = pytest.mark.browser


def _open_task(page, client, db, make_user, form: dict, data: dict) -> tuple[dict, dict]:
    """Deploy ``form`` on a task for "li", start it with ``data``, open its page as "li"."""
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(form).encode()), "call-result.form"),
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
        json={"process_id": "c7_form_ref", "data": data},
    ).get_json()
    [task] = started["ready_tasks"]
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task['id']}")
    return started, bearer(db, agent)


def test_a_stale_value_of_a_hidden_field_hides_nothing(page, client, db, make_user):
    """The agent picks "Lost", types "price" (``next_step`` hides), then picks "Won": "Why
    lost" hides and its "price" is not submitted, so "Next step" shows and is asked for."""
    started, agent = _open_task(page, client, db, make_user, CHAINED, {})
    next_step = page.locator('[data-field="next_step"]')
    page.select_option('[data-field="outcome"] select', "lost")
    page.fill('[data-field="lost_reason"] input', "price")
    assert next_step.is_hidden()
    page.select_option('[data-field="outcome"] select', "won")
    assert next_step.is_visible()  # was hidden by the hidden "price"
    page.fill('[data-field="next_step"] input', "send the contract")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(f"/api/v1/process-instances/{started['id']}", headers=agent).get_json()
    assert done["data"] == {"outcome": "won", "next_step": "send the contract"}


def test_fields_hidden_by_the_instance_values_complete_without_them(page, client, db, make_user):
    """A VIP's budget is not asked (``tier`` shown read-only), nor a dormant lead's callback
    (``segment``, on no field): the page hides both and completes; it hid the budget and
    then answered that it was required, and showed the callback."""
    data = {"tier": "vip", "segment": "dormant"}
    started, agent = _open_task(page, client, db, make_user, BY_THE_INSTANCE, data)
    assert page.locator('[data-field="budget"]').is_hidden()
    assert page.locator('[data-field="callback"]').is_hidden()
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(f"/api/v1/process-instances/{started['id']}", headers=agent).get_json()
    assert (done["status"], done["data"]) == ("completed", data)
