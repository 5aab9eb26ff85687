"""Deploying models: both upload formats, content addressing, versions, the CLI door."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from crm.models import Activity
from dialflow.cli import main
from tests.conftest import PASSWORD, api_token
from tests.engine.conftest import DIAGRAMS, Actor, only


def test_multipart_deploy_is_content_addressed(client, make_user):
    user = make_user("process_owner", username="owner", team=None, password=PASSWORD)
    owner = Actor(client, user, api_token(client, "owner"))  # the sign-in door, once

    first = owner.upload("call_note.bpmn", "call-form.json")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["version"] == 1
    assert body["process_ids"] == ["call_note"]
    assert isinstance(body["model_id"], int)

    again = owner.upload("call_note.bpmn", "call-form.json")
    assert again.status_code == 200
    assert again.get_json() == body

    assert owner.models() == [
        {
            "process_id": "call_note",
            "name": "Call and note",
            "latest_version": 1,
            "versions": [1],
            "version_tags": [None],
        }
    ]
    xml = owner.get("/api/v1/process-models/call_note/versions/1/bpmn")
    assert xml.status_code == 200
    assert xml.mimetype == "application/xml"
    assert xml.get_data() == (DIAGRAMS / "call_note.bpmn").read_bytes()


def test_json_body_deploy_with_dmn_and_forms(owner):
    body = {
        "bpmn": (DIAGRAMS / "deal_pricing.bpmn").read_text(),
        "dmn": [(DIAGRAMS / "discount.dmn").read_text()],
        "forms": {},
    }
    first = owner.post("/api/v1/process-models", json=body)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["process_ids"] == ["deal_pricing"]
    assert owner.post("/api/v1/process-models", json=body).status_code == 200

    forms_body = {
        "bpmn": {"call_note.bpmn": (DIAGRAMS / "call_note.bpmn").read_text()},
        "forms": {"call-form.json": json.loads((DIAGRAMS / "call-form.json").read_text())},
    }
    response = owner.post("/api/v1/process-models", json=forms_body)
    assert response.status_code == 201, response.get_json()
    assert {m["process_id"] for m in owner.models()} == {"deal_pricing", "call_note"}


def test_changed_content_is_the_next_version(owner):
    assert owner.deploy("call_note.bpmn", "call-form.json")["version"] == 1
    second = owner.upload("call_note_v2.bpmn", "call-form.json")
    assert second.status_code == 201
    assert second.get_json()["version"] == 2
    # Same BPMN, different form: a new bundle, so a new version too.
    changed_form = json.loads((DIAGRAMS / "call-form.json").read_text())
    changed_form["properties"]["notes"]["maxLength"] = 100
    third = owner.upload(
        "call_note_v2.bpmn", extra=[("call-form.json", json.dumps(changed_form).encode())]
    )
    assert third.status_code == 201
    assert third.get_json()["version"] == 3

    assert owner.models() == [
        {
            "process_id": "call_note",
            "name": "Call and note (v2)",
            "latest_version": 3,
            "versions": [1, 2, 3],
            "version_tags": [None, None, None],
        }
    ]
    v1 = owner.get("/api/v1/process-models/call_note/versions/1/bpmn").text
    v2 = owner.get("/api/v1/process-models/call_note/versions/2/bpmn").text
    assert "'Outcome: ' + outcome" in v1
    assert "'Result: ' + outcome" in v2
    missing = owner.get("/api/v1/process-models/call_note/versions/9/bpmn")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "process_not_found"
    assert owner.get("/api/v1/process-models/nope/versions/1/bpmn").status_code == 404


def test_running_instance_stays_on_its_version(owner, agent, make_customer, db):
    customer = make_customer(name="版本客户")
    owner.deploy("call_note.bpmn", "call-form.json")
    old = agent.start("call_note", {"customer_id": customer.id}, business_key="old")
    assert old["version"] == 1

    assert owner.deploy("call_note_v2.bpmn", "call-form.json")["version"] == 2
    new = agent.start("call_note", {"customer_id": customer.id}, business_key="new")
    pinned = agent.start("call_note", {"customer_id": customer.id}, version=1)
    assert new["version"] == 2
    assert pinned["version"] == 1
    assert agent.instance(old["id"])["version"] == 1

    done_old = agent.complete_ok(old["ready_tasks"][0]["id"], {"outcome": "interested"})
    done_new = agent.complete_ok(new["ready_tasks"][0]["id"], {"outcome": "no_answer"})
    assert (done_old["status"], done_old["version"]) == ("completed", 1)
    assert (done_new["status"], done_new["version"]) == ("completed", 2)
    with db() as session:
        notes = session.scalars(
            select(Activity.body).where(Activity.customer_id == customer.id).order_by(Activity.id)
        ).all()
    assert notes == ["Outcome: interested", "Result: no_answer"]


def test_start_unknown_process_or_version_is_404(owner, agent):
    assert agent.post("/api/v1/process-instances", json={"process_id": "nope"}).status_code == 404
    owner.deploy("call_note.bpmn", "call-form.json")
    response = agent.post(
        "/api/v1/process-instances", json={"process_id": "call_note", "version": 7}
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "process_not_found"
    bad = agent.post("/api/v1/process-instances", json={"process_id": "call_note", "data": [1]})
    assert bad.status_code == 422


def test_only_process_owners_deploy(client, agent, actor):
    assert agent.upload("call_note.bpmn", "call-form.json").status_code == 403
    admin = actor("admin", team=None)
    assert admin.upload("call_note.bpmn", "call-form.json").status_code == 201
    anonymous = client.post("/api/v1/process-models", json={"bpmn": "<x/>"})
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "missing_token"


def test_cli_deploy(test_env, owner):
    runner = CliRunner()
    files = [str(DIAGRAMS / "lead_scoring.bpmn"), str(DIAGRAMS / "score-form.json")]

    result = runner.invoke(main, ["deploy", *files], env=test_env)
    assert result.exit_code == 0, result.output
    assert "deployed: lead_scoring v1" in result.stdout

    again = runner.invoke(main, ["deploy", *files], env=test_env)
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.stdout
    assert only(owner.models(), process_id="lead_scoring")["versions"] == [1]

    # The same checks as the API: the form is missing, so the user task is refused.
    refused = runner.invoke(main, ["deploy", str(DIAGRAMS / "crm_services.bpmn")], env=test_env)
    assert refused.exit_code != 0
    assert "log_outcome" in refused.stderr
    assert "outcome-form.json" in refused.stderr
    assert [m["process_id"] for m in owner.models()] == ["lead_scoring"]


def test_shipped_models_are_deployed_when_the_app_starts(settings, runtime, tmp_path):
    """Every .bpmn under the models folder is deployed at start; a restart changes nothing."""
    import dataclasses
    import shutil

    from flask import Flask

    from dialflow.runtime import Runtime
    from engine.deployments import list_models
    from web import create_app

    shipped = tmp_path / "bpmn"
    shipped.mkdir()
    for name in ("call_note.bpmn", "call-form.json"):
        shutil.copy(DIAGRAMS / name, shipped / name)
    rt = Runtime(settings=dataclasses.replace(settings, bpmn_dir=shipped), db=runtime.db)
    app: Flask = create_app({"TESTING": True, "DEPLOY_SHIPPED_MODELS": True}, runtime=rt)
    create_app({"TESTING": True, "DEPLOY_SHIPPED_MODELS": True}, runtime=rt)  # a restart
    with app.app_context(), runtime.db.unit_of_work() as session:
        models = {m["process_id"]: m for m in list_models(session)}
    assert models["call_note"]["versions"] == [1]
