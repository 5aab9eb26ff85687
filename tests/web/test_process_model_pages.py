"""Process-model pages and their JSON actions through the Flask test client, and the new API
endpoints (validate, handlers, diff, migration check, instance elements)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import DIAGRAMS, actor_factory


@pytest.fixture
def actor(client, db):
    return actor_factory(client, db)


def page_token(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "page has no CSRF meta tag"
    return found.group(1)


def signed_in(client, make_user, role: str) -> Any:
    make_user(role, username=f"web_{role}", password=PASSWORD)
    response = sign_in(client, f"web_{role}")
    assert response.status_code == 302
    return client


def bundle_of(*names: str) -> dict[str, Any]:
    """The named diagrams with every form of ``diagrams/``."""
    forms = {p.name: json.loads(p.read_text()) for p in DIAGRAMS.glob("*.json")}
    return {"bpmn": {name: (DIAGRAMS / name).read_text() for name in names}, "forms": forms}


# --- API: validate, handlers -----------------------------------------------------------------


def test_validate_accepts_a_good_model_and_stores_nothing(actor):
    owner = actor("process_owner")
    response = owner.post("/api/v1/process-models/validate", json=bundle_of("call_note.bpmn"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"valid": True, "process_ids": ["call_note"], "warnings": []}
    assert owner.models() == []


def test_validate_reports_problems_like_deploy(actor):
    owner = actor("process_owner")
    xml = (DIAGRAMS / "call_note.bpmn").read_text().replace('id="crm.add_note"', 'id="crm.nope"')
    response = owner.post("/api/v1/process-models/validate", json={"bpmn": {"c.bpmn": xml}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    assert any(
        d["element_id"] == "note" and "crm.nope" in d["message"] and d["line"]
        for d in error["details"]
    )
    deploy = owner.post("/api/v1/process-models", json={"bpmn": {"c.bpmn": xml}})
    assert deploy.get_json()["error"]["details"] == error["details"]


def test_validate_and_deploy_need_a_process_owner(actor):
    agent = actor("agent")
    for url in ("/api/v1/process-models/validate", "/api/v1/process-models"):
        response = agent.post(url, json=bundle_of("call_note.bpmn"))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"


def test_validate_accepts_multipart_uploads(actor):
    from io import BytesIO

    owner = actor("admin")
    response = owner.post(
        "/api/v1/process-models/validate",
        data={
            "file": [
                (BytesIO((DIAGRAMS / name).read_bytes()), name)
                for name in ("call_note.bpmn", "call-form.json")
            ]
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200


def test_handlers_lists_the_registry_with_parameters(actor):
    response = actor("agent").get("/api/v1/handlers")
    assert response.status_code == 200
    items = {h["id"]: h for h in response.get_json()["items"]}
    assert "crm.add_note" in items
    params = {p["id"]: p for p in items["crm.add_note"]["parameters"]}
    assert params["customer_id"] == {
        "id": "customer_id",
        "type": "int",
        "required": True,
        "description": "",
    }
    # a rule a process owner may pin in the diagram: optional, described, typed without None
    retry = {p["id"]: p for p in items["cadence.plan_retry"]["parameters"]}
    assert retry["max_attempts_total"]["required"] is False
    assert retry["max_attempts_total"]["type"] == "int"
    assert "cadence.max_attempts_total setting" in retry["max_attempts_total"]["description"]


def test_handlers_need_a_token(client):
    assert client.get("/api/v1/handlers").status_code == 401


# --- API: diff, migration check, instance elements -------------------------------------------


def test_diff_of_two_versions(actor):
    owner = actor("process_owner")
    owner.deploy("call_note.bpmn", "call-form.json")
    owner.deploy("call_note_v2.bpmn", "call-form.json")
    response = owner.get("/api/v1/process-models/call_note/diff?from=1&to=2")
    assert response.status_code == 200
    diff = response.get_json()
    assert {c["element_id"] for c in diff["changed"]} == {"call_note", "note"}
    assert diff["added"] == diff["removed"] == []
    bad = owner.get("/api/v1/process-models/call_note/diff?from=x&to=2")
    assert bad.status_code == 422
    for odd in ("²", "①"):  # digits to str.isdigit, not to int()
        odd_diff = owner.get(f"/api/v1/process-models/call_note/diff?from={odd}&to=2")
        assert odd_diff.status_code == 422
    assert owner.get("/api/v1/process-models/call_note/diff?from=1&to=9").status_code == 404


def test_migration_check_lists_movable_and_blocked_instances(actor):
    owner = actor("process_owner")
    owner.deploy("call_note.bpmn", "call-form.json")
    first = owner.start("call_note", {"customer_id": 1})
    owner.deploy("call_note_without_call.bpmn", "call-form.json")
    response = owner.post(
        "/api/v1/process-models/call_note/versions/1/migration-check", json={"to_version": 2}
    )
    assert response.status_code == 200, response.get_json()
    (item,) = response.get_json()["items"]
    assert item["id"] == first["id"]
    assert item["can_move"] is False
    assert item["blockers"][0]["element_id"] == "call"
    assert owner.instance(first["id"])["version"] == 1  # a dry run changes nothing
    agent = actor("agent")
    denied = agent.post(
        "/api/v1/process-models/call_note/versions/1/migration-check", json={"to_version": 2}
    )
    assert denied.status_code == 403


def test_instance_elements_show_the_current_task_and_the_path(actor):
    owner = actor("process_owner")
    owner.deploy("call_note.bpmn", "call-form.json")
    started = owner.start("call_note", {"customer_id": 1})
    response = owner.get(f"/api/v1/process-instances/{started['id']}/elements")
    assert response.status_code == 200
    states = response.get_json()
    assert states["ready"] == ["call"]
    assert "start" in states["completed"]
    assert states["flows"]  # the flow from the start event to the task
    assert owner.get("/api/v1/process-instances/999999/elements").status_code == 404


def test_instance_elements_keep_the_path_that_history_pruning_dropped(actor):
    owner = actor("process_owner")
    owner.deploy("scored_call.bpmn", "call-form.json")
    started = owner.start("scored_call", {"customer_id": 1})
    states = owner.get(f"/api/v1/process-instances/{started['id']}/elements").get_json()
    assert states["ready"] == ["call"]
    # The start event and the script task are no longer in the pruned task tree.
    assert {"start", "score", "worth_it"} <= set(states["completed"])
    assert "skipped" not in states["completed"]
    assert {"f1", "f2", "f3"} <= set(states["flows"])
    assert "f4" not in states["flows"]


# --- pages -----------------------------------------------------------------------------------


def test_pages_are_for_process_owners(client, make_user, actor):
    actor("process_owner").deploy("call_note.bpmn", "call-form.json")
    signed_in(client, make_user, "agent")
    for url in (
        "/process-models",
        "/process-models/new",
        "/process-models/call_note",
        "/process-models/call_note/versions/1/edit",
    ):
        assert client.get(url).status_code == 403, url
    assert "Process models" not in client.get("/customers", headers={"Accept-Language": "en"}).text


def test_pages_need_sign_in(client):
    response = client.get("/process-models")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_owner_sees_models_versions_and_the_modeler(client, make_user, actor):
    api = actor("process_owner")
    api.deploy("call_note.bpmn", "call-form.json")
    api.deploy("call_note_v2.bpmn", "call-form.json")
    signed_in(client, make_user, "process_owner")
    listing = client.get("/process-models", headers={"Accept-Language": "en"})
    assert listing.status_code == 200
    assert "call_note" in listing.text and "Process models" in listing.text
    versions = client.get("/process-models/call_note")
    assert versions.status_code == 200
    assert 'data-version="2"' in versions.text and 'data-version="1"' in versions.text
    edit = client.get("/process-models/call_note/versions/1/edit")
    assert edit.status_code == 200
    assert "bpmn-modeler.production.min.js" in edit.text
    assert "crm.add_note" in edit.text  # the handler registry for the operator dropdown
    xml = client.get("/process-models/call_note/versions/2/bpmn?download=1")
    assert xml.status_code == 200
    assert "attachment" in xml.headers["Content-Disposition"]
    assert "Call and note (v2)" in xml.text
    assert client.get("/process-models/nope").status_code == 404
    assert client.get("/process-models/new").status_code == 200


def test_page_actions_need_the_csrf_header(client, make_user):
    signed_in(client, make_user, "process_owner")
    response = client.post(
        "/process-models/validate",
        json=bundle_of("call_note.bpmn"),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_page_validate_and_deploy_with_the_session(client, make_user, db):
    signed_in(client, make_user, "process_owner")
    token = page_token(client.get("/process-models/new").text)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    camunda = bundle_of("camunda7_discount.bpmn")
    refused = client.post("/process-models/validate", json=camunda, headers=headers)
    assert refused.status_code == 422
    ids = {d["element_id"] for d in refused.get_json()["error"]["details"]}
    assert {"review", "notify"} <= ids  # Flow_big's JUEL condition runs as drawn
    assert "Flow_big" not in ids
    ok = client.post("/process-models/validate", json=bundle_of("call_note.bpmn"), headers=headers)
    assert ok.get_json() == {"valid": True, "process_ids": ["call_note"], "warnings": []}
    deployed = client.post(
        "/process-models/deploy", json=bundle_of("call_note.bpmn"), headers=headers
    )
    assert deployed.status_code == 201
    assert deployed.get_json()["versions"] == {"call_note": 1}
    again = client.post("/process-models/deploy", json=bundle_of("call_note.bpmn"), headers=headers)
    assert again.status_code == 200 and again.get_json()["created"] is False
    versions = client.get("/process-models/call_note")
    assert 'data-version="1"' in versions.text
    bad = client.post("/process-models/deploy", json={"bpmn": "x"}, headers=headers)
    assert bad.status_code == 422


def test_page_deploy_refused_for_managers(client, make_user):
    signed_in(client, make_user, "manager")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/customers").text)
    response = client.post(
        "/process-models/deploy",
        json=bundle_of("call_note.bpmn"),
        headers={"Accept": "application/json", "X-CSRFToken": token.group(1)},
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


FAILING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" \
targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="divide" name="Divide" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="ratio"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>ratio = 1 / divisor</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ratio" />
    <bpmn:sequenceFlow id="f2" sourceRef="ratio" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_instance_page_shows_the_incident_and_retries_it(client, make_user, actor):
    api = actor("process_owner")
    assert api.post("/api/v1/process-models", json={"bpmn": FAILING}).status_code == 201
    started = api.start("divide", {"divisor": 0})
    assert started["status"] == "error"
    signed_in(client, make_user, "process_owner")
    page = client.get(f"/process-instances/{started['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "bpmn-navigated-viewer.production.min.js" in page.text
    assert "ZeroDivisionError" in page.text or "division by zero" in page.text
    assert '"may_retry": true' in page.text
    assert "History" in page.text
    retry = client.post(
        f"/process-instances/{started['id']}/retry",
        headers={"X-CSRFToken": page_token(page.text), "Accept": "application/json"},
    )
    assert retry.status_code == 200  # retried; it fails again with the same data
    assert retry.get_json()["status"] == "error"
    history = client.get(f"/process-instances/{started['id']}", headers={"Accept-Language": "en"})
    assert ">retry<" in history.text
    assert client.get("/process-instances/999999").status_code == 404


def instance_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="instance-data">(.*?)</script>', html)
    assert found, "page has no instance data"
    return json.loads(found.group(1))


def test_instance_page_says_a_retry_cannot_help_an_error_nothing_catches(client, make_user, actor):
    from tests.engine.test_review_fixes import _uncaught

    api = actor("process_owner")
    assert (
        api.post("/api/v1/process-models", json={"bpmn": _uncaught().decode()}).status_code == 201
    )
    started = api.start("uncaught", {"divisor": 1})
    assert [i["kind"] for i in started["incidents"]] == ["uncaught_error"]
    signed_in(client, make_user, "process_owner")
    url = f"/process-instances/{started['id']}"
    page = client.get(url, headers={"Accept-Language": "zh-CN"})
    [shown] = instance_data(page.text)["incidents"]
    assert shown["retry_refused"].startswith("重试无济于事")
    [shown] = instance_data(client.get(url, headers={"Accept-Language": "en"}).text)["incidents"]
    assert shown["retry_refused"].startswith("A retry cannot help: this error is thrown by the")
    retry = client.post(
        f"/process-instances/{started['id']}/retry",
        headers={"X-CSRFToken": page_token(page.text), "Accept": "application/json"},
    )
    assert retry.status_code == 409
    assert retry.get_json()["error"]["code"] == "retry_cannot_help"


def test_instance_page_has_no_retry_for_managers(app, client, make_user, actor):
    api = actor("process_owner")
    api.post("/api/v1/process-models", json={"bpmn": FAILING})
    started = api.start("divide", {"divisor": 0})
    signed_in(client, make_user, "manager")
    page = client.get(f"/process-instances/{started['id']}")
    assert page.status_code == 200
    assert '"may_retry": false' in page.text
    agent = signed_in(app.test_client(), make_user, "agent")
    assert agent.get(f"/process-instances/{started['id']}").status_code == 403


def test_the_versions_page_after_a_deploy_repeats_its_lane_warnings(client, make_user, actor):
    """The modeler lands on the versions page after a deploy; a lane no one matches is said
    there, in the reader's language, as the deploy's answer said it."""
    owner = actor("process_owner")
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="http://dialflow.example/lanes">'
        '<bpmn:process id="field_visit" isExecutable="true"><bpmn:laneSet id="ls">'
        '<bpmn:lane id="lane_field" name="Field Sales"><bpmn:flowNodeRef>visit</bpmn:flowNodeRef>'
        '</bpmn:lane><bpmn:lane id="lane_sales" name="agent">'
        "<bpmn:flowNodeRef>call</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
        '<bpmn:startEvent id="start"/><bpmn:userTask id="call"/><bpmn:userTask id="visit"/>'
        '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="visit"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="visit" targetRef="end"/>'
        "</bpmn:process></bpmn:definitions>"
    )
    deployed = owner.post("/api/v1/process-models", json={"bpmn": xml})
    assert [w["element_id"] for w in deployed.get_json()["warnings"]] == ["lane_field"]
    signed_in(client, make_user, "process_owner")
    english = client.get(
        "/process-models/field_visit?deployed=1", headers={"Accept-Language": "en"}
    ).text
    assert 'data-lane-of-nobody="Field Sales"' in english
    assert "The lane Field Sales names no role and no team" in english
    assert 'data-lane-of-nobody="agent"' not in english  # a role: offered to its agents
    chinese = client.get(
        "/process-models/field_visit?deployed=1", headers={"Accept-Language": "zh-CN"}
    ).text
    assert "泳道 Field Sales 既不是角色也不是团队" in chinese
    # Only right after a deploy, and not for a version that does not exist.
    plain = client.get("/process-models/field_visit", headers={"Accept-Language": "en"}).text
    assert "data-lane-of-nobody" not in plain
    missing = client.get("/process-models/field_visit?deployed=7").text
    assert "data-lane-of-nobody" not in missing
