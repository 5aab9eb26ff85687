"""Timer start events: the scheduler starts a new instance at each time the timer names."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.models import ProcessInstance
from tests.engine.conftest import T0, one_process


def count_instances(timed, process_id: str) -> int:
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        return (
            session.scalar(
                select(func.count(ProcessInstance.id)).where(
                    ProcessInstance.process_id == process_id
                )
            )
            or 0
        )


def test_a_cycle_start_timer_starts_one_instance_per_cycle(timed):
    timed.owner.deploy("hourly_review.bpmn")
    manager = timed.actor("manager", username="boss", team="East")

    assert timed.advance(minutes=59) == 0
    assert count_instances(timed, "hourly_review") == 0
    for hour in (1, 2, 3):
        assert timed.advance(minutes=1, seconds=1) == 1, hour
        assert count_instances(timed, "hourly_review") == hour
        timed.advance(minutes=59)
    assert timed.advance(hours=5) == 0  # R3: three starts, then no more
    assert count_instances(timed, "hourly_review") == 3
    tasks = manager.tasks("candidate=1")
    assert [t["name"] for t in tasks] == ["review", "review", "review"]


def test_a_duration_start_timer_starts_once_and_a_new_version_replaces_the_schedule(timed):
    timed.owner.deploy("review_once.bpmn")
    assert timed.advance(minutes=30) == 0
    timed.owner.deploy("hourly_review.bpmn")  # another process: both are scheduled

    assert timed.advance(minutes=31) == 1  # review_once, one hour after its deploy
    assert count_instances(timed, "review_once") == 1
    assert timed.advance(hours=3) == 1  # hourly_review's first cycle (the rest come later)
    assert timed.advance(days=1) == 1
    assert count_instances(timed, "review_once") == 1


def test_a_monthly_start_timer_starts_on_the_same_day_each_month(timed):
    """``R3/P1M`` from 4 May starts an instance on 4 June, 4 July and 4 August (the schedule
    moved by May's 31 days each time: 5 July, 5 August)."""
    body = (
        "<startEvent id=\"monthly\"><timerEventDefinition><timeCycle>'R3/P1M'"
        "</timeCycle></timerEventDefinition></startEvent>"
        '<sequenceFlow id="f1" sourceRef="monthly" targetRef="done"/><endEvent id="done"/>'
    )
    deployed = timed.owner.upload(extra=[("monthly.bpmn", one_process("monthly_report", body))])
    assert deployed.status_code == 201, deployed.get_json()
    for started, month in enumerate((6, 7, 8), start=1):
        timed.clock.set(T0.replace(month=month) - timedelta(seconds=1))
        timed.advance()
        assert count_instances(timed, "monthly_report") == started - 1, month
        timed.advance(seconds=1)
        assert count_instances(timed, "monthly_report") == started, month
    timed.clock.set(T0.replace(month=12))
    timed.advance()
    assert count_instances(timed, "monthly_report") == 3
