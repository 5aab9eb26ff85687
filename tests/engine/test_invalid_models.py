"""Refused deploys: 422 ``invalid_bpmn`` with ``{element_id, line, message}``, nothing stored.

Most cases break one thing in ``checks_base.bpmn``, a valid model that uses every construct
the deploy checks look at (form, service task, script, gateway condition, timer, DMN, call).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ModelBundle, ProcessVersion
from tests.engine.conftest import DIAGRAMS, Actor

BASE = (DIAGRAMS / "checks_base.bpmn").read_text()
DMN = (DIAGRAMS / "discount.dmn").read_text()
FORM = json.loads((DIAGRAMS / "ask-form.json").read_text())


def line_of(fragment: str, text: str = BASE) -> int:
    """1-based line of the first occurrence of ``fragment`` in ``text``."""
    index = text.index(fragment)
    return text.count("\n", 0, index) + 1


def deploy_json(owner: Actor, bpmn: str, forms: dict[str, Any] | None = None) -> Any:
    body = {"bpmn": {"checks.bpmn": bpmn}, "dmn": [DMN], "forms": forms or {"ask-form.json": FORM}}
    return owner.post("/api/v1/process-models", json=body)


def assert_refused(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    assert error["details"], error
    for detail in error["details"]:
        assert {"element_id", "line", "message"} <= set(detail)
        assert isinstance(detail["message"], str) and detail["message"]
    return error["details"]


def assert_nothing_stored(owner: Actor, db: Any) -> None:
    assert owner.models() == []
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 0


def test_the_base_model_is_valid(owner):
    response = deploy_json(owner, BASE)
    assert response.status_code == 201, response.get_json()
    assert sorted(response.get_json()["process_ids"]) == ["checks_base", "checks_child"]


# (case id, text in BASE, replacement, element_id expected, line of element, message fragment)
BROKEN = [
    (
        "xsd-unknown-element",
        '    <bpmn:endEvent id="end">',
        '    <bpmn:frobnicate id="frob" />\n    <bpmn:endEvent id="end">',
        "frob",
        "<bpmn:frobnicate",
        "frobnicate",
    ),
    (
        "xsd-unknown-attribute",
        '<bpmn:scriptTask id="calc" name="Calculate">',
        '<bpmn:scriptTask id="calc" name="Calculate" colour="red">',
        "calc",
        '<bpmn:scriptTask id="calc"',
        "colour",
    ),
    (
        "dangling-target-ref",
        'sourceRef="calc" targetRef="gw"',
        'sourceRef="calc" targetRef="nowhere"',
        "f4",
        'id="f4"',
        "nowhere",
    ),
    (
        "unknown-operator",
        'serviceTaskOperator id="crm.add_note"',
        'serviceTaskOperator id="crm.add_notes"',
        "note",
        '<bpmn:serviceTask id="note"',
        "crm.add_notes",
    ),
    (
        "unknown-completion-check",
        '<spiffworkflow:property name="formJsonSchemaFilename" value="ask-form.json" />',
        '<spiffworkflow:property name="formJsonSchemaFilename" value="ask-form.json" />'
        '<spiffworkflow:property name="completionCheck" value="compliance.nope" />',
        "ask",
        '<bpmn:userTask id="ask"',
        "compliance.nope",
    ),
    (
        "wrong-parameter-name",
        'parameter id="text"',
        'parameter id="body"',
        "note",
        '<bpmn:serviceTask id="note"',
        "'body'",
    ),
    (
        "timer-bad-duration",
        "'PT1M'",
        "'PXYZ'",
        "pause",
        '<bpmn:intermediateCatchEvent id="pause"',
        "PXYZ",
    ),
    (
        "timer-longer-than-a-century",  # SpiffWorkflow would count its months out for good
        "'PT1M'",
        "'P99999999Y'",
        "pause",
        '<bpmn:intermediateCatchEvent id="pause"',
        "longer than 100 years",
    ),
    (
        "timer-misspelt",
        "'PT1M'",
        "PT1X",
        "pause",
        '<bpmn:intermediateCatchEvent id="pause"',
        "timer value 'PT1X' is not a valid ISO 8601 duration",
    ),
    (
        "script-syntax-error",
        "total = len(lines) * 5",
        "total = (len(lines) * 5",
        "calc",
        '<bpmn:scriptTask id="calc"',
        "syntax error",
    ),
    (
        "gateway-condition-syntax-error",
        "total &gt; 10",
        "total &gt; &gt; 10",
        "big",  # the sequence flow that holds the condition, as the modeler marks it
        '<bpmn:sequenceFlow id="big"',
        "condition of sequence flow 'big'",
    ),
    (
        "call-unknown-process",
        'calledElement="checks_child"',
        'calledElement="no_such_process"',
        "sub",
        '<bpmn:callActivity id="sub"',
        "no_such_process",
    ),
    (
        "unknown-decision",
        ">discount_tier<",
        ">no_such_decision<",
        "rule",
        '<bpmn:businessRuleTask id="rule"',
        "no_such_decision",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "element_id", "line_at", "fragment"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_model_is_refused(owner, db, old, new, element_id, line_at, fragment):
    assert BASE.count(old) == 1
    broken = BASE.replace(old, new)
    details = assert_refused(deploy_json(owner, broken))
    matching = [d for d in details if d["element_id"] == element_id]
    assert matching, details
    assert any(fragment in d["message"] for d in matching), matching
    assert matching[0]["line"] == line_of(line_at, broken)
    assert_nothing_stored(owner, db)


def test_malformed_xml_names_the_line(owner, db):
    broken = BASE.replace("</bpmn:scriptTask>", "", 1)
    details = assert_refused(deploy_json(owner, broken))
    assert len(details) == 1
    assert "malformed XML" in details[0]["message"]
    assert details[0]["element_id"] is None
    assert details[0]["line"] == line_of("</bpmn:process>", broken)
    assert_nothing_stored(owner, db)


def test_form_not_uploaded(owner, db):
    details = assert_refused(owner.upload("call_note.bpmn"))
    assert details[0]["element_id"] == "call"
    assert "call-form.json" in details[0]["message"]
    assert details[0]["line"] == line_of(
        '<bpmn:userTask id="call"', (DIAGRAMS / "call_note.bpmn").read_text()
    )
    assert_nothing_stored(owner, db)


def test_invalid_json_schema_form(owner, db):
    details = assert_refused(deploy_json(owner, BASE, forms={"ask-form.json": {"type": "objekt"}}))
    assert [d["element_id"] for d in details] == ["ask"]
    assert "not a valid JSON Schema" in details[0]["message"]
    assert_nothing_stored(owner, db)


def test_all_problems_are_reported_together(owner, db):
    broken = BASE.replace("total = len(lines) * 5", "total = (").replace("'PT1M'", "PT1X")
    details = assert_refused(deploy_json(owner, broken))
    assert {d["element_id"] for d in details} >= {"calc", "pause"}
    assert_nothing_stored(owner, db)


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ([("notes.txt", b"call them back")], "expected .bpmn, .dmn, .json or .form"),
        ([("call_note.bpmn", "<?xml version='1.0'?><a>é</a>".encode("latin-1"))], "UTF-8"),
        ([("form.json", b"{not json")], "invalid JSON"),
        ([("only-form.json", b"{}")], "at least one .bpmn file"),
    ],
    ids=["txt-file", "not-utf8", "bad-json-file", "no-bpmn"],
)
def test_unreadable_uploads(owner, db, files, fragment):
    details = assert_refused(owner.upload(extra=files))
    assert any(fragment in d["message"] for d in details), details
    assert_nothing_stored(owner, db)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"bpmn": ""},
        {"bpmn": 5},
        {"bpmn": ["<x/>", 3]},
        {"bpmn": BASE, "forms": []},
        {"bpmn": BASE, "forms": {"ask-form.json": "nope"}},
        {"bpmn": "<definitions/>"},
        {"bpmn": '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>'},
        {"bpmn": BASE, "dmn": ["<definitions"]},
        {"bpmn": BASE.replace('isExecutable="true"', 'isExecutable="false"')},
        {"bpmn": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'},
    ],
    ids=[
        "empty-object",
        "empty-xml",
        "number",
        "mixed-list",
        "forms-list",
        "form-not-object",
        "not-bpmn",
        "no-process",
        "broken-dmn",
        "not-executable",
        "external-entity",
    ],
)
def test_odd_json_bodies_are_422(owner, db, body):
    assert_refused(owner.post("/api/v1/process-models", json=body))
    assert_nothing_stored(owner, db)


def test_bodies_that_are_not_json_are_client_errors(owner, db):
    for response in (
        owner.post("/api/v1/process-models", data=b"", content_type="application/json"),
        owner.post("/api/v1/process-models", data=b"[1, 2]", content_type="application/json"),
        owner.post("/api/v1/process-models", data=b"<xml/>", content_type="application/xml"),
        owner.post(
            "/api/v1/process-models",
            data={"other": "field"},
            content_type="multipart/form-data",
        ),
    ):
        assert 400 <= response.status_code < 500, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"]
    assert_nothing_stored(owner, db)


def test_a_refused_deploy_leaves_earlier_versions_alone(owner):
    owner.deploy("call_note.bpmn", "call-form.json")
    before = owner.models()
    broken = (DIAGRAMS / "call_note_v2.bpmn").read_text().replace("crm.add_note", "crm.nope")
    response = owner.post(
        "/api/v1/process-models",
        json={
            "bpmn": broken,
            "forms": {"call-form.json": json.loads((DIAGRAMS / "call-form.json").read_text())},
        },
    )
    assert_refused(response)
    assert owner.models() == before


def test_a_data_store_is_refused_on_the_reference_the_canvas_shows(owner, db):
    """Data stores have no implementation: the parser names the store without an id; the
    422 points at the store's reference in the process, the shape the modeler marks."""
    response = owner.upload("ledger_store.bpmn")
    assert response.status_code == 422
    (detail,) = response.get_json()["error"]["details"]
    assert "data stores are not supported" in detail["message"]
    assert detail["element_id"] == "ledger_ref" and detail["line"] == 11
