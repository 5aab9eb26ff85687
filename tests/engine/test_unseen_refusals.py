"""Unseen diagrams Dialflow must refuse: 422 ``invalid_bpmn`` with one
``{element_id, line, message}`` per problem, never a 500, and nothing deployed changes."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ModelBundle, ProcessVersion
from tests.engine.conftest import DIAGRAMS, Actor, by_element, refused

UNSEEN = DIAGRAMS / "unseen"
GOOD = (UNSEEN / "camunda7_callback.bpmn").read_bytes()


def upload_bytes(actor: Actor, files: list[tuple[str, bytes]]) -> Any:
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
    )


def unseen(*names: str) -> list[tuple[str, bytes]]:
    return [(name, (UNSEEN / name).read_bytes()) for name in names]


def line_of(fragment: str, name: str) -> int:
    text = (UNSEEN / name).read_text()
    return text.count("\n", 0, text.index(fragment)) + 1


@pytest.fixture
def deployed_before(owner: Actor) -> list[dict[str, Any]]:
    """A model already deployed: no refused deploy may change it."""
    response = upload_bytes(owner, unseen("camunda7_callback.bpmn"))
    assert response.status_code == 201
    return owner.models()


def assert_unchanged(owner: Actor, db: Any, before: list[dict[str, Any]]) -> None:
    assert owner.models() == before
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 1
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 1


# -- other engines' dialects -------------------------------------------------------------------


def test_camunda_7_tasklist_process_is_refused_element_by_element(owner, db, deployed_before):
    found = by_element(refused(upload_bytes(owner, unseen("camunda7_tasklist.bpmn"))))
    assert "camunda:formKey" in found["Start_quote"]
    # candidateGroups="sales-managers" says who works it and runs, its due date
    # ${dateTime().plusDays(2).toDate()} is two days (engine.joda_dates), its multi-instance
    # over ${reviewers}, each instance a reviewer, runs as drawn
    assert "Task_review" not in found
    # its camunda:decisionRef runs (engine.camunda_decisions): the decision's file is missing
    assert "calls decision 'pricing'" in found["Task_rules"]
    assert "add the .dmn file" in found["Task_rules"]
    # <camunda:in variables="all"/> and its out are what a call activity does: not refused
    assert "<camunda:in>" not in found["Call_contract"] and "'contract'" in found["Call_contract"]
    assert "camunda:calledElementBinding='latest'" in found["Call_contract"]
    assert "camunda:expression" in found["Task_mail"]
    assert "Wait_answer" not in found  # its timer ${waitTime} reads the variable, as Camunda
    assert_unchanged(owner, db, deployed_before)


def test_camunda_8_feel_condition_is_named_on_its_sequence_flow(owner, db, deployed_before):
    """FEEL (``=employees >= 50``) was not recognised: with the Zeebe job worker the parser
    stopped first and the condition went unmentioned; alone it read "not valid Python"."""
    details = refused(upload_bytes(owner, unseen("zeebe_lead.bpmn")))
    found = by_element(details)
    assert "runs job type 'enrich-lead'" in found["Task_enrich"]  # no operator of that name
    # candidateGroups="inside-sales" says who works the call and runs as drawn
    assert "<zeebe:assignmentDefinition>" not in found.get("Task_call", "")
    # the FEEL condition runs as drawn (``engine.zeebe_expressions``)
    assert "Flow_big" not in found
    assert_unchanged(owner, db, deployed_before)


def test_a_feel_condition_alone_is_not_reported_as_bad_python(owner, db):
    """In a Camunda 7 file, which reads no FEEL (a Camunda 8 file's runs as drawn)."""
    xml = (UNSEEN / "camunda7_callback.bpmn").read_text()
    xml = xml.replace('outcome == "interested"', '=outcome = "interested"')
    (detail,) = refused(owner.post("/api/v1/process-models", json={"bpmn": xml}))
    assert detail["element_id"] == "Flow_interested"
    assert "FEEL" in detail["message"] and "'outcome == \"interested\"'" in detail["message"]


# -- event subprocesses ----------------------------------------------------------------------


def test_event_subprocesses_deploy_and_their_non_interrupting_error_start_is_refused(owner, db):
    """Event subprocesses run since ``engine.event_subprocesses`` (SpiffWorkflow 3.2 started
    the error one with the process and never offered the message one its message); an error
    start marked non-interrupting, which BPMN does not have, is refused on that start event."""
    (name, content) = unseen("event_subprocess_complaints.bpmn")[0]
    assert upload_bytes(owner, [(name, content)]).status_code == 201
    bent = content.replace(
        b'<bpmn:startEvent id="fraud_start" isInterrupting="true">',
        b'<bpmn:startEvent id="fraud_start" isInterrupting="false">',
    )
    details = refused(upload_bytes(owner, [(name, bent)]))
    found = by_element(details)
    assert set(found) == {"fraud_start"}
    assert "an error start event always interrupts" in found["fraud_start"]
    assert details[0]["line"] == line_of('<bpmn:startEvent id="fraud_start"', name)


# -- what the XSD and the parser let through -------------------------------------------------


def test_structural_problems_are_all_named_at_once(owner, db, deployed_before):
    details = refused(upload_bytes(owner, unseen("broken_structure.bpmn")))
    found = by_element(details)
    assert "start events without a trigger" in found["start_a"]
    assert "start events without a trigger" in found["start_b"]
    assert "default flow 'f1' is not one of its outgoing" in found["route"]
    assert "attached to 'work_renamed'" in found["orphan_timer"]
    assert "has no script" in found["placeholder"]
    assert "messageRef 'msg_reply'" in found["wait_reply"]
    assert "no outgoing sequence flow" in found["dead_end"]
    assert "errorRef 'err_missing'" in found["fail"]
    assert len(details) == 8, details
    assert not any("TypeError" in d["message"] for d in details)
    for detail in details:
        assert detail["line"] == line_of(f'id="{detail["element_id"]}"', "broken_structure.bpmn")
    assert_unchanged(owner, db, deployed_before)


@pytest.mark.parametrize(
    ("old", "new", "element_id", "fragment"),
    [
        ('id="Activity_cold"', 'id="Activity_hot"', "Activity_hot", "given to 2 elements"),
        ('isExecutable="true"', 'isExecutable="yes"', "c7_callback_outcome", "xs:boolean"),
        (
            '<bpmn:endEvent id="Event_hot">',
            '<bpmn:endEvent id="Event_hot"><bpmn:frob/>',
            "Event_hot",
            "frob",
        ),
    ],
    ids=["duplicate-id", "wrong-attribute-type", "unknown-element"],
)
def test_xsd_problems_are_element_level(owner, db, deployed_before, old, new, element_id, fragment):
    xml = GOOD.decode()
    assert xml.count(old) == 1
    details = refused(upload_bytes(owner, [("c7.bpmn", xml.replace(old, new).encode())]))
    assert any(d["element_id"] == element_id and fragment in d["message"] for d in details), details
    assert_unchanged(owner, db, deployed_before)


# -- DMN -------------------------------------------------------------------------------------------


def test_hit_policies_and_several_decisions_in_one_file(owner, db, deployed_before):
    """FEEL cells are run as written (tests/engine/test_feel.py), and so is COLLECT with SUM
    (tests/engine/test_unseen_dmn.py); what SpiffWorkflow cannot run is refused on its
    element: PRIORITY without output values."""
    bpmn = (DIAGRAMS / "deal_pricing.bpmn").read_text().replace("discount_tier", "feel_discount")
    response = upload_bytes(owner, [("pricing.bpmn", bpmn.encode()), *unseen("feel_pricing.dmn")])
    details = refused(response)
    found = by_element(details)
    assert "Table_feel" not in found
    assert "feel_priority" not in found  # a second decision of a file is read too
    assert "PRIORITY" in found["Table_priority"]
    assert not {"Cell_range", "Cell_list", "Cell_not", "Cell_any"} & set(found)
    assert not any("AttributeError" in d["message"] for d in details)
    assert all(d["file"] == "feel_pricing.dmn" for d in details)
    table = next(d for d in details if d["element_id"] == "Table_priority")
    assert table["line"] == line_of('id="Table_priority"', "feel_pricing.dmn")
    assert_unchanged(owner, db, deployed_before)


# -- files that are no BPMN at all -------------------------------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"" if i == 2 else b"%d" % (i - 1))) * 10)
        for i in range(2, 10)
    )
    + b"]>\n"
    + GOOD.split(b"?>", 1)[1].replace(b'name="Callback outcome"', b'name="&lol9;"')
)
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + (
    GOOD.split(b"?>", 1)[1].replace(b'name="Callback outcome"', b'name="&e;"')
)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (GOOD[: len(GOOD) // 2], "malformed XML"),
        (b"", "malformed XML"),
        (b" \n ", "malformed XML"),
        (GOOD.replace(b'encoding="UTF-8"', b'encoding="UTF-16"'), "no UTF-16 byte-order mark"),
        ("回访".encode("gbk") + GOOD, "not UTF-8"),
        (LAUGHS, "amplification"),
        (EXTERNAL, "external entity"),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><p/></html>', "html"),
        ((DIAGRAMS / "discount.dmn").read_bytes(), "DMN"),
        (
            GOOD.replace(
                b"http://www.omg.org/spec/BPMN/20100524/MODEL", b"http://www.omg.org/bpmn20"
            ),
            "bpmn20",
        ),
        (GOOD.replace(b"Callback done", b"Call\x00back"), "malformed XML"),
        (GOOD.replace(b"<bpmn:documentation>", b"") + b"x" * (6 * 1024 * 1024), "larger than"),
    ],
    ids=[
        "truncated",
        "empty",
        "whitespace",
        "utf16-declared-but-utf8",
        "gbk-bytes",
        "billion-laughs",
        "external-entity",
        "xhtml",
        "dmn-named-bpmn",
        "old-namespace",
        "nul-byte",
        "six-megabytes",
    ],
)
def test_files_that_are_no_bpmn_are_refused_safely(owner, db, deployed_before, content, fragment):
    details = refused(upload_bytes(owner, [("model.bpmn", content)]))
    assert any(fragment in d["message"] for d in details), details
    assert all("passwd" not in d["message"] and "root:" not in d["message"] for d in details)
    assert_unchanged(owner, db, deployed_before)


def test_a_bom_and_a_few_megabytes_of_documentation_deploy(owner, agent):
    big = GOOD.replace(
        b'<bpmn:startEvent id="StartEvent_1" name="Callback done">',
        b'<bpmn:startEvent id="StartEvent_1" name="Callback done"><bpmn:documentation>'
        + "说明".encode() * (700 * 1024)
        + b"</bpmn:documentation>",
    )
    assert 4 * 1024 * 1024 < len(big) < 5 * 1024 * 1024
    response = upload_bytes(owner, [("big.bpmn", b"\xef\xbb\xbf" + big)])
    assert response.status_code == 201, response.get_json()
    done = agent.start("c7_callback_outcome", {"outcome": "interested"})
    assert done["data"]["temperature"] == "hot"
