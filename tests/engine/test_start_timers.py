"""Timer start events: the scheduler starts a new instance at each time the timer names."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.models import ProcessInstance


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
