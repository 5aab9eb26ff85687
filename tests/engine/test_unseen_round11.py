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
