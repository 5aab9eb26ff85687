"""Multi-instance activities at their edges, end to end through the API.

Receive tasks of a multi-instance activity interrupted from outside, non-interrupting boundary
events firing beside the instances, multi-instance activities nested in each other with their
output collections, a multi-instance call activity whose called process loops on a timer,
and an error from one instance looping back into the activity. The diagrams are in
``diagrams/multi_instance_edges/`` (and ``diagrams/state_growth/`` for the loop).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.models import EventWait, WorkItem
from engine.models.work_items import WorkItemStatus
from tests.engine.conftest import Timed

KEY = "lead-7"


def open_items(timed: Timed, instance_id: int) -> list[str]:
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        return sorted(
            session.scalars(
                select(WorkItem.element_id).where(
                    WorkItem.instance_id == instance_id, WorkItem.status == WorkItemStatus.OPEN
                )
            )
        )


def waits(timed: Timed, instance_id: int) -> list[tuple[str, str]]:
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        rows = session.execute(
            select(EventWait.kind, EventWait.name).where(EventWait.instance_id == instance_id)
        ).all()
    return sorted((kind, name) for kind, name in rows)


def ready(instance: dict[str, Any], name: str) -> list[str]:
    return [task["id"] for task in instance["ready_tasks"] if task["name"] == name]


def send(timed: Timed, name: str) -> Any:
    return timed.agent.post("/api/v1/messages", json={"name": name, "business_key": KEY})


def running(instance: dict[str, Any]) -> dict[str, Any]:
    """``instance``, checked to be under way (``waiting`` when only events can move it)."""
    assert instance["status"] in ("running", "waiting"), instance
    assert instance["incidents"] == [], instance
    return instance


# -- an error from one instance, and the loop back into the activity -------------------------


def test_an_error_caught_around_the_activity_leaves_each_instance_its_item(timed):
    """The error end event of one instance of a multi-instance subprocess, caught by the
    activity's boundary event, handed the path after it the thrower's data with the
    instance's item variable ``number``: the loop back into the activity then failed
    ("Multiinstance input item number already exists"), an incident."""
    timed.owner.deploy("state_growth/cadence_multi.bpmn")
    data = {"attempts": 0, "limit": 100, "remarks": 0, "numbers": [11, 12]}
    instance = running(timed.agent.start("cadence_multi", data, business_key=KEY))
    for attempt in (1, 2, 3):
        dials = ready(instance, "dial")
        assert len(dials) == 2
        instance = running(timed.agent.complete_ok(dials[0], {"outcome": "failed"}))
        assert instance["data"]["attempts"] == attempt
        assert "number" not in instance["data"]
    assert open_items(timed, instance["id"]) == ["dial", "dial"]


# -- (a) receive tasks of a multi-instance activity, interrupted -------------------------------

CUSTOMERS = ["c1", "c2", "c3"]
LISTENING = ("message", "cancel_all")  # the event subprocess waits while the process runs


def deploy(timed: Timed, name: str) -> None:
    timed.owner.deploy(f"multi_instance_edges/{name}.bpmn")


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
@pytest.mark.parametrize("interrupt", ["timer", "message", "event_subprocess"])
def test_interrupted_receive_tasks_stop_waiting(timed, mode, interrupt):
    """No reply is awaited any more, a late one is answered 404, the instance goes on. The
    interrupting event subprocess's run took the data of the open receive tasks with one
    instance's ``customer``, which the process then kept."""
    deploy(timed, f"replies_{mode}")
    started = running(
        timed.agent.start(f"replies_{mode}", {"customers": CUSTOMERS}, business_key=KEY)
    )
    instance_id = started["id"]
    replies = 3 if mode == "parallel" else 1
    boundary = [("message", "give_up"), ("timer", "too_late")]
    assert waits(timed, instance_id) == sorted(
        [("message", "reply")] * replies + boundary + [LISTENING]
    )
    if mode == "sequential":  # the first customer replies: the second one's wait opens
        assert send(timed, "reply").status_code == 202
        assert waits(timed, instance_id) == sorted([("message", "reply"), *boundary, LISTENING])

    if interrupt == "timer":
        assert timed.advance(hours=1) == 1
    else:
        name = "give_up" if interrupt == "message" else "cancel_all"
        sent = send(timed, name)
        assert sent.status_code == 202, sent.get_json()
        assert sent.get_json()["delivered_to"] == [instance_id]

    instance = running(timed.agent.instance(instance_id))
    after = "clean_up" if interrupt == "event_subprocess" else "follow_up"
    assert open_items(timed, instance_id) == [after]
    assert waits(timed, instance_id) == ([] if after == "clean_up" else [LISTENING])
    assert "customer" not in instance["data"]  # each receive task's own item
    late = send(timed, "reply")
    assert late.status_code == 404, late.get_json()
    assert late.get_json()["error"]["code"] == "no_matching_instance"
    assert timed.advance(hours=2) == 0  # the timer went with the activity

    done = timed.agent.complete_ok(ready(instance, after)[0])
    assert (done["status"], done["incidents"]) == ("completed", []), done
    assert waits(timed, instance_id) == []


# -- (b) non-interrupting boundary events beside the instances ---------------------------------


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_non_interrupting_boundary_events_fire_beside_the_instances(timed, mode):
    """An hourly reminder, a message and an escalation from one instance each open their
    task once per occurrence while the calls go on; the activity completes with its calls.
    SpiffWorkflow 3.2 starts a cycle timer's paths below its waiting boundary event, and
    cancelling that wait when the activity completed cancelled the reminders it had opened."""
    deploy(timed, f"reminders_{mode}")
    started = timed.agent.start(f"reminders_{mode}", {"customers": CUSTOMERS}, business_key=KEY)
    instance_id = running(started)["id"]
    calls = 3 if mode == "parallel" else 1
    assert open_items(timed, instance_id) == ["call"] * calls

    for hour in (1, 2):  # the hourly reminder, once an hour
        assert timed.advance(hours=1) == 1
        assert open_items(timed, instance_id) == sorted(["call"] * calls + ["chase"] * hour)
    for _ in range(2):  # each question its own answer
        sent = send(timed, "question")
        assert sent.status_code == 202, sent.get_json()
    beside = ["answer", "answer", "chase", "chase"]
    assert open_items(timed, instance_id) == sorted(["call"] * calls + beside)

    # one call asks for a discount: an approval opens, the calls go on
    instance = running(timed.agent.instance(instance_id))
    instance = running(timed.agent.complete_ok(ready(instance, "call")[0], {"discount": True}))
    beside = sorted([*beside, "approve"])
    assert open_items(timed, instance_id) == sorted(
        ["call"] * (2 if mode == "parallel" else 1) + beside
    )
    # the other calls end the activity; what fired beside it stays open, once per occurrence
    while ready(instance, "call"):
        instance = running(timed.agent.complete_ok(ready(instance, "call")[0], {"discount": False}))
    assert open_items(timed, instance_id) == sorted([*beside, "wrap_up"])
    assert waits(timed, instance_id) == []
    assert "customer" not in instance["data"]
    assert timed.advance(hours=1) == 0  # the third reminder never comes
    assert send(timed, "question").status_code == 404

    for task_id in [task["id"] for task in instance["ready_tasks"]]:
        instance = timed.agent.complete_ok(task_id)
    assert (instance["status"], instance["incidents"]) == ("completed", []), instance
    assert open_items(timed, instance_id) == []


# -- (c) nested multi-instance activities ------------------------------------------------------

TEAMS = [["ann", "bo"], ["cy", "di", "ed"]]


def members_open(timed: Timed, instance_id: int) -> dict[str, str]:
    """The open ``call_member`` tasks by member (their title is ``Call <member>``)."""
    return {
        task["title"].removeprefix("Call "): task["id"]
        for task in timed.agent.tasks()
        if task["process_instance_id"] == instance_id and task["name"] == "call_member"
    }


@pytest.mark.parametrize("outer", ["parallel", "sequential"])
def test_nested_multi_instance_activities_merge_their_outputs(timed, outer):
    """A parallel subprocess per team around a sequential task per member, and the
    reverse: each member's result lands in its team's list, each team's list in its place.
    The outputs of a parallel activity were listed in the order the tasks were completed."""
    deploy(timed, f"teams_{outer}")
    started = timed.agent.start(f"teams_{outer}", {"teams": TEAMS}, business_key=KEY)
    instance_id = running(started)["id"]
    # the first wave: one member per team (outer parallel), or every member of the first team
    first = {"ann", "cy"} if outer == "parallel" else {"ann", "bo"}
    assert set(members_open(timed, instance_id)) == first
    called = set()
    while opened := members_open(timed, instance_id):
        member, task_id = sorted(opened.items())[-1]  # the last first: order must not matter
        instance = running(timed.agent.complete_ok(task_id, {"result": member.upper()}))
        called.add(member)
    assert called == {m for team in TEAMS for m in team}
    assert instance["data"]["team_results"] == [["ANN", "BO"], ["CY", "DI", "ED"]]
    assert {"team", "member", "result", "results"}.isdisjoint(instance["data"])
    assert open_items(timed, instance_id) == ["review"]


@pytest.mark.parametrize("outer", ["parallel", "sequential"])
def test_nested_multi_instance_activities_stop_together(timed, outer):
    deploy(timed, f"teams_{outer}")
    started = timed.agent.start(f"teams_{outer}", {"teams": TEAMS}, business_key=KEY)
    instance_id = running(started)["id"]
    ann = members_open(timed, instance_id)["ann"]
    running(timed.agent.complete_ok(ann, {"result": "ANN"}))
    sent = send(timed, "stop_teams")
    assert sent.status_code == 202, sent.get_json()
    instance = running(timed.agent.instance(instance_id))
    assert open_items(timed, instance_id) == ["after"]
    assert members_open(timed, instance_id) == {}
    assert waits(timed, instance_id) == []
    assert {"team", "member", "result", "results"}.isdisjoint(instance["data"])
    assert send(timed, "stop_teams").status_code == 404
    done = timed.agent.complete_ok(ready(instance, "after")[0])
    assert (done["status"], done["incidents"]) == ("completed", []), done


# -- (d) a multi-instance call activity whose called process loops on a timer ------------------


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_a_called_process_looping_on_a_timer_in_each_instance(timed, mode):
    timed.owner.deploy(
        f"multi_instance_edges/chase_{mode}.bpmn", "multi_instance_edges/chase_customer.bpmn"
    )
    started = timed.agent.start(f"chase_{mode}", {"customers": CUSTOMERS}, business_key=KEY)
    instance_id = running(started)["id"]
    at_once = 3 if mode == "parallel" else 1
    assert waits(timed, instance_id) == [("timer", "c_wait")] * at_once
    hours = 3 if mode == "parallel" else 9  # three tries an hour apart, per customer
    for hour in range(1, hours + 1):
        assert timed.advance(hours=1) == 1, hour
        instance = running(timed.agent.instance(instance_id))
        if hour < hours:
            assert open_items(timed, instance_id) == []
            assert waits(timed, instance_id) == [("timer", "c_wait")] * at_once
    assert open_items(timed, instance_id) == [f"{mode[0]}_review"]
    assert waits(timed, instance_id) == []
    assert instance["data"]["outcomes"] == [3, 3, 3]
    assert {"customer", "tries", "tried_for"}.isdisjoint(instance["data"])
    assert timed.advance(hours=1) == 0
    done = timed.agent.complete_ok(ready(instance, f"{mode[0]}_review")[0])
    assert (done["status"], done["incidents"]) == ("completed", []), done
