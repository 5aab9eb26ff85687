"""A fourth round of diagrams in styles not seen before, deployed and run through the API:
jBPM / KIE exports (``drools:``/``tns:`` extensions, item definitions, process properties),
Flowable and Activiti exports (``flowable:``/``activiti:`` extensions, ``omgdc``/``omgdi``
layout), Enterprise Architect (``EAID_`` ids), Visual Paradigm, Yaoqiang and Cardanit; and
their malformed or invalid variants, each refused element by element with nothing deployed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, by_element, notes_of, only, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    nothing_deployed,
    notifications_of,
    upload,
)
from tests.engine.diagram_folders import line_in as line_of

UNSEEN4 = DiagramFolder("unseen4")
diagram, edited, deploy = UNSEEN4.read, UNSEEN4.edited, UNSEEN4.deploy


def variant(name: str, *changes: tuple[str, str]) -> tuple[str, bytes]:
    return (name, edited(name, *changes))


def same(name: str) -> tuple[str, bytes]:
    return (name, diagram(name))


def truncated(name: str, at: int) -> tuple[str, bytes]:
    return (name, diagram(name)[:at])


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


# -- jBPM / KIE -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vip", "answers", "outcome"),
    [
        (False, [True], "reached"),
        (True, [False, True], "reached"),
        (False, [False], None),
        (True, [False, False], None),
    ],
    ids=["first-try", "second-try", "one-miss", "two-misses"],
)
def test_jbpm_callback_hands_data_to_the_called_process_and_back(
    owner, agent, make_customer, db, vip, answers, outcome
):
    assert deploy(owner, "jbpm_callback.bpmn")["process_ids"] == [
        "telesales.callback",
        "telesales.callback_call",
    ]
    customer = make_customer(name="Wang Fang")
    started = agent.start(
        "telesales.callback", {"customer_id": customer.id, "contact": "Ms Wang", "vip": vip}
    )
    (agree,) = started["ready_tasks"]
    assert (agree["name"], agree["lane"]) == ("_kie_agree", "agent")
    after = agent.complete_ok(agree["id"], {"slot": "14:00"})
    for answer in answers:
        (dial,) = after["ready_tasks"]
        assert dial["name"] == "_kcc_dial"
        assert dial["lane"] == "agent"
        after = agent.complete_ok(dial["id"], {"reached": answer, "outcome": "reached"})
    assert after["status"] == "completed", after["incidents"]
    assert after["ready_tasks"] == []
    data = after["data"]
    if outcome:  # counted in the called process, handed back when it ends
        assert (data["tries"], data["outcome"]) == (len(answers), "reached")
        assert data["summary"] == f"Ms Wang: reached after {len(answers)} tries"
        assert notes_of(db, customer.id) == []
    else:  # an error ends the called process: nothing of its data comes back
        assert data["tries"] == 0 and "outcome" not in data and "summary" not in data
        assert notes_of(db, customer.id) == ["No answer from Ms Wang, callback missed"]


def test_jbpm_reminder_timer_does_not_interrupt_the_task(timed: Timed, db):
    deploy(timed.owner, "jbpm_callback.bpmn")
    started = timed.agent.start(
        "telesales.callback", {"customer_id": 0, "contact": "Mr Li", "vip": False}
    )
    assert timed.advance(hours=3) == 0
    assert timed.advance(hours=1, minutes=1) == 1
    now = timed.agent.instance(started["id"])
    assert [t["name"] for t in now["ready_tasks"]] == ["_kie_agree"]
    assert now["data"]["reminder"]  # the notify operator's answer
    assert notifications_of(db, timed.agent) == ["Agree a callback time with Mr Li"]


def test_a_raw_jbpm_export_is_refused_element_by_element(owner, db):
    text = diagram("jbpm_kie_export.bpmn")
    details = refused(upload(owner, ("jbpm_kie_export.bpmn", text)))
    found = by_element(details)
    assert set(found) == {"_F3", "_F4", "_A1"}, details
    # its priorities (1, then 2) order the conditions as they are written: not refused
    assert "priority" not in found["_F3"] + found["_F4"]
    assert "'http://www.java.com/java'" in found["_F3"]
    assert "<drools:onEntry-script>" in found["_A1"]
    assert "the assignment to 'TaskName'" in found["_A1"]
    assert "the assignment to 'GroupId'" in found["_A1"] and "lane" in found["_A1"]
    assert "<potentialOwner> is not supported" in found["_A1"]
    lines = {(d["element_id"], d["line"]) for d in details}
    assert ("_A1", line_of("<bpmn2:potentialOwner", text)) in lines
    assert ("_A1", line_of("<drools:onEntry-script", text)) in lines
    nothing_deployed(db)


def test_a_jbpm_dmn_task_is_told_how_dialflow_names_its_decision(owner, db):
    name = "jbpm_dmn_task_export.bpmn"
    details = refused(upload(owner, (name, diagram(name))))
    assert [d["element_id"] for d in details] == ["_brt", "_brt"], details
    assert "the assignment to 'decision'" in details[0]["message"]
    assert "name the decision with spiffworkflow:calledDecisionId" in details[0]["message"]
    assert "needs the decision it calls" in details[1]["message"]
    nothing_deployed(db)


def test_a_jbpm_task_whose_inputs_are_assigned_is_refused_not_failed_at_run_time(owner, db):
    """It deployed, and every instance stopped at the task with "Missing data input.":
    SpiffWorkflow 3.2 does not run the association's assignment, then finds no input."""
    text = diagram("jbpm_kie_export.bpmn").decode()
    for old, new in [
        (' language="http://www.java.com/java"><![CDATA[return hours < 24;]]>', ">hours &lt; 24"),
        (' language="http://www.java.com/java"><![CDATA[return hours >= 24;]]>', ">hours >= 24"),
        (' drools:priority="1"', ""),
        (' drools:priority="2"', ""),
    ]:
        text = text.replace(old, new)
    start = text.index("<drools:onEntry-script")
    text = text[:start] + text[text.index("</drools:onEntry-script>") + 24 :]
    start = text.index("<bpmn2:dataOutputAssociation>")
    text = text[:start] + text[text.index("</bpmn2:dataOutputAssociation>") + 30 :]
    start = text.index("<bpmn2:potentialOwner")
    text = text[:start] + text[text.index("</bpmn2:potentialOwner>") + 23 :]
    details = refused(upload(owner, ("assigned.bpmn", text.encode())))
    assert [d["element_id"] for d in details] == ["_A1", "_A1", "_A1"], details
    assert "'TaskName'" in details[0]["message"] and "'GroupId'" in details[1]["message"]
    assert (
        "ioSpecification declares data inputs or outputs ('TaskName', 'GroupId', 'hours')"
        in (details[2]["message"])
    )
    nothing_deployed(db)


# -- Flowable ---------------------------------------------------------------------------------

FLOWABLE = "flowable_lead_followup.bpmn20.xml"


@pytest.mark.parametrize(
    ("channels", "call_at", "summary"),
    [
        (
            ["email", "call"],
            "10:00",
            "Dear customer, about your 12 seats (12 seats); call at 10:00",
        ),
        (["call"], "16:30", "call at 16:30"),
        ([], None, "note"),
    ],
    ids=["email-and-call", "call-only", "default-flow"],
)
def test_flowable_hot_lead_opens_a_deal_beside_the_review_then_follows_up(
    owner, agent, manager, make_customer, db, channels, call_at, summary
):
    assert deploy(owner, FLOWABLE)["process_ids"] == ["leadFollowUp"]
    customer = make_customer(name="Hot lead")
    started = agent.start("leadFollowUp", {"customer_id": customer.id})
    (qualify,) = started["ready_tasks"]
    assert (qualify["name"], qualify["lane"]) == ("sid-QUALIFY", "agent")
    split = agent.complete_ok(qualify["id"], {"score": 85, "seats": 12, "channels": channels})
    assert split["status"] == "running", split["incidents"]
    assert split["data"]["deal"]["title"] == "12 seats"  # the service task ran beside the review
    (review,) = split["ready_tasks"]
    assert (review["name"], review["lane"]) == ("sid-REVIEW", "manager")
    assert agent.complete(review["id"]).status_code == 403
    after = manager.complete_ok(review["id"], {"approved": True})
    if "call" in channels:
        (book,) = after["ready_tasks"]
        assert (book["name"], book["lane"]) == ("sid-BOOK-CALL", "agent")
        after = agent.complete_ok(book["id"], {"call_at": call_at})
    assert after["status"] == "completed", after["incidents"]
    assert after["data"]["summary"] == summary
    assert notes_of(db, customer.id) == []


@pytest.mark.parametrize(
    ("score", "expected"),
    [(50, {"stage": "nurture"}), (10, {})],
    ids=["warm-nurtured", "cold-default-flow"],
)
def test_flowable_warm_and_cold_leads(owner, agent, make_customer, db, score, expected):
    deploy(owner, FLOWABLE)
    customer = make_customer(name="Lukewarm")
    (qualify,) = agent.start("leadFollowUp", {"customer_id": customer.id})["ready_tasks"]
    done = agent.complete_ok(qualify["id"], {"score": score, "seats": 1, "channels": []})
    assert done["status"] == "completed", done["incidents"]
    assert {k: done["data"][k] for k in expected} == expected
    assert "deal" not in done["data"]
    cold = [f"Not a fit (score {score})"] if score < 40 else []
    assert notes_of(db, customer.id) == cold


def test_flowable_qualify_timer_hands_the_lead_to_a_manager(timed: Timed):
    deploy(timed.owner, FLOWABLE)
    started = timed.agent.start("leadFollowUp", {"customer_id": 0})
    assert timed.advance(hours=2, minutes=1) == 1
    now = timed.agent.instance(started["id"])
    (take_over,) = now["ready_tasks"]
    assert (take_over["name"], take_over["lane"]) == ("sid-TAKE-OVER", "manager")
    assert timed.agent.tasks("candidate=1") == []  # the qualify task is gone
    boss = timed.actor("manager", username="boss", team="East")
    assert boss.complete_ok(take_over["id"])["status"] == "completed"


def test_a_raw_flowable_export_is_refused_element_by_element(owner, db):
    name = "flowable_raw_export.bpmn20.xml"
    details = refused(upload(owner, (name, diagram(name))))
    found = by_element(details)
    assert set(found) == {
        "leadFollowUpRaw",
        "sid-QUALIFY",
        "sid-OPEN-DEAL",
        "sid-NURTURE",
    }, details  # formFieldValidation="true" and exclusive="true" are Dialflow's way anyway;
    # the JUEL condition ${score >= 70} of sid-F-HOT runs as drawn (engine.juel)
    assert "<flowable:executionListener>" in found["leadFollowUpRaw"]
    # candidateGroups="sales" names who works it (a team "sales"): run as drawn
    assert "candidateGroups" not in found["sid-QUALIFY"]
    assert "flowable:formKey='qualify'" in found["sid-QUALIFY"]
    assert "flowable:class=" in found["sid-OPEN-DEAL"]
    assert "autoStoreVariables='false'" in found["sid-NURTURE"]
    assert "'groovy'" in found["sid-NURTURE"]
    assert "sid-QUALIFY-LATE" not in found  # its bare PT2H is the duration it says
    nothing_deployed(db)


MAPPED = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowable="http://flowable.org/bpmn" xmlns:drools="http://www.jboss.org/drools"
  targetNamespace="http://www.flowable.org/processdef">
  <process id="mapped" isExecutable="true">
    <startEvent id="s" flowable:initiator="starter"/>
    <userTask id="each" name="Call each contact">
      <multiInstanceLoopCharacteristics isSequential="true"
        flowable:collection="contacts" flowable:elementVariable="contact"/>
    </userTask>
    <userTask id="due" name="Call back" flowable:dueDate="PT4H" flowable:priority="80">
      <extensionElements><flowable:formProperty id="outcome" type="string"/></extensionElements>
    </userTask>
    <callActivity id="call" calledElement="mapped_child">
      <extensionElements><flowable:in source="amount" target="amount"/></extensionElements>
    </callActivity>
    <serviceTask id="svc" drools:serviceimplementation="Java" implementation="Java"/>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="each"/>
    <sequenceFlow id="f2" sourceRef="each" targetRef="due"/>
    <sequenceFlow id="f2b" sourceRef="due" targetRef="call"/>
    <sequenceFlow id="f3" sourceRef="call" targetRef="svc"/>
    <sequenceFlow id="f4" sourceRef="svc" targetRef="e"/>
  </process>
  <process id="mapped_child" isExecutable="true">
    <startEvent id="cs"/><endEvent id="ce"/><sequenceFlow id="cf" sourceRef="cs" targetRef="ce"/>
  </process>
</definitions>
"""


def test_flowable_and_jbpm_mappings_are_refused_with_the_dialflow_way(owner, db):
    found = by_element(refused(upload(owner, ("mapped.bpmn20.xml", MAPPED.encode()))))
    assert "s" not in found  # Dialflow sets the starter's variable (engine.starter)
    assert "each" not in found  # its multi-instance over contacts runs (engine.foreign_loops)
    assert "call" not in found  # its flowable:in mapping runs (engine.call_mappings)
    # its due date and priority run (engine.java_schedule); its form is drawn in the diagram:
    # it becomes the task's JSON-Schema form
    assert "due" not in found
    assert "drools:serviceimplementation='Java'" in found["svc"]
    assert "choose a service operator" in found["svc"]
    nothing_deployed(db)


CALLING = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowable="http://flowable.org/bpmn" targetNamespace="http://www.flowable.org/processdef">
  <process id="quoteWithCheck" isExecutable="true">
    <startEvent id="s"/>
    <callActivity id="check" name="Credit check" calledElement="creditCheck"
      flowable:calledElementType="key" flowable:inheritVariables="true"
      flowable:inheritBusinessKey="true" flowable:sameDeployment="true"
      flowable:fallbackToDefaultTenant="false">
      <extensionElements><flowable:out source="limit" target="limit"/></extensionElements>
    </callActivity>
    <scriptTask id="after" scriptFormat="python">
      <script>verdict = "ok" if limit >= amount else "no"</script>
    </scriptTask>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="check"/>
    <sequenceFlow id="f2" sourceRef="check" targetRef="after"/>
    <sequenceFlow id="f3" sourceRef="after" targetRef="e"/>
  </process>
  <process id="creditCheck" isExecutable="true">
    <startEvent id="cs"/>
    <scriptTask id="limit_of" scriptFormat="python">
      <script>limit = 2 * amount if rating == "A" else amount // 2</script>
    </scriptTask>
    <endEvent id="ce"/>
    <sequenceFlow id="cf1" sourceRef="cs" targetRef="limit_of"/>
    <sequenceFlow id="cf2" sourceRef="limit_of" targetRef="ce"/>
  </process>
</definitions>
"""


@pytest.mark.parametrize(("rating", "verdict"), [("A", "ok"), ("C", "no")])
def test_flowable_call_activity_defaults_pass_and_data_goes_in_and_out(
    owner, agent, rating, verdict
):
    """The Flowable Modeler's call-activity settings at Dialflow's own behaviour (by key, all
    data and the business key in, the same deploy) were refused as Flowable-specific. What
    comes back is what ``<flowable:out>`` names, as Flowable returns it."""
    response = upload(owner, ("quote.bpmn20.xml", CALLING.encode()))
    assert response.status_code == 201, response.get_json()
    done = agent.start("quoteWithCheck", {"amount": 1000, "rating": rating}, business_key="q-1")
    assert done["status"] == "completed", done["incidents"]
    assert (done["data"]["limit"], done["data"]["verdict"]) == (
        2000 if rating == "A" else 500,
        verdict,
    )
    other = CALLING.replace(
        'flowable:inheritVariables="true"', 'flowable:inheritVariables="false"'
    ).replace('<flowable:out source="limit" target="limit"/>', "")
    jbpm = CALLING.replace(
        'xmlns:flowable="http://flowable.org/bpmn"',
        'xmlns:flowable="http://flowable.org/bpmn" xmlns:drools="http://www.jboss.org/drools"',
    ).replace('flowable:fallbackToDefaultTenant="false"', 'drools:independent="true"')
    found = by_element(refused(upload(owner, ("other.bpmn20.xml", other.encode()))))
    assert "inheritVariables='false'" in found["check"] and "all of the caller's" in found["check"]
    found = by_element(refused(upload(owner, ("jbpm.bpmn", jbpm.encode()))))
    assert "drools:independent='true'" in found["check"] and "process.start" in found["check"]


def test_flowable_defaults_that_are_dialflow_s_own_behaviour_pass(owner, agent):
    """Flowable Modeler writes formFieldValidation="true" on every start event and user task,
    and Activiti/Flowable exclusive="true" on service tasks: they were refused as
    Flowable-specific, though Dialflow always checks a task's data and runs one step at a time."""
    text = edited(
        FLOWABLE,
        (
            '<scriptTask id="sid-NURTURE" name="Put in nurture" scriptFormat="python">',
            '<scriptTask id="sid-NURTURE" name="Put in nurture" scriptFormat="python" '
            'flowable:autoStoreVariables="true">',
        ),
    )
    assert text.count(b'flowable:formFieldValidation="true"') == 5
    assert upload(owner, (FLOWABLE, text)).status_code == 201
    review = '<userTask id="sid-REVIEW" name="Review the hot lead" flowable:formFieldValidation='
    off = edited(FLOWABLE, (f'{review}"true">', f'{review}"false">'))
    found = by_element(refused(upload(owner, (FLOWABLE, off))))
    assert set(found) == {"sid-REVIEW"} and "formFieldValidation='false'" in found["sid-REVIEW"]


# -- Activiti Designer with a KIE decision table ------------------------------------------------

ACTIVITI = ("activiti_deal_approval.bpmn", "kie_approval_tier.dmn")


@pytest.fixture
def director(actor: Callable[..., Actor]) -> Actor:
    return actor("director", username="dir", team=None)


def prepared(agent: Actor, customer_id: int, **quote: Any) -> dict[str, Any]:
    started = agent.start("dealApproval", {"customer_id": customer_id})
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("usertask1", "agent")
    return agent.complete_ok(prepare["id"], quote)


@pytest.mark.parametrize(
    ("quote", "verdicts", "note"),
    [
        ({"amount": 5000, "discount_pct": 5, "segment": "smb"}, [], "approved by rules (auto)"),
        (
            {"amount": 5000, "discount_pct": 15, "segment": "enterprise"},
            [True, True],
            "approved by managers (manager)",
        ),
        (
            {"amount": 20000, "discount_pct": 0, "segment": "smb"},
            [True, False],
            "refused by managers",
        ),
    ],
    ids=["auto", "managers-approve", "a-manager-refuses"],
)
def test_activiti_quote_routed_by_a_kie_decision_table(
    owner, agent, manager, make_customer, db, quote, verdicts, note
):
    """The KIE editor's DMN file was refused with "IndexError: list index out of range" (its
    default namespace is the model's own), then with "Unknown type in decision table" (its
    annotation column)."""
    assert deploy(owner, *ACTIVITI)["process_ids"] == ["dealApproval"]
    customer = make_customer(name="Quote customer")
    after = prepared(agent, customer.id, checks=["price", "terms"], **quote)
    assert after["data"]["tier"] == ("auto" if not verdicts else "manager")
    if verdicts:
        checks = after["ready_tasks"]
        assert [(t["name"], t["lane"]) for t in checks] == [("usertask2", "manager")] * 2
        for task, verdict in zip(checks, verdicts, strict=True):
            after = manager.complete_ok(task["id"], {"verdict": verdict})
        assert after["data"]["verdicts"] == verdicts
    assert after["status"] == "completed", after["incidents"]
    assert notes_of(db, customer.id) == [f"Quote of {quote['amount']} {note}"]


CATCH_ALL = "<errorEventDefinition></errorEventDefinition>"
BOUNDARIES = {
    "catch-all": CATCH_ALL,
    "by-code": '<errorEventDefinition errorRef="rejected"></errorEventDefinition>',
}


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
@pytest.mark.parametrize("approves", [True, False], ids=["director-approves", "director-refuses"])
def test_activiti_director_review_and_its_error_boundary(
    owner, agent, director, make_customer, db, approves, boundary
):
    text = edited(ACTIVITI[0], (CATCH_ALL, BOUNDARIES[boundary]))
    response = upload(owner, (ACTIVITI[0], text), same(ACTIVITI[1]))
    assert response.status_code == 201, response.get_json()
    customer = make_customer(name="Big deal")
    after = prepared(agent, customer.id, amount=50000, discount_pct=3, segment="enterprise")
    assert after["data"]["tier"] == "director"
    (decide,) = after["ready_tasks"]
    assert (decide["name"], decide["lane"]) == ("usertask3", "director")
    after = director.complete_ok(decide["id"], {"director_approves": approves})
    if approves:
        assert after["status"] == "completed", after["incidents"]
        assert notes_of(db, customer.id) == ["Quote of 50000 approved by director (director)"]
        return
    (tell,) = after["ready_tasks"]  # the error end was caught on the subprocess
    assert (tell["name"], tell["lane"]) == ("usertask5", "agent")
    done = agent.complete_ok(tell["id"])
    assert done["status"] == "completed", done["incidents"]
    assert "approved" not in done["data"]
    assert notes_of(db, customer.id) == []


def test_a_raw_activiti_export_is_refused_element_by_element(owner, db):
    name = "activiti_raw_export.bpmn"
    details = refused(upload(owner, (name, diagram(name))))
    found = by_element(details)
    # activiti:initiator on its start event: Dialflow sets that; usertask1's
    # candidateGroups="sales" names who works it, run as drawn
    assert set(found) == {
        "businessruletask1",
        "servicetask1",
        "scripttask1",
    }, details  # flow5's JUEL condition ${tier == 'auto'} runs as drawn (engine.juel)
    rules = found["businessruletask1"]
    assert "activiti:rules='tierRule'" in rules and "spiffworkflow:calledDecisionId" in rules
    assert "needs the decision it calls" in rules  # was "calls decision 'None'"
    # usertask2's multi-instance over ${checks} runs as drawn (engine.foreign_loops)
    assert "activiti:expression=" in found["servicetask1"]
    assert "'javascript'" in found["scripttask1"]
    nothing_deployed(db)


def test_a_subprocess_error_whose_code_no_boundary_names_is_an_incident(owner, agent, director):
    """The boundary event waits for another code: SpiffWorkflow 3.2 ended the subprocess as if
    it had completed, and the refused quote was noted as approved by nobody."""
    text = edited(
        ACTIVITI[0],
        (CATCH_ALL, '<errorEventDefinition errorRef="other"></errorEventDefinition>'),
        (
            '<error id="rejected" name="Rejected" errorCode="DEAL_REJECTED"></error>',
            '<error id="rejected" name="Rejected" errorCode="DEAL_REJECTED"></error>'
            '<error id="other" name="Other" errorCode="OTHER"></error>',
        ),
    )
    assert upload(owner, (ACTIVITI[0], text), same(ACTIVITI[1])).status_code == 201
    after = prepared(agent, 0, amount=50000, discount_pct=3, segment="enterprise")
    (decide,) = after["ready_tasks"]
    after = director.complete_ok(decide["id"], {"director_approves": False})
    assert after["status"] == "error" and after["ready_tasks"] == []
    (incident,) = after["incidents"]
    assert incident["element_id"] == "errorendevent1"
    assert "(code 'DEAL_REJECTED')" in incident["message"]


def test_a_single_hit_table_with_no_matching_rule_answers_null(owner, agent, director):
    """DMN: no matching rule of a UNIQUE table is a null result. SpiffWorkflow 3.2 left
    ``tier`` unset, and the gateway after the task failed with "Error evaluating expression
    'tier == "auto"'" instead of taking its default flow."""
    deploy(owner, *ACTIVITI)
    after = prepared(agent, 0, amount=500, discount_pct=-5, segment="smb", checks=[])
    assert after["incidents"] == [] and after["status"] == "running"
    assert after["data"]["tier"] is None
    (decide,) = after["ready_tasks"]  # the gateway's default flow: the director decides
    assert decide["name"] == "usertask3"


# -- Enterprise Architect: receive task, event-based gateway, sequential multi-instance --------

EA = "ea_callback_booking.bpmn"
EA_PROCESS = "EAID_PROC0001_A1B2_4c3d_8E4F_5A6B7C8D9E0F"


def booked(clocked: Timed, customer_id: int, ref: str | int) -> dict[str, Any]:
    """An instance whose slot offer went out with ``ref`` (waiting for the customer's pick)."""
    started = clocked.agent.start(
        EA_PROCESS,
        {"customer_id": customer_id, "contacts": ["Ms Wang", "Mr Li"], "wait_for": "PT24H"},
    )
    (offer,) = started["ready_tasks"]
    assert (offer["title"], offer["lane"]) == ("Offer callback slots", "agent")
    waiting = clocked.agent.complete_ok(offer["id"], {"booking_ref": ref})
    assert waiting["status"] == "waiting"
    assert [w["name"] for w in waiting["waiting"]] == ["slot_chosen"]
    return waiting


def message(actor: Actor, name: str, ref: str, **payload: Any) -> Any:
    return actor.post(
        "/api/v1/messages",
        json={"name": name, "correlation": {"booking_ref": ref}, "payload": payload},
    )


def standard_correlation_only() -> bytes:
    """The EA file as EA writes it: correlation properties with retrieval expressions on the
    messages and a correlation key, without spiffworkflow:processVariableCorrelation."""
    text, count = re.subn(
        rb"<bpmn:extensionElements>\s*<spiffworkflow:processVariableCorrelation>.*?"
        rb"</bpmn:extensionElements>",
        b"",
        diagram(EA),
        flags=re.S,
    )
    assert count == 2
    return text


@pytest.mark.parametrize("binding", ["spiffworkflow", "standard-bpmn-only"])
def test_ea_receive_task_and_cancel_message_are_correlated_by_booking(
    timed: Timed, make_customer, db, binding
):
    """With standard BPMN correlation only, the message for B-2 went to both waiting instances
    (SpiffWorkflow keys a conversation by its first message) and keyed B-1's as B-2."""
    content = diagram(EA) if binding == "spiffworkflow" else standard_correlation_only()
    assert upload(timed.owner, (EA, content)).status_code == 201
    customer = make_customer(name="Correlated")
    first = booked(timed, customer.id, "B-1")
    second = booked(timed, customer.id, "B-2")
    picked = message(timed.agent, "slot_chosen", "B-2", slot="Tue 10:00")
    assert picked.status_code == 202, picked.get_json()
    assert picked.get_json()["delivered_to"] == [second["id"]]
    now = timed.agent.instance(second["id"])
    assert now["data"]["slot"] == "Tue 10:00"
    assert sorted(w["kind"] for w in now["waiting"]) == ["message", "timer"]
    assert timed.agent.instance(first["id"])["waiting"][0]["name"] == "slot_chosen"
    # the cancellation is for B-2 only: B-1 does not wait for one yet
    cancelled = message(timed.agent, "callback_cancelled", "B-2", reason="bought elsewhere")
    assert cancelled.get_json()["delivered_to"] == [second["id"]]
    done = timed.agent.instance(second["id"])
    assert done["status"] == "completed" and done["waiting"] == []
    assert notes_of(db, customer.id) == ["Callback B-2 cancelled: bought elsewhere"]
    # the timer of the event-based gateway went with the other path
    assert timed.advance(hours=25) == 0
    assert message(timed.agent, "callback_cancelled", "B-1").status_code == 404


def test_a_correlation_value_the_instance_lacks_is_an_incident_on_the_receive_task(owner, agent):
    """The offer was completed without a booking reference: the incident named no element and
    no task (SpiffWorkflow evaluated the correlation outside its task)."""
    deploy(owner, EA)
    started = agent.start(EA_PROCESS, {"customer_id": 0, "contacts": [], "wait_for": "PT1H"})
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert after["status"] == "error"
    (incident,) = after["incidents"]
    assert incident["element_id"] == "EAID_RT000001_5D6E_4f7a_8B9C_0D1E2F3A4B5C"
    assert incident["task_id"] is not None
    assert incident["message"].startswith(
        "the correlation of message 'slot_chosen' cannot be read from the task's data: "
        "NameError: name 'booking_ref' is not defined"
    )


def test_a_number_sent_as_text_names_the_instance_that_holds_it(timed: Timed):
    assert upload(timed.owner, (EA, standard_correlation_only())).status_code == 201
    first = booked(timed, 0, 7)
    second = booked(timed, 0, 8)
    picked = message(timed.agent, "slot_chosen", "8", slot="Fri 09:00")
    assert picked.get_json()["delivered_to"] == [second["id"]]
    assert timed.agent.instance(first["id"])["waiting"][0]["name"] == "slot_chosen"


@pytest.mark.parametrize(
    ("outcomes", "reviewed"),
    [(["no answer", "reached"], False), (["reached"], False), (["no answer", "busy"], True)],
    ids=["second-contact-reached", "first-reached-ends-the-loop", "nobody-reached"],
)
def test_ea_callback_time_calls_each_contact_in_turn(timed: Timed, outcomes, reviewed):
    deploy(timed.owner, EA)
    waiting = booked(timed, 0, "B-9")
    assert message(timed.agent, "slot_chosen", "B-9", slot="Wed 15:00").status_code == 202
    assert timed.advance(hours=23) == 0
    assert timed.advance(hours=1, minutes=1) == 1
    now = timed.agent.instance(waiting["id"])
    for expected, outcome in zip(["Ms Wang", "Mr Li"], outcomes, strict=False):
        (call,) = now["ready_tasks"]  # sequential: one contact at a time
        assert (call["title"], call["lane"]) == ("Call the contact", "agent")
        assert [t["id"] for t in timed.agent.tasks("candidate=1")] == [call["id"]]
        now = timed.agent.complete_ok(call["id"], {"outcome": outcome, "called": expected})
    assert now["data"]["outcomes"] == outcomes
    if reviewed:
        (review,) = now["ready_tasks"]
        assert (review["title"], review["lane"]) == ("Review the unreachable lead", "manager")
    else:
        assert now["status"] == "completed", now["incidents"]
        assert now["ready_tasks"] == []


# -- Visual Paradigm: escalations from a subprocess, a Trisotech COLLECT table -----------------

VP = ("vp_discount_negotiation.bpmn", "triso_risk_flags.dmn")
VP_PROCESS = "_Pro8sBZGAqACBAQe"


def negotiating(agent: Actor, discount_pct: int, term_months: int) -> dict[str, Any]:
    started = agent.start(VP_PROCESS, {"term_months": term_months})
    (propose,) = started["ready_tasks"]
    assert (propose["title"], propose["lane"]) == ("Propose\na discount", "agent")
    return agent.complete_ok(propose["id"], {"discount_pct": discount_pct})


@pytest.mark.parametrize(
    ("discount_pct", "term_months", "flags", "levels"),
    [
        (25, 3, ["deep discount", "manager involved", "short term"], [2, 1, 3]),
        (10, 12, [], []),
    ],
    ids=["escalated-three-flags", "no-flag-empty-lists"],
)
def test_vp_non_interrupting_escalation_and_a_collect_table(
    owner, agent, manager, discount_pct, term_months, flags, levels
):
    assert deploy(owner, *VP)["process_ids"] == [VP_PROCESS]
    after = negotiating(agent, discount_pct, term_months)
    terms = only(after["ready_tasks"], title="Agree the terms")
    if discount_pct > 20:  # the manager is asked beside the negotiation, which goes on
        approve = only(after["ready_tasks"], title="Approve the\nlarge discount")
        assert approve["lane"] == "manager"
        assert len(after["ready_tasks"]) == 2
        after = manager.complete_ok(approve["id"])
        assert [t["id"] for t in after["ready_tasks"]] == [terms["id"]]
    else:
        assert len(after["ready_tasks"]) == 1
    done = agent.complete_ok(terms["id"], {"customer_stays": True})
    assert done["status"] == "completed", done["incidents"]
    assert (done["data"]["flags"], done["data"]["levels"]) == (flags, levels)
    assert done["data"]["flag_count"] == len(flags)
    assert done["data"]["worst"] == max(levels, default=0)


def test_vp_interrupting_escalation_end_leaves_the_subprocess(owner, agent, manager):
    deploy(owner, *VP)
    after = negotiating(agent, 5, 24)
    (terms,) = after["ready_tasks"]
    after = agent.complete_ok(terms["id"], {"customer_stays": False})
    (rescue,) = after["ready_tasks"]
    assert (rescue["title"], rescue["lane"]) == ("Rescue the deal", "manager")
    done = manager.complete_ok(rescue["id"])
    assert done["status"] == "completed", done["incidents"]
    assert "flags" not in done["data"]  # the path after the subprocess was not taken


# -- Yaoqiang: a call activity's errors, caught by code and by a catch-all ---------------------

YAOQIANG = "yaoqiang_budget_check.bpmn"


@pytest.mark.parametrize(
    ("amount", "task", "notes"),
    [
        (8000, ("Send the contract", "agent"), []),
        (12000, ("CFO review", "director"), []),
        (25000, None, ["Deal of 25000 is over the limit"]),
    ],
    ids=["within-the-limit", "needs-cfo-caught-by-catch-all", "over-limit-caught-by-code"],
)
def test_yaoqiang_called_process_errors_reach_the_boundary_of_their_code(
    owner, agent, director, make_customer, db, amount, task, notes
):
    assert deploy(owner, YAOQIANG)["process_ids"] == ["PROCESS_1", "PROCESS_2"]
    customer = make_customer(name="Budget")
    started = agent.start(
        "PROCESS_1", {"customer_id": customer.id, "amount": amount, "segment": "smb"}
    )
    assert started["incidents"] == []
    if task is None:  # only the boundary event with the code caught it, not the catch-all too
        assert started["status"] == "completed"
        assert started["ready_tasks"] == []
    else:
        (ready,) = started["ready_tasks"]  # one path: the specific catch is not doubled
        assert (ready["title"], ready["lane"]) == task
        worker = director if task[1] == "director" else agent
        assert worker.complete_ok(ready["id"])["status"] == "completed"
    if amount <= 10000:  # the called process ended normally: its data came back
        assert started["data"]["headroom"] == 10000 - amount
    assert notes_of(db, customer.id) == notes


def test_a_coded_escalation_is_not_also_caught_by_a_catch_all_beside_it(owner, agent, manager):
    """The subprocess's "Deal at risk" boundary made a catch-all: the non-interrupting
    "Needs approval" escalation was caught by it as well and ended the negotiation."""
    text = edited(
        VP[0],
        (
            '<escalationEventDefinition id="_Eed8sBZGAqACBAQr" escalationRef="_Esc8sBZGAqACBAQb"/>',
            '<escalationEventDefinition id="_Eed8sBZGAqACBAQr"/>',
        ),
    )
    response = upload(owner, (VP[0], text), (VP[1], diagram(VP[1])))
    assert response.status_code == 201, response.get_json()
    after = negotiating(agent, 30, 24)
    titles = sorted(t["title"] for t in after["ready_tasks"])
    assert titles == ["Agree the terms", "Approve the\nlarge discount"]
    terms = only(after["ready_tasks"], title="Agree the terms")
    after = agent.complete_ok(terms["id"], {"customer_stays": False})  # now the catch-all
    rescue = only(after["ready_tasks"], title="Rescue the deal")
    approve = only(after["ready_tasks"], title="Approve the\nlarge discount")
    manager.complete_ok(approve["id"])
    assert manager.complete_ok(rescue["id"])["status"] == "completed"


def test_an_error_nothing_catches_is_an_incident_not_a_quiet_end(owner, agent):
    """Without the catch-all, NEEDS_CFO had no catcher: SpiffWorkflow 3.2 ended the called
    process as if normally and the deal went on to "Send the contract"."""
    text = diagram(YAOQIANG).decode()
    start = text.index('<boundaryEvent attachedToRef="_3" cancelActivity="true" id="_8"')
    text = text[:start] + text[text.index("</boundaryEvent>", start) + 16 :]
    start = text.index('<userTask completionQuantity="1" id="_9"')
    text = text[:start] + text[text.index("</endEvent>", start) + 11 :]  # the task and its end
    for gone in (
        '<sequenceFlow id="_16" sourceRef="_8" targetRef="_9"/>',
        '<sequenceFlow id="_17" sourceRef="_9" targetRef="_11"/>',
        "<flowNodeRef>_9</flowNodeRef>",
    ):
        assert gone in text
        text = text.replace(gone, "")
    assert upload(owner, (YAOQIANG, text.encode())).status_code == 201
    started = agent.start("PROCESS_1", {"customer_id": 0, "amount": 12000, "segment": "smb"})
    assert started["status"] == "error"
    assert started["ready_tasks"] == []  # not on to "Send the contract"
    (incident,) = started["incidents"]
    assert incident["element_id"] == "_25"
    assert (
        "error 'Needs the CFO' (code 'NEEDS_CFO') is thrown here and nothing catches it"
        in (incident["message"])
    )
    # a caught error and a normal end still run as before
    over = agent.start("PROCESS_1", {"customer_id": 0, "amount": 8000, "segment": "smb"})
    assert [t["title"] for t in over["ready_tasks"]] == ["Send the contract"]


# -- Cardanit: a FIRST table and an inclusive gateway with a default ---------------------------

CARDANIT = ("cardanit_lead_routing.bpmn", "cardanit_lead_grade.dmn")
CARDANIT_PROCESS = "id-7c4e1b2a-9d3f-4e6a-8b5c-0a1d2e3f4b5c"


@pytest.mark.parametrize(
    ("lead", "grade", "opened", "notes"),
    [
        (
            {"seats": 150, "source": "web", "vip": True, "wants_brochure": True},
            "A",
            [("Call within the hour", "agent"), ("Manager calls the VIP", "manager")],
            ["Brochure sent (A)"],
        ),
        (
            {"seats": 50, "source": "referral", "vip": False, "wants_brochure": False},
            "A",
            [("Call within the hour", "agent")],
            [],
        ),
        (
            {"seats": 50, "source": "web", "vip": True, "wants_brochure": False},
            "B",
            [("Call within the hour", "agent")],
            [],
        ),
        ({"seats": 3, "source": "web", "vip": True, "wants_brochure": False}, "C", [], []),
    ],
    ids=["three-channels", "first-rule-wins", "second-grade", "default-nurture"],
)
def test_cardanit_first_table_and_inclusive_channels(
    owner, agent, manager, make_customer, db, lead, grade, opened, notes
):
    assert deploy(owner, *CARDANIT)["process_ids"] == [CARDANIT_PROCESS]
    customer = make_customer(name="Routed")
    now = agent.start(CARDANIT_PROCESS, {"customer_id": customer.id, **lead})
    assert now["data"]["grade"] == grade
    if opened:  # the hand-over waits until every channel opened is done
        assert sorted((t["title"], t["lane"]) for t in now["ready_tasks"]) == sorted(opened)
    for title, lane in opened:
        task = only(now["ready_tasks"], title=title)
        now = (manager if lane == "manager" else agent).complete_ok(task["id"])
    (handover,) = now["ready_tasks"]  # the join waited for every channel it opened
    assert handover["title"] == "Hand over"
    done = agent.complete_ok(handover["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"].get("nurture", False) is (not opened and not notes)
    assert notes_of(db, customer.id) == notes


# -- malformed and invalid variants of the files above -----------------------------------------


BROKEN = {
    "broken-xml": (
        [truncated("ea_callback_booking.bpmn", 6000)],
        [(None, "malformed XML", None)],  # on the line where the file stops
    ),
    "broken-file-named-like-a-task-of-another": (  # was put on "Hand over" of the other
        [same(CARDANIT[0]), same(CARDANIT[1]), ("Hand over notes.bpmn", diagram(EA)[:3000])],
        [(None, "Hand over notes.bpmn: malformed XML", None)],
    ),
    "unknown-operator": (
        [
            variant(
                FLOWABLE,
                ('id="crm.create_opportunity" resultVariable', 'id="crm.open_deal" resultVariable'),
            )
        ],
        [("sid-OPEN-DEAL", "unknown service operator 'crm.open_deal'", 'id="sid-OPEN-DEAL"')],
    ),
    "missing-parameter": (
        [
            variant(
                ACTIVITI[0],
                (
                    '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id">'
                    "</spiffworkflow:parameter>",
                    "",
                ),
            ),
            same(ACTIVITI[1]),
        ],
        [("servicetask1", "needs parameter 'customer_id'", 'id="servicetask1"')],
    ),
    "bad-condition": (
        [variant(FLOWABLE, ("<![CDATA[score >= 70]]>", "<![CDATA[score >>= 70]]>"))],
        [("sid-F-HOT", "not a valid Python expression: 'score >>= 70'", 'id="sid-F-HOT"')],
    ),
    "bad-script": (
        [variant(YAOQIANG, ("headroom = limit - amount]]>", "headroom = limit - amount)]]>"))],
        [("_22", "syntax error on line 2", 'id="_22"')],
    ),
    "flow-to-nowhere": (
        [variant(FLOWABLE, ('targetRef="sid-END-NURTURE"', 'targetRef="sid-END-NURTURED"'))],
        [
            ("sid-F-NURTURED", "'sid-END-NURTURED', which is no element", 'id="sid-F-NURTURED"'),
            ("sid-END-NURTURE", "nothing leads to this element", 'id="sid-END-NURTURE"'),
        ],
    ),
    "default-flow-missing": (
        [variant(FLOWABLE, ('default="sid-F-COLD"', 'default="sid-F-FROZEN"'))],
        [("sid-QUALIFIED", "default flow 'sid-F-FROZEN'", 'id="sid-QUALIFIED"')],
    ),
    "called-process-missing": (
        [
            variant(
                "jbpm_callback.bpmn",
                (
                    'calledElement="telesales.callback_call"',
                    'calledElement="telesales.callback_dial"',
                ),
            )
        ],
        [("_kie_call", "'telesales.callback_dial', which is neither", 'id="_kie_call"')],
    ),
    "error-ref-missing": (
        [
            variant(
                "jbpm_callback.bpmn",
                (
                    'id="_kie_no_answer_def" drools:erefname="NO_ANSWER" errorRef="NO_ANSWER"/>',
                    'id="_kie_no_answer_def" errorRef="NO_REPLY"/>',
                ),
            )
        ],
        [("_kie_no_answer", "errorRef 'NO_REPLY' names no <bpmn:error>", 'id="_kie_no_answer"')],
    ),
    "message-ref-missing": (
        [
            variant(
                EA,
                (
                    'messageRef="EAID_2C3D4E5F_6071_4c8d_9EAF_1A2B3C4D5E6F">\n        <bpmn:ext',
                    'messageRef="EAID_NOPE">\n        <bpmn:ext',
                ),
            )
        ],
        [
            (
                "EAID_CE000001_7F8A_4b9c_8D0E_2F3A4B5C6D7E",
                "messageRef 'EAID_NOPE' names no <bpmn:message>",
                'id="EAID_CE000001_7F8A_4b9c_8D0E_2F3A4B5C6D7E"',
            )
        ],
    ),
    "boundary-host-missing": (
        [
            variant(
                YAOQIANG,
                (
                    'attachedToRef="_3" cancelActivity="true" id="_6"',
                    'attachedToRef="_99" cancelActivity="true" id="_6"',
                ),
            )
        ],
        [("_6", "attached to '_99', which is no element", 'id="_6"')],
    ),
    "lane-lists-missing-task": (
        [
            variant(VP[0], ("<flowNodeRef>_Usr8sBZGAqACBAQl<", "<flowNodeRef>_Usr8sBZGAqACBAQL<")),
            same(VP[1]),
        ],
        [
            (
                "_Lan8sBZGAqACBAQj",
                "'_Usr8sBZGAqACBAQL', which is no element",
                'id="_Lan8sBZGAqACBAQj"',
            )
        ],
    ),
    "decision-missing": (
        [variant(ACTIVITI[0], (">approval_tier<", ">approval_level<")), same(ACTIVITI[1])],
        [
            (
                "businessruletask1",
                "calls decision 'approval_level', which no DMN file of this deploy has; the "
                "decisions it has are approval_tier",
                'id="businessruletask1"',
            )
        ],
    ),
    "dmn-file-left-out": (
        [same(ACTIVITI[0])],
        [("businessruletask1", "add the .dmn file that has it", 'id="businessruletask1"')],
    ),
    "decision-without-table": (
        [
            same(ACTIVITI[0]),
            (
                ACTIVITI[1],
                re.sub(
                    rb"<dmn:decisionTable .*</dmn:decisionTable>",
                    b'<dmn:literalExpression id="_LE"><dmn:text>"auto"</dmn:text>'
                    b"</dmn:literalExpression>",
                    diagram(ACTIVITI[1]),
                    flags=re.S,
                ),
            ),
        ],
        # only this: the parser's "IndexError('list index out of range')" on the task was
        # said again beside it
        [("approval_tier", "is not a decision table", 'id="approval_tier"')],
    ),
    "id-given-twice": (  # was "… is not a valid value of the atomic type 'xs:ID'"
        [
            variant(CARDANIT[0], ('<bpmn:userTask id="id-vip"', '<bpmn:userTask id="id-call"')),
            same(CARDANIT[1]),
        ],
        [
            (
                "id-call",
                "id 'id-call' is given to 2 elements of this file (lines 28, 29)",
                '<bpmn:userTask id="id-call" name="Manager',
            ),
            # what the renamed task leaves behind, once hidden by the XSD problem
            ("id-f-vip", "has targetRef 'id-vip', which is no element", 'id="id-f-vip"'),
            ("id-f-4", "has sourceRef 'id-vip', which is no element", 'id="id-f-4"'),
            ("id-lane-manager", "lists flowNodeRef 'id-vip'", 'id="id-lane-manager"'),
        ],
    ),
    "id-that-is-no-xml-name": (
        [
            variant(CARDANIT[0], ('<bpmn:userTask id="id-vip"', '<bpmn:userTask id="2 vip"')),
            same(CARDANIT[1]),
        ],
        [
            ("2 vip", "id '2 vip' is no valid XML id", 'id="2 vip"'),
            # what the renamed task leaves behind, once hidden by the XSD problem
            ("id-f-vip", "has targetRef 'id-vip', which is no element", 'id="id-f-vip"'),
            ("id-f-4", "has sourceRef 'id-vip', which is no element", 'id="id-f-4"'),
            ("id-lane-manager", "lists flowNodeRef 'id-vip'", 'id="id-lane-manager"'),
        ],
    ),
    "bpmn-file-named-dmn": (  # was "XPathEvalError: Undefined namespace prefix"
        [same(ACTIVITI[0]), ("approval_tier.dmn", diagram(CARDANIT[0]))],
        [
            (
                "id-2f1c7e0a-3b5d-4c8e-9f1a-6d2b4e8c0a13",  # the root, by its id
                "approval_tier.dmn: is no DMN file: its root is <definitions> of",
                "<bpmn:defi",
            ),
            ("businessruletask1", "calls decision 'approval_tier'", 'id="businessruletask1"'),
        ],
    ),
    "dmn-file-named-bpmn": (  # was "No matching global declaration available for the …"
        [("quote_rules.bpmn", diagram(ACTIVITI[1]))],
        [
            (
                "_8F3A2B1C-7D6E-4F5A-9B8C-1D2E3F4A5B6C",  # the root, by its id
                "is no BPMN 2.0 file: its root is <definitions> of "
                "'http://www.omg.org/spec/DMN/20180521/MODEL/'",
                "<dmn:definitions",
            )
        ],
    ),
    "dmn-without-decision": (  # was "IndexError: list index out of range"
        [
            same(ACTIVITI[0]),
            (
                ACTIVITI[1],
                re.sub(rb"<dmn:decision .*</dmn:decision>", b"", diagram(ACTIVITI[1]), flags=re.S),
            ),
        ],
        [
            (None, "kie_approval_tier.dmn: holds no decision", "<dmn:definitions"),
            ("businessruletask1", "calls decision 'approval_tier'", 'id="businessruletask1"'),
        ],
    ),
    "task-io-specification": (  # deployed; then "Missing data input." or the data was lost
        [
            variant(
                EA,
                (
                    "<bpmn:documentation>Send the customer the free slots and a booking "
                    "reference.</bpmn:documentation>",
                    "<bpmn:documentation/><bpmn:ioSpecification>"
                    '<bpmn:dataInput id="EAID_DI000001_0000_4a00_8000_000000000001" '
                    'name="contacts"/><bpmn:dataOutput id="slot_offer" name="slot_offer"/>'
                    "<bpmn:inputSet><bpmn:dataInputRefs>EAID_DI000001_0000_4a00_8000_000000000001"
                    "</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet><bpmn:dataOutputRefs>"
                    "slot_offer</bpmn:dataOutputRefs></bpmn:outputSet></bpmn:ioSpecification>",
                ),
            )
        ],
        [
            (
                "EAID_UT000001_2B3C_4d4e_9F5A_6B7C8D9E0F1A",
                "ioSpecification declares data inputs or outputs ('contacts', 'slot_offer')",
                'id="EAID_UT000001_2B3C_4d4e_9F5A_6B7C8D9E0F1A"',
            )
        ],
    ),
    "bad-dmn-cell": (
        [same(VP[0]), variant(VP[1], ("<semantic:text>[1..6)<", "<semantic:text>[1..6<"))],
        [("_rf_r3_3", "rule cell '[1..6' is not Python", 'id="_rf_r3_3"')],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_malformed_and_invalid_variants_are_refused_element_by_element(owner, db, case):
    files, expected = BROKEN[case]
    details = refused(upload(owner, *files))
    assert [d["element_id"] for d in details] == [e[0] for e in expected], details
    contents = dict(files)
    for detail, (_, fragment, where) in zip(details, expected, strict=True):
        assert fragment in detail["message"], detail
        text = contents.get(detail.get("file"), files[0][1])
        line = text.count(b"\n") + 1 if where is None else line_of(where, text)
        assert detail["line"] == line, detail
    nothing_deployed(db)
