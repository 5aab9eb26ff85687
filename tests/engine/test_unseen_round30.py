"""Round 30 of unseen diagrams: telesales processes as five tools no earlier round used write
BPMN 2.0 and DMN.

Apromore 7's editor (a lead qualification graded by a Python script and approved by the manager
in a pool of two lanes; BIMP's ``qbp:`` simulation parameters in the process's
extensionElements), the Oryx editor (a callback whose user task carries a timer boundary read
from a variable, retried after an hour by a loop; ``oryx_`` resource ids, every schema default
written out), Activiti Designer 5 (a refund checked in a subprocess whose error end event,
declared by its code alone, is caught on the subprocess; ``usertask1`` ids, candidate groups,
``activiti:formProperty`` forms, JUEL conditions in CDATA), Camunda's Java model API with its
DMN model API (a contract renewal waiting on an event-based gateway for a message or 14 days;
a quote approval whose approvers a COLLECT table gives to a multi-instance user task, each
worked by the group it names, and whose perk a FIRST table picks; external tasks whose topics
are operators) and a ``bpmn_python`` export completed by hand (a complaint calling a refund
process of the same file, its escalation caught without interrupting, its error caught on the
call activity). Each is deployed through the API and run along its paths as the lanes' users
(403 for the wrong lane) with the CRM writes checked; then the mistakes these exports and their
editors make, each refused with ``422 invalid_bpmn`` on its element and line.

What ran wrongly and runs as drawn now: a message for one contract, correlated as the Java
engines correlate it (by the instance's variables, the diagram declaring no correlation
property), went to every instance waiting for its name and opened a deal for each customer
(``engine.messages._held_otherwise``).

What was refused and runs now: an external task's input parameter holding two JUEL expressions
with text between them (``${product} with ${perk}``) was read as one expression, ``product}
with ${perk``, and refused the whole task four times, none naming the parameter
(``engine.juel.whole_body``; a task's ``camunda:inputOutput`` alike). A user task's
``activiti:priority`` (``camunda:``, ``flowable:``) written as a JUEL ternary was refused; it is
computed as EL computes it (``engine.java_schedule``).

The other diagrams, paths and refusals ran or were said as here before this round: those tests
pin behaviour that was already right.
"""

from __future__ import annotations

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
    upload,
)

ROUND30 = DiagramFolder("round30")
diagram, edited, deploy = ROUND30.read, ROUND30.edited, ROUND30.deploy


def customer(db: Any, name: str = "Zhou Min", phone: str = "+8613700137030") -> int:
    with db() as session:
        return create_customer(session, {"name": name, "phones": [phone]}, actor=None).id


def went_through(actor: Actor, instance_id: int) -> list[str]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["completed"]


def calls_of(db: Any) -> list[tuple[str, int]]:
    with db() as session:
        return [
            (c.disposition.value, c.duration_s)
            for c in session.scalars(select(Call).order_by(Call.id))
        ]


# -- Apromore: a lead graded by a script, an A lead approved by the manager ------------------

APROMORE = "apromore_lead_qualification.bpmn"


@pytest.mark.parametrize(
    ("seats", "budget", "approved", "deal", "note"),
    [
        (60, 30000, True, ("Grade A lead, 60 seats", "30000.00", "qualification"), None),
        (60, 30000, False, None, "Nurture: grade A"),
        (12, 3000, None, None, "Nurture: grade B"),
        (2, 500, None, None, "Nurture: grade C"),
    ],
)
def test_the_apromore_lead_is_graded_and_an_a_lead_approved(
    owner, agent, actor, db, seats, budget, approved, deal, note
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, APROMORE)
    cid = customer(db)
    started = agent.start("Process_1apr7lq", {"customer_id": cid})
    qualify = only(started["ready_tasks"])
    assert (qualify["title"], qualify["lane"]) == ("Qualify lead", "agent")
    assert boss.complete(qualify["id"], {"seats": seats}).status_code == 403
    view = agent.complete_ok(qualify["id"], {"seats": seats, "budget": budget})
    assert view["incidents"] == []
    if approved is not None:
        approve = only(boss.tasks())
        assert (approve["title"], approve["lane"]) == ("Approve A lead", "manager")
        assert agent.complete(approve["id"], {"approved": True}).status_code == 403
        view = boss.complete_ok(approve["id"], {"approved": approved})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == ([deal] if deal else [])
    assert notes_of(db, cid) == ([note] if note else [])
    ended = "Event_1dealnd" if deal else "Event_0nurtnd"
    assert ended in went_through(agent, started["id"])


# -- Oryx: a callback retried after an hour, given to the manager when its time runs out -----

ORYX = "oryx_callback.bpmn"
ORYX_CALL = "oryx_A1F0C3D2-0002-4B5A-8C7D-1E2F3A4B5C02"


def test_the_oryx_callback_is_retried_then_logged(timed: Timed):
    deploy(timed.owner, ORYX)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    cid = customer(db)
    data = {"customer_id": cid, "tries": 0, "callback_within": "PT3H"}
    started = agent.start("oryx_callback", data)
    call = only(started["ready_tasks"])
    assert (call["title"], call["lane"]) == ("Call the customer back", "agent")
    assert boss.complete(call["id"], {"reached": True}).status_code == 403
    missed = agent.complete_ok(call["id"], {"reached": False})
    assert (missed["status"], missed["incidents"]) == ("waiting", [])
    assert timed.advance(minutes=59) == 0 and agent.tasks() == []
    assert timed.advance(minutes=1) == 1
    again = only(agent.tasks())
    done = agent.complete_ok(again["id"], {"reached": True, "talked_s": 120})
    assert (done["status"], done["incidents"], done["data"]["tries"]) == ("completed", [], 1)
    assert calls_of(db) == [("connected_interested", 120)]
    assert "oryx_A1F0C3D2-0007-4B5A-8C7D-1E2F3A4B5C07" in went_through(agent, started["id"])


def test_the_oryx_callback_not_made_in_time_goes_to_the_manager(timed: Timed):
    deploy(timed.owner, ORYX)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    started = agent.start(
        "oryx_callback", {"customer_id": customer(db), "tries": 0, "callback_within": "PT3H"}
    )
    assert timed.advance(hours=2, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    assert agent.tasks() == []
    apologise = only(boss.tasks())
    assert (apologise["title"], apologise["lane"]) == ("Apologise to the customer", "manager")
    assert agent.complete(apologise["id"], {}).status_code == 403
    assert boss.complete_ok(apologise["id"], {})["status"] == "completed"
    assert calls_of(db) == []
    completed = went_through(agent, started["id"])
    assert "oryx_A1F0C3D2-0010-4B5A-8C7D-1E2F3A4B5C10" in completed
    assert ORYX_CALL not in completed


# -- Activiti 5: a refund checked in a subprocess, a rejection caught as an error ------------

ACTIVITI = "activiti5_refund.bpmn"


@pytest.mark.parametrize(
    ("amount", "approved", "note"),
    [
        (300, None, "Refund of 300 CNY: broken headset"),
        (900, True, "Refund of 900 CNY: broken headset"),
        (900, False, "Refund of 900 CNY rejected"),
    ],
)
def test_the_activiti_refund_is_approved_or_its_rejection_caught(
    owner, agent, actor, db, amount, approved, note
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, ACTIVITI)
    cid = customer(db)
    started = agent.start("refundProcess", {"customer_id": cid})
    record = only(started["ready_tasks"])
    assert record["title"] == "Record the refund request"
    answer = {"amount": amount, "reason": "broken headset"}
    assert boss.complete(record["id"], answer).status_code == 403
    assert agent.complete(record["id"], {"reason": "x"}).status_code == 422  # required amount
    assert agent.complete(record["id"], {**answer, "amount": "lots"}).status_code == 422  # long
    view = agent.complete_ok(record["id"], answer)
    assert view["incidents"] == []
    assert view["data"]["requester"] == agent.username  # activiti:initiator
    if approved is not None:
        approve = only(boss.tasks())
        assert approve["title"] == "Approve the refund"
        assert agent.complete(approve["id"], {"approved": True}).status_code == 403
        view = boss.complete_ok(approve["id"], {"approved": approved})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert notes_of(db, cid) == [note]
    ended = "endevent3" if approved is False else "endevent2"
    assert ended in went_through(agent, started["id"])


def test_an_activiti_priority_written_as_a_juel_ternary_orders_the_approvals(
    owner, agent, actor, db
):
    """``activiti:priority="${amount > 800 ? 80 : 50}"`` (and Camunda's, Flowable's) was
    refused ("give the task the property priority"); it is computed when the task opens."""
    boss = actor("manager", username="boss", team="East")
    text = edited(
        ACTIVITI,
        (
            'name="Approve the refund" activiti:candidateGroups="manager">',
            'name="Approve the refund" activiti:candidateGroups="manager" '
            'activiti:dueDate="${approve_by}" activiti:priority="${amount &gt; 800 ? 80 : 50}">',
        ),
    )
    response = upload(owner, (ACTIVITI, text))
    assert response.status_code == 201, response.get_json()
    for amount, phone in ((600, "+8613700137061"), (900, "+8613700137091")):
        data = {"customer_id": customer(db, str(amount), phone), "approve_by": "2030-01-07T10:00"}
        started = agent.start("refundProcess", data)
        view = agent.complete_ok(
            only(started["ready_tasks"])["id"], {"amount": amount, "reason": "late"}
        )
        assert view["incidents"] == []
    approvals = boss.tasks()
    assert [(t["priority"], t["due_at"]) for t in approvals] == [
        (80, "2030-01-07T02:00:00+00:00"),
        (50, "2030-01-07T02:00:00+00:00"),
    ]


# -- Camunda model API: a renewal signed by message, or chased after 14 days -----------------

RENEWAL = "modelapi_contract_renewal.bpmn"


def start_renewal(timed: Timed) -> tuple[Any, int, dict[str, Any]]:
    deploy(timed.owner, RENEWAL)
    db = timed.runtime.db.unit_of_work
    cid = customer(db)
    data = {"customer_id": cid, "contract_no": "C-2026-031", "yearly_fee": 36000}
    started = timed.agent.start("contract_renewal", data, business_key=f"renewal-{cid}")
    offer = only(started["ready_tasks"])
    assert offer["title"] == "Send the renewal offer"
    return db, cid, offer


def test_the_renewal_signed_by_message_opens_its_deal(timed: Timed):
    db, cid, offer = start_renewal(timed)
    boss = timed.actor("manager", username="boss", team="East")
    assert boss.complete(offer["id"], {}).status_code == 403
    view = timed.agent.complete_ok(offer["id"], {})
    assert (view["status"], view["incidents"]) == ("waiting", [])
    assert sorted(w["kind"] for w in view["waiting"]) == ["message", "timer"]
    sent = timed.agent.post(
        "/api/v1/messages", json={"name": "renewal_signed", "business_key": f"renewal-{cid}"}
    )
    assert sent.status_code == 202, sent.get_json()
    done = timed.agent.instance(view["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == [("Renewal C-2026-031", "36000.00", "qualification")]
    assert timed.advance(days=15) == 0  # the timer went with the gateway


def test_a_renewal_message_naming_its_contract_reaches_that_contract_s_instance_alone(
    timed: Timed,
):
    """The Java engines correlate by the instance's variables (``correlationKeys``); the
    diagram declares no correlation property. The message for C-2 went to C-1's instance too,
    which opened a renewal deal for the wrong customer."""
    deploy(timed.owner, RENEWAL)
    db = timed.runtime.db.unit_of_work
    waiting = {}
    for number, phone in (("C-1", "+8613700137031"), ("C-2", "+8613700137032")):
        with db() as session:
            cid = create_customer(session, {"name": number, "phones": [phone]}, actor=None).id
        data = {"customer_id": cid, "contract_no": number, "yearly_fee": 1200}
        started = timed.agent.start("contract_renewal", data)
        timed.agent.complete_ok(only(started["ready_tasks"])["id"], {})
        waiting[number] = (cid, started["id"])
    sent = timed.agent.post(
        "/api/v1/messages", json={"name": "renewal_signed", "correlation": {"contract_no": "C-2"}}
    )
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [waiting["C-2"][1]]
    (c1, first), (c2, second) = waiting["C-1"], waiting["C-2"]
    assert timed.agent.instance(first)["status"] == "waiting"
    assert timed.agent.instance(second)["status"] == "completed"
    assert deals_of(db, c1) == []
    assert deals_of(db, c2) == [("Renewal C-2", "1200.00", "qualification")]
    again = timed.agent.post(
        "/api/v1/messages", json={"name": "renewal_signed", "correlation": {"contract_no": "C-9"}}
    )
    assert again.status_code == 404, again.get_json()  # no contract C-9 waits
    assert timed.agent.instance(first)["status"] == "waiting"


@pytest.mark.parametrize("interested", [True, False])
def test_the_unanswered_renewal_is_chased_by_the_manager(timed: Timed, interested):
    db, cid, offer = start_renewal(timed)
    boss = timed.actor("manager", username="boss", team="East")
    view = timed.agent.complete_ok(offer["id"], {})
    assert timed.advance(days=13, hours=23) == 0
    assert timed.advance(hours=1) == 1
    chase = only(boss.tasks())
    assert chase["title"] == "Call the customer about the renewal"
    assert timed.agent.complete(chase["id"], {"interested": True}).status_code == 403
    view = boss.complete_ok(chase["id"], {"interested": interested})
    if interested:  # back to a new offer, and the wait again
        assert only(timed.agent.tasks())["title"] == "Send the renewal offer"
        assert view["status"] == "running" and notes_of(db, cid) == []
    else:
        assert (view["status"], view["incidents"]) == ("completed", [])
        assert notes_of(db, cid) == ["Renewal of C-2026-031 lost"]
    assert deals_of(db, cid) == []


# -- Camunda model API + DMN model API: approvers collected, each approves, a perk picked ----

QUOTE = ("modelapi_quote_approval.bpmn", "modelapi_quote_rules.dmn")


@pytest.mark.parametrize(
    ("amount", "discount", "approvers", "deal"),
    [
        (60000, 15, ["manager", "director"], ("Seats with on-site training", "51000.00")),
        (60000, 5, ["director"], ("Seats with on-site training", "57000.00")),
        (8000, 20, ["manager"], ("Seats with online training", "6400.00")),
        (1000, 0, [], ("Seats with a welcome call", "1000.00")),
    ],
)
def test_the_model_api_quote_is_approved_by_each_group_its_table_collects(
    owner, agent, actor, db, amount, discount, approvers, deal
):
    people = {
        "manager": actor("manager", username="boss", team="East"),
        "director": actor("director", username="big_boss", team=None),
    }
    deploy(owner, *QUOTE)
    cid = customer(db)
    started = agent.start("quote_approval", {"customer_id": cid})
    prepare = only(started["ready_tasks"])
    assert prepare["title"] == "Prepare the quote"
    quote = {"product": "Seats", "amount": amount, "discount": discount}
    assert people["manager"].complete(prepare["id"], quote).status_code == 403
    view = agent.complete_ok(prepare["id"], quote)
    assert view["incidents"] == [], view["incidents"]
    assert view["data"]["approvers"] == approvers
    for group in approvers:
        approve = only(people[group].tasks())
        assert approve["title"] == "Approve the quote"
        assert agent.complete(approve["id"], {}).status_code == 403
        view = people[group].complete_ok(approve["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == [(*deal, "qualification")]


def test_an_external_task_s_text_holding_two_juel_expressions_runs(owner, agent, db):
    """``${product} with ${perk}`` was read as one expression, ``product} with ${perk``:
    the whole external task was refused four times, none naming the parameter."""
    response = upload(owner, *[(name, diagram(name)) for name in QUOTE])
    assert response.status_code == 201, response.get_json()
    cid = customer(db)
    started = agent.start("quote_approval", {"customer_id": cid})
    view = agent.complete_ok(
        only(started["ready_tasks"])["id"], {"product": "Headsets", "amount": 900, "discount": 0}
    )
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == [("Headsets with a welcome call", "900.00", "qualification")]


def test_a_user_task_mapping_holding_two_juel_expressions_runs(owner, agent, db):
    """The same text in a user task's ``camunda:inputOutput`` was refused on the task."""
    bpmn, dmn = QUOTE
    text = edited(
        bpmn,
        (
            'id="prepare_quote" name="Prepare the quote">',
            'id="prepare_quote" name="Prepare the quote">'
            "<extensionElements><camunda:inputOutput>"
            '<camunda:inputParameter name="greeting">${name} of ${city}</camunda:inputParameter>'
            "</camunda:inputOutput></extensionElements>",
        ),
    )
    response = upload(owner, (bpmn, text), (dmn, diagram(dmn)))
    assert response.status_code == 201, response.get_json()
    started = agent.start(
        "quote_approval", {"customer_id": customer(db), "name": "Zhou", "city": "Hangzhou"}
    )
    assert started["incidents"] == [], started["incidents"]
    assert only(started["ready_tasks"])["title"] == "Prepare the quote"


# -- bpmn_python: a complaint calling its refund, escalated or refused -----------------------

COMPLAINT = "bpmnpython_complaint.bpmn"


@pytest.mark.parametrize(
    ("severity", "refund", "manager_task", "note"),
    [
        ("mild", 200, None, "Refunded 200 CNY"),
        ("severe", 200, "Call the customer personally", "Refunded 200 CNY"),
        ("mild", 5000, "Offer a voucher", None),
    ],
)
def test_the_complaint_calls_its_refund_and_catches_what_it_throws(
    owner, agent, actor, db, severity, refund, manager_task, note
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, COMPLAINT)
    cid = customer(db)
    started = agent.start("id_complaint_7c6d5e4f", {"customer_id": cid})
    hear = only(started["ready_tasks"])
    assert (hear["title"], hear["lane"]) == ("Hear the complaint", "agent")
    answer = {"severity": severity, "refund": refund}
    assert boss.complete(hear["id"], answer).status_code == 403
    view = agent.complete_ok(hear["id"], answer)
    assert view["incidents"] == []
    if manager_task:
        task = only(boss.tasks())
        assert (task["title"], task["lane"]) == (manager_task, "manager")
        assert agent.complete(task["id"], {}).status_code == 403
        view = boss.complete_ok(task["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert notes_of(db, cid) == ([note] if note else [])
    completed = went_through(agent, started["id"])
    assert ("id_3d4e5f60-closed" in completed) is (refund <= 1000)
    assert ("id_93a4b5c6-vouchered" in completed) is (refund > 1000)


# -- the mistakes of these exports and their editors: refused on the element and line --------

ORYX_GW = "oryx_A1F0C3D2-0003-4B5A-8C7D-1E2F3A4B5C03"

BROKEN = {
    "a default flow from the other gateway (Apromore)": (
        [(APROMORE, [('default="Flow_0small3"', 'default="Flow_1no0nur"')])],
        APROMORE,
        ("Gateway_0size9x", '<bpmn:exclusiveGateway id="Gateway_0size9x"', "Flow_1no0nur"),
    ),
    "a script typed with a Python 2 print (Apromore)": (
        [(APROMORE, [('grade = "A" if', 'print grade\ngrade = "A" if')])],
        APROMORE,
        ("Activity_1grade7", '<bpmn:scriptTask id="Activity_1grade7"', "Did you mean print(...)?"),
    ),
    "a lane listing a deleted task (Apromore)": (
        [
            (
                APROMORE,
                [
                    (
                        "<bpmn:flowNodeRef>Activity_1appr0v</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>Activity_1appr0w</bpmn:flowNodeRef>",
                    )
                ],
            )
        ],
        APROMORE,
        ("Lane_1mgr0vq", '<bpmn:lane id="Lane_1mgr0vq"', "Activity_1appr0w"),
    ),
    "a boundary timer attached to a deleted task (Oryx)": (
        [
            (
                ORYX,
                [
                    (
                        'attachedToRef="oryx_A1F0C3D2-0002-4B5A-8C7D-1E2F3A4B5C02"',
                        'attachedToRef="oryx_A1F0C3D2-0002-4B5A-8C7D-1E2F3A4B5C0Z"',
                    )
                ],
            )
        ],
        ORYX,
        (
            "oryx_A1F0C3D2-0008-4B5A-8C7D-1E2F3A4B5C08",
            "<boundaryEvent attachedToRef=",
            "oryx_A1F0C3D2-0002-4B5A-8C7D-1E2F3A4B5C0Z",
        ),
    ),
    "a timer written as words (Oryx)": (
        [(ORYX, [('>"PT1H"<', ">one hour<")])],
        ORYX,
        (
            "oryx_A1F0C3D2-0005-4B5A-8C7D-1E2F3A4B5C05",
            '<intermediateCatchEvent id="oryx_A1F0C3D2-0005-4B5A-8C7D-1E2F3A4B5C05"',
            "'PT1H' (an hour)",
        ),
    ),
    "a condition written as XPath (Oryx)": (
        [(ORYX, [(">reached == True<", ">$reached = 'true'<")])],
        ORYX,
        (
            "oryx_F0000001-AAAA-4BBB-8CCC-000000000003",
            '<sequenceFlow id="oryx_F0000001-AAAA-4BBB-8CCC-000000000003"',
            "is not a valid Python expression",
        ),
    ),
    "the designer's autoStoreVariables left at false (Activiti 5)": (
        [
            (
                ACTIVITI,
                [
                    (
                        'name="Check the limit" scriptFormat="python">',
                        'name="Check the limit" scriptFormat="python" '
                        'activiti:autoStoreVariables="false">',
                    )
                ],
            )
        ],
        ACTIVITI,
        ("scripttask1", '<scriptTask id="scripttask1"', "autoStoreVariables='false'"),
    ),
    "a Groovy script kept from Activiti (Activiti 5)": (
        [(ACTIVITI, [('scriptFormat="python"', 'scriptFormat="groovy"')])],
        ACTIVITI,
        ("scripttask1", '<scriptTask id="scripttask1"', "groovy"),
    ),
    "a flow to a renamed task (Activiti 5)": (
        [
            (
                ACTIVITI,
                [
                    (
                        'sourceRef="usertask1" targetRef="subprocess1"',
                        'sourceRef="usertask1" targetRef="subprocess2"',
                    )
                ],
            )
        ],
        ACTIVITI,
        ("flow2", '<sequenceFlow id="flow2"', "subprocess2"),
    ),
    "a message catch naming no message (model API)": (
        [
            (
                RENEWAL,
                [
                    (
                        'messageRef="message_7a1b2c3d-0e4f-4a5b-8c6d-7e8f9a0b1c2d"/>',
                        'messageRef="message_7a1b2c3d-0e4f-4a5b-8c6d-7e8f9a0b1c2e"/>',
                    )
                ],
            )
        ],
        RENEWAL,
        (
            "signed",
            '<intermediateCatchEvent id="signed"',
            "message_7a1b2c3d-0e4f-4a5b-8c6d-7e8f9a0b1c2e",
        ),
    ),
    "a user task after the event-based gateway (model API)": (
        [
            (
                RENEWAL,
                [
                    (
                        '5e6f" targetRef="no_answer"',
                        '5e6f" targetRef="chase"',
                    )
                ],
            )
        ],
        RENEWAL,
        (
            "eventBasedGateway_3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
            "<eventBasedGateway id=",
            "can only lead to catch events",
        ),
    ),
    "a decision id one letter short (model API)": (
        [
            (QUOTE[0], [('camunda:decisionRef="quote_perk"', 'camunda:decisionRef="quote_perks"')]),
            (QUOTE[1], []),
        ],
        QUOTE[0],
        ("find_perk", '<businessRuleTask camunda:decisionRef="quote_perks"', "quote_perks"),
    ),
    "a hit policy typed in lower case (DMN model API)": (
        [(QUOTE[0], []), (QUOTE[1], [('hitPolicy="FIRST"', 'hitPolicy="first"')])],
        QUOTE[1],
        ("quote_perk_table", '<decisionTable hitPolicy="first"', "write 'FIRST'"),
    ),
    "a called process id with a typo (bpmn_python)": (
        [
            (
                COMPLAINT,
                [('calledElement="id_refund_a4b5c6d7"', 'calledElement="id_refund_a4b5c6d8"')],
            )
        ],
        COMPLAINT,
        (
            "id_2c3d4e5f-handle",
            '<callActivity calledElement="id_refund_a4b5c6d8"',
            "id_refund_a4b5c6d8",
        ),
    ),
    "an escalation catch naming the error (bpmn_python)": (
        [
            (
                COMPLAINT,
                [
                    (
                        'escalationRef="id_esc_5a4b3c2d"/>\n</boundaryEvent>',
                        'escalationRef="id_err_6b5c4d3e"/>\n</boundaryEvent>',
                    )
                ],
            )
        ],
        COMPLAINT,
        (
            "id_4e5f6071-severe",
            '<boundaryEvent attachedToRef="id_2c3d4e5f-handle" cancelActivity="false"',
            "names no <bpmn:escalation>",
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
    detail = matching[0]
    assert detail["file"] == said_in
    assert detail["line"] == line_in(fragment, dict(uploaded)[said_in]), detail
    assert "Traceback" not in detail["message"]
    nothing_deployed(db)
