"""`/api/v1/customers` over HTTP with bearer tokens: auth, errors, CRUD, notes, calls, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.models import Activity, AuditEntry, Call, Customer, User
from crm.users import create_token
from tests.conftest import PASSWORD, api_token, count, sign_in
from tests.web.crm_api_helpers import bearer

API = "/api/v1/customers"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    if code is not None:
        assert error["code"] == code
    return error


def detail_fields(error: dict) -> set[str]:
    return {d["field"] for d in error["details"]}


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="zhangwei")


@pytest.fixture
def auth(db, agent) -> dict[str, str]:
    """A bearer token for ``agent``, issued the way ``dialflow token create`` does."""
    with db() as session:
        token = create_token(session, session.get(User, agent.id))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def signs_in(make_user):
    return make_user("agent", username="lihua", password=PASSWORD)


@pytest.fixture
def rival_customer(make_user, make_customer):
    rival = make_user("agent", username="rival")
    return make_customer(actor=rival, name="别人的客户", phone="13600136000")


def create(client, auth, **body):
    return client.post(API, json=body, headers=auth)


# --- authentication -------------------------------------------------------------------------


def test_requests_without_a_token_are_401(client, subtests):
    for method, path in [("get", API), ("post", API), ("get", f"{API}/1"), ("patch", f"{API}/1")]:
        with subtests.test(method=method, path=path):
            response = getattr(client, method)(path, json={"name": "x"})
            assert_error(response, 401, "missing_token")


def test_bad_tokens_are_401(client, agent, auth, subtests):
    token = auth["Authorization"].removeprefix("Bearer ")
    for header in [
        "Bearer dft_not-a-real-token",
        f"Bearer {token}x",
        "Bearer ",
        "Bearer",
        f"Basic {token}",
        token,
    ]:
        with subtests.test(header=header):
            assert_error(client.get(API, headers={"Authorization": header}), 401)


def test_issue_token_with_wrong_password_is_401(client, signs_in):
    response = client.post("/api/v1/auth/token", json={"username": "lihua", "password": "nope"})
    assert_error(response, 401, "invalid_credentials")


def test_issue_token_with_bad_body_is_422(client, subtests):
    for body in [{"username": "lihua"}, {"username": 1, "password": 2}, {}, ["lihua", PASSWORD]]:
        with subtests.test(body=body):
            assert_error(client.post("/api/v1/auth/token", json=body), 422)


def test_issue_token_and_use_it(client, db, signs_in):
    response = client.post("/api/v1/auth/token", json={"username": "lihua", "password": PASSWORD})
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert token.startswith("dft_")
    with db() as session:
        signed_in = session.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in"))
        assert [e.actor_id for e in signed_in] == [signs_in.id]
    assert client.get(API, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get(API, headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_api_token_helper_signs_in_through_the_api(client, signs_in):
    assert client.get(API, headers=api_token(client, "lihua")).status_code == 200


def test_token_of_a_deactivated_user_stops_working(client, db, agent, auth):
    assert client.get(API, headers=auth).status_code == 200
    with db() as session:
        session.get(User, agent.id).active = False
    assert_error(client.get(API, headers=auth), 401)


# --- create ---------------------------------------------------------------------------------


def test_create_customer(client, db, agent, auth):
    response = create(
        client,
        auth,
        name="王小明",
        phone="138 0013 8000",
        email="XM@Example.com",
        tags=["VIP"],
        company="华信科技",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert isinstance(body["id"], int)
    assert body["name"] == "王小明"
    assert body["phones"] == ["+8613800138000"]
    assert body["email"] == "xm@example.com"
    assert body["tags"] == ["VIP"]
    assert body["owner_id"] == agent.id
    assert body["pool_status"] == "owned"
    assert body["stage"] == "new"
    assert body["created_at"]
    with db() as session:
        assert session.get(Customer, body["id"]).name == "王小明"
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "create", AuditEntry.entity_type == "customer"
            )
        )
        assert entry.actor_id == agent.id


def test_duplicate_customer_is_409(client, db, auth):
    first = create(client, auth, name="王小明", phone="13800138000").get_json()
    response = create(client, auth, name="重复", phone="+86 138-0013-8000")
    error = assert_error(response, 409, "duplicate_customer")
    assert f"#{first['id']}" in error["message"]
    assert "王小明" in error["message"]
    assert error["details"][0]["existing_id"] == first["id"]
    with db() as session:
        assert count(session, Customer) == 1


def test_duplicate_email_is_409(client, auth):
    create(client, auth, name="甲", email="jia@example.com")
    assert_error(
        create(client, auth, name="乙", email="JIA@EXAMPLE.COM"), 409, "duplicate_customer"
    )


def test_invalid_customer_is_422_with_details_per_field(client, db, auth):
    response = create(client, auth, phone="12345", email="nope", stage="sold")
    error = assert_error(response, 422, "invalid_input")
    assert detail_fields(error) >= {"name", "phone", "email", "stage"}
    assert all(d["message"] for d in error["details"])
    with db() as session:
        assert count(session, Customer) == 0


NOT_JSON_OBJECTS = [
    ("name=王小明&phone=13800138000", "application/x-www-form-urlencoded"),
    ("just text", "text/plain"),
    ("{not json", "application/json"),
    ("", "application/json"),
    ('["name", "phone"]', "application/json"),
    ('"a string"', "application/json"),
    ("null", "application/json"),
]


def test_body_that_is_not_a_json_object_is_4xx(client, db, auth, subtests):
    for data, content_type in NOT_JSON_OBJECTS:
        with subtests.test(data=data, content_type=content_type):
            response = client.post(API, data=data.encode(), content_type=content_type, headers=auth)
            assert 400 <= response.status_code < 500
            assert_error(response, response.status_code)
    with db() as session:
        assert count(session, Customer) == 0


STRANGE_BODIES = [
    {"name": ["list"], "phone": "13800138000"},
    {"name": "x", "phones": [{"nested": 1}]},
    {"name": "x", "phones": "13800138000"},
    {"name": "x", "phone": 13800138000},
    {"name": "x", "phone": "13800138000", "tags": 5},
    {"name": "x", "phone": "13800138000", "owner": "nobody"},
    {"name": "x", "phone": "13800138000", "consent": [True]},
    {"name": "x" * 10_000, "phone": "13800138000"},
]


def test_strange_json_values_are_never_a_500(client, auth, subtests):
    for body in STRANGE_BODIES:
        with subtests.test(body=str(body)[:60]):
            response = create(client, auth, **body)
            assert response.status_code < 500, response.get_data(as_text=True)
            assert response.is_json


def test_owner_that_is_a_json_object_is_422(client, db, auth):
    response = create(client, auth, name="x", phone="13800138000", owner={"id": 1})
    error = assert_error(response, 422)
    assert "owner" in detail_fields(error)


# --- list and search ------------------------------------------------------------------------


@pytest.fixture
def listed(make_user, make_customer, agent, rival_customer):
    admin = make_user("admin")
    for i in range(5):
        make_customer(actor=agent, name=f"我的客户{i}", phone=f"1380013800{i}")
    make_customer(actor=admin, name="公海客户", phone="13912345678")
    return agent


def test_list_returns_items_and_total_in_the_callers_scope(client, auth, listed):
    response = client.get(API, headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "total", "total_capped"}
    assert body["total"] == 6
    assert body["total_capped"] is False
    names = {c["name"] for c in body["items"]}
    assert names == {f"我的客户{i}" for i in range(5)} | {"公海客户"}


def test_search_values_with_quotes_and_backslashes_are_only_text(client, auth, listed, agent):
    """Search values are written into the SQL (planned per value): quoting must hold."""
    create(client, auth, name="O'Brien\\陈", company="a'b\\c 贸易", phone="13700137000")
    for q, names in {
        "'Brien\\": {"O'Brien\\陈"},
        "b\\c 贸": {"O'Brien\\陈"},
        "'": {"O'Brien\\陈"},
        "'; DROP TABLE customers; --": set(),
        "\\'": set(),
    }.items():
        response = client.get(API, query_string={"q": q}, headers=auth)
        assert response.status_code == 200, (q, response.get_json())
        assert {c["name"] for c in response.get_json()["items"]} == names, q
    assert client.get(API, headers=auth).get_json()["total"] == 7


def test_list_total_stops_at_the_cap_and_says_so(client, auth, listed, monkeypatch):
    """Counting a million matches on every page is what the cap avoids (10,000 in use)."""
    monkeypatch.setattr("crm.customers.TOTAL_CAP", 4)
    body = client.get(API, query_string={"limit": 2}, headers=auth).get_json()
    assert (body["total"], body["total_capped"], len(body["items"])) == (4, True, 2)
    exact = client.get(API, query_string={"q": "我的客户3"}, headers=auth).get_json()
    assert (exact["total"], exact["total_capped"]) == (1, False)


def test_list_masks_phones_the_caller_may_not_see(client, auth, listed):
    items = {c["name"]: c for c in client.get(API, headers=auth).get_json()["items"]}
    assert items["公海客户"]["phones"] == ["139****5678"]
    assert items["我的客户0"]["phones"] == ["+8613800138000"]


SEARCHES = {
    "我的客户3": {"我的客户3"},
    "138 0013 8003": {"我的客户3"},
    "+8613800138004": {"我的客户4"},
    "5678": {"公海客户"},
    "xm@example.com": set(),
    "别人": set(),
    "13600136000": set(),
}


def test_list_search(client, auth, listed, subtests):
    for q, names in SEARCHES.items():
        with subtests.test(q=q):
            body = client.get(API, query_string={"q": q}, headers=auth).get_json()
            assert {c["name"] for c in body["items"]} == names
            assert body["total"] == len(names)


def test_list_pages_with_limit_and_offset(client, auth, listed):
    first = client.get(API, query_string={"limit": 4}, headers=auth).get_json()
    second = client.get(API, query_string={"limit": 4, "offset": 4}, headers=auth).get_json()
    beyond = client.get(API, query_string={"limit": 4, "offset": 40}, headers=auth).get_json()
    assert first["total"] == second["total"] == beyond["total"] == 6
    assert len(first["items"]) == 4
    assert len(second["items"]) == 2
    assert beyond["items"] == []
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(set(ids)) == 6


def test_list_filters_by_pool(client, auth, listed):
    body = client.get(API, query_string={"pool": "1"}, headers=auth).get_json()
    assert [c["name"] for c in body["items"]] == ["公海客户"]
    body = client.get(API, query_string={"pool": "0"}, headers=auth).get_json()
    assert body["total"] == 5


def test_bad_paging_is_422(client, auth, subtests):
    for query in [
        {"limit": "abc"},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"offset": "-1"},
        {"offset": "x"},
    ]:
        with subtests.test(query=query):
            assert_error(client.get(API, query_string=query, headers=auth), 422)


def test_unknown_stage_filter_is_422(client, auth, listed):
    assert_error(client.get(API, query_string={"stage": "bogus"}, headers=auth), 422)


def test_huge_offset_is_not_a_500(client, auth, listed):
    response = client.get(API, query_string={"offset": 10**20}, headers=auth)
    assert response.status_code < 500
    assert response.is_json


def test_very_large_limit_is_capped_not_refused(client, auth, listed):
    response = client.get(API, query_string={"limit": 100_000}, headers=auth)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 6


# --- read -----------------------------------------------------------------------------------


def test_read_own_customer(client, auth, make_customer, agent):
    customer = make_customer(actor=agent, name="王小明", phone="13800138000")
    response = client.get(f"{API}/{customer.id}", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == customer.id
    assert body["name"] == "王小明"
    assert body["phones"] == ["+8613800138000"]


def test_read_another_agents_customer_is_404(client, auth, rival_customer):
    error = assert_error(client.get(f"{API}/{rival_customer.id}", headers=auth), 404)
    assert "别人的客户" not in error["message"]


def test_read_unknown_customer_is_404(client, auth):
    assert_error(client.get(f"{API}/999999", headers=auth), 404)


def test_read_an_impossible_id_is_404(client, auth):
    assert_error(client.get(f"{API}/{10**20}", headers=auth), 404)


def test_read_pool_customer_masks_the_phone(client, auth, make_user, make_customer):
    pooled = make_customer(actor=make_user("admin"), name="公海", phone="13912345678")
    body = client.get(f"{API}/{pooled.id}", headers=auth).get_json()
    assert body["phones"] == ["139****5678"]


def test_read_writes_a_view_audit_entry(client, db, auth, agent, make_customer):
    customer = make_customer(actor=agent, name="被查看")
    assert client.get(f"{API}/{customer.id}", headers=auth).status_code == 200
    assert client.get(f"{API}/{customer.id}", headers=auth).status_code == 200
    with db() as session:
        views = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "view")))
    assert len(views) == 2
    assert all(v.actor_id == agent.id for v in views)
    assert all(v.entity_type == "customer" for v in views)
    assert all(v.entity_id == str(customer.id) for v in views)
    assert all(v.source == "api" for v in views)


def test_refused_read_writes_no_view_entry(client, db, auth, rival_customer):
    client.get(f"{API}/{rival_customer.id}", headers=auth)
    with db() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "view")).all() == []


# --- update ---------------------------------------------------------------------------------


def test_patch_updates_only_the_given_fields(client, db, auth, agent, make_customer):
    customer = make_customer(actor=agent, name="旧名", phone="13800138000", email="a@example.com")
    response = client.patch(
        f"{API}/{customer.id}", json={"name": "新名", "stage": "interested"}, headers=auth
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == "新名"
    assert body["stage"] == "interested"
    assert body["email"] == "a@example.com"
    assert body["phones"] == ["+8613800138000"]
    again = client.get(f"{API}/{customer.id}", headers=auth).get_json()
    assert again["name"] == "新名"
    with db() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "update"))
        assert entry.before["name"] == "旧名"
        assert entry.after["name"] == "新名"
        assert "email" not in entry.after


def test_patch_invalid_is_422_and_changes_nothing(client, auth, agent, make_customer):
    customer = make_customer(actor=agent, name="原样")
    response = client.patch(
        f"{API}/{customer.id}", json={"name": "", "email": "nope"}, headers=auth
    )
    error = assert_error(response, 422)
    assert "name" in detail_fields(error) or "email" in detail_fields(error)
    assert client.get(f"{API}/{customer.id}", headers=auth).get_json()["name"] == "原样"


def test_patch_to_a_duplicate_phone_is_409(client, auth, agent, make_customer):
    make_customer(actor=agent, name="甲", phone="13800138000")
    second = make_customer(actor=agent, name="乙", phone="13900139000")
    response = client.patch(f"{API}/{second.id}", json={"phone": "138-0013-8000"}, headers=auth)
    assert_error(response, 409, "duplicate_customer")
    assert client.get(f"{API}/{second.id}", headers=auth).get_json()["phones"] == ["+8613900139000"]


def test_patch_adding_a_second_phone_keeps_the_first(client, auth, agent, make_customer):
    customer = make_customer(actor=agent, name="甲", phone="13800138000")
    response = client.patch(
        f"{API}/{customer.id}", json={"phones": ["13800138000", "13900139000"]}, headers=auth
    )
    assert response.status_code == 200
    assert response.get_json()["phones"] == ["+8613800138000", "+8613900139000"]


def test_patch_another_agents_customer_is_404(client, db, auth, rival_customer):
    response = client.patch(f"{API}/{rival_customer.id}", json={"name": "抢"}, headers=auth)
    assert_error(response, 404)
    with db() as session:
        assert session.get(Customer, rival_customer.id).name == "别人的客户"


def test_patch_with_a_non_json_body_is_4xx(client, auth, agent, make_customer):
    customer = make_customer(actor=agent)
    response = client.patch(
        f"{API}/{customer.id}", data="name=x", content_type="text/plain", headers=auth
    )
    assert_error(response, response.status_code)
    assert 400 <= response.status_code < 500


# --- notes and calls ------------------------------------------------------------------------


def test_post_note(client, db, auth, agent, make_customer):
    customer = make_customer(actor=agent)
    response = client.post(
        f"{API}/{customer.id}/notes", json={"text": "  下周回电  "}, headers=auth
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["text"] == "下周回电"
    assert body["customer_id"] == customer.id
    assert body["created_at"]
    with db() as session:
        note = session.get(Activity, body["id"])
        assert note.author_id == agent.id


def test_post_empty_note_is_422(client, db, auth, agent, make_customer, subtests):
    customer = make_customer(actor=agent)
    for body in [{"text": ""}, {"text": "   "}, {}, {"text": 5}]:
        with subtests.test(body=body):
            response = client.post(f"{API}/{customer.id}/notes", json=body, headers=auth)
            assert detail_fields(assert_error(response, 422)) == {"text"}
    with db() as session:
        assert count(session, Activity) == 0


def test_post_note_on_another_agents_customer_is_404(client, db, auth, rival_customer):
    response = client.post(f"{API}/{rival_customer.id}/notes", json={"text": "x"}, headers=auth)
    assert_error(response, 404)
    with db() as session:
        assert count(session, Activity) == 0


def test_post_call(client, db, auth, agent, make_customer):
    customer = make_customer(actor=agent, phone="13800138000")
    response = client.post(
        f"{API}/{customer.id}/calls",
        json={
            "disposition": "callback_requested",
            "duration_s": 61,
            "started_at": "2026-05-01T10:00:00+08:00",
            "external_id": "pbx-1",
        },
        headers=auth,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["disposition"] == "callback_requested"
    assert body["duration_s"] == 61
    assert body["customer_id"] == customer.id
    assert body["external_id"] == "pbx-1"
    assert datetime.fromisoformat(body["started_at"]) == datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
    with db() as session:
        assert session.get(Call, body["id"]).agent_id == agent.id


def test_post_same_call_twice_is_stored_once(client, db, auth, agent, make_customer):
    customer = make_customer(actor=agent)
    call = {"disposition": "no_answer", "external_id": "pbx-7"}
    first = client.post(f"{API}/{customer.id}/calls", json=call, headers=auth).get_json()
    second = client.post(f"{API}/{customer.id}/calls", json=call, headers=auth)
    assert second.status_code in (200, 201)
    assert second.get_json()["id"] == first["id"]
    with db() as session:
        assert count(session, Call) == 1


def test_post_do_not_call_flags_the_customer(client, auth, agent, make_customer):
    customer = make_customer(actor=agent)
    client.post(f"{API}/{customer.id}/calls", json={"disposition": "do_not_call"}, headers=auth)
    assert client.get(f"{API}/{customer.id}", headers=auth).get_json()["do_not_call"] is True


def test_post_invalid_call_is_422_with_details(client, db, auth, agent, make_customer):
    customer = make_customer(actor=agent)
    response = client.post(
        f"{API}/{customer.id}/calls",
        json={"disposition": "maybe", "duration_s": -3, "started_at": "2026-05-01T10:00:00"},
        headers=auth,
    )
    error = assert_error(response, 422)
    assert detail_fields(error) == {"disposition", "duration_s", "started_at"}
    with db() as session:
        assert count(session, Call) == 0


def test_post_call_on_another_agents_customer_is_404(client, auth, rival_customer):
    response = client.post(
        f"{API}/{rival_customer.id}/calls", json={"disposition": "busy"}, headers=auth
    )
    assert_error(response, 404)


def test_unknown_api_path_is_a_json_404(client, auth):
    assert_error(client.get("/api/v1/no-such-thing", headers=auth), 404)


def test_wrong_method_on_the_api_is_a_json_405(client, auth):
    assert_error(client.put(API, json={}, headers=auth), 405)


# --- phone masking and owner changes through PATCH -----------------------------------------


def test_patch_of_a_pool_lead_returns_the_masked_phone_like_get(
    client, auth, make_user, make_customer
):
    pooled = make_customer(actor=make_user("admin"), name="公海线索", phone="13912345678")
    shown = client.get(f"{API}/{pooled.id}", headers=auth).get_json()["phones"]
    response = client.patch(f"{API}/{pooled.id}", json={}, headers=auth)
    assert response.status_code == 200, response.get_json()
    phones = response.get_json()["phones"]
    assert phones == shown
    assert "+8613912345678" not in phones
    assert "****" in phones[0]


def views_of(db, customer_id: int, user_id: int) -> int:
    with db() as session:
        return len(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "view",
                    AuditEntry.entity_type == "customer",
                    AuditEntry.entity_id == str(customer_id),
                    AuditEntry.actor_id == user_id,
                    AuditEntry.source == "api",
                )
            ).all()
        )


def test_the_agent_dialing_a_customer_reads_the_full_number_while_the_task_is_theirs(
    client, db, desk, auth, agent, make_user, make_customer
):
    """Not the owner, but the assignee of an open call task about the customer: like the
    customer page, the API shows them the number they are to dial, and the read is audited."""
    pooled = make_customer(actor=make_user("admin"), name="公海线索", phone="13912345678")
    [task] = desk.start_call(pooled.id)["ready_tasks"]
    assert task["assignee"] == desk.agent.id  # li is dialing them

    read = client.get(f"{API}/{pooled.id}", headers=desk.agent_api)
    assert read.status_code == 200, read.get_json()
    assert read.get_json()["phones"] == ["+8613912345678"]
    assert views_of(db, pooled.id, desk.agent.id) == 1
    patched = client.patch(f"{API}/{pooled.id}", json={}, headers=desk.agent_api)
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["phones"] == ["+8613912345678"]  # like GET
    assert sign_in(client, "li").status_code == 302  # the page agrees
    assert 'href="tel:+8613912345678"' in client.get(f"/customers/{pooled.id}").text

    others = client.get(f"{API}/{pooled.id}", headers=auth)  # another agent, not dialing
    assert others.get_json()["phones"] == ["139****5678"]
    assert views_of(db, pooled.id, agent.id) == 1

    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"data": {"outcome": "no_answer", "interest": 1, "callback_at": "2026-05-06T14:30"}},
        headers=desk.agent_api,
    )
    assert done.status_code == 200, done.get_json()
    after = client.get(f"{API}/{pooled.id}", headers=desk.agent_api)  # no longer dialing
    assert after.get_json()["phones"] == ["139****5678"]
    assert views_of(db, pooled.id, desk.agent.id) == 2


def test_the_agent_dialing_a_customer_cannot_change_the_number_through_patch(
    client, db, desk, make_user, make_customer
):
    """Dialing them shows the number, not the right to change it: a change of the phones is
    403 phone_change_forbidden and nothing of the request is saved; the same number in
    another format is no change."""
    pooled = make_customer(actor=make_user("admin"), name="公海线索", phone="13912345678")
    desk.start_call(pooled.id)
    for change in ({"phones": ["13700137000"]}, {"phone": "13700137000"}, {"phone": None}):
        response = client.patch(
            f"{API}/{pooled.id}", json={"company": "新公司", **change}, headers=desk.agent_api
        )
        error = assert_error(response, 403, "phone_change_forbidden")
        assert detail_fields(error) == set(change)
    with db() as session:
        stored = session.get(Customer, pooled.id)
        assert (stored.company, stored.primary_phone) == (None, "+8613912345678")
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all() == []

    same = client.patch(
        f"{API}/{pooled.id}",
        json={"company": "新公司", "phone": "139 1234 5678"},
        headers=desk.agent_api,
    )
    assert same.status_code == 200, same.get_json()
    assert (same.get_json()["company"], same.get_json()["phones"]) == ("新公司", ["+8613912345678"])


def test_an_agent_who_sees_the_number_masked_cannot_change_it(
    client, db, auth, make_user, make_customer
):
    pooled = make_customer(actor=make_user("admin"), name="公海线索", phone="13912345678")
    response = client.patch(f"{API}/{pooled.id}", json={"phones": []}, headers=auth)
    assert_error(response, 403, "phone_change_forbidden")
    with db() as session:
        assert session.get(Customer, pooled.id).primary_phone == "+8613912345678"


def test_the_owners_manager_may_change_the_number(client, db, make_user, make_customer):
    manager = make_user("manager", username="boss")
    theirs = make_customer(actor=make_user("agent"), name="客户", phone="13912345673")
    response = client.patch(
        f"{API}/{theirs.id}", json={"phone": "13700137000"}, headers=bearer(db, manager)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phones"] == ["+8613700137000"]


def test_patch_of_own_customer_still_shows_the_full_phone(client, auth, agent, make_customer):
    mine = make_customer(actor=agent, name="我的客户", phone="13912345679")
    response = client.patch(f"{API}/{mine.id}", json={"company": "新公司"}, headers=auth)
    assert response.status_code == 200
    assert response.get_json()["phones"] == ["+8613912345679"]


def test_agents_cannot_take_a_pool_lead_through_patch(
    client, db, auth, agent, make_user, make_customer
):
    pooled = make_customer(actor=make_user("admin"), name="公海线索", phone="13912345670")
    response = client.patch(f"{API}/{pooled.id}", json={"owner": agent.username}, headers=auth)
    assert_error(response, 403, "owner_change_forbidden")
    with db() as session:
        customer = session.get(Customer, pooled.id)
        assert customer.owner_id is None
        assert customer.pool_status.value == "pool"


def test_agents_cannot_hand_their_customer_to_someone_else(
    client, db, auth, agent, make_user, make_customer
):
    other = make_user("agent", username="colleague")
    mine = make_customer(actor=agent, name="我的客户", phone="13912345671")
    for owner in (other.username, None):
        response = client.patch(f"{API}/{mine.id}", json={"owner": owner}, headers=auth)
        assert_error(response, 403, "owner_change_forbidden")
    with db() as session:
        assert session.get(Customer, mine.id).owner_id == agent.id


def test_managers_may_reassign_a_customer(client, db, make_user, make_customer):
    manager = make_user("manager", username="boss")
    other = make_user("agent", username="colleague")
    mine = make_customer(actor=make_user("agent"), name="客户", phone="13912345672")
    response = client.patch(
        f"{API}/{mine.id}", json={"owner": other.username}, headers=bearer(db, manager)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["owner_id"] == other.id


def test_created_customer_in_the_pool_comes_back_masked(client, auth):
    response = create(client, auth, name="给公海", phone="13912345673", owner=None)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["pool_status"] == "pool"
    assert "+8613912345673" not in body["phones"]
