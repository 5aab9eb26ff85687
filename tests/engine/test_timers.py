"""Timers on a manual clock: move days forward, run one scheduler pass, see the instance move.

``timed.advance(...)`` moves the runtime's ManualClock and runs ``TimerLoop(runtime).run_once()``
(the embedded mode of ``dialflow serve``: claim what is due, fire it inline).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import func, select

from crm.models import Activity, Notification
from dialflow.background import TimerLoop
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.models import ProcessInstance, WorkItem, WorkItemStatus
from engine.timekeeping import use_zone
from engine.timers import fire_batch
from tests.engine.conftest import T0, Timed, only


def due(instance: dict) -> list[datetime]:
    return [datetime.fromisoformat(w["due_at"]) for w in instance["waiting"] if w.get("due_at")]


def step_count(timed: Timed, instance_id: int) -> int:
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        return session.scalar(
            select(ProcessInstance.step_count).where(ProcessInstance.id == instance_id)
        )


def test_duration_timer_fires_once_due_and_not_before(timed: Timed):
    timed.owner.deploy("timer_waits.bpmn")
    instance = timed.agent.start("wait_duration")
    assert instance["status"] == "waiting"
    assert instance["ready_tasks"] == []
    assert instance["waiting"] == [
        {"kind": "timer", "name": "Two days later", "due_at": (T0 + timedelta(days=2)).isoformat()}
    ]

    assert timed.advance(days=1) == 0
    assert timed.agent.instance(instance["id"])["status"] == "waiting"
    assert timed.advance(days=1, seconds=-1) == 0
    assert timed.agent.instance(instance["id"])["status"] == "waiting"

    assert timed.advance(seconds=1) == 1  # at the due instant itself (test_due_instant.py)
    woken = timed.agent.instance(instance["id"])
    assert woken["status"] == "running"
    assert woken["waiting"] == []
    assert woken["data"]["woke_at"] == (T0 + timedelta(days=2)).isoformat()
    follow_up = only(woken["ready_tasks"], name="follow_up")
    assert timed.advance(days=30) == 0  # fired timers stay fired

    done = timed.agent.complete_ok(follow_up["id"])
    assert done["status"] == "completed"


def test_date_timer_from_a_variable(timed: Timed):
    timed.owner.deploy("timer_waits.bpmn")
    call_at = T0 + timedelta(days=3, hours=4)
    instance = timed.agent.start("wait_until", {"call_at": call_at.isoformat()})
    assert instance["status"] == "waiting"
    assert due(instance) == [call_at]
    assert instance["waiting"][0]["name"] == "Agreed call-back time"

    assert timed.advance(days=3) == 0
    assert timed.advance(hours=5) == 1
    done = timed.agent.instance(instance["id"])
    assert done["status"] == "completed"
    assert done["data"]["woke_at"] == (T0 + timedelta(days=3, hours=5)).isoformat()

    # A date already past when the instance reaches the timer does not wait at all.
    past = timed.agent.start("wait_until", {"call_at": (T0 - timedelta(days=1)).isoformat()})
    assert past["status"] == "completed"


@pytest.mark.parametrize(
    "call_at",
    ["2026-05-07T09:00:00", "2026-05-07", "2026-W19-4T09:00:00"],
    ids=["no-offset", "date-only", "week-date"],
)
def test_date_timer_without_offset_or_as_a_week_date(timed: Timed, call_at: str):
    """ISO 8601 values SpiffWorkflow accepts (a time without offset is in the server's
    local zone, as SpiffWorkflow reads it) are scheduled, not a 500."""
    timed.owner.deploy("timer_waits.bpmn")
    expected = TimerEventDefinition.parse_time_or_duration(call_at)
    instance = timed.agent.start("wait_until", {"call_at": call_at})
    assert instance["status"] == "waiting"
    assert instance["waiting"][0]["due_at"] == expected.isoformat()
    assert datetime.fromisoformat(instance["waiting"][0]["due_at"]).utcoffset() is not None

    timed.clock.set(expected - timedelta(seconds=1))
    assert timed.advance() == 0
    assert timed.advance(seconds=1) == 1  # due at that very instant
    assert timed.agent.instance(instance["id"])["status"] == "completed"


def test_event_based_gateway_reply_or_timeout(timed: Timed):
    """Wait for the customer's reply at most two days: the reply wins on one instance, the
    timeout on the other; a reply after the timeout finds nobody waiting."""
    timed.owner.deploy("reply_or_timeout.bpmn")
    replied = timed.agent.start("reply_or_timeout", business_key="lead-1")
    silent = timed.agent.start("reply_or_timeout", business_key="lead-2")
    assert replied["waiting"] == [
        {"kind": "message", "name": "customer_replied"},
        {
            "kind": "timer",
            "name": "No reply in two days",
            "due_at": (T0 + timedelta(days=2)).isoformat(),
        },
    ]

    timed.clock.advance(timedelta(hours=5))
    answer = timed.agent.post(
        "/api/v1/messages",
        json={"name": "customer_replied", "business_key": "lead-1", "payload": {"text": "好的"}},
    )
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["delivered_to"] == [replied["id"]]
    done = timed.agent.instance(replied["id"])
    assert done["status"] == "completed"
    assert done["data"] == {"outcome": "replied", "text": "好的"}

    assert timed.advance(days=2) == 1
    late = timed.agent.instance(silent["id"])
    assert late["status"] == "completed"
    assert late["data"] == {"outcome": "timed out"}
    too_late = timed.agent.post(
        "/api/v1/messages", json={"name": "customer_replied", "business_key": "lead-2"}
    )
    assert too_late.status_code == 404


def test_interrupting_boundary_timer_cancels_the_task_and_escalates(timed: Timed):
    manager = timed.actor("manager", username="boss", team="East")
    timed.owner.deploy("callback_timers.bpmn")
    instance = timed.agent.start("callback_escalation")
    call = only(instance["ready_tasks"], name="esc_call")
    assert call["lane"] == "agent"
    assert due(instance) == [T0 + timedelta(days=1)]
    assert [t["id"] for t in timed.agent.tasks()] == [call["id"]]

    assert timed.advance(hours=23) == 0
    assert timed.advance(hours=1, seconds=1) == 1

    escalated = timed.agent.instance(instance["id"])
    assert escalated["status"] == "running"
    assert escalated["waiting"] == []
    escalate = only(escalated["ready_tasks"], name="escalate")
    assert escalate["lane"] == "manager"
    assert escalate["candidates"] == ["group:manager"]
    assert [t["name"] for t in escalated["ready_tasks"]] == ["escalate"]
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        item = session.get(WorkItem, call["id"])
        assert item is not None and item.status == WorkItemStatus.CANCELLED
    assert timed.agent.tasks() == []
    late = timed.agent.complete(call["id"])
    assert late.status_code == 409

    assert [t["id"] for t in manager.tasks()] == [escalate["id"]]
    assert manager.complete_ok(escalate["id"])["status"] == "completed"


def test_non_interrupting_boundary_timer_keeps_the_task_and_adds_a_reminder(
    timed: Timed, make_customer
):
    customer = make_customer(name="王芳")
    timed.owner.deploy("callback_timers.bpmn")
    instance = timed.agent.start(
        "callback_reminder", {"customer_id": customer.id, "customer_name": customer.name}
    )
    call = only(instance["ready_tasks"], name="rem_call")
    assert due(instance) == [T0 + timedelta(hours=4)]

    assert timed.advance(hours=3) == 0
    assert timed.advance(hours=1, seconds=1) == 1
    reminded = timed.agent.instance(instance["id"])
    assert reminded["status"] == "running"
    assert reminded["waiting"] == []
    assert sorted(t["name"] for t in reminded["ready_tasks"]) == ["rem_call", "reminder"]
    assert only(reminded["ready_tasks"], name="rem_call")["id"] == call["id"]  # still open
    reminder = only(reminded["ready_tasks"], name="reminder")
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        notes = session.scalars(
            select(Activity.body).where(Activity.customer_id == customer.id)
        ).all()
    assert notes == ["Reminder: call back 王芳"]
    assert timed.advance(days=2) == 0  # a duration fires once

    assert timed.agent.complete_ok(call["id"])["status"] == "running"
    assert timed.agent.complete_ok(reminder["id"])["status"] == "completed"


def test_cycle_timer_fires_three_times_then_stops(timed: Timed):
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
        due_at = T0 + timedelta(hours=hour)
        assert due(timed.agent.instance(instance["id"])) == [due_at]
        timed.clock.set(due_at - timedelta(minutes=1))
        assert timed.advance() == 0
        assert reminders() == hour - 1
        assert timed.advance(minutes=1, seconds=1) == 1
        assert reminders() == hour
        seen = timed.agent.instance(instance["id"])
        assert [t["id"] for t in seen["ready_tasks"]] == [call["id"]]  # the call stays open

    assert timed.agent.instance(instance["id"])["waiting"] == []
    assert timed.advance(days=7) == 0
    assert reminders() == 3
    assert timed.agent.complete_ok(call["id"])["status"] == "completed"


def test_cycle_timer_overdue_for_a_day_catches_up_in_one_pass(timed: Timed):
    """Scheduler down for a day: the next pass fires every overdue cycle, and no more
    (SpiffWorkflow re-checks timers after each engine step, so one step runs all three)."""
    timed.owner.deploy("callback_timers.bpmn")
    instance = timed.agent.start(
        "callback_hourly", {"agent": timed.agent.username, "customer_name": "Chen"}
    )
    assert timed.advance(days=1) == 1
    assert [timed.advance() for _ in range(3)] == [0, 0, 0]
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        count = session.scalar(select(func.count(Notification.id)))
    assert count == 3
    seen = timed.agent.instance(instance["id"])
    assert seen["status"] == "running"
    assert seen["waiting"] == []
    assert [t["name"] for t in seen["ready_tasks"]] == ["hr_call"]


def test_timer_start_event_of_a_started_instance(timed: Timed):
    """A timer start event holds an instance started through the API until its time.

    Nothing starts instances of such a model by itself: the scheduler fires timers of
    existing instances only (see the report; deploying does not schedule a start).
    """
    timed.owner.deploy("timer_start.bpmn")
    run_at = T0 + timedelta(hours=17)
    instance = timed.agent.start("nightly_digest", {"run_at": run_at.isoformat()})
    assert instance["status"] == "waiting"
    assert instance["waiting"] == [
        {"kind": "timer", "name": "At 02:00 UTC", "due_at": run_at.isoformat()}
    ]
    assert timed.advance(hours=16) == 0
    assert timed.advance(hours=1, seconds=1) == 1
    done = timed.agent.instance(instance["id"])
    assert done["status"] == "completed"
    assert done["data"]["digest_at"] == (run_at + timedelta(seconds=1)).isoformat()
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        assert session.scalar(select(func.count(ProcessInstance.id))) == 1


def test_two_loops_on_the_same_due_instances_fire_each_once(timed: Timed):
    """Two schedulers at once (threads; on PostgreSQL, SKIP LOCKED keeps them apart), then
    two workers handed the same ids (a redelivered batch): every instance steps exactly once."""
    timed.owner.deploy("timer_waits.bpmn")
    ids = [timed.agent.start("wait_duration")["id"] for _ in range(12)]
    before = {i: step_count(timed, i) for i in ids}
    timed.clock.advance(timedelta(days=2, seconds=1))

    loops = [TimerLoop(timed.runtime), TimerLoop(timed.runtime)]
    barrier = threading.Barrier(len(loops))
    fired: list[int] = []
    errors: list[BaseException] = []

    def run(loop: TimerLoop) -> None:
        barrier.wait()
        try:
            fired.append(loop.run_once())
        except BaseException as exc:  # reported below, not swallowed by the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(loop,)) for loop in loops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(fired) == len(ids), fired
    assert {i: step_count(timed, i) for i in ids} == {i: before[i] + 1 for i in ids}
    for instance_id in ids:
        assert only(timed.agent.instance(instance_id)["ready_tasks"], name="follow_up")

    # The same ids again, twice at once, straight to fire_batch: nothing is due any more.
    late = timed.agent.start("wait_duration")["id"]
    timed.clock.advance(timedelta(days=2, seconds=1))
    engine, database = timed.runtime.engine, timed.runtime.db
    results: list[int] = []
    barrier = threading.Barrier(2)

    def fire_twice() -> None:
        barrier.wait()
        results.append(fire_batch(engine, database, [*ids, late]))

    threads = [threading.Thread(target=fire_twice) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(results) == 1, results  # only the late instance was still due
    assert step_count(timed, late) == before[ids[0]] + 1
    assert {i: step_count(timed, i) for i in ids} == {i: before[i] + 1 for i in ids}
    assert TimerLoop(timed.runtime).run_once() == 0


def test_embedded_timer_thread_fires_a_one_second_timer_promptly(runtime, owner, agent, capsys):
    """Real clock: ``TimerLoop.start_thread()`` (as in ``dialflow serve``) fires PT1S in time."""
    owner.deploy("timer_waits.bpmn")
    loop = TimerLoop(runtime)
    thread = loop.start_thread()
    try:
        latencies = []
        for _ in range(3):
            instance = agent.start("wait_seconds", {"wait_for": "PT1S"})
            (due_at,) = due(instance)
            deadline = time.monotonic() + 10
            while True:
                with runtime.db.unit_of_work(read_only=True) as session:
                    row = session.get(ProcessInstance, instance["id"])
                    status, data = row.status.value, row.data
                if status == "completed":
                    seen = datetime.now(UTC)
                    break
                assert time.monotonic() < deadline, f"PT1S timer not fired after 10 s ({status})"
                time.sleep(0.01)
            fired_at = datetime.fromisoformat(data["woke_at"])
            latencies.append(((fired_at - due_at).total_seconds(), (seen - due_at).total_seconds()))
    finally:
        loop.stopped.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    with capsys.disabled():
        print(
            "\nembedded timer latency after due time (fired, seen by the client), seconds: "
            + ", ".join(f"{f:.3f}/{s:.3f}" for f, s in latencies)
        )
    assert all(0 < fired < 2.0 for fired, _ in latencies), latencies
    assert all(seen < 2.0 for _, seen in latencies), latencies


@pytest.mark.parametrize("duration", ["P99999999Y", "P1300M", "P5300W"])
def test_a_duration_from_task_data_longer_than_a_century_is_an_incident(timed: Timed, duration):
    """SpiffWorkflow counts a duration's years and months out one month at a time: a timer
    whose duration comes from the data as ``P99999999Y`` held its step for good. Past 100
    years it is an incident on the timer, and the start answers at once."""
    import signal

    def too_slow(*_: object) -> None:
        raise AssertionError("the step counted the duration out instead of refusing it")

    timed.owner.deploy("timer_waits.bpmn")
    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(20)
    try:
        instance = timed.agent.start("wait_seconds", {"wait_for": duration})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert instance["status"] == "error"
    (incident,) = instance["incidents"]
    assert "longer than 100 years" in incident["message"]
    assert instance["waiting"] == []
    fine = timed.agent.start("wait_seconds", {"wait_for": "P99Y"})
    assert fine["status"] == "waiting"
    (wait,) = due(fine)
    assert wait.year == T0.year + 99


def test_a_branch_timer_fires_while_another_branch_waits_for_its_retry(timed: Timed):
    """One branch's handler failed; the other branch's deadline still passes on time, before
    and after the automatic retry, and the instance stays in error until its incident goes."""
    from crm.users import create_user

    owner = timed.owner
    owner.deploy("remind_beside_notify.bpmn")
    started = owner.start("remind_beside_notify", {"recipient": "ghost"})
    assert started["status"] == "error"
    call = only(started["ready_tasks"], name="call")
    [incident] = started["incidents"]
    assert datetime.fromisoformat(incident["retry_at"]) == T0 + timedelta(seconds=10)

    assert timed.advance(seconds=11) == 1  # the retry, which fails again: no retry is left
    retried = owner.instance(started["id"])
    assert retried["status"] == "error"
    assert [(i["attempts"], i["retry_at"]) for i in retried["incidents"]] == [(2, None)]
    assert due(retried) == [T0 + timedelta(hours=1)]

    assert timed.advance(hours=1) == 1  # the deadline of the call, in the other branch
    late = owner.instance(started["id"])
    assert late["status"] == "error" and len(late["incidents"]) == 1
    assert late["data"]["escalated"] is True
    assert late["ready_tasks"] == [] and late["waiting"] == []
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        item = session.get(WorkItem, call["id"])
        assert item is not None and item.status == WorkItemStatus.CANCELLED
    assert timed.advance(days=1) == 0  # nothing else is due

    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="ghost", role="agent")
    done = owner.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["status"], done.get_json()["incidents"]) == ("completed", [])


def test_a_timer_on_a_failed_task_takes_over_from_its_incident(timed: Timed):
    """A handler that failed for an hour is given up for the timer's path: the task is
    cancelled, its incident closed, and a person calls instead."""
    owner = timed.owner
    owner.deploy("notify_or_call.bpmn")
    started = owner.start("notify_or_call", {"recipient": "ghost"})
    assert started["status"] == "error"
    assert [i["retry_at"] for i in started["incidents"]] == [None]
    assert due(started) == [T0 + timedelta(hours=1)]

    assert timed.advance(minutes=59) == 0
    assert timed.advance(minutes=1, seconds=1) == 1
    moved = owner.instance(started["id"])
    assert (moved["status"], moved["incidents"]) == ("running", [])
    call = only(moved["ready_tasks"], name="call_owner")
    assert owner.complete_ok(call["id"])["status"] == "completed"


def test_a_timer_takes_over_one_of_two_failed_branches(timed: Timed):
    """Two branches failed; the deadline on one of them cancels it and closes its incident
    only: the other branch's incident keeps the instance in error."""
    owner = timed.owner
    owner.deploy("notify_or_call_beside_score.bpmn")
    started = owner.start(
        "notify_or_call_beside_score", {"recipient": "ghost", "won": 1, "calls": 0}
    )
    assert sorted(i["element_id"] for i in started["incidents"]) == ["score", "tell"]
    score = only(started["incidents"], element_id="score")

    assert timed.advance(hours=1, seconds=1) == 1
    moved = owner.instance(started["id"])
    assert (moved["status"], moved["incidents"]) == ("error", [score])
    call = only(moved["ready_tasks"], name="call_owner")
    assert owner.complete_ok(call["id"])["status"] == "error"

    again = owner.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()
    assert [(i["element_id"], i["attempts"]) for i in again["incidents"]] == [("score", 2)]


def test_a_non_interrupting_timer_on_a_failed_task_fires_and_leaves_it_to_its_retry(
    timed: Timed,
):
    """The reminder on a failing handler still fires on time; the handler keeps its incident
    and the path after it runs once, after the retry."""
    from crm.users import create_user

    owner = timed.owner
    owner.deploy("remind_while_tell_fails.bpmn")
    started = owner.start("remind_while_tell_fails", {"recipient": "ghost", "after_count": 0})
    assert started["status"] == "error"
    assert due(started) == [T0 + timedelta(hours=1)]

    assert timed.advance(hours=1, seconds=1) == 1
    reminded = owner.instance(started["id"])
    assert (reminded["status"], reminded["incidents"]) == ("error", started["incidents"])
    assert reminded["data"]["reminded"] is True and reminded["data"]["after_count"] == 0

    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="ghost", role="agent")
    done = owner.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()
    assert (done["status"], done["data"]["after_count"]) == ("completed", 1)


def test_a_completion_after_a_deadline_passed_fires_it(timed: Timed):
    """The scheduler has not fired an overdue deadline yet when a person completes a task of
    another branch: the deadline is not lost, it fires (in that step or the next pass)."""
    owner = timed.owner
    owner.deploy("two_calls_one_deadline.bpmn")
    started = owner.start("two_calls_one_deadline", {})
    first = only(started["ready_tasks"], name="first_call")
    second = only(started["ready_tasks"], name="second_call")

    timed.clock.advance(timedelta(hours=2))  # no scheduler pass yet
    owner.complete_ok(first["id"])
    timed.advance(seconds=1)  # the next pass, if the completion left it to one
    done = owner.instance(started["id"])
    assert (done["status"], done["data"].get("escalated")) == ("completed", True)
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        item = session.get(WorkItem, second["id"])
        assert item is not None and item.status == WorkItemStatus.CANCELLED


def test_a_duration_in_months_is_due_on_that_day_or_the_months_last(timed: Timed):
    """``P1M`` is a calendar month, as in Camunda: from 31 January to 28 February, not 3 March
    (SpiffWorkflow added January's 31 days)."""
    timed.owner.deploy("timer_calendar.bpmn")
    for started, wait_for, expected in (
        ((2026, 1, 31, 1), "P1M", (2026, 2, 28, 1)),
        ((2026, 3, 31, 2), "P1M", (2026, 4, 30, 2)),
        ((2026, 5, 15, 3), "P1Y2M1D", (2027, 7, 16, 3)),
    ):
        expected = datetime(*expected, tzinfo=UTC)
        timed.clock.set(datetime(*started, tzinfo=UTC))
        instance = timed.agent.start("follow_up_later", {"wait_for": wait_for})
        assert due(instance) == [expected], wait_for
        timed.clock.set(expected - timedelta(seconds=1))
        assert timed.advance() == 0
        assert timed.advance(seconds=1) == 1
        assert timed.agent.instance(instance["id"])["data"]["woke_at"] == expected.isoformat()


def test_a_cycle_with_an_end_date_repeats_from_now_until_it(timed: Timed):
    """``R/PT1H/<end>`` reminds every hour from now and none after the end (Camunda 7,
    Flowable); SpiffWorkflow began one hour before the end and never stopped."""
    timed.owner.deploy("timer_calendar.bpmn")
    end = T0 + timedelta(hours=3)
    instance = timed.agent.start("remind_until", {"cycle": f"R/PT1H/{end.isoformat()}"})
    for hour in (1, 2, 3):
        assert due(timed.agent.instance(instance["id"])) == [T0 + timedelta(hours=hour)]
        assert timed.advance(hours=1) == 1
    seen = timed.agent.instance(instance["id"])
    assert seen["waiting"] == [] and seen["status"] == "running"
    assert timed.advance(days=1) == 0

    # A start and an end: the interval between them, repeated from the start.
    start = T0 + timedelta(days=2)
    twice = timed.agent.start(
        "remind_until",
        {"cycle": f"R2/{start.isoformat()}/{(start + timedelta(minutes=30)).isoformat()}"},
    )
    assert twice["incidents"] == []
    for firing in (start, start + timedelta(minutes=30)):
        assert due(timed.agent.instance(twice["id"])) == [firing]
        timed.clock.set(firing)
        assert timed.advance() == 1
    assert timed.agent.instance(twice["id"])["waiting"] == []


def test_a_date_without_offset_is_a_time_of_the_installations_zone(timed: Timed, monkeypatch):
    """``DIALFLOW_DEFAULT_TIMEZONE`` (Asia/Shanghai) on a server whose clock runs in New York:
    a callback drawn for ``09:00`` comes at 09:00 in Shanghai, 01:00 UTC. SpiffWorkflow read it
    in the server's zone (13:00 UTC, 21:00 in Shanghai)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        timed.owner.deploy("timer_waits.bpmn")
        instance = timed.agent.start("wait_until", {"call_at": "2026-05-05T09:00:00"})
        assert due(instance) == [datetime(2026, 5, 5, 1, 0, tzinfo=UTC)]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_date_without_offset_keeps_its_zones_summer_or_winter_time(
    timed: Timed, settings: Settings, monkeypatch
):
    """An installation in Europe/Berlin reads ``09:00`` of a summer day as 07:00 UTC and of a
    winter day as 08:00 UTC, whenever it started (SpiffWorkflow kept the offset of its start)."""
    assert timed.runtime.engine is not None  # built first, in Asia/Shanghai
    berlin = Runtime.build(dataclasses.replace(settings, default_timezone="Europe/Berlin"))
    try:
        assert berlin.engine is not None  # an engine reads its installation's zone when built
        timed.owner.deploy("timer_waits.bpmn")
        for call_at, expected in (
            ("2026-07-01T09:00:00", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
            ("2027-01-11T09:00:00", datetime(2027, 1, 11, 8, 0, tzinfo=UTC)),
        ):
            instance = timed.agent.start("wait_until", {"call_at": call_at})
            assert due(instance) == [expected], call_at
            timed.clock.set(expected)
            assert timed.advance() == 1
            assert timed.agent.instance(instance["id"])["status"] == "completed"
    finally:
        berlin.close()
        use_zone(settings.default_timezone)


def test_a_monthly_cycle_falls_on_the_same_day_each_month(timed: Timed):
    """``R3/P1M`` from 4 May reminds on 4 June, 4 July and 4 August (SpiffWorkflow repeated
    May's 31 days: 4 June, 5 July, 5 August)."""
    timed.owner.deploy("timer_calendar.bpmn")
    instance = timed.agent.start("remind_until", {"cycle": "R3/P1M"})
    for month in (6, 7, 8):
        firing = T0.replace(month=month)
        assert due(timed.agent.instance(instance["id"])) == [firing]
        timed.clock.set(firing)
        assert timed.advance() == 1
    assert timed.agent.instance(instance["id"])["waiting"] == []
