"""Bad input found by fuzzing the API against its OpenAPI document: each answers a 4xx in the
error shape, never a 500, and stores nothing.

Huge ids and numbers, dates near year 1 or 9999, NUL characters in query strings and paths,
numbers beyond a float's range in JSON bodies.
"""

from __future__ import annotations

import pytest

from crm.models import Call, Customer
from tests.conftest import count
from tests.web.crm_api_helpers import bearer, error_of, fields_of

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def people(db, make_user):
    agent = make_user("agent", username="agent_a", team="East")
    admin = make_user("admin", username="boss", team=None)
    return {"agent": (agent, bearer(db, agent)), "admin": (admin, bearer(db, admin))}


@pytest.fixture
def customer(make_customer, people):
    return make_customer(actor=people["agent"][0], name="王小明", phone="13800138000")


# -- ids in query strings: too large for the database's integers, or not ASCII digits ----------


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/customers/export"])
@pytest.mark.parametrize("value", ["99999999999999999999", "2147483648", "١٢", "１", "1_0"])
def test_an_owner_id_that_is_no_id_is_refused(client, people, customer, path, value):
    response = client.get(f"{path}?owner_id={value}", headers=people["admin"][1])
    assert fields_of(error_of(response, 422, "invalid_input")) == {"owner_id"}


def test_the_owner_filter_still_filters(client, people, customer):
    agent, auth = people["admin"][0], people["admin"][1]
    owner = people["agent"][0]
    mine = client.get(f"/api/v1/customers?owner_id={owner.id}", headers=auth).get_json()
    assert [c["id"] for c in mine["items"]] == [customer.id]
    others = client.get(f"/api/v1/customers?owner_id={agent.id}", headers=auth).get_json()
    assert others["items"] == []


@pytest.mark.parametrize("value", ["١٢", "99999999999999999999", "1_0"])
def test_an_id_filter_of_the_calls_that_is_no_id_is_refused(client, people, value):
    response = client.get(f"/api/v1/calls?customer_id={value}", headers=people["admin"][1])
    assert fields_of(error_of(response, 422)) == {"customer_id"}


# -- dates near the ends of the calendar -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("to", "9999-12-31"),  # the end date's next day overflowed
        ("from", "0001-01-01T00:00:00%2B14:00"),  # moved to UTC, before year 1
        ("to", "9999-12-31T23:59:59-14:00"),  # moved to UTC, after year 9999
        ("from", "0001-01-01"),
    ],
)
def test_a_call_list_date_far_off_is_refused(client, people, name, value):
    response = client.get(f"/api/v1/calls?{name}={value}", headers=people["admin"][1])
    assert fields_of(error_of(response, 422)) == {name}


def test_a_call_list_date_still_filters(client, people, customer):
    auth = people["agent"][1]
    client.post(
        "/api/v1/calls",
        json={"customer_id": customer.id, "started_at": "2026-05-01T10:00:00+08:00"},
        headers=auth,
    )
    inside = client.get("/api/v1/calls?from=2026-05-01&to=2026-05-01", headers=auth).get_json()
    after = client.get("/api/v1/calls?from=2026-05-02", headers=auth).get_json()
    assert (inside["total"], after["total"]) == (1, 0)


@pytest.mark.parametrize(
    "started_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1000-01-01T00:00Z"]
)
@pytest.mark.parametrize("path", ["/api/v1/calls", "/api/v1/customers/{id}/calls"])
def test_a_call_started_far_off_is_refused_and_not_logged(
    client, db, people, customer, started_at, path
):
    response = client.post(
        path.format(id=customer.id),
        json={"customer_id": customer.id, "started_at": started_at, "duration_s": 60},
        headers=people["agent"][1],
    )
    assert fields_of(error_of(response, 422)) == {"started_at"}
    with db() as session:
        assert count(session, Call) == 0


# -- numbers beyond a float's range in JSON bodies ---------------------------------------------


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E999"])
def test_a_number_beyond_a_float_is_refused_as_invalid_json(client, db, people, customer, number):
    body = f'{{"customer_id": {customer.id}, "duration_s": {number}}}'
    response = client.post("/api/v1/calls", data=body, headers={**JSON, **people["agent"][1]})
    error_of(response, 422, "invalid_json")
    nested = f'{{"name": "张三", "phone": "13900001111", "extra": [{{"x": {number}}}]}}'
    response = client.post("/api/v1/customers", data=nested, headers={**JSON, **people["agent"][1]})
    error_of(response, 422, "invalid_json")
    with db() as session:
        assert (count(session, Call), count(session, Customer)) == (0, 1)


def test_a_large_float_that_fits_is_still_read(client, people, customer):
    body = f'{{"customer_id": {customer.id}, "duration_s": 1e3}}'
    response = client.post("/api/v1/calls", data=body, headers={**JSON, **people["agent"][1]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["duration_s"] == 1000


# -- an owner id too large for the database ----------------------------------------------------


@pytest.mark.parametrize("owner", [2**31, 2**63, 10**30, 0, -1])
def test_a_customer_owner_id_that_names_nobody_is_refused(client, db, people, owner):
    response = client.post(
        "/api/v1/customers",
        json={"name": "张三", "phone": "13900001111", "owner": owner},
        headers=people["admin"][1],
    )
    assert fields_of(error_of(response, 422)) == {"owner"}
    with db() as session:
        assert count(session, Customer) == 0


def test_a_customer_owner_change_to_a_huge_id_keeps_the_owner(client, db, people, customer):
    response = client.patch(
        f"/api/v1/customers/{customer.id}", json={"owner": 2**40}, headers=people["admin"][1]
    )
    assert fields_of(error_of(response, 422)) == {"owner"}
    with db() as session:
        assert session.get(Customer, customer.id).owner_id == people["agent"][0].id


# -- NUL characters in the URL -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/customers?q=%00", "q"),
        ("/api/v1/customers?q=a%00b", "q"),
        ("/api/v1/customers?tag=%00", "tag"),
        ("/api/v1/customers/export?q=%00", "q"),
        ("/api/v1/tasks?process_id=%00", "process_id"),
        ("/api/v1/tasks?business_key=x%00", "business_key"),
        ("/api/v1/process-instances?business_key=%00", "business_key"),
        ("/api/v1/process-instances?process_id=%00", "process_id"),
    ],
)
def test_a_nul_in_a_query_parameter_is_refused(client, people, customer, path, field):
    response = client.get(path, headers=people["admin"][1])
    assert fields_of(error_of(response, 422, "invalid_input")) == {field}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/tasks/%00/claim"),
        ("post", "/api/v1/tasks/a%00/complete"),
        ("get", "/api/v1/process-models/%00/versions/1/bpmn"),
        ("get", "/api/v1/process-models/%00/diff?from=1&to=2"),
        ("get", "/api/v1/settings/%00"),
    ],
)
def test_a_nul_in_a_path_is_not_found(client, people, method, path):
    response = getattr(client, method)(path, headers=people["admin"][1], json={})
    error_of(response, 404)


def test_a_nul_in_the_customer_page_search_is_refused(client, make_user):
    from tests.conftest import PASSWORD, sign_in

    make_user("admin", username="page_admin", team=None, password=PASSWORD)
    sign_in(client, "page_admin")
    response = client.get("/customers?q=%00")
    assert response.status_code == 422
    assert "invalid_input" in response.get_data(as_text=True)


# -- version numbers no version can have -------------------------------------------------------


@pytest.fixture
def owner_auth(db, make_user):
    return bearer(db, make_user("process_owner", username="owner_a", team=None))


@pytest.mark.parametrize("version", [2**31, 2**63, 10**30, 0, -1])
def test_an_instance_start_with_a_version_no_version_has_is_refused(client, owner_auth, version):
    response = client.post(
        "/api/v1/process-instances",
        json={"process_id": "lead_intake", "version": version},
        headers=owner_auth,
    )
    assert fields_of(error_of(response, 422)) == {"version"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/process-instances/1/migrate",
        "/api/v1/process-models/lead_intake/versions/1/migration-check",
        "/api/v1/process-models/lead_intake/versions/1/migrate",
    ],
)
def test_a_migration_to_a_version_no_version_has_is_refused(client, owner_auth, path):
    response = client.post(path, json={"to_version": 2**40}, headers=owner_auth)
    assert fields_of(error_of(response, 422)) == {"to_version"}


# -- messages: keys longer than their columns --------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("business_key", "k" * 121), ("message_id", "m" * 201), ("business_key", 10**200)],
)
def test_a_message_key_longer_than_its_column_is_refused_and_not_recorded(
    client, db, people, field, value
):
    from engine.models import ReceivedMessage

    response = client.post(
        "/api/v1/messages", json={"name": "paid", field: value}, headers=people["admin"][1]
    )
    assert fields_of(error_of(response, 422)) == {field}
    with db() as session:
        assert count(session, ReceivedMessage) == 0


def test_a_message_key_as_long_as_its_column_is_recorded(client, db, people):
    response = client.post(
        "/api/v1/messages",
        json={"name": "paid", "business_key": "k" * 120, "message_id": "m" * 200},
        headers=people["admin"][1],
    )
    error_of(response, 404, "no_matching_instance")


# -- uploaded files: form JSON and import mappings ---------------------------------------------


DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000


@pytest.mark.parametrize(
    "form",
    [
        DEEP,
        b'{"type": "object", "title": "\\ud800"}',
        b'{"type": "object", "title": "a\\u0000"}',
        b'{"type": "object", "maximum": NaN}',
        b'{"type": "object", "maximum": 1e400}',
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/process-models", "/api/v1/process-models/validate"])
def test_an_uploaded_form_that_is_not_strict_json_is_refused(client, owner_auth, form, path):
    from io import BytesIO

    response = client.post(
        path,
        data={"file": (BytesIO(form), "call-form.json")},
        headers=owner_auth,
        content_type="multipart/form-data",
    )
    error = error_of(response, 422, "invalid_bpmn")
    assert "call-form.json: invalid JSON" in error["details"][0]["message"]


@pytest.mark.parametrize("mapping", [DEEP.decode()])
@pytest.mark.parametrize("query", ["", "?dry_run=1"])
def test_an_import_mapping_that_is_not_strict_json_is_refused(client, db, people, mapping, query):
    from io import BytesIO

    from crm.models import Job

    response = client.post(
        "/api/v1/customers/import" + query,
        data={
            "file": (BytesIO("姓名,手机\n张三,13900001111\n".encode()), "客户.csv"),
            "mapping": mapping,
        },
        headers=people["admin"][1],
        content_type="multipart/form-data",
    )
    error_of(response, 422, "invalid_mapping")
    with db() as session:
        assert count(session, Job) == 0


# -- answers that did not match their documented schema ----------------------------------------


def test_a_call_logged_without_a_disposition_answers_as_documented(client, people, customer):
    response = client.post(
        f"/api/v1/customers/{customer.id}/calls", json={}, headers=people["agent"][1]
    )
    assert response.status_code == 201, response.get_json()
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/customers/{customer_id}/calls"]["post"]
    schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert response.get_json()["disposition"] is None
    assert schema["properties"]["disposition"].get("nullable") is True


def test_a_version_xml_answers_with_its_documented_media_type(client, owner_auth):
    from tests.web.crm_api_helpers import one_step_diagram

    content, name = one_step_diagram("xml_check", "check", "Check")
    from io import BytesIO

    deployed = client.post(
        "/api/v1/process-models",
        data={"file": (BytesIO(content), name)},
        headers=owner_auth,
        content_type="multipart/form-data",
    )
    assert deployed.status_code == 201, deployed.get_json()
    response = client.get("/api/v1/process-models/xml_check/versions/1/bpmn", headers=owner_auth)
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/process-models/{process_id}/versions/{version}/bpmn"]
    assert response.mimetype in operation["get"]["responses"]["200"]["content"]


def documented_body(app, path: str, method: str, status: int) -> dict:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    answer = document["paths"][path][method]["responses"][str(status)]
    return answer["content"]["application/json"]["schema"]


def test_a_repeated_lead_answers_with_no_owner_as_documented(team):
    first = team.lead(name="李雷", phone="13811112222", region="上海")
    again = team["boss"].post("/api/v1/leads", json={"name": "李雷", "phone": "13811112222"})
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["customer_id"] == first["customer_id"]
    assert again.get_json()["owner"] is None  # not assigned again
    schema = documented_body(team.app, "/api/v1/leads", "post", 201)
    assert schema["properties"]["owner"].get("nullable") is True


def test_a_webhook_description_may_be_cleared_as_documented(client, db, people):
    auth = people["admin"][1]
    created = client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://example.com/hook",
            "event_types": ["call.logged"],
            "description": "x",
        },
        headers=auth,
    )
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/webhooks/{created.get_json()['id']}"
    cleared = client.patch(url, json={"description": None}, headers=auth)
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["description"] is None
    document = client.get("/api/v1/openapi.json").get_json()
    for path, method in (
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks/{subscription_id}", "patch"),
    ):
        body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert body["schema"]["properties"]["description"].get("nullable") is True


# -- uploads of process models: the multipart body the contract names ---------------------------


@pytest.mark.parametrize("path", ["/api/v1/process-models", "/api/v1/process-models/validate"])
def test_a_deploy_documents_its_multipart_files(client, path):
    document = client.get("/api/v1/openapi.json").get_json()
    content = document["paths"][path]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    files = content["multipart/form-data"]["schema"]
    assert files["required"] == ["file"]
    assert files["properties"]["file"]["items"]["format"] == "binary"


@pytest.mark.parametrize("path", ["/api/v1/process-models", "/api/v1/process-models/validate"])
def test_a_multipart_deploy_without_files_asks_for_files(client, owner_auth, path):
    response = client.post(
        path,
        data={"file": "<bpmn:definitions/>"},  # text, not a file
        headers=owner_auth,
        content_type="multipart/form-data",
    )
    error = error_of(response, 422, "invalid_bpmn")
    assert "file" in error["message"]


# -- wrong methods name the right ones ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/customers", {"GET", "POST"}),
        ("/api/v1/tasks/1/claim", {"POST"}),
        ("/api/v1/webhooks/1", {"GET", "PATCH", "DELETE"}),
    ],
)
def test_a_wrong_method_on_the_api_names_the_allowed_ones(client, people, path, allowed):
    response = client.open(path, method="TRACE", headers=people["admin"][1])
    error_of(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_a_wrong_method_on_a_page_names_the_allowed_ones(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


# -- true/false where text is expected --------------------------------------------------------


@pytest.mark.parametrize("value", [True, False])
def test_a_customer_name_of_true_or_false_is_refused_and_not_stored(client, db, people, value):
    response = client.post(
        "/api/v1/customers",
        json={"name": value, "phone": "13900001111"},
        headers=people["agent"][1],
    )
    assert fields_of(error_of(response, 422, "invalid_input")) == {"name"}
    with db() as session:
        assert count(session, Customer) == 0


@pytest.mark.parametrize("value", [True, False])
def test_a_webhook_description_of_true_or_false_is_refused(client, db, people, value):
    from crm.models import WebhookSubscription

    body = {"url": "https://example.com/hook", "event_types": ["call.logged"]}
    auth = people["admin"][1]
    response = client.post("/api/v1/webhooks", json={**body, "description": value}, headers=auth)
    assert fields_of(error_of(response, 422)) == {"description"}
    created = client.post("/api/v1/webhooks", json={**body, "description": "kept"}, headers=auth)
    url = f"/api/v1/webhooks/{created.get_json()['id']}"
    response = client.patch(url, json={"description": value, "active": False}, headers=auth)
    assert fields_of(error_of(response, 422)) == {"description"}
    with db() as session:
        (subscription,) = session.query(WebhookSubscription).all()
        assert (subscription.description, subscription.active) == ("kept", True)


def test_an_import_error_row_answers_as_documented(client, db, people):
    from io import BytesIO

    from tests.sheets import wait_until

    auth = people["admin"][1]
    started = client.post(
        "/api/v1/customers/import",
        data={"file": (BytesIO("name,phone\n张三,\n".encode()), "people.csv")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert started.status_code == 202, started.get_json()
    job_url = f"/api/v1/jobs/{started.get_json()['job_id']}"
    job = wait_until(lambda: client.get(job_url, headers=auth).get_json())
    (row,) = job["errors"]["items"]
    assert (row["outcome"], row["existing_customer_id"]) == ("error", None)
    schema = documented_body(client.application, "/api/v1/jobs/{job_id}", "get", 200)
    documented = schema["properties"]["errors"]["properties"]["items"]["items"]["properties"]
    assert documented["existing_customer_id"].get("nullable") is True
