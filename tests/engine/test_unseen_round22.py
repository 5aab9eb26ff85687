"""A twenty-second round of unseen diagrams: telesales processes as someone fluent in Camunda 7
writes them in Camunda Modeler 5 (``bpmn:`` prefix, generated ids, full ``bpmndi``): a quote
approval (lanes, a DMN 1.3 table with FEEL cells, JUEL conditions, parallel approvals, Dialflow
and external service tasks, a Python script), a lead follow-up calling a call attempt
(``camunda:in``/``out``, a ``PT48H`` boundary timer, an error end event caught on the call
activity, a message, ``asyncBefore``) and a complaint (an embedded subprocess with an
escalation and an error end event, a handler failing with the CRM's code).

What ran wrongly or was refused and runs now: text around JUEL in an external task's input
parameter (``Quote refused: ${comment}``), which was passed as written; a JUEL ternary there,
which refused the whole task with four problems none of which named it; a call activity's
``sourceExpression="${attempt + 1}"``; an error catch naming the code a CRM refusal carries
(``customer_not_found``), which left an incident; an external task with an input/output
mapping kept the worker's result in the instance's data (``spiff__<task>_result``). A flow to
an id with a typo is told the id it meant; an external task's value that cannot be computed is
said on its parameter's line (it was four problems, none naming it).

Found and left: ``<camunda:formData>`` on a start event stays refused (with what to do):
Dialflow has no start form to check a start's data against.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.customers import create_customer
from crm.models import Activity, Call, Customer
from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

ROUND22 = DiagramFolder("round22")
diagram, edited, deploy = ROUND22.read, ROUND22.edited, ROUND22.deploy
QUOTE = ("quote_approval.bpmn", "discount_tier.dmn")


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Wang Fang", "phones": ["+8613800138000"]}, actor=None
        ).id


def notes_of(db: Any) -> list[str]:
    with db() as session:
        return [a.body for a in session.scalars(select(Activity).order_by(Activity.id))]


def only(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    (task,) = tasks
    return task


def test_a_quote_goes_through_its_decision_lanes_and_external_tasks(owner, agent, actor, db):
    """Text around JUEL in an external task's input parameter is EL's composite expression:
    it was passed as written (a note "Quote ${title} sent with ${discount} off")."""
    boss = actor("manager", username="boss", team="East")
    chief = actor("director", username="chief", team=None)
    deploy(owner, *QUOTE)
    cid = customer(db)
    small = agent.start("Process_quote_approval", {"customer_id": cid})
    prepare = only(small["ready_tasks"])
    assert (prepare["lane"], prepare["form_schema"]["required"]) == ("agent", ["title", "amount"])
    assert prepare["due_at"] is not None  # camunda:dueDate="PT4H"
    done = agent.complete_ok(prepare["id"], {"title": "CRM seats", "amount": 5000})
    assert (done["status"], done["data"]["discount"]) == ("completed", 0.05)
    deal_id = done["data"]["deal"]["id"]
    assert done["data"]["summary"] == f"CRM seats: 5000 CNY, 5% off, deal {deal_id}"
    assert deals_of(db, cid) == [("CRM seats", "4750.00", "qualification")]
    assert notes_of(db) == ["Quote CRM seats sent with 0.05 off"]

    large = agent.start("Process_quote_approval", {"customer_id": cid})
    agent.complete_ok(only(large["ready_tasks"])["id"], {"title": "Big", "amount": 20000})
    approve, note = only(boss.tasks()), only(chief.tasks())
    assert (approve["lane"], note["lane"]) == ("manager", "director")
    other = actor("manager", username="deputy", team="East")
    assert boss.post(f"/api/v1/tasks/{approve['id']}/claim").status_code == 200
    assert other.tasks() == []
    assert other.complete(approve["id"], {"approved": True}).status_code in (403, 409)
    boss.complete_ok(approve["id"], {"approved": False, "comment": "too much"})
    refused_quote = chief.complete_ok(note["id"], {"director_note": "seen"})
    assert (refused_quote["status"], refused_quote["incidents"]) == ("completed", [])
    assert notifications_of(db, agent) == ["Quote refused: too much"]
    assert len(deals_of(db, cid)) == 1


def test_a_quote_for_a_missing_customer_is_an_incident_a_retry_with_the_customer_ends(
    owner: Actor, agent: Actor, db
):
    deploy(owner, *QUOTE)
    cid = customer(db)
    started = agent.start("Process_quote_approval", {"customer_id": cid + 100})
    failed = agent.complete_ok(only(started["ready_tasks"])["id"], {"title": "T", "amount": 500})
    (incident,) = failed["incidents"]
    assert (failed["status"], incident["element_id"]) == ("error", "Activity_0opp4d2")
    assert f"No customer #{cid + 100}" in incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"customer_id": cid}}
    )
    assert retried.status_code == 200, retried.get_json()
    assert agent.instance(started["id"])["status"] == "completed"
    assert deals_of(db, cid) == [("T", "500.00", "qualification")]


def test_a_lead_follow_up_calls_its_attempt_and_takes_each_way_out(timed: Timed):
    """``<camunda:in sourceExpression="${attempt + 1}">`` was refused ("Dialflow reads a
    variable or a field path there"), an external task's ``${a ? b : c}`` refused the task
    with four problems on its Camunda attributes."""
    boss = timed.actor("manager", username="boss", team="East")
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, "lead_followup.bpmn", "call_attempt.bpmn")
    cid = customer(db)
    agent = timed.agent
    ends = {}
    for outcome in ["interested", "not_interested", "do_not_call"]:
        key = f"lead-{outcome}"
        started = agent.start(
            "Process_lead_followup", {"customer_id": cid, "attempt": 0}, business_key=key
        )
        call = only(agent.tasks())
        assert (call["title"], call["business_key"]) == ("Call the customer", key)
        agent.complete_ok(call["id"], {"outcome": outcome, "call_notes": "talked"})
        ends[outcome] = agent.instance(started["id"])
    assert [w["kind"] for w in ends["interested"]["waiting"]] == ["message"]
    assert ends["not_interested"]["status"] == "completed"
    refusal = ends["do_not_call"]["data"]
    assert (refusal["refusal_code"], refusal["refusal_message"]) == (
        "DO_NOT_CALL",
        "The customer asked not to be called",
    )
    sent = agent.post(
        "/api/v1/messages",
        json={
            "name": "contract_signed",
            "business_key": "lead-interested",
            "payload": {"contract_no": "C-9"},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    assert timed.advance(seconds=1) == 1  # asyncBefore: a worker notes the win
    won = agent.instance(ends["interested"]["id"])
    assert (won["status"], sorted(won["data"])) == (  # the note's result stays the worker's
        "completed",
        ["attempt", "call_notes", "call_outcome", "contract_no", "customer_id"],
    )
    with db() as session:
        calls = [
            (c.notes, c.disposition.value) for c in session.scalars(select(Call).order_by(Call.id))
        ]
        assert session.get(Customer, cid).do_not_call is True
    assert calls == [
        ("Attempt 1: talked", "connected_interested"),
        ("Attempt 1: talked", "not_interested"),
        ("Attempt 1: talked", "do_not_call"),
    ]
    assert notes_of(db) == ["Contract C-9 signed"]

    stale = agent.start("Process_lead_followup", {"customer_id": cid, "attempt": 0})
    assert timed.advance(hours=48) == 1
    assert [t["title"] for t in boss.tasks()] == ["Reassign the stale lead"]
    assert agent.tasks() == []
    assert agent.instance(stale["id"])["status"] == "running"


def test_an_external_tasks_juel_ternary_deploys(owner: Actor):
    """``${outcome == 'interested' ? 'connected_interested' : outcome}`` as a parameter: the
    task was refused as if Dialflow ran no external task at all."""
    assert upload(owner, ("call_attempt.bpmn", diagram("call_attempt.bpmn"))).status_code == 201


@pytest.mark.parametrize(
    ("start", "form", "titles", "data"),
    [
        ({}, {"severity": "low", "refund": 0}, [], {"severity": "low"}),
        (
            {"callback_due": "P1D"},
            {"severity": "high", "refund": 100},
            [("Call the customer back", "manager")],
            {"severity": "high"},
        ),
        (
            {},
            {"severity": "low", "refund": 9000},
            [("Approve the refund", "director")],
            {"limit_code": "REFUND_LIMIT"},
        ),
        (
            {"customer_id": 999},
            {"severity": "low", "refund": 0},
            [],
            {
                "error_code": "customer_not_found",
                "closed_because": "crm.add_note: No customer #999.",
            },
        ),
    ],
)
def test_a_complaint_escalates_fails_over_the_limit_and_catches_a_missing_customer(
    owner, agent, actor, db, start, form, titles, data
):
    """The error catch naming ``customer_not_found``, the code of the CRM's refusal, left an
    incident: a handler's failure carried a code only when raised as a ``HandlerError``."""
    actor("manager", username="boss", team="East")
    actor("director", username="chief", team=None)
    deploy(owner, "complaint.bpmn")
    started = agent.start("Process_complaint", {"customer_id": customer(db), **start})
    after = agent.complete_ok(only(started["ready_tasks"])["id"], form)
    assert after["incidents"] == []
    assert [(t["title"], t["lane"]) for t in after["ready_tasks"]] == titles
    assert after["status"] == ("running" if titles else "completed")
    assert {name: after["data"].get(name) for name in data} == data
    noted = form["refund"] <= 5000 and "customer_id" not in start
    assert ("note" in after["data"]) == noted


# -- broken variants: refused on the element and line, with what to write -------------------

DMN_OUTPUT = b'      <output id="Output_1" label="Discount" name="discount" typeRef="double" />\n'


@pytest.mark.parametrize(
    ("bpmn_change", "dmn_change", "file", "element", "at", "words"),
    [
        (
            ('camunda:decisionRef="discount_tier"', 'camunda:decisionRef="discount_teir"'),
            None,
            "quote_approval.bpmn",
            "Activity_1tier9q",
            'id="Activity_1tier9q"',
            ["calls decision 'discount_teir'", "the decisions it has are discount_tier"],
        ),
        (
            ('targetRef="Event_0sent7g4" />', 'targetRef="Event_0snet7g4" />'),
            None,
            "quote_approval.bpmn",
            "Flow_1y8z9a0",
            'id="Flow_1y8z9a0"',
            [
                "'Event_0snet7g4', which is no element",
                "did you mean 'Event_0sent7g4'? Write targetRef=\"Event_0sent7g4\"",
            ],
        ),
        (
            None,
            (DMN_OUTPUT, b""),
            "discount_tier.dmn",
            "DecisionTable_1h4k2p9",
            'id="DecisionTable_1h4k2p9"',
            ["has no <output>", '<output name="…">'],
        ),
        (
            ('scriptFormat="python"', 'scriptFormat="javascript"'),
            None,
            "quote_approval.bpmn",
            "Activity_0sum6f3",
            'id="Activity_0sum6f3"',
            ["'javascript'", "Dialflow runs Python scripts", 'in Python it reads:\nsummary = f"'],
        ),
    ],
)
def test_broken_variants_are_refused_where_they_are_wrong(
    owner, db, bpmn_change, dmn_change, file, element, at, words
):
    bpmn = edited("quote_approval.bpmn", bpmn_change) if bpmn_change else diagram(QUOTE[0])
    dmn = diagram(QUOTE[1])
    if dmn_change:
        assert dmn.count(dmn_change[0]) == 1
        dmn = dmn.replace(*dmn_change)
    response = upload(owner, (QUOTE[0], bpmn), (QUOTE[1], dmn))
    details = [d for d in refused(response) if d["element_id"] == element]
    assert details, refused(response)
    detail = details[0]
    assert (detail["file"], detail["line"]) == (
        file,
        line_in(at, bpmn if file == QUOTE[0] else dmn),
    )
    for word in words:
        assert word in detail["message"], detail["message"]
    nothing_deployed(db)


def test_an_external_tasks_value_that_cannot_run_is_said_on_its_line(owner, db):
    """It was four problems on the task's Camunda attributes and its missing operator, as if
    Dialflow ran no external task, none naming the value."""
    old = "${outcome == 'interested' ? 'connected_interested' : outcome}"
    new = "${dispositions.of(outcome)}"
    text = edited("call_attempt.bpmn", (old, new))
    (detail,) = refused(upload(owner, ("call_attempt.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == ("Activity_0log8v9", line_in(new, text))
    for words in [
        "'disposition' = ${dispositions.of(outcome)} of external task 'Activity_0log8v9'",
        "runs the task as its operator 'crm.log_call'",
        ".of(…) calls a Java method",
        "compute it in a script task before the task, in Python (disposition = …), and write "
        "${disposition} here",
    ]:
        assert words in detail["message"], detail["message"]
    nothing_deployed(db)
