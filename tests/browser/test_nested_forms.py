"""A Camunda Form with groups inside a group, in Chromium: the agent fills the nested
inputs, sees the schema's message beside the nested input it is about, corrects it and
completes the task with the nested object."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.web.test_nested_forms import deploy_and_start

pytestmark = pytest.mark.browser


def test_an_agent_fills_and_corrects_a_nested_form(page, client, db, make_user):
    task_id, instance_id, headers = deploy_and_start(client, db, make_user)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task_id}")
    address = page.locator('fieldset[data-field="/contact/address"]')
    assert address.locator("legend").inner_text().startswith("Address")
    page.fill('[data-field="/contact/name"] input', "王芳")
    page.fill('[data-field="/contact/address/city"] input', "上海")
    page.fill('[data-field="/contact/address/floor"] input', "0")
    page.evaluate("document.getElementById('task-form').noValidate = true")  # the server says it
    page.click("button[type=submit].primary")
    floor = page.locator('[data-field="/contact/address/floor"]')
    assert floor.locator(".field-error").is_visible()
    assert page.locator('[data-field="/contact/address/city"] input').input_value() == "上海"
    page.fill('[data-field="/contact/address/floor"] input', "3")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert done["status"] == "completed"
    # the phones list was shown with no rows and none was added: stored empty, as the rows say
    assert done["data"]["contact"] == {
        "name": "王芳",
        "address": {"city": "上海", "floor": 3},
        "phones": [],
    }
