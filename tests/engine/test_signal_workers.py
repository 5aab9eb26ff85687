"""Signals thrown by instances, delivered by ``dialflow worker`` (Celery, real Redis) as the
scheduler hands their broadcasts out; a worker killed in the middle of one loses nothing and
reaches no instance twice. Redis as in ``test_celery.py`` (skipped when unreachable).

The scheduler's claims run out on its own clock, moved past ``signals.LEASE`` (60 s) once the
test has seen the claim stand: a 5-second lease ran out by itself on a loaded machine before
the test looked, and the broadcast was handed out twice as the test saw it."""

from __future__ import annotations

import signal as os_signal
import sys
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.models import Activity
from dialflow.background import TimerLoop, celery_app, celery_dispatcher, signal_dispatcher
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from engine import signals
from engine.models import ProcessInstance, SignalBroadcast, SignalDelivery
from tests.engine.test_celery import (  # noqa: F401  (fixtures)
    WORKER,
    celery_env,
    holding_engine,
    processes,
    redis_url,
    wait_for,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow]

HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="d" targetNamespace="http://dialflow.example/signals">'
    '<bpmn:signal id="sig_paused" name="campaign_paused"/>'
)
# Waits for the pause, notes it on the customer, then a handler that may hang.
PAUSED_NOTE = (
    HEAD + '<bpmn:process id="paused_note" isExecutable="true"><bpmn:startEvent id="start"/>'
    '<bpmn:intermediateCatchEvent id="hear"><bpmn:signalEventDefinition signalRef="sig_paused"/>'
    '</bpmn:intermediateCatchEvent><bpmn:serviceTask id="note"><bpmn:extensionElements>'
    '<spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="note_result">'
    "<spiffworkflow:parameters>"
    '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>'
    '<spiffworkflow:parameter id="text" type="str" value="\'campaign paused\'"/>'
    "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
    '</bpmn:serviceTask><bpmn:serviceTask id="hold"><bpmn:extensionElements>'
    '<spiffworkflow:serviceTaskOperator id="test.hold" resultVariable="held">'
    "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
    '</bpmn:serviceTask><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="hear"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="hear" targetRef="note"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="hold"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="hold" targetRef="end"/>'
    "</bpmn:process></bpmn:definitions>"
)
PAUSER = (
    HEAD + '<bpmn:process id="pauser" isExecutable="true"><bpmn:startEvent id="start"/>'
    '<bpmn:endEvent id="end"><bpmn:signalEventDefinition signalRef="sig_paused"/>'
    '</bpmn:endEvent><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>'
    "</bpmn:process></bpmn:definitions>"
)


def test_a_killed_worker_leaves_the_broadcast_to_the_next_without_repeats(
    runtime, owner, agent, make_customer, tmp_path, request
):
    request.getfixturevalue("holding_engine")  # this process's engine knows test.hold
    procs = request.getfixturevalue("processes")
    broker = request.getfixturevalue("redis_url")
    for name, xml in (("n.bpmn", PAUSED_NOTE), ("p.bpmn", PAUSER)):
        response = owner.post("/api/v1/process-models", json={"bpmn": {name: xml}})
        assert response.status_code == 201, response.get_json()
    customers = [make_customer() for _ in range(2)]
    waiting = [agent.start("paused_note", {"customer_id": c.id})["id"] for c in customers]
    marker = tmp_path / "holding"
    first = procs.start("worker-1", sys.executable, WORKER, marker, 120)
    wait_for(lambda: "ready." in procs.log("worker-1"), 30, "worker 1 to start", procs)

    def rows() -> dict[int, ProcessInstance]:
        with runtime.db.unit_of_work(read_only=True) as session:
            found = session.scalars(
                select(ProcessInstance).where(ProcessInstance.id.in_(waiting))
            ).all()
            return {row.id: row for row in found}

    def notes() -> int:
        with runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(select(func.count(Activity.id)))

    def broadcast() -> SignalBroadcast:
        with runtime.db.unit_of_work(read_only=True) as session:
            return session.scalar(select(SignalBroadcast))

    thrower = agent.start("pauser")
    assert thrower["status"] == "completed"
    assert broadcast().status == "pending"
    before = rows()

    clock = ManualClock()  # the scheduler's: its claims run out when the test says
    scheduler = Runtime.build(replace(runtime.settings, redis_url=broker), clock=clock)
    app = celery_app(scheduler)
    loop = TimerLoop(
        scheduler, dispatch=celery_dispatcher(app), dispatch_signals=signal_dispatcher(app)
    )
    try:
        assert loop.run_once() == 1  # claimed and handed to worker 1
        wait_for(marker.exists, 30, "worker 1 to hold the first instance's step", procs)
        procs.kill(first)
        assert first.returncode == -os_signal.SIGKILL

        # The step it held died with it; the broadcast is still pending and claimed.
        after_kill = rows()
        assert all(after_kill[i].step_count == before[i].step_count for i in waiting)
        assert notes() == 0
        assert broadcast().status == "pending"
        assert loop.run_once() == 0  # still claimed: not handed out twice
        clock.advance(signals.LEASE - timedelta(seconds=1))
        assert loop.run_once() == 0  # claimed for the whole lease

        procs.start("worker-2", sys.executable, WORKER, marker, 0)
        clock.advance(timedelta(seconds=2))  # the lease has run out
        wait_for(loop.run_once, 45, "the broadcast to go out again", procs)
        wait_for(lambda: broadcast().status == "delivered", 30, "worker 2 to deliver", procs)
        done = rows()
        assert all(done[i].status.value == "completed" for i in waiting)
        assert all(done[i].step_count == before[i].step_count + 1 for i in waiting)
        assert notes() == 2  # one note each: no instance reached twice
        with runtime.db.unit_of_work(read_only=True) as session:
            reached = session.scalars(select(SignalDelivery.instance_id)).all()
        assert sorted(reached) == sorted(waiting)
        assert len(marker.read_text().split()) == 3  # held once by worker 1, twice by 2
        assert loop.run_once() == 0
        assert "dialflow.deliver_signals" in procs.log("worker-2")
    finally:
        scheduler.close()
