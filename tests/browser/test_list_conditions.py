"""A list's row in Chromium: its "Company" cell shows only while that row's kind is
"Business" (form-js ``=this.kind != "business"``), each row on its own, rows added later
too; a hidden cell's value is not sent."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.web.test_form_list_conditions import start

pytestmark = pytest.mark.browser


def test_a_rows_cell_hides_and_shows_as_the_row_changes(page, client, db, make_user):
    task_id, instance_id, headers = start(client, db, make_user)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task_id}")
    add = page.locator('[data-field="contacts"] > .list-add')
    rows = page.locator('[data-field="contacts"] .list-row')
    add.click()
    add.click()
    first, second = rows.nth(0), rows.nth(1)
    company = '[data-field$="/company"]'
    assert first.locator(company).is_hidden() and second.locator(company).is_hidden()
    first.locator('[data-field$="/kind"] select').select_option("business")
    assert first.locator(company).is_visible() and second.locator(company).is_hidden()
    first.locator(f"{company} input").fill("ACME")
    second.locator('[data-field$="/kind"] select').select_option("business")
    second.locator(f"{company} input").fill("typed before")
    second.locator('[data-field$="/kind"] select').select_option("person")
    assert second.locator(company).is_hidden() and first.locator(company).is_visible()
    page.click("button[type=submit].primary")  # row 2's company is required, but hidden
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert done["data"]["contacts"] == [
        {"kind": "business", "company": "ACME"},
        {"kind": "person"},
    ]
