"""Diagrams broken one way each, as a mutation of good ones breaks them: a sequence flow aimed at
what is no flow node, a process, decision or ``spiffworkflow:`` extension without what names
it. Each refused with a ``422 invalid_bpmn`` on its element and line in words, never a 500, a
conflict to try again, or a Python exception's text; and a multi-instance activity started
without its input collection an incident on that activity that a retry with the collection
gets past."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import DIAGRAMS, Actor, refused

WAITS = (DIAGRAMS / "waits.bpmn").read_text()
CALL_NOTE = (DIAGRAMS / "call_note.bpmn").read_text()
CALL_FORM = (DIAGRAMS / "call-form.json").read_bytes()
LEAD_GRADE = (DIAGRAMS / "unseen11" / "lead_grade.dmn").read_text()

GRADING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="grading" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="grade"/>
    <bpmn:businessRuleTask id="grade"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>lead_grade</spiffworkflow:calledDecisionId>
    </bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="e"/><bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def line_of(fragment: str, text: str) -> int:
    return text.count("\n", 0, text.index(fragment)) + 1


def deploy(owner: Actor, bpmn: str, name: str = "m.bpmn", dmn: str | None = None):
    extra = [(name, bpmn.encode())] + ([("g.dmn", dmn.encode())] if dmn else [])
    if "call-form.json" in bpmn:
        extra.append(("call-form.json", CALL_FORM))
    return owner.upload(extra=extra)


def assert_in_words(details: list[dict]) -> None:
    for detail in details:
        for raw in ("KeyError", "TypeError", "NoneType", "Traceback"):
            assert raw not in detail["message"], detail


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("defs_waits", "<definitions>"),  # was a 500
        ("await_payment", "<process>"),  # was "outside process 'await_payment'"
        ("Message_payment", "<message>"),  # was "outside process"
        ("med_payment", "<messageEventDefinition>"),  # was "inside intermediateCatchEvent"
        ("f_msg", "<sequenceFlow>"),  # was said only on the gateway the flow had entered
    ],
)
def test_a_sequence_flow_to_what_is_no_flow_node_is_said_on_the_flow(owner, target, kind):
    flow = 'sourceRef="start" targetRef="fork"'
    broken = WAITS.replace(flow, f'sourceRef="start" targetRef="{target}"')
    details = refused(deploy(owner, broken))
    assert_in_words(details)
    flow = [d for d in details if d["element_id"] == "f1"]
    assert len(flow) == 1, details
    assert flow[0]["line"] == line_of('id="f1"', broken)
    assert (
        f"targetRef {target!r}, which is a {kind}, not an event, activity or gateway"
        in (flow[0]["message"])
    )


def test_a_sequence_flow_from_the_definitions_is_refused_not_a_500(owner):
    broken = WAITS.replace('id="f_end" sourceRef="join"', 'id="f_end" sourceRef="defs_waits"')
    details = refused(deploy(owner, broken))
    (flow,) = [d for d in details if d["element_id"] == "f_end"]
    assert "sourceRef 'defs_waits', which is a <definitions>" in flow["message"]
    assert "the element the path comes from" in flow["message"]


def test_a_process_without_an_id_is_refused_on_its_line(owner):
    """It passed the checks and the deploy answered 409 "Other deploys of these processes
    are under way; try again", however often it was tried."""
    broken = WAITS.replace('<bpmn:process id="await_payment" ', "<bpmn:process ")
    details = refused(deploy(owner, broken))
    assert_in_words(details)
    (said,) = [d for d in details if "has no id" in d["message"]]
    assert said["line"] == line_of("<bpmn:process ", broken)
    assert "process 'Await payment' has no id" in said["message"]
    assert 'id="await_payment"' in said["message"]
    assert owner.models() == []


@pytest.mark.parametrize(
    ("written", "unnamed", "attribute"),
    [
        (
            '<spiffworkflow:serviceTaskOperator id="crm.add_note" ',
            "<spiffworkflow:serviceTaskOperator ",
            "id",
        ),
        ('<spiffworkflow:parameter id="text" ', "<spiffworkflow:parameter ", "id"),
        (
            '<spiffworkflow:property name="dueIn" ',
            "<spiffworkflow:property ",
            "name",
        ),
    ],
)
def test_an_extension_without_its_name_is_said_on_its_task(owner, written, unnamed, attribute):
    """The parser read these attributes by key: "KeyError('id')." was all the deploy said."""
    broken = CALL_NOTE.replace(written, unnamed)
    details = refused(deploy(owner, broken))
    assert_in_words(details)
    (said,) = details
    kind = unnamed.strip().strip("<")
    assert said["line"] == line_of(written, CALL_NOTE)
    assert said["element_id"] in ("note", "call")
    assert f"<{kind}> on line {said['line']} has no {attribute}=" in said["message"]


@pytest.mark.parametrize(
    ("diagram", "declared", "reference"),
    [
        ("payment_plain.bpmn", '<bpmn:message id="Message_paid_plain" ', "Message_paid_plain"),
        ("amount_check.bpmn", '<bpmn:error id="Error_invalid_amount" ', "Error_invalid_amount"),
    ],
)
def test_a_message_or_error_without_an_id_is_said_on_its_line(owner, diagram, declared, reference):
    """The parser said "Message identifier is missing from bpmn xml." on no element and no
    line, beside the events said to name a message the file does not declare."""
    text = (DIAGRAMS / diagram).read_text()
    kind = declared.split(":")[1].split()[0]
    broken = text.replace(declared, f"<bpmn:{kind} ")
    details = refused(deploy(owner, broken))
    assert not [d for d in details if d["line"] is None], details
    (said,) = [d for d in details if "has no id" in d["message"]]
    assert said["line"] == line_of(declared, text)
    assert f'give it one, such as id="{reference}"' in said["message"]


@pytest.mark.parametrize(
    ("written", "told"),
    [("客户编号", 'write id="客户编号"'), ("名" * 300_000, "write id")],
)
def test_a_parameter_named_with_name_is_told_its_id_as_written(owner, written, told):
    """The id to write was shown as JSON escapes ("\\u5ba2\\u6237…"), and a name of
    300,000 characters was repeated whole, six times its length in escapes."""
    broken = CALL_NOTE.replace('parameter id="text"', f'parameter name="{written}"')
    details = refused(deploy(owner, broken))
    (said,) = [d for d in details if "has no attribute 'name'" in d["message"]]
    assert said["message"].endswith(told)
    assert len(said["message"]) < 300
    assert said["line"] == line_of('parameter id="text"', CALL_NOTE)


def test_a_decision_without_an_id_is_said_on_the_decision(owner):
    """Its caller was refused with "TypeError('sequence item 0: expected str instance,
    NoneType found')"."""
    broken = LEAD_GRADE.replace('id="lead_grade"', "", 1)
    details = refused(deploy(owner, GRADING, name="grading.bpmn", dmn=broken))
    assert_in_words(details)
    by_file = {d["file"]: d for d in details}
    assert "has no id" in by_file["g.dmn"]["message"]
    assert by_file["g.dmn"]["line"] == line_of("<decision ", broken)
    assert "calls decision 'lead_grade', which no DMN file" in by_file["grading.bpmn"]["message"]


def test_the_same_decision_with_its_id_deploys(owner):
    response = deploy(owner, GRADING, name="grading.bpmn", dmn=LEAD_GRADE)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("diagram", "process_id", "element", "collection"),
    [
        ("call_each_contact.bpmn", "call_each_contact", "call_contact", "contacts"),
        (
            "multi_instance_edges/replies_sequential.bpmn",
            "replies_sequential",
            "collect",
            "customers",
        ),
    ],
)
def test_a_multi_instance_activity_without_its_collection_is_an_incident_on_it(
    owner, diagram, process_id, element, collection
):
    """A parallel activity iterated ``None``: "TypeError: 'NoneType' object is not iterable",
    an incident on no element and no task; a sequential one said "Missing data input for
    multiinstance task". Neither left the activity in error, so a retry with the collection
    ran nothing and the instance stayed running with nothing to do."""
    owner.upload(extra=[(diagram.rsplit("/", 1)[-1], (DIAGRAMS / diagram).read_bytes())])
    started = owner.start(process_id, {})
    assert started["status"] == "error"
    (incident,) = started["incidents"]
    assert (incident["element_id"], bool(incident["task_id"])) == (element, True)
    assert f"has no {collection!r}, its input collection" in incident["message"]
    assert "Error" not in incident["message"]
    not_a_list = owner.start(process_id, {collection: 5})
    assert (
        f"has {collection!r} = 5, where its input collection is a list"
        in (not_a_list["incidents"][0]["message"])
    )
    url = f"/api/v1/process-instances/{started['id']}"
    retried = owner.post(f"{url}/retry", json={"data": {collection: ["a", "b"]}})
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["incidents"] == []
    view = owner.get(f"{url}/elements").get_json()
    assert element in view["ready"] and not view["error"], view


def test_a_nul_in_a_diagram_sent_as_json_is_said_with_its_file_and_line(owner, client, make_user):
    """The modeler's deploy and the API's JSON deploy answered "Send a JSON object with
    Content-Type: application/json." to a JSON object sent with that type (strict JSON
    refuses the NUL, which PostgreSQL cannot store)."""
    broken = WAITS.replace('name="Await payment"', 'name="Await\x00payment"')
    line = line_of("Await", WAITS)
    api = owner.post("/api/v1/process-models", json={"bpmn": {"waits.bpmn": broken}})
    make_user("process_owner", username="web_po", password=PASSWORD)
    assert sign_in(client, "web_po").status_code == 302
    page = client.get("/process-models/new").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    modeler = client.post(
        "/process-models/deploy",
        json={"bpmn": {"waits.bpmn": broken}},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    for response in (api, modeler):
        assert response.status_code == 422, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "invalid_json"
        assert (
            f'a NUL character (\\u0000) on line {line} in bpmn["waits.bpmn"]' in (error["message"])
        )
        assert error["details"] == [
            {"field": 'bpmn["waits.bpmn"]', "message": f"a NUL character (\\u0000) on line {line}"}
        ]


@pytest.mark.parametrize(("value", "said"), [(None, "gave None"), (5, "gave 5 (of type int)")])
def test_a_timer_whose_expression_gives_no_text_says_so(owner, value, said):
    """A timeDuration reading a variable that holds None failed the step with
    "AttributeError: 'NoneType' object has no attribute 'lower'"."""
    reading = WAITS.replace("<bpmn:timeDuration>'PT2H'", "<bpmn:timeDuration>cool_off_for")
    assert deploy(owner, reading).status_code == 201
    started = owner.start("await_payment", {"cool_off_for": value})
    assert started["status"] == "error"
    (incident,) = started["incidents"]
    assert (
        f"the timer's expression {said}, where a timer needs an ISO 8601 text"
        in (incident["message"])
    )
    assert "AttributeError" not in incident["message"]


def test_an_empty_timer_is_told_what_to_write(owner):
    """It said only "timer has no expression"."""
    empty = WAITS.replace("<bpmn:timeDuration>'PT2H'</bpmn:timeDuration>", "<bpmn:timeDuration/>")
    details = refused(deploy(owner, empty))
    (said,) = [d for d in details if d["element_id"] == "cool_off"]
    assert said["line"] == line_of('id="cool_off"', WAITS)
    assert (
        "timer has no expression; a timer holds an ISO 8601 duration (timeDuration)"
        in (said["message"])
    )
    assert "'PT1H'" in said["message"]
