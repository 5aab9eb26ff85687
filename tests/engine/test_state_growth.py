"""A cadence looping back through a subprocess or call activity keeps a bounded state.

Each diagram of ``diagrams/state_growth/`` loops through the activity ``attempt`` (an embedded
subprocess, a call activity, or a parallel multi-instance one of either, one instance per
number), each pass ended one way: a boundary timer, message, signal or error (thrown by an
error end event inside), the interrupting event subprocess ``on_hang_up`` inside, or the
person completing ``dial``. SpiffWorkflow 3.2 keeps a subprocess's workflow after its task is
over, and pruning cut the task from the tree but left the workflow: every pass added one
workflow per instance to the stored state (until a reload dropped them, without their path).
Now the state stays the size it had after a few passes, a reload of it goes on exactly as the
instance held in memory does, and the instance view still shows the path taken inside.
"""

from __future__ import annotations

import json
import statistics
import time
from itertools import cycle
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ProcessInstance
from tests.engine.conftest import Timed

KINDS = ["subprocess", "call", "multi", "multi_call"]
ENDINGS = ["timer", "message", "signal", "error", "hang_up", "done"]
PASSES = 30
BASELINE = 3  # passes before the size every later pass is held to
SLACK = 256  # characters: counters and times in the data may grow by a digit or two
KEY = "lead-7"
# what each ending leaves on the instance view's path, besides the loop itself
LOOP = {"again", "attempt", "over", "count", "more", "a_start", "dial"}
LOOP_FLOWS = {"f_start", "f_count", "f_more", "f_loop", "a1"}
PATHS = {
    "timer": ({"on_timer"}, {"f_timer"}),
    "message": ({"on_stop"}, {"f_stop"}),
    "signal": ({"on_signal"}, {"f_signal"}),
    "error": ({"route", "a_failed", "on_error"}, {"a2", "a4", "f_error"}),
    "hang_up": ({"mark_hung_up", "hang_up_end"}, {"h2", "f_ended"}),
    "done": ({"route", "a_end"}, {"a2", "a3", "f_ended"}),
}


def deploy(timed: Timed, kind: str) -> None:
    timed.owner.deploy(f"state_growth/cadence_{kind}.bpmn")


def begin(timed: Timed, kind: str, limit: int = 100_000) -> int:
    data = {"attempts": 0, "limit": limit, "remarks": 0, "numbers": [11, 12]}
    started = timed.agent.start(f"cadence_{kind}", data, business_key=KEY)
    assert (started["status"], started["incidents"]) == ("running", []), started
    return started["id"]


def dials(instance: dict[str, Any]) -> list[str]:
    return [task["id"] for task in instance["ready_tasks"] if task["name"] == "dial"]


def end_attempt(timed: Timed, ending: str, instances: list[dict[str, Any]]) -> None:
    """End the open attempt of ``instances`` (all with the business key ``KEY``) ``ending``'s
    way; a message, signal or timer reaches all of them at once. A message moves one catch
    per instance: ``hang_up`` is sent once per instance of the attempt activity, whose
    event subprocess each waits for it."""
    agent = timed.agent
    if ending == "timer":
        assert timed.advance(days=1) == len(instances)
    elif ending in ("message", "hang_up"):
        name = "stop_attempt" if ending == "message" else "hang_up"
        for _ in range(1 if ending == "message" else len(dials(instances[0]))):
            sent = agent.post("/api/v1/messages", json={"name": name, "business_key": KEY})
            assert sent.status_code == 202, sent.get_json()
    elif ending == "signal":
        sent = agent.post("/api/v1/signals", json={"name": "stop_attempts"})
        assert sent.status_code == 202, sent.get_json()
    else:
        for instance in instances:
            tasks = dials(instance)[:1] if ending == "error" else dials(instance)
            for task_id in tasks:
                agent.complete_ok(task_id, {"outcome": "failed" if ending == "error" else "ok"})


def state_size(timed: Timed, instance_id: int) -> int:
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        return session.scalar(
            select(func.length(ProcessInstance.state)).where(ProcessInstance.id == instance_id)
        )


def reload_keeps_everything(timed: Timed, instance_id: int) -> None:
    """The stored state holds no workflow that decoding it would drop: each subprocess's
    task is still in a tree, so the instance reloaded is the one that was saved."""
    engine = timed.runtime.engine
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        stored = set(json.loads(row.state)["subprocesses"])
        spec, subprocess_specs = engine.specs.for_version(session, row.version_id).spec(
            row.process_id
        )
        workflow = engine.codec.decode(row.state, spec, subprocess_specs)
    assert {str(key) for key in workflow.subprocesses} == stored


def opened_per_attempt(kind: str) -> int:
    return 2 if kind.startswith("multi") else 1


def check_pass(timed: Timed, instance_id: int, kind: str, passes: int) -> dict[str, Any]:
    instance = timed.agent.instance(instance_id)
    assert (instance["status"], instance["incidents"]) == ("running", []), instance
    assert instance["data"]["attempts"] == passes
    assert len(dials(instance)) == opened_per_attempt(kind)
    assert "number" not in instance["data"]  # each instance's own item
    return instance


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ending", ENDINGS)
def test_the_state_stays_flat_pass_after_pass(timed, kind, ending):
    deploy(timed, kind)
    instance_id = begin(timed, kind)
    instance = timed.agent.instance(instance_id)
    sizes = []
    for passes in range(1, PASSES + 1):
        end_attempt(timed, ending, [instance])
        instance = check_pass(timed, instance_id, kind, passes)
        sizes.append(state_size(timed, instance_id))
    baseline = sizes[BASELINE - 1]
    assert max(sizes[BASELINE:]) <= baseline + SLACK, sizes
    reload_keeps_everything(timed, instance_id)

    # the completed path inside the pruned passes stays on the instance view
    elements = timed.agent.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert elements.status_code == 200, elements.get_json()
    view = elements.get_json()
    taken, flows = PATHS[ending]
    shown = {*view["completed"], *view["ready"], *view["waiting"]}  # a boundary event waits again
    assert LOOP | taken <= shown, view
    assert LOOP_FLOWS | flows <= set(view["flows"]), view
    assert "dial" in view["ready"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_reloaded_instance_goes_on_as_the_one_held_in_memory(timed, kind):
    """Two instances in lockstep through every ending, one of them decoded from its stored
    state at every step (what another worker does), the other taken from the memory of the
    process that saved it (``engine.kept``): they store the same state and end alike."""
    deploy(timed, kind)
    passes = 2 * len(ENDINGS)
    held, reloaded = begin(timed, kind, limit=passes), begin(timed, kind, limit=passes)
    endings = cycle(ENDINGS)
    for done in range(1, passes + 1):
        timed.runtime.engine.kept.forget(reloaded)
        instances = [timed.agent.instance(held), timed.agent.instance(reloaded)]
        end_attempt(timed, next(endings), instances)
        if done == passes:
            break
        for instance_id in (held, reloaded):
            check_pass(timed, instance_id, kind, done)
        assert abs(state_size(timed, held) - state_size(timed, reloaded)) <= SLACK
    ended = [timed.agent.instance(held), timed.agent.instance(reloaded)]
    for instance in ended:
        assert (instance["status"], instance["incidents"]) == ("completed", []), instance
        assert instance["data"]["attempts"] == passes
    assert ended[0]["data"] == ended[1]["data"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("message", ["note", "remark"])
def test_event_subprocess_runs_leave_nothing_behind(timed, kind, message):
    """``note`` runs a non-interrupting event subprocess inside the attempt, ``remark`` one of
    the process beside the loop; each message runs it once more while ``dial`` stays open
    (one message moves one catch: each pass sends ``note`` once per instance of the
    attempt activity)."""
    deploy(timed, kind)
    instance_id = begin(timed, kind)
    sizes = []
    for _ in range(PASSES):
        for _ in range(opened_per_attempt(kind) if message == "note" else 1):
            body = {"name": message, "business_key": KEY}
            sent = timed.agent.post("/api/v1/messages", json=body)
            assert sent.status_code == 202, sent.get_json()
            assert sent.get_json()["delivered_to"] == [instance_id]
        sizes.append(state_size(timed, instance_id))
    check_pass(timed, instance_id, kind, 0)
    assert max(sizes[BASELINE:]) <= sizes[BASELINE - 1] + SLACK, sizes
    reload_keeps_everything(timed, instance_id)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["call", "multi"])
def test_five_hundred_interrupted_attempts(timed, kind, capsys):
    """500 passes, each attempt interrupted by its day's timer: size and step time at pass
    500 against the first passes (printed; the size is held to pass 3's)."""
    deploy(timed, kind)
    instance_id = begin(timed, kind)
    times, sizes = [], {}
    for passes in range(1, 501):
        started = time.perf_counter()
        assert timed.advance(days=1) == 1
        times.append(time.perf_counter() - started)
        if passes in (BASELINE, 100, 500):
            sizes[passes] = state_size(timed, instance_id)
    check_pass(timed, instance_id, kind, 500)
    early, late = statistics.median(times[5:25]), statistics.median(times[-20:])
    with capsys.disabled():
        print(
            f"\n{kind}: state {sizes} B by pass; median step {early * 1000:.1f} ms at "
            f"passes 6-25, {late * 1000:.1f} ms at passes 481-500"
        )
    assert sizes[500] <= sizes[BASELINE] + SLACK, sizes
