"""A call cadence of 2,000 attempts: it ends after exactly 2,000 passes, state and step time
stay flat (SpiffWorkflow alone stalls silently past ~333 passes and grows with each one).

Step time is this process's CPU time (the engine, and SQLite, run here), the least of 20
interleaved steps on each side: other processes on a loaded machine add wall time, not CPU
time, and only ever add, so the least is the step's own cost. (The median of wall times
failed under load.)"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from crm.models import User
from dialflow.runtime import Runtime
from engine.models import ProcessInstance, WorkItem, WorkItemStatus
from engine.tasks import complete

PASSES = 2_000
TIMED = 20  # steps timed on each side


class Driver:
    """Completes the open ``call`` of an instance through the use case, one transaction each."""

    def __init__(self, runtime: Runtime, user_id: int, instance_id: int) -> None:
        self.runtime, self.user_id, self.instance_id = runtime, user_id, instance_id
        self.passes = 1  # the call now open is the first pass
        self.item = self._open_item()
        self.finished = False

    def _open_item(self) -> str:
        with self.runtime.db.unit_of_work(read_only=True) as session:
            items = session.scalars(
                select(WorkItem.id).where(
                    WorkItem.instance_id == self.instance_id,
                    WorkItem.status == WorkItemStatus.OPEN,
                )
            ).all()
        assert len(items) == 1, items
        return items[0]

    def step(self) -> float:
        """Complete the open call; returns the CPU seconds the whole transaction took here."""
        assert not self.finished, f"the instance ended after {self.passes} passes"
        started = time.process_time()
        with self.runtime.db.unit_of_work() as session:
            actor = session.get(User, self.user_id)
            row = complete(
                self.runtime.engine, session, self.item, {"outcome": "no_answer"}, actor=actor
            )
            next_item = session.scalar(
                select(WorkItem.id).where(
                    WorkItem.instance_id == self.instance_id,
                    WorkItem.status == WorkItemStatus.OPEN,
                )
            )
            status = row.status.value
        elapsed = time.process_time() - started
        if next_item is None:
            assert status == "completed", (self.passes, status)
            self.finished = True
        else:
            assert status == "running", (self.passes, status)
            self.passes += 1
            self.item = next_item
        return elapsed

    def state_size(self) -> int:
        with self.runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(
                select(func.length(ProcessInstance.state)).where(
                    ProcessInstance.id == self.instance_id
                )
            )

    def instance(self) -> ProcessInstance:
        with self.runtime.db.unit_of_work(read_only=True) as session:
            return session.get(ProcessInstance, self.instance_id)


@pytest.mark.slow
def test_two_thousand_passes_end_exactly_and_stay_flat(runtime, owner, agent, capsys):
    owner.deploy("call_cadence.bpmn")
    long = Driver(runtime, agent.user.id, agent.start("call_cadence", {"limit": PASSES})["id"])
    started = time.perf_counter()

    while long.passes < 10:
        long.step()
    size_at_10 = long.state_size()
    while long.passes < PASSES - TIMED:
        long.step()
    assert long.instance().data["attempts"] == PASSES - TIMED - 1

    # Step time at pass ~2,000 against a fresh instance at pass ~10, interleaved so that both
    # see the same machine load (CI noise hits both sides alike).
    fresh = Driver(runtime, agent.user.id, agent.start("call_cadence", {"limit": PASSES})["id"])
    fresh.step()
    fresh.step()  # passes 1-2 warm up; the timed ones are 3-22
    late, early = [], []
    for _ in range(TIMED):
        late.append(long.step())
        early.append(fresh.step())
    assert long.passes == PASSES
    assert fresh.passes == TIMED + 3
    size_at_2000 = long.state_size()
    row = long.instance()
    assert row.status.value == "running"
    assert row.data["attempts"] == PASSES - 1

    long.step()  # the 2,000th call: the cadence gives up
    row = long.instance()
    assert row.status.value == "completed"
    assert row.data["attempts"] == PASSES
    assert row.data["outcome"] == f"gave up after {PASSES} attempts"
    with runtime.db.unit_of_work(read_only=True) as session:
        calls = session.execute(
            select(WorkItem.status, func.count())
            .where(WorkItem.instance_id == row.id)
            .group_by(WorkItem.status)
        ).all()
    assert dict(calls) == {WorkItemStatus.COMPLETED: PASSES}

    late_ms, early_ms = min(late) * 1000, min(early) * 1000
    with capsys.disabled():
        print(
            f"\ncall cadence, {PASSES} passes in {time.perf_counter() - started:.1f} s: "
            f"state {size_at_10:,} B at pass 10, {size_at_2000:,} B at pass {PASSES}; "
            f"least step CPU {early_ms:.2f} ms at pass ~10, {late_ms:.2f} ms at pass ~{PASSES}"
        )
    assert size_at_2000 < 2 * size_at_10, (size_at_10, size_at_2000)
    assert late_ms < 2 * early_ms, (early_ms, late_ms)
