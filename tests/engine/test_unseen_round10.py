"""A tenth round of unseen diagrams: processes as a telesales team's process owner draws them
in Dialflow's own browser modeler (bpmn-js with Dialflow's properties: a pool whose lanes name
roles, ``spiffworkflow:properties`` for forms, instructions and due times, service operators
with ``spiffworkflow:parameters``, decision tables written by dmn-js) and then evolves them:
version 1 deployed and worked, then versions 2 and 3 with a task renamed, a lane and a gateway
branch added, a task removed, a form changed and a decision table given a new column. Running
instances stay on their version and finish on it, new ones take the latest, and a waiting
instance moves to a new version (its begun timers keep their due time, boundary events the new
version draws on it begin to wait, its claim follows its lane) or is refused on the element
that blocks it; a failed instance moves to the version that fixes it and is retried there.
Beside them, a style not yet seen: files a script writes with ElementTree (``ns0:`` prefixes,
no layout, no names, no lanes, on one line), evolved by regenerating them. What runs is run
end to end through the API; what Dialflow refuses is refused with ``422 invalid_bpmn`` on its
element and line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import Call, Customer
from tests.engine.conftest import T0, Actor, Timed, by_element, notes_of, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

QUOTE = "r10_quote_desk"
VERSIONS = {n: DiagramFolder(f"round10/quote_desk/v{n}") for n in (1, 2, 3)}
FILES = {
    1: (
        "r10_quote_desk.bpmn",
        "r10_discount_tier.dmn",
        "r10-quote.json",
        "r10-approve.json",
        "r10-confirm.json",
    ),
    2: (
        "r10_quote_desk.bpmn",
        "r10_discount_tier.dmn",
        "r10-quote.json",
        "r10-approve.json",
        "r10-confirm.json",
    ),
    3: ("r10_quote_desk.bpmn", "r10_discount_tier.dmn", "r10-quote.json", "r10-approve.json"),
}


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="lead_east", team="East")


@pytest.fixture
def director(actor: Callable[..., Actor]) -> Actor:
    return actor("director", username="dir_east", team="East")


def deploy_version(owner: Actor, n: int) -> dict[str, Any]:
    return VERSIONS[n].deploy(owner, *FILES[n])


def migrate(owner: Actor, instance_id: int, to_version: Any) -> Any:
    return owner.post(
        f"/api/v1/process-instances/{instance_id}/migrate", json={"to_version": to_version}
    )


def prepared(agent: Actor, customer_id: int, version: int | None = None, **form: Any) -> dict:
    """A quote started (on ``version``, else the latest) and its first form completed."""
    fields = {"version": version} if version else {}
    started = agent.start(QUOTE, {"customer_id": customer_id}, **fields)
    (prepare,) = started["ready_tasks"]
    assert (prepare["name"], prepare["lane"]) == ("Activity_1prepare", "agent")
    return agent.complete_ok(prepare["id"], form)


def only_task(view: dict[str, Any]) -> dict[str, Any]:
    assert view["status"] in ("running", "waiting"), view["incidents"]
    (task,) = view["ready_tasks"]
    return task


# -- the quote desk, version 1: a pool of two lanes, a form with instructions and a due time,
#    a decision table, an approval, a deal opened and confirmed -------------------------------


def test_version_one_deploys_as_the_modeler_saved_it(owner, db):
    text = VERSIONS[1].read(FILES[1][0]).decode()
    # what bpmn-js writes: a pool around the lanes, the operators' parameters in
    # <spiffworkflow:parameters>, and its layout
    assert '<bpmn:participant id="Participant_0desk" name="Quote desk"' in text
    assert "<spiffworkflow:parameters>" in text and 'isHorizontal="true"' in text
    deployed = deploy_version(owner, 1)
    assert (deployed["process_ids"], deployed["version"]) == ([QUOTE], 1)
    assert deployed.get("warnings", []) == []
    (listed,) = [m for m in owner.models() if m["process_id"] == QUOTE]
    assert listed["latest_version"] == 1


def test_a_small_discount_opens_the_deal_and_waits_for_the_confirmation(
    owner, agent, make_customer, db
):
    deploy_version(owner, 1)
    customer = make_customer()
    started = agent.start(QUOTE, {"customer_id": customer.id})
    (prepare,) = started["ready_tasks"]
    assert (prepare["title"], prepare["candidates"]) == ("Prepare the quote", ["group:agent"])
    assert prepare["instructions"] == f"Price the seats for customer {customer.id}."
    assert prepare["form_schema"]["required"] == ["seats", "unit_price", "discount_pct"]
    created = datetime.fromisoformat(prepare["created_at"])
    assert datetime.fromisoformat(prepare["due_at"]) - created == timedelta(hours=4)
    after = agent.complete_ok(prepare["id"], {"seats": 10, "unit_price": 100, "discount_pct": 5})
    confirm = only_task(after)
    assert (confirm["name"], confirm["lane"]) == ("Activity_1confirm", "agent")
    assert (after["data"]["approver"], after["data"]["total"]) == ("none", 950.0)
    assert deals_of(db, customer.id) == [("10 seats at 5% off", "950.00", "qualification")]
    done = agent.complete_ok(confirm["id"], {"confirmed": True})
    assert done["status"] == "completed", done["incidents"]


def test_the_manager_refuses_a_deep_discount_on_version_one(
    owner, agent, manager, make_customer, db
):
    deploy_version(owner, 1)
    customer = make_customer()
    after = prepared(agent, customer.id, seats=4, unit_price=100, discount_pct=40)
    review = only_task(after)
    assert (review["name"], review["lane"], review["title"]) == (
        "Activity_0review",
        "manager",
        "Approve the discount",
    )
    assert review["instructions"] == "4 seats at 40% off."
    assert agent.complete(review["id"], {"approved": True}).status_code == 403
    done = manager.complete_ok(review["id"], {"approved": False, "remark": "too deep"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["Discount of 40% refused: too deep"]
    assert deals_of(db, customer.id) == []


# -- versions 2 and 3 beside running instances ------------------------------------------------


def test_running_instances_finish_on_version_one_while_new_ones_take_version_two(
    owner, agent, manager, director, make_customer, db
):
    deploy_version(owner, 1)
    first, second, third = make_customer(), make_customer(), make_customer()
    at_prepare = agent.start(QUOTE, {"customer_id": first.id})
    at_review = prepared(agent, second.id, seats=2, unit_price=100, discount_pct=30)
    assert deploy_version(owner, 2)["version"] == 2

    # version 1's form (no segment) and version 1's table (30 % is the manager's)
    (prepare,) = at_prepare["ready_tasks"]
    assert "segment" not in prepare["form_schema"]["properties"]
    after = agent.complete_ok(prepare["id"], {"seats": 3, "unit_price": 100, "discount_pct": 30})
    review = only_task(after)
    assert (after["version"], review["name"], review["title"]) == (
        1,
        "Activity_0review",
        "Approve the discount",
    )
    for view in (after, at_review):
        (review,) = view["ready_tasks"]
        approved = manager.complete_ok(review["id"], {"approved": True})
        (confirm,) = approved["ready_tasks"]
        done = agent.complete_ok(confirm["id"], {"confirmed": True})
        assert (done["status"], done["version"]) == ("completed", 1), done["incidents"]
    assert deals_of(db, first.id) == [("3 seats at 30% off", "210.00", "qualification")]

    # a new quote takes version 2: its form asks for the segment, 30 % is the director's
    started = agent.start(QUOTE, {"customer_id": third.id})
    assert started["version"] == 2
    (prepare,) = started["ready_tasks"]
    form = {"seats": 5, "unit_price": 100, "discount_pct": 30}
    missing = agent.complete(prepare["id"], form)
    assert missing.status_code == 422
    assert [d["field"] for d in missing.get_json()["error"]["details"]] == ["segment"]
    after = agent.complete_ok(prepare["id"], {**form, "segment": "smb"})
    sign_off = only_task(after)
    assert (sign_off["name"], sign_off["lane"], sign_off["title"]) == (
        "Activity_1signoff",
        "director",
        "Director sign-off",
    )
    assert sign_off["instructions"] == "5 seats at 30% off for a smb customer."
    assert manager.complete(sign_off["id"], {"approved": True}).status_code == 403
    (confirm,) = director.complete_ok(sign_off["id"], {"approved": True})["ready_tasks"]
    assert confirm["name"] == "Activity_1confirm"
    assert deals_of(db, third.id) == [("5 seats at 30% off", "350.00", "qualification")]


def test_the_new_column_lets_a_key_account_have_fifteen_percent_without_approval(
    owner, agent, make_customer, db
):
    deploy_version(owner, 1)
    deploy_version(owner, 2)
    key, small = make_customer(), make_customer()
    form = {"seats": 10, "unit_price": 100, "discount_pct": 15}
    after = prepared(agent, key.id, **form, segment="key_account")
    assert (after["data"]["approver"], only_task(after)["name"]) == ("none", "Activity_1confirm")
    after = prepared(agent, small.id, **form, segment="smb")
    assert (after["data"]["approver"], only_task(after)["name"]) == ("manager", "Activity_0review")
    assert only_task(after)["title"] == "Review the discount"
    # version 1 is still there to start on purpose, with its own table
    old = prepared(agent, small.id, version=1, seats=1, unit_price=100, discount_pct=15)
    assert (old["version"], old["data"]["approver"]) == (1, "manager")
    assert only_task(old)["title"] == "Approve the discount"


def test_a_waiting_review_moves_to_version_two_and_is_shown_as_renamed(
    owner, agent, manager, make_customer, db
):
    deploy_version(owner, 1)
    customer = make_customer()
    after = prepared(agent, customer.id, seats=2, unit_price=50, discount_pct=20)
    review = only_task(after)
    manager.post(f"/api/v1/tasks/{review['id']}/claim")
    deploy_version(owner, 2)
    moved = migrate(owner, after["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    view = moved.get_json()
    assert view["version"] == 2
    (task,) = view["ready_tasks"]
    assert (task["id"], task["title"], task["lane"]) == (
        review["id"],
        "Review the discount",
        "manager",
    )
    (mine,) = manager.tasks("mine=1")
    assert (mine["id"], mine["title"]) == (review["id"], "Review the discount")
    approved = manager.complete_ok(review["id"], {"approved": True})
    (confirm,) = approved["ready_tasks"]
    done = agent.complete_ok(confirm["id"], {"confirmed": True})
    assert (done["status"], done["version"]) == ("completed", 2), done["incidents"]
    assert deals_of(db, customer.id) == [("2 seats at 20% off", "80.00", "qualification")]


def test_a_quote_waiting_for_its_confirmation_cannot_move_to_version_three(
    owner, agent, make_customer, db
):
    deploy_version(owner, 1)
    deploy_version(owner, 2)
    waiting = prepared(
        agent, make_customer().id, seats=1, unit_price=10, discount_pct=0, segment="smb"
    )
    at_prepare = agent.start(QUOTE, {"customer_id": make_customer().id})
    deploy_version(owner, 3)
    check = owner.post(
        f"/api/v1/process-models/{QUOTE}/versions/2/migration-check", json={"to_version": 3}
    )
    assert check.status_code == 200, check.get_json()
    report = {item["id"]: item for item in check.get_json()["items"]}
    assert report[at_prepare["id"]] == {"id": at_prepare["id"], "can_move": True, "blockers": []}
    assert report[waiting["id"]]["can_move"] is False
    (blocker,) = report[waiting["id"]]["blockers"]
    assert blocker["element_id"] == "Activity_1confirm"

    refused_move = migrate(owner, waiting["id"], 3)
    assert refused_move.status_code == 409
    error = refused_move.get_json()["error"]
    assert error["code"] == "migration_refused"
    assert [d["element_id"] for d in error["details"]] == ["Activity_1confirm"]
    assert "no counterpart in the new version" in error["details"][0]["message"]
    view = owner.instance(waiting["id"])
    assert view["version"] == 2
    (confirm,) = view["ready_tasks"]
    done = agent.complete_ok(confirm["id"], {"confirmed": True})
    assert (done["status"], done["version"]) == ("completed", 2), done["incidents"]


def test_a_quote_not_yet_priced_moves_to_version_three_and_takes_its_form(
    owner, agent, make_customer, db
):
    deploy_version(owner, 1)
    customer = make_customer()
    started = agent.start(QUOTE, {"customer_id": customer.id})
    deploy_version(owner, 2)
    deploy_version(owner, 3)
    moved = migrate(owner, started["id"], 3)
    assert moved.status_code == 200, moved.get_json()
    (prepare,) = moved.get_json()["ready_tasks"]
    assert prepare["title"] == "Price the quote"
    assert "segment" in prepare["form_schema"]["required"]
    form = {"seats": 10, "unit_price": 100, "discount_pct": 12}
    assert agent.complete(prepare["id"], form).status_code == 422
    done = agent.complete_ok(prepare["id"], {**form, "segment": "key_account"})
    # version 3 has no confirmation: the deal is opened and the quote is done
    assert (done["status"], done["version"]) == ("completed", 3), done["incidents"]
    assert deals_of(db, customer.id) == [("10 seats at 12% off", "880.00", "qualification")]


def test_moving_every_quote_of_version_one_to_version_three(owner, agent, make_customer, db):
    deploy_version(owner, 1)
    at_prepare = agent.start(QUOTE, {"customer_id": make_customer().id})
    at_confirm = prepared(agent, make_customer().id, seats=1, unit_price=10, discount_pct=0)
    finished = prepared(agent, make_customer().id, seats=1, unit_price=10, discount_pct=0)
    agent.complete_ok(only_task(finished)["id"], {"confirmed": True})
    deploy_version(owner, 2)
    deploy_version(owner, 3)
    moved = owner.post(f"/api/v1/process-models/{QUOTE}/versions/1/migrate", json={"to_version": 3})
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["migrated"] == [at_prepare["id"]]
    (refusal,) = body["refused"]
    assert refusal["id"] == at_confirm["id"]
    assert [d["element_id"] for d in refusal["details"]] == ["Activity_1confirm"]
    assert owner.instance(at_prepare["id"])["version"] == 3
    assert owner.instance(at_confirm["id"])["version"] == 1
    assert owner.instance(finished["id"])["version"] == 1


@pytest.mark.parametrize(
    ("to_version", "status", "code"),
    [(9, 404, None), ("2", 422, "invalid_input"), (1, 409, "migration_refused"), (0, 422, None)],
    ids=["unknown-version", "text", "its-own-version", "zero"],
)
def test_a_move_asked_wrongly_is_answered_clearly(
    owner, agent, make_customer, to_version, status, code
):
    deploy_version(owner, 1)
    deploy_version(owner, 2)
    started = agent.start(QUOTE, {"customer_id": make_customer().id}, version=1)
    answer = migrate(owner, started["id"], to_version)
    assert answer.status_code == status, answer.get_json()
    error = answer.get_json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    assert owner.instance(started["id"])["version"] == 1


def test_a_finished_quote_is_not_moved(owner, agent, make_customer):
    deploy_version(owner, 1)
    done = prepared(agent, make_customer().id, seats=1, unit_price=10, discount_pct=0)
    done = agent.complete_ok(only_task(done)["id"], {"confirmed": True})
    deploy_version(owner, 2)
    answer = migrate(owner, done["id"], 2)
    assert answer.status_code == 409
    assert "completed" in answer.get_json()["error"]["message"]


def test_the_versions_differ_by_what_the_owner_changed(owner):
    for n in (1, 2, 3):
        deploy_version(owner, n)
    (listed,) = [m for m in owner.models() if m["process_id"] == QUOTE]
    assert listed["latest_version"] == 3
    first = owner.get(f"/api/v1/process-models/{QUOTE}/diff?from=1&to=2").get_json()
    assert {e["element_id"] for e in first["added"]} >= {
        "Activity_1signoff",
        "Flow_director",
        "Lane_0q1dirs",
    }
    assert "Activity_0review" in {e["element_id"] for e in first["changed"]}
    second = owner.get(f"/api/v1/process-models/{QUOTE}/diff?from=2&to=3").get_json()
    assert "Activity_1confirm" in {e["element_id"] for e in second["removed"]}


# -- the call cadence: a compliance gate before every call, the dispositions crm.log_call
#    records, timers for retries, callbacks and the calling window. Version 2 renames the
#    call, shortens the retry, adds the manager's lane for a wrong number and a reminder on
#    the call ------------------------------------------------------------------------------

CADENCE = "r10_call_cadence"
CADENCE_VERSIONS = {n: DiagramFolder(f"round10/cadence/v{n}") for n in (1, 2)}
CADENCE_FILES = {
    1: ("r10_call_cadence.bpmn", "r10-call.json"),
    2: ("r10_call_cadence.bpmn", "r10-call.json", "r10-number.json"),
}


def deploy_cadence(owner: Actor, n: int) -> dict[str, Any]:
    return CADENCE_VERSIONS[n].deploy(owner, *CADENCE_FILES[n])


def calls_of(db: Any, customer_id: int) -> list[str]:
    with db() as session:
        return [
            call.disposition.value
            for call in session.scalars(
                select(Call).where(Call.customer_id == customer_id).order_by(Call.id)
            )
        ]


def call_task(view: dict[str, Any], title: str = "Call the lead") -> dict[str, Any]:
    task = only_task(view)
    assert (task["name"], task["lane"], task["title"]) == ("Activity_1call", "agent", title)
    return task


def waits(view: dict[str, Any]) -> set[tuple[str, str]]:
    return {(w["kind"], w["name"]) for w in view["waiting"]}


def test_two_unanswered_calls_then_an_interested_customer(timed: Timed, make_customer, db):
    deploy_cadence(timed.owner, 1)
    agent = timed.agent
    customer = make_customer()
    started = agent.start(CADENCE, {"customer_id": customer.id})
    task = call_task(started)
    assert task["instructions"] == "Attempt 1."
    after = agent.complete_ok(task["id"], {"disposition": "no_answer"})
    assert (after["status"], waits(after)) == ("waiting", {("timer", "Try again later")})
    assert after["data"]["attempts"] == 1
    assert timed.advance(hours=3, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    task = call_task(timed.owner.instance(started["id"]))
    assert task["instructions"] == "Attempt 2."
    agent.complete_ok(task["id"], {"disposition": "busy", "duration_s": 0})
    assert timed.advance(hours=4) == 1
    task = call_task(timed.owner.instance(started["id"]))
    done = agent.complete_ok(
        task["id"],
        {
            "disposition": "connected_interested",
            "duration_s": 240,
            "budget": 5000,
            "notes": "wants 20 seats",
        },
    )
    assert done["status"] == "completed", done["incidents"]
    assert calls_of(db, customer.id) == ["no_answer", "busy", "connected_interested"]
    assert deals_of(db, customer.id) == [("Interested after 3 call(s)", "5000.00", "qualification")]


def test_a_third_unanswered_call_closes_the_lead(timed: Timed, make_customer, db):
    deploy_cadence(timed.owner, 1)
    customer = make_customer()
    started = timed.agent.start(CADENCE, {"customer_id": customer.id})
    for n in range(3):
        task = call_task(timed.owner.instance(started["id"]))
        timed.agent.complete_ok(task["id"], {"disposition": "voicemail"})
        if n < 2:
            assert timed.advance(hours=4) == 1
    done = timed.owner.instance(started["id"])
    assert done["status"] == "completed", done["incidents"]
    with db() as session:
        closed = session.get(Customer, customer.id)
        assert (closed.stage.value, closed.closed_reason) == ("lost", "voicemail after 3 call(s)")
    assert calls_of(db, customer.id) == ["voicemail"] * 3


def test_a_callback_tomorrow_then_do_not_call_and_the_gate_stops_the_next_cadence(
    timed: Timed, make_customer, db
):
    deploy_cadence(timed.owner, 1)
    customer = make_customer()
    started = timed.agent.start(CADENCE, {"customer_id": customer.id})
    after = timed.agent.complete_ok(
        call_task(started)["id"], {"disposition": "callback_requested", "duration_s": 30}
    )
    assert waits(after) == {("timer", "Call back tomorrow")}
    assert timed.advance(hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    task = call_task(timed.owner.instance(started["id"]))
    done = timed.agent.complete_ok(task["id"], {"disposition": "do_not_call", "duration_s": 10})
    assert done["status"] == "completed", done["incidents"]
    with db() as session:
        assert session.get(Customer, customer.id).do_not_call is True
    again = timed.agent.start(CADENCE, {"customer_id": customer.id})
    assert (again["status"], again["ready_tasks"]) == ("completed", []), again["incidents"]
    assert notes_of(db, customer.id) == ["Not called: do_not_call"]
    assert calls_of(db, customer.id) == ["callback_requested", "do_not_call"]


def test_a_lead_claimed_at_night_is_called_when_the_window_opens(timed: Timed, make_customer, db):
    deploy_cadence(timed.owner, 1)
    timed.advance(hours=13)  # Monday 22:00 in Shanghai
    customer = make_customer()
    started = timed.agent.start(CADENCE, {"customer_id": customer.id})
    assert (started["status"], waits(started)) == ("waiting", {("timer", "Calling window opens")})
    (timer,) = started["waiting"]
    assert datetime.fromisoformat(timer["due_at"]) == datetime(2026, 5, 5, 1, 0, tzinfo=UTC)
    assert started["data"]["gate"]["reason"] == "outside_calling_window"
    assert timed.advance(hours=10, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    call_task(timed.owner.instance(started["id"]))


def test_version_two_sends_a_wrong_number_to_the_manager_and_reminds_the_team_lead(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    deploy_cadence(timed.owner, 1)
    old_customer, customer = make_customer(), make_customer()
    old = timed.agent.start(
        CADENCE, {"customer_id": old_customer.id, "team_lead": manager.username}
    )
    deploy_cadence(timed.owner, 2)
    # the instance of version 1 finishes on version 1: a wrong number closes the lead
    done = timed.agent.complete_ok(call_task(old)["id"], {"disposition": "wrong_number"})
    assert (done["status"], done["version"]) == ("completed", 1), done["incidents"]
    # a new one runs version 2
    started = timed.agent.start(
        CADENCE, {"customer_id": customer.id, "team_lead": manager.username}
    )
    assert started["version"] == 2
    task = call_task(started, "Call the customer")
    assert waits(started) == {("timer", "2 hours")}
    assert timed.advance(hours=2) == 1
    assert notifications_of(db, manager) == [f"Customer {customer.id} not called for 2 hours"]
    view = timed.owner.instance(started["id"])
    assert [t["id"] for t in view["ready_tasks"]] == [task["id"]]  # the call goes on
    after = timed.agent.complete_ok(
        task["id"], {"disposition": "wrong_number", "notes": "a florist answered"}
    )
    check = only_task(after)
    assert (check["name"], check["lane"], check["title"]) == (
        "Activity_1number",
        "manager",
        "Check the number",
    )
    assert check["instructions"] == "a florist answered"
    assert timed.agent.complete(check["id"], {"action": "call_again"}).status_code == 403
    again = manager.complete_ok(check["id"], {"action": "call_again"})
    task = call_task(again, "Call the customer")
    done = timed.agent.complete_ok(task["id"], {"disposition": "not_interested"})
    assert done["status"] == "completed", done["incidents"]
    assert calls_of(db, customer.id) == ["wrong_number", "not_interested"]
    with db() as session:
        closed = session.get(Customer, customer.id)
        assert closed.closed_reason == "not_interested after 2 call(s)"


def test_a_cadence_waiting_to_retry_moves_to_version_two_and_keeps_its_due_time(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    deploy_cadence(timed.owner, 1)
    customer = make_customer()
    started = timed.agent.start(
        CADENCE, {"customer_id": customer.id, "team_lead": manager.username}
    )
    after = timed.agent.complete_ok(call_task(started)["id"], {"disposition": "no_answer"})
    (timer,) = after["waiting"]
    deploy_cadence(timed.owner, 2)
    moved = migrate(timed.owner, started["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    view = moved.get_json()
    assert view["version"] == 2
    # the wait begun on version 1 ends when it was due then; version 2's two hours are for
    # the waits that begin on it
    assert view["waiting"] == [timer]
    assert timed.advance(hours=3, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    task = call_task(timed.owner.instance(started["id"]), "Call the customer")
    assert task["instructions"] == "Attempt 2."
    assert timed.advance(hours=2) == 1  # version 2's reminder stands on the call
    assert notifications_of(db, manager) == [f"Customer {customer.id} not called for 2 hours"]
    after = timed.agent.complete_ok(task["id"], {"disposition": "no_answer"})
    (timer,) = after["waiting"]
    assert timer["name"] == "Try again later"
    due = datetime.fromisoformat(timer["due_at"])
    assert due == timed.clock.now() + timedelta(hours=2)


def test_a_call_waiting_in_the_inbox_moves_to_version_two_with_its_reminder(
    timed: Timed, make_customer, db
):
    manager = timed.actor("manager", username="lead_east", team="East")
    deploy_cadence(timed.owner, 1)
    customer = make_customer()
    started = timed.agent.start(
        CADENCE, {"customer_id": customer.id, "team_lead": manager.username}
    )
    task = call_task(started)
    timed.agent.post(f"/api/v1/tasks/{task['id']}/claim")
    deploy_cadence(timed.owner, 2)
    timed.advance(minutes=30)
    moved = migrate(timed.owner, started["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    view = moved.get_json()
    moved_task = call_task(view, "Call the customer")
    assert moved_task["id"] == task["id"]
    assert moved_task["assignee"] == timed.agent.user.id
    assert waits(view) == {("timer", "2 hours")}
    assert timed.advance(hours=2) == 1
    assert notifications_of(db, manager) == [f"Customer {customer.id} not called for 2 hours"]
    done = timed.agent.complete_ok(task["id"], {"disposition": "wrong_number"})
    check = only_task(done)
    assert check["name"] == "Activity_1number"  # version 2's branch


def test_a_claimed_task_moved_into_the_managers_lane_is_the_managers_after_the_move(
    owner, agent, manager, make_customer, db
):
    """The owner drags the confirmation into the manager's lane: a move keeps a claim only
    for someone the task's new lane still offers it to."""
    deploy_version(owner, 1)
    after = prepared(agent, make_customer().id, seats=1, unit_price=10, discount_pct=0)
    confirm = only_task(after)
    assert agent.post(f"/api/v1/tasks/{confirm['id']}/claim").status_code == 200
    moved_lane = VERSIONS[1].edited(
        FILES[1][0],
        ("        <bpmn:flowNodeRef>Activity_1confirm</bpmn:flowNodeRef>\n", ""),
        (
            "        <bpmn:flowNodeRef>Activity_0review</bpmn:flowNodeRef>\n",
            "        <bpmn:flowNodeRef>Activity_0review</bpmn:flowNodeRef>\n"
            "        <bpmn:flowNodeRef>Activity_1confirm</bpmn:flowNodeRef>\n",
        ),
    )
    others = [(name, VERSIONS[1].read(name)) for name in FILES[1][1:]]
    assert upload(owner, (FILES[1][0], moved_lane), *others).status_code == 201
    moved = migrate(owner, after["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    task = only_task(moved.get_json())
    assert (task["lane"], task["candidates"], task["assignee"]) == (
        "manager",
        ["group:manager"],
        None,
    )
    assert agent.tasks("mine=1") == []
    assert agent.complete(confirm["id"], {"confirmed": True}).status_code == 403
    assert [t["id"] for t in manager.tasks("candidate=1")] == [confirm["id"]]
    done = manager.complete_ok(confirm["id"], {"confirmed": True})
    assert done["status"] == "completed", done["incidents"]


# -- files a script writes: xml.etree.ElementTree with no namespace registered (ns0:, ns1:),
#    no layout, no names, no lanes, no incoming/outgoing lists, conditions without xsi:type,
#    the whole process on one line -------------------------------------------------------

GENERATED = DiagramFolder("round10/generated")
POOL_RELEASE = "r10_gen_pool_release"
AFTER_SALE = "r10_gen_after_sale"


def test_a_generated_file_is_one_line_of_ns0_elements_and_deploys(owner):
    text = GENERATED.read("r10_gen_pool_release.bpmn").decode()
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<ns0:definitions ")
    assert "BPMNShape" not in text and " name=" not in text.replace('name="r10_followed_up"', "")
    deployed = GENERATED.deploy(owner, "r10_gen_pool_release.bpmn")
    assert deployed["process_ids"] == [POOL_RELEASE]


def test_an_untouched_lead_is_warned_then_released_to_the_pool(timed: Timed, make_customer, db):
    GENERATED.deploy(timed.owner, "r10_gen_pool_release.bpmn")
    customer = make_customer(timed.agent.user)
    assert customer.owner_id == timed.agent.user.id
    started = timed.agent.start(
        POOL_RELEASE,
        {"customer_id": customer.id, "planned_at": T0.isoformat()},
        business_key=f"customer-{customer.id}",
    )
    assert started["status"] == "waiting", started["incidents"]
    assert waits(started) == {("timer", "timer_4"), ("message", "r10_followed_up")}
    assert timed.advance(days=1, hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    warned = timed.owner.instance(started["id"])
    assert waits(warned) == {("timer", "timer_7"), ("message", "r10_followed_up")}
    assert warned["data"]["warned"] == {"warned": timed.agent.username}
    (warning,) = notifications_of(db, timed.agent)
    assert "goes back to the public pool at 2026-05-07 01:00 UTC" in warning
    assert timed.advance(days=1) == 1
    done = timed.owner.instance(started["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["released"]["reclaimed"] is True
    with db() as session:
        released = session.get(Customer, customer.id)
        assert (released.owner_id, released.pool_status.value) == (None, "pool")


@pytest.mark.parametrize("when", ["before-the-warning", "after-the-warning"])
def test_a_follow_up_message_keeps_the_lead_with_its_owner(timed: Timed, make_customer, db, when):
    GENERATED.deploy(timed.owner, "r10_gen_pool_release.bpmn")
    customer = make_customer(timed.agent.user)
    key = f"customer-{customer.id}"
    started = timed.agent.start(
        POOL_RELEASE, {"customer_id": customer.id, "planned_at": T0.isoformat()}, business_key=key
    )
    if when == "after-the-warning":
        assert timed.advance(days=2) == 1
    sent = timed.agent.post(
        "/api/v1/messages", json={"name": "r10_followed_up", "business_key": key}
    )
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
    done = timed.owner.instance(started["id"])
    assert (done["status"], done["waiting"]) == ("completed", []), done["incidents"]
    assert timed.advance(days=5) == 0
    with db() as session:
        assert session.get(Customer, customer.id).owner_id == timed.agent.user.id
    assert len(notifications_of(db, timed.agent)) == (1 if when == "after-the-warning" else 0)


def test_a_generated_after_sale_call_without_names_or_lanes_goes_to_its_starter(
    owner, agent, actor, make_customer, db
):
    GENERATED.deploy(owner, "r10_gen_after_sale.bpmn", "r10-gen-visit.json", "r10-gen-rescue.json")
    other = actor("agent", username="agent_west", team="East")
    customer = make_customer()
    started = agent.start(AFTER_SALE, {"customer_id": customer.id})
    visit = only_task(started)
    # no name: the task is titled by its id; no lane: the one who started the process works it
    assert (visit["name"], visit["title"], visit["lane"]) == ("user_3", "user_3", None)
    assert visit["candidates"] == [f"user:{agent.username}"]
    assert other.complete(visit["id"], {"reached": True, "score": 1}).status_code == 409
    after = agent.complete_ok(visit["id"], {"reached": True, "score": 2})
    rescue = only_task(after)
    assert (rescue["name"], rescue["title"]) == ("user_6", "user_6")
    done = agent.complete_ok(rescue["id"], {"outcome": "saved"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["After-sale call: satisfaction 2/5"]


def test_a_happy_customer_ends_the_generated_after_sale(owner, agent, make_customer, db):
    GENERATED.deploy(owner, "r10_gen_after_sale.bpmn", "r10-gen-visit.json", "r10-gen-rescue.json")
    customer = make_customer()
    visit = only_task(agent.start(AFTER_SALE, {"customer_id": customer.id}))
    done = agent.complete_ok(visit["id"], {"reached": False})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == ["After-sale call: customer not reached"]


def deploy_after_sale_with_deadline(owner: Actor) -> None:
    body = GENERATED.read("r10_gen_after_sale_v2.bpmn")
    forms = [(n, GENERATED.read(n)) for n in ("r10-gen-visit.json", "r10-gen-rescue.json")]
    response = upload(owner, ("r10_gen_after_sale.bpmn", body), *forms)
    assert response.status_code == 201, response.get_json()


def test_the_regenerated_after_sale_gives_its_visit_a_deadline(timed: Timed, make_customer, db):
    GENERATED.deploy(
        timed.owner, "r10_gen_after_sale.bpmn", "r10-gen-visit.json", "r10-gen-rescue.json"
    )
    deploy_after_sale_with_deadline(timed.owner)
    customer = make_customer()
    started = timed.agent.start(AFTER_SALE, {"customer_id": customer.id})
    assert (started["version"], waits(started)) == (2, {("timer", "timer_9")})
    assert timed.advance(days=7) == 1
    done = timed.owner.instance(started["id"])
    assert (done["status"], done["ready_tasks"]) == ("completed", []), done["incidents"]
    assert notes_of(db, customer.id) == ["After-sale visit not done within 7 days"]


@pytest.mark.parametrize("visit", ["done-in-time", "left-undone"])
def test_a_visit_under_way_moves_to_the_version_with_a_deadline(
    timed: Timed, make_customer, db, visit
):
    """The subprocess under way begins to wait for the deadline the new version draws on it:
    the move left it without its boundary timer, and the timer never fired."""
    GENERATED.deploy(
        timed.owner, "r10_gen_after_sale.bpmn", "r10-gen-visit.json", "r10-gen-rescue.json"
    )
    customer = make_customer()
    started = timed.agent.start(AFTER_SALE, {"customer_id": customer.id})
    (task,) = started["ready_tasks"]
    timed.advance(days=1)
    deploy_after_sale_with_deadline(timed.owner)
    moved = migrate(timed.owner, started["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    view = moved.get_json()
    assert [t["id"] for t in view["ready_tasks"]] == [task["id"]]
    (deadline,) = view["waiting"]
    assert (deadline["name"], datetime.fromisoformat(deadline["due_at"])) == (
        "timer_9",
        T0 + timedelta(days=8),  # seven days from the move
    )
    if visit == "done-in-time":
        after = timed.agent.complete_ok(task["id"], {"reached": True, "score": 1})
        rescue = only_task(after)
        assert rescue["name"] == "user_6"
        assert after["waiting"] == []
        assert timed.advance(days=7) == 0
        done = timed.agent.complete_ok(rescue["id"], {"outcome": "lost"})
        assert done["status"] == "completed", done["incidents"]
        assert notes_of(db, customer.id) == ["After-sale call: satisfaction 1/5"]
    else:
        assert timed.advance(days=6, hours=23) == 0
        assert timed.advance(hours=1) == 1
        done = timed.owner.instance(started["id"])
        assert (done["status"], done["ready_tasks"]) == ("completed", []), done["incidents"]
        assert timed.agent.complete(task["id"], {"reached": False}).status_code == 409
        assert notes_of(db, customer.id) == ["After-sale visit not done within 7 days"]


CONTACTS = ("r10_gen_contacts.bpmn", "r10-gen-contact.json")


def test_calls_to_each_contact_under_way_are_not_given_a_deadline_by_a_move(owner, agent):
    """A multi-instance task under way cannot begin to wait for boundary events: the move
    is refused on it with what to do (it moved before, and its deadline never waited)."""
    GENERATED.deploy(owner, *CONTACTS)
    started = agent.start("r10_gen_contacts", {"contacts": ["Mr Li", "Ms Wu"]})
    first, second = started["ready_tasks"]
    agent.complete_ok(first["id"], {"answer": "voicemail"})
    body = GENERATED.read("r10_gen_contacts_v2.bpmn")
    form = (CONTACTS[1], GENERATED.read(CONTACTS[1]))
    assert upload(owner, (CONTACTS[0], body), form).status_code == 201
    check = owner.post(
        "/api/v1/process-models/r10_gen_contacts/versions/1/migration-check",
        json={"to_version": 2},
    ).get_json()
    (item,) = check["items"]
    assert (item["id"], item["can_move"]) == (started["id"], False)
    (blocker,) = item["blockers"]
    assert blocker["element_id"] == "user_2"
    assert "cannot begin to wait for" in blocker["message"]
    moved = migrate(owner, started["id"], 2)
    assert moved.status_code == 409
    assert [d["element_id"] for d in moved.get_json()["error"]["details"]] == ["user_2"]
    done = agent.complete_ok(second["id"], {"answer": "reached"})
    assert (done["status"], done["version"]) == ("completed", 1), done["incidents"]
    assert done["data"]["answers"] == ["voicemail", "reached"]
    # started on version 2, the deadline stands on the calls
    again = agent.start("r10_gen_contacts", {"contacts": ["Mr Li"]})
    assert (again["version"], waits(again)) == (2, {("timer", "timer_4")})


def test_an_instance_ending_without_its_output_item_names_it_and_a_retry_mends_it(owner, agent):
    """The incident said only "Expected an output item.", on an instance SpiffWorkflow had
    completed: a retry had nothing to run, and the instance stayed running with nothing
    ready. The instance is what failed; retried with the item, it completes with the form
    as submitted (it opened again, for the form to be filled in once more)."""
    form = ("r10-gen-visit.json", GENERATED.read("r10-gen-visit.json"))
    body = GENERATED.edited(
        CONTACTS[0], ('value="r10-gen-contact.json"', 'value="r10-gen-visit.json"')
    )
    assert upload(owner, (CONTACTS[0], body), form).status_code == 201
    started = agent.start("r10_gen_contacts", {"contacts": ["Mr Li"]})
    (call,) = started["ready_tasks"]
    failed = agent.complete_ok(call["id"], {"reached": True, "score": 4})
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "user_2"
    assert incident["message"].startswith(
        "An instance of user_2 ended without 'answer', the outputDataItem each instance adds "
        "to 'answers'; its data holds "
    )
    assert "Give the task's form a field named 'answer'" in incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"answer": "reached"}}
    )
    assert retried.status_code == 200, retried.get_json()
    done = retried.get_json()
    assert (done["status"], done["incidents"], done["ready_tasks"]) == ("completed", [], [])
    assert done["data"]["answers"] == ["reached"]
    assert owner.tasks("all=1") == []  # nothing to fill in again


# -- what Dialflow refuses, one mistake per file as a process owner makes it in the modeler
#    or a script writes it: each on its element and line, nothing deployed ----------------

V1, V2, CAD2 = VERSIONS[1], VERSIONS[2], CADENCE_VERSIONS[2]
Change = tuple[tuple[str, str], ...]
# (folder, files, the file changed, its changes, element refused, words, where its line is)
REFUSALS: dict[str, tuple[DiagramFolder, tuple[str, ...], str, Change, str, list[str], str]] = {
    "due-time-quoted-like-a-timer": (
        V1,
        FILES[1],
        FILES[1][0],
        (('name="dueIn" value="PT4H"', 'name="dueIn" value="&#39;PT4H&#39;"'),),
        "Activity_1prepare",
        ["dueIn \"'PT4H'\" is not an ISO 8601 duration such as PT4H"],
        'id="Activity_1prepare"',
    ),
    "condition-typed-as-javascript": (
        V1,
        FILES[1],
        FILES[1][0],
        (('>approver == "manager"<', '>approver === "manager"<'),),
        "Flow_manager",
        ["is not a valid Python expression", "'approver === \"manager\"'"],
        'id="Flow_manager"',
    ),
    "new-branch-drawn-without-its-condition": (
        V2,
        FILES[2],
        FILES[2][0],
        (
            (
                '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                'approver == "director"</bpmn:conditionExpression>',
                "",
            ),
        ),
        "Flow_director",
        [
            "leaves the exclusive gateway 'Gateway_1approver' without a condition",
            "and is not its default flow",
        ],
        'id="Flow_director"',
    ),
    "decision-renamed-in-the-table-only": (
        V2,
        FILES[2],
        FILES[2][1],
        (
            ('<decision id="r10_discount_tier"', '<decision id="r10_discount_tiers"'),
            ('dmnElementRef="r10_discount_tier"', 'dmnElementRef="r10_discount_tiers"'),
        ),
        "Activity_0tier",
        [
            "calls decision 'r10_discount_tier', which no DMN file of this deploy has",
            "the decisions it has are r10_discount_tiers",
        ],
        'id="Activity_0tier"',
    ),
    "new-column-missing-in-a-rule": (
        V2,
        FILES[2],
        FILES[2][1],
        (
            (
                '        <inputEntry id="UnaryTests_0v7g4hs">\n          <text></text>\n'
                "        </inputEntry>\n",
                "",
            ),
        ),
        "DecisionRule_08f6dir",
        ["has 1 input entry for the table's 2 inputs"],
        'id="DecisionRule_08f6dir"',
    ),
    "operator-parameter-left-blank": (
        CAD2,
        CADENCE_FILES[2],
        CADENCE_FILES[2][0],
        (
            (
                '<spiffworkflow:parameter id="disposition" type="str" value="disposition" />',
                "",
            ),
        ),
        "Activity_0log",
        ["crm.log_call needs parameter 'disposition' (str)"],
        'id="Activity_0log"',
    ),
    "form-of-the-new-task-left-out": (
        CAD2,
        CADENCE_FILES[2][:2],
        CADENCE_FILES[2][0],
        (),
        "Activity_1number",
        ["form 'r10-number.json' is not part of the deploy"],
        'id="Activity_1number"',
    ),
    "window-timer-given-a-day-no-month-has": (
        CAD2,
        CADENCE_FILES[2],
        CADENCE_FILES[2][0],
        (
            (
                '>gate["next_allowed_at"]</bpmn:timeDate>',
                ">2026-05-35T09:00:00+08:00</bpmn:timeDate>",
            ),
        ),
        "Event_1window",
        ["timer value '2026-05-35T09:00:00+08:00' is not a valid ISO 8601 date"],
        'id="Event_1window"',
    ),
    "generated-id-starting-with-a-digit": (
        GENERATED,
        ("r10_gen_pool_release.bpmn",),
        "r10_gen_pool_release.bpmn",
        (
            ('id="service_8"', 'id="8_service"'),
            ('targetRef="service_8"', 'targetRef="8_service"'),
            ('sourceRef="service_8"', 'sourceRef="8_service"'),
        ),
        "8_service",
        ["id '8_service' is no valid XML id"],
        'id="8_service"',
    ),
    "generated-flow-to-a-missing-step": (
        GENERATED,
        ("r10_gen_pool_release.bpmn",),
        "r10_gen_pool_release.bpmn",
        (
            (
                'sourceRef="service_11" targetRef="end_12"',
                'sourceRef="service_11" targetRef="end_13"',
            ),
        ),
        "flow_13",
        ["has targetRef 'end_13', which is no element of the model"],
        'id="flow_13"',
    ),
    "generated-message-ref-to-nothing": (
        GENERATED,
        ("r10_gen_pool_release.bpmn",),
        "r10_gen_pool_release.bpmn",
        (
            (
                'messageRef="m_followed_up" /></ns0:intermediateCatchEvent>'
                "<ns0:intermediateCatchEvent "
                'id="msg_15">',
                'messageRef="m_follow_up" /></ns0:intermediateCatchEvent>'
                "<ns0:intermediateCatchEvent "
                'id="msg_15">',
            ),
        ),
        "msg_13",
        ["messageRef 'm_follow_up' names no <bpmn:message> of this file"],
        'id="msg_13"',
    ),
    "generated-process-not-executable": (
        GENERATED,
        ("r10_gen_after_sale.bpmn", "r10-gen-visit.json", "r10-gen-rescue.json"),
        "r10_gen_after_sale.bpmn",
        (('isExecutable="true"', 'isExecutable="false"'),),
        AFTER_SALE,
        ['is marked isExecutable="false"', "mark it executable"],
        f'id="{AFTER_SALE}"',
    ),
    "generated-event-gateway-to-a-task": (
        GENERATED,
        ("r10_gen_pool_release.bpmn",),
        "r10_gen_pool_release.bpmn",
        (
            ('sourceRef="evgw_6" targetRef="timer_7"', 'sourceRef="evgw_6" targetRef="service_8"'),
            ('sourceRef="timer_7" targetRef="service_8"', 'sourceRef="timer_7" targetRef="end_10"'),
        ),
        "evgw_6",
        ["leads to serviceTask 'service_8'", "can only lead to catch events"],
        'id="evgw_6"',
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_one_mistake_per_file_is_refused_on_its_element(owner, db, case):
    folder, files, changed, changes, element, words, line_at = REFUSALS[case]
    bodies = [
        (name, folder.edited(name, *changes) if changes and name == changed else folder.read(name))
        for name in files
    ]
    details = refused(upload(owner, *bodies))
    problems = by_element(details)
    assert element in problems, details
    for word in words:
        assert word in problems[element], problems[element]
    detail = next(d for d in details if d["element_id"] == element)
    # a decision renamed in its table leaves the task calling the old name: said on the task
    where = FILES[2][0] if case == "decision-renamed-in-the-table-only" else changed
    assert detail["file"] == where
    assert detail["line"] == line_in(line_at, dict(bodies)[where]), detail
    nothing_deployed(db)


def test_a_timer_given_a_bare_date_is_said_once_and_as_a_timer(owner, db):
    """A timer's expression was also checked as a message payload: "spiffworkflow:
    messagePayload is not a valid Python expression" stood on a timer that has none."""
    body = CAD2.edited(
        CADENCE_FILES[2][0],
        ('>gate["next_allowed_at"]</bpmn:timeDate>', ">2026-05-35T09:00:00+08:00</bpmn:timeDate>"),
    )
    forms = [(n, CAD2.read(n)) for n in CADENCE_FILES[2][1:]]
    details = refused(upload(owner, (CADENCE_FILES[2][0], body), *forms))
    assert [(d["element_id"], d["line"]) for d in details] == [
        ("Event_1window", line_in('id="Event_1window"', body))
    ]
    assert "messagePayload" not in details[0]["message"]
    nothing_deployed(db)


# -- a failed instance moved to the version that fixes it, then retried -----------------------


def test_a_quote_failing_on_a_script_typo_moves_to_the_fixed_version_and_is_retried(
    owner, agent, make_customer, db
):
    """Migration took only running or waiting instances, though a failed one is the one a
    fixed version is for (and the retry of an error nothing catches told to migrate)."""
    typo = V1.edited(FILES[1][0], ("(100 - discount_pct)", "(100 - discount)"))
    others = [(name, V1.read(name)) for name in FILES[1][1:]]
    assert upload(owner, (FILES[1][0], typo), *others).status_code == 201
    customer = make_customer()
    failed = prepared(agent, customer.id, seats=10, unit_price=100, discount_pct=5)
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "Activity_1total"
    assert "discount" in incident["message"]
    deploy_version(owner, 1)  # the fix, as version 2
    moved = migrate(owner, failed["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    view = moved.get_json()
    assert (view["version"], view["status"]) == (2, "error")
    assert [i["element_id"] for i in view["incidents"]] == ["Activity_1total"]
    retried = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    confirm = only_task(retried.get_json())
    assert (confirm["name"], retried.get_json()["data"]["total"]) == ("Activity_1confirm", 950.0)
    assert deals_of(db, customer.id) == [("10 seats at 5% off", "950.00", "qualification")]


def test_an_error_nothing_caught_is_caught_after_a_move_to_the_version_that_catches_it(
    owner, agent, make_customer, db
):
    GENERATED.deploy(owner, "r10_gen_dnc_gate.bpmn")
    customer = make_customer(do_not_call=True)
    failed = agent.start("r10_gen_dnc_gate", {"customer_id": customer.id})
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("end_s4", "uncaught_error")
    hopeless = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert hopeless.status_code == 409
    assert hopeless.get_json()["error"]["code"] == "retry_cannot_help"
    assert "migrate" in hopeless.get_json()["error"]["message"]
    body = GENERATED.read("r10_gen_dnc_gate_v2.bpmn")
    assert upload(owner, ("r10_gen_dnc_gate.bpmn", body)).status_code == 201
    moved = migrate(owner, failed["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["status"] == "error"
    retried = owner.post(f"/api/v1/process-instances/{failed['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    done = retried.get_json()
    assert (done["status"], done["incidents"], done["ready_tasks"]) == ("completed", [], [])
    assert notes_of(db, customer.id) == ["Not called: do_not_call"]


def test_saving_an_unchanged_version_again_deploys_nothing_new(owner, agent, make_customer):
    assert deploy_version(owner, 1)["version"] == 1
    again = upload(owner, *[(name, VERSIONS[1].read(name)) for name in FILES[1]])
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["version"] == 1
    deploy_version(owner, 2)
    missing = owner.post(
        "/api/v1/process-instances",
        json={"process_id": QUOTE, "version": 7, "data": {"customer_id": make_customer().id}},
    )
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"]
    (listed,) = [m for m in owner.models() if m["process_id"] == QUOTE]
    assert listed["latest_version"] == 2


def test_a_regenerated_release_renames_its_message_and_times_the_release_anew(
    timed: Timed, make_customer, db
):
    """The release begun on version 1 keeps its due time though version 2 times it as a
    duration; the renamed message is waited for by its new name."""
    GENERATED.deploy(timed.owner, "r10_gen_pool_release.bpmn")
    customer = make_customer(timed.agent.user)
    key = f"customer-{customer.id}"
    started = timed.agent.start(
        POOL_RELEASE, {"customer_id": customer.id, "planned_at": T0.isoformat()}, business_key=key
    )
    assert timed.advance(days=2) == 1  # warned; the release waits for day 3
    regenerated = GENERATED.edited(
        "r10_gen_pool_release.bpmn",
        ('name="r10_followed_up"', 'name="r10_contacted"'),
        (
            "<ns0:timeDate>reclaim_at</ns0:timeDate>",
            '<ns0:timeDuration>"PT12H"</ns0:timeDuration>',
        ),
    )
    assert upload(timed.owner, ("r10_gen_pool_release.bpmn", regenerated)).status_code == 201
    timed.advance(hours=1)
    moved = migrate(timed.owner, started["id"], 2)
    assert moved.status_code == 200, moved.get_json()
    waiting = {w["kind"]: w for w in moved.get_json()["waiting"]}
    assert waiting["message"]["name"] == "r10_contacted"
    assert datetime.fromisoformat(waiting["timer"]["due_at"]) == T0 + timedelta(days=3)
    old_name = timed.agent.post(
        "/api/v1/messages", json={"name": "r10_followed_up", "business_key": key}
    )
    assert old_name.status_code == 404
    assert timed.advance(hours=22, minutes=59) == 0
    sent = timed.agent.post("/api/v1/messages", json={"name": "r10_contacted", "business_key": key})
    assert sent.status_code == 202, sent.get_json()
    done = timed.owner.instance(started["id"])
    assert (done["status"], done["waiting"]) == ("completed", []), done["incidents"]
    with db() as session:
        assert session.get(Customer, customer.id).owner_id == timed.agent.user.id
