"""A sixth round of unseen diagrams, written by hand from the BPMN 2.0 specification (or by a
language model) rather than exported by a modeler: no diagram interchange, default or odd
namespace prefixes, ids that are UUIDs or Chinese, names with entities and line breaks,
``<documentation>`` and empty ``<extensionElements>`` everywhere, conditions in every way the
schema allows. Each is deployed through the API and run end to end; then the mistakes such
files carry, each refused with ``422 invalid_bpmn`` on its element and nothing deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from crm.models import Call, Customer, Deal, DealStageChange
from engine.hit_policies import rewrite_tree
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

ROUND6 = DiagramFolder("round6")
diagram, edited, deploy, line_of = ROUND6.read, ROUND6.edited, ROUND6.deploy, ROUND6.line_of


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


# -- lead triage: Chinese and UUID ids, nested lanes, every way to write a condition ---------

QUALIFY = "_7c4b3a29-1e0f-4d8c-b6a5-9f8e7d6c5b4a"
REVIEW = "_e1d2c3b4-a596-4877-8899-aabbccddeeff"
TRIAGE = "线索分拣"


def start_triage(agent: Actor, customer_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    started = agent.start(TRIAGE, {"customer_id": customer_id}, business_key=str(customer_id))
    (qualify,) = started["ready_tasks"]
    assert (qualify["name"], qualify["lane"]) == (QUALIFY, "agent")
    assert qualify["title"] == "Qualify & score\nthe lead"
    return started, qualify


def finish_branches(agent: Actor, after: dict[str, Any], offer: str) -> dict[str, Any]:
    """The parallel split's third branch, outside every lane, is the starter's."""
    (prepare,) = after["ready_tasks"]
    assert prepare["name"] == "准备报价" and prepare["lane"] is None, prepare
    assert only(agent.tasks("mine=1"), id=prepare["id"])
    return agent.complete_ok(prepare["id"], {"offer": offer})


@pytest.mark.parametrize(
    ("form", "path", "contact"),
    [
        ({"budget": 50000, "region": "East", "vip": False, "channel": "phone"}, "big", "call"),
        ({"budget": 5000, "region": "East", "vip": False, "channel": "mail"}, "small", "mail"),
        ({"budget": 50000, "region": "West", "vip": False, "channel": None}, "small", "mail"),
        ({"budget": None, "region": "East", "vip": True, "channel": "phone"}, "nurture", "call"),
    ],
    ids=["big-goes-to-the-manager", "small", "big-out-of-region-is-small", "unknown-vip"],
)
def test_triage_takes_the_path_its_conditions_say(
    owner, agent, manager, make_customer, db, form, path, contact
):
    assert deploy(owner, "triage_by_hand.bpmn")["process_ids"] == [TRIAGE]
    customer = make_customer(name="Sun Li")
    _started, qualify = start_triage(agent, customer.id)
    after = agent.complete_ok(qualify["id"], {**form, "decision": "go"})
    if path == "big":
        (review,) = after["ready_tasks"]
        assert (review["name"], review["lane"]) == (REVIEW, "manager")
        assert review["title"] == "Review a big lead"
        assert agent.complete(review["id"], {"decision": "go"}).status_code == 403
        manager.post(f"/api/v1/tasks/{review['id']}/claim")
        after = manager.complete_ok(review["id"], {"decision": "go"})
    done = finish_branches(agent, after, "standard")
    assert done["status"] == "completed", done["incidents"]
    data = done["data"]
    assert data["contact"] == contact
    assert data["summary"] == f"{contact}:standard"
    assert ("path" in data) == (path == "nurture")
    assert ("call_at" in data) == (contact == "call")
    assert notes_of(db, customer.id) == [f"Triage: {form['region']} / {form['budget']}"]


@pytest.mark.parametrize("who", ["manager drops", "small, not vip", "unknown, not vip"])
def test_triage_dropped_at_the_mixed_gateway_writes_nothing(
    owner, agent, manager, make_customer, db, who
):
    deploy(owner, "triage_by_hand.bpmn")
    customer = make_customer()
    _started, qualify = start_triage(agent, customer.id)
    form = {
        "manager drops": {"budget": 20000, "region": "North", "vip": False, "decision": "go"},
        "small, not vip": {"budget": 100, "region": "North", "vip": False, "decision": "drop"},
        "unknown, not vip": {"budget": None, "region": "North", "vip": False, "decision": "go"},
    }[who]
    after = agent.complete_ok(qualify["id"], {**form, "channel": "phone"})
    if who == "manager drops":
        (review,) = after["ready_tasks"]
        manager.post(f"/api/v1/tasks/{review['id']}/claim")
        after = manager.complete_ok(review["id"], {"decision": "drop"})
    assert after["status"] == "completed", after["incidents"]
    assert after["ready_tasks"] == []
    assert notes_of(db, customer.id) == []
    assert "contact" not in after["data"]
    xml = owner.get(f"/api/v1/process-models/{TRIAGE}/versions/1/bpmn")
    assert xml.status_code == 200 and "线索分拣" in xml.get_data(as_text=True)


# -- offer: PRIORITY and RULE ORDER decisions uploaded with the diagram, an inclusive split
#    with a default flow, CRM writes ---------------------------------------------------------


def deals_of(db: Any, customer_id: int) -> list[tuple[str, str, str]]:
    with db() as session:
        return [
            (deal.title, deal.stage.value, str(deal.amount))
            for deal in session.scalars(
                select(Deal).where(Deal.customer_id == customer_id).order_by(Deal.id)
            )
        ]


def calls_of(db: Any, customer_id: int) -> list[tuple[str, int]]:
    with db() as session:
        return [
            (call.disposition.value, call.duration_s)
            for call in session.scalars(
                select(Call).where(Call.customer_id == customer_id).order_by(Call.id)
            )
        ]


@pytest.mark.parametrize(
    ("seats", "segment", "tier", "discount", "extras"),
    [
        (80, "enterprise", "gold", 20, ["onsite visit"]),
        (80, "smb", "bronze", 5, ["onsite visit", "newsletter"]),
        (20, "smb", "silver", 10, ["onsite visit", "newsletter"]),
        (20, "consumer", "bronze", 5, ["newsletter"]),
        (5, "enterprise", "bronze", 5, ["demo"]),
        (60, "consumer", "bronze", 5, ["newsletter"]),
    ],
)
def test_offer_decides_by_priority_and_rule_order_then_splits(
    owner, agent, make_customer, db, seats, segment, tier, discount, extras
):
    deployed = deploy(owner, "offer_by_hand.bpmn", "discount_tier.dmn", "offer_extras.dmn")
    assert deployed["process_ids"] == ["r6_offer"]
    customer = make_customer(name="Offer Co")
    started = agent.start(
        "r6_offer", {"customer_id": customer.id, "seats": seats, "segment": segment}
    )
    assert started["status"] == "running", started["incidents"]
    data = started["data"]
    assert (data["tier"], data["discount"], data["extras"]) == (tier, discount, extras)
    deal = tier in ("gold", "silver")
    tagged = "demo" in extras or "onsite visit" in extras
    amount = seats * 100 * (100 - discount) // 100
    expected_deals = [(f"{tier.title()} offer, {seats} seats", "qualification", f"{amount}.00")]
    assert deals_of(db, customer.id) == (expected_deals if deal else [])
    with db() as session:
        stored = session.get(Customer, customer.id)
        assert (stored.source == "demo request") == tagged
    # the default flow only when no condition held
    assert notes_of(db, customer.id) == ([] if deal or tagged else [f"No offer: {tier}"])
    (confirm,) = started["ready_tasks"]
    assert (confirm["name"], confirm["lane"]) == ("offer_confirm", "agent")
    done = agent.complete_ok(confirm["id"], {"accepted": True, "minutes": 3})
    assert done["status"] == "completed", done["incidents"]
    assert calls_of(db, customer.id) == [("connected_interested", 180)]
    assert deals_of(db, customer.id) == (expected_deals if deal else [])  # written once
    customer_api = agent.get(f"/api/v1/customers/{customer.id}").get_json()
    assert (customer_api["source"] == "demo request") == tagged


# -- contract: a call activity of another file, its errors and escalation -------------------


def stage_changes(db: Any, deal_id: int) -> list[tuple[str, str | None]]:
    with db() as session:
        return [
            (row.to_stage.value, row.comment)
            for row in session.scalars(
                select(DealStageChange)
                .where(DealStageChange.deal_id == deal_id)
                .order_by(DealStageChange.id)
            )
        ]


def start_contract(owner: Actor, agent: Actor, customer_id: int) -> tuple[dict, dict, int]:
    """Both files in one deploy; the agent prepares; the manager's check is the next task."""
    assert deploy(owner, "contract_main.bpmn", "contract_check.bpmn")["process_ids"] == [
        "r6_contract",
        "r6_contract_check",
    ]
    made = agent.post(
        "/api/v1/deals", json={"customer_id": customer_id, "title": "Licence", "amount": "900"}
    )
    assert made.status_code == 201, made.get_json()
    deal_id = made.get_json()["id"]
    started = agent.start("r6_contract", {"deal_id": deal_id, "agent_name": agent.username})
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("main_prepare", "agent")
    after = agent.complete_ok(prepare["id"])
    (check,) = after["ready_tasks"]
    assert (check["name"], check["lane"]) == ("check_papers", "manager")
    return started, check, deal_id


def check_as(manager: Actor, check: dict[str, Any], verdict: str) -> dict[str, Any]:
    assert manager.post(f"/api/v1/tasks/{check['id']}/claim").status_code == 200
    return manager.complete_ok(check["id"], {"verdict": verdict})


@pytest.mark.parametrize(
    ("verdicts", "stages", "next_task", "told"),
    [
        (["ok"], [("won", None)], None, 0),
        (["fraud"], [("lost", "fraud suspected")], None, 0),
        (["missing"], [], "main_fix", 0),
        (["slow", "slow", "ok"], [("won", None)], None, 2),
        (["slow", "fraud"], [("lost", "fraud suspected")], None, 1),
    ],
    ids=["ok", "fraud-by-code", "missing-to-catch-all", "slow-twice-then-ok", "slow-then-fraud"],
)
def test_contract_check_errors_and_escalations_reach_the_call_activity(
    owner, agent, manager, make_customer, db, verdicts, stages, next_task, told
):
    customer = make_customer(name="Contract Ltd")
    _started, check, deal_id = start_contract(owner, agent, customer.id)
    for verdict in verdicts:
        after = check_as(manager, check, verdict)
        if verdict == "slow":
            (check,) = [t for t in after["ready_tasks"] if t["name"] == "check_papers"]
            assert check["lane"] == "manager"
    assert stage_changes(db, deal_id)[1:] == stages
    assert len(notifications_of(db, agent)) == told
    if next_task:
        (task,) = after["ready_tasks"]
        assert (task["name"], task["lane"]) == (next_task, "agent")
        after = agent.complete_ok(task["id"])
    assert after["status"] == "completed", after["incidents"]
    assert after["ready_tasks"] == [] and manager.tasks() == []


def test_two_managers_completing_the_called_check_at_once_win_the_deal_once(
    app, owner, agent, actor, make_customer, db
):
    """Both managers may work the called process's task; pressed at the same moment, one
    completion wins, the other is a 409, and the caller's service task writes the stage once."""
    first, second = actor("manager", username="boss1"), actor("manager", username="boss2")
    customer = make_customer(name="Race Ltd")
    _started, check, deal_id = start_contract(owner, agent, customer.id)
    url = f"/api/v1/tasks/{check['id']}/complete"
    results = post_together(
        app,
        url,
        [
            (first.headers, {"data": {"verdict": "ok"}}),
            (second.headers, {"data": {"verdict": "ok"}}),
        ],
    )
    assert sorted(status for status, _body in results) == [200, 409], results
    assert stage_changes(db, deal_id)[1:] == [("won", None)]
    (winner,) = [body for status, body in results if status == 200]
    assert winner["status"] == "completed", winner["incidents"]


def test_output_order_lists_every_match_by_priority():
    """OUTPUT ORDER: every matching rule, highest priority first (COLLECT over sorted rules)."""
    tree = etree.fromstring(
        diagram("discount_tier.dmn").replace(b'hitPolicy="PRIORITY"', b'hitPolicy="OUTPUT ORDER"')
    )
    rewrite_tree(tree)
    table = tree.find(".//{*}decisionTable")
    assert table.get("hitPolicy") == "COLLECT"
    assert [rule.get("id") for rule in table.iter("{*}rule")] == ["r_big", "r_team", "r_any"]


# -- callback: boundary timers written with quoted ISO durations --------------------------------


def test_callback_reminds_after_a_day_and_expires_after_two(timed: Timed, make_customer, db):
    deploy(timed.owner, "callback_timers.bpmn")
    customer = make_customer()
    started = timed.agent.start(
        "r6_callback", {"customer_id": customer.id, "agent_name": timed.agent.username}
    )
    (call,) = started["ready_tasks"]
    waits = sorted(w["due_at"] for w in timed.agent.instance(started["id"])["waiting"])
    assert waits == ["2026-05-05T01:00:00+00:00", "2026-05-06T01:00:00+00:00"], waits
    assert timed.advance(hours=24, seconds=1) == 1
    now = timed.agent.instance(started["id"])
    assert [t["id"] for t in now["ready_tasks"]] == [call["id"]]
    assert notifications_of(timed.runtime.db.unit_of_work, timed.agent) == [
        f"Call customer {customer.id} back today"
    ]
    assert timed.advance(hours=24, seconds=1) == 1
    done = timed.agent.instance(started["id"])
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Callback missed"]
    assert timed.agent.complete(call["id"]).status_code == 409


def test_callback_made_in_time_waits_two_days_for_the_follow_up(timed: Timed, make_customer, db):
    deploy(timed.owner, "callback_timers.bpmn")
    customer = make_customer()
    started = timed.agent.start(
        "r6_callback", {"customer_id": customer.id, "agent_name": timed.agent.username}
    )
    timed.advance(hours=3)
    after = timed.agent.complete_ok(started["ready_tasks"][0]["id"])
    assert after["ready_tasks"] == [] and after["status"] == "waiting"
    (wait,) = after["waiting"]
    assert wait["due_at"] == "2026-05-06T04:00:00+00:00"
    assert timed.advance(hours=47) == 0
    assert timed.advance(hours=1, seconds=1) == 1
    (follow,) = timed.agent.instance(started["id"])["ready_tasks"]
    assert follow["name"] == "cb_follow"
    assert timed.agent.complete_ok(follow["id"])["status"] == "completed"
    assert notes_of(db, customer.id) == []
    assert notifications_of(timed.runtime.db.unit_of_work, timed.agent) == []


# -- price watch: a message start, a signal between branches, a message by business key ------


def test_price_watch_started_by_a_message_hears_its_own_signal(owner, agent):
    deploy(owner, "price_watch.bpmn")
    sent = agent.post(
        "/api/v1/messages",
        json={"name": "quote_requested", "business_key": "Q-1", "payload": {"price": 100}},
    )
    assert sent.status_code == 202, sent.get_json()
    (instance_id,) = sent.get_json()["delivered_to"]
    instance = agent.instance(instance_id)
    assert instance["business_key"] == "Q-1" and instance["data"]["price"] == 100
    print(instance["waiting"])
    (decide,) = instance["ready_tasks"]
    assert (decide["name"], decide["lane"]) == ("pw_decide", "agent")
    after = agent.complete_ok(decide["id"], {"price": 90})
    # each branch works on its copy of the data: the reprice script ran after the signal,
    # with the price as its branch had it; the join takes the decided price
    assert (after["data"]["repriced"], after["data"]["price"]) == (100, 90)
    assert after["status"] == "waiting", after["incidents"]
    assert [w["name"] for w in after["waiting"]] == ["contract_signed"]
    wrong = agent.post("/api/v1/messages", json={"name": "contract_signed", "business_key": "Q-2"})
    assert wrong.status_code == 404
    signed = agent.post("/api/v1/messages", json={"name": "contract_signed", "business_key": "Q-1"})
    assert signed.get_json()["delivered_to"] == [instance_id]
    assert agent.instance(instance_id)["status"] == "completed"


# -- what hand-written files get wrong: each refused on its element, nothing deployed ---------

TIMERS, CHECK, MAIN, WATCH = (
    "callback_timers.bpmn",
    "contract_check.bpmn",
    "contract_main.bpmn",
    "price_watch.bpmn",
)
OFFER = ["offer_by_hand.bpmn", "offer_extras.dmn"]
CHANNEL_CONDITION = (
    '<conditionExpression xsi:type="tFormalExpression">'
    'channel == "phone" and channel != None</conditionExpression>'
)
REMIND_TIMER = """      <timerEventDefinition id="cb_remind_def">
        <timeDuration xsi:type="tFormalExpression">"PT24H"</timeDuration>
      </timerEventDefinition>
"""
WAIT_TIMER = """      <timerEventDefinition id="cb_wait_def">
        <timeDuration xsi:type="tFormalExpression">"PT48H"</timeDuration>
      </timerEventDefinition>
"""
QUALIFY_DOC = "<documentation>The agent enters budget, region, vip and channel.</documentation>"
EXPIRE_TIMER = """      <timerEventDefinition id="cb_expire_def">
        <timeDuration xsi:type="tFormalExpression">"P2D"</timeDuration>
      </timerEventDefinition>"""

# case → (file, its changes, other files of the deploy, {element id: fragment of its message})
VARIANTS: dict[str, tuple[str, list[tuple[str, str]], list[str], dict[str | None, str]]] = {
    # found in this round: deployed and ran otherwise
    "catch event waiting for nothing": (  # the path went straight through it
        TIMERS,
        [(WAIT_TIMER, "")],
        [],
        {"cb_wait": "has no event definition, so it would wait for nothing"},
    ),
    "boundary event catching nothing": (
        TIMERS,
        [(REMIND_TIMER, "")],
        [],
        {"cb_remind": "has no event definition, so it would never be triggered"},
    ),
    "task listed in two sibling lanes": (  # it went to the last lane, silently
        TRIAGE_FILE := "triage_by_hand.bpmn",
        [
            (
                "<flowNodeRef>渠道汇合</flowNodeRef>",
                "<flowNodeRef>渠道汇合</flowNodeRef><flowNodeRef>准备报价</flowNodeRef>",
            ),
            (
                f"<flowNodeRef>{REVIEW}</flowNodeRef>\n          </lane>",
                f"<flowNodeRef>{REVIEW}</flowNodeRef>\n"
                "            <flowNodeRef>准备报价</flowNodeRef>\n"
                "          </lane>",
            ),
        ],
        [],
        {"经理": "'准备报价', which lane '坐席' (agent) of the same lane set lists too"},
    ),
    "PRIORITY table without output values": (
        "discount_tier.dmn",
        [
            (
                '<outputValues id="out_tier_values">'
                '<text>"gold","silver","bronze"</text></outputValues>',
                "",
            )
        ],
        OFFER,
        {"tier_table": "no output lists its values (<outputValues>"},
    ),
    "PRIORITY rule with a value not listed": (
        "discount_tier.dmn",
        [('<text>"silver"</text></outputEntry>', '<text>"platinum"</text></outputEntry>')],
        OFFER,
        {"r_team_3": "'\"platinum\"' of rule 'r_team' is not one of the output's values"},
    ),
    # said in plain words in this round (were libxml2's or the parser's)
    "incoming after outgoing": (
        TIMERS,
        [
            (
                "      <incoming>cb1</incoming>\n      <outgoing>cb2</outgoing>",
                "      <outgoing>cb2</outgoing>\n      <incoming>cb1</incoming>",
            )
        ],
        [],
        {"cb_call": "<incoming> is out of order in <userTask> 'cb_call'"},
    ),
    "script before incoming": (
        TRIAGE_FILE,
        [
            (
                "      <incoming>c_mail</incoming>\n      <outgoing>c_2</outgoing>\n"
                '      <script>contact = "mail"</script>',
                '      <script>contact = "mail"</script>\n      <incoming>c_mail</incoming>\n'
                "      <outgoing>c_2</outgoing>",
            )
        ],
        [],
        {"邮件": "move it before <script>"},
    ),
    "event definition before outgoing": (
        TIMERS,
        [
            (
                f"      <outgoing>cb_x</outgoing>\n{EXPIRE_TIMER}",
                f"{EXPIRE_TIMER}\n      <outgoing>cb_x</outgoing>",
            )
        ],
        [],
        {"cb_expire": "move it before <timerEventDefinition>"},
    ),
    "documentation after extensionElements": (
        TRIAGE_FILE,
        [
            (
                f"      {QUALIFY_DOC}\n      <extensionElements/>",
                f"      <extensionElements/>\n      {QUALIFY_DOC}",
            )
        ],
        [],
        {QUALIFY: "move it before <extensionElements>"},
    ),
    "documentation directly in definitions": (
        TIMERS,
        [
            (
                '  <process id="r6_callback"',
                '  <documentation>Callbacks</documentation>\n  <process id="r6_callback"',
            )
        ],
        [],
        {"cb_defs": "<documentation> cannot stand directly in <definitions>"},
    ),
    "timer with a duration and a date": (
        TIMERS,
        [
            (
                '"PT48H"</timeDuration>',
                '"PT48H"</timeDuration>'
                '<timeDate xsi:type="tFormalExpression">"2026-06-01"</timeDate>',
            )
        ],
        [],
        {"cb_wait_def": "A timer has one of timeDate, timeDuration or timeCycle"},
    ),
    "two default flows": (
        TRIAGE_FILE,
        [('default="f_unknown"', 'default="f_unknown f_small"')],
        [],
        {"分流": "a gateway has one default flow"},
    ),
    "empty condition": (
        TRIAGE_FILE,
        [(CHANNEL_CONDITION, '<conditionExpression xsi:type="tFormalExpression"/>')],
        [],
        {"c_phone": "without a condition (or with an empty one) and is not the gateway's default"},
    ),
    "call activity without calledElement": (
        MAIN,
        [(' calledElement="r6_contract_check"', "")],
        [CHECK],
        {"main_check": 'add calledElement="<process id>"'},
    ),
    # refused before this round too
    "flow to a missing Chinese id": (
        TRIAGE_FILE,
        [('sourceRef="培育" targetRef="汇合"/>', 'sourceRef="培育" targetRef="汇合点"/>')],
        [],
        {
            "f4": "targetRef '汇合点', which is no element of the model",
            "汇合": "lists incoming 'f4', but that sequence flow enters '汇合点'",
        },
    ),
    "condition on the default flow": (
        TRIAGE_FILE,
        [
            (
                '<sequenceFlow id="f_unknown" name="unknown" sourceRef="分流" targetRef="培育"/>',
                '<sequenceFlow id="f_unknown" sourceRef="分流" targetRef="培育">'
                '<conditionExpression xsi:type="tFormalExpression">budget is None'
                "</conditionExpression></sequenceFlow>",
            )
        ],
        [],
        {"f_unknown": "is the default flow of '分流' and has a condition"},
    ),
    "condition after a parallel split": (
        TRIAGE_FILE,
        [
            (
                '<sequenceFlow id="p_a" sourceRef="并行开始" targetRef="记录备注"/>',
                '<sequenceFlow id="p_a" sourceRef="并行开始" targetRef="记录备注">'
                '<conditionExpression xsi:type="tFormalExpression">True'
                "</conditionExpression></sequenceFlow>",
            )
        ],
        [],
        {"p_a": "parallelGateway '并行开始', which takes every outgoing flow"},
    ),
    "condition written as JavaScript": (
        TRIAGE_FILE,
        [
            (
                CHANNEL_CONDITION,
                '<conditionExpression xsi:type="tFormalExpression">'
                'channel == "phone" &amp;&amp; channel != null</conditionExpression>',
            )
        ],
        [],
        {"c_phone": "is not a valid Python expression"},
    ),
    "nested lane lists a missing task": (
        TRIAGE_FILE,
        [
            (
                f"<flowNodeRef>{REVIEW}</flowNodeRef>\n          </lane>",
                f"<flowNodeRef>{REVIEW}</flowNodeRef>\n"
                "            <flowNodeRef>审批</flowNodeRef>\n"
                "          </lane>",
            )
        ],
        [],
        {"经理": "lists flowNodeRef '审批', which is no element of the model"},
    ),
    "Chinese id given twice": (
        TRIAGE_FILE,
        [('<scriptTask id="邮件"', '<scriptTask id="电话"')],
        [],
        {
            "电话": "is given to 2 elements of this file",
            # what named the renamed task now names nothing
            "c_mail": "targetRef '邮件'",
            "c_2": "sourceRef '邮件'",
            "坐席": "lists flowNodeRef '邮件'",
        },
    ),
    "escalationRef to nothing": (
        MAIN,
        [('escalationRef="esc_slow_main"', 'escalationRef="esc_slowly"')],
        [CHECK],
        {"main_on_slow": "escalationRef 'esc_slowly' names no <bpmn:escalation>"},
    ),
    "misspelt duration on a boundary timer": (
        TIMERS,
        [('>"P2D"<', ">P2X<")],
        [],
        {"cb_expire": "timer value 'P2X' is not a valid ISO 8601 duration"},
    ),
    "misspelt duration without a type": (
        TIMERS,
        [
            (
                '<timeDuration xsi:type="tFormalExpression">"PT24H"</timeDuration>',
                "<timeDuration>PT24X</timeDuration>",
            )
        ],
        [],
        {"cb_remind": "timer value 'PT24X' is not a valid ISO 8601 duration"},
    ),
    "the only process not executable": (
        TIMERS,
        [('isExecutable="true"', 'isExecutable="false"')],
        [],
        {"r6_callback": 'isExecutable="false"'},
    ),
    "namespace with a trailing space": (
        TIMERS,
        [
            (
                'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"',
                'xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL "',
            )
        ],
        [],
        {None: "'http://www.omg.org/spec/BPMN/20100524/MODEL ' is not a valid URI"},
    ),
    "namespace of a BPMN draft": (
        TIMERS,
        [("BPMN/20100524/MODEL", "BPMN/20100501/MODEL")],
        [],
        {"cb_defs": "is no BPMN 2.0 file"},  # the root, by its id
    ),
    "xsi prefix not declared": (
        TIMERS,
        [('\n             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"', "")],
        [],
        {"cb_remind": 'declare it on the root element: xmlns:xsi="http://www.w3.org/2001/'},
    ),
    "HTML entity in a name": (
        TRIAGE_FILE,
        [('name="Review a big lead"', 'name="Review&nbsp;a big lead"')],
        [],
        {None: "Entity 'nbsp' not defined"},
    ),
    "message start naming no message": (
        WATCH,
        [(' messageRef="pw_msg_request"', "")],
        [],
        {"pw_start": "has no messageRef"},
    ),
    # Signals are broadcast between instances: a catch nothing in its own process throws
    # deploys (``test_signals.py``); one naming a signal the file does not define does not.
    "signal catch naming no signal": (
        WATCH,
        [
            (
                '<signalEventDefinition id="pw_hear_def" signalRef="pw_sig"/>',
                '<signalEventDefinition id="pw_hear_def" signalRef="pw_nowhere"/>',
            )
        ],
        [],
        {"pw_hear": "pw_nowhere"},
    ),
}


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_hand_written_mistakes_are_refused_on_their_element(owner, db, case):
    name, changes, others, expected = VARIANTS[case]
    files = [(name, edited(name, *changes))] + [(other, diagram(other)) for other in others]
    details = refused(upload(owner, *files))
    found = by_element(details)
    for element, fragment in expected.items():
        assert element in found, (case, details)
        assert fragment in found[element], (case, found[element])
    if None not in expected:  # said on the elements to change, with their file and line
        assert set(found) == set(expected), (case, details)
        for detail in details:
            assert isinstance(detail["line"], int) and detail["file"] == name, detail
    nothing_deployed(db)


def test_an_order_problem_points_at_the_line_to_move(owner, db):
    name = TIMERS
    text = edited(
        name,
        (
            "      <incoming>cb1</incoming>\n      <outgoing>cb2</outgoing>",
            "      <outgoing>cb2</outgoing>\n      <incoming>cb1</incoming>",
        ),
    )
    (detail,) = refused(upload(owner, (name, text)))
    outgoing_line = line_of("<outgoing>cb2</outgoing>", name)
    assert detail["line"] == outgoing_line  # the misplaced <incoming>, where <outgoing> was
    assert detail["message"].endswith(f"move it before <outgoing> (line {outgoing_line - 1})")
    nothing_deployed(db)
