"""Moves to a version that no longer draws a boundary event on an activity still under way.

The activity moves and the boundary event the new version lacks stops waiting, as Camunda's
migration drops the event subscriptions and timer jobs of boundary events left unmapped: its
timer is dropped (one already due does not fire), its message no longer reaches the
instance. The paths a non-interrupting cycle timer already started are no part of the
activity: each goes on where its element is in the new version, and one at an element the new
version lacks blocks the move, as any unfinished task does (Camunda refuses an activity
instance without a counterpart too). A multi-instance activity under way cannot stop waiting
for a boundary event by a move: refused, naming the event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.engine.conftest import T0, Actor, Timed

PID = "gap_move"
CALLED = "gap_called"


def bpmn(process_id: str, body: str, head: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '  id="defs" targetNamespace="http://example.com/moves">\n'
        f'{head}  <process id="{process_id}" isExecutable="true">\n{body}\n  </process>\n'
        "</definitions>\n"
    ).encode()


def deploy(owner: Actor, body: str, head: str = "", called: str | None = None) -> None:
    files = [(f"{PID}.bpmn", bpmn(PID, body, head))]
    if called is not None:
        files.append((f"{CALLED}.bpmn", bpmn(CALLED, called)))
    response = owner.upload(extra=files)
    assert response.status_code in (200, 201), response.get_json()


def migrate(owner: Actor, instance_id: int, to_version: int = 2) -> Any:
    return owner.post(
        f"/api/v1/process-instances/{instance_id}/migrate", json={"to_version": to_version}
    )


def moved_ok(owner: Actor, instance_id: int, to_version: int = 2) -> dict[str, Any]:
    response = migrate(owner, instance_id, to_version)
    assert response.status_code == 200, response.get_json()
    view = response.get_json()
    assert view["version"] == to_version
    return view


def elements(owner: Actor, instance_id: int) -> dict[str, Any]:
    response = owner.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


def activity(inner: str) -> str:
    """``inner`` (the element ``work`` and whatever it needs) between a start and an end."""
    return f"""
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    {inner}
    <sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <endEvent id="e"/>
"""


USER = '<userTask id="work" name="Work"/>'
SUBPROCESS = """<subProcess id="work">
      <startEvent id="in_s"/>
      <sequenceFlow id="in_f1" sourceRef="in_s" targetRef="inner"/>
      <userTask id="inner" name="Inner"/>
      <sequenceFlow id="in_f2" sourceRef="inner" targetRef="in_e"/>
      <endEvent id="in_e"/>
    </subProcess>"""
CALL = f'<callActivity id="work" calledElement="{CALLED}"/>'
CALLED_BODY = activity('<userTask id="work" name="Called work"/>')

TIMER = """
    <boundaryEvent id="late" attachedToRef="work">
      <timerEventDefinition><timeDuration>"PT1H"</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="f3" sourceRef="late" targetRef="timed_out"/>
    <endEvent id="timed_out"/>
"""
MESSAGE_HEAD = '  <message id="m_ping" name="ping"/>\n'
MESSAGE = """
    <boundaryEvent id="pinged" attachedToRef="work">
      <messageEventDefinition messageRef="m_ping"/>
    </boundaryEvent>
    <sequenceFlow id="f4" sourceRef="pinged" targetRef="was_pinged"/>
    <endEvent id="was_pinged"/>
"""


def the_task(view: dict[str, Any]) -> dict[str, Any]:
    (task,) = view["ready_tasks"]
    return task


@pytest.mark.parametrize("kind", ["user-task", "subprocess", "call-activity"])
def test_an_activity_under_way_moves_and_its_removed_timer_never_fires(timed: Timed, kind):
    inner, called = {
        "user-task": (USER, None),
        "subprocess": (SUBPROCESS, None),
        "call-activity": (CALL, CALLED_BODY),
    }[kind]
    deploy(timed.owner, activity(inner) + TIMER, called=called)
    started = timed.agent.start(PID)
    task = the_task(started)
    assert [w["name"] for w in started["waiting"]] == ["late"]
    timed.advance(minutes=30)
    deploy(timed.owner, activity(inner), called=called)

    view = moved_ok(timed.owner, started["id"])

    assert (view["status"], view["waiting"]) == ("running", [])
    assert the_task(view)["id"] == task["id"]
    shown = elements(timed.owner, started["id"])
    assert "late" not in shown["waiting"]
    assert task["name"] in shown["ready"]
    assert timed.advance(hours=2) == 0  # the hour of version 1 has passed: nothing fires
    view = timed.owner.instance(started["id"])
    assert [t["id"] for t in view["ready_tasks"]] == [task["id"]]
    done = timed.agent.complete_ok(task["id"])
    assert (done["status"], done["version"]) == ("completed", 2), done["incidents"]
    assert "timed_out" not in elements(timed.owner, started["id"])["completed"]


def test_a_removed_timer_already_due_does_not_fire_on_the_move(timed: Timed):
    deploy(timed.owner, activity(USER) + TIMER)
    started = timed.agent.start(PID)
    task = the_task(started)
    deploy(timed.owner, activity(USER))
    timed.clock.advance(timedelta(hours=3))  # due, and the scheduler has not passed yet

    view = moved_ok(timed.owner, started["id"])

    assert (view["status"], view["waiting"]) == ("running", [])
    assert the_task(view)["id"] == task["id"]
    assert timed.advance() == 0
    done = timed.agent.complete_ok(task["id"])
    assert done["status"] == "completed", done["incidents"]
    assert "timed_out" not in elements(timed.owner, started["id"])["completed"]


def test_a_kept_timer_still_fires_after_the_move_when_it_was_due(timed: Timed):
    """The contrast: the same timer kept by the new version fires in the move's step."""
    deploy(timed.owner, activity(USER) + TIMER)
    started = timed.agent.start(PID)
    deploy(timed.owner, activity(USER) + TIMER + "<!-- v2 -->")
    timed.clock.advance(timedelta(hours=3))
    view = moved_ok(timed.owner, started["id"])
    assert (view["status"], view["ready_tasks"]) == ("completed", [])


def test_a_removed_message_boundary_no_longer_reaches_the_moved_instance(timed: Timed):
    deploy(timed.owner, activity(USER) + MESSAGE, MESSAGE_HEAD)
    started = timed.agent.start(PID, business_key="lead-7")
    assert [w["kind"] for w in started["waiting"]] == ["message"]
    deploy(timed.owner, activity(USER), MESSAGE_HEAD)

    view = moved_ok(timed.owner, started["id"])

    assert view["waiting"] == []
    sent = timed.agent.post("/api/v1/messages", json={"name": "ping", "business_key": "lead-7"})
    assert sent.status_code == 404, sent.get_json()
    assert sent.get_json()["error"]["code"] == "no_matching_instance"
    done = timed.agent.complete_ok(the_task(view)["id"])
    assert done["status"] == "completed", done["incidents"]


@pytest.mark.parametrize("outcome", ["message", "completed"])
def test_a_task_keeping_one_of_two_boundary_events_moves_with_that_one(timed: Timed, outcome):
    """Version 2 keeps the message and drops the timer: the split above the task stays, the
    timer stops waiting, and the message still interrupts the task (or its completion ends
    the message's wait)."""
    deploy(timed.owner, activity(USER) + TIMER + MESSAGE, MESSAGE_HEAD)
    started = timed.agent.start(PID, business_key="lead-8")
    assert sorted(w["kind"] for w in started["waiting"]) == ["message", "timer"]
    deploy(timed.owner, activity(USER) + MESSAGE, MESSAGE_HEAD)

    view = moved_ok(timed.owner, started["id"])

    assert [w["kind"] for w in view["waiting"]] == ["message"]
    assert timed.advance(hours=2) == 0
    if outcome == "message":
        sent = timed.agent.post("/api/v1/messages", json={"name": "ping", "business_key": "lead-8"})
        assert sent.status_code == 202, sent.get_json()
        done = timed.owner.instance(started["id"])
        assert (done["status"], done["ready_tasks"]) == ("completed", []), done["incidents"]
        assert "was_pinged" in elements(timed.owner, started["id"])["completed"]
    else:
        done = timed.agent.complete_ok(the_task(view)["id"])
        assert (done["status"], done["waiting"]) == ("completed", []), done["incidents"]
        shown = elements(timed.owner, started["id"])
        assert "e" in shown["completed"] and "was_pinged" not in shown["completed"]


CYCLE = """
    <boundaryEvent id="nudge" attachedToRef="work" cancelActivity="false">
      <timerEventDefinition><timeCycle>"R3/PT1H"</timeCycle></timerEventDefinition>
    </boundaryEvent>
    <sequenceFlow id="f5" sourceRef="nudge" targetRef="remind"/>
    <userTask id="remind" name="Reminder"/>
    <sequenceFlow id="f6" sourceRef="remind" targetRef="reminded"/>
    <endEvent id="reminded"/>
"""


def test_a_removed_cycle_timer_whose_reminder_is_done_moves_and_fires_no_more(timed: Timed):
    deploy(timed.owner, activity(USER) + CYCLE)
    started = timed.agent.start(PID)
    task = the_task(started)
    assert timed.advance(hours=1) == 1
    reminder = next(t for t in timed.agent.tasks("mine=1") if t["name"] == "remind")
    timed.agent.complete_ok(reminder["id"])
    deploy(timed.owner, activity(USER))

    view = moved_ok(timed.owner, started["id"])

    assert (view["waiting"], [t["id"] for t in view["ready_tasks"]]) == ([], [task["id"]])
    assert timed.advance(hours=5) == 0
    assert [t["name"] for t in timed.agent.tasks("mine=1")] == ["work"]
    done = timed.agent.complete_ok(task["id"])
    assert done["status"] == "completed", done["incidents"]


def test_a_reminder_a_removed_cycle_timer_opened_blocks_the_move_by_name(timed: Timed):
    """Version 2 draws neither the cycle nor the reminder it opened: the open reminder has no
    counterpart, and the move is refused on it (not on the timer, which could stop)."""
    deploy(timed.owner, activity(USER) + CYCLE)
    started = timed.agent.start(PID)
    assert timed.advance(hours=1) == 1
    deploy(timed.owner, activity(USER))

    refused = migrate(timed.owner, started["id"])

    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "migration_refused"
    assert [d["element_id"] for d in error["details"]] == ["remind"]
    view = timed.owner.instance(started["id"])
    assert view["version"] == 1
    assert sorted(t["name"] for t in view["ready_tasks"]) == ["remind", "work"]
    assert timed.advance(hours=1) == 1  # version 1's cycle goes on


def test_a_reminder_a_removed_cycle_timer_opened_goes_on_when_the_new_version_has_it(
    timed: Timed,
):
    """Version 2 drops the cycle but keeps the reminder task (a message leads to it now): the
    open reminder moves and is worked on version 2; no further reminder is opened."""
    deploy(timed.owner, activity(USER) + CYCLE)
    started = timed.agent.start(PID, business_key="lead-9")
    task = the_task(started)
    assert timed.advance(hours=1) == 1
    (reminder,) = [t for t in timed.agent.tasks("mine=1") if t["name"] == "remind"]
    by_message = (
        CYCLE.replace(
            '<timerEventDefinition><timeCycle>"R3/PT1H"</timeCycle></timerEventDefinition>',
            '<messageEventDefinition messageRef="m_ping"/>',
        )
        .replace('id="nudge"', 'id="asked"')
        .replace('sourceRef="nudge"', 'sourceRef="asked"')
    )
    deploy(timed.owner, activity(USER) + by_message, MESSAGE_HEAD)

    view = moved_ok(timed.owner, started["id"])

    assert sorted(t["id"] for t in view["ready_tasks"]) == sorted([task["id"], reminder["id"]])
    assert [w["kind"] for w in view["waiting"]] == ["message"]
    assert timed.advance(hours=3) == 0
    after = timed.agent.complete_ok(reminder["id"])
    assert [t["id"] for t in after["ready_tasks"]] == [task["id"]]
    done = timed.agent.complete_ok(task["id"])
    assert (done["status"], done["waiting"]) == ("completed", []), done["incidents"]


def test_a_task_done_before_the_move_that_the_new_version_lacks_is_still_shown(owner, agent):
    """A finished task whose element the new version leaves out stays in the instance's
    history; its state could not be read back (the instance view answered 500)."""
    two_steps = """
    <startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
    <userTask id="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
    <userTask id="b"/><sequenceFlow id="f3" sourceRef="b" targetRef="e"/><endEvent id="e"/>
"""
    deploy(owner, two_steps)
    started = agent.start(PID)
    after = agent.complete_ok(the_task(started)["id"])
    deploy(
        owner,
        two_steps.replace('targetRef="a"/>', 'targetRef="b"/>').replace(
            '<userTask id="a"/><sequenceFlow id="f2" sourceRef="a" targetRef="b"/>', ""
        ),
    )
    moved_ok(owner, started["id"])
    shown = elements(owner, started["id"])
    assert shown["ready"] == ["b"]
    assert "a" in shown["completed"]  # its completed work item says so
    done = agent.complete_ok(the_task(after)["id"])
    assert done["status"] == "completed", done["incidents"]


CONTACTS = """<userTask id="work" name="Call a contact">
      <multiInstanceLoopCharacteristics>
        <loopDataInputRef>contacts</loopDataInputRef><inputDataItem id="contact"/>
      </multiInstanceLoopCharacteristics>
    </userTask>"""


def test_a_multi_instance_task_under_way_is_refused_on_its_removed_boundary_event(
    timed: Timed,
):
    deploy(timed.owner, activity(CONTACTS) + TIMER)
    started = timed.agent.start(PID, {"contacts": ["Li", "Wu"]})
    first, _second = started["ready_tasks"]
    timed.agent.complete_ok(first["id"])
    deploy(timed.owner, activity(CONTACTS))

    refused = migrate(timed.owner, started["id"])

    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "migration_refused"
    (detail,) = error["details"]
    assert detail["element_id"] == "late"
    assert "work" in detail["message"] and "once the activity is over" in detail["message"]
    view = timed.owner.instance(started["id"])
    assert (view["version"], [w["name"] for w in view["waiting"]]) == (1, ["late"])
    assert timed.advance(hours=1) == 1  # version 1's deadline still stands
    assert timed.owner.instance(started["id"])["status"] == "completed"


def test_a_failed_task_moves_without_its_removed_timer_and_is_retried_there(timed: Timed):
    failing = '<scriptTask id="work"><script>ratio = 1 / parts</script></scriptTask>'
    deploy(timed.owner, activity(failing) + TIMER)
    started = timed.agent.start(PID, {"parts": 0})
    assert started["status"] == "error"
    assert [w["name"] for w in started["waiting"]] == ["late"]
    deploy(timed.owner, activity(failing.replace("1 / parts", "1 / (parts or 1)")))

    view = moved_ok(timed.owner, started["id"])

    assert (view["status"], view["waiting"]) == ("error", [])
    retried = timed.owner.post(f"/api/v1/process-instances/{started['id']}/retry", json={})
    assert retried.status_code == 200, retried.get_json()
    done = retried.get_json()
    assert (done["status"], done["data"]["ratio"]) == ("completed", 1), done["incidents"]
    assert T0  # the test clock's origin, for readers of the due instants above


NUDGE = """
    <boundaryEvent id="nudge" attachedToRef="work" cancelActivity="false">
      <messageEventDefinition messageRef="m_ping"/>
    </boundaryEvent>
    <sequenceFlow id="f5" sourceRef="nudge" targetRef="remind"/>
    <userTask id="remind" name="Reminder"/>
    <sequenceFlow id="f6" sourceRef="remind" targetRef="reminded"/>
    <endEvent id="reminded"/>
"""


def test_a_moved_task_with_a_kept_non_interrupting_boundary_event_completes(timed: Timed):
    """The move starts the event's wait again on the new version; once the task is done the
    instance ends (it stayed running, the event's predicted path taken for one it started)."""
    deploy(timed.owner, activity(USER) + NUDGE, MESSAGE_HEAD)
    started = timed.agent.start(PID, business_key="lead-10")
    deploy(timed.owner, activity(USER.replace("Work", "Work it")) + NUDGE, MESSAGE_HEAD)
    view = moved_ok(timed.owner, started["id"])
    assert [w["kind"] for w in view["waiting"]] == ["message"]
    done = timed.agent.complete_ok(the_task(view)["id"])
    assert (done["status"], done["waiting"]) == ("completed", []), done["incidents"]


SIGNAL_HEAD = '  <signal id="sig_pause" name="campaign_paused"/>\n'
SIGNAL = """
    <boundaryEvent id="paused" attachedToRef="work">
      <signalEventDefinition signalRef="sig_pause"/>
    </boundaryEvent>
    <sequenceFlow id="f7" sourceRef="paused" targetRef="was_paused"/>
    <endEvent id="was_paused"/>
"""


def test_a_removed_signal_boundary_no_longer_reaches_the_moved_instance(owner, agent):
    deploy(owner, activity(USER) + SIGNAL, SIGNAL_HEAD)
    started = agent.start(PID)
    assert [w["kind"] for w in started["waiting"]] == ["signal"]
    deploy(owner, activity(USER), SIGNAL_HEAD)
    check = owner.post(
        f"/api/v1/process-models/{PID}/versions/1/migration-check", json={"to_version": 2}
    )
    assert check.status_code == 200, check.get_json()
    assert check.get_json()["items"] == [{"id": started["id"], "can_move": True, "blockers": []}]

    view = moved_ok(owner, started["id"])

    assert view["waiting"] == []
    sent = owner.post("/api/v1/signals", json={"name": "campaign_paused"})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == []
    assert [t["name"] for t in owner.instance(started["id"])["ready_tasks"]] == ["work"]
    done = agent.complete_ok(the_task(view)["id"])
    assert done["status"] == "completed", done["incidents"]


def test_a_timer_removed_inside_a_subprocess_under_way_stops_waiting(timed: Timed):
    inside = SUBPROCESS.replace(
        '<endEvent id="in_e"/>',
        '<endEvent id="in_e"/>'
        + TIMER.replace('attachedToRef="work"', 'attachedToRef="inner"')
        .replace('id="f3"', 'id="in_f3"')
        .replace("timed_out", "in_timed_out"),
    )
    deploy(timed.owner, activity(inside))
    started = timed.agent.start(PID)
    task = the_task(started)
    assert [w["name"] for w in started["waiting"]] == ["late"]
    deploy(timed.owner, activity(SUBPROCESS))

    view = moved_ok(timed.owner, started["id"])

    assert (view["waiting"], the_task(view)["id"]) == ([], task["id"])
    assert timed.advance(hours=2) == 0
    done = timed.agent.complete_ok(task["id"])
    assert done["status"] == "completed", done["incidents"]
    assert "in_timed_out" not in elements(timed.owner, started["id"])["completed"]
