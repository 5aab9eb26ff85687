"""A fifth round of unseen diagrams: realistic telesales processes drawn in Camunda Modeler
style, each combining many constructs (lanes, DMN, call activities with errors and
escalations, multi-instance approvals, nested subprocesses, event subprocesses, event-based
and inclusive gateways, timers, messages with correlation, terminate ends), deployed and run
end to end through the API; completions racing and a worker killed mid-step; and invalid
variants, each refused element by element with nothing deployed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from crm.models import Deal, DealStageChange
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.models import ProcessVersion, WorkItem
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext
from tests.engine.conftest import (
    Actor,
    Timed,
    by_element,
    notes_of,
    only,
    post_together,
    refused,
)
from tests.engine.diagram_folders import DiagramFolder, nothing_deployed, notifications_of, upload
from tests.engine.test_crash import ROOT, run_until_killed, snapshot
from web import create_app

ROUND5 = DiagramFolder("round5")
diagram, edited, deploy = ROUND5.read, ROUND5.edited, ROUND5.deploy


def deals_of(db: Any, customer_id: int) -> list[tuple[str, str]]:
    """The customer's deals as (title, stage), oldest first."""
    with db() as session:
        return [
            (deal.title, deal.stage.value)
            for deal in session.scalars(
                select(Deal).where(Deal.customer_id == customer_id).order_by(Deal.id)
            )
        ]


def stage_changes(db: Any, deal_id: int) -> list[tuple[str | None, str, str | None]]:
    with db() as session:
        return [
            (row.from_stage.value if row.from_stage else None, row.to_stage.value, row.comment)
            for row in session.scalars(
                select(DealStageChange)
                .where(DealStageChange.deal_id == deal_id)
                .order_by(DealStageChange.id)
            )
        ]


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


def lead_models(owner: Actor) -> None:
    """The shared callback process first, then the qualification that calls it."""
    assert deploy(owner, "callback_scheduling.bpmn")["process_ids"] == ["r5_callback_scheduling"]
    assert deploy(owner, "lead_qualification.bpmn", "lead_score.dmn", "qualify-form.json")[
        "process_ids"
    ] == ["r5_lead_qualification"]


# -- lead qualification: lanes, DMN, gateway default, call activity with error/escalation ----


@pytest.mark.parametrize(
    ("form", "grade"),
    [
        ({"budget": 80000, "need": "urgent", "timeline_days": 14}, "A"),
        ({"budget": 20000, "need": "low", "timeline_days": 60}, "B"),
        ({"budget": 80000, "need": "none", "timeline_days": 10}, "C"),
        ({"budget": 500, "need": "high", "timeline_days": 5}, "C"),
    ],
)
def test_lead_qualification_grades_and_routes(
    owner, agent, manager, make_customer, db, form, grade
):
    lead_models(owner)
    customer = make_customer(name="Zhao Lei")
    started = agent.start(
        "r5_lead_qualification", {"customer_id": customer.id, "manager_name": "boss"}
    )
    (qualify,) = started["ready_tasks"]
    assert (qualify["name"], qualify["lane"]) == ("Activity_1qualify", "agent")
    after = agent.complete_ok(qualify["id"], form)
    assert after["data"]["grade"] == grade, after
    if grade == "A":
        assert after["status"] == "completed", after["incidents"]
        assert deals_of(db, customer.id) == [(f"Qualified lead ({form['need']})", "qualification")]
        assert after["data"]["deal"]["amount"] == "80000.00"
    elif grade == "B":
        (agree,) = after["ready_tasks"]
        assert (agree["name"], agree["lane"]) == ("Activity_0agree", "agent")
        after = agent.complete_ok(agree["id"], {"slot_agreed": True, "slot": "2026-05-05T10:00"})
        (confirm,) = after["ready_tasks"]
        assert confirm["name"] == "Activity_1confirm"
        assert after["data"]["callback_at"] == "2026-05-05T10:00"  # handed back by the call
        done = agent.complete_ok(confirm["id"])
        assert done["status"] == "completed"
        assert deals_of(db, customer.id) == []
    else:
        assert after["status"] == "completed", after["incidents"]
        assert notes_of(db, customer.id) == [f"Nurture: grade C, score {after['data']['score']}"]
    assert manager.tasks() == []


def test_slow_callback_notifies_the_manager_and_goes_on(timed: Timed, make_customer, db):
    """Two hours without a slot: the called process's escalation reaches the call activity's
    non-interrupting boundary event, the manager is notified, the agent's task stays."""
    boss = timed.actor("manager", username="boss", team="East")
    lead_models(timed.owner)
    customer = make_customer(name="Qian Hui")
    started = timed.agent.start(
        "r5_lead_qualification", {"customer_id": customer.id, "manager_name": "boss"}
    )
    after = timed.agent.complete_ok(
        started["ready_tasks"][0]["id"], {"budget": 20000, "need": "high", "timeline_days": 60}
    )
    (agree,) = after["ready_tasks"]
    waiting = timed.agent.instance(started["id"])["waiting"]
    assert len([w for w in waiting if w["kind"] == "timer"]) == 2, waiting
    assert timed.advance(hours=2, minutes=1) == 1
    now = timed.agent.instance(started["id"])
    assert now["status"] == "running", now["incidents"]
    assert [t["id"] for t in now["ready_tasks"]] == [agree["id"]]
    assert now["data"]["manager_told"]["notification_id"]
    assert notifications_of(db, boss) == [f"Callback for customer {customer.id} not agreed yet"]
    assert boss.tasks() == []
    done = timed.agent.complete_ok(agree["id"], {"slot_agreed": True, "slot": "tomorrow 10:00"})
    (confirm,) = done["ready_tasks"]
    assert confirm["name"] == "Activity_1confirm"
    assert timed.agent.complete_ok(confirm["id"])["status"] == "completed"
    assert notifications_of(db, boss) == [f"Callback for customer {customer.id} not agreed yet"]


def test_a_failing_notification_beside_the_callback_is_an_incident_to_retry(
    timed: Timed, make_customer, db
):
    """The escalation's branch fails (no such manager): an incident on the service task, while
    the called process's task stays open and can be completed; once the manager exists, a
    retry sends the notification and the instance completes."""
    lead_models(timed.owner)
    customer = make_customer(name="Yang Fei")
    started = timed.agent.start(
        "r5_lead_qualification", {"customer_id": customer.id, "manager_name": "newboss"}
    )
    after = timed.agent.complete_ok(
        started["ready_tasks"][0]["id"], {"budget": 30000, "need": "high", "timeline_days": 20}
    )
    (agree,) = after["ready_tasks"]
    assert timed.advance(hours=2, minutes=1) == 1
    failed = timed.agent.instance(started["id"])
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "Activity_1tellmgr"
    assert "no user 'newboss'" in incident["message"]
    assert [t["id"] for t in failed["ready_tasks"]] == [agree["id"]]
    refused_retry = timed.owner.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert refused_retry.status_code == 200, refused_retry.get_json()
    assert [i["attempts"] for i in refused_retry.get_json()["incidents"]] == [2]
    boss = timed.actor("manager", username="newboss", team="East")
    after = timed.agent.complete_ok(agree["id"], {"slot_agreed": True, "slot": "Friday 15:00"})
    assert after["status"] == "error"  # the other branch goes on; the incident stays
    (confirm,) = after["ready_tasks"]
    retried = timed.owner.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "running"
    assert retried.get_json()["incidents"] == []
    assert notifications_of(db, boss) == [f"Callback for customer {customer.id} not agreed yet"]
    done = timed.agent.complete_ok(confirm["id"])
    assert done["status"] == "completed", done["incidents"]


@pytest.mark.parametrize("how", ["declined", "a day passed"])
def test_no_slot_goes_to_the_manager_lane(timed: Timed, make_customer, db, how):
    """The called process's NO_SLOT error end (from its gateway's default, or from its
    interrupting timer) is caught on the call activity by code: the manager decides."""
    boss = timed.actor("manager", username="boss", team="East")
    lead_models(timed.owner)
    customer = make_customer(name="Sun Li")
    started = timed.agent.start(
        "r5_lead_qualification", {"customer_id": customer.id, "manager_name": "boss"}
    )
    after = timed.agent.complete_ok(
        started["ready_tasks"][0]["id"], {"budget": 20000, "need": "low", "timeline_days": 30}
    )
    (agree,) = after["ready_tasks"]
    if how == "declined":
        after = timed.agent.complete_ok(agree["id"], {"slot_agreed": False})
    else:
        assert timed.advance(hours=2, minutes=1) == 1
        assert timed.advance(hours=22) == 1
        after = timed.agent.instance(started["id"])
    assert after["status"] == "running", after["incidents"]
    (missed,) = boss.tasks()
    assert (missed["name"], missed["lane"]) == ("Activity_1missed", "manager")
    assert timed.agent.tasks() == []
    assert [t["name"] for t in after["ready_tasks"]] == ["Activity_1missed"]
    assert after["waiting"] == []
    assert "callback_at" not in after["data"]
    assert boss.post(f"/api/v1/tasks/{missed['id']}/claim").status_code == 200
    done = boss.complete_ok(missed["id"], {"decision": "pool"})
    assert done["status"] == "completed", done["incidents"]
    told = [f"Callback for customer {customer.id} not agreed yet"]
    assert notifications_of(db, boss) == (told if how != "declined" else [])


# -- deal approval: multi-instance, nested subprocess error, CRM writes, message event subprocess


def start_deal(agent: Actor, customer_id: int, **data: Any) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "amount": 120000,
        "title": "Annual licence",
        "approvers": ["boss", "boss2", "boss3"],
        "credit_limit": 200000,
        **data,
    }
    return agent.start("r5_deal_approval", body, business_key=f"deal-{customer_id}")


@pytest.fixture
def managers(actor: Callable[..., Actor]) -> list[Actor]:
    return [actor("manager", username=name, team="East") for name in ("boss", "boss2", "boss3")]


def test_two_approvals_win_the_deal(owner, agent, managers, make_customer, db):
    deploy(owner, "deal_approval.bpmn")
    customer = make_customer(name="Zhou Min")
    started = start_deal(agent, customer.id)
    assert started["status"] == "running", started["incidents"]
    approvals = started["ready_tasks"]
    assert [(t["name"], t["lane"]) for t in approvals] == [("Activity_0approve", "manager")] * 3
    assert deals_of(db, customer.id) == [("Annual licence", "qualification")]
    assert agent.tasks() == []
    first, second = managers[0], managers[1]
    visible = first.tasks("candidate=1")
    assert len(visible) == 3
    after = first.complete_ok(approvals[0]["id"], {"approved": True})
    assert len(after["ready_tasks"]) == 2
    after = second.complete_ok(approvals[2]["id"], {"approved": True})
    assert after["status"] == "completed", after["incidents"]
    assert after["ready_tasks"] == []
    assert managers[2].tasks("candidate=1") == []  # the third approval was cancelled
    deal = after["data"]["deal"]
    assert deal["stage"] == "won"
    assert after["data"]["contract_no"] == f"C-{deal['id']}"
    assert after["data"]["approvals"][:1] == [True]
    assert stage_changes(db, deal["id"]) == [
        (None, "qualification", None),
        ("qualification", "won", f"Contract C-{deal['id']}"),
    ]
    view = owner.instance(started["id"])
    assert view["status"] == "completed" and view["waiting"] == []


def test_one_rejection_loses_the_deal(owner, agent, managers, make_customer, db):
    deploy(owner, "deal_approval.bpmn")
    customer = make_customer(name="Wu Gang")
    started = start_deal(agent, customer.id)
    after = managers[1].complete_ok(started["ready_tasks"][1]["id"], {"approved": False})
    assert after["status"] == "completed", after["incidents"]
    assert deals_of(db, customer.id) == [("Annual licence", "lost")]
    assert "contract_no" not in after["data"]
    assert managers[0].tasks("candidate=1") == []


def test_credit_refused_in_the_nested_subprocess_asks_for_a_deposit(
    owner, agent, managers, make_customer, db
):
    deploy(owner, "deal_approval.bpmn")
    customer = make_customer(name="Zheng Yu")
    started = start_deal(agent, customer.id, credit_limit=50000)
    for manager, task in zip(managers[:2], started["ready_tasks"][:2], strict=True):
        after = manager.complete_ok(task["id"], {"approved": True})
    assert after["status"] == "running", after["incidents"]
    (deposit,) = after["ready_tasks"]
    assert (deposit["name"], deposit["lane"]) == ("Activity_0deposit", "agent")
    assert deals_of(db, customer.id) == [("Annual licence", "qualification")]
    done = agent.complete_ok(deposit["id"], {"deposit_required": True})
    assert done["status"] == "completed", done["incidents"]
    deal_id = done["data"]["deal"]["id"]
    assert stage_changes(db, deal_id)[-1] == (
        "qualification",
        "won",
        f"Contract C-{deal_id} with deposit",
    )


@pytest.mark.parametrize("second", [True, False], ids=["approves", "rejects"])
def test_approvals_go_on_in_another_worker(
    owner, agent, managers, make_customer, db, settings: Settings, second
):
    """The first approval is completed by one web process, the deciding one by another (a
    restart, a second worker), which parses the stored diagram afresh: the approvals created
    before must still be heard (they finished unheard, and the deal stayed in approval)."""
    deploy(owner, "deal_approval.bpmn")
    customer = make_customer(name="Two workers")
    started = start_deal(agent, customer.id)
    approvals = started["ready_tasks"]
    managers[0].complete_ok(approvals[0]["id"], {"approved": True})
    other = Runtime.build(settings)
    try:
        client = create_app({"TESTING": True}, runtime=other).test_client()
        response = client.post(
            f"/api/v1/tasks/{approvals[2]['id']}/complete",
            headers=managers[1].headers,
            json={"data": {"approved": second}},
        )
    finally:
        other.close()
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert done["status"] == "completed", (done["incidents"], done["ready_tasks"])
    assert done["ready_tasks"] == []
    assert deals_of(db, customer.id) == [("Annual licence", "won" if second else "lost")]
    assert managers[2].tasks("candidate=1") == []


@pytest.mark.parametrize("when", ["approving", "asking for a deposit"])
def test_customer_cancelled_interrupts_everything(owner, agent, managers, make_customer, db, when):
    deploy(owner, "deal_approval.bpmn")
    customer = make_customer(name="Feng Jie")
    started = start_deal(agent, customer.id, credit_limit=0)
    if when == "asking for a deposit":
        for manager, task in zip(managers[:2], started["ready_tasks"][:2], strict=True):
            manager.complete_ok(task["id"], {"approved": True})
        assert [t["name"] for t in agent.tasks()] == ["Activity_0deposit"]
    else:
        managers[0].complete_ok(started["ready_tasks"][0]["id"], {"approved": True})
    waiting = owner.instance(started["id"])["waiting"]
    assert {"kind": "message", "name": "customer_cancelled"}.items() <= only(
        waiting, kind="message"
    ).items()
    sent = agent.post(
        "/api/v1/messages",
        json={
            "name": "customer_cancelled",
            "business_key": f"deal-{customer.id}",
            "payload": {"reason": "budget frozen"},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
    view = owner.instance(started["id"])
    assert view["status"] == "completed", view["incidents"]
    assert view["ready_tasks"] == [] and view["waiting"] == []
    assert agent.tasks() == [] and managers[1].tasks("candidate=1") == []
    assert deals_of(db, customer.id) == [("Annual licence", "lost")]
    assert notes_of(db, customer.id) == ["Deal cancelled by the customer: budget frozen"]
    again = agent.post(
        "/api/v1/messages",
        json={"name": "customer_cancelled", "business_key": f"deal-{customer.id}"},
    )
    assert again.status_code == 404


# -- after-sale: timers, event-based gateway, inclusive split/join, SLA event subprocess, loop


def start_after_sale(timed: Timed, customer_id: int) -> dict[str, Any]:
    deploy(timed.owner, "after_sale_followup.bpmn")
    started = timed.agent.start(
        "r5_after_sale",
        {"customer_id": customer_id, "manager_name": "boss", "attempts": 0},
        business_key=f"sale-{customer_id}",
    )
    assert started["status"] == "waiting" and started["ready_tasks"] == []
    assert timed.advance(hours=23) == 0
    assert timed.advance(hours=1, minutes=1) == 1
    return started


@pytest.mark.parametrize(
    ("wants", "expected_tasks", "notes"),
    [
        (
            {"wants_visit": True, "wants_training": True},
            ["Activity_1visit"],
            ["Training requested"],
        ),
        ({"wants_visit": True, "wants_training": False}, ["Activity_1visit"], []),
        ({"wants_visit": False, "wants_training": True}, [], ["Training requested"]),
        ({"wants_visit": False, "wants_training": False}, [], []),
    ],
    ids=["both", "visit", "training", "neither"],
)
def test_a_reply_takes_the_inclusive_paths_then_the_call(
    timed: Timed, make_customer, db, wants, expected_tasks, notes
):
    boss = timed.actor("manager", username="boss", team="East")
    customer = make_customer(name="He Ping")
    started = start_after_sale(timed, customer.id)
    view = timed.agent.instance(started["id"])
    assert sorted(w["kind"] for w in view["waiting"] if w["kind"] in ("message", "timer")) == [
        "message",
        "timer",
        "timer",
    ]
    sent = timed.agent.post(
        "/api/v1/messages",
        json={
            "name": "r5_customer_replied",
            "business_key": f"sale-{customer.id}",
            "payload": wants,
        },
    )
    assert sent.status_code == 202, sent.get_json()
    view = timed.agent.instance(started["id"])
    assert view["status"] == "running", view["incidents"]
    assert [t["name"] for t in view["ready_tasks"]] == (expected_tasks or ["Activity_1ask"])
    if expected_tasks:
        (visit,) = view["ready_tasks"]
        view = timed.agent.complete_ok(visit["id"], {"visit_on": "2026-05-12"})
    (call,) = view["ready_tasks"]
    assert (call["name"], call["lane"]) == ("Activity_1ask", "agent")
    assert (
        view["data"]["thanked"] is True
        if not any(wants.values())
        else "thanked" not in view["data"]
    )
    done = timed.agent.complete_ok(call["id"], {"reached": True, "satisfaction": 4})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == [
        "Welcome pack sent",
        *notes,
        "Satisfaction 4/5 after 1 call(s)",
    ]
    assert timed.advance(days=10) == 0  # the SLA timer ended with the process
    assert notifications_of(db, boss) == []


def test_no_reply_three_calls_and_one_sla_warning(timed: Timed, make_customer, db):
    boss = timed.actor("manager", username="boss", team="East")
    customer = make_customer(name="Lu Yan")
    started = start_after_sale(timed, customer.id)
    assert timed.advance(days=3, minutes=1) == 1  # no reply: the event-based gateway's timer
    (call,) = timed.agent.tasks()
    assert call["name"] == "Activity_1ask"
    after = timed.agent.complete_ok(call["id"], {"reached": False})
    assert after["data"]["attempts"] == 1 and after["ready_tasks"] == []
    assert timed.advance(hours=23, minutes=59) == 1  # day 5: the SLA warning only
    view = timed.agent.instance(started["id"])
    assert view["status"] == "waiting" and view["ready_tasks"] == []
    assert notifications_of(db, boss) == [f"After-sale follow-up of customer {customer.id} is late"]
    assert timed.advance(minutes=2) == 1
    for attempt in (2, 3):
        (call,) = timed.agent.tasks()
        after = timed.agent.complete_ok(call["id"], {"reached": False})
        assert after["data"]["attempts"] == attempt
        if attempt == 2:
            assert timed.advance(days=1, minutes=1) == 1
    assert after["status"] == "completed", after["incidents"]
    assert notes_of(db, customer.id) == ["Welcome pack sent", "Not reached after 3 calls"]
    assert len(notifications_of(db, boss)) == 1
    late = timed.agent.post(
        "/api/v1/messages",
        json={"name": "r5_customer_replied", "business_key": f"sale-{customer.id}"},
    )
    assert late.status_code == 404


# -- two pools talking: send task → message start; message end event → receive task ----------


def test_two_quotes_each_get_their_own_price(timed: Timed, db):
    boss = timed.actor("manager", username="boss", team="East")
    assert deploy(timed.owner, "quote_collaboration.bpmn")["process_ids"] == [
        "r5_quote_request",
        "r5_pricing_desk",
    ]
    requests = {}
    for quote_id, quantity in (("Q-1", 10), ("Q-2", 3)):
        started = timed.agent.start("r5_quote_request", {"quote_id": quote_id})
        (prepare,) = started["ready_tasks"]
        after = timed.agent.complete_ok(
            prepare["id"], {"product": "CRM seat", "quantity": quantity}
        )
        assert after["status"] == "waiting", after["incidents"]
        assert only(after["waiting"], kind="message")["name"] == "r5_quote_priced"
        requests[quote_id] = started["id"]
    assert timed.advance() == 2  # the queued requests start the pricing desk
    desks = boss.tasks("candidate=1")
    assert [(t["name"], t["lane"]) for t in desks] == [("Activity_0price", "manager")] * 2
    by_quote = {boss.instance(t["process_instance_id"])["data"]["quote_id"]: t for t in desks}
    assert sorted(by_quote) == ["Q-1", "Q-2"]
    for quote_id, price in (("Q-2", 900), ("Q-1", 1000)):  # priced in the other order
        task = by_quote[quote_id]
        assert boss.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
        done = boss.complete_ok(task["id"], {"unit_price": price})
        assert done["status"] == "completed", done["incidents"]
    assert timed.advance() == 2  # the queued replies
    for quote_id, total in (("Q-1", 10000), ("Q-2", 2700)):
        view = timed.agent.instance(requests[quote_id])
        assert view["status"] == "running", view["incidents"]
        assert view["data"]["quote_id"] == quote_id
        assert view["data"]["total"] == total
        (present,) = view["ready_tasks"]
        assert present["name"] == "Activity_0present"
        assert timed.agent.complete_ok(present["id"])["status"] == "completed"
    assert timed.advance(days=3) == 0  # the chase timers went with the receive tasks


def test_an_unpriced_quote_is_chased_after_two_days(timed: Timed):
    deploy(timed.owner, "quote_collaboration.bpmn")
    started = timed.agent.start("r5_quote_request", {"quote_id": "Q-9"})
    timed.agent.complete_ok(started["ready_tasks"][0]["id"], {"product": "x", "quantity": 1})
    assert timed.advance() == 1
    assert timed.advance(days=2, minutes=1) == 1
    view = timed.agent.instance(started["id"])
    assert [t["name"] for t in view["ready_tasks"]] == ["Activity_0chase"]
    assert [w for w in view["waiting"] if w["kind"] == "message"] == []
    late = timed.agent.post(
        "/api/v1/messages",
        json={"name": "r5_quote_priced", "correlation": {"CorrelationProperty_0qid": "Q-9"}},
    )
    assert late.status_code == 404, late.get_json()


# -- a call chain two levels deep, data down and up, a terminate end event in one branch ------


def start_order(owner: Actor, agent: Actor, customer_id: int, national_id: str) -> dict:
    assert deploy(owner, "order_credit_chain.bpmn")["process_ids"] == [
        "r5_order",
        "r5_credit_review",
        "r5_bureau_lookup",
    ]
    started = agent.start(
        "r5_order",
        {"customer_id": customer_id, "quantity": 4, "unit_price": 5000, "national_id": national_id},
    )
    assert started["status"] == "running", started["incidents"]
    return started


@pytest.mark.parametrize(
    ("national_id", "consent_first", "credit"),
    [
        ("110101199001011237", False, True),
        # The consent branch sets credit_approved; the review, arriving last with the
        # value of the split, does not undo it (engine.joins).
        ("110101199001011237", True, True),
        ("110101199001011230", False, False),
        ("110101199001011230", True, False),
    ],
    ids=["good-review-first", "good-consent-first", "poor-review-first", "poor-consent-first"],
)
def test_data_goes_down_two_levels_and_comes_back(
    owner, agent, manager, make_customer, db, national_id, consent_first, credit
):
    customer = make_customer(name="Ma Lin")
    started = start_order(owner, agent, customer.id, national_id)
    (fraud,) = manager.tasks("candidate=1")
    (consent,) = agent.tasks()
    assert (fraud["name"], consent["name"]) == ("Activity_1fraud", "Activity_1consent")
    assert sorted(t["name"] for t in started["ready_tasks"]) == [
        "Activity_1consent",
        "Activity_1fraud",
    ]
    assert manager.post(f"/api/v1/tasks/{fraud['id']}/claim").status_code == 200
    steps = [
        (agent, consent["id"], {"consent": True}),
        (manager, fraud["id"], {"fraud_suspected": False}),
    ]
    for actor, task_id, data in steps if consent_first else reversed(steps):
        done = actor.complete_ok(task_id, data)
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["order_total"] == 20000
    assert done["data"]["bureau_score"] == (720 if credit else 540)
    assert done["data"]["consent"] is True and done["data"]["fraud_suspected"] is False
    assert done["data"]["credit_approved"] is credit
    if credit:
        assert deals_of(db, customer.id) == [("Order on credit (score 720)", "qualification")]
        assert notes_of(db, customer.id) == []
    else:
        assert deals_of(db, customer.id) == []
        assert notes_of(db, customer.id) == ["Prepayment of 20000 required"]


@pytest.mark.parametrize("consented_first", [True, False])
def test_a_terminate_end_in_the_called_process_ends_only_the_review(
    owner, agent, manager, make_customer, db, consented_first
):
    """BPMN: a terminate end event ends its own (called) process instance; the caller goes
    on. The bureau branch still open is cancelled with it."""
    customer = make_customer(name="Tang Wei")
    started = start_order(owner, agent, customer.id, "110101199001011237")
    (fraud,) = manager.tasks("candidate=1")
    (consent,) = agent.tasks()
    if consented_first:
        agent.complete_ok(consent["id"], {"consent": True})
    manager.post(f"/api/v1/tasks/{fraud['id']}/claim")
    done = manager.complete_ok(fraud["id"], {"fraud_suspected": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["ready_tasks"] == []
    assert agent.tasks() == []
    assert done["data"]["credit_approved"] is False
    assert deals_of(db, customer.id) == []
    assert notes_of(db, customer.id) == ["Prepayment of 20000 required"]
    view = owner.instance(started["id"])
    assert view["status"] == "completed" and view["incidents"] == []


# -- racing completions ------------------------------------------------------------------------


def test_one_approval_completed_by_two_managers_at_once(
    app: Flask, owner, agent, managers, make_customer, db
):
    """Two managers press "approve" on the same approval at the same moment: one wins, the
    other gets 409, and the approval counts once (the deal is not won on one approval)."""
    deploy(owner, "deal_approval.bpmn")
    for round_number in range(3):
        customer = make_customer(name=f"Race {round_number}")
        started = start_deal(agent, customer.id)
        task_id = started["ready_tasks"][0]["id"]
        results = post_together(
            app,
            f"/api/v1/tasks/{task_id}/complete",
            [
                (managers[0].headers, {"data": {"approved": True}}),
                (managers[1].headers, {"data": {"approved": True}}),
            ],
        )
        assert sorted(status for status, _ in results) == [200, 409], results
        loser = next(body for status, body in results if status == 409)
        assert loser["error"]["code"] in ("task_closed", "task_conflict")
        view = owner.instance(started["id"])
        assert view["status"] == "running", view["incidents"]
        assert len(view["ready_tasks"]) == 2
        with db() as session:
            completed = session.scalars(
                select(WorkItem.completed_by_id).where(
                    WorkItem.instance_id == started["id"], WorkItem.completed_at.is_not(None)
                )
            ).all()
        assert len(completed) == 1
        assert deals_of(db, customer.id) == [("Annual licence", "qualification")]


def test_the_two_deciding_approvals_at_once_win_the_deal_once(
    app: Flask, owner, agent, managers, make_customer, db
):
    """Two different approvals completed at the same moment both apply, one after the other:
    the second reaches the completion condition, the deal is won once."""
    deploy(owner, "deal_approval.bpmn")
    customer = make_customer(name="Both at once")
    started = start_deal(agent, customer.id)
    first, second, third = (t["id"] for t in started["ready_tasks"])
    results = [
        *post_together(
            app,
            f"/api/v1/tasks/{first}/complete",
            [(managers[0].headers, {"data": {"approved": True}})],
        )
    ]
    assert results[0][0] == 200
    results = []
    from threading import Barrier, Thread

    barrier = Barrier(2)
    answers: dict[str, int] = {}

    def complete(manager: Actor, task_id: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/tasks/{task_id}/complete",
            headers=manager.headers,
            json={"data": {"approved": True}},
        )
        answers[task_id] = response.status_code

    threads = [
        Thread(target=complete, args=(managers[1], second)),
        Thread(target=complete, args=(managers[2], third)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # The one completed second finds its approval cancelled by the completion condition.
    assert sorted(answers.values()) == [200, 409], answers
    view = owner.instance(started["id"])
    assert view["status"] == "completed", view["incidents"]
    deal_id = view["data"]["deal"]["id"]
    assert [c[1] for c in stage_changes(db, deal_id)] == ["qualification", "won"]
    assert managers[0].tasks("candidate=1") == []


# -- a worker killed while the step writes CRM data -------------------------------------------


@pytest.fixture
def sleepy(runtime: Runtime) -> ProcessEngine:
    """This process's engine knows ``test.sleep`` too, so the slow variant deploys."""
    registry = build_registry()

    @registry.register("test.sleep", "Sleep")
    def sleep(ctx: HandlerContext, seconds: int) -> dict[str, Any]:
        time.sleep(seconds)
        return {"slept": seconds}

    runtime._engine = ProcessEngine(registry=registry, clock=runtime.clock)
    return runtime._engine


SLOW_ERP = """    <bpmn:serviceTask id="Activity_0erp" name="Sync the won deal to the ERP">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.sleep" resultVariable="erp">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="seconds" type="int" value="sleep_seconds" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_0da5</bpmn:incoming>
      <bpmn:outgoing>Flow_0da7</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="Flow_0da7" sourceRef="Activity_0erp" targetRef="Event_0won" />
"""


def deal_stages(db: Any) -> list[tuple[Any, ...]]:
    with db() as session:
        return [
            (row.deal_id, row.to_stage.value, row.comment)
            for row in session.scalars(select(DealStageChange).order_by(DealStageChange.id))
        ]


@pytest.mark.parametrize("point", ["handler", "commit"])
def test_killed_while_winning_the_deal_leaves_no_half_written_deal(
    sleepy, owner, agent, managers, make_customer, db, test_env, tmp_path, point
):
    """The deciding approval's step writes the deal's stage and its history, then a slow ERP
    call: killed there, the deal, its stage history, the notes, the approvals and the
    instance are as before, and the same approval then goes through once."""
    slow = edited(
        "deal_approval.bpmn",
        ("<bpmn:incoming>Flow_0da5</bpmn:incoming>", "<bpmn:incoming>Flow_0da7</bpmn:incoming>"),
        (
            'sourceRef="Activity_0won" targetRef="Event_0won"',
            'sourceRef="Activity_0won" targetRef="Activity_0erp"',
        ),
        ("  </bpmn:process>", SLOW_ERP + "  </bpmn:process>"),
    )
    response = upload(owner, ("deal_approval.bpmn", slow))
    assert response.status_code == 201, response.get_json()
    customer = make_customer(name="Crash Test")
    # The approvals hand on only their output item: the ERP call's pause comes with the start.
    seconds = 1 if point == "handler" else 0
    started = start_deal(agent, customer.id, sleep_seconds=seconds)
    approvals = started["ready_tasks"]
    managers[0].complete_ok(approvals[0]["id"], {"approved": True})
    before = snapshot(db, started["id"])
    stages_before = deal_stages(db)
    deals_before = deals_of(db, customer.id)
    assert deals_before == [("Annual licence", "qualification")]

    marker = tmp_path / "stopped"
    token = managers[1].headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    task = f"task:{approvals[1]['id']}:{json.dumps({'approved': True})}"
    run_until_killed([task, str(marker), token, point], marker, env, point)

    assert snapshot(db, started["id"]) == before
    assert deal_stages(db) == stages_before
    assert deals_of(db, customer.id) == deals_before
    view = owner.instance(started["id"])
    assert view["status"] == "running"
    assert sorted(t["id"] for t in view["ready_tasks"]) == sorted(t["id"] for t in approvals[1:])

    done = managers[1].complete_ok(approvals[1]["id"], {"approved": True})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["erp"] == {"slept": seconds}
    assert deals_of(db, customer.id) == [("Annual licence", "won")]
    deal_id = done["data"]["deal"]["id"]
    assert deal_stages(db)[len(stages_before) :] == [(deal_id, "won", f"Contract C-{deal_id}")]
    again = managers[1].complete(approvals[1]["id"], {"approved": True})
    assert again.status_code == 409


# -- invalid variants: each refused on its element, nothing deployed ---------------------------


def test_an_escalation_is_caught_by_code_not_by_name(owner, db):
    """The called process throws SLOW (named differently there); a catch of another code on
    the call activity waits for an escalation nothing throws."""
    deploy(owner, "callback_scheduling.bpmn")
    late = edited(
        "lead_qualification.bpmn",
        ('escalationCode="SLOW"', 'escalationCode="LATE"'),
    )
    details = refused(
        upload(
            owner,
            ("lead_qualification.bpmn", late),
            ("lead_score.dmn", diagram("lead_score.dmn")),
            ("qualify-form.json", diagram("qualify-form.json")),
        )
    )
    found = by_element(details)
    assert set(found) == {"Event_1slow"}, details
    assert "waits for escalation 'Slow scheduling'" in found["Event_1slow"]
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 1


VARIANTS = {
    "call to a misspelt process": (
        "lead_qualification.bpmn",
        [('calledElement="r5_callback_scheduling"', 'calledElement="r5_callback_sheduling"')],
        ["lead_score.dmn", "qualify-form.json", "callback_scheduling.bpmn"],
        {"Activity_1callback": "r5_callback_sheduling"},
    ),
    "decision not in the bundle": (
        "lead_qualification.bpmn",
        [],
        ["qualify-form.json", "callback_scheduling.bpmn"],
        {"Activity_1score": "lead_score"},
    ),
    "operator parameter misnamed": (
        "lead_qualification.bpmn",
        [
            (
                '<spiffworkflow:parameter id="user" type="str"',
                '<spiffworkflow:parameter id="recipient" type="str"',
            )
        ],
        ["lead_score.dmn", "qualify-form.json", "callback_scheduling.bpmn"],
        {"Activity_1tellmgr": "recipient"},
    ),
    "default flow that leaves another gateway": (
        "deal_approval.bpmn",
        [('default="Flow_0darej"', 'default="Flow_0kno"')],
        [],
        {"Gateway_0approved": "Flow_0kno"},
    ),
    "event subprocess message that is not defined": (
        "deal_approval.bpmn",
        [('messageRef="Message_0cancel"', 'messageRef="Message_0cancelled"')],
        [],
        {"Event_0cancelled": "Message_0cancelled"},
    ),
    "event-based gateway leading to a task": (
        "after_sale_followup.bpmn",
        [
            (
                'sourceRef="Gateway_1reply" targetRef="Event_1noreply"',
                'sourceRef="Gateway_1reply" targetRef="Activity_1thanks"',
            ),
            (
                "<bpmn:incoming>Flow_1as5</bpmn:incoming>\n"
                "      <bpmn:outgoing>Flow_1as7</bpmn:outgoing>",
                "<bpmn:outgoing>Flow_1as7</bpmn:outgoing>",
            ),
        ],
        [],
        {"Gateway_1reply": "event"},
    ),
    "misspelt timer duration": (
        "after_sale_followup.bpmn",
        [('>"P3D"<', ">P3X<")],
        [],
        {"Event_1noreply": "timer value 'P3X' is not a valid ISO 8601 duration"},
    ),
    "send task naming no message": (
        "quote_collaboration.bpmn",
        [
            (
                ' name="Ask pricing for a quote" messageRef="Message_0req"',
                ' name="Ask pricing for a quote"',
            )
        ],
        [],
        {"Activity_0ask": "message"},
    ),
    "terminate end event with an outgoing flow": (
        "order_credit_chain.bpmn",
        [
            (
                "<bpmn:incoming>Flow_1cfraud</bpmn:incoming>",
                "<bpmn:incoming>Flow_1cfraud</bpmn:incoming>\n"
                "      <bpmn:outgoing>Flow_1cbad</bpmn:outgoing>",
            ),
            (
                '<bpmn:sequenceFlow id="Flow_1c7"',
                '<bpmn:sequenceFlow id="Flow_1cbad" sourceRef="Event_1terminate" '
                'targetRef="Gateway_1join" />\n    <bpmn:sequenceFlow id="Flow_1c7"',
            ),
        ],
        [],
        {"Event_1terminate": ""},
    ),
}


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_invalid_variants_are_refused_on_their_element(owner, db, case):
    name, changes, others, expected = VARIANTS[case]
    files = [(name, edited(name, *changes))] + [(other, diagram(other)) for other in others]
    details = refused(upload(owner, *files))
    found = by_element(details)
    for element, fragment in expected.items():
        assert element in found, (case, details)
        assert fragment in found[element], (case, found[element])
    for detail in details:
        assert detail["line"] is None or isinstance(detail["line"], int)
    nothing_deployed(db)


def test_a_truncated_diagram_is_refused_with_its_line(owner, db):
    text = diagram("order_credit_chain.bpmn")
    cut = text[: text.index(b'<bpmn:process id="r5_bureau_lookup"')]
    details = refused(upload(owner, ("order_credit_chain.bpmn", cut)))
    assert details[0]["line"] and details[0]["line"] >= cut.count(b"\n"), details
    nothing_deployed(db)
