"""Items sent back through the API without their read-only cells, matched to the instance's
items: a list's default item is no second copy of a stored one, the items of a list inside
an item keep their cells too, a group sent empty and a null value are as left out, what a
row hides is not compared, a cell's default sent is as none, and a long list is matched in
linear time. The task page is given the variables a row's ``parent.x`` reads."""

from __future__ import annotations

import time
from typing import Any

from tests.web.test_form_list_cells_shown import STATUS, complete, form_of, restart, start
from tests.web.test_form_lists_kept import instance
from tests.web.test_form_rows import CONTACTS, GROUPED, ID_NAME, hide


def contacts(client, instance_id: str, headers: dict[str, str]) -> Any:
    return instance(client, instance_id, headers)["data"]["contacts"]


def test_a_default_item_the_instance_holds_is_not_a_second_item(client, db, make_user):
    # the instance started from the list's default holds its item; the page shows the
    # instance's list, and two rows cannot both be that item (both got its id)
    main = {"id": 1, "name": "主联系人"}
    schema = form_of(ID_NAME, default=[main])
    task_id, instance_id, headers = start(client, db, make_user, schema, {"contacts": [main]})
    sent = [{"name": "主联系人"}, {"name": "主联系人"}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == [main, {"name": "主联系人"}]

    task_id, instance_id, headers = restart(client, headers, {"contacts": [main]})
    status, body = complete(client, task_id, headers, {"contacts": [main, main]})
    assert status == 422, body
    assert [d["field"] for d in body["error"]["details"]] == ["contacts.1.id"]


PHONE = {
    "type": "object",
    "properties": {"id": {"type": "integer", "readOnly": True}, "number": {"type": "string"}},
}
WITH_PHONES = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string"},
        "phones": {"type": "array", "items": PHONE},
    },
}
STORED = [
    {"id": 1, "name": "王芳", "phones": [{"id": 10, "number": "1"}, {"id": 11, "number": "2"}]}
]


def test_the_items_of_a_list_inside_an_item_keep_their_cells(client, db, make_user):
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(WITH_PHONES), {"contacts": STORED}
    )
    # the contact sent with its id, its phones (reordered) without theirs: they lost them
    phones = [{"number": "2"}, {"number": "1"}]
    sent = [{"id": 1, "name": "王芳", "phones": phones}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == [
        {"id": 1, "name": "王芳", "phones": [{"id": 11, "number": "2"}, {"id": 10, "number": "1"}]}
    ]

    # no read-only value at all: the contact was a new row (its phones' ids differed)
    task_id, instance_id, headers = restart(client, headers, {"contacts": STORED})
    sent = [{"name": "王芳", "phones": [{"number": "1"}, {"number": "2"}]}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == STORED

    # a phone's id no phone of that contact has is still refused
    task_id, instance_id, headers = restart(client, headers, {"contacts": STORED})
    sent = [{"name": "王芳", "phones": [{"id": 99, "number": "1"}]}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 422, body
    assert [d["field"] for d in body["error"]["details"]] == ["contacts.0.phones.0.id"]


def test_a_group_sent_empty_and_a_null_value_are_left_out(client, db, make_user):
    # an OpenAPI client sends the group of read-only cells alone as {}, an unset field as null
    item = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "note": {"type": ["string", "null"]},
            "meta": {"type": "object", "properties": {"id": {"type": "integer", "readOnly": True}}},
        },
    }
    stored = [{"name": "王芳", "meta": {"id": 5}}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(item), {"contacts": stored}
    )
    sent = [{"name": "王芳", "note": None, "meta": {}}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == [{**stored[0], "note": None}]


def test_an_item_sent_back_without_what_its_row_hides_keeps_its_cells(client, db, make_user):
    # form-js sends no hidden field: the person's hidden group (its id, a note kept from
    # before) is left out, or sent with the note alone; the values compared were the hidden
    # note's too, and the item became a new row without its id
    stale = [{"kind": "person", "details": {"id": 7, "note": "old"}}, CONTACTS[1]]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(GROUPED), {"contacts": stale}
    )
    sent = [{"kind": "person"}, {"kind": "business", "details": {"note": "VIP"}}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == CONTACTS

    task_id, instance_id, headers = restart(client, headers, {"contacts": stale})
    sent = [
        {"kind": "person", "details": {"note": "typed"}},
        {"kind": "business", "details": {"note": "VIP"}},
    ]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == CONTACTS


def test_an_item_sent_back_with_a_cells_default_alone_keeps_its_cells(client, db, make_user):
    # the task shows the cell's default where the item has none, and a client may send it
    # back: the row was taken as the first item showing it (王芳's), and 李雷 lost its id
    stored = [{"id": 7, "name": "王芳"}, {"id": 9, "name": "李雷"}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(STATUS), {"contacts": stored}
    )
    sent = [{"name": "李雷", "status": "new"}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert contacts(client, instance_id, headers) == [{"id": 9, "name": "李雷", "status": "new"}]


def test_a_long_list_sent_back_without_its_cells_is_matched_quickly(client, db, make_user):
    # each row was compared with every stored item: 2,000 rows took a minute, holding the
    # instance's lock
    stored = [{"id": k, "name": f"客户{k}"} for k in range(1000)]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(ID_NAME), {"contacts": stored}
    )
    sent = [{"name": item["name"]} for item in reversed(stored)]
    began = time.perf_counter()
    status, body = complete(client, task_id, headers, {"contacts": sent})
    took = time.perf_counter() - began
    assert status == 200, body
    assert contacts(client, instance_id, headers) == stored[::-1]
    assert took < 3, took


def test_the_page_is_given_the_variables_a_rows_parent_reads(client, db, make_user):
    # ``parent.region`` in a top-level row is the root's ``region``, a variable no field
    # shows: the server hid the row's company by it, the page (not given it) showed it
    item = {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "company": {"type": "string", "x-hide-if": hide(["parent", "region"], "=", "north")},
            "memo": {"type": "string", "x-hide-if": hide(["parent", "this", "tier"], "=", 1)},
        },
    }
    data = {"region": "north", "tier": 1, "secret": "x", "contacts": [{"kind": "b"}]}
    task_id, _instance_id, _headers = start(client, db, make_user, form_of(item), data)
    page = client.get(f"/tasks/{task_id}").text
    assert 'data-hide-context=\'{"region": "north", "tier": 1}\'' in page
