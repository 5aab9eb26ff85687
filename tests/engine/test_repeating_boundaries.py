"""Non-interrupting signal and escalation boundary events start a path for every occurrence
while their activity runs, as BPMN says, and stop listening when it ends.

Dialflow delivers signals and escalations only within one instance, so each diagram throws
them itself: a signal from a loop in a parallel branch, an escalation from a loop inside the
subprocess the event is attached to, with a user task between two throws.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.engine.conftest import T0, Actor, Timed
from tests.engine.test_migration_gaps import (
    CALL,
    CALLED_BODY,
    CYCLE,
    PID,
    SUBPROCESS,
    USER,
    activity,
    deploy,
    moved_ok,
)

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="defs" targetNamespace="http://dialflow.example/boundaries">\n'
)

# ``work`` runs while the other branch asks, again and again, for a price change and
# signals each one; every signal while ``work`` runs opens a ``recheck``.
SIGNALLED = f"""{HEAD}<bpmn:signal id="sig_price" name="price_changed"/>
<bpmn:process id="price_watch" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="work" name="Work the deal"/>
  <bpmn:boundaryEvent id="on_price" attachedToRef="work" cancelActivity="false">
    <bpmn:signalEventDefinition signalRef="sig_price"/>
  </bpmn:boundaryEvent>
  <bpmn:userTask id="recheck" name="Recheck the quote"/>
  <bpmn:endEvent id="rechecked"/>
  <bpmn:endEvent id="worked"/>
  <bpmn:exclusiveGateway id="merge"/>
  <bpmn:userTask id="ask" name="Change the price?"/>
  <bpmn:intermediateThrowEvent id="tell">
    <bpmn:signalEventDefinition signalRef="sig_price"/>
  </bpmn:intermediateThrowEvent>
  <bpmn:exclusiveGateway id="more" default="g6"/>
  <bpmn:endEvent id="asked"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="work"/>
  <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="worked"/>
  <bpmn:sequenceFlow id="f4" sourceRef="on_price" targetRef="recheck"/>
  <bpmn:sequenceFlow id="f5" sourceRef="recheck" targetRef="rechecked"/>
  <bpmn:sequenceFlow id="g1" sourceRef="fork" targetRef="merge"/>
  <bpmn:sequenceFlow id="g2" sourceRef="merge" targetRef="ask"/>
  <bpmn:sequenceFlow id="g3" sourceRef="ask" targetRef="tell"/>
  <bpmn:sequenceFlow id="g4" sourceRef="tell" targetRef="more"/>
  <bpmn:sequenceFlow id="g5" sourceRef="more" targetRef="merge">
    <bpmn:conditionExpression>again</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="g6" sourceRef="more" targetRef="asked"/>
</bpmn:process>
</bpmn:definitions>
"""

# The subprocess escalates every big discount it is asked for; each opens an approval.
ESCALATED = f"""{HEAD}<bpmn:escalation id="esc_discount" name="big_discount" escalationCode="D"/>
<bpmn:process id="discount_desk" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="negotiate">
    <bpmn:startEvent id="n_start"/>
    <bpmn:exclusiveGateway id="merge"/>
    <bpmn:userTask id="ask" name="Ask for a discount"/>
    <bpmn:intermediateThrowEvent id="escalate">
      <bpmn:escalationEventDefinition escalationRef="esc_discount"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:exclusiveGateway id="more" default="n6"/>
    <bpmn:endEvent id="n_end"/>
    <bpmn:sequenceFlow id="n1" sourceRef="n_start" targetRef="merge"/>
    <bpmn:sequenceFlow id="n2" sourceRef="merge" targetRef="ask"/>
    <bpmn:sequenceFlow id="n3" sourceRef="ask" targetRef="escalate"/>
    <bpmn:sequenceFlow id="n4" sourceRef="escalate" targetRef="more"/>
    <bpmn:sequenceFlow id="n5" sourceRef="more" targetRef="merge">
      <bpmn:conditionExpression>again</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="n6" sourceRef="more" targetRef="n_end"/>
  </bpmn:subProcess>
  <bpmn:boundaryEvent id="on_discount" attachedToRef="negotiate" cancelActivity="false">
    <bpmn:escalationEventDefinition escalationRef="esc_discount"/>
  </bpmn:boundaryEvent>
  <bpmn:userTask id="approve" name="Approve the discount"/>
  <bpmn:endEvent id="approved"/>
  <bpmn:endEvent id="negotiated"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="negotiate"/>
  <bpmn:sequenceFlow id="f2" sourceRef="negotiate" targetRef="negotiated"/>
  <bpmn:sequenceFlow id="f3" sourceRef="on_discount" targetRef="approve"/>
  <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="approved"/>
</bpmn:process>
</bpmn:definitions>
"""


def deployed(owner: Actor, xml: str) -> None:
    response = owner.post("/api/v1/process-models", json={"bpmn": xml})
    assert response.status_code == 201, response.get_json()


def names(instance: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in instance["ready_tasks"])


def the(instance: dict[str, Any], name: str) -> dict[str, Any]:
    return next(task for task in instance["ready_tasks"] if task["name"] == name)


def test_every_signal_while_the_task_runs_opens_its_own_path(owner, agent):
    """SpiffWorkflow 3.2 caught the first signal only: the second price change while the deal
    was still being worked opened no recheck."""
    deployed(owner, SIGNALLED)
    instance = agent.start("price_watch")
    assert names(instance) == ["ask", "work"]
    instance = agent.complete_ok(the(instance, "ask")["id"], {"again": True})
    assert names(instance) == ["ask", "recheck", "work"]
    instance = agent.complete_ok(the(instance, "ask")["id"], {"again": True})
    assert names(instance) == ["ask", "recheck", "recheck", "work"]
    # the task ends: a signal after it opens nothing
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert names(instance) == ["ask", "recheck", "recheck"]
    instance = agent.complete_ok(the(instance, "ask")["id"], {"again": False})
    assert names(instance) == ["recheck", "recheck"]
    for task in list(instance["ready_tasks"]):
        instance = agent.complete_ok(task["id"])
    assert instance["status"] == "completed"


def test_every_escalation_while_the_subprocess_runs_opens_its_own_path(owner, agent):
    """SpiffWorkflow 3.2 caught the first escalation only: the later discounts the
    subprocess escalated went to nobody."""
    deployed(owner, ESCALATED)
    instance = agent.start("discount_desk")
    assert names(instance) == ["ask"]
    for count in (1, 2):
        instance = agent.complete_ok(the(instance, "ask")["id"], {"again": True})
        assert names(instance) == ["approve"] * count + ["ask"]
    instance = agent.complete_ok(the(instance, "ask")["id"], {"again": False})
    assert names(instance) == ["approve"] * 3  # the subprocess ended with its third one
    assert instance["status"] != "completed"
    for task in list(instance["ready_tasks"]):
        instance = agent.complete_ok(task["id"])
    assert instance["status"] == "completed"


def test_an_instance_with_a_repeated_wait_migrates_and_keeps_listening(owner, agent):
    """Migration compares the versions' specs through the serializer: the boundary event that
    waits again must be known to it, or every instance with one could not move."""
    deployed(owner, SIGNALLED)
    instance = agent.start("price_watch")
    instance = agent.complete_ok(the(instance, "ask")["id"], {"again": True})
    deployed(
        owner,
        SIGNALLED.replace(
            '<bpmn:endEvent id="asked"/>', '<bpmn:endEvent id="asked" name="Asked"/>'
        ),
    )
    response = owner.post(
        f"/api/v1/process-instances/{instance['id']}/migrate", json={"to_version": 2}
    )
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["version"] == 2
    instance = agent.complete_ok(the(moved, "ask")["id"], {"again": False})
    assert names(instance) == ["recheck", "recheck", "work"]


# -- a non-interrupting cycle timer (R3/PT1H) on an activity that is not multi-instance -----
# Each firing opens its own reminder; three firings and no more; the activity's end stops the
# cycle (the reminders it opened go on); a move keeps the cycle's due instant and what is left
# of its repetitions.

CYCLED = {
    "user-task": (USER, None),
    "subprocess": (SUBPROCESS, None),
    "call-activity": (CALL, CALLED_BODY),
}


def cycled(timed: Timed, kind: str, *, version_two: str | None = None) -> dict[str, Any]:
    inner, called = CYCLED[kind]
    deploy(timed.owner, activity(inner) + CYCLE, called=called)
    started = timed.agent.start(PID)
    assert started["status"] == "running", started["incidents"]
    return started


def due_instants(view: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(w["due_at"]) for w in view["waiting"]]


def reminders(timed: Timed) -> list[str]:
    return [t["id"] for t in timed.agent.tasks("mine=1") if t["name"] == "remind"]


@pytest.mark.parametrize("kind", list(CYCLED))
def test_a_cycle_timer_fires_three_times_each_opening_a_reminder(timed: Timed, kind):
    started = cycled(timed, kind)
    (work,) = started["ready_tasks"]
    for hour in (1, 2, 3):
        view = timed.owner.instance(started["id"])
        assert due_instants(view) == [T0 + timedelta(hours=hour)]
        assert timed.advance(minutes=59) == 0
        assert timed.advance(minutes=1) == 1
        assert len(reminders(timed)) == hour
    view = timed.owner.instance(started["id"])
    assert view["waiting"] == []
    assert timed.advance(days=2) == 0
    assert len(reminders(timed)) == 3
    assert work["id"] in [t["id"] for t in view["ready_tasks"]]  # the activity goes on
    for reminder in reminders(timed):
        assert timed.agent.complete_ok(reminder)["status"] == "running"
    done = timed.agent.complete_ok(work["id"])
    assert (done["status"], done["waiting"]) == ("completed", []), done["incidents"]


@pytest.mark.parametrize("kind", list(CYCLED))
def test_the_activitys_end_stops_the_cycle_and_its_reminder_goes_on(timed: Timed, kind):
    started = cycled(timed, kind)
    (work,) = started["ready_tasks"]
    assert timed.advance(hours=1) == 1
    (reminder,) = reminders(timed)
    after = timed.agent.complete_ok(work["id"])
    assert (after["status"], after["waiting"]) == ("running", [])
    assert [t["id"] for t in after["ready_tasks"]] == [reminder]
    assert timed.advance(hours=5) == 0
    assert reminders(timed) == [reminder]
    done = timed.agent.complete_ok(reminder)
    assert done["status"] == "completed", done["incidents"]


@pytest.mark.parametrize("kind", list(CYCLED))
def test_a_move_keeps_the_cycles_due_instant_and_remaining_repetitions(timed: Timed, kind):
    started = cycled(timed, kind)
    (work,) = started["ready_tasks"]
    assert timed.advance(hours=1) == 1
    (first,) = reminders(timed)
    timed.advance(minutes=30)
    inner, called = CYCLED[kind]
    deploy(
        timed.owner,
        activity(inner) + CYCLE.replace('name="Reminder"', 'name="Nudge"'),
        called=called,
    )

    view = moved_ok(timed.owner, started["id"])

    assert due_instants(view) == [T0 + timedelta(hours=2)]
    assert sorted(t["id"] for t in view["ready_tasks"]) == sorted([work["id"], first])
    assert timed.advance(minutes=29) == 0
    assert timed.advance(minutes=1) == 1
    assert timed.advance(hours=1) == 1
    assert timed.owner.instance(started["id"])["waiting"] == []
    assert timed.advance(days=1) == 0
    assert len(reminders(timed)) == 3  # two more after the move: three in all
    for reminder in reminders(timed):
        timed.agent.complete_ok(reminder)
    done = timed.agent.complete_ok(work["id"])
    assert (done["status"], done["version"]) == ("completed", 2), done["incidents"]
