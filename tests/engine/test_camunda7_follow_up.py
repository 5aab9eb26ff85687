"""Camunda 7's ``camunda:followUpDate`` on a user task: refused as an attribute Dialflow does not
read, it now sets the work item's follow-up date as ``camunda:dueDate`` sets its due time (a
duration from when the task opens, a date-time, a variable holding one), answered by the task
API as ``follow_up_at``; a method call stays refused on the task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.engine.conftest import T0, Timed, by_element, refused
from tests.engine.test_java_schedules import follow_up, listed_task


def follow_up_at(task: dict) -> datetime | None:
    value = task["follow_up_at"]
    return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


def test_a_camunda_7_follow_up_date_sets_the_work_items_follow_up(timed: Timed) -> None:
    content = follow_up("c7_follow_up", 'camunda:dueDate="P2D" camunda:followUpDate="PT4H"')
    listed = listed_task(timed, "c7_follow_up", content, {})
    assert follow_up_at(listed) == T0 + timedelta(hours=4), listed
    assert listed["due_at"] is not None

    content = follow_up("c7_follow_up_var", 'camunda:followUpDate="${remindAt}"')
    timed.owner.upload(extra=[("c7_follow_up_var.bpmn", content)])
    timed.agent.start("c7_follow_up_var", {"remindAt": "2026-05-06T10:00:00+08:00"})
    (task,) = [t for t in timed.agent.tasks() if t["process_id"] == "c7_follow_up_var"]
    assert follow_up_at(task) == datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
    assert task["due_at"] is None


def test_a_camunda_7_follow_up_method_call_stays_refused_on_the_task(owner) -> None:
    content = follow_up(
        "c7_follow_up_refused", 'camunda:followUpDate="${dateTime().minusDays(2).toDate()}"'
    )
    said = by_element(refused(owner.upload(extra=[("c7_follow_up_refused.bpmn", content)])))
    assert set(said) == {"callback"}
    assert "followUpDate" in said["callback"] and "followUpIn" in said["callback"]
