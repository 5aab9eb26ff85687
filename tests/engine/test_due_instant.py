"""A timer due at the current instant fires at that instant, not once the clock has passed it.

``timed.advance`` moves the ManualClock exactly to each due time and runs one scheduler pass:
durations, dates, cycles on a boundary event and timer start events all fire there, and the
instance records the due time itself as the time it woke.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.models import Notification
from engine.models import ProcessInstance
from tests.engine.conftest import T0, Timed, only


def test_a_duration_timer_fires_at_its_due_instant(timed: Timed):
    timed.owner.deploy("timer_waits.bpmn")
    instance = timed.agent.start("wait_duration")
    assert instance["waiting"][0]["due_at"] == (T0 + timedelta(days=2)).isoformat()

    timed.clock.set(T0 + timedelta(days=2) - timedelta(microseconds=1))
    assert timed.advance() == 0  # a microsecond early: nothing
    assert timed.advance(microseconds=1) == 1  # exactly due: fired in this pass
    woken = timed.agent.instance(instance["id"])
    assert woken["status"] == "running"
    assert woken["waiting"] == []
    assert woken["data"]["woke_at"] == (T0 + timedelta(days=2)).isoformat()
    assert [t["name"] for t in woken["ready_tasks"]] == ["follow_up"]
    assert timed.advance() == 0  # and only once


def test_a_date_timer_fires_at_its_due_instant(timed: Timed):
    timed.owner.deploy("timer_waits.bpmn")
    call_at = T0 + timedelta(days=3, hours=4)
    instance = timed.agent.start("wait_until", {"call_at": call_at.isoformat()})
    assert timed.advance(days=3, hours=4) == 1
    done = timed.agent.instance(instance["id"])
    assert done["status"] == "completed"
    assert done["data"]["woke_at"] == call_at.isoformat()

    # A date that is exactly now when the instance reaches the timer does not wait at all.
    now = timed.agent.start("wait_until", {"call_at": timed.clock.now().isoformat()})
    assert now["status"] == "completed"


def test_a_cycle_boundary_timer_fires_at_each_due_instant(timed: Timed):
    timed.owner.deploy("callback_timers.bpmn")
    instance = timed.agent.start(
        "callback_hourly", {"agent": timed.agent.username, "customer_name": "Chen"}
    )
    call = only(instance["ready_tasks"], name="hr_call")

    def reminders() -> int:
        with timed.runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(
                select(func.count(Notification.id)).where(
                    Notification.user_id == timed.agent.user.id
                )
            )

    for hour in (1, 2, 3):
        assert timed.advance(hours=1) == 1, hour  # exactly on the hour
        assert reminders() == hour
        assert timed.advance() == 0  # once per cycle
    assert timed.agent.instance(instance["id"])["waiting"] == []
    assert timed.advance(days=1) == 0
    assert timed.agent.complete_ok(call["id"])["status"] == "completed"


def test_a_timer_start_event_starts_at_its_due_instant(timed: Timed):
    timed.owner.deploy("hourly_review.bpmn")

    def started() -> int:
        with timed.runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(
                select(func.count(ProcessInstance.id)).where(
                    ProcessInstance.process_id == "hourly_review"
                )
            )

    for hour in (1, 2, 3):
        assert timed.advance(hours=1) == 1, hour  # exactly on the hour
        assert started() == hour
        assert timed.advance() == 0
    assert timed.advance(hours=5) == 0
    assert started() == 3
