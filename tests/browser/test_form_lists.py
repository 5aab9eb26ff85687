"""A list of a task's form in Chromium: the agent adds two rows, removes one, and completes
the task with the list the rows say."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.web.test_form_lists import start

pytestmark = pytest.mark.browser


def test_an_agent_adds_and_removes_rows(page, client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task_id}")
    contacts = page.locator('fieldset[data-field="contacts"]')
    rows = contacts.locator(".list-rows > .list-row")
    add = contacts.locator("> .list-add")
    assert rows.count() == 1  # minItems: one row to fill, which cannot be removed
    assert rows.nth(0).locator(".list-remove").is_disabled()
    rows.nth(0).locator('[data-field="/contacts/0/name"] input').fill("王芳")
    add.click()
    add.click()
    assert rows.count() == 3 and add.is_disabled()  # maxItems
    rows.nth(1).locator('[data-field$="/name"] input').fill("李雷")
    rows.nth(1).locator('[data-field$="/calls"] input').fill("2")
    rows.nth(2).locator('[data-field$="/name"] input').fill("张三")
    rows.nth(2).locator('[data-field$="/phone"] input').fill("13800138000")
    rows.nth(1).locator(".list-remove").click()
    assert rows.count() == 2 and add.is_enabled()
    screenshot(page, "form_lists")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert done["status"] == "completed"
    assert done["data"]["contacts"] == [
        {"name": "王芳", "primary": False},
        {"name": "张三", "phone": "13800138000", "primary": False},
    ]
