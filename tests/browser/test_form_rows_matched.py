"""A row's cell hidden by ``parent.region``, a variable of the instance no field shows, in
Chromium: the server hid it (``parent`` of a top-level row is the root's context), the page
was not given the variable and showed it; what was typed there was dropped unsaid."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.web.test_form_list_cells_shown import form_of, start
from tests.web.test_form_rows import hide

pytestmark = pytest.mark.browser

ITEM = {
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "company": {"type": "string", "x-hide-if": hide(["parent", "region"], "=", "north")},
    },
}


def test_a_rows_cell_hidden_by_a_variable_its_parent_reads(page, client, db, make_user):
    data = {"region": "north", "contacts": [{"kind": "b"}]}
    task_id, _instance_id, _headers = start(client, db, make_user, form_of(ITEM), data)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task_id}")
    row = page.locator('[data-field="contacts"] .list-row').nth(0)
    assert row.locator('[data-field$="/kind"]').is_visible()
    assert row.locator('[data-field$="/company"]').is_hidden()
