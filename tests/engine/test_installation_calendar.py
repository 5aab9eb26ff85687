"""Dates and durations on the installation's calendar (``DIALFLOW_DEFAULT_TIMEZONE``).

A telesales team in Shanghai reads "09:00" and "in one month" on its own clock. Timers read
a date without an offset in the installation's zone; scripts' ``parse_time`` read it as UTC,
eight hours later. Months were counted on the UTC calendar: ``P1M`` started at 00:30 on
31 January in Shanghai (16:30 UTC on the 30th) was due on 1 March at 00:30 instead of on
28 February.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from dialflow.runtime import Runtime
from dialflow.settings import Settings
from engine.timekeeping import use_zone
from tests.engine.conftest import Timed, only
from tests.engine.test_completion_failures import NS
from tests.engine.test_tasks import DUE_IN_SHANGHAI

# 00:30 on 31 January in Shanghai, the 30th in UTC.
JUST_AFTER_LOCAL_MIDNIGHT = datetime(2026, 1, 30, 16, 30, tzinfo=UTC)
# 00:30 on 28 February in Shanghai: one calendar month later there, the month's last day.
ONE_MONTH_LATER = datetime(2026, 2, 27, 16, 30, tzinfo=UTC)

SCRIPT = (
    "follow_up_at = in_duration('P1M')\n"
    "agreed = parse_time('2026-05-05T09:00:00').isoformat()\n"
    "agreed_day = today()\n"
    "compared = _feel_date_time('2026-05-05T09:00:00').isoformat()"
)

MONTHLY = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="d" targetNamespace="http://example.com/calendar">
<bpmn:process id="monthly_follow_up" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="stamp"/>
<bpmn:scriptTask id="stamp"><bpmn:script>{SCRIPT}</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f2" sourceRef="stamp" targetRef="review"/>
<bpmn:userTask id="review"><bpmn:extensionElements><spiffworkflow:properties>
<spiffworkflow:property name="dueIn" value="P1M"/>
</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="wait"/>
<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>
<bpmn:timeDuration>'P1M'</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f4" sourceRef="wait" targetRef="e"/><bpmn:endEvent id="e"/>
</bpmn:process>
</bpmn:definitions>
"""


def due(instance: dict) -> list[datetime]:
    return [datetime.fromisoformat(w["due_at"]) for w in instance["waiting"] if w.get("due_at")]


def deploy_monthly(timed: Timed) -> None:
    response = timed.owner.upload(extra=[("monthly_follow_up.bpmn", MONTHLY.encode())])
    assert response.status_code in (200, 201), response.get_json()


def test_parse_time_reads_a_date_without_offset_as_timers_do(timed: Timed):
    """``09:00`` is 09:00 in Shanghai for a script, a FEEL date and time and a timer alike;
    ``today()`` is Shanghai's day (00:30 on the 31st there, the 30th in UTC)."""
    timed.clock.set(JUST_AFTER_LOCAL_MIDNIGHT)
    deploy_monthly(timed)

    data = timed.agent.start("monthly_follow_up")["data"]

    assert data["agreed"] == "2026-05-05T09:00:00+08:00"
    assert data["compared"] == "2026-05-05T09:00:00+08:00"
    assert data["agreed_day"] == "2026-01-31"
    timed.owner.deploy("timer_waits.bpmn")
    waiting = timed.agent.start("wait_until", {"call_at": "2026-05-05T09:00:00"})
    assert due(waiting) == [datetime.fromisoformat(data["agreed"])]


def test_a_month_is_counted_on_the_installations_calendar(timed: Timed):
    """``P1M`` from 00:30 on 31 January in Shanghai: 00:30 on 28 February there, for a
    script's ``in_duration``, a task's ``dueIn`` and a timer's duration."""
    timed.clock.set(JUST_AFTER_LOCAL_MIDNIGHT)
    deploy_monthly(timed)

    instance = timed.agent.start("monthly_follow_up")

    assert datetime.fromisoformat(instance["data"]["follow_up_at"]) == ONE_MONTH_LATER
    task = only(instance["ready_tasks"], name="review")
    assert datetime.fromisoformat(task["due_at"]) == ONE_MONTH_LATER
    waiting = timed.agent.complete_ok(task["id"])
    assert due(waiting) == [ONE_MONTH_LATER]


def test_a_monthly_cycle_repeats_on_the_installations_calendar(timed: Timed):
    """``R2/P1M`` from 00:30 on 31 January in Shanghai reminds at 00:30 on 28 February and on
    28 March there."""
    timed.clock.set(JUST_AFTER_LOCAL_MIDNIGHT)
    timed.owner.deploy("timer_calendar.bpmn")
    instance = timed.agent.start("remind_until", {"cycle": "R2/P1M"})

    assert due(timed.agent.instance(instance["id"])) == [ONE_MONTH_LATER]
    timed.clock.set(ONE_MONTH_LATER)
    assert timed.advance() == 1
    assert due(timed.agent.instance(instance["id"])) == [datetime(2026, 3, 27, 16, 30, tzinfo=UTC)]


def test_a_day_over_the_change_to_summer_time_keeps_the_time_of_day(
    timed: Timed, settings: Settings
):
    """An installation in Europe/Berlin: ``P1D`` from 09:00 on 28 March 2026 is 09:00 on the
    29th, when summer time has begun (23 hours later), not 10:00."""
    assert timed.runtime.engine is not None  # built first, in Asia/Shanghai
    berlin = Runtime.build(dataclasses.replace(settings, default_timezone="Europe/Berlin"))
    try:
        assert berlin.engine is not None  # an engine reads its installation's zone when built
        timed.clock.set(datetime(2026, 3, 28, 8, 0, tzinfo=UTC))
        timed.owner.deploy("timer_waits.bpmn")
        instance = timed.agent.start("wait_seconds", {"wait_for": "P1D"})
        assert due(instance) == [datetime(2026, 3, 29, 7, 0, tzinfo=UTC)]
    finally:
        berlin.close()
        use_zone(settings.default_timezone)


def test_a_due_time_without_offset_is_a_time_of_the_installations_zone(owner, agent):
    """A ``dueAt`` read from a form's date and time field (``2026-05-05T09:00``, no offset)
    is due at 09:00 in Shanghai, as a timer on it would fire; the task had no due time."""
    response = owner.upload(extra=[("due_in_shanghai.bpmn", DUE_IN_SHANGHAI)])
    assert response.status_code == 201, response.get_json()

    started = agent.start("due_in_shanghai", {"callback_at": "2026-05-05T09:00"})

    [task] = started["ready_tasks"]
    assert datetime.fromisoformat(task["due_at"]) == datetime(2026, 5, 5, 1, 0, tzinfo=UTC)
