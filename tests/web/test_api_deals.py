"""`/api/v1/deals`: create, list with filters, read, change fields and stage; scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models import AuditEntry, Customer, Deal
from tests.web.crm_api_helpers import bearer, error_of, fields_of

API = "/api/v1/deals"


@pytest.fixture
def people(db, make_user):
    manager = make_user("manager", username="east_manager", team="East")
    a = make_user("agent", username="agent_a", team="East", manager="east_manager")
    b = make_user("agent", username="agent_b", team="West")
    return {
        "a": (a, bearer(db, a)),
        "b": (b, bearer(db, b)),
        "manager": (manager, bearer(db, manager)),
    }


@pytest.fixture
def customer(make_customer, people):
    return make_customer(actor=people["a"][0], name="甲公司", phone="13800138000")


def create(client, auth, customer_id, **fields):
    body = {"customer_id": customer_id, "title": "年度套餐", "amount": "18800", **fields}
    return client.post(API, json=body, headers=auth)


def test_create_read_and_list(client, people, customer):
    _a, auth = people["a"]
    response = create(client, auth, customer.id, expected_close="2026-06-30")
    assert response.status_code == 201, response.get_json()
    deal = response.get_json()
    assert deal["stage"] == "qualification"
    assert deal["amount"] == "18800.00"
    assert deal["expected_close"] == "2026-06-30"
    assert [(h["from_stage"], h["to_stage"]) for h in deal["stage_history"]] == [
        (None, "qualification")
    ]
    assert client.get(f"{API}/{deal['id']}", headers=auth).get_json() == deal
    listed = client.get(API, headers=auth).get_json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == deal["id"]


def test_patch_stage_records_history_comment_and_audit(client, db, people, customer):
    a, auth = people["a"]
    deal = create(client, auth, customer.id).get_json()
    response = client.patch(
        f"{API}/{deal['id']}",
        json={"stage": "proposal", "comment": "报价已发", "amount": "20000"},
        headers=auth,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stage"] == "proposal"
    assert body["amount"] == "20000.00"
    last = body["stage_history"][-1]
    assert (last["from_stage"], last["to_stage"], last["comment"]) == (
        "qualification",
        "proposal",
        "报价已发",
    )
    assert last["changed_by_id"] == a.id
    won = client.patch(f"{API}/{deal['id']}", json={"stage": "won"}, headers=auth).get_json()
    assert [h["to_stage"] for h in won["stage_history"]] == ["qualification", "proposal", "won"]
    assert won["closed_at"] is not None
    with db() as session:
        assert session.get(Customer, customer.id).stage.value == "customer"
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity_type == "deal", AuditEntry.entity_id == str(deal["id"])
            )
        ).all()
    assert sorted(actions) == ["create", "set_stage", "set_stage", "update"]


def test_patch_with_bad_values_changes_nothing(client, db, people, customer):
    _a, auth = people["a"]
    deal = create(client, auth, customer.id).get_json()
    response = client.patch(
        f"{API}/{deal['id']}",
        json={
            "stage": "bogus",
            "amount": "-5",
            "currency": "yuan",
            "expected_close": "next week",
            "title": "",
            "title_extra": 1,
        },
        headers=auth,
    )
    error = error_of(response, 422)
    assert fields_of(error) == {"stage", "amount", "currency", "expected_close", "title"}
    with db() as session:
        stored = session.get(Deal, deal["id"])
        assert (stored.stage.value, str(stored.amount), stored.title) == (
            "qualification",
            "18800.00",
            "年度套餐",
        )


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x"},
        {"customer_id": "1", "title": "x"},
        {"customer_id": 10**20, "title": "x"},
        {"customer_id": True, "title": "x"},
    ],
)
def test_create_needs_a_customer_id(client, people, body):
    error = error_of(client.post(API, json=body, headers=people["a"][1]), 422)
    assert fields_of(error) == {"customer_id"}


def test_create_with_bad_fields_is_422(client, people, customer):
    error = error_of(create(client, people["a"][1], customer.id, title="", amount="lots"), 422)
    assert fields_of(error) == {"title", "amount"}


def test_other_agent_cannot_see_or_change_the_deal(client, db, people, customer):
    deal = create(client, people["a"][1], customer.id).get_json()
    _b, other = people["b"]
    error_of(client.get(f"{API}/{deal['id']}", headers=other), 404, "deal_not_found")
    error_of(client.patch(f"{API}/{deal['id']}", json={"stage": "won"}, headers=other), 404)
    error_of(create(client, other, customer.id), 404, "customer_not_found")
    assert client.get(API, headers=other).get_json() == {"items": [], "total": 0}
    listed = client.get(f"{API}?customer_id={customer.id}", headers=other).get_json()
    assert listed["total"] == 0
    with db() as session:
        assert session.get(Deal, deal["id"]).stage.value == "qualification"


def test_manager_sees_the_team_deals_and_filters(client, people, customer, make_customer):
    a, auth = people["a"]
    first = create(client, auth, customer.id).get_json()
    other_customer = make_customer(actor=a, name="乙公司")
    second = create(client, auth, other_customer.id, title="小单").get_json()
    client.patch(f"{API}/{second['id']}", json={"stage": "negotiation"}, headers=auth)
    manager = people["manager"][1]

    def ids(query: str) -> list[int]:
        response = client.get(f"{API}{query}", headers=manager)
        assert response.status_code == 200, response.get_json()
        return [d["id"] for d in response.get_json()["items"]]

    assert sorted(ids("")) == sorted([first["id"], second["id"]])
    assert ids("?stage=negotiation") == [second["id"]]
    assert ids(f"?customer_id={customer.id}") == [first["id"]]
    assert sorted(ids(f"?owner_id={a.id}")) == sorted([first["id"], second["id"]])
    assert ids("?limit=1&offset=1") in ([first["id"]], [second["id"]])
    error_of(client.get(f"{API}?stage=nope", headers=manager), 422, "invalid_stage")
    error_of(client.get(f"{API}?owner_id=abc", headers=manager), 422)
    error_of(client.get(f"{API}?customer_id={10**20}", headers=manager), 422)


def test_deals_need_a_token(client):
    error_of(client.get(API), 401, "missing_token")
    error_of(client.post(API, json={}), 401, "missing_token")
    error_of(client.patch(f"{API}/1", json={}), 401, "missing_token")


def test_unknown_and_impossible_deal_ids_are_404(client, people):
    error_of(client.get(f"{API}/999999", headers=people["a"][1]), 404)
    error_of(client.get(f"{API}/{10**20}", headers=people["a"][1]), 404)
