"""Automatic retries with backoff for failing handlers, as <spiffworkflow:retry> asks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from crm.models import Notification
from crm.users import create_user
from tests.engine.conftest import only


def test_a_failing_handler_is_retried_with_backoff_until_it_succeeds(timed):
    owner = timed.owner
    owner.deploy("notify_retry.bpmn")
    started = owner.start("notify_retry", {"recipient": "ghost"})

    assert started["status"] == "error"
    first = started["incidents"][0]
    assert (first["element_id"], first["attempts"]) == ("tell", 1)
    assert datetime.fromisoformat(first["retry_at"]) == timed.clock.now() + timedelta(seconds=10)

    assert timed.advance(seconds=5) == 0  # not due yet
    assert timed.advance(seconds=6) == 1  # attempt 2 fails: the user still does not exist
    second = owner.instance(started["id"])["incidents"]
    assert [(i["attempts"], i["retry_at"] is not None) for i in second] == [(2, True)]
    assert datetime.fromisoformat(second[0]["retry_at"]) == (
        timed.clock.now() + timedelta(seconds=100)
    )  # backoff 10**2 s

    with timed.runtime.db.unit_of_work() as session:  # the cause is fixed meanwhile
        create_user(session, username="ghost", role="agent")
    assert timed.advance(seconds=101) == 1

    done = owner.instance(started["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    with timed.runtime.db.unit_of_work() as session:
        messages = session.scalars(select(Notification.message)).all()
    assert messages == ["新线索已分配给你"]


def test_after_the_last_retry_the_incident_waits_for_a_person(timed):
    owner = timed.owner
    owner.deploy("notify_retry.bpmn")
    started = owner.start("notify_retry", {"recipient": "nobody"})

    timed.advance(seconds=11)  # attempt 2
    timed.advance(seconds=101)  # attempt 3, the last the diagram allows
    last = owner.instance(started["id"])
    assert last["status"] == "error"
    assert [(i["attempts"], i["retry_at"]) for i in last["incidents"]] == [(3, None)]
    assert timed.advance(days=1) == 0  # nothing more happens by itself

    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="nobody", role="agent")
    retried = owner.post(f"/api/v1/process-instances/{started['id']}/retry")
    assert retried.status_code == 200
    assert retried.get_json()["status"] == "completed"


def test_a_service_task_marked_async_runs_in_the_background(timed):
    owner = timed.owner
    owner.deploy("notify_later.bpmn")
    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="li", role="agent")

    started = owner.start("notify_later", {"recipient": "li"})

    assert started["status"] == "running"  # answered before the handler ran
    with timed.runtime.db.unit_of_work() as session:
        assert session.scalars(select(Notification)).all() == []
    assert timed.advance(seconds=1) == 1  # the scheduler hands it to a worker (inline here)
    assert owner.instance(started["id"])["status"] == "completed"
    with timed.runtime.db.unit_of_work() as session:
        assert session.scalars(select(Notification.message)).all() == ["新线索已分配给你"]


def test_an_async_task_beside_a_failed_branch_still_runs_in_the_background(timed):
    """One branch failed in the request; the other stopped before its async handler. The
    worker still continues that branch, and the instance stays in error for its incident."""
    owner = timed.owner
    owner.deploy("notify_later_beside_score.bpmn")
    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="li", role="agent")

    started = owner.start("notify_later_beside_score", {"recipient": "li", "won": 1, "calls": 0})
    assert started["status"] == "error"
    assert timed.advance(seconds=1) == 1  # the scheduler hands it to a worker (inline here)
    told = owner.instance(started["id"])
    assert (told["status"], told["incidents"]) == ("error", started["incidents"])
    with timed.runtime.db.unit_of_work() as session:
        assert session.scalars(select(Notification.message)).all() == ["新线索已分配给你"]
    assert timed.advance(days=1) == 0  # nothing else is due


def test_an_automatic_retry_leaves_the_failure_beside_it_to_a_person(timed):
    """A handler with retries and a script without fail side by side. The scheduler re-runs
    only the handler: the script's incident stays as it was (same incident, one attempt) and
    its script does not run again; a person's retry runs it."""
    owner = timed.owner
    owner.deploy("notify_retry_beside_script.bpmn")
    data = {"recipient": "ghost", "won": 1, "calls": 0}
    started = owner.start("notify_retry_beside_script", data)
    assert started["status"] == "error"
    script = only(started["incidents"], element_id="score")
    assert (script["attempts"], script["retry_at"]) == (1, None)

    assert timed.advance(seconds=11) == 1  # the handler's retry fails again
    after = owner.instance(started["id"])
    assert only(after["incidents"], element_id="score") == script
    assert only(after["incidents"], element_id="tell")["attempts"] == 2

    with timed.runtime.db.unit_of_work() as session:
        create_user(session, username="ghost", role="agent")
    assert timed.advance(seconds=101) == 1  # the handler goes through; the script still waits
    told = owner.instance(started["id"])
    assert told["status"] == "error"
    assert told["incidents"] == [script]
    assert told["data"]["told"] is not None
    assert timed.advance(days=1) == 0  # nothing is due for the script

    by_hand = owner.post(f"/api/v1/process-instances/{started['id']}/retry").get_json()
    assert by_hand["status"] == "error"
    assert [(i["element_id"], i["attempts"]) for i in by_hand["incidents"]] == [("score", 2)]
