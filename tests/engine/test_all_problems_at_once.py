"""A refused deploy lists every problem of the diagram at once, whichever layer finds it.

The XSD, the passes on the XML, SpiffWorkflow's parser and the semantic checks each stopped
the ones after them: a diagram with an unknown operator, a misspelt timer and a missing form
came back with one problem, and the next deploy named the next. Each case here breaks
``checks_base.bpmn`` in several independent ways (of different layers), on lines that stay
where they are, and expects every problem in one 422, each with the message, element and line
it gets when it is the only one.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import pytest

from tests.engine.conftest import DIAGRAMS, Actor
from tests.engine.test_invalid_models import assert_nothing_stored, assert_refused, line_of

BASE = (DIAGRAMS / "checks_base.bpmn").read_text()
DMN = (DIAGRAMS / "discount.dmn").read_text()
FORM = json.loads((DIAGRAMS / "ask-form.json").read_text())

# name -> (text in BASE, replacement on the same line, element, where its line is, fragment)
BREAKS: dict[str, tuple[str, str, str, str, str]] = {
    "unknown-operator": (
        'serviceTaskOperator id="crm.add_note"',
        'serviceTaskOperator id="crm.add_notes"',
        "note",
        '<bpmn:serviceTask id="note"',
        "unknown service operator 'crm.add_notes'",
    ),
    "misspelt-timer": (
        "'PT1M'",
        "PT2X",
        "pause",
        '<bpmn:intermediateCatchEvent id="pause"',
        "timer value 'PT2X' is not a valid ISO 8601 duration",
    ),
    "missing-form": (
        'value="ask-form.json"',
        'value="gone-form.json"',
        "ask",
        '<bpmn:userTask id="ask"',
        "form 'gone-form.json' is not part of the deploy",
    ),
    "condition-syntax": (
        "total &gt; 10",
        "total &gt; &gt; 10",
        "big",
        '<bpmn:sequenceFlow id="big"',
        "condition of sequence flow 'big' is not a valid Python expression",
    ),
    "unknown-called-process": (
        'calledElement="checks_child"',
        'calledElement="no_such_process"',
        "sub",
        '<bpmn:callActivity id="sub"',
        "calls process 'no_such_process', which is neither in this deploy",
    ),
    "unknown-decision": (  # the parser stops building the process here
        ">discount_tier<",
        ">no_such_decision<",
        "rule",
        '<bpmn:businessRuleTask id="rule"',
        "calls decision 'no_such_decision', which no DMN file of this deploy has",
    ),
    "two-flows-out-of-a-task": (  # the parser refuses it too
        '<bpmn:sequenceFlow id="f4" sourceRef="calc" targetRef="gw" />',
        '<bpmn:sequenceFlow id="f4" sourceRef="calc" targetRef="gw" />'
        '<bpmn:sequenceFlow id="f4b" sourceRef="calc" targetRef="end" />',
        "calc",
        '<bpmn:scriptTask id="calc"',
        "has 2 outgoing sequence flows",
    ),
    "xsd-unknown-attribute": (
        '<bpmn:endEvent id="end">',
        '<bpmn:endEvent id="end" colour="red">',
        "end",
        '<bpmn:endEvent id="end"',
        "attribute 'colour'",
    ),
}


def broken(*names: str) -> str:
    text = BASE
    for name in names:
        old, new, *_ = BREAKS[name]
        assert text.count(old) == 1, name
        text = text.replace(old, new)
    return text


def body(bpmn: str) -> dict[str, Any]:
    return {"bpmn": {"checks.bpmn": bpmn}, "dmn": [DMN], "forms": {"ask-form.json": FORM}}


def deploy(owner: Actor, bpmn: str) -> list[dict[str, Any]]:
    return assert_refused(owner.post("/api/v1/process-models", json=body(bpmn)))


def shape(detail: dict[str, Any]) -> tuple[Any, Any, str]:
    return detail["element_id"], detail["line"], detail["message"]


def said(details: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The details that name the break ``name`` on its element."""
    _old, _new, element_id, _where, fragment = BREAKS[name]
    return [d for d in details if d["element_id"] == element_id and fragment in d["message"]]


def assert_listed(details: list[dict[str, Any]], names: tuple[str, ...], text: str) -> None:
    """Each break named, on its element and line, and no detail said twice."""
    for name in names:
        on_it = said(details, name)
        assert len(on_it) == 1, (name, details)
        assert on_it[0]["line"] == line_of(BREAKS[name][3], text), (name, on_it)
    assert len({shape(d) for d in details}) == len(details), details
    garbled = ("perhaps a form has the same ID", "Error:", "got an unexpected keyword")
    assert not [d for d in details if any(g in d["message"] for g in garbled)], details


COMBINATIONS = {
    "checks-beside-a-missing-call": (
        "unknown-operator",
        "misspelt-timer",
        "missing-form",
        "condition-syntax",
        "unknown-called-process",
    ),
    "checks-beside-a-parser-failure": (
        "unknown-decision",
        "unknown-operator",
        "misspelt-timer",
        "missing-form",
    ),
    "checks-beside-an-xsd-problem": (
        "xsd-unknown-attribute",
        "unknown-operator",
        "condition-syntax",
        "unknown-decision",
    ),
    "parser-xsd-and-call-together": (
        "two-flows-out-of-a-task",
        "xsd-unknown-attribute",
        "unknown-called-process",
        "misspelt-timer",
        "missing-form",
    ),
}


@pytest.mark.parametrize("names", list(COMBINATIONS.values()), ids=list(COMBINATIONS))
def test_every_problem_is_in_one_422(owner, db, names):
    text = broken(*names)
    details = deploy(owner, text)
    assert_listed(details, names, text)
    assert_nothing_stored(owner, db)


def test_all_eight_kinds_at_once_say_what_each_says_alone(owner, db):
    """The message, element and line of a problem are those it gets on its own."""
    alone = {}
    for name in BREAKS:
        details = deploy(owner, broken(name))
        (detail,) = said(details, name)
        alone[name] = shape(detail)
    text = broken(*BREAKS)
    details = deploy(owner, text)
    assert_listed(details, tuple(BREAKS), text)
    together = {shape(d) for d in details}
    assert set(alone.values()) <= together, sorted(set(alone.values()) - together)
    assert_nothing_stored(owner, db)


def test_the_dry_run_lists_what_the_deploy_lists(owner, db):
    text = broken(*BREAKS)
    deployed = deploy(owner, text)
    checked = assert_refused(owner.post("/api/v1/process-models/validate", json=body(text)))
    assert checked == deployed
    assert_nothing_stored(owner, db)


def test_an_upload_lists_them_as_the_json_body_does(owner, db):
    text = broken(*COMBINATIONS["checks-beside-a-parser-failure"])
    files = [
        (BytesIO(text.encode()), "checks.bpmn"),
        (BytesIO(DMN.encode()), "discount.dmn"),
        (BytesIO(json.dumps(FORM).encode()), "ask-form.json"),
    ]
    response = owner.post(
        "/api/v1/process-models", data={"file": files}, content_type="multipart/form-data"
    )
    assert assert_refused(response) == deploy(owner, text)
    assert_nothing_stored(owner, db)


OTHER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs_other"
  targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="other" isExecutable="true">
    <bpmn:startEvent id="other_start" />
    <bpmn:serviceTask id="other_note">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="crm.nope">
          <spiffworkflow:parameters />
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:intermediateCatchEvent id="other_wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT3X</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="other_end" />
    <bpmn:sequenceFlow id="o1" sourceRef="other_start" targetRef="other_note" />
    <bpmn:sequenceFlow id="o2" sourceRef="other_note" targetRef="other_wait" />
    <bpmn:sequenceFlow id="o3" sourceRef="other_wait" targetRef="other_end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_one_broken_process_hides_nothing_of_another_file(owner, db):
    """The parser stops in one process (an unknown decision); the process of the other file
    is built and checked all the same."""
    response = owner.post(
        "/api/v1/process-models",
        json={
            "bpmn": {"checks.bpmn": broken("unknown-decision"), "other.bpmn": OTHER},
            "dmn": [DMN],
            "forms": {"ask-form.json": FORM},
        },
    )
    details = assert_refused(response)
    found = {d["element_id"]: d for d in details}
    assert set(found) == {"rule", "other_note", "other_wait"}, details
    assert "no_such_decision" in found["rule"]["message"]
    assert "unknown service operator 'crm.nope'" in found["other_note"]["message"]
    assert "timer value 'PT3X' is not a valid" in found["other_wait"]["message"]
    assert found["other_wait"]["line"] == line_of('<bpmn:intermediateCatchEvent id="other', OTHER)
    assert_nothing_stored(owner, db)


def test_a_malformed_file_beside_a_broken_one(owner, db):
    """A file that is no XML is said so and left there; the other file is checked whole."""
    text = broken("unknown-operator", "misspelt-timer")
    response = owner.post(
        "/api/v1/process-models",
        json={
            "bpmn": {"checks.bpmn": text, "torn.bpmn": BASE[: len(BASE) // 2]},
            "dmn": [DMN],
            "forms": {"ask-form.json": FORM},
        },
    )
    details = assert_refused(response)
    (torn,) = [d for d in details if d.get("file") == "torn.bpmn"]
    assert "malformed XML" in torn["message"] and torn["element_id"] is None
    assert_listed(details, ("unknown-operator", "misspelt-timer"), text)
    assert_nothing_stored(owner, db)


def test_a_flow_the_xsd_refuses_is_named_once(owner, db):
    """A flow without ``targetRef`` is the schema's problem; the passes after it do not say
    again that the end event's incoming flow "enters None", and the timer is still found."""
    text = broken("misspelt-timer").replace(
        '<bpmn:sequenceFlow id="f7" sourceRef="sub" targetRef="end" />',
        '<bpmn:sequenceFlow id="f7" sourceRef="sub" />',
    )
    details = deploy(owner, text)
    (flow,) = [d for d in details if d["element_id"] == "f7"]
    assert "'targetRef' is required" in flow["message"]
    assert not [d for d in details if "None" in d["message"]], details
    assert_listed(details, ("misspelt-timer",), text)
    assert_nothing_stored(owner, db)


def test_a_dangling_flow_beside_a_check(owner, db):
    """A flow to nothing was also the parser's "two items with the same ID" on its source:
    it is said once, by the reference check, and the operator is still checked."""
    text = broken("unknown-operator").replace(
        'sourceRef="rule" targetRef="sub"', 'sourceRef="rule" targetRef="nowhere"'
    )
    details = deploy(owner, text)
    (flow,) = [d for d in details if d["element_id"] == "f6"]
    assert "targetRef 'nowhere', which is no element of the model" in flow["message"]
    assert_listed(details, ("unknown-operator",), text)
    assert_nothing_stored(owner, db)
