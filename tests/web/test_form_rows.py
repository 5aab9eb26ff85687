"""A list's rows completed through the API and the task page: a group of a row hidden by its
condition keeps its read-only cells, an item sent back without its read-only cells is the
stored item it equals, and conditions read ``i`` and ``parent`` as form-js does."""

from __future__ import annotations

from typing import Any

from tests.web.test_form_list_cells_shown import complete, form_of, restart, start
from tests.web.test_form_lists_kept import instance, submitted


def hide(*test: Any) -> dict[str, Any]:
    return {"tests": [[*test]]}


# a row's "details" group (its stored id and a note) shows for businesses only
GROUPED = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["person", "business"]},
        "details": {
            "type": "object",
            "x-hide-if": hide(["this", "kind"], "!=", "business"),
            "properties": {
                "id": {"type": "integer", "readOnly": True},
                "note": {"type": "string"},
            },
            "required": ["note"],
        },
    },
}
CONTACTS = [
    {"kind": "person", "details": {"id": 7}},
    {"kind": "business", "details": {"id": 9, "note": "VIP"}},
]


def test_a_group_its_row_hides_keeps_its_read_only_cells(client, db, make_user):
    # the hidden group's note (stored before the row became a person's) is not sent, its id is
    stale = [{"kind": "person", "details": {"id": 7, "note": "old"}}, CONTACTS[1]]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(GROUPED), {"contacts": stale}
    )
    # the task page (its hidden inputs as a browser sends them)
    page = client.get(f"/tasks/{task_id}").text
    # the browser sends no hidden note (its input disabled), only the group's id
    typed = {"field:outcome": "x", "field:/contacts/0/details/note": ""}
    done = client.post(f"/tasks/{task_id}", data=submitted(page, {}, typed))
    assert done.status_code == 302, done.text
    assert instance(client, instance_id, headers)["data"]["contacts"] == CONTACTS

    # the API: the hidden group's note is dropped and not asked for, its id stays
    task_id, instance_id, headers = restart(client, headers, {"contacts": CONTACTS})
    sent = [{"kind": "person", "details": {"id": 7, "note": "stale"}}, CONTACTS[1]]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == CONTACTS

    # a hidden group's read-only cell is still checked against the items shown
    task_id, _instance_id, headers = restart(client, headers, {"contacts": CONTACTS})
    forged = [{"kind": "person", "details": {"id": 8}}]
    status, body = complete(client, task_id, headers, {"contacts": forged})
    assert status == 422, body
    assert [d["field"] for d in body["error"]["details"]] == ["contacts.0.details.id"]


ID_NAME = {
    "type": "object",
    "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
}


def test_an_item_sent_back_without_its_read_only_cells_keeps_them(client, db, make_user):
    stored = [{"id": 7, "name": "王芳"}, {"id": 9, "name": "李雷"}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(ID_NAME), {"contacts": stored}
    )
    # reordered, one item added, as a client leaving readOnly properties out sends them
    sent = [{"name": "李雷"}, {"name": "王芳"}, {"name": "韩梅梅"}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == [
        {"id": 9, "name": "李雷"},
        {"id": 7, "name": "王芳"},
        {"name": "韩梅梅"},
    ]

    # two rows equal to one item: the first is that item, the second a new row; an edited
    # item without its id is a new row (no id guessed), the item it was removed
    task_id, instance_id, headers = restart(client, headers, {"contacts": stored})
    sent = [{"name": "王芳"}, {"name": "王芳"}, {"name": "李雷雷"}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == [
        {"id": 7, "name": "王芳"},
        {"name": "王芳"},
        {"name": "李雷雷"},
    ]


def test_a_row_carrying_the_read_only_cells_wins_over_a_bare_row_equal_to_it(client, db, make_user):
    """Pins what was already right: a row sending an item's id is that item."""
    stored = [{"id": 7, "name": "王芳"}]
    task_id, instance_id, headers = start(
        client, db, make_user, form_of(ID_NAME), {"contacts": stored}
    )
    sent = [{"name": "王芳"}, {"id": 7, "name": "王芳"}]
    status, body = complete(client, task_id, headers, {"contacts": sent})
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == [
        {"name": "王芳"},
        {"id": 7, "name": "王芳"},
    ]


def rows_form(cell_rule: dict[str, Any]) -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "company": {"type": "string", "x-hide-if": cell_rule},
        },
    }
    return form_of(item)


def test_i_reads_a_variable_of_that_name_on_the_page_as_on_the_server(client, db, make_user):
    schema = rows_form(hide(["i"], "=", "skip"))
    task_id, _instance_id, headers = start(client, db, make_user, schema, {"i": "skip"})
    page = client.get(f"/tasks/{task_id}").text
    assert 'data-hide-context=\'{"i": "skip"}\'' in page  # the page reads it too
    sent = {"contacts": [{"kind": "b", "company": "ACME"}]}
    status, body = complete(client, task_id, headers, sent)
    assert status == 200, body
    got = instance(client, _instance_id, headers)["data"]["contacts"]
    assert got == [{"kind": "b"}]


def test_i_without_such_a_variable_is_the_rows_positions(client, db, make_user):
    # form-js: ``i`` is the list of the rows' 1-based positions, never null in a row
    schema = rows_form(hide(["i"], "!=", None))
    task_id, instance_id, headers = start(client, db, make_user, schema, {})
    sent = {"contacts": [{"kind": "b", "company": "ACME"}]}
    status, body = complete(client, task_id, headers, sent)
    assert status == 200, body
    assert instance(client, instance_id, headers)["data"]["contacts"] == [{"kind": "b"}]


# a phone of a contact: its ext hidden by ``parent.kind``, its memo by ``parent.this.kind``,
# its note by ``parent.parent.kind``
PHONE = {
    "type": "object",
    "properties": {
        "number": {"type": "string"},
        "ext": {"type": "string", "x-hide-if": hide(["parent", "kind"], "=", "business")},
        "memo": {"type": "string", "x-hide-if": hide(["parent", "this", "kind"], "=", "person")},
        "note": {
            "type": "string",
            "x-hide-if": hide(["parent", "parent", "kind"], "=", "business"),
        },
    },
}
CONTACT = {
    "type": "object",
    "properties": {"kind": {"type": "string"}, "phones": {"type": "array", "items": PHONE}},
}
NESTED_FORM = {
    "type": "object",
    "properties": {"kind": {"type": "string"}, "contacts": {"type": "array", "items": CONTACT}},
}


def test_parent_in_a_nested_lists_row_is_the_context_around_it(client, db, make_user):
    # form-js (1.8.8 on, #1191): ``parent`` is the outer row's context, which holds the outer
    # row's item (``parent.kind`` the contact's kind, as ``parent.this.kind``); the root's
    # data is ``parent.parent``'s (the branch read ``parent.kind`` as the root's kind)
    task_id, instance_id, headers = start(client, db, make_user, NESTED_FORM, {})
    phone = {"number": "021-5555", "ext": "12", "memo": "前台", "note": "总机"}
    sent = {"kind": "business", "contacts": [{"kind": "person", "phones": [phone]}]}
    status, body = complete(client, task_id, headers, sent)
    assert status == 200, body
    got = instance(client, instance_id, headers)["data"]["contacts"]
    assert got == [{"kind": "person", "phones": [{"number": "021-5555", "ext": "12"}]}]
