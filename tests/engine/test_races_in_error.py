"""Steps that race on an instance in error: a person's retry against the scheduler's, a
completion of the healthy branch against a timer or a message, two messages, a retry
against a terminate. The steps serialize on the instance's row; each applies once or is
refused with 409, no incident is closed twice or lost, and each task counts its own attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from crm.models import Notification
from crm.users import create_user
from dialflow.background import TimerLoop
from engine.models import Incident, ProcessInstance, WorkItem
from tests.engine.conftest import Timed
from tests.engine.test_races import ROUNDS, poster, together


def incidents_of(timed: Timed, instance_id: int) -> list[tuple[str | None, int, bool]]:
    """(element, attempts, open) of every incident of the instance, oldest first."""
    with timed.runtime.db.unit_of_work() as session:
        rows = session.scalars(
            select(Incident).where(Incident.instance_id == instance_id).order_by(Incident.id)
        ).all()
        return [(i.element_id, i.attempts, i.resolved_at is None) for i in rows]


def open_items(timed: Timed, instance_id: int) -> list[str]:
    with timed.runtime.db.unit_of_work() as session:
        return list(
            session.scalars(
                select(WorkItem.element_id).where(
                    WorkItem.instance_id == instance_id, WorkItem.status == "open"
                )
            )
        )


def waits_of(timed: Timed, instance_id: int) -> list[dict[str, Any]]:
    with timed.runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return list(row.waiting)


def test_a_retry_by_hand_against_the_automatic_retry_of_one_of_two_failures(timed: Timed):
    """A handler with retries and a script without fail side by side; the handler's cause is
    fixed, its automatic retry is due, and a person retries at that moment. The handler runs
    once, the script's incident is retried by the person (attempt 2), nothing runs twice."""
    timed.owner.deploy("notify_retry_beside_script.bpmn")
    for round_number in range(ROUNDS):
        recipient = f"ghost{round_number}"
        data = {"recipient": recipient, "won": 1, "calls": 0}
        failed = timed.owner.start("notify_retry_beside_script", data)
        assert failed["status"] == "error"
        with timed.runtime.db.unit_of_work() as session:
            create_user(session, username=recipient, role="agent")
        timed.clock.advance(timedelta(seconds=11))
        url = f"/api/v1/process-instances/{failed['id']}/retry"
        by_hand, fired = together(
            poster(timed.app, url, timed.owner.headers), TimerLoop(timed.runtime).run_once
        )
        assert by_hand[0] == 200 and fired in (0, 1), (round_number, by_hand, fired)
        assert by_hand[1]["status"] == "error"
        assert [(i["element_id"], i["attempts"]) for i in by_hand[1]["incidents"]] == [
            ("score", 2)
        ], (round_number, by_hand, fired)
        assert sorted(incidents_of(timed, failed["id"])) == [
            ("score", 1, False),
            ("score", 2, True),
            ("tell", 1, False),
        ]
        with timed.runtime.db.unit_of_work() as session:
            told = session.scalars(
                select(Notification).where(Notification.message == "新线索已分配给你")
            ).all()
        assert len(told) == round_number + 1
        assert TimerLoop(timed.runtime).run_once() == 0


def start_in_error(timed: Timed, key: str) -> dict[str, Any]:
    started = timed.agent.start(
        "call_beside_failing_score", {"won": 1, "calls": 0}, business_key=key
    )
    assert started["status"] == "error"
    assert [i["element_id"] for i in started["incidents"]] == ["score"]
    return started


def test_completion_against_a_timer_of_an_instance_in_error(timed: Timed):
    timed.owner.deploy("call_beside_failing_score.bpmn")
    outcomes = set()
    for round_number in range(ROUNDS * 2):
        started = start_in_error(timed, f"t-{round_number}")
        [task] = started["ready_tasks"]
        timed.clock.advance(timedelta(hours=2))  # the call's deadline is due; nobody fired it
        completed, fired = together(
            poster(
                timed.app,
                f"/api/v1/tasks/{task['id']}/complete",
                timed.agent.headers,
                {"data": {"followups": 1}},
            ),
            TimerLoop(timed.runtime).run_once,
        )
        seen = timed.agent.instance(started["id"])
        assert seen["status"] == "error", (round_number, completed, fired, seen)
        if completed[0] == 200:
            assert fired == 0, (round_number, completed, fired)
            assert seen["data"].get("followed") == 2 and "escalated" not in seen["data"]
        else:
            assert (completed[0], fired) == (409, 1), (round_number, completed, fired)
            assert seen["data"].get("escalated") is True and "followed" not in seen["data"]
        outcomes.add(completed[0])
        assert incidents_of(timed, started["id"]) == [("score", 1, True)]
        assert open_items(timed, started["id"]) == []
        assert TimerLoop(timed.runtime).run_once() == 0


def test_completion_against_a_message_to_an_instance_in_error(timed: Timed):
    """Both steps apply, one after the other; neither undoes the other."""
    timed.owner.deploy("call_beside_failing_score.bpmn")
    for round_number in range(ROUNDS):
        key = f"m-{round_number}"
        started = start_in_error(timed, key)
        [task] = started["ready_tasks"]
        completed, message = together(
            poster(
                timed.app,
                f"/api/v1/tasks/{task['id']}/complete",
                timed.agent.headers,
                {"data": {"followups": 1}},
            ),
            poster(
                timed.app,
                "/api/v1/messages",
                timed.agent.headers,
                {"name": "payment_received", "business_key": key},
            ),
        )
        assert (completed[0], message[0]) == (200, 202), (round_number, completed, message)
        assert message[1]["delivered_to"] == [started["id"]]
        seen = timed.agent.instance(started["id"])
        assert seen["status"] == "error"
        assert waits_of(timed, started["id"]) == []  # the payment's wait took the message
        assert incidents_of(timed, started["id"]) == [("score", 1, True)]
        assert open_items(timed, started["id"]) == []


def test_two_messages_at_once_to_an_instance_in_error(timed: Timed):
    timed.owner.deploy("call_beside_failing_score.bpmn")
    for round_number in range(ROUNDS):
        key = f"mm-{round_number}"
        started = start_in_error(timed, key)
        body = {"name": "payment_received", "business_key": key}
        results = together(
            poster(
                timed.app,
                "/api/v1/messages",
                timed.agent.headers,
                {**body, "message_id": f"a{key}"},
            ),
            poster(
                timed.app,
                "/api/v1/messages",
                timed.agent.headers,
                {**body, "message_id": f"b{key}"},
            ),
        )
        assert sorted(status for status, _ in results) == [202, 404], (round_number, results)
        seen = timed.agent.instance(started["id"])
        assert seen["status"] == "error"
        assert [w["kind"] for w in waits_of(timed, started["id"])] == ["timer"]
        assert [t["name"] for t in seen["ready_tasks"]] == ["call"]
        assert incidents_of(timed, started["id"]) == [("score", 1, True)]


def test_a_retry_against_a_terminate(timed: Timed, db):
    manager = timed.actor("manager", username="boss_east", team="East")
    timed.owner.deploy("notify_retry_beside_script.bpmn")
    for round_number in range(ROUNDS * 2):
        data = {"recipient": f"nobody{round_number}", "won": 1, "calls": 0}
        failed = timed.owner.start("notify_retry_beside_script", data)
        base = f"/api/v1/process-instances/{failed['id']}"
        retried, stopped = together(
            poster(timed.app, f"{base}/retry", timed.owner.headers),
            poster(timed.app, f"{base}/terminate", manager.headers),
        )
        assert stopped[0] == 200, (round_number, retried, stopped)
        assert retried[0] in (200, 409), (round_number, retried, stopped)
        seen = timed.owner.instance(failed["id"])
        assert (seen["status"], seen["incidents"]) == ("terminated", [])
        expected = [("score", 1, False), ("tell", 1, False)]
        if retried[0] == 200:
            expected += [("score", 2, False), ("tell", 2, False)]
        assert sorted(incidents_of(timed, failed["id"])) == sorted(expected)
        with timed.runtime.db.unit_of_work() as session:
            row = session.get(ProcessInstance, failed["id"])
            assert row is not None and row.next_due_at is None
        assert timed.advance(days=1) == 0


def test_the_automatic_retry_fires_a_deadline_due_beside_it(timed: Timed):
    """The failed handler's retry and the other branch's deadline are due in one pass: the
    deadline fires in the retry's step instead of being dropped from the instance's timers
    (the call stayed open for good, nothing scheduled)."""
    timed.owner.deploy("remind_beside_notify.bpmn")
    started = timed.owner.start("remind_beside_notify", {"recipient": "ghost"})
    assert timed.advance(hours=2) == 1
    seen = timed.owner.instance(started["id"])
    assert seen["status"] == "error"
    assert seen["ready_tasks"] == [] and open_items(timed, started["id"]) == []
    assert incidents_of(timed, started["id"]) == [("tell", 1, False), ("tell", 2, True)]
    assert timed.advance(days=1) == 0


def test_a_retry_by_hand_fires_a_deadline_due_beside_it(timed: Timed):
    """The retry fails again; the deadline of the other branch, due meanwhile, fires in its
    step all the same."""
    timed.owner.deploy("remind_beside_notify.bpmn")
    started = timed.owner.start("remind_beside_notify", {"recipient": "ghost"})
    timed.clock.advance(timedelta(hours=2))  # both due; the scheduler has not passed yet
    retried = timed.owner.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    done = retried.get_json()
    assert (done["status"], done["ready_tasks"]) == ("error", [])
    assert open_items(timed, started["id"]) == []
    assert timed.advance(days=1) == 0


def test_a_retry_against_a_completion_of_the_other_branch(timed: Timed):
    """Both steps lock the instance, then its work items: they serialize, both apply."""
    timed.owner.deploy("call_beside_failing_score.bpmn")
    for round_number in range(ROUNDS):
        started = start_in_error(timed, f"r-{round_number}")
        [task] = started["ready_tasks"]
        retried, completed = together(
            poster(
                timed.app, f"/api/v1/process-instances/{started['id']}/retry", timed.owner.headers
            ),
            poster(
                timed.app,
                f"/api/v1/tasks/{task['id']}/complete",
                timed.agent.headers,
                {"data": {"followups": 1}},
            ),
        )
        assert (retried[0], completed[0]) == (200, 200), (round_number, retried, completed)
        assert incidents_of(timed, started["id"]) == [("score", 1, False), ("score", 2, True)]
        assert open_items(timed, started["id"]) == []
