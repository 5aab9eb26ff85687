"""More steps that race each other, in real threads through the API and the background pass:
one signal id posted twice, a broadcast against a completion it would interrupt, a message
against the interrupting timer of the same task, a claim, an assignment and a completion by
three people, a migration against a timer, two deploys of one new content, and a completion
against the message that starts an interrupting event subprocess. Whatever order the database
picks, one step wins, the others get 409 (or find nothing to do), nothing answers 500 and the
CRM writes are those of the path the instance took, once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from dialflow.background import TimerLoop
from engine.models import ProcessInstance, SignalBroadcast, SignalDelivery
from tests.engine import crash_diagrams as bpmn
from tests.engine.conftest import DIAGRAMS, Timed, notes_of, post_together
from tests.engine.test_crash_matrix import deploy, install
from tests.engine.test_races import item_of, poster, start_call, together

ROUNDS = 4

# A call (the person's path notes "called") that an interrupting signal boundary event stops
# (that path notes "paused").
PAUSABLE = bpmn.diagram(
    "held_pausable",
    bpmn.START
    + bpmn.TASK
    + bpmn.hold("note", "'called'")
    + '<bpmn:boundaryEvent id="paused" attachedToRef="call">'
    '<bpmn:signalEventDefinition signalRef="s_pause"/></bpmn:boundaryEvent>'
    + bpmn.hold("pause_note", "'paused'")
    + bpmn.END
    + '<bpmn:endEvent id="end_paused"/>'
    + bpmn.chain("start", "call", "note", "end")
    + bpmn.flow("p1", "paused", "pause_note")
    + bpmn.flow("p2", "pause_note", "end_paused"),
    before='<bpmn:signal id="s_pause" name="campaign_paused"/>',
)

# A call; a "stop" message starts an interrupting event subprocess that notes "stopped".
STOPPABLE = bpmn.diagram(
    "held_stoppable",
    bpmn.START
    + bpmn.TASK
    + bpmn.hold("note", "'called'")
    + bpmn.END
    + bpmn.chain("start", "call", "note", "end")
    + '<bpmn:subProcess id="on_stop" triggeredByEvent="true">'
    '<bpmn:startEvent id="stop_start" isInterrupting="true">'
    '<bpmn:messageEventDefinition messageRef="m_stop"/></bpmn:startEvent>'
    + bpmn.hold("stop_note", "'stopped'")
    + '<bpmn:endEvent id="stop_end"/>'
    + bpmn.flow("s1", "stop_start", "stop_note")
    + bpmn.flow("s2", "stop_note", "stop_end")
    + "</bpmn:subProcess>",
    before='<bpmn:message id="m_stop" name="stop"/>',
)


def instance_row(db: Callable[..., Any], instance_id: int) -> ProcessInstance:
    with db() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        session.expunge(row)
        return row


def test_the_same_signal_id_posted_twice_at_once(app, runtime, owner, agent, make_customer, db):
    install(runtime)
    deploy(owner, bpmn.SIGNAL_WAITER)
    for round_number in range(ROUNDS):
        customers = [make_customer() for _ in range(3)]
        waiting = [
            agent.start("held_signal_waiter", {"customer_id": c.id})["id"] for c in customers
        ]
        body = {"name": "price_change", "signal_id": f"prices-{round_number}"}
        results = post_together(app, "/api/v1/signals", [(agent.headers, body)] * 2)
        assert sorted(status for status, _ in results) == [200, 202], (round_number, results)
        first = next(answer for status, answer in results if status == 202)
        assert (first["duplicate"], first["delivered_to"]) == (False, waiting), results
        repeat = next(answer for status, answer in results if status == 200)
        assert repeat["duplicate"] is True, results
        assert set(repeat["delivered_to"]) <= set(waiting), results
        with db() as session:
            stored = session.scalars(
                select(SignalBroadcast.id).where(SignalBroadcast.signal_id == body["signal_id"])
            ).all()
            reached = session.scalars(
                select(SignalDelivery.instance_id).where(SignalDelivery.broadcast_id.in_(stored))
            ).all()
        assert (len(stored), sorted(reached)) == (1, waiting), round_number
        assert [notes_of(db, c.id) for c in customers] == [["repriced"]] * 3


def test_a_broadcast_against_a_completion_it_would_interrupt(
    app, runtime, owner, agent, make_customer, db
):
    install(runtime)
    deploy(owner, PAUSABLE)
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        instance = agent.start("held_pausable", {"customer_id": customer.id})
        task_id = instance["ready_tasks"][0]["id"]
        body = {"name": "campaign_paused", "signal_id": f"pause-{round_number}"}
        completed, paused = together(
            poster(app, f"/api/v1/tasks/{task_id}/complete", agent.headers, {"data": {}}),
            poster(app, "/api/v1/signals", agent.headers, body),
        )
        assert paused[0] == 202, (round_number, completed, paused)
        assert agent.instance(instance["id"])["status"] == "completed"
        if completed[0] == 200:
            assert paused[1]["delivered_to"] == [], (round_number, completed, paused)
            assert notes_of(db, customer.id) == ["called"]
            assert item_of(db, task_id).status.value == "completed"
        else:
            assert completed[0] == 409, (round_number, completed, paused)
            assert paused[1]["delivered_to"] == [instance["id"]]
            assert notes_of(db, customer.id) == ["paused"]
            assert item_of(db, task_id).status.value != "open"


def test_a_message_against_the_interrupting_timer_of_the_same_task(timed: Timed, make_customer):
    db = timed.runtime.db.unit_of_work
    timed.owner.deploy("call_or_cancel.bpmn", "call-form.json")
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        key = f"lead-{customer.id}"
        instance = timed.agent.start(
            "call_or_cancel", {"customer_id": customer.id}, business_key=key
        )
        timed.clock.advance(timedelta(hours=2))  # the one-hour timer is due; nobody fired it
        message = {"name": "call_cancelled", "business_key": key, "message_id": f"c-{key}"}
        sent, fired = together(
            poster(timed.app, "/api/v1/messages", timed.agent.headers, message),
            TimerLoop(timed.runtime).run_once,
        )
        assert sent[0] in (202, 404), (round_number, sent, fired)
        seen = timed.agent.instance(instance["id"])
        assert seen["status"] == "completed", (round_number, sent, fired, seen)
        if sent[0] == 202:
            assert sent[1]["delivered_to"] == [instance["id"]]
            assert fired == 0, (round_number, sent, fired)
            assert notes_of(db, customer.id) == ["Cancelled"]
        else:
            assert (sent[1]["error"]["code"], fired) == ("no_matching_instance", 1)
            assert notes_of(db, customer.id) == ["Overdue"]
        assert TimerLoop(timed.runtime).run_once() == 0
        assert len(notes_of(db, customer.id)) == 1


def test_a_claim_an_assignment_and_a_completion_by_three_people(
    app, owner, agent, actor, make_customer, db
):
    colleague = actor("agent", username="agent_east2", team="East")
    third = actor("agent", username="agent_east3", team="East")
    manager = actor("manager", username="boss_east", team="East")
    owner.deploy("call_note.bpmn", "call-form.json")
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        _instance_id, task_id = start_call(agent, customer.id)
        base = f"/api/v1/tasks/{task_id}"
        completed, claimed, assigned = together(
            poster(app, f"{base}/complete", agent.headers, {"data": {"outcome": "interested"}}),
            poster(app, f"{base}/claim", colleague.headers),
            poster(app, f"{base}/assign", manager.headers, {"user": third.username}),
        )
        statuses = (completed[0], claimed[0], assigned[0])
        assert all(s in (200, 409) for s in statuses), (round_number, completed, claimed, assigned)
        item = item_of(db, task_id)
        if completed[0] == 200:
            assert (item.status.value, item.completed_by_id) == ("completed", agent.user.id)
            assert notes_of(db, customer.id) == ["Outcome: interested"]
        else:
            assert completed[1]["error"]["code"] == "task_assigned", completed
            assert item.status.value == "open"
            assert notes_of(db, customer.id) == []
            # It is held by someone whose claim or assignment went through.
            holders = {colleague.user.id: claimed[0], third.user.id: assigned[0]}
            assert holders.get(item.assignee_id) == 200, (round_number, statuses)


def test_a_migration_against_a_timer(timed: Timed, make_customer):
    """Moved first, the due timer fires in the move's step, on the new version, and the pass
    finds nothing to do; fired first, the instance is over and the move is refused."""
    install(timed.runtime)
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.TIMER)
    deploy(timed.owner, bpmn.TIMER.replace("'an hour later'", "'an hour later, v2'"))
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        instance = timed.agent.start("held_timer", {"customer_id": customer.id}, version=1)
        timed.clock.advance(timedelta(hours=2))
        moved, fired = together(
            poster(
                timed.app,
                f"/api/v1/process-instances/{instance['id']}/migrate",
                timed.owner.headers,
                {"to_version": 2},
            ),
            TimerLoop(timed.runtime).run_once,
        )
        assert moved[0] in (200, 409), (round_number, moved, fired)
        assert TimerLoop(timed.runtime).run_once() == 0  # moved first, the move's step fired it
        seen = timed.agent.instance(instance["id"])
        assert seen["status"] == "completed", (round_number, moved, fired, seen)
        if moved[0] == 200:
            assert seen["version"] == 2
            assert notes_of(db, customer.id) == ["an hour later, v2"]
        else:
            assert (moved[1]["error"]["code"], fired) == ("migration_refused", 1)
            assert seen["version"] == 1
            assert notes_of(db, customer.id) == ["an hour later"]
        assert TimerLoop(timed.runtime).run_once() == 0


def test_two_deploys_of_the_same_new_content_at_once(app, runtime, owner):
    install(runtime)
    deploy(owner, bpmn.STARTED)
    for round_number in range(ROUNDS):
        changed = bpmn.STARTED.replace("'started'", f"'started {round_number}'")
        body = {"bpmn": {"m0.bpmn": changed}}
        results = post_together(app, "/api/v1/process-models", [(owner.headers, body)] * 3)
        version = round_number + 2
        assert sorted(status for status, _ in results) == [200, 200, 201], results
        assert {answer["version"] for _, answer in results} == {version}, results
        assert owner.models()[0]["versions"] == list(range(1, version + 1))


def test_a_completion_against_the_start_of_an_interrupting_event_subprocess(
    app, runtime, owner, agent, make_customer, db
):
    install(runtime)
    deploy(owner, STOPPABLE)
    for round_number in range(ROUNDS * 2):
        customer = make_customer()
        key = f"stop-{customer.id}"
        instance = agent.start("held_stoppable", {"customer_id": customer.id}, business_key=key)
        task_id = instance["ready_tasks"][0]["id"]
        message = {"name": "stop", "business_key": key, "message_id": f"m-{key}"}
        completed, stopped = together(
            poster(app, f"/api/v1/tasks/{task_id}/complete", agent.headers, {"data": {}}),
            poster(app, "/api/v1/messages", agent.headers, message),
        )
        assert agent.instance(instance["id"])["status"] == "completed"
        if completed[0] == 200:
            assert stopped[0] == 404, (round_number, completed, stopped)
            assert stopped[1]["error"]["code"] == "no_matching_instance"
            assert notes_of(db, customer.id) == ["called"]
        else:
            assert (completed[0], stopped[0]) == (409, 202), (round_number, completed, stopped)
            assert stopped[1]["delivered_to"] == [instance["id"]]
            assert notes_of(db, customer.id) == ["stopped"]
            assert item_of(db, task_id).status.value != "open"


def test_a_migration_keeps_the_due_instant_of_the_timer_it_waits_at(timed: Timed, make_customer):
    """Half-way through its hour an instance moves: its timer is still due at the hour (it
    used to count the hour again from the move, on the wall clock). One already due when it
    moves fires in the move's step, on the new version."""
    install(timed.runtime)
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, bpmn.TIMER)
    deploy(timed.owner, bpmn.TIMER.replace("'an hour later'", "'an hour later, v2'"))
    customers = [make_customer(), make_customer()]
    overdue = timed.agent.start("held_timer", {"customer_id": customers[0].id}, version=1)
    timed.clock.advance(timedelta(minutes=65))
    moved = timed.owner.post(
        f"/api/v1/process-instances/{overdue['id']}/migrate", json={"to_version": 2}
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["status"], moved.get_json()["version"]) == ("completed", 2)
    assert notes_of(db, customers[0].id) == ["an hour later, v2"]

    halfway = timed.agent.start("held_timer", {"customer_id": customers[1].id}, version=1)
    timed.clock.advance(timedelta(minutes=30))
    moved = timed.owner.post(
        f"/api/v1/process-instances/{halfway['id']}/migrate", json={"to_version": 2}
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["waiting"] == halfway["waiting"]
    assert timed.advance(minutes=29) == 0
    assert timed.advance(minutes=1) == 1
    assert timed.agent.instance(halfway["id"])["status"] == "completed"
    assert notes_of(db, customers[1].id) == ["an hour later, v2"]
    assert timed.advance(hours=2) == 0


def test_a_migration_keeps_a_boundary_timer_counting(timed: Timed, make_customer):
    """Half an hour into a call's one-hour boundary timer, the instance moves; the timer still
    ends an hour after the call opened, also when the new version draws a two-hour timer
    there: a wait already begun keeps its due instant (as a migration in Camunda does unless
    told to update the trigger); the new timer is for the calls opened on the new version."""
    db = timed.runtime.db.unit_of_work
    timed.owner.deploy("call_or_cancel.bpmn", "call-form.json")
    xml = (DIAGRAMS / "call_or_cancel.bpmn").read_text()
    forms = {"call-form.json": json.loads((DIAGRAMS / "call-form.json").read_text())}
    for text in ("'Overdue!'", "'Overdue!!'"):
        xml = (
            xml.replace("'Overdue'", text)
            if text == "'Overdue!'"
            else xml.replace('"PT1H"', '"PT2H"')
        )
        body = {"bpmn": {"call_or_cancel.bpmn": xml}, "forms": forms}
        assert timed.owner.post("/api/v1/process-models", json=body).status_code == 201
    customers = [make_customer(), make_customer()]
    started = [
        timed.agent.start("call_or_cancel", {"customer_id": c.id}, version=1) for c in customers
    ]
    timed.clock.advance(timedelta(minutes=30))
    for instance, version in zip(started, (2, 3), strict=True):
        url = f"/api/v1/process-instances/{instance['id']}/migrate"
        moved = timed.owner.post(url, json={"to_version": version})
        assert moved.status_code == 200, moved.get_json()

    assert timed.advance(minutes=29) == 0
    assert timed.advance(minutes=2) == 2  # an hour after the calls opened
    assert notes_of(db, customers[0].id) == ["Overdue!"]
    assert notes_of(db, customers[1].id) == ["Overdue!"]
    assert timed.advance(hours=3) == 0
