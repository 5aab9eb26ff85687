"""The OpenAPI document describes every /api/v1 route with the methods it really has."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import pytest

from crm.customers import create_customer
from web.api.openapi import undocumented_routes

IGNORED_METHODS = {"HEAD", "OPTIONS"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_route_is_documented_with_its_methods(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]

    expected: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.rule != "/api/v1/openapi.json":
            methods = {m.lower() for m in (rule.methods or set()) - IGNORED_METHODS}
            expected.setdefault(openapi_path(rule.rule), set()).update(methods)
    assert expected, "no API routes found"
    documented = {path: set(operations) for path, operations in document["paths"].items()}
    assert documented == expected

    assert undocumented_routes(app) == ["/api/v1/openapi.json"]


def test_operations_are_well_formed(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    operation_ids = []
    for path, operations in document["paths"].items():
        placeholders = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert operation["summary"]
            in_path = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert in_path == placeholders, (method, path)
            assert operation["responses"], (method, path)
            for status, described in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status)
                assert described["description"]
                # JSON, text/csv for file downloads (an export's XLSX beside), BPMN XML
                for media, content in described["content"].items():
                    assert media in ("application/json", "text/csv", XLSX, "application/xml")
                    ref = content["schema"].get("$ref")
                    if ref:
                        assert ref.startswith("#/components/schemas/")
                        assert ref.rsplit("/", 1)[1] in schemas
            if method in ("get",):
                assert "requestBody" not in operation
    assert len(operation_ids) == len(set(operation_ids))
    engine_paths = {
        "/api/v1/process-models",
        "/api/v1/process-models/{process_id}/versions/{version}/bpmn",
        "/api/v1/process-instances",
        "/api/v1/process-instances/{instance_id}",
        "/api/v1/process-instances/{instance_id}/retry",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/complete",
    }
    assert engine_paths <= set(document["paths"])
    deploy = document["paths"]["/api/v1/process-models"]["post"]
    assert {"201", "401", "403", "422"} <= set(deploy["responses"])
    assert deploy["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/v1/auth/token"]["post"]


def test_document_passes_an_openapi_validator(client, tmp_path):
    """Uses openapi-spec-validator where a Python outside the venv has it (not a dependency)."""
    python = shutil.which("python3")
    if python is None:
        pytest.skip("no python3 on PATH")
    probe = subprocess.run(
        [python, "-c", "import openapi_spec_validator"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("openapi-spec-validator is not installed")
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(client.get("/api/v1/openapi.json").get_json()))
    result = subprocess.run(
        [
            python,
            "-c",
            "import json, sys; from openapi_spec_validator import validate;"
            " validate(json.load(open(sys.argv[1])))",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_answers_to_bad_input_are_documented(client):
    """What every operation answers for bad input is in its responses: 401 without a token, 422
    for a malformed body (``json_body``) or paging, 404 for an id that names nothing, and any
    other success status it answers (a repeated call's 200)."""
    document = client.get("/api/v1/openapi.json").get_json()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            names = {p["name"] for p in operation["parameters"]}
            in_path = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            needed = set()
            if operation.get("security"):
                needed.add("401")
            if "limit" in names or "requestBody" in operation:
                needed.add("422")
            if in_path:
                needed.add("404")
            missing += [f"{method} {path}: {status}" for status in sorted(needed - statuses)]
    assert missing == []
    call = document["paths"]["/api/v1/calls"]["post"]["responses"]
    deploy = document["paths"]["/api/v1/process-models"]["post"]["responses"]
    dry_run = document["paths"]["/api/v1/customers/import"]["post"]["responses"]
    assert {"200", "201"} <= set(call) & set(deploy)
    assert {"200", "202"} <= set(dry_run)
    xml = document["paths"]["/api/v1/process-models/{process_id}/versions/{version}/bpmn"]["get"]
    assert set(xml["responses"]["200"]["content"]) == {"application/xml"}


def test_the_export_answers_only_media_types_the_document_lists(client, actor, db):
    """``GET /customers/export?format=xlsx`` answers XLSX: the document lists it beside CSV
    (fuzzing found it listed CSV only), and the formats the parameter takes."""
    admin = actor("admin", username="boss", team=None)
    with db() as session:
        create_customer(session, {"name": "王小明", "phone": "13800138000"}, actor=None)
    export = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/customers/export"]
    (file_format,) = [p for p in export["get"]["parameters"] if p["name"] == "format"]
    assert file_format["schema"] == {"type": "string", "enum": ["csv", "xlsx"]}
    documented = set(export["get"]["responses"]["200"]["content"])
    for name in file_format["schema"]["enum"]:
        response = admin.get(f"/api/v1/customers/export?format={name}")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.mimetype in documented, (name, response.mimetype)
    refused = admin.get("/api/v1/customers/export?format=pdf")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "invalid_input"


def test_paging_and_id_filters_are_documented_as_integers(client, actor):
    """Fuzzing from the document sends what it says: ``limit``/``offset`` and the id filters
    are integers (they were text, so nearly every generated list request was a 422), and an id
    filter sent empty is the filter not given, as the API reads it."""
    document = client.get("/api/v1/openapi.json").get_json()
    customers = {p["name"]: p for p in document["paths"]["/api/v1/customers"]["get"]["parameters"]}
    assert customers["limit"]["schema"] == {"type": "integer", "minimum": 1}
    assert customers["offset"]["schema"]["type"] == "integer"
    assert customers["owner_id"]["schema"]["type"] == "integer"
    assert customers["owner_id"]["allowEmptyValue"] is True
    assert "allowEmptyValue" not in customers["limit"]
    admin = actor("admin", username="boss", team=None)
    assert admin.get("/api/v1/customers?owner_id=").status_code == 200
    assert admin.get("/api/v1/customers?limit=").status_code == 422


@pytest.mark.parametrize(
    ("path", "name", "first"),
    [
        ("/api/v1/process-instances", "status", "running"),
        ("/api/v1/deals", "stage", "qualification"),
        ("/api/v1/customers", "stage", "new"),
        ("/api/v1/customers/export", "stage", "new"),
    ],
)
def test_filters_of_a_fixed_set_are_documented_as_enums(client, actor, path, name, first):
    """The values a filter takes are in the document (fuzzing sends them), each answered 200;
    another is the 422 the document lists, and an empty one is the filter not given."""
    document = client.get("/api/v1/openapi.json").get_json()
    (parameter,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
    assert parameter["schema"]["enum"][0] == first
    assert parameter["allowEmptyValue"] is True
    admin = actor("admin", username="boss", team=None)
    for value in [*parameter["schema"]["enum"], ""]:
        assert admin.get(f"{path}?{name}={value}").status_code == 200, value
    refused = admin.get(f"{path}?{name}=bogus")
    assert refused.status_code == 422
    assert "422" in document["paths"][path]["get"]["responses"]


def _undocumented(schema: dict, value: object, where: str) -> list[str]:
    """Fields of ``value`` its documented object schema does not name, recursively."""
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += _undocumented(schema["properties"][key], item, f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            found += _undocumented(schema["items"], item, f"{where}[]")
    return found


def test_the_fields_of_records_are_documented(client, actor, owner, make_customer):
    """Customers, deals, instances and import jobs answer no field the document leaves out
    (``created_at``, ``team_id``, ``lost_reason``, ``started_at``… were answered unlisted, so
    no schema check looked at them)."""
    document = client.get("/api/v1/openapi.json").get_json()
    admin = actor("admin", username="boss", team=None)
    customer = make_customer(name="王小明", phone="13800138000")
    deal = admin.post("/api/v1/deals", {"customer_id": customer.id, "title": "年度合同"})
    assert deal.status_code == 201, deal.get_json()
    owner.deploy("call_note.bpmn", "call-form.json")
    instance = owner.start("call_note", {"customer_id": customer.id})
    upload = admin.post(
        "/api/v1/customers/import",
        data={"file": (io.BytesIO("姓名,手机\n李四,12\n".encode()), "客户.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 202, upload.get_json()
    urls = [
        f"/api/v1/customers/{customer.id}",
        "/api/v1/customers",
        "/api/v1/pool",
        f"/api/v1/deals/{deal.get_json()['id']}",
        "/api/v1/deals",
        f"/api/v1/process-instances/{instance['id']}",
        "/api/v1/process-instances",
        f"/api/v1/jobs/{upload.get_json()['job_id']}",
    ]
    undocumented = []
    for url in urls:
        response = admin.get(url)
        assert response.status_code == 200, (url, response.get_json())
        path = re.sub(r"/\d+", lambda m: "/{id}", url)
        (operation,) = [
            ops["get"]
            for documented_path, ops in document["paths"].items()
            if re.sub(r"{\w+}", "{id}", documented_path) == path
        ]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        undocumented += _undocumented(schema, response.get_json(), url)
    assert undocumented == []


def test_the_limits_of_a_json_body_are_documented_on_every_operation_reading_one(client):
    """A body nested more than 64 levels deep and an object holding a ``typename`` key are
    refused ``422 invalid_json`` (``dialflow.strict_json``, ``json_body``); the document said
    neither. Each operation with a JSON body now says both, on its request body and its 422,
    but the telephony event, which keeps a ``typename`` key (it is read without ``json_body``)."""
    document = client.get("/api/v1/openapi.json").get_json()
    said: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None or "application/json" not in body["content"]:
                continue
            for where, text in (
                ("requestBody", body.get("description", "")),
                ("422", operation["responses"]["422"]["description"]),
            ):
                limits = [
                    name
                    for name, words in (
                        ("invalid_json", "422 invalid_json"),
                        ("depth", "more than 64 levels deep"),
                        ("typename", "a key named 'typename'"),
                    )
                    if words in text
                ]
                said[f"{method} {path} {where}"] = limits
    assert said, "no operation with a JSON body"
    everything = ["invalid_json", "depth", "typename"]
    telephony = {key for key in said if key.startswith("post /api/v1/telephony/")}
    assert telephony, sorted(said)
    assert {key: said[key] for key in telephony} == {
        key: ["invalid_json", "depth"] for key in telephony
    }
    others = {key: limits for key, limits in said.items() if key not in telephony}
    assert {key for key, limits in others.items() if limits != everything} == set()
    assert "post /api/v1/customers requestBody" in others
    assert "post /api/v1/process-models 422" in others  # JSON beside multipart
