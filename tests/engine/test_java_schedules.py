"""A user task's due date and priority as Camunda 7, Flowable and Activiti write them
(``camunda:dueDate``, ``flowable:dueDate``, ``activiti:priority``…): refused at deploy ("give the
task the property dueIn or dueAt"), they now set the work item's due time and priority with
those engines' meaning: an ISO 8601 duration from when the task opens, a date-time (without an
offset in the installation's zone, Asia/Shanghai here), a variable holding one, a whole number
or an expression over the data. A method call stays refused on the task's line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.engine.conftest import T0, Timed, by_element, refused

ENGINES = {
    "camunda": 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
    "flowable": 'xmlns:flowable="http://flowable.org/bpmn"',
    "activiti": 'xmlns:activiti="http://activiti.org/bpmn"',
}


def follow_up(process_id: str, attributes: str, engine: str = "camunda", inner: str = "") -> bytes:
    """Start → a callback task with ``attributes`` (``{p}`` is the engine's prefix) and
    ``inner`` XML → end."""
    attributes = attributes.replace("{p}", engine)
    task = f'<userTask id="callback" name="回访客户" {attributes}>{inner}</userTask>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'{ENGINES[engine]} id="defs" targetNamespace="http://www.{engine}.org/processdef">\n'
        f'  <process id="{process_id}" isExecutable="true">\n'
        '    <startEvent id="start" />\n'
        f"    {task}\n"
        '    <endEvent id="end" />\n'
        '    <sequenceFlow id="f1" sourceRef="start" targetRef="callback" />\n'
        '    <sequenceFlow id="f2" sourceRef="callback" targetRef="end" />\n'
        "  </process>\n</definitions>\n"
    ).encode()


def listed_task(timed: Timed, process_id: str, content: bytes, data: dict[str, Any]) -> dict:
    response = timed.owner.upload(extra=[(f"{process_id}.bpmn", content)])
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    timed.agent.start(process_id, data)
    (listed,) = timed.agent.tasks()
    return listed


def due(task: dict[str, Any]) -> datetime | None:
    if task["due_at"] is None:
        return None
    return datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")).astimezone(UTC)


@pytest.mark.parametrize(
    ("engine", "attributes", "data", "expected_due", "expected_priority"),
    [
        ("camunda", '{p}:dueDate="PT4H" {p}:priority="80"', {}, T0 + timedelta(hours=4), 80),
        ("flowable", '{p}:dueDate="P2D"', {}, T0 + timedelta(days=2), None),
        (
            "camunda",
            '{p}:dueDate="${callbackAt}" {p}:priority="${lead.priority}"',
            {"callbackAt": "2026-05-06T10:00:00+08:00", "lead": {"priority": 65}},
            datetime(2026, 5, 6, 2, 0, tzinfo=UTC),
            65,
        ),
        (
            "activiti",
            '{p}:dueDate="2026-05-07T18:00:00" {p}:priority="30"',
            {},
            datetime(2026, 5, 7, 10, 0, tzinfo=UTC),  # Asia/Shanghai, the installation's zone
            30,
        ),
    ],
    ids=["camunda-duration", "flowable-days", "camunda-variables", "activiti-local-date-time"],
)
def test_a_java_engines_due_date_and_priority_schedule_the_work_item(
    timed: Timed, engine, attributes, data, expected_due, expected_priority
) -> None:
    listed = listed_task(
        timed,
        f"callback_{engine}",
        follow_up("x", attributes, engine).replace(b'id="x"', f'id="callback_{engine}"'.encode()),
        data,
    )
    assert due(listed) == expected_due, listed
    if expected_priority is not None:
        assert listed["priority"] == expected_priority, listed


def test_a_due_date_variable_the_data_lacks_leaves_the_task_without_a_due_time(
    timed: Timed,
) -> None:
    content = follow_up("callback_missing", 'camunda:dueDate="${callbackAt}"')
    listed = listed_task(timed, "callback_missing", content, {})
    assert listed["due_at"] is None


def test_a_due_date_method_call_and_a_priority_in_words_stay_refused_on_the_task(owner) -> None:
    content = follow_up(
        "callback_refused",
        'camunda:dueDate="${dateTime().minusDays(2).toDate()}" camunda:priority="high"',
    )
    details = refused(owner.upload(extra=[("callback_refused.bpmn", content)]))
    said = by_element(details)
    assert set(said) == {"callback"}, details
    assert "dueDate" in said["callback"] and "dueIn" in said["callback"]
    assert "priority='high'" in said["callback"]


def test_a_due_date_beside_the_tasks_own_due_property_is_refused_as_said_twice(owner) -> None:
    content = follow_up(
        "callback_twice",
        'camunda:dueDate="PT4H"',
        inner='<extensionElements><spiffworkflow:properties xmlns:spiffworkflow="'
        'http://spiffworkflow.org/bpmn/schema/1.0/core"><spiffworkflow:property name="dueIn" '
        'value="PT1H" /></spiffworkflow:properties></extensionElements>',
    )
    details = refused(owner.upload(extra=[("callback_twice.bpmn", content)]))
    assert "dueDate" in by_element(details)["callback"], details


def test_a_spaced_variable_path_is_read_as_the_path(timed: Timed) -> None:
    """``${ lead . callback }`` was read as Python attributes of a map: no due time."""
    content = follow_up("callback_spaced", 'camunda:dueDate="${ lead . callback }"')
    data = {"lead": {"callback": "2026-05-06T10:00:00+08:00"}}
    listed = listed_task(timed, "callback_spaced", content, data)
    assert due(listed) == datetime(2026, 5, 6, 2, 0, tzinfo=UTC), listed


ZEEBE_SCHEDULE = (
    '<extensionElements><zeebe:taskSchedule xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'dueDate="2026-05-07T18:00:00+08:00" /></extensionElements>'
)


@pytest.mark.parametrize(
    ("attributes", "inner", "said"),
    [
        # deployed, and the task silently had no due time
        ('camunda:dueDate="2026-02-30T18:00:00"', "", "no time on the calendar"),
        # deployed, one of the two due times silently dropped
        ('camunda:dueDate="PT4H"', ZEEBE_SCHEDULE, "keep one"),
    ],
    ids=["february-30th", "beside-zeebe-task-schedule"],
)
def test_a_due_date_that_cannot_hold_is_refused_with_why(owner, attributes, inner, said) -> None:
    content = follow_up("callback_cannot", attributes, inner=inner)
    details = refused(owner.upload(extra=[("callback_cannot.bpmn", content)]))
    assert len(details) == 1, details
    assert "dueDate" in by_element(details)["callback"] and said in details[0]["message"]


def test_a_due_date_on_a_service_task_is_told_to_go(owner) -> None:
    """The refusal said to give the service task the property dueIn, which it never reads."""
    content = follow_up("callback_service", "").replace(
        '<userTask id="callback" name="回访客户" ></userTask>'.encode(),
        b'<serviceTask id="callback" camunda:dueDate="PT4H" camunda:priority="80">'
        b"<extensionElements><spiffworkflow:serviceTaskOperator "
        b'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        b'id="crm.add_note" /></extensionElements></serviceTask>',
    )
    assert b"serviceTask" in content
    said = [d["message"] for d in refused(owner.upload(extra=[("callback_service.bpmn", content)]))]
    for attribute in ("dueDate", "priority"):
        (message,) = [m for m in said if f"camunda:{attribute}=" in m]
        assert f"user tasks only: remove {attribute}" in message, said
        assert "give the task the property" not in message, said


def test_a_due_date_variable_holding_a_duration_is_due_that_long_after(timed: Timed) -> None:
    """The Java engines read a duration text (``"P2D"``) as from when the task opens; the
    task had no due time."""
    content = follow_up("callback_sla", 'camunda:dueDate="${sla}"')
    listed = listed_task(timed, "callback_sla", content, {"sla": "P2DT4H"})
    assert due(listed) == T0 + timedelta(days=2, hours=4), listed
