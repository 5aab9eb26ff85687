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
``camunda:assignee="${initiator}"``, ``candidateGroups``, a form field kept under another
variable (``flowable:formProperty variable=``), ``camunda:decisionRef`` with ``resultVariable``,
``flowable:type="dmn"``, ``camunda:type="external"``, ``asyncBefore``, ``skipExpression``,
multi-instance ``camunda:collection``, listeners, retry cycles, a message named with
``${…}``, a cron ``timeCycle``, a JUEL cell in a decision table): one mistake each, refused
with ``422 invalid_bpmn`` on its element and line, with what to write instead (the Python a
JUEL condition and the ISO 8601 cycle a cron refusal suggest deploy and run), and nothing
deployed. What such a file says that Dialflow does anyway deploys and runs as drawn:
``candidateGroups`` naming the task's own lane, the starter as assignee of a task outside
every lane with the start event's ``initiator`` (whose variable a script may read too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, notes_of, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
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


# -- lead grading of an imported list (Flowable Modeler 6): a parallel multi-instance ------------

GRADING = ("lead_grading.bpmn20.xml", "lead_grade.dmn")
LIST = [
    {"phone": "13900000001", "source": "referral", "budget": 80000},
    {"phone": "13900000002", "source": "web", "budget": 20000},
    {"phone": "13900000003", "source": "cold_list", "budget": 0},
    {"phone": "13900000004", "source": "exhibition", "budget": 120000},
]


def test_an_imported_list_is_graded_lead_by_lead_and_hot_leads_go_to_the_team_leader(
    owner, agent, manager
):
    deploy(owner, *GRADING)
    started = agent.start("leadGrading", {"leads": LIST})
    assert [(g["phone"][-1], g["grade"], g["hot"]) for g in started["data"]["grades"]] == [
        ("1", "A", True),
        ("2", "B", False),
        ("3", "C", False),
        ("4", "A", True),
    ]
    assert started["data"]["by_grade"] == {"A": 2, "B": 1, "C": 1}
    (review,) = started["ready_tasks"]
    assert (review["name"], review["lane"]) == ("sid-REVIEW", "manager")
    assert agent.complete(review["id"]).status_code == 403
    done = manager.complete_ok(review["id"], {"handed_to": "agent_east"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["hot_phones"] == ["13900000001", "13900000004"]


def test_a_list_without_a_hot_lead_ends_without_the_team_leader(owner, agent):
    deploy(owner, *GRADING)
    started = agent.start("leadGrading", {"leads": LIST[1:3]})
    assert started["status"] == "completed", started["incidents"]
    assert started["data"]["by_grade"] == {"A": 0, "B": 1, "C": 1}


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


# -- order confirmation (Camunda Modeler 7, no lanes) -------------------------------------------


def open_deal(agent: Actor, customer_id: int) -> int:
    response = agent.post(
        "/api/v1/deals", json={"customer_id": customer_id, "title": "坐席年费", "amount": "9000"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def confirm(agent: Actor, order_no: str, needs: list[str]) -> Any:
    return agent.post(
        "/api/v1/messages",
        json={"name": "order_confirmed", "business_key": order_no, "payload": {"needs": needs}},
    )


@pytest.mark.parametrize(
    ("needs", "tasks"),
    [
        ([], []),
        (["delivery"], ["Activity_0delivery"]),
        (["delivery", "training"], ["Activity_0delivery", "Activity_1training"]),
    ],
    ids=["invoice-only", "delivery", "delivery-and-training"],
)
def test_a_confirmed_order_books_what_the_customer_needs_and_wins_the_deal(
    owner, agent, actor, make_customer, db, needs, tasks
):
    deploy(owner, "order_confirmation.bpmn")
    customer = make_customer(actor=agent.user)
    deal_id = open_deal(agent, customer.id)
    started = agent.start(
        "order_confirmation",
        {"customer_id": customer.id, "deal_id": deal_id, "order_no": "SO-1001"},
        business_key="SO-1001",
    )
    assert started["status"] == "waiting" and started["ready_tasks"] == []
    assert deals_of(db, customer.id) == [("坐席年费", "9000.00", "negotiation")]
    answer = confirm(agent, "SO-1001", needs)
    assert answer.status_code == 202, answer.get_json()
    now = agent.instance(started["id"])
    assert sorted(t["name"] for t in now["ready_tasks"]) == tasks
    other = actor("agent", username="colleague", team="East")
    for task in now["ready_tasks"]:  # outside every lane: the one who started works it
        assert (task["lane"], task["candidates"]) == (None, ["user:agent_east"])
        assert other.complete(task["id"]).status_code in (403, 409)
        now = agent.complete_ok(task["id"], {"booked": True})
    assert now["status"] == "completed", now["incidents"]
    assert deals_of(db, customer.id) == [("坐席年费", "9000.00", "won")]
    assert notes_of(db, customer.id) == ([] if needs else ["Invoice for order SO-1001"])


def test_an_unconfirmed_order_is_chased_every_three_days(timed: Timed, make_customer, db):
    deploy(timed.owner, "order_confirmation.bpmn")
    customer = make_customer(actor=timed.agent.user)
    deal_id = open_deal(timed.agent, customer.id)
    started = timed.agent.start(
        "order_confirmation",
        {"customer_id": customer.id, "deal_id": deal_id, "order_no": "SO-7"},
        business_key="SO-7",
    )
    for _ in range(2):
        assert timed.advance(days=3) == 1
        (chase,) = timed.agent.instance(started["id"])["ready_tasks"]
        assert chase["name"] == "Activity_1chase"
        timed.agent.complete_ok(chase["id"], {"reached": False})
    assert confirm(timed.agent, "SO-7", ["training"]).status_code == 202
    (training,) = timed.agent.instance(started["id"])["ready_tasks"]
    done = timed.agent.complete_ok(training["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["chases"] == 2
    assert deals_of(db, customer.id) == [("坐席年费", "9000.00", "won")]


# -- complaint handling (Flowable Modeler 6): subprocess with escalation, error and SLA ----------

COMPLAINT = "complaint_handling.bpmn20.xml"


def logged(agent: Actor, customer_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    started = agent.start(
        "complaintHandling",
        {"customer_id": customer_id, "ticket": "TS-42", "team_manager": "boss"},
    )
    (log,) = started["ready_tasks"]
    assert (log["name"], log["lane"]) == ("sid-LOG", "agent")
    after = agent.complete_ok(log["id"], {"summary": "坐席系统掉线"})
    (investigate,) = after["ready_tasks"]
    assert (investigate["name"], investigate["lane"]) == ("sid-INVESTIGATE", "agent")
    return started, investigate


def test_a_critical_complaint_brings_the_manager_in_while_the_agent_fixes_it(
    owner, agent, manager, make_customer, db
):
    deploy(owner, COMPLAINT)
    customer = make_customer()
    _, investigate = logged(agent, customer.id)
    after = agent.complete_ok(
        investigate["id"], {"severity": "critical", "wants_refund": False, "refund_allowed": False}
    )
    tasks = {t["name"]: t for t in after["ready_tasks"]}
    assert set(tasks) == {"sid-CALLBACK", "sid-FIX"}
    assert (tasks["sid-CALLBACK"]["lane"], tasks["sid-FIX"]["lane"]) == ("manager", "agent")
    manager.complete_ok(tasks["sid-CALLBACK"]["id"], {"called": True})
    done = agent.complete_ok(tasks["sid-FIX"]["id"], {"resolution": "补发账号"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Complaint TS-42 resolved: 补发账号"]


def test_a_refused_refund_ends_the_subprocess_and_the_manager_makes_a_gesture(
    owner, agent, manager, make_customer, db
):
    deploy(owner, COMPLAINT)
    customer = make_customer()
    _, investigate = logged(agent, customer.id)
    after = agent.complete_ok(
        investigate["id"], {"severity": "normal", "wants_refund": True, "refund_allowed": False}
    )
    (gesture,) = after["ready_tasks"]
    assert (gesture["name"], gesture["lane"]) == ("sid-GOODWILL", "manager")
    done = manager.complete_ok(gesture["id"], {"voucher": 200})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Complaint TS-42: refund refused"]


def test_a_complaint_open_for_two_days_warns_the_manager_once(timed: Timed, make_customer, db):
    deploy(timed.owner, COMPLAINT)
    boss = timed.actor("manager", username="boss", team="East")
    customer = make_customer()
    started, _ = logged(timed.agent, customer.id)
    assert timed.advance(days=2) == 1
    assert notifications_of(db, boss) == ["Complaint TS-42 open for 2 days"]
    (still,) = timed.agent.instance(started["id"])["ready_tasks"]
    assert still["name"] == "sid-INVESTIGATE"  # the warning did not interrupt
    assert timed.advance(days=2) == 0
    after = timed.agent.complete_ok(
        still["id"], {"severity": "normal", "wants_refund": False, "refund_allowed": True}
    )
    (fix,) = after["ready_tasks"]
    done = timed.agent.complete_ok(fix["id"], {"resolution": "已道歉"})
    assert done["status"] == "completed", done["incidents"]
    assert notifications_of(db, boss) == ["Complaint TS-42 open for 2 days"]


# -- the files as the tools exported them: one mistake each, refused with the Dialflow way ------

BUNDLES = {
    "lead_assignment.bpmn": LEADS,
    "call_cadence.bpmn20.xml": ("call_cadence.bpmn20.xml",),
    "lead_grade.dmn": LEADS,
    "quote_approval.bpmn": QUOTES,
    "order_confirmation.bpmn": ("order_confirmation.bpmn",),
    COMPLAINT: (COMPLAINT,),
    "lead_grading.bpmn20.xml": GRADING,
}
HOT_CALL = '<bpmn:userTask id="Activity_0hotcall" name="立即致电 Call the hot lead"'
GRADE_TASK = """<bpmn:businessRuleTask id="Activity_0grade" name="线索分级 Grade the lead">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>lead_grade</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>"""
_LEADS_TEXT = diagram("lead_assignment.bpmn").decode()
_NOTE_AT = _LEADS_TEXT.index('<bpmn:serviceTask id="Activity_0interested"')
NOTE_OPERATOR = _LEADS_TEXT[
    _NOTE_AT : _LEADS_TEXT.index("</bpmn:extensionElements>", _NOTE_AT) + 25
]  # the task's opening tag with its operator
CALL_TASK = '<userTask id="sid-CALL" name="拨打电话 Call the customer"'
TIER_TASK = """<businessRuleTask id="sid-TIER" name="审批层级 Approval tier">
      <extensionElements>
        <spiffworkflow:calledDecisionId>discountTier</spiffworkflow:calledDecisionId>
      </extensionElements>
    </businessRuleTask>"""
REFUSED_CATCH = 'attachedToRef="sid-RESOLVE">\n      '
SLA_TIMER = '<timeDuration>"P2D"</timeDuration>'
CRON_TIMER = "<timeCycle>0 0 9 * * ?</timeCycle>"
EXPORTED = [
    pytest.param(
        "lead_assignment.bpmn",
        [('grade == "A" and hot<', '${grade == "A" &amp;&amp; hot.booleanValue()}<')],
        "Flow_1gradeA",
        '${grade == "A"',
        ["is a JUEL expression Dialflow does not run", ".booleanValue(…) calls a Java method"],
        id="camunda-juel-and",
    ),
    pytest.param(
        "lead_assignment.bpmn",
        # the starter as assignee runs, in a lane too; a method call on it cannot
        [(HOT_CALL, HOT_CALL + ' camunda:assignee="${initiator.toLowerCase()}"')],
        "Activity_0hotcall",
        HOT_CALL,
        ["camunda:assignee='${initiator.toLowerCase()}'", "(a variable path)"],
        id="camunda-assignee-initiator",
    ),
    pytest.param(
        "lead_assignment.bpmn",
        [
            (
                GRADE_TASK,
                '<bpmn:businessRuleTask id="Activity_0grade" name="线索分级 Grade the lead" '
                'camunda:resultVariable="gradeResult" camunda:decisionRef="lead_grade" '
                'camunda:mapDecisionResult="singleEntry" camunda:decisionRefBinding="version" '
                'camunda:decisionRefVersion="2">',
            )
        ],
        "Activity_0grade",
        'camunda:resultVariable="gradeResult"',
        # the latest version runs (engine.camunda_decisions); a version of its own does not
        [
            "camunda:decisionRef='lead_grade'",
            "spiffworkflow:calledDecisionId",
            "camunda:decisionRefVersion='2'",
        ],
        id="camunda-decision-ref",
    ),
    pytest.param(
        "lead_assignment.bpmn",
        [
            (
                '<bpmn:startEvent id="StartEvent_1"',
                '<bpmn:startEvent id="StartEvent_1" camunda:asyncBefore="yes"',
            )
        ],
        "StartEvent_1",
        '<bpmn:startEvent id="StartEvent_1"',
        # "true" or "false" pass (engine.java_async); a value no engine reads does not
        ["camunda:asyncBefore='yes'", "remove it", "only a service task"],
        id="camunda-async-start",
    ),
    pytest.param(
        "lead_assignment.bpmn",
        [
            (
                NOTE_OPERATOR,
                '<bpmn:serviceTask id="Activity_0interested" name="记录意向 Note the interest" '
                'camunda:type="external" camunda:topic="crm-note">',
            )
        ],
        "Activity_0interested",
        'camunda:type="external"',
        # a topic is run as the operator it names (engine.external_tasks): this one names none
        ["unknown service operator 'crm-note'", "crm.add_note"],
        id="camunda-external-task",
    ),
    pytest.param(
        "lead_assignment.bpmn",
        # an in with local="true" runs (the call activity's own variables); an out would
        # be dropped when the call activity ends
        [('<camunda:out variables="all" />', '<camunda:out variables="all" local="true" />')],
        "Activity_1cadence",
        'local="true"',
        ["<camunda:out>", 'remove local="true"', "dropped when it ends"],
        id="camunda-out-local",
    ),
    pytest.param(
        "lead_grade.dmn",
        [
            (
                '<inputEntry id="UnaryTests_1b"><text>&gt;= 50000</text>',
                '<inputEntry id="UnaryTests_1b" expressionLanguage="juel">'
                "<text>${budget &gt;= 50000}</text>",
            )
        ],
        "UnaryTests_1b",
        'id="UnaryTests_1b"',
        ["'${budget >= 50000}' is a JUEL expression", "write '? >= 50000'"],
        id="camunda-dmn-juel-cell",
    ),
    pytest.param(
        "call_cadence.bpmn20.xml",
        # several groups run (as lane_owners' "group:" entries); a group worked out by a
        # method cannot
        [(CALL_TASK, CALL_TASK + ' flowable:candidateGroups="telesales,${leaders.names()}"')],
        "sid-CALL",
        CALL_TASK,
        ["flowable:candidateGroups", "comma-separated", "compute who in a script task"],
        id="flowable-candidate-groups",
    ),
    pytest.param(
        "call_cadence.bpmn20.xml",
        [
            (
                "</spiffworkflow:properties>",
                "</spiffworkflow:properties>"
                '<flowable:formProperty id="disposition" name="结果" type="enum" required="true"'
                ' variable="call_result">'
                '<flowable:value id="interested" name="有意向"></flowable:value>'
                "</flowable:formProperty>",
            )
        ],
        "sid-CALL",
        "<flowable:formProperty",
        ["field 'disposition'", "variable 'call_result'", "name the field 'call_result'"],
        id="flowable-form-property-variable",
    ),
    pytest.param(
        "call_cadence.bpmn20.xml",
        [("<![CDATA[callbacks >= 2]]>", "<![CDATA[${callbacks ge 2 && execution.id}]]>")],
        "sid-F-CB-LATE",
        "${callbacks ge 2",
        ["execution is set by the Java engines", "write a Python expression"],
        id="flowable-juel-ge",
    ),
    pytest.param(
        "call_cadence.bpmn20.xml",
        [
            (
                '<serviceTask id="sid-NOTE" name="记录通话 Note the call"',
                '<serviceTask id="sid-NOTE" name="记录通话 Note the call" '
                'flowable:failedJobRetryTimeCycle="R3/PT5M"',
            )
        ],
        "sid-NOTE",
        '<serviceTask id="sid-NOTE"',
        ['<spiffworkflow:retry retries="3" backoff_base="2"/>'],
        id="flowable-retry-cycle",
    ),
    pytest.param(
        "quote_approval.bpmn",
        [
            (
                '<userTask id="sid-PREPARE" name="填写报价 Prepare the quote">',
                '<userTask id="sid-PREPARE" name="填写报价 Prepare the quote" '
                'activiti:assignee="$INITIATOR" '
                'activiti:dueDate="${dateTime().withHourOfDay(18).toDate()}">',
            ),
            (
                "<![CDATA[sid-PREPARE]]></modeler:editor-resource-id>",
                "<![CDATA[sid-PREPARE]]></modeler:editor-resource-id>"
                '<modeler:activiti-idm-initiator xmlns:modeler="http://activiti.com/modeler">'
                "<![CDATA[true]]></modeler:activiti-idm-initiator>",
            ),
        ],
        "sid-PREPARE",
        '<userTask id="sid-PREPARE"',
        # $INITIATOR runs in a lane too (the starter works the task); a due date computed by a
        # Java method call other than dateTime() moved forward does not (one in a variable
        # does, engine.java_schedule)
        ["activiti:dueDate='${dateTime().withHourOfDay(18).toDate()}'", "dueIn"],
        id="activiti-initiator",
    ),
    pytest.param(
        "quote_approval.bpmn",
        [
            (
                TIER_TASK,
                '<serviceTask id="sid-TIER" name="审批层级 Approval tier" activiti:type="dmn">'
                '<extensionElements><activiti:field name="decisionTableReferenceKey">'
                "<activiti:string><![CDATA[discountTier]]></activiti:string></activiti:field>"
                "</extensionElements></serviceTask>",
            )
        ],
        "sid-TIER",
        '<serviceTask id="sid-TIER"',
        [
            "activiti:type='dmn'",
            "draw a business rule task with spiffworkflow:calledDecisionId",
            "<activiti:field>",
            "name the decision in a business rule task's spiffworkflow:calledDecisionId",
        ],
        id="activiti-dmn-service-task",
    ),
    pytest.param(
        "quote_approval.bpmn",
        [
            (
                '<userTask id="sid-MGR" name="经理审批 Manager approves"></userTask>',
                '<userTask id="sid-MGR" name="经理审批 Manager approves">'
                '<multiInstanceLoopCharacteristics isSequential="false" '
                'activiti:collection="${directory.directors()}" '
                'activiti:elementVariable="director">'
                "<completionCondition>${nrOfCompletedInstances &gt;= 1}</completionCondition>"
                "</multiInstanceLoopCharacteristics></userTask>",
            )
        ],
        "sid-MGR",
        '<userTask id="sid-MGR"',
        [
            "activiti:collection='${directory.directors()}'",
            "names one variable",
        ],  # a collection naming a variable runs (engine.foreign_loops); a method call not
        id="activiti-multi-instance",
    ),
    pytest.param(
        "order_confirmation.bpmn",
        [
            (
                '<bpmn:userTask id="Activity_1chase" name="电话催单 Chase the customer">',
                '<bpmn:userTask id="Activity_1chase" name="电话催单 Chase the customer" '
                'camunda:candidateUsers="${salesRep}" camunda:assignee="${reps[0]}">',
            )
        ],
        "Activity_1chase",
        'camunda:candidateUsers="${salesRep}"',
        # candidateUsers="${salesRep}" runs; an index into a list is no variable path
        ["camunda:assignee='${reps[0]}'", "(a variable path)"],
        id="camunda-candidate-users",
    ),
    pytest.param(
        COMPLAINT,
        [
            (
                '<userTask id="sid-FIX" name="解决问题 Fix the problem"',
                '<userTask id="sid-FIX" name="解决问题 Fix the problem" '
                'flowable:skipExpression="${fixes.skip(execution)}"',  # a bean: Java
            )
        ],
        "sid-FIX",
        '<userTask id="sid-FIX"',
        ["flowable:skipExpression", "exclusive gateway before the task"],
        id="flowable-skip-expression",
    ),
    pytest.param(
        COMPLAINT,
        [
            (
                '<userTask id="sid-LOG" name="登记投诉 Log the complaint"',
                '<userTask id="sid-LOG" name="登记投诉 Log the complaint" flowable:async="yes"',
            )
        ],
        "sid-LOG",
        '<userTask id="sid-LOG"',
        ["flowable:async='yes'", "only a service task can be left to a worker"],
        id="flowable-async-user-task",
    ),
    pytest.param(
        COMPLAINT,
        [
            (
                '<userTask id="sid-CALLBACK" name="主管回访 Manager calls back" '
                'flowable:formFieldValidation="true"></userTask>',
                '<userTask id="sid-CALLBACK" name="主管回访 Manager calls back" '
                'flowable:formFieldValidation="true"><extensionElements>'
                '<flowable:taskListener event="create" delegateExpression="${notifier}">'
                "</flowable:taskListener></extensionElements></userTask>",
            )
        ],
        "sid-CALLBACK",
        "<flowable:taskListener",
        ["<flowable:taskListener>", "model the listener's work as a task"],
        id="flowable-task-listener",
    ),
]


EXPORTED += [
    pytest.param(
        "order_confirmation.bpmn",
        [('name="order_confirmed" />', 'name="order_confirmed_${orderNo}" />')],
        "Message_0confirmed",
        'name="order_confirmed_${orderNo}"',
        [
            "Dialflow matches the name as written",
            "give it a fixed name such as 'order_confirmed' and correlate it by business key",
        ],
        id="camunda-message-name-expression",
    ),
    pytest.param(
        COMPLAINT,
        [(SLA_TIMER, CRON_TIMER)],
        "sid-SLA",
        '<boundaryEvent id="sid-SLA"',
        ["'0 0 9 * * ?' is a cron expression", "'R/2026-05-04T09:00:00+08:00/P1D'"],
        id="flowable-cron-cycle",
    ),
    pytest.param(
        "lead_grading.bpmn20.xml",
        [
            (
                """<multiInstanceLoopCharacteristics isSequential="false">
        <loopDataInputRef>leads</loopDataInputRef>
        <loopDataOutputRef>grades</loopDataOutputRef>
        <inputDataItem id="lead" name="lead"></inputDataItem>
        <outputDataItem id="graded" name="graded"></outputDataItem>
      </multiInstanceLoopCharacteristics>""",
                '<multiInstanceLoopCharacteristics isSequential="false" '
                'flowable:collection="${leadService.open()}" flowable:elementVariable="lead">'
                "</multiInstanceLoopCharacteristics>",
            )
        ],
        "sid-EACH",
        'flowable:collection="${leadService.open()}"',
        [
            "flowable:collection='${leadService.open()}'",
            "compute the list into a variable first",
        ],
        id="flowable-multi-instance-collection",
    ),
    pytest.param(
        "lead_assignment.bpmn",
        [  # Camunda BPM 7.0-7.3 wrote camunda: for Activiti's namespace
            (
                'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
                'xmlns:camunda="http://activiti.org/bpmn"',
            ),
            (HOT_CALL, HOT_CALL + ' camunda:formKey="embedded:app:forms/hot-call.html"'),
        ],
        "Activity_0hotcall",
        HOT_CALL,
        ["camunda:formKey='embedded:app:forms/hot-call.html'", "formJsonSchemaFilename"],
        id="camunda-7-3-activiti-namespace",
    ),
]


@pytest.mark.parametrize(("name", "changes", "element", "at", "expected"), EXPORTED)
def test_a_setting_as_the_tool_exported_it_is_refused_with_what_to_write(
    owner, db, name, changes, element, at, expected
):
    text = edited(name, *changes)
    files = [(n, text if n == name else diagram(n)) for n in BUNDLES[name]]
    details = refused(upload(owner, *files))
    assert {d["element_id"] for d in details} == {element}, details
    assert {d["file"] for d in details} == {name}
    assert line_in(at, text) in {d["line"] for d in details}, details
    said = " | ".join(d["message"] for d in details)
    for words in expected:
        assert words in said, said
    nothing_deployed(db)


def test_juel_conditions_as_camunda_and_flowable_exported_them_run(owner, agent, make_customer, db):
    """They were refused with the Python to write; they run as the Java engines run them."""
    name = "lead_assignment.bpmn"
    text = edited(name, ('grade == "A" and hot<', '${grade == "A" &amp;&amp; !empty hot}<'))
    cadence = edited(
        "call_cadence.bpmn20.xml", ("<![CDATA[callbacks >= 2]]>", "<![CDATA[${callbacks ge 2}]]>")
    )
    others = [(n, cadence if n == "call_cadence.bpmn20.xml" else diagram(n)) for n in LEADS[1:]]
    response = upload(owner, (name, text), *others)
    assert response.status_code in (200, 201), response.get_json()
    customer = make_customer()
    started = agent.start("lead_assignment", lead(customer.id, "referral", 60000))
    assert [t["name"] for t in started["ready_tasks"]] == ["Activity_0hotcall"]
    assert deals_of(db, customer.id) == [("referral lead, grade A", "60000.00", "qualification")]


# -- assignments that say what the drawing does: honoured, not refused ---------------------------

ORDER_START = '<bpmn:startEvent id="StartEvent_1" name="合同已发 Contract sent"'
DELIVERY = '<bpmn:userTask id="Activity_0delivery" name="预约交付 Book the delivery"'
TRAINING = '<bpmn:userTask id="Activity_1training" name="安排培训 Schedule the training"'


def test_the_starter_as_assignee_outside_every_lane_deploys_and_works_as_camunda_would(
    owner, agent, actor, make_customer, db
):
    """Camunda Modeler's ``camunda:initiator`` with ``camunda:assignee="${initiator}"`` on tasks
    outside every lane is what Dialflow does: it was refused on all three elements."""
    text = edited(
        "order_confirmation.bpmn",
        (ORDER_START, ORDER_START + ' camunda:initiator="initiator"'),
        (DELIVERY, DELIVERY + ' camunda:assignee="${initiator}"'),
        (TRAINING, TRAINING + ' camunda:assignee="${initiator}"'),
    )
    response = upload(owner, ("order_confirmation.bpmn", text))
    assert response.status_code in (200, 201), response.get_json()
    customer = make_customer(actor=agent.user)
    deal_id = open_deal(agent, customer.id)
    started = agent.start(
        "order_confirmation",
        {"customer_id": customer.id, "deal_id": deal_id, "order_no": "SO-9"},
        business_key="SO-9",
    )
    assert confirm(agent, "SO-9", ["delivery", "training"]).status_code == 202
    tasks = agent.instance(started["id"])["ready_tasks"]
    assert [t["candidates"] for t in tasks] == [["user:agent_east"]] * 2
    other = actor("agent", username="colleague", team="East")
    for task in tasks:
        assert other.complete(task["id"]).status_code in (403, 409)
        done = agent.complete_ok(task["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert deals_of(db, customer.id) == [("坐席年费", "9000.00", "won")]


def test_an_initiator_variable_a_script_reads_holds_the_starters_username(
    owner, agent, make_customer
):
    """It was refused: Dialflow did not set the variable, the script would have failed."""
    text = edited(
        "order_confirmation.bpmn",
        (ORDER_START, ORDER_START + ' camunda:initiator="initiator"'),
        (DELIVERY, DELIVERY + ' camunda:assignee="${initiator}"'),
        (
            "<bpmn:script>chases = 0</bpmn:script>",
            "<bpmn:script>chases = 0\nby = initiator</bpmn:script>",
        ),
    )
    response = upload(owner, ("order_confirmation.bpmn", text))
    assert response.status_code in (200, 201), response.get_json()
    customer = make_customer(actor=agent.user)
    deal_id = open_deal(agent, customer.id)
    started = agent.start(
        "order_confirmation",
        {"customer_id": customer.id, "deal_id": deal_id, "order_no": "SO-10"},
        business_key="SO-10",
    )
    assert (started["data"]["initiator"], started["data"]["by"]) == (agent.username,) * 2


LEADER = '<userTask id="sid-LEADER" name="组长审批 Team leader approves"'
MGR = '<userTask id="sid-MGR" name="经理审批 Manager approves"'


def test_candidate_groups_naming_the_tasks_own_lane_deploy_and_run_in_that_lane(
    owner, agent, manager, director, make_customer, db
):
    """Activiti's modeler writes the group beside the lane; it was refused though it agreed."""
    text = edited(
        "quote_approval.bpmn",
        (LEADER, LEADER + ' activiti:candidateGroups="manager"'),
        (MGR, MGR + ' activiti:candidateGroups="Director"'),
    )
    response = upload(
        owner, ("quote_approval.bpmn", text), ("discount_tier.dmn", diagram(QUOTES[1]))
    )
    assert response.status_code in (200, 201), response.get_json()
    customer = make_customer()
    after = prepared(agent, customer.id, 0.12)
    (approve,) = after["ready_tasks"]
    assert (approve["lane"], approve["candidates"]) == ("manager", ["group:manager"])
    assert agent.complete(approve["id"]).status_code == 403
    after = manager.complete_ok(approve["id"], {"decision": "approve"})
    assert sent(agent, after)["status"] == "completed"


def test_candidate_groups_other_than_the_lane_decide_who_works_the_task(
    owner, agent, manager, director, make_customer
):
    """It was refused with the lane to use; as Activiti and Camunda read it, the group it
    names works the task, and the lane is the drawing."""
    text = edited("quote_approval.bpmn", (LEADER, LEADER + ' activiti:candidateGroups="director"'))
    response = upload(
        owner, ("quote_approval.bpmn", text), ("discount_tier.dmn", diagram(QUOTES[1]))
    )
    assert response.status_code in (200, 201), response.get_json()
    after = prepared(agent, make_customer().id, 0.12)
    (approve,) = after["ready_tasks"]
    assert (approve["lane"], approve["candidates"]) == ("manager", ["group:director"])
    assert manager.complete(approve["id"]).status_code == 403
    after = director.complete_ok(approve["id"], {"decision": "approve"})
    assert sent(agent, after)["status"] == "completed"


def test_the_iso_cycle_a_cron_refusal_suggests_deploys_and_reminds_every_morning(
    timed: Timed, make_customer, db
):
    """Quartz's daily ``0 0 9 * * ?`` as the ISO 8601 cycle the refusal suggests."""
    text = edited(COMPLAINT, (SLA_TIMER, CRON_TIMER)).decode()
    (detail,) = refused(upload(timed.owner, (COMPLAINT, text.encode())))
    suggested = re.search(r"such as ('R/[^']+')", detail["message"]).group(1)
    fixed = text.replace(CRON_TIMER, f'<timeCycle>"{suggested[1:-1]}"</timeCycle>')
    response = upload(timed.owner, (COMPLAINT, fixed.encode()))
    assert response.status_code in (200, 201), response.get_json()
    boss = timed.actor("manager", username="boss", team="East")
    customer = make_customer()
    logged(timed.agent, customer.id)  # on Monday at 09:00 Shanghai: the cycle's start
    # due at once: 09:00 today, when the subprocess began
    assert notifications_of(db, boss) == ["Complaint TS-42 open for 2 days"]
    assert timed.advance(hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1  # 09:00 tomorrow
    assert notifications_of(db, boss) == ["Complaint TS-42 open for 2 days"] * 2


REQUOTE = diagram("requote.bpmn20.xml").decode()


def test_activitis_initiator_and_global_signal_deploy_and_each_starter_quotes_again(
    owner, agent, actor
):
    """Activiti 6 Modeler's ``$INITIATOR`` with the start event's ``activiti:initiator`` and a
    signal of ``activiti:scope="global"``: what Dialflow does; it was refused on all three."""
    response = upload(owner, ("requote.bpmn20.xml", REQUOTE.encode()))
    assert response.status_code in (200, 201), response.get_json()
    other = actor("agent", username="li_na", team="East")
    mine, theirs = agent.start("requote"), other.start("requote")
    sent = agent.post("/api/v1/signals", json={"name": "price_changed"})
    assert sent.status_code == 202, sent.get_json()
    assert sorted(sent.get_json()["delivered_to"]) == sorted([mine["id"], theirs["id"]])
    for who, started in ((agent, mine), (other, theirs)):
        (task,) = who.instance(started["id"])["ready_tasks"]
        assert task["candidates"] == [f"user:{who.username}"]
        assert who.complete_ok(task["id"], {})["status"] == "completed"


def test_a_signal_scoped_to_its_instance_is_refused_with_the_message_to_send(owner, db):
    text = REQUOTE.replace('activiti:scope="global"', 'activiti:scope="processInstance"')
    details = refused(upload(owner, ("requote.bpmn20.xml", text.encode())))
    assert [(d["element_id"], d["line"]) for d in details] == [
        ("priceChanged", line_in('<signal id="priceChanged"', text))
    ]
    assert "send a message correlated by its business key" in details[0]["message"]
    nothing_deployed(db)
