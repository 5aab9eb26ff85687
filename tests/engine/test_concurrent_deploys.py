"""Deploys racing each other: identical content once, different content as versions N+1, N+2."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from crm.models import Activity
from engine.bundles import Bundle
from engine.deployments import deploy
from tests.engine.conftest import DIAGRAMS, post_together

CALL_NOTE = (DIAGRAMS / "call_note.bpmn").read_text()
FORM = json.loads((DIAGRAMS / "call-form.json").read_text())


def body(note_prefix: str) -> dict:
    xml = CALL_NOTE.replace("'Outcome: '", f"'{note_prefix}: '")
    return {"bpmn": {"call_note.bpmn": xml}, "forms": {"call-form.json": FORM}}


def test_identical_deploys_at_once_store_one_version(app, owner):
    results = post_together(app, "/api/v1/process-models", [(owner.headers, body("Same"))] * 3)
    assert sorted(status for status, _ in results) == [200, 200, 201], results
    assert {result["version"] for _, result in results} == {1}
    assert owner.models()[0]["versions"] == [1]


def test_different_deploys_at_once_get_consecutive_versions(app, owner):
    owner.post("/api/v1/process-models", json=body("First"))
    results = post_together(
        app,
        "/api/v1/process-models",
        [(owner.headers, body(prefix)) for prefix in ("A", "B", "C")],
    )
    assert [status for status, _ in results] == [201, 201, 201], results
    assert sorted(result["version"] for _, result in results) == [2, 3, 4]
    assert owner.models()[0]["versions"] == [1, 2, 3, 4]


def test_a_rolled_back_deploy_leaves_nothing_the_next_deploy_could_run(
    runtime, owner, agent, make_customer, db
):
    """A deploy whose transaction rolled back after it had parsed and stored its bundle: the
    next bundle may get the same id (SQLite reuses it), and must run its own diagram."""
    rolled_back = Bundle(bpmn=body("Rolled back")["bpmn"], forms={"call-form.json": FORM})
    with pytest.raises(RuntimeError), db() as session:
        deploy(runtime.engine, session, rolled_back, actor=None)
        raise RuntimeError("the request failed after the deploy")

    assert owner.post("/api/v1/process-models", json=body("Kept")).status_code == 201
    customer = make_customer()
    started = agent.start("call_note", {"customer_id": customer.id})
    agent.complete_ok(started["ready_tasks"][0]["id"], {"outcome": "interested"})
    with db() as session:
        notes = session.scalars(select(Activity.body).where(Activity.customer_id == customer.id))
        assert notes.all() == ["Kept: interested"]
