"""The pages' migration actions (session + CSRF) and the list of a process's instances."""

from __future__ import annotations

import re

from tests.web.test_process_model_pages import actor, page_token, signed_in  # noqa: F401


def headers_for(client) -> dict[str, str]:
    token = page_token(client.get("/process-models/new").text)
    return {"X-CSRFToken": token, "Accept": "application/json"}


def test_page_migration_check_and_move(client, make_user, actor):  # noqa: F811
    api = actor("process_owner")
    api.deploy("call_note.bpmn", "call-form.json")
    first = api.start("call_note", {"customer_id": 1})
    second = api.start("call_note", {"customer_id": 2})
    api.deploy("call_note_v2.bpmn", "call-form.json")
    signed_in(client, make_user, "process_owner")
    headers = headers_for(client)

    check = client.post(
        "/process-models/call_note/versions/1/migration-check",
        json={"to_version": 2},
        headers=headers,
    )
    assert check.status_code == 200, check.get_json()
    items = {item["id"]: item for item in check.get_json()["items"]}
    assert set(items) == {first["id"], second["id"]}
    assert all(item["can_move"] for item in items.values())
    assert api.instance(first["id"])["version"] == 1  # the check is a dry run

    moved = client.post(
        f"/process-instances/{first['id']}/migrate", json={"to_version": 2}, headers=headers
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["version"] == 2
    assert api.instance(first["id"])["version"] == 2
    assert api.instance(second["id"])["version"] == 1

    # a version without the instance's current task: refused with the element, nothing moves
    api.deploy("call_note_without_call.bpmn", "call-form.json")
    refused = client.post(
        f"/process-instances/{second['id']}/migrate", json={"to_version": 3}, headers=headers
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "migration_refused"
    assert api.instance(second["id"])["version"] == 1
    bad = client.post(
        "/process-models/call_note/versions/1/migration-check",
        json={"to_version": "two"},
        headers=headers,
    )
    assert bad.status_code == 422
    missing = client.post(
        "/process-instances/999999/migrate", json={"to_version": 2}, headers=headers
    )
    assert missing.status_code == 404
    no_csrf = client.post(
        f"/process-instances/{second['id']}/migrate",
        json={"to_version": 2},
        headers={"Accept": "application/json"},
    )
    assert no_csrf.status_code == 400


def test_page_migration_needs_a_process_owner(client, make_user, actor):  # noqa: F811
    api = actor("process_owner")
    api.deploy("call_note.bpmn", "call-form.json")
    started = api.start("call_note", {"customer_id": 1})
    api.deploy("call_note_v2.bpmn", "call-form.json")
    signed_in(client, make_user, "agent")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/customers").text)
    headers = {"X-CSRFToken": token.group(1), "Accept": "application/json"}
    denied = client.post(
        f"/process-instances/{started['id']}/migrate", json={"to_version": 2}, headers=headers
    )
    assert denied.status_code == 403
    assert api.instance(started["id"])["version"] == 1


def rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-instance-id="(\d+)"', html)]


def test_instances_of_a_process_per_version(client, make_user, actor):  # noqa: F811
    api = actor("process_owner")
    api.deploy("call_note.bpmn", "call-form.json")
    old = api.start("call_note", {"customer_id": 1}, business_key="customer-1")
    api.deploy("call_note_v2.bpmn", "call-form.json")
    new = api.start("call_note", {"customer_id": 2}, business_key="customer-2")
    signed_in(client, make_user, "process_owner")

    versions = client.get("/process-models/call_note", headers={"Accept-Language": "en"})
    assert "/process-models/call_note/instances?version=1" in versions.text
    assert 'id="all-instances"' in versions.text

    every = client.get("/process-models/call_note/instances", headers={"Accept-Language": "en"})
    assert every.status_code == 200
    assert rows(every.text) == [new["id"], old["id"]]  # newest first
    assert f'href="/process-instances/{old["id"]}"' in every.text
    assert "customer-1" in every.text and "customer-2" in every.text
    (task_title,) = {t["title"] for t in api.instance(old["id"])["ready_tasks"]}
    assert task_title in every.text  # the current task

    only_v1 = client.get("/process-models/call_note/instances?version=1")
    assert rows(only_v1.text) == [old["id"]]
    assert client.get("/process-models/call_note/instances?version=9").status_code == 404
    assert client.get("/process-models/nope/instances").status_code == 404
    none_live = client.get("/process-models/call_note/instances?version=2&live=1")
    assert rows(none_live.text) == [new["id"]]


def test_instances_page_is_for_process_owners(client, make_user, actor):  # noqa: F811
    actor("process_owner").deploy("call_note.bpmn", "call-form.json")
    signed_in(client, make_user, "agent")
    assert client.get("/process-models/call_note/instances").status_code == 403
