"""Multi-instance activities at their edges, end to end through the API.

Receive tasks of a multi-instance activity interrupted from outside, non-interrupting boundary
events firing beside the instances, multi-instance activities nested in each other with their
output collections, a multi-instance call activity whose called process loops on a timer,
and an error from one instance looping back into the activity. The diagrams are in
``diagrams/multi_instance_edges/`` (and ``diagrams/state_growth/`` for the loop).
"""

from __future__ import annotations

from typing import Any

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


def send(timed: Timed, name: str, **payload: Any) -> Any:
    body: dict[str, Any] = {"name": name, "business_key": KEY}
    if payload:
        body["payload"] = payload
    return timed.agent.post("/api/v1/messages", json=body)


def running(instance: dict[str, Any]) -> dict[str, Any]:
    assert (instance["status"], instance["incidents"]) == ("running", []), instance
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
