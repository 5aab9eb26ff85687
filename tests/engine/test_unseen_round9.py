"""A ninth round of unseen diagrams: SpiffArena's own modeler output with its extensions
(pre- and post-scripts on every kind of task, instructions, JSON-Schema and UI-schema forms,
service task parameters given as expressions, ``calledDecisionId``, a message caught into a
``messageVariable`` and correlated by a correlation key and property as SpiffArena writes
them, a message thrown with a ``messagePayload`` that starts another process); a call cadence
split across three files as a Lucidchart export lays it out (the cadence, the call round it
calls and the decision it asks); and a large lead-to-order process of four lanes priced three
subprocesses deep. They combine what earlier rounds combined less: an event-based gateway
waiting for a message, a date timer with an offset and a signal; a cycle ``R3/PT1H`` and a
duration on the boundary of a call activity, with an escalation from the called process caught
without interrupting it; a date timer and a duration on an expanded subprocess; an error end
event inside a parallel multi-instance subprocess; a COLLECT decision feeding a multi-instance
task, decided again in a loop; the caller's ``lane_owners`` deciding who works in the called
process's lane; lanes drawn inside a subprocess. What runs is run end to end through the API;
what Dialflow refuses is refused with ``422 invalid_bpmn`` on its element and line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Call, Customer, Deal, DealStageChange
from engine.models import ProcessInstance
from tests.engine.conftest import Actor, Timed, by_element, notes_of, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

ROUND9 = DiagramFolder("round9")
diagram, deploy = ROUND9.read, ROUND9.deploy


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="lead_east", team="East")


@pytest.fixture
def director(actor: Callable[..., Actor]) -> Actor:
    return actor("director", username="dir_east", team="East")


def closing_comments(db: Any, customer_id: int) -> list[str | None]:
    with db() as session:
        return list(
            session.scalars(
                select(DealStageChange.comment)
                .join(Deal, Deal.id == DealStageChange.deal_id)
                .where(
                    Deal.customer_id == customer_id, DealStageChange.to_stage.in_(["won", "lost"])
                )
            )
        )


def instances_of(db: Any, process_id: str) -> list[ProcessInstance]:
    with db() as session:
        return list(
            session.scalars(
                select(ProcessInstance)
                .where(ProcessInstance.process_id == process_id)
                .order_by(ProcessInstance.id)
            )
        )


def send(actor: Actor, name: str, **body: Any) -> Any:
    return actor.post("/api/v1/messages", json={"name": name, **body})


# -- quote approval (SpiffArena): a form with a UI schema and a post-script, a DMN table of two
#    outputs routing to the manager's or the director's lane, then an event-based gateway
#    waiting for the signature (a message into ``signature``, correlated by order number), a
#    date timer (18:00 Shanghai a week later, with its offset) and a price-list signal; the
#    won order is thrown with a payload that starts the after-sale process -------------------

QUOTE = (
    "arena_quote_approval.bpmn",
    "r9_approval_tier.dmn",
    "r9-quote-schema.json",
    "r9-quote-uischema.json",
    "r9-approve-schema.json",
)
AFTER_SALE = ("arena_after_sale.bpmn", "r9-satisfaction-schema.json")


def quoted(agent: Actor, customer_id: int, **form: Any) -> dict[str, Any]:
    started = agent.start("r9_arena_quote", {"customer_id": customer_id})
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"], prepare["title"]) == (
        "Activity_0prepare",
        "agent",
        "Prepare the quote",
    )
    # SpiffArena's instructions, rendered with the task's data
    assert prepare["instructions"] == (
        f"Price the seats for customer {customer_id}; the order number goes on the quote."
    )
    return agent.complete_ok(prepare["id"], form)


def waits_for_signature(view: dict[str, Any]) -> None:
    assert view["status"] == "waiting", view["incidents"]
    assert {(w["kind"], w["name"]) for w in view["waiting"]} == {
        ("message", "r9_quote_signed"),
        ("timer", "Quote expires"),
        ("signal", "r9_price_list_changed"),
    }


def sign(actor: Actor, order_no: str, signed_by: str = "Mr Qian") -> Any:
    return send(
        actor,
        "r9_quote_signed",
        correlation={"order_no": order_no},
        payload={"signed_by": signed_by},
    )


def test_a_small_quote_is_signed_and_its_order_starts_the_after_sale_call(
    timed: Timed, make_customer, db
):
    agent, owner = timed.agent, timed.owner
    assert ROUND9.deploy(owner, *QUOTE, *AFTER_SALE)["process_ids"] == [
        "r9_arena_quote",
        "r9_arena_after_sale",
    ]
    customer = make_customer()
    form = {"seats": 10, "unit_price": 100, "discount": 5, "order_no": " so-1 "}
    after = quoted(agent, customer.id, **form)
    waits_for_signature(after)
    data = after["data"]
    # the post-script of the form, the pre-script of the decision, its two outputs
    assert (data["total"], data["order_no"], data["approver"]) == (950.0, "SO-1", "none")
    assert data["reason"] == "Within the agent's discount" and data["needs_approval"] is False
    assert deals_of(db, customer.id) == [("Quote SO-1: 10 seats", "950.00", "qualification")]
    signed = sign(agent, "SO-1", "Ms Sun")
    assert signed.status_code == 202, signed.get_json()
    assert signed.get_json()["delivered_to"] == [after["id"]]
    done = owner.instance(after["id"])
    assert done["status"] == "completed", done["incidents"]
    # the message went into its messageVariable, not over the task data
    assert done["data"]["signature"] == {"order_no": "SO-1", "signed_by": "Ms Sun"}
    assert "signed_by" not in done["data"]
    assert deals_of(db, customer.id) == [("Quote SO-1: 10 seats", "950.00", "won")]
    assert closing_comments(db, customer.id) == ["SO-1 signed by Ms Sun"]
    # the order placed is thrown with its payload; the scheduler starts the after-sale process
    assert instances_of(db, "r9_arena_after_sale") == []
    timed.advance()
    (follow_up,) = instances_of(db, "r9_arena_after_sale")
    view = owner.instance(follow_up.id)
    assert view["data"]["order"] == {
        "customer_id": customer.id,
        "order_no": "SO-1",
        "total": 950.0,
        "signed_by": "Ms Sun",
    }
    # pre-script, script and post-script of the script task all ran
    assert view["data"]["customer_id"] == customer.id
    assert view["data"]["summary"] == "SO-1 for 950.0, signed by Ms Sun"
    assert [(w["kind"], w["name"]) for w in view["waiting"]] == [("timer", "First call due")]
    assert timed.advance(days=6, hours=23) == 0
    assert timed.advance(hours=1) == 1
    (call,) = owner.instance(follow_up.id)["ready_tasks"]
    assert (call["name"], call["lane"]) == ("Activity_0satisfaction", "agent")
    done = agent.complete_ok(call["id"], {"reached": True, "score": 5, "notes": "all good"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id)[-1] == "After-sale call: satisfaction 5/5 — all good"
    with db() as session:
        (logged,) = session.scalars(select(Call).where(Call.customer_id == customer.id)).all()
        assert logged.notes == "After-sale call: satisfaction 5/5 — all good"


def test_an_unhappy_customer_of_a_big_order_is_called_back_by_the_manager(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    director = timed.actor("director", username="dir_east", team="East")
    ROUND9.deploy(timed.owner, *QUOTE, *AFTER_SALE)
    customer = make_customer()
    after = quoted(
        timed.agent, customer.id, seats=200, unit_price=600, discount=0, order_no="SO-77"
    )
    (sign_off,) = after["ready_tasks"]
    assert (sign_off["lane"], after["data"]["reason"]) == ("director", "Quote of 100000 or more")
    director.complete_ok(sign_off["id"], {"approved": True})
    assert sign(timed.agent, "SO-77").status_code == 202
    timed.advance()
    (follow_up,) = instances_of(db, "r9_arena_after_sale")
    # a big order is called after three days, not seven
    assert timed.advance(days=2, hours=23) == 0
    assert timed.advance(hours=1) == 1
    (call,) = timed.owner.instance(follow_up.id)["ready_tasks"]
    after_call = timed.agent.complete_ok(call["id"], {"reached": True, "score": 2})
    (rescue,) = after_call["ready_tasks"]
    assert (rescue["name"], rescue["lane"]) == ("Activity_0callback", "manager")
    assert rescue["instructions"] == "SO-77 for 120000.0, signed by Mr Qian: satisfaction 2/5."
    (listed,) = manager.tasks("candidate=1")
    assert listed["instructions"] == rescue["instructions"]
    assert timed.agent.complete(rescue["id"], {}).status_code == 403
    done = manager.complete_ok(rescue["id"], {})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id)[-1] == "After-sale call: satisfaction 2/5"


def test_a_ten_percent_discount_goes_to_the_manager(owner, agent, manager, make_customer, db):
    deploy(owner, *QUOTE)
    customer = make_customer()
    after = quoted(agent, customer.id, seats=20, unit_price=100, discount=10, order_no="SO-2")
    assert after["status"] == "running", after["incidents"]
    (approve,) = after["ready_tasks"]
    assert (approve["name"], approve["lane"], approve["title"]) == (
        "Activity_0manager",
        "manager",
        "Approve the discount",
    )
    assert approve["form_schema"]["title"] == "Approve the quote"
    assert approve["instructions"] == "20 seats at 10% off: 1800.0. Discount of 10% to 20%"
    assert after["data"]["reason"] == "Discount of 10% to 20%"
    assert deals_of(db, customer.id) == []
    assert agent.complete(approve["id"], {"approved": True}).status_code == 403
    bad = manager.complete(approve["id"], {"approved": "yes"})
    assert bad.status_code == 422
    waiting = manager.complete_ok(approve["id"], {"approved": True})
    waits_for_signature(waiting)
    assert waiting["data"]["approved_by"] == "manager"  # the approval's post-script
    assert deals_of(db, customer.id) == [("Quote SO-2: 20 seats", "1800.00", "qualification")]


def test_the_director_refuses_a_deep_discount(owner, agent, director, manager, make_customer, db):
    deploy(owner, *QUOTE)
    customer = make_customer()
    after = quoted(agent, customer.id, seats=5, unit_price=100, discount=30, order_no="SO-3")
    (approve,) = after["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("Activity_1director", "director")
    assert manager.complete(approve["id"], {"approved": True}).status_code == 403
    done = director.complete_ok(approve["id"], {"approved": False, "remark": "too deep"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["approved_by"] is None
    assert notes_of(db, customer.id) == ["Quote SO-3 refused by the director: too deep"]
    assert deals_of(db, customer.id) == []


def test_a_quote_form_out_of_bounds_changes_nothing(owner, agent, make_customer, db):
    deploy(owner, *QUOTE)
    customer = make_customer()
    started = agent.start("r9_arena_quote", {"customer_id": customer.id})
    (prepare,) = started["ready_tasks"]
    bad = agent.complete(
        prepare["id"], {"seats": 0, "unit_price": 100, "discount": 60, "order_no": "S"}
    )
    assert bad.status_code == 422
    assert sorted(d["field"] for d in bad.get_json()["error"]["details"]) == [
        "discount",
        "order_no",
        "seats",
    ]
    view = owner.instance(started["id"])
    assert [t["id"] for t in view["ready_tasks"]] == [prepare["id"]]
    assert view["data"] == {"customer_id": customer.id}


def test_the_signature_reaches_only_the_quote_of_its_order_number(owner, agent, make_customer, db):
    deploy(owner, *QUOTE)
    first, second = make_customer(), make_customer()
    quotes = [
        quoted(agent, c.id, seats=3, unit_price=100, discount=0, order_no=n)
        for c, n in ((first, "SO-4"), (second, "SO-5"))
    ]
    assert sign(agent, "SO-6").status_code == 404
    signed = sign(agent, "so-5 ".strip().upper())
    assert signed.get_json()["delivered_to"] == [quotes[1]["id"]]
    waits_for_signature(owner.instance(quotes[0]["id"]))
    assert owner.instance(quotes[1]["id"])["status"] == "completed"
    assert [s for _, _, s in deals_of(db, first.id)] == ["qualification"]
    assert [s for _, _, s in deals_of(db, second.id)] == ["won"]
    assert sign(agent, "SO-5").status_code == 404  # signed once


def test_an_unsigned_quote_expires_at_six_in_the_evening_a_week_later(
    timed: Timed, make_customer, db
):
    ROUND9.deploy(timed.owner, *QUOTE)
    customer = make_customer()
    after = quoted(timed.agent, customer.id, seats=2, unit_price=100, discount=0, order_no="SO-8")
    # the clock is Monday 09:00 in Shanghai: the date timer carries the +08:00 offset
    assert after["data"]["quote_expires"] == "2026-05-11T18:00:00+08:00"
    (timer,) = [w for w in after["waiting"] if w["kind"] == "timer"]
    assert datetime.fromisoformat(timer["due_at"]) == datetime.fromisoformat(
        "2026-05-11T10:00:00+00:00"
    )
    assert timed.advance(days=7, hours=8, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    done = timed.owner.instance(after["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["waiting"] == []
    assert deals_of(db, customer.id) == [("Quote SO-8: 2 seats", "200.00", "lost")]
    assert closing_comments(db, customer.id) == ["Quote expired 2026-05-11"]
    assert sign(timed.agent, "SO-8").status_code == 404


def test_a_price_list_change_withdraws_every_waiting_quote(owner, agent, make_customer, db):
    deploy(owner, *QUOTE)
    customers = [make_customer(), make_customer()]
    quotes = [
        quoted(agent, c.id, seats=4, unit_price=50, discount=0, order_no=f"SO-1{i}")
        for i, c in enumerate(customers)
    ]
    sent = owner.post("/api/v1/signals", json={"name": "r9_price_list_changed"})
    assert sent.status_code == 202, sent.get_json()
    for quote in quotes:
        view = owner.instance(quote["id"])
        assert view["status"] == "completed", view["incidents"]
        assert view["waiting"] == []
        assert view["data"]["requote"] is True
    assert owner.instance(quotes[1]["id"])["data"]["requote_reason"] == (
        "the price list changed before SO-11 was signed"
    )
    for customer in customers:
        assert [s for _, _, s in deals_of(db, customer.id)] == ["qualification"]
    assert sign(agent, "SO-10").status_code == 404


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("Total {{ total }} for {{ seats }} seats", "Total 1800.0 for 20 seats"),
        ("{{ total.__class__.__mro__ }}", "{{ total.__class__.__mro__ }}"),
        ("{{ missing.field }}", "{{ missing.field }}"),
        ("{% if total > 1000 %}Big{% else %}Small{% endif %} quote", "Big quote"),
    ],
    ids=["data", "no-way-out-of-the-sandbox", "unknown-name", "statement"],
)
def test_instructions_render_in_a_sandbox_or_show_as_written(
    owner, agent, make_customer, template, shown
):
    written = "{{ seats }} seats at {{ discount }}% off: {{ total }}. {{ reason }}"
    text = diagram(QUOTE[0]).decode()
    assert text.count(written) == 2  # the manager's and the director's approval
    body = text.replace(written, template.replace(">", "&gt;")).encode()
    assert upload(owner, (QUOTE[0], body), *[(n, diagram(n)) for n in QUOTE[1:]]).status_code == 201
    after = quoted(
        agent, make_customer().id, seats=20, unit_price=100, discount=10, order_no="SO-9"
    )
    (approve,) = after["ready_tasks"]
    assert approve["instructions"] == shown


# -- call cadence split across three files (Lucidchart): the cadence calls the call round of
#    a second file and asks the decision of a third. On the call activity: an escalation the
#    round throws, caught without interrupting it; a cycle R3/PT1H reminding the caller; a
#    two-day duration ending the round. The round's lane names no role: the cadence's
#    lane_owners say who works in it. A COLLECT decision feeds a multi-instance task, and the
#    cadence loops back for a callback, deciding again -------------------------------------

CADENCE = (
    "lucid_cadence.bpmn",
    "lucid_call_round.bpmn",
    "r9_follow_ups.dmn",
    "r9-call-schema.json",
    "r9-demo-schema.json",
)


def start_cadence(starter: Actor, customer_id: int, caller: Actor, manager: Actor) -> dict:
    started = starter.start(
        "r9_lucid_cadence",
        {"customer_id": customer_id, "caller": caller.username, "team_lead": manager.username},
    )
    (call,) = started["ready_tasks"]
    assert (call["name"], call["lane"], call["title"]) == ("lucid-r02", "Callers", "Call the\nlead")
    assert call["candidates"] == [f"user:{caller.username}"]
    return started


def test_the_cadence_deploys_from_three_files_with_a_warning_for_the_round_lane(owner, db):
    deployed = deploy(owner, *CADENCE)
    assert deployed["process_ids"] == ["r9_lucid_cadence", "r9_call_round"]
    (warning,) = deployed["warnings"]
    assert (warning["element_id"], warning["file"]) == ("lucid-lane-callers", CADENCE[1])
    assert warning["line"] == line_in('id="lucid-lane-callers"', diagram(CADENCE[1]))
    assert "lane_owners" in warning["message"]


def test_a_callback_then_a_hot_lead_decides_the_follow_ups_afresh_each_round(
    owner, agent, manager, make_customer, db
):
    """The second round's COLLECT answer replaced the first's: SpiffWorkflow merged the lists
    (["sms"] then ["email", "visit"] gave ["sms", "email"])."""
    deploy(owner, *CADENCE)
    customer = make_customer()
    started = start_cadence(agent, customer.id, agent, manager)
    (call,) = started["ready_tasks"]
    after = agent.complete_ok(call["id"], {"outcome": "callback"})
    assert (after["data"]["round"], after["data"]["channels"]) == (1, ["sms"])
    (call,) = after["ready_tasks"]
    assert call["name"] == "lucid-r02"  # the cadence called the round again
    after = agent.complete_ok(call["id"], {"outcome": "hot", "note": "wants a demo"})
    # the escalation reached the team lead while the round goes on to the demo booking
    assert notifications_of(db, manager) == [f"Hot lead: customer {customer.id} wants a demo"]
    (book,) = after["ready_tasks"]
    assert (book["name"], book["lane"]) == ("lucid-r05", "Callers")
    done = agent.complete_ok(book["id"], {"demo_at": "2026-05-06T10:00:00+08:00"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["channels"] == ["email", "visit"]
    assert done["data"]["demo_at"] == "2026-05-06T10:00:00+08:00"  # back from the round
    assert notes_of(db, customer.id) == [
        "Round 1: follow up by sms",
        "Round 2: follow up by email",
        "Round 2: follow up by visit",
    ]


def test_the_round_is_worked_by_the_caller_the_cadence_names(
    actor, owner, manager, make_customer, db
):
    deploy(owner, *CADENCE)
    caller = actor("agent", username="caller_li", team="East")
    other = actor("agent", username="agent_wu", team="East")
    customer = make_customer()
    started = start_cadence(manager, customer.id, caller, manager)
    (call,) = started["ready_tasks"]
    assert call["assignee"] == caller.user.id  # the one owner named: the task is theirs
    assert other.complete(call["id"], {"outcome": "cold"}).status_code == 409
    assert [t["id"] for t in caller.tasks("mine=1")] == [call["id"]]
    assert other.tasks("candidate=1") == []
    done = caller.complete_ok(call["id"], {"outcome": "cold"})
    assert done["status"] == "completed", done["incidents"]
    # a cold lead collects no channel: the multi-instance task runs over an empty list
    assert done["data"]["channels"] == []
    assert notes_of(db, customer.id) == []
    assert notifications_of(db, manager) == []


def test_three_callbacks_end_the_cadence(owner, agent, manager, make_customer, db):
    deploy(owner, *CADENCE)
    customer = make_customer()
    (call,) = start_cadence(agent, customer.id, agent, manager)["ready_tasks"]
    for _ in range(2):
        (call,) = agent.complete_ok(call["id"], {"outcome": "callback"})["ready_tasks"]
    done = agent.complete_ok(call["id"], {"outcome": "callback"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["round"] == 3
    assert notes_of(db, customer.id) == [f"Round {n}: follow up by sms" for n in (1, 2, 3)]


def test_an_open_round_reminds_the_caller_hourly_three_times_then_lapses(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    agent = timed.agent
    ROUND9.deploy(timed.owner, *CADENCE)
    customer = make_customer()
    started = start_cadence(agent, customer.id, agent, manager)
    (call,) = started["ready_tasks"]
    assert {(w["kind"], w["name"]) for w in started["waiting"]} == {
        ("escalation", "Hot lead"),
        ("timer", "Every hour,\n3 times"),
        ("timer", "2 days"),
    }
    assert timed.advance(minutes=59) == 0
    fired = [timed.advance(hours=1) if n else timed.advance(minutes=1) for n in range(5)]
    assert fired == [1, 1, 1, 0, 0]  # at 1, 2 and 3 hours; a cycle of three repeats ends
    reminder = f"Customer {customer.id}: the call round is still open"
    assert notifications_of(db, agent) == [reminder] * 3
    view = timed.owner.instance(started["id"])
    assert [t["id"] for t in view["ready_tasks"]] == [call["id"]]  # not interrupted
    assert timed.advance(days=2) == 1
    done = timed.owner.instance(started["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["waiting"] == [] and done["ready_tasks"] == []
    assert agent.complete(call["id"], {"outcome": "hot"}).status_code == 409
    assert notes_of(db, customer.id) == ["Call round abandoned after 2 days"]
    assert notifications_of(db, manager) == []


# -- lead to order: a large process of four lanes (agents, managers, directors, the East
#    team's delivery desk). The offer is priced three subprocesses deep: a parallel
#    multi-instance subprocess prices each product, and one out of stock ends its instance in
#    an error the pricing catches; the manager's review is drawn in a lane of the offer
#    subprocess's own; a non-interrupting duration and a date timer with an offset stand on
#    the offer; a parallel split with an exclusive choice inside one branch; a date timer
#    from the delivery date ---------------------------------------------------------------

ORDER = (
    "lead_to_order.bpmn",
    "r9-qualify-schema.json",
    "r9-approve-schema.json",
    "r9-delivery-schema.json",
    "r9-call-schema.json",
)


def qualified_lead(agent: Actor, customer_id: int, manager: Actor, **form: Any) -> dict:
    started = agent.start(
        "r9_lead_to_order", {"customer_id": customer_id, "team_lead": manager.username}
    )
    (qualify,) = started["ready_tasks"]
    assert (qualify["name"], qualify["lane"]) == ("n_qualify", "agent")
    return agent.complete_ok(qualify["id"], form)


def review_of(after: dict[str, Any]) -> dict[str, Any]:
    assert after["status"] == "running", after["incidents"]
    (review,) = after["ready_tasks"]
    assert (review["name"], review["title"]) == ("o_review", "Review the offer")
    return review


def test_the_large_process_has_sixty_elements_in_four_lanes():
    text = diagram(ORDER[0]).decode()
    kinds = (
        "startEvent",
        "endEvent",
        "userTask",
        "scriptTask",
        "serviceTask",
        "subProcess",
        "boundaryEvent",
        "exclusiveGateway",
        "parallelGateway",
        "intermediateCatchEvent",
        "sequenceFlow",
    )
    assert sum(text.count(f"<bpmn2:{kind} ") for kind in kinds) >= 60
    assert text.count("<bpmn2:lane ") == 6  # four in the process, two inside the offer


def test_a_qualified_lead_is_priced_three_levels_deep_and_ordered(timed: Timed, make_customer, db):
    manager = timed.actor("manager", username="lead_east", team="East")
    director = timed.actor("director", username="dir_east", team="East")
    delivery = timed.actor("agent", username="desk_east", team="East")
    agent = timed.agent
    ROUND9.deploy(timed.owner, *ORDER)
    customer = make_customer()
    form = {"seats": 50, "products": ["dialer", "crm", "crm"], "decision_maker": True}
    after = qualified_lead(agent, customer.id, manager, **form)
    review = review_of(after)
    # the script task's pre-script and post-script ran around its script
    assert after["data"]["products"] == ["crm", "dialer"]
    assert (after["data"]["score"], after["data"]["qualified"]) == (100, True)
    approved = manager.complete_ok(review["id"], {"approved": True})
    # the prices came back from each instance, through the pricing and the offer
    assert approved["data"]["lines"] == [
        {"product": "crm", "price": 6000},
        {"product": "dialer", "price": 4000},
    ]
    assert (approved["data"]["total"], approved["data"]["priced"]) == (
        10000,
        "crm 6000, dialer 4000",
    )
    assert approved["data"]["reviewed_total"] == 10000
    assert approved["waiting"] == []  # the offer's timers went with it
    tasks = {t["name"]: t for t in approved["ready_tasks"]}
    assert {n: t["lane"] for n, t in tasks.items()} == {
        "n_plan_delivery": "East",
        "n_sign_off": "director",
    }
    assert deals_of(db, customer.id) == [("crm 6000, dialer 4000", "10000.00", "qualification")]
    assert manager.complete(tasks["n_sign_off"]["id"], {"approved": True}).status_code == 403
    director.complete_ok(tasks["n_sign_off"]["id"], {"approved": True})
    waiting = delivery.complete_ok(tasks["n_plan_delivery"]["id"], {"delivery_date": "2026-05-08"})
    assert waiting["status"] == "waiting", waiting["incidents"]
    assert waiting["data"]["signed_off"] is True
    (timer,) = waiting["waiting"]
    assert (timer["name"], timer["due_at"][:19]) == (
        "Morning after delivery",
        "2026-05-08T02:00:00",
    )
    assert timed.advance(days=4) == 0
    assert timed.advance(hours=1) == 1
    (after_sale,) = timed.owner.instance(waiting["id"])["ready_tasks"]
    assert (after_sale["name"], after_sale["lane"]) == ("n_after_sale", "agent")
    done = agent.complete_ok(after_sale["id"], {"outcome": "hot"})
    assert done["status"] == "completed", done["incidents"]
    with db() as session:
        (call,) = session.scalars(select(Call).where(Call.customer_id == customer.id)).all()
        assert (call.notes, call.duration_s) == ("After sale: hot", 300)
    assert notifications_of(db, manager) == []


def test_the_review_drawn_in_the_offers_manager_lane_is_the_managers(
    owner, agent, manager, make_customer, db
):
    """A lane of the subprocess's own lane set decides: SpiffWorkflow gave every task inside
    the subprocess the subprocess's lane, and the agents could approve their own offer."""
    deploy(owner, *ORDER)
    customer = make_customer()
    after = qualified_lead(
        agent, customer.id, manager, seats=10, products=["crm"], decision_maker=True
    )
    review = review_of(after)
    assert (review["lane"], review["candidates"]) == ("manager", ["group:manager"])
    assert agent.complete(review["id"], {"approved": True}).status_code == 403
    assert [t["id"] for t in manager.tasks("candidate=1")] == [review["id"]]
    done = manager.complete_ok(review["id"], {"approved": False, "remark": "price too low"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Offer refused (crm 1200): price too low"]


def test_an_out_of_stock_product_ends_its_line_in_an_error_and_the_bundle_is_offered(
    owner, agent, manager, make_customer, db
):
    deploy(owner, *ORDER)
    customer = make_customer()
    after = qualified_lead(
        agent,
        customer.id,
        manager,
        seats=10,
        products=["crm", "fax", "dialer"],
        decision_maker=False,
    )
    review = review_of(after)
    done = manager.complete_ok(review["id"], {"approved": True})
    assert (done["data"]["total"], done["data"]["priced"]) == (2000, "standard bundle 2000")
    # the error came with the data of the instance that threw it, without its item
    # variable (a loop back into the activity would find it taken); no line was collected
    assert "product" not in done["data"]
    assert (done["data"]["in_stock"], done["data"]["lines"]) == (False, [])
    tasks = {t["name"] for t in done["ready_tasks"]}
    assert tasks == {"n_plan_delivery"}  # no director below 10000
    assert deals_of(db, customer.id) == [("standard bundle 2000", "2000.00", "qualification")]


def test_a_lead_scoring_below_fifty_is_closed(owner, agent, manager, make_customer, db):
    deploy(owner, *ORDER)
    customer = make_customer()
    done = qualified_lead(
        agent, customer.id, manager, seats=3, products=["crm"], decision_maker=False
    )
    assert done["status"] == "completed", done["incidents"]
    assert (done["data"]["score"], done["data"]["qualified"]) == (16, False)
    with db() as session:
        closed = session.get(Customer, customer.id)
        assert (closed.stage.value, closed.closed_reason) == ("lost", "score 16 below 50")
    assert notes_of(db, customer.id) == ["Lead closed: score 16 below 50"]


def test_an_offer_left_open_reminds_the_manager_then_lapses_at_its_deadline(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    ROUND9.deploy(timed.owner, *ORDER)
    customer = make_customer()
    after = qualified_lead(
        timed.agent, customer.id, manager, seats=30, products=["analytics"], decision_maker=True
    )
    review = review_of(after)
    assert after["data"]["offer_deadline"] == "2026-05-07T18:00:00+08:00"
    assert timed.advance(hours=3, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    assert notifications_of(db, manager) == [f"Offer for customer {customer.id} open for 4 hours"]
    view = timed.owner.instance(after["id"])
    assert [t["id"] for t in view["ready_tasks"]] == [review["id"]]
    assert timed.advance(days=3, hours=4, minutes=59) == 0  # Thursday 17:59 in Shanghai
    assert timed.advance(minutes=1) == 1
    done = timed.owner.instance(after["id"])
    assert done["status"] == "completed", done["incidents"]
    assert manager.complete(review["id"], {"approved": True}).status_code == 409
    assert notes_of(db, customer.id) == ["Offer not reviewed by 2026-05-07T18:00:00+08:00"]
    assert deals_of(db, customer.id) == []


def test_a_crm_write_refused_names_the_field_in_the_incident(timed: Timed, make_customer, db):
    """The incident said only "crm.log_call: The call could not be logged."; the CRM's field
    details are part of it now."""
    manager = timed.actor("manager", username="lead_east", team="East")
    body = ROUND9.edited(ORDER[0], ('"&quot;connected_other&quot;"', '"&quot;connected&quot;"'))
    assert (
        upload(timed.owner, (ORDER[0], body), *[(n, diagram(n)) for n in ORDER[1:]]).status_code
        == 201
    )
    customer = make_customer()
    after = qualified_lead(
        timed.agent, customer.id, manager, seats=10, products=["crm"], decision_maker=True
    )
    (plan,) = manager.complete_ok(review_of(after)["id"], {"approved": True})["ready_tasks"]
    timed.agent.complete_ok(plan["id"], {"delivery_date": "2026-05-05"})
    assert timed.advance(days=2) == 1
    (call,) = timed.owner.instance(after["id"])["ready_tasks"]
    failed = timed.agent.complete_ok(call["id"], {"outcome": "cold"})
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "n_log_call"
    assert incident["message"].startswith("crm.log_call: The call could not be logged. (")
    assert "disposition: " in incident["message"]
    with db() as session:
        assert session.scalars(select(Call).where(Call.customer_id == customer.id)).all() == []


def test_a_lane_inside_the_offer_naming_no_role_is_warned_of(owner, agent, db):
    """A lane of a subprocess's own lane set is the lane of the tasks it lists, so it is
    warned of like any other (the East team of the delivery lane exists: ``agent``)."""
    body = ROUND9.edited(
        ORDER[0],
        (
            '<bpmn2:lane id="lane_offer_manager" name="manager">',
            '<bpmn2:lane id="lane_offer_manager" name="Pricing desk">',
        ),
    )
    response = upload(owner, (ORDER[0], body), *[(n, diagram(n)) for n in ORDER[1:]])
    assert response.status_code == 201, response.get_json()
    (warning,) = response.get_json()["warnings"]
    assert (warning["element_id"], warning["file"]) == ("lane_offer_manager", ORDER[0])
    assert warning["line"] == line_in('id="lane_offer_manager"', body)
    assert "'Pricing desk'" in warning["message"]


# -- what Dialflow refuses, one mistake per file as people make them: each on its element and
#    line, nothing deployed -----------------------------------------------------------------

Change = tuple[tuple[str, str], ...]
REFUSALS: dict[str, tuple[tuple[str, ...], str, Change, str, list[str], str]] = {
    # (files, the file changed, its change, element refused, words, where its line is)
    "pre-script-of-a-script-task": (
        ORDER,
        ORDER[0],
        (("products = sorted(set(products))", "products = sorted(set(products)"),),
        "n_score",
        ["pre-script has a syntax error on line 1", "never closed"],
        'id="n_score"',
    ),
    "post-script-of-a-script-task": (
        AFTER_SALE,
        AFTER_SALE[0],
        ((' else "P3D"</spiffworkflow:postScript>', "</spiffworkflow:postScript>"),),
        "Activity_1unpack",
        ["post-script has a syntax error on line 1"],
        'id="Activity_1unpack"',
    ),
    "message-payload-that-does-not-compile": (
        QUOTE,
        QUOTE[0],
        (
            (
                'signature["signed_by"]}</spiffworkflow:messagePayload>',
                'signature["signed_by"]</spiffworkflow:messagePayload>',
            ),
        ),
        "Event_1order",
        ["spiffworkflow:messagePayload is not a valid Python expression", "never closed"],
        'id="Event_1order"',
    ),
    "message-variable-that-is-no-name": (
        QUOTE,
        QUOTE[0],
        (
            (
                "<spiffworkflow:messageVariable>signature<",
                "<spiffworkflow:messageVariable>signed by<",
            ),
        ),
        "Event_0signed",
        ["spiffworkflow:messageVariable 'signed by' is no Python name"],
        'id="Event_0signed"',
    ),
    "decision-misspelled": (
        QUOTE,
        QUOTE[0],
        (("r9_approval_tier</spiffworkflow", "r9_approval_tiers</spiffworkflow"),),
        "Activity_1tier",
        ["'r9_approval_tiers'", "the decisions it has are r9_approval_tier"],
        'id="Activity_1tier"',
    ),
    "operator-misspelled": (
        CADENCE,
        CADENCE[0],
        (
            (
                'id="notify.user" resultVariable="reminded"',
                'id="notify.users" resultVariable="reminded"',
            ),
        ),
        "lucid-n10",
        ["unknown service operator 'notify.users'", "notify.user"],
        'id="lucid-n10"',
    ),
    "operator-parameter-left-out": (
        QUOTE,
        QUOTE[0],
        (
            (
                '<spiffworkflow:parameter id="title" type="str" '
                'value="f&quot;Quote {order_no}: {seats} seats&quot;" />',
                "",
            ),
        ),
        "Activity_0opportunity",
        ["crm.create_opportunity needs parameter 'title'"],
        'id="Activity_0opportunity"',
    ),
    "cycle-misspelt": (
        CADENCE,
        CADENCE[0],
        (('"R3/PT1H"', "R3/PT1X"),),
        "lucid-b-still",
        ["timer value 'R3/PT1X' is not a valid ISO 8601 cycle"],
        'id="lucid-b-still"',
    ),
    "date-in-words": (
        QUOTE,
        QUOTE[0],
        ((">quote_expires</bpmn:timeDate>", '>"next monday"</bpmn:timeDate>'),),
        "Event_1expired",
        ["'next monday' is not a valid ISO 8601 date (timeDate)"],
        'id="Event_1expired"',
    ),
    "duration-of-two-centuries": (
        ORDER,
        ORDER[0],
        (('"PT4H"', '"P200Y"'),),
        "b_offer_slow",
        ["a duration of 200 years is longer than 100 years"],
        'id="b_offer_slow"',
    ),
    "called-process-left-out-of-the-deploy": (
        (CADENCE[0], *CADENCE[2:]),
        CADENCE[0],
        (),
        "lucid-n03",
        ["calls process 'r9_call_round', which is neither in this deploy nor deployed before"],
        'id="lucid-n03"',
    ),
    "escalation-code-the-round-does-not-throw": (
        CADENCE,
        CADENCE[1],
        (('escalationCode="HOT_LEAD"', 'escalationCode="HOT"'),),
        "lucid-b-hot",
        ["waits for escalation 'Hot lead', which nothing in this process throws"],
        'id="lucid-b-hot"',
    ),
    "count-on-a-table-that-does-not-collect": (
        CADENCE,
        CADENCE[2],
        (('hitPolicy="COLLECT"', 'hitPolicy="FIRST" aggregation="COUNT"'),),
        "lucid-dt-followups",
        ["aggregation COUNT applies to hit policy COLLECT only"],
        'id="lucid-dt-followups"',
    ),
    "lane-inside-the-offer-listing-nothing": (
        ORDER,
        ORDER[0],
        (
            (
                "<bpmn2:flowNodeRef>o_end</bpmn2:flowNodeRef>",
                "<bpmn2:flowNodeRef>o_ends</bpmn2:flowNodeRef>",
            ),
        ),
        "lane_offer_manager",
        ["lists flowNodeRef 'o_ends', which is no element of the model"],
        'id="lane_offer_manager"',
    ),
    "message-ref-to-nothing": (
        QUOTE,
        QUOTE[0],
        (('0v1x3pk" messageRef="r9_quote_signed"', '0v1x3pk" messageRef="r9_quote_sign"'),),
        "Event_0signed",
        ["messageRef 'r9_quote_sign' names no <bpmn:message> of this file"],
        'id="Event_0signed"',
    ),
    "signal-ref-to-nothing": (
        QUOTE,
        QUOTE[0],
        (('signalRef="Signal_0prices"', 'signalRef="Signal_prices"'),),
        "Event_0prices",
        ["signalRef 'Signal_prices' names no <bpmn:signal> of this file"],
        'id="Event_0prices"',
    ),
    "form-left-out-of-the-deploy": (
        tuple(n for n in QUOTE if n != "r9-quote-schema.json"),
        QUOTE[0],
        (),
        "Activity_0prepare",
        ["form 'r9-quote-schema.json' is not part of the deploy"],
        'id="Activity_0prepare"',
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_one_mistake_per_file_is_refused_on_its_element(owner, db, case):
    files, changed, changes, element, words, line_at = REFUSALS[case]
    bodies = [
        (name, ROUND9.edited(name, *changes) if changes and name == changed else diagram(name))
        for name in files
    ]
    details = refused(upload(owner, *bodies))
    problems = by_element(details)
    assert element in problems, details
    for word in words:
        assert word in problems[element], problems[element]
    detail = next(d for d in details if d["element_id"] == element)
    # the call round's changed code leaves the cadence's boundary event waiting for nothing
    where = CADENCE[0] if case == "escalation-code-the-round-does-not-throw" else changed
    assert detail["file"] == where
    assert detail["line"] == line_in(line_at, dict(bodies)[where]), detail
    nothing_deployed(db)
