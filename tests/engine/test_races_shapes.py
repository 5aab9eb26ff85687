"""Steps that race each other on the shapes of the newest rounds (``crash_shapes.py``), in real
threads through the API and the background pass (on PostgreSQL each on its own connection): a
cycle timer firing while its task is completed, a timer of an event-based gateway inside a
looping subprocess against the reply it waits for, a reply, a withdrawal and a stop (event
subprocesses at two levels) at once, a message for one of two waiting catches against the
completion that begins the second wait, a message boundary event two calls up against the
completion three levels down that ends the calls, the review of a looping inclusive split and
multi-instance activity completed twice, the instances of a looping multi-instance user task
completed at once. Whatever order the database picks, each step applies whole or not at all,
and the notes are those of the path the instance took, once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dialflow.background import TimerLoop
from tests.engine import crash_shapes as shapes
from tests.engine.conftest import Timed, notes_of
from tests.engine.test_crash_matrix import deploy, install
from tests.engine.test_races import poster, together

ROUNDS = 3
MESSAGES = "/api/v1/messages"


@pytest.fixture
def holding(timed: Timed) -> Timed:
    install(timed.runtime)
    return timed


def completion(timed: Timed, task_id: str, data: dict[str, Any] | None = None) -> Any:
    url = f"/api/v1/tasks/{task_id}/complete"
    return poster(timed.app, url, timed.agent.headers, {"data": data or {}})


def message(timed: Timed, name: str, key: str, **payload: Any) -> Any:
    body = {"name": name, "business_key": key, "payload": payload}
    return poster(timed.app, MESSAGES, timed.agent.headers, body)


def test_a_cycle_timer_fires_while_its_task_is_completed(holding: Timed, make_customer):
    """The reminder is non-interrupting: the completion always applies; the reminder fires
    before it or not at all, and never after it."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, shapes.REMINDED)
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        started = timed.agent.start("held_reminded", {"customer_id": customer.id})
        timed.clock.advance(timedelta(hours=1))  # the first reminder is due; nobody fired it
        completed, fired = together(
            completion(timed, started["ready_tasks"][0]["id"]), TimerLoop(timed.runtime).run_once
        )
        assert completed[0] == 200, (round_number, completed)
        assert fired in (0, 1), (round_number, fired)
        notes = notes_of(db, customer.id)
        assert notes == ["reminder", "called"] if fired else ["called"], (round_number, notes)
        done = timed.agent.instance(started["id"])
        assert (done["status"], done["waiting"]) == ("completed", []), round_number
        assert timed.advance(hours=3) == 0
        assert notes_of(db, customer.id) == notes


def test_the_hour_of_an_offer_round_against_the_reply(holding: Timed, make_customer):
    """An hour passed at the event-based gateway (and the round's reminder, 45 minutes) while
    the reply comes: fired first, the round times out and the reply is the next round's;
    replied first, the round takes the reply alone, not the timeout due in its step too
    (SpiffWorkflow took both paths), and the pass finds nothing due."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, shapes.OFFERS)
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        key = f"offer-{customer.id}"
        started = timed.agent.start("held_offers", {"customer_id": customer.id}, business_key=key)
        timed.clock.advance(timedelta(hours=1))
        replied, fired = together(
            message(timed, "offer_reply", key, answer="yes"), TimerLoop(timed.runtime).run_once
        )
        assert (replied[0], fired in (0, 1)) == (202, True), (round_number, replied, fired)
        notes = notes_of(db, customer.id)
        rounds = timed.agent.instance(started["id"])["data"]["rounds"]
        if fired:
            assert sorted(notes[:2]) == ["late", "reminded"], (round_number, notes)
            assert (notes[2:], rounds) == (["reply yes"], 2), (round_number, notes)
        else:  # the reminder, overdue, fires in the reply's step
            assert (sorted(notes), rounds) == (["reminded", "reply yes"], 1), (round_number, notes)
        assert timed.advance() == 0
        stopped = message(timed, "offers_stopped", key)()  # so that it fires no more
        assert stopped[0] == 202, stopped


NOTES = {"offer_reply": "reply no", "offer_withdrawn": "withdrawn", "offers_stopped": "stopped"}


def test_a_reply_a_withdrawal_and_the_stop_of_the_campaign_at_once(holding: Timed, make_customer):
    """The reply (the round's event-based gateway), a withdrawal (the round's interrupting
    event subprocess) and the stop (the process's interrupting event subprocess): each
    delivered applies once, in some order; after the stop nothing is delivered."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, shapes.OFFERS)
    for round_number in range(ROUNDS):
        customer = make_customer()
        key = f"offer-{customer.id}"
        started = timed.agent.start("held_offers", {"customer_id": customer.id}, business_key=key)
        results = together(*(message(timed, name, key, answer="no") for name in NOTES))
        statuses = dict(zip(NOTES, (status for status, _ in results), strict=True))
        assert statuses["offers_stopped"] == 202, (round_number, results)
        assert set(statuses.values()) <= {202, 404}, (round_number, results)
        notes = notes_of(db, customer.id)
        assert sorted(notes) == sorted(NOTES[n] for n, s in statuses.items() if s == 202)
        assert notes[-1] == "stopped", (round_number, notes)
        done = timed.agent.instance(started["id"])
        assert (done["status"], done["waiting"], done["incidents"]) == ("completed", [], [])


def test_a_message_for_one_of_two_catches_against_the_completion_that_opens_the_second(
    holding: Timed, make_customer
):
    """``reply_b`` waits from the start; completing the call makes ``reply_a`` wait. A message
    sent meanwhile moves ``reply_b``, whichever step comes first; the next one ``reply_a``."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, shapes.TWO_CATCHES)
    for round_number in range(ROUNDS):
        customer = make_customer()
        key = f"two-{customer.id}"
        started = timed.agent.start(
            "held_two_catches", {"customer_id": customer.id}, business_key=key
        )
        completed, replied = together(
            completion(timed, started["ready_tasks"][0]["id"]), message(timed, "two_reply", key)
        )
        assert (completed[0], replied[0]) == (200, 202), (round_number, completed, replied)
        assert notes_of(db, customer.id) == ["b"], round_number
        first, second = together(message(timed, "two_reply", key), message(timed, "two_reply", key))
        statuses = sorted([first[0], second[0]])
        assert statuses == [202, 404], (round_number, first, second)
        assert notes_of(db, customer.id) == ["b", "a"], round_number
        assert timed.agent.instance(started["id"])["status"] == "completed"


def test_a_withdrawal_two_calls_up_against_the_quote_that_ends_the_calls(
    holding: Timed, make_customer
):
    """No budget (an error thrown three levels down, caught on the third call) ends the calls;
    the withdrawal (on the second call) cancels the quote: one of them wins."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, *shapes.CHAINS)
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        key = f"d-{customer.id}"
        started = timed.agent.start("held_chain", {"customer_id": customer.id}, business_key=key)
        [quote] = started["ready_tasks"]
        completed, withdrawn = together(
            completion(timed, quote["id"], {"budget": 0, "discount": 0}),
            message(timed, "deal_withdrawn", key),
        )
        statuses = (completed[0], withdrawn[0])
        assert statuses in ((200, 404), (409, 202)), (round_number, completed, withdrawn)
        winner = "no budget" if completed[0] == 200 else "withdrawn"
        assert notes_of(db, customer.id) == [winner, "chain done"], round_number
        done = timed.agent.instance(started["id"])
        assert (done["status"], done["waiting"], done["incidents"]) == ("completed", [], [])
        assert timed.agent.tasks() == []


def test_the_review_of_a_looping_turn_completed_twice_at_once(holding: Timed, make_customer, actor):
    """The next turn (an inclusive split and join, a note per contact) runs once."""
    timed, db = holding, holding.runtime.db.unit_of_work
    colleague = timed.actor("agent", username="agent_east2", team="East")
    deploy(timed.owner, shapes.LOOPS)
    lead, *contacts = (make_customer() for _ in range(3))
    data = {"customer_id": lead.id, "customers": [c.id for c in contacts]}
    view = timed.agent.start("held_loops", data)
    for turn in (2, 3):
        [review] = view["ready_tasks"]
        url = f"/api/v1/tasks/{review['id']}/complete"
        results = together(
            poster(timed.app, url, timed.agent.headers, {"data": {}}),
            poster(timed.app, url, colleague.headers, {"data": {}}),
        )
        assert sorted(status for status, _ in results) == [200, 409], (turn, results)
        view = next(body for status, body in results if status == 200)
        assert view["data"]["turn"] == turn
    assert notes_of(db, lead.id) == ["a1", "a2", "b2", "a3"]
    assert [notes_of(db, c.id) for c in contacts] == [["each1", "each2", "each3"]] * 2


def test_the_instances_of_a_looping_multi_instance_task_completed_at_once(
    holding: Timed, make_customer
):
    """Three people's answers to one turn's three tasks, at once: each applies, the answers
    are collected in the contacts' order and noted once, and the next turn asks anew."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, shapes.ASKED)
    customer = make_customer()
    view = timed.agent.start("held_asked", {"customer_id": customer.id, "contacts": [1, 2, 3]})
    for turn in (1, 2, 3):
        tasks = view["ready_tasks"]
        assert [t["name"] for t in tasks] == ["ask"] * 3, turn
        results = together(
            *(completion(timed, t["id"], {"answer": n * 10 + turn}) for n, t in enumerate(tasks))
        )
        assert [status for status, _ in results] == [200] * 3, (turn, results)
        view = timed.agent.instance(view["id"])
        assert (view["data"]["answers"], view["incidents"]) == ([turn, 10 + turn, 20 + turn], [])
    assert view["status"] == "completed"
    assert notes_of(db, customer.id) == [
        "1: [1, 11, 21]",
        "2: [2, 12, 22]",
        "3: [3, 13, 23]",
    ]
