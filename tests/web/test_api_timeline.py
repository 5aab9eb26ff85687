"""`/api/v1/customers/{id}/timeline` and erasure (`DELETE /api/v1/customers/{id}`)."""

from __future__ import annotations

from io import BytesIO

import pytest
from sqlalchemy import select

from crm.models import Activity, AuditEntry, Call, Customer, CustomerPhone
from tests.conftest import count
from tests.engine.conftest import DIAGRAMS
from tests.web.crm_api_helpers import bearer, deploy_and_start, error_of, one_step_diagram

API = "/api/v1/customers"


@pytest.fixture
def people(db, make_user):
    a = make_user("agent", username="agent_a", team="East")
    b = make_user("agent", username="agent_b", team="West")
    admin = make_user("admin", username="boss", team=None)
    owner = make_user("process_owner", username="modeler", team=None)
    return {
        name: (user, bearer(db, user))
        for name, user in {"a": a, "b": b, "admin": admin, "owner": owner}.items()
    }


@pytest.fixture
def customer(make_customer, people):
    return make_customer(actor=people["a"][0], name="王小明", phone="13800138000")


def timeline(client, auth, customer_id, query=""):
    response = client.get(f"{API}/{customer_id}/timeline{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def run_call_process(client, people, customer_id):
    """Deploy a one-task process, start it for the customer and complete its task."""
    files = [
        (BytesIO((DIAGRAMS / name).read_bytes()), name)
        for name in ("call_note.bpmn", "call-form.json")
    ]
    deployed = client.post(
        "/api/v1/process-models",
        data={"file": files},
        content_type="multipart/form-data",
        headers=people["owner"][1],
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    auth = people["a"][1]
    started = client.post(
        "/api/v1/process-instances",
        json={
            "process_id": "call_note",
            "business_key": f"customer-{customer_id}",
            "data": {"customer_id": customer_id},
        },
        headers=auth,
    )
    assert started.status_code == 201, started.get_json()
    task_id = started.get_json()["ready_tasks"][0]["id"]
    done = client.post(
        f"/api/v1/tasks/{task_id}/complete", json={"data": {"outcome": "interested"}}, headers=auth
    )
    assert done.status_code == 200, done.get_json()
    return started.get_json()["id"], task_id


def test_timeline_merges_every_kind_newest_first(client, db, people, customer):
    auth = people["a"][1]
    client.post(f"{API}/{customer.id}/calls", json={"disposition": "no_answer"}, headers=auth)
    client.post(f"{API}/{customer.id}/notes", json={"text": "客户说下周再联系"}, headers=auth)
    deal = client.post(
        "/api/v1/deals", json={"customer_id": customer.id, "title": "套餐"}, headers=auth
    ).get_json()
    client.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "proposal"}, headers=auth)
    client.patch(f"{API}/{customer.id}", json={"region": "上海"}, headers=auth)
    instance_id, task_id = run_call_process(client, people, customer.id)

    body = timeline(client, auth, customer.id)
    kinds = [entry["kind"] for entry in body["items"]]
    assert body["total"] == len(kinds)
    assert set(kinds) == {"call", "note", "deal_stage", "change", "task", "process"}
    times = [entry["at"] for entry in body["items"]]
    assert times == sorted(times, reverse=True)
    by_kind = {}
    for entry in body["items"]:
        by_kind.setdefault(entry["kind"], []).append(entry)
    assert by_kind["call"][0]["disposition"] == "no_answer"
    # every entry's id is a string, as documented: a call's data carries an integer "id"
    assert all(isinstance(entry["id"], str) for entry in body["items"])
    assert {n["text"] for n in by_kind["note"]} == {"客户说下周再联系", "Outcome: interested"}
    assert [(d["from_stage"], d["to_stage"]) for d in by_kind["deal_stage"]] == [
        ("qualification", "proposal"),
        (None, "qualification"),
    ]
    assert {c["action"] for c in by_kind["change"]} >= {"create", "update"}
    update = next(c for c in by_kind["change"] if c["action"] == "update")
    assert update["fields"] == ["region"]
    assert by_kind["task"][0]["id"] == task_id
    assert by_kind["task"][0]["status"] == "completed"
    assert by_kind["process"][0]["id"] == str(instance_id)


def test_timeline_pages(client, people, customer):
    auth = people["a"][1]
    for n in range(5):
        client.post(f"{API}/{customer.id}/notes", json={"text": f"note {n}"}, headers=auth)
    everything = timeline(client, auth, customer.id)["items"]
    first = timeline(client, auth, customer.id, "?limit=2")
    second = timeline(client, auth, customer.id, "?limit=2&offset=2")
    assert first["total"] == second["total"] == len(everything) == 6  # 5 notes + creation
    assert first["items"] + second["items"] == everything[:4]
    error_of(client.get(f"{API}/{customer.id}/timeline?limit=200&offset=4900", headers=auth), 422)
    error_of(client.get(f"{API}/{customer.id}/timeline?limit=x", headers=auth), 422)


def test_timeline_view_is_audited(client, db, people, customer):
    timeline(client, people["a"][1], customer.id)
    with db() as session:
        views = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "view", AuditEntry.entity_type == "customer"
            )
        ).all()
    assert [(v.entity_id, v.actor_id) for v in views] == [(str(customer.id), people["a"][0].id)]


def test_another_agents_customer_timeline_is_404(client, people, customer):
    error_of(
        client.get(f"{API}/{customer.id}/timeline", headers=people["b"][1]),
        404,
        "customer_not_found",
    )
    error_of(client.get(f"{API}/999999/timeline", headers=people["a"][1]), 404)


def test_masked_numbers_in_the_timeline_for_pool_customers(client, people, make_customer):
    pooled = make_customer(actor=people["admin"][0], name="公海", phone="13912345678")
    auth = people["a"][1]
    client.post(f"{API}/{pooled.id}/calls", json={}, headers=auth)
    client.patch(f"{API}/{pooled.id}", json={"phone": "13912345679"}, headers=people["admin"][1])
    items = timeline(client, auth, pooled.id)["items"]
    call = next(e for e in items if e["kind"] == "call")
    assert call["number"] == "139****5678"
    change = next(e for e in items if e["kind"] == "change" and e["action"] == "update")
    assert change["after"]["phones"] == ["139****5679"]
    assert "13912345679" not in str(items)


def test_task_entries_name_their_step_as_the_diagram_of_their_version_does(
    client, people, customer
):
    deployer, agent = people["owner"][1], people["a"][1]

    def start(process_id, element_id, name):
        diagram = one_step_diagram(process_id, element_id, name)
        return deploy_and_start(client, deployer, agent, diagram, customer.id)["id"]

    first = start("address_check", "confirm", "Confirm the address")
    renamed = start("address_check", "confirm", "Check the address again")  # version 2
    unnamed = start("quiet_check", "confirm_quietly", None)

    tasks = [e for e in timeline(client, agent, customer.id)["items"] if e["kind"] == "task"]
    assert {e["process_instance_id"]: (e["element_id"], e["element_name"]) for e in tasks} == {
        first: ("confirm", "Confirm the address"),
        renamed: ("confirm", "Check the address again"),
        unnamed: ("confirm_quietly", None),
    }
    for entry in tasks:  # the fields a task entry had before are all still there
        assert {
            "kind",
            "id",
            "at",
            "title",
            "status",
            "element_id",
            "process_id",
            "process_instance_id",
            "assignee_id",
            "due_at",
            "completed_by_id",
        } <= set(entry)


# --- erasure --------------------------------------------------------------------------------


def test_admin_erases_a_customer_once(client, db, people, customer):
    auth = people["a"][1]
    client.post(
        f"{API}/{customer.id}/calls",
        json={"notes": "身份证 110…", "recording_url": "https://pbx/rec.mp3"},
        headers=auth,
    )
    client.post(f"{API}/{customer.id}/notes", json={"text": "住在北京朝阳区"}, headers=auth)
    client.patch(
        f"{API}/{customer.id}",
        json={"email": "wang@example.com", "address": "北京", "tags": ["vip"]},
        headers=auth,
    )
    admin = people["admin"][1]
    response = client.delete(f"{API}/{customer.id}", headers=admin)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["erased_at"]
    assert body["name"] == "[erased]"
    assert (body["phones"], body["email"], body["tags"], body["consent"]) == ([], None, [], False)
    assert body["do_not_call"] is True

    again = client.delete(f"{API}/{customer.id}", headers=admin)
    assert again.status_code == 200
    assert again.get_json() == body

    with db() as session:
        stored = session.get(Customer, customer.id)
        assert (stored.address, stored.erased_at is not None) == (None, True)
        assert count(session, CustomerPhone) == 0
        call = session.scalars(select(Call)).one()
        assert (call.notes, call.number, call.recording_url) == (None, None, None)
        assert session.scalars(select(Activity.body)).all() == ["[erased]"]
        erasures = session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all()
        assert len(erasures) == 1
        assert erasures[0].actor_id == people["admin"][0].id
        assert "wang" not in str(erasures[0].after)

    # erased customers are gone from every door, and the number is free again
    error_of(client.get(f"{API}/{customer.id}", headers=admin), 404)
    error_of(client.get(f"{API}/{customer.id}/timeline", headers=admin), 404)
    assert client.get(f"{API}?q=13800138000", headers=admin).get_json()["total"] == 0
    recreated = client.post(API, json={"name": "新客户", "phone": "13800138000"}, headers=admin)
    assert recreated.status_code == 201, recreated.get_json()


def test_only_admins_erase(client, db, people, customer):
    error_of(client.delete(f"{API}/{customer.id}", headers=people["a"][1]), 403, "forbidden")
    error_of(client.delete(f"{API}/{customer.id}", headers=people["b"][1]), 404)
    error_of(client.delete(f"{API}/{customer.id}", headers=people["owner"][1]), 403)
    error_of(client.delete(f"{API}/999999", headers=people["admin"][1]), 404)
    error_of(client.delete(f"{API}/{customer.id}"), 401)
    with db() as session:
        assert session.get(Customer, customer.id).erased_at is None
