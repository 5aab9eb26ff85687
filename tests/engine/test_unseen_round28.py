"""Round 28 of unseen diagrams: telesales processes as seven more tools export BPMN 2.0.

Visual Paradigm 17 (a lead qualification: every schema default written out, empty
documentation, XPath declared for Python conditions, a service task's error caught and fixed
by the agent), a draw.io drawing converted to BPMN (callback scheduling: mxGraph ids, HTML in
the labels, no incoming/outgoing lists, a parallel split with a notification, a timer read
from a variable, given up to the manager after three tries), Alfresco Process Services 2.x (a
quote approval whose decision task is APS's DMN delegate with the table's key in a field, JUEL
conditions, manager and director lanes), Oracle BPM Studio 12c (an order handover calling a
reusable set-up process in another file, whose error end event is caught on the call
activity; empty io specifications everywhere), IBM BPM 8.6 (a complaint escalation with
JAXB's ``ns3:`` prefix: a severe complaint escalated without stopping the agent, a refund
thrown as an error out of the subprocess), Activiti 7's Modeling App (a lead intake whose
service tasks are Cloud Connectors: ``implementation`` alone) and a Visio drawing through a
vsdx-to-BPMN converter, Visio having no BPMN export of its own (a callback confirmed by the
customer's message or chased after a day, behind an event-based gateway; ``Sheet.7`` ids).
Each is deployed through the API and run along its paths as the lanes' users, with the CRM
writes checked; then the mistakes these exports and their editors make, each refused with
``422 invalid_bpmn`` on its element and line.

What was refused or said badly, and runs or is said now: APS's decision task
(``activiti:class`` its ``KieDecisionTaskDelegate``, ``decisionTableReferenceKey`` its field)
was refused as a Java class, with a hint to record a deal's decision instead; it runs as the
business rule task it is (``engine.aps_decisions``). Activiti 7's connector naming an operator
was refused as a service task without one; it runs the operator with the variables of its
parameters' names and sets what it answers (``engine.activiti_connectors``). A service task's
parameter reading a variable the data lacks failed with "Error evaluating expression 'text'.
Did you mean one of '[…]'?"; it names the parameter, the operator and what the data has
(``engine.service_parameters``). A rule cell ``>> 5`` (a ``>`` typed twice) deployed as a
Python bit shift that never matched; it is refused on its cell (``engine.dmn_checks``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from crm.customers import create_customer
from crm.models import Call
from tests.engine.conftest import Actor, Timed, notes_of, only, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

ROUND28 = DiagramFolder("round28")
diagram, edited, deploy = ROUND28.read, ROUND28.edited, ROUND28.deploy


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Zhou Lan", "phones": ["+8613600136000"]}, actor=None
        ).id


def calls_of(db: Any) -> list[tuple[str, int]]:
    with db() as session:
        return [
            (c.disposition.value, c.duration_s)
            for c in session.scalars(select(Call).order_by(Call.id))
        ]


def went_through(actor: Actor, instance_id: int) -> list[str]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["completed"]


# -- Visual Paradigm: a lead qualified, scored, approved when middling, its deal opened --------

VP = "vp_lead_qualification.bpmn"
VP_PROCESS = "_k8vQx0GGAqACHAYf"


@pytest.mark.parametrize(
    ("budget", "decision_maker", "approval", "deal"),
    [
        (9000, False, False, "Lead scored 90"),
        (2000, True, True, "Lead scored 50"),
        (1000, False, False, None),
    ],
)
def test_the_visual_paradigm_lead_is_scored_routed_and_opened(
    owner, agent, actor, db, budget, decision_maker, approval, deal
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, VP)
    cid = customer(db)
    started = agent.start(VP_PROCESS, {"customer_id": cid})
    qualify = only(started["ready_tasks"])
    assert (qualify["title"], qualify["lane"]) == ("Qualify\nthe lead", "agent")
    assert boss.complete(qualify["id"], {}).status_code == 403
    after = agent.complete_ok(qualify["id"], {"budget": budget, "decision_maker": decision_maker})
    assert after["incidents"] == []
    if approval:
        approve = only(boss.tasks())
        assert (approve["title"], approve["lane"]) == ("Approve\nthe lead", "manager")
        assert agent.complete(approve["id"], {}).status_code == 403
        after = boss.complete_ok(approve["id"], {})
    assert (after["status"], after["incidents"]) == ("completed", [])
    if deal:
        assert deals_of(db, cid) == [(deal, f"{budget}.00", "qualification")]
        assert "_k8vQx0GGAqACHAYp" in went_through(agent, started["id"])
    else:
        assert deals_of(db, cid) == []
        assert "_k8vQx0GGAqACHAYq" in went_through(agent, started["id"])


def test_the_visual_paradigm_lead_of_a_missing_customer_is_sent_back_to_the_agent(owner, agent, db):
    deploy(owner, VP)
    started = agent.start(VP_PROCESS, {"customer_id": 987654})
    view = agent.complete_ok(
        only(started["ready_tasks"])["id"], {"budget": 9000, "decision_maker": True}
    )
    assert (view["status"], view["incidents"]) == ("running", [])
    find = only(view["ready_tasks"])
    assert (find["title"], find["lane"]) == ("Find the customer", "agent")
    cid = customer(db)
    view = agent.complete_ok(find["id"], {"customer_id": cid})
    again = only(view["ready_tasks"])
    assert again["title"] == "Qualify\nthe lead"
    done = agent.complete_ok(again["id"], {"budget": 9000, "decision_maker": True})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == [("Lead scored 100", "9000.00", "qualification")]


# -- draw.io: a callback booked, tried on a timer, given up to the manager at the third ------

DRAWIO = "drawio_callback.bpmn"


def test_the_drawio_callback_is_retried_on_its_timer_then_logged(timed: Timed):
    deploy(timed.owner, DRAWIO)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    cid = customer(db)
    started = agent.start(
        "drawio_callback",
        {"customer_id": cid, "agent": agent.username, "attempts": 0, "callback_after": "PT2H"},
    )
    call = only(started["ready_tasks"])
    assert (call["title"], call["lane"]) == ("<b>Call back</b><br>the customer", "agent")
    assert notifications_of(db, agent) == ["Callback booked"]
    missed = agent.complete_ok(call["id"], {"reached": False})
    assert (missed["status"], missed["incidents"], missed["data"]["attempts"]) == (
        "waiting",
        [],
        1,
    )
    assert [w["kind"] for w in missed["waiting"]] == ["timer"]
    assert timed.advance(hours=1, minutes=59) == 0 and agent.tasks() == []
    assert timed.advance(minutes=1) == 1
    assert notifications_of(db, agent) == ["Callback booked"] * 2
    done = agent.complete_ok(only(agent.tasks())["id"], {"reached": True, "talked_s": 95})
    assert (done["status"], done["incidents"], done["data"]["attempts"]) == ("completed", [], 2)
    assert calls_of(db) == [("connected_interested", 95)]
    assert "WrT4kLmN2pQ8sVw1xYz0-14" in went_through(agent, started["id"])


def test_the_drawio_callback_goes_to_the_manager_after_the_third_miss(timed: Timed):
    deploy(timed.owner, DRAWIO)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    started = agent.start(
        "drawio_callback",
        {
            "customer_id": customer(db),
            "agent": agent.username,
            "attempts": 0,
            "callback_after": "PT30M",
        },
    )
    for attempt in (1, 2, 3):
        view = agent.complete_ok(only(agent.tasks())["id"], {"reached": False})
        assert view["data"]["attempts"] == attempt
        if attempt < 3:
            assert timed.advance(minutes=30) == 1
    assert agent.tasks() == []
    decide = only(boss.tasks())
    assert (decide["title"], decide["lane"]) == ("Decide on&nbsp;the lead", "manager")
    assert agent.complete(decide["id"], {}).status_code == 403
    assert boss.complete_ok(decide["id"], {})["status"] == "completed"
    assert calls_of(db) == []
    assert "WrT4kLmN2pQ8sVw1xYz0-16" in went_through(agent, started["id"])


# -- Alfresco Process Services: the approver chosen by APS's decision task ---------------------

APS = ("aps_quote_approval.bpmn", "aps_quote_approver.dmn")


@pytest.mark.parametrize(
    ("amount", "discount", "approver", "approved", "deal"),
    [
        (10000, 30, "director", True, ("Quote, 30% off", "7000.00")),
        (10000, 10, "manager", False, None),
        (60000, 0, "manager", True, ("Quote, 0% off", "60000.00")),
        (8000, 5, "none", None, ("Quote, 5% off", "7600.00")),
    ],
)
def test_the_aps_quote_is_approved_by_whom_its_decision_task_says(
    owner, agent, actor, db, amount, discount, approver, approved, deal
):
    boss = actor("manager", username="boss", team="East")
    director = actor("director", username="dir", team=None)
    deploy(owner, *APS)
    cid = customer(db)
    started = agent.start("aps_quote_approval", {"customer_id": cid})
    prepare = only(started["ready_tasks"])
    assert (prepare["title"], prepare["lane"]) == ("Prepare the quote", "agent")
    view = agent.complete_ok(prepare["id"], {"amount": amount, "discount": discount})
    assert (view["incidents"], view["data"]["approver"]) == ([], approver)
    if approved is not None:
        task = only(view["ready_tasks"])
        who, other = (director, boss) if approver == "director" else (boss, director)
        assert task["lane"] == approver
        assert other.complete(task["id"], {"approved": approved}).status_code == 403
        assert agent.complete(task["id"], {"approved": approved}).status_code == 403
        view = who.complete_ok(task["id"], {"approved": approved})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == ([(*deal, "qualification")] if deal else [])


# -- Oracle BPM Studio: the handover calls the set-up, whose "no stock" error is caught ------

ORACLE = ("oracle_order_handover.bpmn", "oracle_order_setup.bpmn")


def test_the_oracle_handover_sets_the_order_up_through_its_call_activity(owner, agent, db):
    deploy(owner, *ORACLE)
    cid = customer(db)
    started = agent.start(
        "OrderHandover", {"customer_id": cid, "product": "Headsets", "quantity": 4, "stock": 10}
    )
    confirm = only(started["ready_tasks"])
    assert (confirm["title"], confirm["lane"]) == ("Confirm the order", "agent")
    view = agent.complete_ok(confirm["id"], {})
    delivery = only(view["ready_tasks"])
    assert (delivery["title"], delivery["lane"]) == ("Book the delivery", "agent")
    assert notes_of(db, cid) == ["Order: 4 x Headsets"]  # beside the delivery, at once
    done = agent.complete_ok(delivery["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert "END_EVENT_DONE" in went_through(agent, started["id"])


def test_the_oracle_set_up_s_no_stock_error_is_caught_on_the_call_activity(owner, agent, actor, db):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, *ORACLE)
    cid = customer(db)
    started = agent.start(
        "OrderHandover", {"customer_id": cid, "product": "Headsets", "quantity": 40, "stock": 10}
    )
    view = agent.complete_ok(only(started["ready_tasks"])["id"], {})
    assert (view["status"], view["incidents"]) == ("running", [])
    substitute = only(boss.tasks())
    assert (substitute["title"], substitute["lane"]) == ("Offer a substitute", "manager")
    assert agent.tasks() == [] and notes_of(db, cid) == []
    done = boss.complete_ok(substitute["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    completed = went_through(agent, started["id"])
    assert "END_EVENT_NO_STOCK" in completed and "END_EVENT_DONE" not in completed


# -- IBM BPM: a severe complaint escalated beside the agent's work, a refund thrown out -------

IBM = "ibm_complaint_escalation.bpmn"


@pytest.mark.parametrize("severity", ["low", "high"])
def test_the_ibm_complaint_is_written_up_and_a_severe_one_called_back(
    owner, agent, actor, db, severity
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, IBM)
    started = agent.start("ibm_complaint", {"customer_id": customer(db)})
    talk = only(started["ready_tasks"])
    assert (talk["title"], talk["lane"]) == ("Talk to the customer", "agent")
    assert boss.complete(talk["id"], {}).status_code == 403
    view = agent.complete_ok(
        talk["id"], {"severity": severity, "topic": "late delivery", "wants_refund": False}
    )
    assert view["incidents"] == []
    assert view["data"]["summary"] == f"{severity}: late delivery"
    if severity == "high":
        call_back = only(boss.tasks())
        assert (call_back["title"], call_back["lane"]) == ("Call the customer back", "manager")
        assert view["status"] == "running"
        view = boss.complete_ok(call_back["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])
    completed = went_through(agent, started["id"])
    assert "bpdid_end_ok" in completed
    assert ("bpdid_end_called" in completed) is (severity == "high")


def test_the_ibm_refund_leaves_the_complaint_for_the_manager_s_approval(owner, agent, actor, db):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, IBM)
    cid = customer(db)
    started = agent.start("ibm_complaint", {"customer_id": cid})
    view = agent.complete_ok(
        only(started["ready_tasks"])["id"],
        {"severity": "high", "topic": "broken", "wants_refund": True, "refund": "120 CNY"},
    )
    assert (view["status"], view["incidents"]) == ("running", [])
    assert "summary" not in view["data"]
    refund = only(boss.tasks())
    assert (refund["title"], refund["lane"]) == ("Approve the refund", "manager")
    done = boss.complete_ok(refund["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, cid) == ["Refund of 120 CNY approved"]
    completed = went_through(agent, started["id"])
    assert "bpdid_end_refund" in completed and "bpdid_end_ok" not in completed


def test_an_aps_table_reading_a_misspelled_variable_is_an_incident_on_its_decision_task(
    owner, agent, db
):
    """The input ``discont`` is a name the deploy cannot know to be wrong: the step that
    decides fails on the decision task, naming it and the name, and nothing is written."""
    bpmn, dmn = APS
    response = upload(
        owner,
        (bpmn, diagram(bpmn)),
        (dmn, edited(dmn, ("<text>discount</text>", "<text>discont</text>"))),
    )
    assert response.status_code == 201, response.get_json()
    cid = customer(db)
    started = agent.start("aps_quote_approval", {"customer_id": cid})
    view = agent.complete_ok(only(started["ready_tasks"])["id"], {"amount": 100, "discount": 1})
    (incident,) = view["incidents"]
    assert view["status"] == "error"
    assert incident["element_id"] == "routeQuote", incident
    assert "input 'Discount' reads 'discont'" in incident["message"], incident["message"]
    assert "Traceback" not in incident["message"]
    assert deals_of(db, cid) == []


# -- Activiti 7: a lead intake whose service tasks are Cloud Connectors naming operators ------

A7 = "activiti7_lead_intake.bpmn"
A7_PROCESS = "process-7c1e9a42-5b3d-4f6e-a8c0-9d2b1e4f7a63"


def test_the_activiti7_connectors_open_the_deal_and_tell_the_manager(owner, agent, actor, db):
    """Every variable goes to the connector and what it answers comes back: the deal's
    operator reads ``customer_id``, ``amount`` and ``title``, ``notify.user`` its ``user`` and
    ``message``; the deal's id is in the data after it."""
    boss = actor("manager", username="boss", team="East")
    deploy(owner, A7)
    cid = customer(db)
    started = agent.start(
        A7_PROCESS, {"customer_id": cid, "user": "boss", "message": "A deal to review"}
    )
    qualify = only(started["ready_tasks"])
    assert (qualify["title"], qualify["lane"]) == ("Qualify the lead", "agent")
    assert boss.complete(qualify["id"], {"interested": True}).status_code == 403
    view = agent.complete_ok(
        qualify["id"], {"interested": True, "amount": 4200, "title": "Twelve headsets"}
    )
    assert view["incidents"] == []
    assert deals_of(db, cid) == [("Twelve headsets", "4200.00", "qualification")]
    assert notifications_of(db, boss) == ["A deal to review"]
    review = only(boss.tasks())
    assert (review["title"], review["lane"]) == ("Review the new deal", "manager")
    assert agent.complete(review["id"], {}).status_code == 403
    done = boss.complete_ok(review["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["id"] == deals_of_ids(db, cid)[0]


def deals_of_ids(db: Any, customer_id: int) -> list[int]:
    from crm.models import Deal

    with db() as session:
        return list(session.scalars(select(Deal.id).where(Deal.customer_id == customer_id)))


def test_the_activiti7_note_connector_writes_why_the_lead_was_not_interested(owner, agent, db):
    deploy(owner, A7)
    cid = customer(db)
    started = agent.start(A7_PROCESS, {"customer_id": cid})
    done = agent.complete_ok(
        only(started["ready_tasks"])["id"], {"interested": False, "text": "Has a supplier"}
    )
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, cid) == ["Has a supplier"]
    assert deals_of(db, cid) == []
    assert "EndEvent_0f6y2wc" in went_through(agent, started["id"])


def test_an_activiti7_connector_missing_its_variable_is_an_incident_naming_it(owner, agent, db):
    deploy(owner, A7)
    cid = customer(db)
    started = agent.start(A7_PROCESS, {"customer_id": cid})
    view = agent.complete_ok(only(started["ready_tasks"])["id"], {"interested": False})
    (incident,) = view["incidents"]
    assert incident["element_id"] == "ServiceTask_1n4c7hz"
    assert incident["message"].startswith(
        "parameter 'text' of crm.add_note reads 'text', and the instance's data has no 'text' "
        "(it has customer_id, interested)"
    ), incident["message"]
    assert notes_of(db, cid) == []


A7_EXTENSIONS = {
    "id": A7_PROCESS,
    "extensions": {
        "properties": {},
        "mappings": {
            "ServiceTask_1n4c7hz": {"inputs": {"text": {"type": "variable", "value": "reason"}}}
        },
        "constants": {},
    },
}


def test_an_activiti7_extensions_file_leaving_out_a_parameter_is_refused_on_the_task(owner, db):
    """The mapping ``text`` ← ``reason`` was kept as a form file and never read: the note
    took ``text``, not the reason. Mappings run now (``test_deploy_gaps``); this one leaves
    out ``customer_id``, which Activiti would not hand the connector."""
    name = f"{A7_PROCESS}-extensions.json"
    details = refused(upload(owner, (A7, diagram(A7)), (name, json.dumps(A7_EXTENSIONS).encode())))
    (detail,) = details
    assert (detail["element_id"], detail["file"]) == ("ServiceTask_1n4c7hz", A7)
    assert detail["line"] == line_in('<bpmn2:serviceTask id="ServiceTask_1n4c7hz"', diagram(A7))
    assert (
        f"{name} maps this Activiti 7 connector (crm.add_note), but it does not map "
        "customer_id, which crm.add_note needs" in (detail["message"])
    )
    nothing_deployed(db)


# Activiti 7.1 and later key the extensions by the process they belong to (the runtime's
# ``ProcessExtensionModel``: a map of process key → properties, mappings, constants).
A7_KEYED_EXTENSIONS = {
    "id": "process-model-1",
    "extensions": {A7_PROCESS: A7_EXTENSIONS["extensions"]},
}


def test_an_activiti7_extensions_file_keyed_by_process_is_read_for_its_process(owner, db):
    """The extensions of Activiti 7.1 and later, keyed by the process: the mapping was kept
    as a form file and the note took the ``text`` variable instead; it is read (and refused
    here for the parameter it leaves out)."""
    name = f"{A7_PROCESS}-extensions.json"
    extensions = A7_KEYED_EXTENSIONS
    details = refused(upload(owner, (A7, diagram(A7)), (name, json.dumps(extensions).encode())))
    (detail,) = details
    assert (detail["element_id"], detail["file"]) == ("ServiceTask_1n4c7hz", A7)
    assert f"{name} maps " in detail["message"]
    assert "this Activiti 7 connector (crm.add_note)" in detail["message"]
    nothing_deployed(db)


# -- Visio (through a converter): a callback confirmed by the customer's message, or chased --

VISIO = "visio_callback_confirmation.bpmn"


def test_the_visio_callback_confirmed_by_message_is_called_and_logged(timed: Timed):
    deploy(timed.owner, VISIO)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    cid = customer(db)
    started = agent.start("Page-1", {"customer_id": cid, "slot": "10:30"}, business_key="cb-1")
    assert (started["status"], started["incidents"]) == ("waiting", [])
    assert sorted(w["kind"] for w in started["waiting"]) == ["message", "timer"]
    assert notes_of(db, cid) == ["Asked to confirm the callback at 10:30"]
    sent = agent.post(
        "/api/v1/messages",
        json={"name": "callback_confirmed", "business_key": "cb-1", "payload": {"slot": "11:00"}},
    )
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
    call = only(agent.tasks())
    assert (call["title"], call["lane"]) == ("Call at the\nconfirmed slot", "agent")
    assert agent.instance(started["id"])["waiting"] == []  # the timer is gone with the race
    done = agent.complete_ok(call["id"], {"outcome": "connected_interested", "talked_s": 240})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert calls_of(db) == [("connected_interested", 240)]
    assert done["data"]["slot"] == "11:00"  # the message's payload
    assert timed.advance(days=2) == 0


def test_the_visio_callback_nobody_confirms_is_chased_by_the_manager_after_a_day(timed: Timed):
    deploy(timed.owner, VISIO)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    started = agent.start(
        "Page-1", {"customer_id": customer(db), "slot": "15:00"}, business_key="cb-2"
    )
    assert timed.advance(hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    chase = only(boss.tasks())
    assert (chase["title"], chase["lane"]) == ("Chase the\ncustomer", "manager")
    late = agent.post(
        "/api/v1/messages", json={"name": "callback_confirmed", "business_key": "cb-2"}
    )
    assert late.status_code == 404, late.get_json()
    assert agent.tasks() == []
    done = boss.complete_ok(chase["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert "Sheet.14" in went_through(agent, started["id"])


# -- the mistakes these exports and their editors make: refused on the element and line -------

BROKEN = {
    "a flow whose target the converter lost (Visual Paradigm)": (
        [
            (
                VP,
                [
                    (
                        'sourceRef="_k8vQx0GGAqACHAYn" targetRef="_k8vQx0GGAqACHAYo"/>',
                        'sourceRef="_k8vQx0GGAqACHAYn"/>',
                    )
                ],
            )
        ],
        VP,
        ("_k8vQx0GGAqACHAZ7", '<sequenceFlow id="_k8vQx0GGAqACHAZ7"', "'targetRef' is required"),
    ),
    "a lane listing a deleted task (Visual Paradigm)": (
        [
            (
                VP,
                [
                    (
                        "<flowNodeRef>_k8vQx0GGAqACHAYs</flowNodeRef>",
                        "<flowNodeRef>_k8vQx0GGAqACHAYs</flowNodeRef>\n"
                        "        <flowNodeRef>_k8vQx0GGAqACHAYt</flowNodeRef>",
                    )
                ],
            )
        ],
        VP,
        (
            "_k8vQx0GGAqACHAYh",
            '<lane id="_k8vQx0GGAqACHAYh"',
            "lists flowNodeRef '_k8vQx0GGAqACHAYt', which is no element",
        ),
    ),
    "an operator misspelled (Visual Paradigm)": (
        [(VP, [('id="crm.create_opportunity"', 'id="crm.create_oportunity"')])],
        VP,
        (
            "_k8vQx0GGAqACHAYo",
            '<serviceTask id="_k8vQx0GGAqACHAYo"',
            "unknown service operator 'crm.create_oportunity'",
        ),
    ),
    "a copied activity keeping its object id (IBM BPM)": (
        [(IBM, [('<ns3:userTask id="bpdid_call_back"', '<ns3:userTask id="bpdid_refund"')])],
        IBM,
        (
            "bpdid_refund",
            '<ns3:userTask id="bpdid_refund" name="Approve',  # the second, with the first's line
            "is given to 2 elements of this file (lines 92, 99)",
        ),
    ),
    "an escalation reference off by a character (IBM BPM)": (
        [
            (
                IBM,
                [
                    (
                        'escalationRef="bpdid_esc_severe"/>\n    </ns3:boundaryEvent>',
                        'escalationRef="bpdid_esc_sever"/>\n    </ns3:boundaryEvent>',
                    )
                ],
            )
        ],
        IBM,
        (
            "bpdid_bnd_severe",
            '<ns3:boundaryEvent id="bpdid_bnd_severe"',
            "did you mean 'bpdid_esc_severe'",
        ),
    ),
    "a timer written as the label says it (draw.io)": (
        [(DRAWIO, [(">callback_after<", ">2 hours<")])],
        DRAWIO,
        (
            "WrT4kLmN2pQ8sVw1xYz0-12",
            'intermediateCatchEvent id="WrT4kLmN2pQ8sVw1xYz0-12"',
            "write PT2H",
        ),
    ),
    "a timer that is no ISO 8601 duration (draw.io)": (
        [(DRAWIO, [(">callback_after<", '>"PT2 H"<')])],
        DRAWIO,
        (
            "WrT4kLmN2pQ8sVw1xYz0-12",
            'intermediateCatchEvent id="WrT4kLmN2pQ8sVw1xYz0-12"',
            "'PT2 H' is not a valid ISO 8601 duration",
        ),
    ),
    "a cell id kept by the converter (draw.io)": (
        [(DRAWIO, [('id="WrT4kLmN2pQ8sVw1xYz0-12"', 'id="4rT4kLmN2pQ8sVw1xYz0-12"')])],
        DRAWIO,
        ("4rT4kLmN2pQ8sVw1xYz0-12", 'id="4rT4kLmN2pQ8sVw1xYz0-12"', "is no valid XML id"),
    ),
    "a decision key misspelled (APS)": (
        [(APS[0], [("<![CDATA[quoteApprover]]>", "<![CDATA[quoteAprover]]>")]), (APS[1], [])],
        APS[0],
        ("routeQuote", '<serviceTask id="routeQuote"', "calls decision 'quoteAprover'"),
    ),
    "a rule cell typed '=>' (APS)": (
        [(APS[0], []), (APS[1], [("<![CDATA[> 20]]>", "<![CDATA[=> 20]]>")])],
        APS[1],
        ("inputEntry_1_1", '<inputEntry id="inputEntry_1_1"', "rule cell '=> 20'"),
    ),
    "a rule cell typed '>>' (APS)": (
        [(APS[0], []), (APS[1], [("<![CDATA[> 5]]>", "<![CDATA[>> 5]]>")])],
        APS[1],
        ("inputEntry_1_2", '<inputEntry id="inputEntry_1_2"', "write '> 5'"),
    ),
    "an input expression with a space (APS)": (
        [(APS[0], []), (APS[1], [("<text>discount</text>", "<text>discount rate</text>")])],
        APS[1],
        (
            "inputExpression_1_expr",
            '<inputExpression id="inputExpression_1_expr"',
            "input expression 'discount rate'",
        ),
    ),
    "a hit policy misspelled (APS)": (
        [(APS[0], []), (APS[1], [('hitPolicy="FIRST"', 'hitPolicy="FRIST"')])],
        APS[1],
        ("decisionTable_3012", '<decisionTable id="decisionTable_3012"', "hit policy FRIST"),
    ),
    "a connector naming no operator (Activiti 7)": (
        [(A7, [('implementation="crm.add_note"', 'implementation="crm.add_nte"')])],
        A7,
        (
            "ServiceTask_1n4c7hz",
            '<bpmn2:serviceTask id="ServiceTask_1n4c7hz"',
            "unknown service operator 'crm.add_nte'",
        ),
    ),
    "a connector's name kept with its space (Visio)": (
        [
            (
                VISIO,
                [
                    (
                        '<sequenceFlow id="Dynamic_connector.28"',
                        '<sequenceFlow id="Dynamic connector.28"',
                    )
                ],
            )
        ],
        VISIO,
        ("Dynamic connector.28", '<sequenceFlow id="Dynamic connector.28"', "no valid XML id"),
    ),
    "a called process misspelled (Oracle BPM)": (
        [
            (ORACLE[0], [('calledElement="OrderSetup"', 'calledElement="OrderSetUp"')]),
            (ORACLE[1], []),
        ],
        ORACLE[0],
        (
            "CALL_ACTIVITY_SETUP",
            '<callActivity id="CALL_ACTIVITY_SETUP"',
            "did you mean 'OrderSetup'",
        ),
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_mistakes_of_these_exports_are_refused_on_their_element(owner, db, case):
    files, said_in, (element_id, fragment, words) = BROKEN[case]
    uploaded = [(name, edited(name, *changes)) for name, changes in files]
    details = refused(upload(owner, *uploaded))
    matching = [d for d in details if d["element_id"] == element_id and words in d["message"]]
    assert matching, details
    (detail,) = matching
    assert detail["file"] == said_in
    assert detail["line"] == line_in(fragment, dict(uploaded)[said_in]), detail
    assert "Traceback" not in detail["message"]
    nothing_deployed(db)
