"""An eighth round of unseen diagrams, in the styles of the BPMN Model Interchange Working
Group's reference files (A.1-A.4, B.2.0, C.1.0, C.3.0) as Signavio, Trisotech and itp-commerce's
Visio modeler export them: Signavio's default namespace with ``sid-`` ids, XPath declared as the
expression language and ``isImmediate`` flows; Trisotech's ``semantic:`` prefix in ISO-8859-1
with accented names, two pools with message flows to a pool that is only drawn; tool attributes
in every extensionElements and a message start event; one of every kind of element. Beside them
a Camunda Modeler 5 offer desk combining a form, a DMN discount, an approval with a timer and a
handback, an error and a non-interrupting escalation out of a subprocess, an inclusive split
and join, a signed order correlated from the CRM; and a Camunda 8 (Zeebe) export as a user
writes it. What runs is run end to end through the API; what Dialflow does not run, and one
mistake per file as people make them, is refused with ``422 invalid_bpmn`` on its element and
line, nothing deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Deal, DealStageChange
from engine.models import ReceivedMessage
from tests.engine.conftest import Actor, Timed, by_element, notes_of, one_process, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

ROUND8 = DiagramFolder("round8")
diagram, edited, deploy, line_of = ROUND8.read, ROUND8.edited, ROUND8.deploy, ROUND8.line_of


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="lead_east", team="East")


# -- callback and quote (MIWG A.1-A.3 as Signavio exports them): a task two flows lead into (the
#    callback loop through an intermediate timer), default flows, a non-interrupting timer and an
#    interrupting message on the manager's approval, a handback to the agent's lane, a call
#    activity (the onboarding, in a second Signavio file) with a timer on it ------------------

SIGNAVIO = "signavio_callback_quote.bpmn"
ONBOARDING = "signavio_onboarding.bpmn"


def sid(number: int) -> str:
    """The Signavio id of element ``number`` of the callback diagram."""
    return f"sid-A1B2C3D4-{number:04d}-4000-8000-{number:012d}"


CALL, APPROVE, TELL = sid(2), sid(8), sid(14)
BOOK = "sid-B1B2C3D4-0002-4000-8000-000000000002"


def start_callback(agent: Actor, customer_id: int, manager: Actor) -> dict[str, Any]:
    started = agent.start(
        "r8_signavio_callback",
        {
            "customer_id": customer_id,
            "calls": 0,
            "list_price": 12000,
            "discount": 15,
            "team_lead": manager.username,
        },
        business_key=f"lead-{customer_id}",
    )
    (call,) = started["ready_tasks"]
    assert (call["name"], call["title"], call["lane"]) == (CALL, "Call the lead", "agent")
    return started


def test_callbacks_wait_a_day_then_the_manager_approves(timed: Timed, make_customer, db):
    manager = timed.actor("manager", username="lead_east", team="East")
    agent = timed.agent
    ROUND8.deploy(timed.owner, SIGNAVIO, ONBOARDING)
    customer = make_customer()
    started = start_callback(agent, customer.id, manager)
    (call,) = started["ready_tasks"]
    for attempt in (1, 2):
        after = agent.complete_ok(call["id"], {"outcome": "callback"})
        assert after["ready_tasks"] == [] and after["data"]["calls"] == attempt
        (wait,) = after["waiting"]
        assert wait["kind"] == "timer"
        assert timed.advance(hours=23) == 0
        assert timed.advance(hours=1) == 1
        (call,) = agent.instance(started["id"])["ready_tasks"]
        assert call["name"] == CALL  # the second flow into the call task
    after = agent.complete_ok(call["id"], {"outcome": "interested"})
    (approve,) = after["ready_tasks"]
    assert (approve["name"], approve["lane"]) == (APPROVE, "manager")
    assert after["data"]["quote"] == 10200
    assert agent.complete(approve["id"], {"approved": True}).status_code == 403
    approved = manager.complete_ok(approve["id"], {"approved": True})
    assert notes_of(db, customer.id) == ["Quote approved: 10200.0"]
    # the onboarding is a called process: its task in the agent lane, a 2-day timer on the call
    (book,) = approved["ready_tasks"]
    assert (book["name"], book["lane"], book["title"]) == (
        BOOK,
        "agent",
        "Book the onboarding call",
    )
    assert [(w["kind"], w["name"]) for w in approved["waiting"]] == [("timer", "2 days")]
    done = agent.complete_ok(book["id"], {"booked_for": "2026-05-06 10:00", "trainer": "Ms Lin"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["calls"] == 3
    assert done["data"]["onboarding"] == "2026-05-06 10:00 with Ms Lin (quote 10200.0)"
    assert done["waiting"] == []  # the reminder went with the approval, the timer with the call
    assert timed.advance(days=3) == 0
    assert notes_of(db, customer.id) == ["Quote approved: 10200.0"]
    assert notifications_of(db, manager) == []


def test_an_onboarding_not_booked_in_two_days_is_noted(timed: Timed, make_customer, db):
    manager = timed.actor("manager", username="lead_east", team="East")
    ROUND8.deploy(timed.owner, SIGNAVIO, ONBOARDING)
    customer = make_customer()
    started = start_callback(timed.agent, customer.id, manager)
    (call,) = started["ready_tasks"]
    (approve,) = timed.agent.complete_ok(call["id"], {"outcome": "interested"})["ready_tasks"]
    (book,) = manager.complete_ok(approve["id"], {"approved": True})["ready_tasks"]
    assert timed.advance(days=1, hours=23) == 0
    assert timed.advance(hours=1) == 1
    view = timed.owner.instance(started["id"])
    assert view["status"] == "completed", view["incidents"]
    assert view["ready_tasks"] == [] and "onboarding" not in view["data"]
    assert timed.agent.complete(book["id"], {"booked_for": "x", "trainer": "y"}).status_code == 409
    assert notes_of(db, customer.id) == [
        "Quote approved: 10200.0",
        "Onboarding not booked within 2 days",
    ]


def test_the_third_callback_is_one_too_many(timed: Timed, make_customer, db):
    manager = timed.actor("manager", username="lead_east", team="East")
    ROUND8.deploy(timed.owner, SIGNAVIO, ONBOARDING)
    customer = make_customer()
    started = start_callback(timed.agent, customer.id, manager)
    (call,) = started["ready_tasks"]
    for _ in range(2):
        timed.agent.complete_ok(call["id"], {"outcome": "callback"})
        assert timed.advance(days=1) == 1
        (call,) = timed.agent.instance(started["id"])["ready_tasks"]
    done = timed.agent.complete_ok(call["id"], {"outcome": "callback"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Not interested after 3 call(s)"]


def test_the_manager_is_reminded_after_four_hours_and_the_approval_stays(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    ROUND8.deploy(timed.owner, SIGNAVIO, ONBOARDING)
    customer = make_customer()
    started = start_callback(timed.agent, customer.id, manager)
    (call,) = started["ready_tasks"]
    after = timed.agent.complete_ok(call["id"], {"outcome": "interested"})
    (approve,) = after["ready_tasks"]
    assert timed.advance(hours=3, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    assert notifications_of(db, manager) == ["Quote of 10200.0 waits for your approval"]
    view = timed.owner.instance(started["id"])
    assert [t["id"] for t in view["ready_tasks"]] == [approve["id"]]
    assert timed.advance(hours=8) == 0  # a duration fires once
    rejected = manager.complete_ok(approve["id"], {"approved": False})
    (tell,) = rejected["ready_tasks"]
    assert (tell["name"], tell["lane"]) == (TELL, "agent")  # handed back to the agent
    done = timed.agent.complete_ok(tell["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == []
    assert notifications_of(db, manager) == ["Quote of 10200.0 waits for your approval"]


def test_the_customer_withdraws_while_the_manager_decides(owner, agent, manager, make_customer, db):
    deploy(owner, SIGNAVIO, ONBOARDING)
    customer = make_customer()
    started = start_callback(agent, customer.id, manager)
    (call,) = started["ready_tasks"]
    after = agent.complete_ok(call["id"], {"outcome": "interested"})
    (approve,) = after["ready_tasks"]
    sent = agent.post(
        "/api/v1/messages",
        json={
            "name": "r8_quote_withdrawn",
            "business_key": f"lead-{customer.id}",
            "payload": {"reason": "bought elsewhere"},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
    view = owner.instance(started["id"])
    assert view["status"] == "completed", view["incidents"]
    assert view["ready_tasks"] == [] and view["waiting"] == []
    assert manager.complete(approve["id"], {"approved": True}).status_code == 409
    assert notes_of(db, customer.id) == ["Quote of 10200.0 withdrawn: bought elsewhere"]


def test_not_interested_on_the_first_call(owner, agent, manager, make_customer, db):
    deploy(owner, SIGNAVIO, ONBOARDING)
    customer = make_customer()
    started = start_callback(agent, customer.id, manager)
    (call,) = started["ready_tasks"]
    done = agent.complete_ok(call["id"], {"outcome": "wrong number"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Not interested after 1 call(s)"]


# -- offer negotiation (MIWG A.4.x / C.1.0 as Trisotech writes them): ISO-8859-1 with accented
#    names, two pools, message flows to a pool that is only drawn, a send task whose message no
#    instance takes (recorded), a receive task answered by the CRM with a timer on it, an
#    expanded subprocess whose tasks stand in the manager's lane -----------------------------

TRISO = "trisotech_offer_collaboration.bpmn"


def stage_comments(db: Any, customer_id: int) -> list[str | None]:
    with db() as session:
        return list(
            session.scalars(
                select(DealStageChange.comment)
                .join(Deal, Deal.id == DealStageChange.deal_id)
                .where(Deal.customer_id == customer_id, DealStageChange.to_stage == "won")
            )
        )


def offer_sent(agent: Actor, customer_id: int) -> dict[str, Any]:
    started = agent.start(
        "r8_triso_offer", {"customer_id": customer_id}, business_key=f"offre-{customer_id}"
    )
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["title"], prepare["lane"]) == (
        "_qualify",
        "Préparer l'offre",
        "agent",
    )
    after = agent.complete_ok(prepare["id"], {"montant": 5000, "reference": "R-17"})
    assert after["status"] == "waiting", after["incidents"]
    assert {(w["kind"], w["name"]) for w in after["waiting"]} == {
        ("message", "r8_offer_answer"),
        ("timer", "3 jours"),
    }
    return after


def answer(agent: Actor, customer_id: int, payload: dict[str, Any]) -> Any:
    return agent.post(
        "/api/v1/messages",
        json={
            "name": "r8_offer_answer",
            "business_key": f"offre-{customer_id}",
            "payload": payload,
        },
    )


def test_offer_accepted_by_the_crm_is_closed_in_the_manager_lane(
    owner, agent, manager, make_customer, db
):
    assert deploy(owner, TRISO)["process_ids"] == ["r8_triso_offer"]  # not the drawn pool
    customer = make_customer()
    waiting = offer_sent(agent, customer.id)
    # the offer went out to the customer's pool, which no instance runs: recorded, not lost
    with db() as session:
        (sent,) = session.scalars(select(ReceivedMessage)).all()
        assert (sent.name, sent.business_key) == ("r8_offer_sent", f"offre-{customer.id}")
        assert sent.payload["reference"] == "R-17"
    answered = answer(agent, customer.id, {"decision": "accepte", "signataire": "M. Dupont"})
    assert answered.status_code == 202, answered.get_json()
    assert answered.get_json()["delivered_to"] == [waiting["id"]]
    view = owner.instance(waiting["id"])
    (sign,) = view["ready_tasks"]
    assert (sign["name"], sign["lane"], sign["title"]) == (
        "_countersign",
        "manager",
        "Contresigner",
    )
    assert view["waiting"] == []  # the timer went with the receive task
    assert deals_of(db, customer.id) == [("Offre R-17", "5000.00", "qualification")]
    assert agent.complete(sign["id"], {}).status_code == 403
    done = manager.complete_ok(sign["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [("Offre R-17", "5000.00", "won")]
    assert stage_comments(db, customer.id) == ["Contresigné par M. Dupont"]


def test_offer_refused_by_the_crm_is_noted(owner, agent, make_customer, db):
    deploy(owner, TRISO)
    customer = make_customer()
    waiting = offer_sent(agent, customer.id)
    answered = answer(agent, customer.id, {"decision": "refuse", "motif": "trop cher"})
    assert answered.status_code == 202
    done = owner.instance(waiting["id"])
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Offre refusée : trop cher"]
    assert deals_of(db, customer.id) == []
    # the conversation is over: a second answer finds nothing waiting
    assert answer(agent, customer.id, {"decision": "accepte"}).status_code == 404


def test_no_answer_in_three_days_means_a_follow_up_call(timed: Timed, make_customer, db):
    ROUND8.deploy(timed.owner, TRISO)
    customer = make_customer()
    waiting = offer_sent(timed.agent, customer.id)
    assert timed.advance() == 1  # the scheduler offers the sent offer: no instance takes it
    with db() as session:
        (sent,) = session.scalars(select(ReceivedMessage)).all()
        assert (sent.name, sent.status, sent.delivered_to) == ("r8_offer_sent", "unmatched", [])
    assert timed.advance(days=2, hours=23) == 0
    assert timed.advance(hours=1) == 1
    view = timed.owner.instance(waiting["id"])
    (relance,) = view["ready_tasks"]
    assert (relance["name"], relance["lane"]) == ("_relance", "agent")
    assert view["waiting"] == []
    assert answer(timed.agent, customer.id, {"decision": "accepte"}).status_code == 404
    done = timed.agent.complete_ok(relance["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == []


# -- offer desk (Camunda Modeler 5 for Camunda 7, bookkeeping camunda: settings only): a form
#    feeding a DMN discount that routes an exclusive gateway, a manager's approval with an
#    8-hour timer and a handback, an embedded subprocess that ends in an error or escalates
#    without interrupting, an inclusive split and join, an event-based gateway waiting for the
#    CRM's signed order correlated by order number, a group and a text annotation ------------

DESK = (
    "camunda_offer_desk.bpmn",
    "r8_discount.dmn",
    "r8-qualify-form.json",
    "r8-approve-form.json",
)


def qualified(
    agent: Actor, customer_id: int, manager: Actor, form: dict[str, Any]
) -> dict[str, Any]:
    started = agent.start(
        "r8_offer_desk", {"customer_id": customer_id, "team_lead": manager.username}
    )
    (qualify,) = started["ready_tasks"]
    assert (qualify["name"], qualify["lane"]) == ("Activity_0qualify", "agent")
    assert qualify["form_schema"]["required"] == ["seats", "budget", "channels", "order_no"]
    return agent.complete_ok(qualify["id"], form)


def sign(actor: Actor, order_no: str, signed_by: str = "Mr Qian") -> Any:
    return actor.post(
        "/api/v1/messages",
        json={
            "name": "r8_order_signed",
            "correlation": {"order_no": order_no},
            "payload": {"signed_by": signed_by},
        },
    )


def waits_for_signature(view: dict[str, Any]) -> None:
    assert view["status"] == "waiting", view["incidents"]
    assert {(w["kind"], w["name"]) for w in view["waiting"]} == {
        ("message", "r8_order_signed"),
        ("timer", "7 days"),
    }


def test_small_offer_goes_out_by_email_and_sms_and_is_signed(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *DESK)
    customer = make_customer()
    form = {"seats": 5, "budget": 10000, "channels": ["email", "sms"], "order_no": "SO-1"}
    after = qualified(agent, customer.id, manager, form)
    waits_for_signature(after)
    assert (after["data"]["discount"], after["data"]["approval"], after["data"]["price"]) == (
        0,
        "none",
        1500,
    )
    assert deals_of(db, customer.id) == [("5 seats, 0% off", "1500.00", "qualification")]
    assert sorted(notes_of(db, customer.id)) == ["Offer SO-1 e-mailed: 1500", "Offer SO-1 texted"]
    signed = sign(agent, "SO-1")
    assert signed.status_code == 202, signed.get_json()
    assert signed.get_json()["delivered_to"] == [after["id"]]
    done = owner.instance(after["id"])
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [("5 seats, 0% off", "1500.00", "won")]
    assert stage_comments(db, customer.id) == ["SO-1 signed by Mr Qian"]
    assert notifications_of(db, manager) == []


def test_the_signature_reaches_only_the_offer_of_its_order_number(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *DESK)
    first, second = make_customer(), make_customer()
    offers = [
        qualified(agent, c.id, manager, {"seats": 12, "budget": 9e4, "channels": [], "order_no": n})
        for c, n in ((first, "SO-7"), (second, "SO-8"))
    ]
    for offer in offers:
        waits_for_signature(offer)
    assert notes_of(db, first.id) == ["Offer SO-7 read out on the phone"]  # the default flow
    assert sign(agent, "SO-9").status_code == 404
    signed = sign(agent, "SO-8", "Ms Sun")
    assert signed.get_json()["delivered_to"] == [offers[1]["id"]]
    assert owner.instance(offers[0]["id"])["status"] == "waiting"
    assert owner.instance(offers[1]["id"])["status"] == "completed"
    assert deals_of(db, first.id) == [("12 seats, 10% off", "3240.00", "qualification")]
    assert deals_of(db, second.id) == [("12 seats, 10% off", "3240.00", "won")]
    assert stage_comments(db, second.id) == ["SO-8 signed by Ms Sun"]


def approval_of(after: dict[str, Any]) -> dict[str, Any]:
    (approve,) = after["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("Activity_0approve", "manager")
    assert approve["form_schema"]["title"] == "Approve the discount"
    return approve


def test_a_big_deal_escalates_while_pricing_goes_on_and_expires_after_a_week(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    agent = timed.agent
    ROUND8.deploy(timed.owner, *DESK)
    customer = make_customer()
    form = {"seats": 300, "budget": 100000, "channels": ["visit", "email"], "order_no": "SO-3"}
    after = qualified(agent, customer.id, manager, form)
    approve = approval_of(after)
    assert (after["data"]["discount"], after["data"]["approval"]) == (25, "manager")
    after = manager.complete_ok(approve["id"], {"approved": True, "remark": "key account"})
    assert after["status"] == "running", after["incidents"]
    assert notifications_of(db, manager) == ["Big deal: 300 seats for 67500"]
    assert deals_of(db, customer.id) == [("300 seats, 25% off", "67500.00", "qualification")]
    (visit,) = after["ready_tasks"]  # e-mailed already; the visit holds the join
    assert (visit["name"], visit["lane"]) == ("Activity_0visit", "agent")
    assert notes_of(db, customer.id) == ["Offer SO-3 e-mailed: 67500"]
    assert after["waiting"] == []
    waiting = agent.complete_ok(visit["id"], {"visited": True})
    waits_for_signature(waiting)
    assert timed.advance(days=6, hours=23) == 0
    assert timed.advance(hours=1) == 1
    done = timed.owner.instance(after["id"])
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [("300 seats, 25% off", "67500.00", "lost")]
    assert sign(agent, "SO-3").status_code == 404
    assert notifications_of(db, manager) == ["Big deal: 300 seats for 67500"]


def test_over_budget_ends_the_pricing_in_an_error_caught_on_its_boundary(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *DESK)
    customer = make_customer()
    form = {"seats": 60, "budget": 10000, "channels": ["email"], "order_no": "SO-4"}
    approve = approval_of(qualified(agent, customer.id, manager, form))
    after = manager.complete_ok(approve["id"], {"approved": True})
    (call,) = after["ready_tasks"]
    assert (call["name"], call["lane"]) == ("Activity_0budgetcall", "agent")
    assert after["data"]["price"] == 15300  # set inside the subprocess before it threw
    assert after["waiting"] == []
    done = agent.complete_ok(call["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [] and notes_of(db, customer.id) == []
    assert notifications_of(db, manager) == []


def test_a_refused_discount_goes_back_to_the_agent(owner, agent, manager, make_customer, db):
    deploy(owner, *DESK)
    customer = make_customer()
    form = {"seats": 50, "budget": 20000, "channels": ["sms"], "order_no": "SO-5"}
    approve = approval_of(qualified(agent, customer.id, manager, form))
    bad = manager.complete(approve["id"], {"approved": "no"})
    assert bad.status_code == 422
    assert [d["field"] for d in bad.get_json()["error"]["details"]] == ["approved"]
    after = manager.complete_ok(approve["id"], {"approved": False, "remark": "too much"})
    (renegotiate,) = after["ready_tasks"]
    assert (renegotiate["name"], renegotiate["lane"]) == ("Activity_0renegotiate", "agent")
    assert manager.complete(renegotiate["id"], {"discount": 50}).status_code == 403
    waiting = agent.complete_ok(renegotiate["id"], {"discount": 5})
    waits_for_signature(waiting)
    assert deals_of(db, customer.id) == [("50 seats, 5% off", "14250.00", "qualification")]
    assert notes_of(db, customer.id) == ["Offer SO-5 texted"]


def test_an_approval_left_eight_hours_caps_the_discount(timed: Timed, make_customer, db):
    manager = timed.actor("manager", username="lead_east", team="East")
    ROUND8.deploy(timed.owner, *DESK)
    customer = make_customer()
    form = {"seats": 80, "budget": 50000, "channels": [], "order_no": "SO-6"}
    approve = approval_of(qualified(timed.agent, customer.id, manager, form))
    assert timed.advance(hours=7, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    view = timed.owner.instance(approve["process_instance_id"])
    waits_for_signature(view)
    assert (view["data"]["discount"], view["data"]["approval"]) == (10, "timed out")
    assert manager.complete(approve["id"], {"approved": True}).status_code == 409
    assert deals_of(db, customer.id) == [("80 seats, 10% off", "21600.00", "qualification")]


# -- a service request (MIWG C.3.0 as itp-commerce's Visio modeler writes it through W4): tool
#    attributes everywhere, a message start event the CRM sends, a non-interrupting message
#    boundary event on the standard repair, a message end event no instance takes ------------

ITP = "itp_service_request.bpmn"


def request_service(actor: Actor, customer_id: int, manager: Actor, **payload: Any) -> int:
    sent = actor.post(
        "/api/v1/messages",
        json={
            "name": "r8_service_request",
            "business_key": f"svc-{customer_id}",
            "payload": {"customer_id": customer_id, "team_lead": manager.username, **payload},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    [instance_id] = sent.get_json()["delivered_to"]
    return instance_id


def analysed(agent: Actor, instance_id: int, data: dict[str, Any]) -> dict[str, Any]:
    (analyse,) = agent.instance(instance_id)["ready_tasks"]
    assert (analyse["name"], analyse["lane"], analyse["title"]) == (
        "_analyse",
        "agent",
        "Analyse customer request",
    )
    return agent.complete_ok(analyse["id"], data)


def test_a_request_from_the_crm_starts_a_repair_the_customer_upgrades_during(
    owner, agent, manager, make_customer, db
):
    assert deploy(owner, ITP)["process_ids"] == ["r8_itp_service"]
    customer = make_customer()
    instance_id = request_service(agent, customer.id, manager, kind="repair", warranty=False)
    after = analysed(agent, instance_id, {"plan": "standard"})
    (repair,) = after["ready_tasks"]
    assert (repair["name"], repair["lane"]) == ("_standard", "agent")
    upgrade = {"name": "r8_service_upgrade", "business_key": f"svc-{customer.id}"}
    for plan in ("premium", "premium plus"):  # the boundary keeps listening
        sent = agent.post("/api/v1/messages", json={**upgrade, "payload": {"plan": plan}})
        assert sent.get_json()["delivered_to"] == [instance_id], sent.get_json()
    view = owner.instance(instance_id)
    assert [t["id"] for t in view["ready_tasks"]] == [repair["id"]]  # not interrupted
    assert notifications_of(db, manager) == [
        f"Customer {customer.id} upgrades to premium",
        f"Customer {customer.id} upgrades to premium plus",
    ]
    done = agent.complete_ok(repair["id"], {"fixed": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["waiting"] == []
    assert agent.post("/api/v1/messages", json=upgrade).status_code == 404
    with db() as session:
        (sent_done,) = session.scalars(
            select(ReceivedMessage).where(ReceivedMessage.name == "r8_service_done")
        ).all()
        assert sent_done.business_key == f"svc-{customer.id}"
        assert sent_done.payload["fixed"] is True


@pytest.mark.parametrize(
    ("kind", "warranty", "plan", "task", "lane"),
    [
        ("replace", True, "standard", "_replace", "agent"),
        ("replace", False, "premium", "_premium", "manager"),
        ("repair", True, "premium", "_premium", "manager"),
    ],
    ids=["replaced-under-warranty", "no-warranty-premium", "premium-repair"],
)
def test_a_request_goes_the_way_its_type_and_level_say(
    owner, agent, manager, make_customer, db, kind, warranty, plan, task, lane
):
    deploy(owner, ITP)
    customer = make_customer()
    instance_id = request_service(agent, customer.id, manager, kind=kind, warranty=warranty)
    (next_task,) = analysed(agent, instance_id, {"plan": plan})["ready_tasks"]
    assert (next_task["name"], next_task["lane"]) == (task, lane)
    worker = manager if lane == "manager" else agent
    done = worker.complete_ok(next_task["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert notifications_of(db, manager) == []


# -- one of every kind of element (MIWG B.2.0 as Trisotech writes it): what Dialflow does not
#    run is refused on its element, the group and text annotation beside it are not ----------

EVERYTHING = "trisotech_everything.bpmn"


def test_every_construct_dialflow_does_not_run_is_refused_on_its_element(owner, db):
    details = refused(upload(owner, (EVERYTHING, diagram(EVERYTHING))))
    problems = by_element(details)
    expected = {
        "_start_conditional": "conditional events are not supported",
        "_opted_out": "conditional events are not supported",
        "_budget_ok": "conditional events are not supported",
        "_complex": "complex gateways are not supported",
        "_undo": "compensation is not supported",
        "_release": "compensation is not supported",
        "_ds_ref": "data stores are not supported",
        "_countersign": "globalUserTask",
        # a data store stopped the parser at the file: what else was wrong went unsaid
        "_reserve": "must have an operator",
    }
    for element, words in expected.items():
        assert words in problems.get(element, ""), (element, details)
    assert set(problems) == set(expected), details
    for detail in details:
        assert detail["line"] == line_of(f'id="{detail["element_id"]}"', EVERYTHING), detail
    nothing_deployed(db)


def test_a_data_store_hides_no_other_problem_of_its_process(owner, db):
    """SpiffWorkflow stops at a data store it has no class for before it reads any process
    of the file: the pre-pass refused the store, and nothing else of the file was checked."""
    body = (
        one_process(
            "r8_store",
            '<startEvent id="s"/><serviceTask id="t" name="Reserve"/>'
            '<userTask id="u" name="Ask"><extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="nowhere.json"/>'
            '</spiffworkflow:properties></extensionElements></userTask><endEvent id="e"/>'
            '<dataStoreReference id="dsr" dataStoreRef="DS"/>'
            '<sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
            '<sequenceFlow id="f2" sourceRef="t" targetRef="u"/>'
            '<sequenceFlow id="f3" sourceRef="u" targetRef="e"/>',
        )
        .replace(
            b'<process id="r8_store"', b'<dataStore id="DS" name="Prices"/><process id="r8_store"'
        )
        .replace(
            b"xmlns:xsi=",
            b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:xsi=',
        )
    )
    problems = by_element(refused(upload(owner, ("store.bpmn", body))))
    assert "data stores are not supported" in problems["dsr"]
    assert "must have an operator" in problems["t"]
    assert "nowhere.json" in problems["u"]
    nothing_deployed(db)


# -- mistakes people make, one per file: each refused on its element and line, nothing deployed


def test_an_annotation_written_among_the_flows_says_what_to_move(owner, db):
    """Artifacts come after every flow element in BPMN's schema; libxml2 said only which
    elements it expected instead (resourceRole, performer …)."""
    text = diagram(SIGNAVIO).decode()
    start = text.index("      <textAnnotation")
    end = text.index("   </process>")
    artifacts = text[start:end]
    first_flow = text.index('      <sequenceFlow id="sid-F0000001-AAAA-4BBB-8CCC-000000000001"')
    moved = text[:first_flow] + artifacts + text[first_flow:start] + text[end:]
    details = refused(upload(owner, (SIGNAVIO, moved.encode()), (ONBOARDING, diagram(ONBOARDING))))
    (detail,) = details
    flow = "sid-F0000001-AAAA-4BBB-8CCC-000000000001"
    assert (detail["element_id"], detail["line"]) == (flow, line_in(f'id="{flow}"', moved))
    annotation = line_in("<textAnnotation", moved)
    assert "<sequenceFlow> is out of order in <process> 'r8_signavio_callback'" in detail["message"]
    assert f"move it before <textAnnotation> (line {annotation})" in detail["message"]
    nothing_deployed(db)


def test_a_lane_set_written_after_the_flows_says_what_to_move(owner, db):
    text = diagram(SIGNAVIO).decode()
    start = text.index("      <laneSet")
    end = text.index("</laneSet>") + len("</laneSet>\n")
    lanes = text[start:end]
    moved = text[:start] + text[end:]
    moved = moved.replace("   </process>", lanes + "   </process>")
    (detail,) = refused(
        upload(owner, (SIGNAVIO, moved.encode()), (ONBOARDING, diagram(ONBOARDING)))
    )
    assert detail["line"] == line_in("<laneSet", moved)
    start_event = line_in("<startEvent", moved)
    assert "<laneSet> is out of order in <process> 'r8_signavio_callback'" in detail["message"]
    assert f"move it before <startEvent> (line {start_event})" in detail["message"]
    nothing_deployed(db)


# -- a Camunda 8 export as a user writes it: every Zeebe setting named on its element with the
#    Dialflow way, the FEEL literals turned into what runs ------------------------------------

ZEEBE = "zeebe_offer.bpmn"


def test_a_camunda_8_export_is_refused_setting_by_setting(owner, db):
    details = refused(upload(owner, (ZEEBE, diagram(ZEEBE))))
    problems = by_element(details)
    # the message's subscription by =order_no deploys: its catches match by that key
    expected = {
        "Activity_qualify": ["formId='qualify-lead'> names a Camunda Form", "deploy the .form"],
        # a Camunda 8 decision runs, its result in resultVariable: the table is not deployed
        "Activity_discount": ["calls decision 'r8_discount'", "add the .dmn file that has it"],
        # Activity_price's zeebe:script, Event_week's =duration("P7D") and Flow_05's FEEL
        # condition run as drawn (engine.zeebe_expressions)
        # Activity_credit's propagateAllChildVariables="false" runs: nothing comes back
        # its mapping is the operator's parameters once there is one (retries="3" runs)
        "Activity_send": ["runs job type 'send-offer'", "<zeebe:taskHeaders>"],
        # Activity_remind's assignmentDefinition (candidateGroups="inside-sales") and its
        # multi-instance over =contacts run as drawn (engine.foreign_loops)
    }
    for element, words in expected.items():
        for word in words:
            assert word in problems.get(element, ""), (element, word, problems.get(element))
    assert set(problems) == set(expected), details
    assert "Activity_remind" not in problems
    nothing_deployed(db)


Change = tuple[tuple[str, str], ...]
REFUSALS: dict[str, tuple[tuple[str, ...], str, Change, str, list[str], str]] = {
    # (files, the file changed, its change, element refused, words, where its line is)
    "sequence-flow-to-nothing": (
        (SIGNAVIO, ONBOARDING),
        SIGNAVIO,
        (
            (
                'name="" sourceRef="sid-A1B2C3D4-0021-4000-8000-000000000021" '
                'targetRef="sid-A1B2C3D4-0019-4000-8000-000000000019"',
                'name="" sourceRef="sid-A1B2C3D4-0021-4000-8000-000000000021" '
                'targetRef="sid-A1B2C3D4-0019-4000-8000-00000000019"',
            ),
        ),
        "sid-F0000001-AAAA-4BBB-8CCC-000000000019",
        ["targetRef 'sid-A1B2C3D4-0019-4000-8000-00000000019'", "no element of the model"],
        'id="sid-F0000001-AAAA-4BBB-8CCC-000000000019"',
    ),
    "message-flow-to-nothing": (
        (TRISO,),
        TRISO,
        (('targetRef="_c_receive" messageRef', 'targetRef="_c_recieve" messageRef'),),
        "_mf_offer",
        ["message flow '_mf_offer'", "targetRef '_c_recieve'"],
        'id="_mf_offer"',
    ),
    "spiffworkflow-namespace-with-a-slash": (
        (SIGNAVIO, ONBOARDING),
        SIGNAVIO,
        (
            (
                'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"',
                'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core/"',
            ),
        ),
        sid(11),
        [
            "'http://spiffworkflow.org/bpmn/schema/1.0/core/'",
            "not SpiffWorkflow's",
            "xmlns:spiffworkflow",
        ],
        'spiffworkflow:serviceTaskOperator id="notify.user"',
    ),
    "id-given-twice": (
        DESK,
        DESK[0],
        (('<bpmn:endEvent id="Event_0told">', '<bpmn:endEvent id="Event_0won">'),),
        "Event_0won",
        ["id 'Event_0won' is given to 2 elements"],
        'id="Event_0won" name="Won"',
    ),
    "gateway-without-a-way-out": (
        (SIGNAVIO, ONBOARDING),
        SIGNAVIO,
        (
            (
                'targetRef="sid-A1B2C3D4-0019-4000-8000-000000000019"/>',
                'targetRef="sid-GW-0021"/>\n'
                '      <exclusiveGateway id="sid-GW-0021" name="Archive?"/>',
            ),
        ),
        "sid-GW-0021",
        ["no outgoing"],
        'id="sid-GW-0021"',
    ),
    "gateway-without-its-default": (
        (SIGNAVIO, ONBOARDING),
        SIGNAVIO,
        (
            (
                'exclusiveGateway default="sid-F0000001-AAAA-4BBB-8CCC-000000000006" ',
                "exclusiveGateway ",
            ),
        ),
        "sid-F0000001-AAAA-4BBB-8CCC-000000000006",
        ["leaves the exclusive gateway", "without a condition", "default="],
        'id="sid-F0000001-AAAA-4BBB-8CCC-000000000006"',
    ),
    # the MIWG reference file C.3.0 has startQuantity="2" and completionQuantity="2" on a task
    "activity-waiting-for-two-arrivals": (
        (TRISO,),
        TRISO,
        (
            (
                'startQuantity="1" name="Relancer le client"',
                'startQuantity="2" name="Relancer le client"',
            ),
        ),
        "_relance",
        ["startQuantity='2'", "not supported", "parallel gateway"],
        'id="_relance"',
    ),
    "condition-in-javascript": (
        DESK,
        DESK[0],
        (
            (
                'tFormalExpression">approval == "manager"',
                'tFormalExpression" language="javascript">approval === "manager"',
            ),
        ),
        "Flow_04",
        ["'javascript'", "Dialflow evaluates Python"],
        'language="javascript"',
    ),
    "condition-in-xpath-as-the-definitions-say": (
        (SIGNAVIO, ONBOARDING),
        SIGNAVIO,
        (("outcome == 'interested'", "/lead/outcome = 'interested'"),),
        "sid-F0000001-AAAA-4BBB-8CCC-000000000003",
        ["not a valid Python expression", "/lead/outcome"],
        'id="sid-F0000001-AAAA-4BBB-8CCC-000000000003"',
    ),
    "comparison-with-one-equals-sign": (
        (SIGNAVIO, ONBOARDING),
        SIGNAVIO,
        (("outcome == 'callback' and", "outcome = 'callback' and"),),
        "sid-F0000001-AAAA-4BBB-8CCC-000000000004",
        ["not a valid Python expression", "to compare, write \"outcome == 'callback' and"],
        'id="sid-F0000001-AAAA-4BBB-8CCC-000000000004"',
    ),
    "hit-policy-in-small-letters": (
        DESK,
        DESK[1],
        (('hitPolicy="UNIQUE"', 'hitPolicy="Unique"'),),
        "DecisionTable_r8disc",
        ["'Unique' is not spelled as DMN spells it", "write 'UNIQUE'"],
        'id="DecisionTable_r8disc"',
    ),
    "collect-in-small-letters": (
        DESK,
        DESK[1],
        (('hitPolicy="UNIQUE"', 'hitPolicy="collect"'),),
        "DecisionTable_r8disc",
        ["'collect'", "write 'COLLECT'"],
        'id="DecisionTable_r8disc"',
    ),
    "hit-policy-of-another-tool": (
        DESK,
        DESK[1],
        (('hitPolicy="UNIQUE"', 'hitPolicy="FIRST_MATCH"'),),
        "DecisionTable_r8disc",
        ["FIRST_MATCH is not supported", "use UNIQUE, FIRST"],
        'id="DecisionTable_r8disc"',
    ),
    "rule-with-a-cell-missing": (
        DESK,
        DESK[1],
        (('<inputEntry id="UnaryTests_big1"><text>&gt;= 50</text></inputEntry>', ""),),
        "DecisionRule_big",
        ["has 1 input entry for the table's 2 inputs", "one cell per input column"],
        'id="DecisionRule_big"',
    ),
    "output-without-a-name": (
        DESK,
        DESK[1],
        (('label="Approval" name="approval"', 'label="Approval"'),),
        "Output_approval",
        ["has no name", "under its label 'Approval'", 'name="'],
        'id="Output_approval"',
    ),
    "form-not-uploaded": (
        DESK[:3],
        DESK[0],
        (),
        "Activity_0approve",
        ["r8-approve-form.json"],
        'id="Activity_0approve"',
    ),
    "form-type-misspelled": (
        DESK,
        DESK[0],
        (),
        "Activity_0approve",
        ["'r8-approve-form.json' is not a valid JSON Schema", "'bool'"],
        'id="Activity_0approve"',
    ),
    "feel-timer-in-camunda-7": (
        DESK,
        DESK[0],
        (('"P7D"</bpmn:timeDuration>', '=duration("P7D")</bpmn:timeDuration>'),),
        "Event_0week",
        ["FEEL", """write '"P7D"'"""],
        '=duration("P7D")',
    ),
}


def changed_file(name: str, changes: Change) -> bytes:
    """``name`` with each change made once, in the file's own encoding (the Trisotech file is
    ISO-8859-1)."""
    encoding = "iso-8859-1" if name == TRISO else "utf-8"
    text = diagram(name).decode(encoding)
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text.encode(encoding)


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_one_mistake_per_file_is_refused_on_its_element(owner, db, case):
    files, changed, changes, element, words, line_at = REFUSALS[case]
    bodies = [
        (name, changed_file(name, changes) if changes and name == changed else diagram(name))
        for name in files
    ]
    if case == "form-type-misspelled":
        bodies = [
            (name, body.replace(b'"type": "boolean"', b'"type": "bool"')) for name, body in bodies
        ]
    details = refused(upload(owner, *bodies))
    problems = by_element(details)
    assert element in problems, details
    for word in words:
        assert word in problems[element], problems[element]
    detail = next(d for d in details if d["element_id"] == element)
    assert detail["file"] == changed
    body = dict(bodies)[changed]
    text = body.decode("iso-8859-1" if changed == TRISO else "utf-8")
    assert detail["line"] == line_in(line_at, text), detail
    nothing_deployed(db)


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_split_drawn_without_conditions_names_every_flow(owner, db, kind):
    """The MIWG file A.2.0 draws a gateway splitting three ways with no condition and no
    default. The parser stopped at the first flow ("exclusive" for an inclusive gateway
    too); the others went unsaid."""
    body = (
        f'<startEvent id="s"/><{kind} id="route" name="Channel"/>'
        '<userTask id="call" name="Call"/><userTask id="mail" name="Mail"/>'
        '<userTask id="visit" name="Visit"/><endEvent id="e"/>'
        '<sequenceFlow id="f0" sourceRef="s" targetRef="route"/>'
        '<sequenceFlow id="to_call" sourceRef="route" targetRef="call"/>'
        '<sequenceFlow id="to_mail" sourceRef="route" targetRef="mail"/>'
        '<sequenceFlow id="to_visit" sourceRef="route" targetRef="visit"/>'
        '<sequenceFlow id="f1" sourceRef="call" targetRef="e"/>'
        '<sequenceFlow id="f2" sourceRef="mail" targetRef="e"/>'
        '<sequenceFlow id="f3" sourceRef="visit" targetRef="e"/>'
    )
    details = refused(upload(owner, ("split.bpmn", one_process("r8_split", body))))
    problems = by_element(details)
    gateway = "exclusive" if kind == "exclusiveGateway" else "inclusive"
    assert set(problems) == {"to_call", "to_mail", "to_visit"}, details
    for flow, message in problems.items():
        assert f"leaves the {gateway} gateway 'route' without a condition" in message
        assert f'default="{flow}"' in message
    nothing_deployed(db)


def test_a_file_saved_in_latin_1_but_declared_utf_8_names_its_line(owner, db):
    latin = diagram(TRISO).replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"')
    (detail,) = refused(upload(owner, (TRISO, latin)))
    assert "not UTF-8" in detail["message"] and "0xe9" in detail["message"]
    assert detail["line"] == latin.decode("latin-1").count("\n", 0, latin.index(b"\xe9")) + 1
    nothing_deployed(db)


def test_the_bpmn_2_beta_namespace_is_named(owner, db):
    beta = edited(
        SIGNAVIO,
        (
            'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"',
            'xmlns="http://www.omg.org/spec/BPMN/20100501/MODEL"',
        ),
    )
    (detail,) = refused(upload(owner, (SIGNAVIO, beta), (ONBOARDING, diagram(ONBOARDING))))
    assert detail["line"] == 1
    assert "'http://www.omg.org/spec/BPMN/20100501/MODEL'" in detail["message"]
    assert "'http://www.omg.org/spec/BPMN/20100524/MODEL'" in detail["message"]
    nothing_deployed(db)


def test_the_miwg_reference_pools_as_exported_are_named_not_executable(owner, db):
    """The MIWG reference files mark every pool isExecutable="false"; deployed as they are,
    each process is named, with the way to deploy it."""
    drawn = diagram(TRISO).replace(b'isExecutable="true"', b'isExecutable="false"')
    problems = by_element(refused(upload(owner, (TRISO, drawn))))
    for process in ("r8_triso_offer", "_customer_process"):
        assert 'isExecutable="false"' in problems[process]
        assert "mark it executable" in problems[process]
    nothing_deployed(db)
