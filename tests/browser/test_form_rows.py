"""A list's rows in Chromium: a row's group hidden by its condition still sends the item's
read-only cells back (the group's hidden inputs were disabled with it, and the item lost its
``id``), and conditions read ``i`` and ``parent`` as the server and form-js do."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.web.test_form_list_cells_shown import form_of, start
from tests.web.test_form_rows import CONTACTS, GROUPED, hide

pytestmark = pytest.mark.browser

ITEM = {
    **GROUPED,
    "properties": {
        **GROUPED["properties"],
        # a variable ``i`` of the instance, not the row's position
        "company": {"type": "string", "x-hide-if": hide(["i"], "=", "skip")},
        # ``parent`` of a row is the form's context, whose item (``this``) is the form's data
        "memo": {"type": "string", "x-hide-if": hide(["parent", "this", "outcome"], "=", "lost")},
    },
}


def test_rows_hidden_parts_keep_the_items_read_only_cells(page, client, db, make_user):
    # the hidden group's note (stored before the row became a person's) is not sent, its id is
    stale = [{"kind": "person", "details": {"id": 7, "note": "old"}}, CONTACTS[1]]
    data = {"i": "skip", "contacts": stale}
    task_id, instance_id, headers = start(client, db, make_user, form_of(ITEM), data)
    page.goto("/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/tasks/{task_id}")
    rows = page.locator('[data-field="contacts"] .list-row')
    first, second = rows.nth(0), rows.nth(1)
    details, company, memo = (f'[data-field$="/{name}"]' for name in ("details", "company", "memo"))
    assert first.locator(details).is_hidden() and second.locator(details).is_visible()
    assert first.locator(company).is_hidden() and second.locator(company).is_hidden()
    assert first.locator(memo).is_visible()
    page.fill('[name="field:outcome"]', "lost")
    assert first.locator(memo).is_hidden() and second.locator(memo).is_hidden()
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    done = client.get(f"/api/v1/process-instances/{instance_id}", headers=headers).get_json()
    assert done["data"]["contacts"] == CONTACTS
    assert done["data"]["outcome"] == "lost"
