"""What a fuzzer does not send, probed by hand: the same request several times at once, ids
in digits other than ASCII, bodies over the size limit and refusals the OpenAPI document did
not list. Each answers as documented, never 500, and stores what one request would."""

from __future__ import annotations

import threading
from datetime import datetime
from io import BytesIO
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from flask import Flask
from sqlalchemy import func, select

from crm.models import Call, Customer, Deal, Setting, WebhookSubscription
from engine.models import ProcessInstance
from tests.web.crm_api_helpers import bearer, error_of, fields_of, one_step_diagram
from web import create_app

ROUNDS = 3  # each race is run a few times: one round may happen not to overlap


@pytest.fixture
def people(db, make_user):
    agent = make_user("agent", username="agent_h", team="East")
    admin = make_user("admin", username="admin_h", team=None)
    return {"agent": (agent, bearer(db, agent)), "admin": (admin, bearer(db, admin))}


def together(app: Flask, method: str, url: str, headers: dict, bodies: list[Any]) -> list[Any]:
    """Send ``method url`` once per body, each from its own thread, released by one barrier:
    ``(status, json)`` each."""
    barrier = threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def run(index: int) -> None:
        client = app.test_client()  # one client per thread, like two integrations
        barrier.wait()
        response = client.open(url, method=method, headers=headers, json=bodies[index])
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


# -- the same request several times at once ---------------------------------------------------


def test_one_call_logged_by_several_requests_at_once_is_logged_once(app, db, people, make_customer):
    customer = make_customer(actor=people["agent"][0])
    for n in range(ROUNDS):
        body = {"customer_id": customer.id, "external_id": f"pbx-{n}", "duration_s": 30}
        results = together(app, "POST", "/api/v1/calls", people["agent"][1], [body] * 4)
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 200, 200, 201], results  # was 500 for all but one
        assert len({answer["id"] for _, answer in results}) == 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == ROUNDS


def test_one_call_logged_at_once_on_the_customer_is_logged_once(app, db, people, make_customer):
    customer = make_customer(actor=people["agent"][0])
    url = f"/api/v1/customers/{customer.id}/calls"
    for n in range(ROUNDS):
        body = {"external_id": f"pbx-c-{n}", "disposition": "no_answer"}
        results = together(app, "POST", url, people["agent"][1], [body] * 4)
        assert [status for status, _ in results] == [201] * 4, results
        assert len({answer["id"] for _, answer in results}) == 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == ROUNDS


def test_a_setting_first_stored_by_several_requests_at_once(app, db, people):
    keys = ["pool", "cadence", "assignment"][:ROUNDS]
    for key in keys:
        bodies = [{"value": {}} for _ in range(3)]
        results = together(app, "PUT", f"/api/v1/settings/{key}", people["admin"][1], bodies)
        assert [status for status, _ in results] == [200] * 3, results  # was 500
    with db() as session:
        stored = session.scalars(select(Setting.key).where(Setting.key.in_(keys))).all()
    assert sorted(stored) == sorted(keys)


def test_one_email_given_to_several_new_customers_at_once_makes_one(app, db, people):
    for n in range(ROUNDS):
        email = f"race{n}@example.com"
        bodies = [{"name": f"张三{i}", "email": email} for i in range(4)]
        results = together(app, "POST", "/api/v1/customers", people["admin"][1], bodies)
        assert sorted(status for status, _ in results) == [201, 409, 409, 409], results
        for status, answer in results:
            if status == 409:
                assert answer["error"]["code"] == "duplicate_customer"
        with db() as session:
            same = select(func.count()).where(func.lower(Customer.email) == email)
            assert session.scalar(same) == 1


# -- ids in other digits ----------------------------------------------------------------------


@pytest.mark.parametrize("zero", ["\uff10", "\u0660", "\u0966"])  # fullwidth, Arabic, Devanagari
def test_an_id_in_digits_other_than_ascii_names_nothing(client, db, people, make_customer, zero):
    customer = make_customer(actor=people["agent"][0], name="王小明")
    written = quote("".join(chr(ord(zero) + int(d)) for d in str(customer.id)))  # int() reads it
    auth = people["admin"][1]
    error_of(client.get(f"/api/v1/customers/{written}", headers=auth), 404)
    error_of(client.delete(f"/api/v1/customers/{written}", headers=auth), 404)
    with db() as session:
        assert session.get(Customer, customer.id).name == "王小明"  # not erased


# -- refusals the document lists --------------------------------------------------------------


def test_a_call_id_of_another_customer_is_a_documented_409(client, people, make_customer):
    auth = people["agent"][1]
    first = make_customer(actor=people["agent"][0])
    second = make_customer(actor=people["agent"][0])
    body = {"external_id": "pbx-shared"}
    assert client.post(f"/api/v1/customers/{first.id}/calls", json=body, headers=auth).status_code
    answer = client.post(f"/api/v1/customers/{second.id}/calls", json=body, headers=auth)
    error_of(answer, 409, "duplicate_external_id")
    document = client.get("/api/v1/openapi.json").get_json()
    assert "409" in document["paths"]["/api/v1/customers/{customer_id}/calls"]["post"]["responses"]


def test_a_body_over_the_size_limit_is_a_documented_413(runtime, people):
    app = create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 4096}, runtime=runtime)
    client = app.test_client()
    body = {"name": "张三", "phone": "13900001111", "address": "长" * 4000}
    answer = client.post("/api/v1/customers", json=body, headers=people["agent"][1])
    error_of(answer, 413, "payload_too_large")
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)


# -- values of the wrong kind -----------------------------------------------------------------


def test_a_business_key_of_true_is_refused_and_nothing_starts(client, db, make_user):
    owner = make_user("process_owner", username="owner_h", team=None)
    auth = bearer(db, owner)
    content, name = one_step_diagram("key_check", "review", "Review")
    deployed = client.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name)]},
        content_type="multipart/form-data",
        headers=auth,
    )
    assert deployed.status_code == 201, deployed.get_json()
    for key in (True, False):  # was started under the key "True" (messages refuse it)
        body = {"process_id": "key_check", "business_key": key}
        answer = client.post("/api/v1/process-instances", json=body, headers=auth)
        assert fields_of(error_of(answer, 422, "invalid_input")) == {"business_key"}
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    # an integer (an order number) is taken as its digits, as documented
    body = {"process_id": "key_check", "business_key": 20261205}
    answer = client.post("/api/v1/process-instances", json=body, headers=auth)
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["business_key"] == "20261205"


@pytest.mark.parametrize("field", ["bpmn", "dmn"])
def test_a_deploy_field_of_the_wrong_kind_is_named_as_sent(client, db, make_user, field):
    auth = bearer(db, make_user("process_owner", username="owner_k", team=None))
    body = {"bpmn": "<definitions/>", field: 5}
    answer = client.post("/api/v1/process-models/validate", json=body, headers=auth)
    error = error_of(answer, 422, "invalid_bpmn")
    assert error["message"].startswith(f"'{field}' must be")  # was 'process' or 'decision'
    assert error["details"][0]["message"] == f"bad '{field}' field"


@pytest.mark.parametrize("currency", ["😀😀😀", "12$", "人民币", "ＣＮＹ"])
def test_a_deal_currency_that_is_no_code_is_refused(client, db, people, make_customer, currency):
    auth = people["admin"][1]
    customer = make_customer(actor=people["agent"][0])
    body = {"customer_id": customer.id, "title": "年度套餐", "amount": "100", "currency": currency}
    answer = client.post("/api/v1/deals", json=body, headers=auth)  # was stored as sent
    assert fields_of(error_of(answer, 422, "invalid_input")) == {"currency"}
    created = client.post("/api/v1/deals", json={**body, "currency": "usd"}, headers=auth)
    assert created.get_json()["currency"] == "USD"
    deal_id = created.get_json()["id"]
    patched = client.patch(f"/api/v1/deals/{deal_id}", json={"currency": currency}, headers=auth)
    assert fields_of(error_of(patched, 422, "invalid_input")) == {"currency"}
    with db() as session:
        assert session.scalars(select(Deal.currency)).all() == ["USD"]


# -- paging -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["limit", "offset"])
def test_a_page_number_that_is_no_integer_is_refused(client, people, name):
    for value in ["1_0", "\u0661\u0662", "\uff15", "+5", " 5", "5 "]:  # int() read 10, 12, 5
        answer = client.get(
            "/api/v1/customers", query_string={name: value}, headers=people["admin"][1]
        )
        error_of(answer, 422, "invalid_paging")


def test_a_page_size_of_any_length_is_the_largest_page(client, people, make_customer):
    for _ in range(2):
        make_customer(actor=people["agent"][0])
    auth = people["admin"][1]
    for limit, count in [("9" * 5000, 2), ("0" * 20 + "1", 1)]:  # the first was refused
        answer = client.get(f"/api/v1/customers?limit={limit}", headers=auth)
        assert answer.status_code == 200, answer.get_json()
        assert len(answer.get_json()["items"]) == count
    deep = client.get(f"/api/v1/customers?offset={'9' * 5000}", headers=auth)
    error_of(deep, 422, "invalid_paging")


# -- webhook targets --------------------------------------------------------------------------


def test_a_link_local_webhook_target_with_a_zone_in_the_url_is_refused(client, db, people):
    auth = people["admin"][1]
    for url in ["https://[fe80::1%25eth9]/hook", "https://[fe80::a9fe:a9fe%25lan]/hook"]:
        body = {"url": url, "event_types": ["deal.won"]}  # was stored: getaddrinfo knew no eth9
        answer = client.post("/api/v1/webhooks", json=body, headers=auth)
        error = error_of(answer, 422, "webhook_target_refused")
        assert error["details"][0]["kind"] == "link-local"
    with db() as session:
        assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_a_deal_closing_near_year_1_or_9999_is_refused(client, db, people, make_customer):
    auth = people["admin"][1]
    customer = make_customer(actor=people["agent"][0])
    body = {"customer_id": customer.id, "title": "年度套餐", "amount": "100"}
    for day in ("0001-01-01", "9999-12-31"):  # was stored as sent
        answer = client.post("/api/v1/deals", json={**body, "expected_close": day}, headers=auth)
        assert fields_of(error_of(answer, 422, "invalid_input")) == {"expected_close"}
    created = client.post(
        "/api/v1/deals", json={**body, "expected_close": "2027-01-31"}, headers=auth
    )
    deal_id = created.get_json()["id"]
    patched = client.patch(
        f"/api/v1/deals/{deal_id}", json={"expected_close": "0001-01-01"}, headers=auth
    )
    assert fields_of(error_of(patched, 422, "invalid_input")) == {"expected_close"}
    with db() as session:
        assert [str(d) for d in session.scalars(select(Deal.expected_close))] == ["2027-01-31"]


# -- what the API takes, as its document says -------------------------------------------------


def _request_schema(client: Any, path: str, method: str) -> dict[str, Any]:
    """The operation's JSON request schema, its OpenAPI ``nullable`` as JSON Schema says it."""

    def plain(node: Any) -> Any:
        if isinstance(node, list):
            return [plain(item) for item in node]
        if not isinstance(node, dict):
            return node
        found = {key: plain(value) for key, value in node.items()}
        if found.pop("nullable", False):
            return {"anyOf": [found, {"type": "null"}]}
        return found

    document = client.get("/api/v1/openapi.json").get_json()
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    return plain(body["schema"])


def _date_time_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None

    return checker


def test_what_the_api_takes_the_document_allows(client, db, people, make_customer):
    """Found by the long fuzz run: an empty date-time (now), a quote without an amount (the
    deal's), a PBX event's unknown agent (null) were taken though the document refused them."""
    auth = people["admin"][1]
    customer = make_customer(actor=people["agent"][0])
    checker = _date_time_checker()
    # Not sent (the event unsigned, the quote without its process): the fuzz run sent them.
    event = {"event_id": "e", "type": "call.ended", "call_id": "c", "at": "", "agent": None}
    for path, url, method, body in [
        ("/api/v1/calls", "/api/v1/calls", "post", {"customer_id": customer.id, "started_at": ""}),
        ("/api/v1/telephony/events", None, "post", event),
        ("/api/v1/deals/{deal_id}/quote", None, "post", {"discount_pct": 5, "amount": None}),
    ]:  # fmt: skip
        if url is not None:
            assert client.open(url, method=method, json=body, headers=auth).status_code == 201
        jsonschema.validate(body, _request_schema(client, path, method), format_checker=checker)


def test_a_webhook_description_that_is_no_text_is_refused(client, db, people):
    auth = people["admin"][1]
    body = {"url": "https://hooks.example.com/in", "event_types": ["deal.won"], "description": 5}
    answer = client.post("/api/v1/webhooks", json=body, headers=auth)  # was stored as "5"
    assert fields_of(error_of(answer, 422, "invalid_webhook")) == {"description"}
    with db() as session:
        assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_a_deal_title_or_note_that_is_no_text_is_refused(client, db, people, make_customer):
    """Numbers were taken where the document says text: a title of 5 became "5"."""
    auth = people["agent"][1]
    customer = make_customer(actor=people["agent"][0])
    body = {"customer_id": customer.id, "title": 5, "currency": "CNY"}
    answer = client.post("/api/v1/deals", json=body, headers=auth)
    assert fields_of(error_of(answer, 422)) == {"title"}
    deal = client.post("/api/v1/deals", json={**body, "title": "年度合同"}, headers=auth)
    assert deal.status_code == 201, deal.get_json()
    answer = client.patch(
        f"/api/v1/deals/{deal.get_json()['id']}", json={"title": 0.0}, headers=auth
    )
    assert fields_of(error_of(answer, 422)) == {"title"}
    answer = client.post(f"/api/v1/customers/{customer.id}/notes", json={"text": 42}, headers=auth)
    assert fields_of(error_of(answer, 422)) == {"text"}
    with db() as session:
        assert session.scalars(select(Deal.title)).all() == ["年度合同"]


# -- the same subscription deleted at once; ids beyond any row ---------------------------------


def test_one_subscription_deleted_by_several_requests_at_once(app, db, people, recwarn):
    auth = people["admin"][1]
    body = {"url": "https://hooks.example.com/in", "event_types": ["deal.won"]}
    for _ in range(ROUNDS):
        created = app.test_client().post("/api/v1/webhooks", json=body, headers=auth)
        url = f"/api/v1/webhooks/{created.get_json()['id']}"
        results = together(app, "DELETE", url, auth, [None] * 3)
        assert sorted(status for status, _ in results) == [200, 404, 404], results  # 200 each
        codes = {answer["error"]["code"] for status, answer in results if status == 404}
        gone = app.test_client().delete(url, headers=auth).get_json()["error"]["code"]
        assert codes == {gone}
    assert not [w for w in recwarn if "SAWarning" in type(w.message).__name__], list(recwarn)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers/{}",
        "/api/v1/customers/{}/timeline",
        "/api/v1/deals/{}",
        "/api/v1/webhooks/{}",
        "/api/v1/webhooks/{}/deliveries",
        "/api/v1/jobs/{}",
        "/api/v1/process-instances/{}",
    ],
)
def test_an_id_beyond_any_row_is_named_in_the_not_found_message(client, people, path):
    for big in (2**31, 10**30):  # the message read "No customer #0."
        error = error_of(client.get(path.format(big), headers=people["admin"][1]), 404)
        assert str(big) in error["message"] and "#0" not in error["message"], error
        # any method answers as for an id no row has (404 where the path takes it, else 405)
        missing = client.delete(path.format(2**31 - 1), headers=people["admin"][1])
        huge = client.delete(path.format(big), headers=people["admin"][1])
        assert huge.status_code == missing.status_code, (huge.get_json(), missing.get_json())


def test_a_json_body_over_a_megabyte_is_413_and_nothing_is_stored(client, db, make_user):
    """A 10-million-character value was stored in an instance (a 60 MB row every later step
    reads). Data sent to the API as JSON now stops at 1 MB, with the code and what to do."""
    owner = make_user("process_owner", username="owner_big", team=None)
    auth = bearer(db, owner)
    content, name = one_step_diagram("big_data", "review", "Review")
    deployed = client.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name)]},
        content_type="multipart/form-data",
        headers=auth,
    )
    assert deployed.status_code == 201, deployed.get_json()
    big = {"process_id": "big_data", "data": {"note": "x" * (1024 * 1024)}}
    error = error_of(client.post("/api/v1/process-instances", json=big, headers=auth), 413)
    assert error["code"] == "payload_too_large" and "1024 KB" in error["message"], error
    message = {"name": "customer_replied", "payload": {"note": "x" * (1024 * 1024)}}
    error_of(client.post("/api/v1/messages", json=message, headers=auth), 413)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    fits = {"process_id": "big_data", "data": {"note": "x" * (900 * 1024)}}
    started = client.post("/api/v1/process-instances", json=fits, headers=auth)
    assert started.status_code == 201, started.get_json()
