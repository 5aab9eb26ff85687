"""An eleventh round of unseen diagrams: the processes telesales teams bring from the BPMN
engines most used in China, written as their modelers write them. Flowable Modeler 6
(``*.bpmn20.xml``, default namespace, ``flowable:`` attributes, ``modeler:`` extensions,
``omgdc``/``omgdi`` layout, CDATA conditions), Activiti 6 Modeler (``sid-`` ids,
``activiti:`` attributes, ``http://www.activiti.org/processdef``) and Camunda Modeler 7
(``camunda:`` settings, an execution platform of 7.20, a pool in a collaboration), with
decision tables in DMN 1.1 (Camunda 7) and DMN 1.2 (Flowable). The processes: lead
assignment graded by a decision and handed to a call cadence through a call activity whose
``<camunda:in variables="all"/>`` is what Dialflow does anyway; the cadence's callbacks and
retries on timers, an escalation for repeated callbacks caught while the cadence goes on and
an error when nobody answers; a quote approved in lanes by agent, team leader (manager) and
manager (director) by a discount tier, with a timer that hands a late approval upwards and a
parallel split; an order confirmation waiting for the customer's message or chasing after a
timer, then an inclusive split; a complaint handled in a subprocess with an escalation, an
error and an SLA timer. Each is deployed through the API and run end to end. Then the same
files as those tools export them before the team rewrote them (JUEL conditions,
``camunda:assignee="${initiator}"``, ``candidateGroups``, ``camunda:formData``,
``flowable:formProperty``, ``camunda:decisionRef`` with ``resultVariable``,
``flowable:type="dmn"``, ``camunda:type="external"``, ``asyncBefore``, ``skipExpression``,
multi-instance ``camunda:collection``, listeners, retry cycles): one mistake each, refused
with ``422 invalid_bpmn`` on its element and line, with what to write instead, and nothing
deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, by_element, notes_of, only, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    nothing_deployed,
    notifications_of,
    upload,
)

UNSEEN11 = DiagramFolder("unseen11")
diagram, edited, deploy = UNSEEN11.read, UNSEEN11.edited, UNSEEN11.deploy
LEADS = ("lead_assignment.bpmn", "call_cadence.bpmn20.xml", "lead_grade.dmn")


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


@pytest.fixture
def director(actor: Callable[..., Actor]) -> Actor:
    return actor("director", username="chief", team=None)


def lead(customer_id: int, source: str, budget: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "lead_source": source,
        "budget": budget,
        "team_manager": "boss",
    }


# -- lead assignment (Camunda Modeler 7) + call cadence (Flowable Modeler 6) + DMN 1.1 ----------


def test_lead_assignment_deploys_with_its_cadence_and_grade(owner):
    answer = deploy(owner, *LEADS)
    assert sorted(answer["process_ids"]) == ["call_cadence", "lead_assignment"]
    assert answer.get("warnings", []) == []


def test_a_hot_referral_opens_a_deal_and_a_call_for_the_agents(owner, agent, make_customer, db):
    deploy(owner, *LEADS)
    customer = make_customer(name="Referral Ltd")
    started = agent.start("lead_assignment", lead(customer.id, "referral", 80000))
    assert started["data"]["grade"] == "A" and started["data"]["hot"] is True
    (call,) = started["ready_tasks"]
    assert (call["name"], call["title"], call["lane"]) == (
        "Activity_0hotcall",
        "立即致电 Call the hot lead",
        "agent",
    )
    assert deals_of(db, customer.id) == [("referral lead, grade A", "80000.00", "qualification")]
    done = agent.complete_ok(call["id"], {"reached": True})
    assert done["status"] == "completed", done["incidents"]


def test_a_cold_list_lead_is_nurtured_without_a_call(owner, agent, make_customer, db):
    deploy(owner, *LEADS)
    customer = make_customer()
    started = agent.start("lead_assignment", lead(customer.id, "cold_list", 0))
    assert started["status"] == "completed", started["incidents"]
    assert started["data"]["grade"] == "C"
    assert notes_of(db, customer.id) == ["Grade C: nurture for 90 days"]
    assert deals_of(db, customer.id) == []


def test_a_warm_lead_is_called_through_the_cadence_and_its_data_comes_back(
    owner, agent, make_customer, db
):
    deploy(owner, *LEADS)
    customer = make_customer()
    started = agent.start("lead_assignment", lead(customer.id, "web", 20000))
    assert started["data"]["grade"] == "B"
    (call,) = started["ready_tasks"]  # the called process's task, in its own lane
    assert (call["name"], call["title"], call["lane"]) == (
        "sid-CALL",
        "拨打电话 Call the customer",
        "agent",
    )
    done = agent.complete_ok(call["id"], {"disposition": "interested"})
    assert done["status"] == "completed", done["incidents"]
    # camunda:out variables="all": the cadence's variables are the caller's now
    assert (done["data"]["outcome"], done["data"]["attempts"]) == ("interested", 0)
    assert notes_of(db, customer.id) == [
        "Call 1: interested",
        "Interested after 0 missed and 0 callbacks",
    ]


def test_callbacks_wait_for_their_slot_and_the_second_warns_the_manager(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, *LEADS)
    boss = timed.actor("manager", username="boss", team="East")
    customer = make_customer()
    started = timed.agent.start("lead_assignment", lead(customer.id, "exhibition", 30000))
    (call,) = started["ready_tasks"]
    after = timed.agent.complete_ok(call["id"], {"disposition": "callback", "callback_in": "PT2H"})
    assert after["ready_tasks"] == [] and after["status"] == "waiting"
    assert notifications_of(db, boss) == []  # one callback is no escalation
    assert timed.advance(hours=1, minutes=59) == 0
    assert timed.advance(minutes=1) == 1  # due at the slot the customer asked for
    (call,) = timed.agent.instance(started["id"])["ready_tasks"]
    after = timed.agent.complete_ok(call["id"], {"disposition": "callback", "callback_in": "PT1H"})
    # the escalation is caught on the call activity without interrupting the cadence
    assert notifications_of(db, boss) == [f"Customer {customer.id} asked for another callback"]
    assert after["status"] == "waiting", after["incidents"]
    assert "timer" in [w["kind"] for w in after["waiting"]]
    assert timed.advance(hours=1) == 1
    (call,) = timed.agent.instance(started["id"])["ready_tasks"]
    done = timed.agent.complete_ok(call["id"], {"disposition": "interested"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["callbacks"] == 2
    assert notes_of(db, customer.id) == [
        "Call 1: callback",
        "Call 2: callback",
        "Call 3: interested",
        "Interested after 0 missed and 2 callbacks",
    ]


def test_three_unanswered_calls_end_the_cadence_in_an_error_the_manager_takes(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, *LEADS)
    boss = timed.actor("manager", username="boss", team="East")
    customer = make_customer()
    started = timed.agent.start("lead_assignment", lead(customer.id, "web", 10000))
    for attempt in range(3):
        (call,) = timed.agent.instance(started["id"])["ready_tasks"]
        after = timed.agent.complete_ok(call["id"], {"disposition": "no_answer"})
        if attempt < 2:
            assert after["ready_tasks"] == []
            assert timed.advance(minutes=59) == 0
            assert timed.advance(minutes=1) == 1  # the retry an hour later
    (reassign,) = after["ready_tasks"]
    assert (reassign["name"], reassign["lane"]) == ("Activity_1reassign", "manager")
    assert timed.agent.complete(reassign["id"]).status_code == 403
    done = boss.complete_ok(reassign["id"], {"to": "agent_east"})
    assert done["status"] == "completed", done["incidents"]
    assert "outcome" not in done["data"]  # an error brings none of the cadence's data back
    assert notes_of(db, customer.id) == [f"Call {n}: no_answer" for n in (1, 2, 3)]


# -- quote approval (Activiti 6 Modeler) + discount tier (Flowable DMN 1.2) ---------------------

QUOTES = ("quote_approval.bpmn", "discount_tier.dmn")


def quote(discount: float, vip: bool = False) -> dict[str, Any]:
    return {"product": "坐席年费", "list_price": 10000, "discount": discount, "vip": vip}


def prepared(agent: Actor, customer_id: int, discount: float, vip: bool = False) -> dict:
    started = agent.start("quoteApproval", {"customer_id": customer_id})
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("sid-PREPARE", "agent")
    return agent.complete_ok(prepare["id"], quote(discount, vip))


def sent(agent: Actor, after: dict[str, Any]) -> dict[str, Any]:
    """The parallel branch's task: the deal is open beside it already."""
    (send,) = after["ready_tasks"]
    assert (send["name"], send["title"], send["lane"]) == (
        "sid-SEND",
        "发送报价 Send the quote",
        "agent",
    )
    return agent.complete_ok(send["id"], {"sent_by": "email"})


def test_a_small_discount_is_approved_by_the_table_and_the_deal_opens_beside_the_quote(
    owner, agent, make_customer, db
):
    deploy(owner, *QUOTES)
    customer = make_customer()
    after = prepared(agent, customer.id, 0.03)
    assert (after["data"]["approver"], after["data"]["approved_by"]) == ("auto", "auto")
    assert deals_of(db, customer.id) == [("坐席年费, 3% off", "9700.00", "qualification")]
    done = sent(agent, after)
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["deal"]["title"] == "坐席年费, 3% off"  # both branches' data joined


@pytest.mark.parametrize(
    ("discount", "vip", "lane"),
    [(0.10, False, "manager"), (0.25, True, "manager"), (0.25, False, "director")],
    ids=["team-leader", "vip-team-leader", "manager"],
)
def test_larger_discounts_go_to_the_lane_the_table_names(
    owner, agent, manager, director, make_customer, db, discount, vip, lane
):
    deploy(owner, *QUOTES)
    customer = make_customer()
    after = prepared(agent, customer.id, discount, vip)
    (approve,) = after["ready_tasks"]
    assert approve["lane"] == lane
    approver, other = (manager, director) if lane == "manager" else (director, manager)
    assert agent.complete(approve["id"]).status_code == 403
    assert other.complete(approve["id"]).status_code == 403
    after = approver.complete_ok(approve["id"], {"decision": "approve"})
    assert deals_of(db, customer.id) == [
        (
            f"坐席年费, {round(discount * 100)}% off",
            f"{10000 * (1 - discount):.2f}",
            "qualification",
        )
    ]
    assert sent(agent, after)["status"] == "completed"


def test_a_quote_sent_back_is_prepared_again_and_a_rejection_is_noted(
    owner, agent, director, make_customer, db
):
    deploy(owner, *QUOTES)
    customer = make_customer()
    after = prepared(agent, customer.id, 0.30)
    (approve,) = after["ready_tasks"]
    after = director.complete_ok(approve["id"], {"decision": "revise"})
    (prepare,) = after["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("sid-PREPARE", "agent")
    after = agent.complete_ok(prepare["id"], quote(0.20))
    (approve,) = after["ready_tasks"]
    assert approve["lane"] == "director"
    done = director.complete_ok(approve["id"], {"decision": "reject", "comment": "价格底线"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Quote of 20% off rejected: 价格底线"]
    assert deals_of(db, customer.id) == []


def test_a_team_leader_silent_for_a_day_hands_the_quote_to_the_manager(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, *QUOTES)
    leader = timed.actor("manager", username="leader", team="East")
    chief = timed.actor("director", username="chief", team=None)
    customer = make_customer()
    after = prepared(timed.agent, customer.id, 0.12)
    (approve,) = after["ready_tasks"]
    assert approve["lane"] == "manager"
    assert timed.advance(hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    (approve_up,) = timed.agent.instance(after["id"])["ready_tasks"]
    assert (approve_up["name"], approve_up["lane"]) == ("sid-MGR", "director")
    assert leader.complete(approve["id"]).status_code in (404, 409)
    after = chief.complete_ok(approve_up["id"], {"decision": "approve"})
    assert sent(timed.agent, after)["status"] == "completed"
    assert deals_of(db, customer.id) == [("坐席年费, 12% off", "8800.00", "qualification")]
