"""What interrupts an activity with open work inside ends all of it.

A boundary timer, message, signal, error or escalation on a (multi-instance) embedded
subprocess or call activity, an interrupting event subprocess around it, a terminate end event
inside one of its instances and ``POST …/terminate``: afterwards none of the interrupted work
is left in the inbox, in ``event_waits`` or under way in the stored state, no note of a
cancelled branch is written later, and the instance goes on along the interrupt's path.
"""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.models import EventWait, ProcessInstance, WorkItem
from engine.models.work_items import WorkItemStatus
from tests.engine.conftest import Timed, notes_of, only, refused
from tests.engine.interrupt_diagrams import diagram

INSIDE = {
    "work",
    "inner_start",
    "call_one",
    "remind",
    "remind_note",
    "replied",
    "route",
    "write_note",
    "inner_end",
    "thrown_end",
}
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
ACTIVITIES = [
    ("subprocess", "parallel"),
    ("subprocess", "sequential"),
    ("call", "parallel"),
    ("call", "sequential"),
    ("subprocess", None),
    ("call", None),
]
IDS = [f"{kind}-{multi or 'single'}" for kind, multi in ACTIVITIES]
# with a standard loop (three passes) too: a pass is a child of the loop's task as well
OUTSIDE = [*ACTIVITIES, ("subprocess", "loop"), ("call", "loop")]
OUTSIDE_IDS = [*IDS, "subprocess-loop", "call-loop"]


def deploy(timed: Timed, text: str) -> None:
    response = timed.owner.upload(extra=[("interrupts.bpmn", text.encode())])
    assert response.status_code in (200, 201), response.get_json()


def start(timed: Timed, make_customer: Any, multi: str | None) -> tuple[dict, list[int]]:
    several = multi in ("parallel", "sequential")
    customers = [make_customer().id for _ in range(3 if several else 1)]
    data = {"customers": customers} if several else {"customer_id": customers[0]}
    started = timed.agent.start("interrupts", data, business_key="bk-1")
    assert (started["status"], started["incidents"]) == ("running", []), started
    return started, customers


def open_items(timed: Timed, instance_id: int) -> list[str]:
    with timed.runtime.db.unit_of_work() as session:
        return sorted(
            session.scalars(
                select(WorkItem.element_id).where(
                    WorkItem.instance_id == instance_id, WorkItem.status == WorkItemStatus.OPEN
                )
            )
        )


def waits(timed: Timed, instance_id: int) -> list[tuple[str, str | None]]:
    with timed.runtime.db.unit_of_work() as session:
        rows = session.execute(
            select(EventWait.kind, EventWait.name).where(EventWait.instance_id == instance_id)
        ).all()
    return sorted((kind, name) for kind, name in rows)


def live_elements(timed: Timed, instance_id: int) -> set[str]:
    """The elements with a task under way or waiting in the stored state, the workflows of
    every subprocess and called process it keeps included."""
    engine = timed.runtime.engine
    with timed.runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        bundle = engine.specs.for_version(session, row.version_id)
        spec, subprocess_specs = bundle.spec(row.process_id)
        workflow = engine.codec.decode(row.state, spec, subprocess_specs)
    live = set()
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            if task.has_state(_LIVE):
                live.add(getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name)
    return live


def call_tasks(timed: Timed, instance_id: int) -> list[dict[str, Any]]:
    return [
        t
        for t in timed.agent.tasks()
        if t["name"] == "call_one" and t["process_instance_id"] == instance_id
    ]


def assert_nothing_left_inside(timed: Timed, instance_id: int, customers: list[int]) -> None:
    assert "call_one" not in open_items(timed, instance_id)
    assert call_tasks(timed, instance_id) == []
    assert waits(timed, instance_id) == []
    assert live_elements(timed, instance_id) & INSIDE == set()


def step_count(timed: Timed, instance_id: int) -> int:
    with timed.runtime.db.unit_of_work() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        return row.step_count


def assert_quiet_later(timed: Timed, db: Any, instance_id: int, customers: list[int]) -> None:
    """Days later no timer of the cancelled work fires and no message reaches it."""
    steps = step_count(timed, instance_id)
    timed.advance(days=3)
    assert step_count(timed, instance_id) == steps
    reply = timed.agent.post("/api/v1/messages", json={"name": "reply", "business_key": "bk-1"})
    assert reply.status_code == 404, reply.get_json()
    for customer in customers:
        assert not any(n.startswith("reminder") for n in notes_of(db, customer))


def finish_after(timed: Timed, instance_id: int) -> dict[str, Any]:
    after = [t for t in timed.agent.tasks() if t["process_instance_id"] == instance_id]
    assert [t["name"] for t in after] == ["after"], after
    done = timed.agent.complete_ok(after[0]["id"])
    assert (done["status"], done["incidents"]) == ("completed", []), done
    return done


def first_call(timed: Timed, instance_id: int) -> dict[str, Any]:
    tasks = call_tasks(timed, instance_id)
    assert tasks
    return tasks[0]


@pytest.mark.parametrize(("kind", "multi"), OUTSIDE, ids=OUTSIDE_IDS)
@pytest.mark.parametrize("interrupt", ["timer", "message", "signal", "event_subprocess"])
def test_an_interrupt_from_outside_ends_all_work_inside(
    timed, make_customer, db, kind, multi, interrupt
):
    event_subprocess = interrupt == "event_subprocess"
    deploy(
        timed,
        diagram(
            kind,
            multi=multi,
            boundary=None if event_subprocess else interrupt,
            event_subprocess="message" if event_subprocess else None,
        ),
    )
    started, customers = start(timed, make_customer, multi)
    instance_id = started["id"]
    opened = 3 if multi == "parallel" else 1
    assert len(call_tasks(timed, instance_id)) == opened
    inside_waits = [("message", "reply"), ("timer", "remind")] * opened
    expected = {
        "timer": [("timer", "interrupt")],
        "message": [("message", "stop_work")],
        "signal": [("signal", "stop_signal")],
    }
    outside = expected.get(interrupt, [])
    if event_subprocess:
        outside = [("message", "stop_work")]
    assert waits(timed, instance_id) == sorted(inside_waits + outside)

    if interrupt == "timer":
        assert timed.advance(hours=1) == 1
    elif interrupt in ("message", "event_subprocess"):
        sent = timed.agent.post(
            "/api/v1/messages", json={"name": "stop_work", "business_key": "bk-1"}
        )
        assert sent.status_code == 202, sent.get_json()
    else:
        stop = only(timed.agent.tasks(), name="stop")
        timed.agent.complete_ok(stop["id"])

    state = timed.owner.instance(instance_id)
    assert (state["status"], state["incidents"]) == ("running", []), [
        (i["kind"], i["message"]) for i in state["incidents"]
    ]
    assert_nothing_left_inside(timed, instance_id, customers)
    assert open_items(timed, instance_id) == ["after"]
    finish_after(timed, instance_id)
    assert_quiet_later(timed, db, instance_id, customers)
    for customer in customers:
        assert notes_of(db, customer) == []


@pytest.mark.parametrize(("kind", "multi"), ACTIVITIES, ids=IDS)
@pytest.mark.parametrize(
    ("thrown", "caught_by"),
    [("error", "error"), ("escalate", "escalation"), ("error", "event_subprocess")],
)
def test_an_error_or_escalation_from_one_instance_ends_all_work_inside(
    timed, make_customer, db, kind, multi, thrown, caught_by
):
    """Thrown by an end event inside one instance, caught by a boundary event on the activity
    or by an error event subprocess of the process around it."""
    if caught_by == "event_subprocess":
        text = diagram(kind, multi=multi, throw=thrown, event_subprocess="error", prelude=True)
    else:
        text = diagram(kind, multi=multi, boundary=caught_by, throw=thrown, prelude=True)
    deploy(timed, text)
    started, customers = start(timed, make_customer, multi)
    instance_id = started["id"]
    if multi is not None:  # one instance ends well first
        done = timed.agent.complete_ok(first_call(timed, instance_id)["id"], {"outcome": "ok"})
        assert done["incidents"] == []
    task = first_call(timed, instance_id)
    thrown_at = task
    timed.agent.complete_ok(thrown_at["id"], {"outcome": thrown})

    state = timed.owner.instance(instance_id)
    assert (state["status"], state["incidents"]) == ("running", []), [
        (i["kind"], i["message"]) for i in state["incidents"]
    ]
    assert_nothing_left_inside(timed, instance_id, customers)
    assert open_items(timed, instance_id) == ["after"]
    finish_after(timed, instance_id)
    assert_quiet_later(timed, db, instance_id, customers)
    # each instance that started noted it; the one that ended well noted its call; an
    # instance after the failing one of a sequential activity never started
    notes = {c: notes_of(db, c) for c in customers}
    if multi is None:
        assert notes == {customers[0]: [f"preparing {customers[0]}"]}
    elif multi == "parallel":
        written = [c for c in customers if len(notes[c]) == 2]
        assert len(written) == 1
        assert notes[written[0]] == [f"preparing {written[0]}", f"called {written[0]}"]
        assert all(notes[c] == [f"preparing {c}"] for c in customers if c not in written)
    else:
        first, second, third = customers
        assert notes == {
            first: [f"preparing {first}", f"called {first}"],
            second: [f"preparing {second}"],
            third: [],
        }


@pytest.mark.parametrize(("kind", "multi"), ACTIVITIES, ids=IDS)
def test_a_terminate_end_event_ends_only_its_own_instance(timed, make_customer, db, kind, multi):
    """BPMN: a terminate end event ends the (sub)process instance it is in; inside an instance
    of a multi-instance subprocess that instance only, and the activity goes on."""
    deploy(timed, diagram(kind, multi=multi, throw="terminate"))
    started, customers = start(timed, make_customer, multi)
    instance_id = started["id"]
    task = first_call(timed, instance_id)
    after = timed.agent.complete_ok(task["id"], {"outcome": "terminate"})
    assert after["incidents"] == []
    if multi is None:
        assert after["status"] == "completed"
        assert_nothing_left_inside(timed, instance_id, customers)
        assert_quiet_later(timed, db, instance_id, customers)
        assert notes_of(db, customers[0]) == []
        return
    left = 2 if multi == "parallel" else 1
    assert len(call_tasks(timed, instance_id)) == left
    assert waits(timed, instance_id) == sorted([("message", "reply"), ("timer", "remind")] * left)
    for _ in range(2):
        task = first_call(timed, instance_id)
        result = timed.agent.complete_ok(task["id"], {"outcome": "ok"})
    assert (result["status"], result["incidents"]) == ("completed", []), result
    assert_nothing_left_inside(timed, instance_id, customers)
    assert_quiet_later(timed, db, instance_id, customers)
    assert sum(1 for c in customers if notes_of(db, c)) == 2


@pytest.mark.parametrize(("kind", "multi"), ACTIVITIES, ids=IDS)
def test_terminating_the_instance_ends_all_work_inside(timed, make_customer, db, kind, multi):
    deploy(timed, diagram(kind, multi=multi))
    started, customers = start(timed, make_customer, multi)
    instance_id = started["id"]
    response = timed.owner.post(f"/api/v1/process-instances/{instance_id}/terminate")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "terminated"
    assert_nothing_left_inside(timed, instance_id, customers)
    assert open_items(timed, instance_id) == []
    assert_quiet_later(timed, db, instance_id, customers)
    for customer in customers:
        assert notes_of(db, customer) == []


def test_a_non_interrupting_error_boundary_event_is_refused(owner):
    """BPMN's error boundary events always interrupt; one marked otherwise deployed, and its
    path ran beside an activity that went on after the error (a failing task's error it did
    not catch at all)."""
    text = diagram("subprocess", multi="parallel", boundary="error", throw="error")
    marked = text.replace(
        '<bpmn:boundaryEvent id="interrupt" attachedToRef="work">',
        '<bpmn:boundaryEvent id="interrupt" attachedToRef="work" cancelActivity="false">',
    )
    assert marked != text
    details = refused(owner.upload(extra=[("interrupts.bpmn", marked.encode())]))
    [detail] = [d for d in details if d["element_id"] == "interrupt"]
    assert "error boundary events always interrupt" in detail["message"]
    assert 'remove cancelActivity="false"' in detail["message"]
    lines = marked.splitlines()
    assert detail["line"] == 1 + next(i for i, line in enumerate(lines) if 'id="interrupt"' in line)

    # an escalation boundary event may go on beside the activity
    escalation = diagram("subprocess", multi="parallel", boundary="escalation", throw="escalate")
    beside = escalation.replace(
        '<bpmn:boundaryEvent id="interrupt" attachedToRef="work">',
        '<bpmn:boundaryEvent id="interrupt" attachedToRef="work" cancelActivity="false">',
    )
    response = owner.upload(extra=[("interrupts.bpmn", beside.encode())])
    assert response.status_code in (200, 201), response.get_json()
