"""`/api/v1/calls`: log a call (idempotent by external_id), list with filters, scoping."""

from __future__ import annotations

import pytest

from crm.models import Call
from tests.conftest import count
from tests.web.crm_api_helpers import bearer, error_of, fields_of

API = "/api/v1/calls"


@pytest.fixture
def people(db, make_user):
    a = make_user("agent", username="agent_a", team="East")
    b = make_user("agent", username="agent_b", team="West")
    admin = make_user("admin", username="boss", team=None)
    return {"a": (a, bearer(db, a)), "b": (b, bearer(db, b)), "admin": (admin, bearer(db, admin))}


@pytest.fixture
def customer(make_customer, people):
    return make_customer(actor=people["a"][0], name="王小明", phone="13800138000")


def log(client, auth, customer_id, **fields):
    return client.post(API, json={"customer_id": customer_id, **fields}, headers=auth)


def test_log_a_call_and_read_it_back(client, people, customer):
    a, auth = people["a"]
    response = log(
        client,
        auth,
        customer.id,
        disposition="connected_interested",
        duration_s=95,
        started_at="2026-05-01T10:00:00+08:00",
        notes="想要报价",
    )
    assert response.status_code == 201, response.get_json()
    call = response.get_json()
    assert call["customer_id"] == customer.id
    assert call["agent_id"] == a.id
    assert call["number"] == "+8613800138000"
    assert call["disposition"] == "connected_interested"
    listed = client.get(API, headers=auth).get_json()
    assert listed["total"] == 1
    assert listed["items"][0] == call


def test_the_same_external_id_is_logged_once(client, db, people, customer):
    auth = people["a"][1]
    first = log(client, auth, customer.id, external_id="pbx-1", disposition="busy")
    again = log(client, auth, customer.id, external_id="pbx-1", disposition="busy")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    with db() as session:
        assert count(session, Call) == 1


def test_filters_by_customer_agent_and_date(client, people, customer, make_customer):
    a, auth = people["a"]
    other = make_customer(actor=a, name="李雷")
    log(client, auth, customer.id, started_at="2026-05-01T09:00:00+08:00")
    log(client, auth, customer.id, started_at="2026-05-03T23:30:00+08:00")
    log(client, auth, other.id, started_at="2026-05-02T12:00:00+08:00")

    def started(query: str) -> list[str]:
        response = client.get(f"{API}?{query}", headers=auth)
        assert response.status_code == 200, response.get_json()
        return [c["started_at"][:10] for c in response.get_json()["items"]]

    assert len(started("")) == 3
    assert len(started(f"customer_id={customer.id}")) == 2
    assert len(started(f"agent_id={a.id}")) == 3
    assert started(f"agent_id={people['b'][0].id}") == []
    # dates are days in Asia/Shanghai; "to" includes its day
    assert len(started("from=2026-05-02&to=2026-05-03")) == 2
    assert len(started("from=2026-05-02T00:00:00%2B08:00&to=2026-05-03")) == 2
    assert len(started("to=2026-05-01")) == 1
    error_of(client.get(f"{API}?from=yesterday", headers=auth), 422)
    error_of(client.get(f"{API}?from=2026-05-01T10:00:00", headers=auth), 422)
    error_of(client.get(f"{API}?agent_id=x", headers=auth), 422)


def test_other_agents_calls_are_invisible(client, db, people, customer):
    log(client, people["a"][1], customer.id, notes="秘密")
    other = people["b"][1]
    assert client.get(API, headers=other).get_json() == {"items": [], "total": 0}
    assert client.get(f"{API}?customer_id={customer.id}", headers=other).get_json()["total"] == 0
    error_of(log(client, other, customer.id), 404, "customer_not_found")
    with db() as session:
        assert count(session, Call) == 1
    assert client.get(API, headers=people["admin"][1]).get_json()["total"] == 1


def test_pool_customer_numbers_are_masked_for_agents(client, people, make_customer):
    pooled = make_customer(actor=people["admin"][0], name="公海", phone="13912345678")
    auth = people["a"][1]
    assert log(client, auth, pooled.id).status_code == 201
    listed = client.get(API, headers=auth).get_json()["items"]
    assert [c["number"] for c in listed] == ["139****5678"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"customer_id": None}, {"customer_id"}),
        ({"customer_id": 10**20}, {"customer_id"}),
        ({"customer_id": "CUSTOMER", "duration_s": -1}, {"customer_id"}),
    ],
)
def test_bad_call_bodies_are_422(client, people, body, fields):
    assert fields_of(error_of(client.post(API, json=body, headers=people["a"][1]), 422)) == fields


def test_bad_call_fields_are_422(client, people, customer):
    response = log(client, people["a"][1], customer.id, disposition="maybe", duration_s="long")
    assert fields_of(error_of(response, 422)) == {"disposition", "duration_s"}


def test_calls_need_a_token(client):
    error_of(client.get(API), 401, "missing_token")
    error_of(client.post(API, json={}), 401, "missing_token")
