"""Moving running instances to a new version: one at a time and in bulk, refused when unsafe."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Activity, AuditEntry
from tests.engine.conftest import Actor


def _customer(agent: Actor) -> int:
    response = agent.post("/api/v1/customers", json={"name": "迁移客户", "phone": "13911112222"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _start_v1(owner: Actor, customer_id: int) -> dict:
    return owner.start("call_note", {"customer_id": customer_id}, version=1)


def test_a_compatible_instance_moves_and_continues_on_the_new_version(owner, agent, db):
    customer_id = _customer(agent)
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = _start_v1(owner, customer_id)
    owner.deploy("call_note_v2.bpmn", "call-form.json")

    response = owner.post(
        f"/api/v1/process-instances/{instance['id']}/migrate", json={"to_version": 2}
    )

    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["version"] == 2
    assert moved["data"]["customer_id"] == customer_id
    task = moved["ready_tasks"][0]
    agent.complete_ok(task["id"], {"outcome": "interested"})
    with db() as session:
        notes = session.scalars(
            select(Activity.body).where(Activity.customer_id == customer_id)
        ).all()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "migrate")).all()
    assert notes == ["Result: interested"]  # the note text of version 2
    assert [(a.before, a.after) for a in audit] == [({"version": 1}, {"version": 2})]


def test_a_renamed_element_in_the_same_place_is_followed(owner, agent):
    """SpiffWorkflow's diff aligns elements by position: a renamed user task is the same step."""
    customer_id = _customer(agent)
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = _start_v1(owner, customer_id)
    owner.deploy("call_note_renamed_task.bpmn", "call-form.json")

    moved = owner.post(
        f"/api/v1/process-instances/{instance['id']}/migrate", json={"to_version": 2}
    ).get_json()

    assert moved["version"] == 2
    assert [t["name"] for t in moved["ready_tasks"]] == ["dial"]


def test_an_instance_at_an_element_the_new_version_lacks_is_refused_and_untouched(owner, agent):
    customer_id = _customer(agent)
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = _start_v1(owner, customer_id)
    owner.deploy("call_note_without_call.bpmn")

    response = owner.post(
        f"/api/v1/process-instances/{instance['id']}/migrate", json={"to_version": 2}
    )

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "migration_refused"
    assert [d["element_id"] for d in error["details"]] == ["call"]
    after = owner.instance(instance["id"])
    assert after["version"] == 1
    assert [t["id"] for t in after["ready_tasks"]] == [t["id"] for t in instance["ready_tasks"]]


def test_bulk_migration_moves_the_compatible_and_lists_the_refused(owner, agent):
    customer_id = _customer(agent)
    owner.deploy("call_note.bpmn", "call-form.json")
    running = [_start_v1(owner, customer_id) for _ in range(3)]
    finished = _start_v1(owner, customer_id)
    agent.complete_ok(finished["ready_tasks"][0]["id"], {"outcome": "no_answer"})
    owner.deploy("call_note_v2.bpmn", "call-form.json")

    response = owner.post(
        "/api/v1/process-models/call_note/versions/1/migrate", json={"to_version": 2}
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["migrated"] == [i["id"] for i in running]
    assert body["refused"] == []
    assert owner.instance(finished["id"])["version"] == 1  # completed: stays where it ended


def test_bulk_migration_reports_each_refusal_with_its_reason(owner, agent):
    customer_id = _customer(agent)
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = _start_v1(owner, customer_id)
    owner.deploy("call_note_without_call.bpmn")

    body = owner.post(
        "/api/v1/process-models/call_note/versions/1/migrate", json={"to_version": 2}
    ).get_json()

    assert body["migrated"] == []
    assert [r["id"] for r in body["refused"]] == [instance["id"]]
    assert body["refused"][0]["details"][0]["element_id"] == "call"


def test_bad_migration_requests_get_clear_errors(owner, agent):
    customer_id = _customer(agent)
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = _start_v1(owner, customer_id)
    url = f"/api/v1/process-instances/{instance['id']}/migrate"

    assert owner.post(url, json={"to_version": "2"}).status_code == 422
    assert owner.post(url, json={"to_version": 9}).get_json()["error"]["code"] == (
        "process_not_found"
    )
    same = owner.post(url, json={"to_version": 1})
    assert same.status_code == 409
    assert agent.post(url, json={"to_version": 1}).status_code == 403
    assert (
        owner.post("/api/v1/process-instances/999999/migrate", json={"to_version": 1}).status_code
        == 404
    )
