"""An event-based gateway takes the first event that reaches it, and that one only
(``engine/first_event.py``), when the background pass comes late: a reply after the gateway's
timeout was due, two timers of one gateway, each with its own due time, both due at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.engine import crash_shapes as shapes
from tests.engine.conftest import T0, Timed, notes_of
from tests.engine.crash_diagrams import END, START, diagram, flow
from tests.engine.test_crash_matrix import deploy, install
from tests.engine.test_migration_gaps import moved_ok


@pytest.fixture
def holding(timed: Timed) -> Timed:
    install(timed.runtime)
    return timed


def test_a_reply_while_the_hour_is_due_but_not_fired_takes_the_reply_alone(
    holding: Timed, make_customer
):
    """The reply reaches the round's event-based gateway after its hour was due. The reply's
    step takes the reply's path only (the round's reminder, overdue too, fires in it beside
    the gateway); SpiffWorkflow also added the due timer to the events the gateway had seen
    and ran the timeout's path beside the reply's."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, shapes.OFFERS)
    customer = make_customer()
    started = timed.agent.start("held_offers", {"customer_id": customer.id}, business_key="late")
    timed.clock.advance(timedelta(hours=1, minutes=5))
    body = {"name": "offer_reply", "business_key": "late", "payload": {"answer": "yes"}}
    assert timed.agent.post("/api/v1/messages", json=body).status_code == 202
    view = timed.agent.instance(started["id"])
    assert (view["data"]["rounds"], view["incidents"]) == (1, [])
    assert sorted(notes_of(db, customer.id)) == ["reminded", "reply yes"]
    timers = sorted(w["name"] for w in view["waiting"] if w["kind"] == "timer")
    assert timers == ["o_hour", "o_remind_start"]
    assert timed.advance() == 0  # round 2's timers run from the reply


def timeout(cid: str, duration: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{cid}"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>'{duration}'</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )


# An offer's deadline in two hours, drawn first; a reminder in one hour, drawn second.
TWO_TIMERS = diagram(
    "held_two_timers",
    START
    + '<bpmn:eventBasedGateway id="wait"/>'
    + timeout("deadline", "PT2H")
    + timeout("reminder", "PT1H")
    + shapes.note("deadline_note", "'deadline'")
    + shapes.note("reminder_note", "'reminder'")
    + END
    + '<bpmn:endEvent id="end_reminder"/>'
    + flow("f1", "start", "wait")
    + flow("f2", "wait", "deadline")
    + flow("f3", "wait", "reminder")
    + flow("f4", "deadline", "deadline_note")
    + flow("f5", "deadline_note", "end")
    + flow("f6", "reminder", "reminder_note")
    + flow("f7", "reminder_note", "end_reminder"),
)


def test_each_timer_of_a_gateway_is_due_at_its_own_time(holding: Timed, make_customer):
    """SpiffWorkflow kept one due time for all the timers of a gateway, the first drawn's:
    the one-hour reminder was shown and scheduled at two hours, and a pass three hours late
    took the deadline, drawn first. Now each is due at its own time, and of two due at once
    the one due first is taken, alone."""
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, TWO_TIMERS)
    on_time, late = make_customer(), make_customer()

    started = timed.agent.start("held_two_timers", {"customer_id": on_time.id})
    due = {w["name"]: w["due_at"] for w in started["waiting"]}
    assert due == {
        "deadline": (T0 + timedelta(hours=2)).isoformat(),
        "reminder": (T0 + timedelta(hours=1)).isoformat(),
    }
    assert timed.advance(minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    assert timed.agent.instance(started["id"])["status"] == "completed"
    assert notes_of(db, on_time.id) == ["reminder"]

    started = timed.agent.start("held_two_timers", {"customer_id": late.id})
    assert timed.advance(hours=3) == 1
    view = timed.agent.instance(started["id"])
    assert (view["status"], view["waiting"], view["incidents"]) == ("completed", [], [])
    assert notes_of(db, late.id) == ["reminder"]
    assert timed.advance(hours=3) == 0
    assert notes_of(db, on_time.id) == ["reminder"]


# The same two timers, both labelled "Wait" (a label, not an id, names a timer).
SAME_LABELS = (
    TWO_TIMERS.replace("held_two_timers", "held_waits")
    .replace('id="deadline">', 'id="deadline" name="Wait">')
    .replace('id="reminder">', 'id="reminder" name="Wait">')
)


def test_two_timers_of_one_label_are_each_due_at_their_own_time(holding: Timed, make_customer):
    """SpiffWorkflow tells timers apart by their label: a deadline and a reminder both
    labelled "Wait" shared one due time (two hours), nothing fired at one hour, and the
    deadline's path, drawn first, was taken whichever was due. Each is now named by its
    event's id and due at its own time."""
    assert SAME_LABELS.count('name="Wait"') == 2
    timed, db = holding, holding.runtime.db.unit_of_work
    deploy(timed.owner, SAME_LABELS)
    customer = make_customer()
    started = timed.agent.start("held_waits", {"customer_id": customer.id})
    due = {w["name"]: w["due_at"] for w in started["waiting"]}
    assert due == {
        "deadline": (T0 + timedelta(hours=2)).isoformat(),
        "reminder": (T0 + timedelta(hours=1)).isoformat(),
    }
    assert timed.advance(hours=1, minutes=1) == 1
    view = timed.agent.instance(started["id"])
    assert (view["status"], view["waiting"], view["incidents"]) == ("completed", [], [])
    assert notes_of(db, customer.id) == ["reminder"]


def test_a_cycle_timer_after_the_gateway_is_refused_on_its_event(holding: Timed):
    """SpiffWorkflow checks a gateway's timers as dates and durations: a cycle deployed, was
    shown waiting with no due time, and never fired (a reply-or-hourly-reminder waited for
    the reply alone, for good)."""
    hourly = TWO_TIMERS.replace("held_two_timers", "held_hourly").replace(
        "<bpmn:timeDuration>'PT1H'</bpmn:timeDuration>",
        "<bpmn:timeCycle>'R3/PT1H'</bpmn:timeCycle>",
    )
    answer = holding.owner.post("/api/v1/process-models", json={"bpmn": {"hourly.bpmn": hourly}})
    assert answer.status_code == 422, answer.get_json()
    (detail,) = answer.get_json()["error"]["details"]
    assert detail["element_id"] == "reminder"
    assert "a cycle timer (timeCycle) after an event-based gateway never fires" in detail["message"]


def test_a_migrated_gateway_keeps_the_due_time_of_a_timer_whose_label_changed(
    holding: Timed, make_customer
):
    """A gateway's timers kept their values by label: an instance waiting 50 minutes at the
    one-hour reminder, migrated to a version that only relabels it, waited another hour."""
    timed, db = holding, holding.runtime.db.unit_of_work
    labelled = TWO_TIMERS.replace('id="reminder">', 'id="reminder" name="In an hour">')
    deploy(timed.owner, labelled)
    customer = make_customer()
    started = timed.agent.start("held_two_timers", {"customer_id": customer.id})
    assert timed.advance(minutes=50) == 0
    deploy(timed.owner, labelled.replace("In an hour", "Remind"))
    moved = moved_ok(timed.owner, started["id"])
    due = {w["name"]: w["due_at"] for w in moved["waiting"]}
    assert due["Remind"] == (T0 + timedelta(hours=1)).isoformat()
    assert timed.advance(minutes=10) == 1
    assert timed.agent.instance(started["id"])["status"] == "completed"
    assert notes_of(db, customer.id) == ["reminder"]
