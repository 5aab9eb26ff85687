"""The limit on what a step may leave in an instance's state (``Settings.max_instance_state``).

Only what the API is sent was capped (1 MB a body): a script that appends to a list in a
loop, or a handler that returns a whole report, grew an instance's state without bound, and
every later step read and wrote all of it. ``stepper.save`` compares the state it has just
encoded for storing (its length is known there: nothing is serialized twice) with the limit;
a step over it raises :class:`StateTooLarge`, naming the task whose data grew the most in the
step (measured only then). ``stepper.run`` keeps the step out (:func:`keep_out`): the writes
its handlers made are undone with the step's savepoint (opened before its first writing
handler, ``scripting.StepScriptEngine.call_service``), nothing else of it is stored (its
state, work items, messages, audit entries), and the instance stays as it was before the
step, in error, with a ``data_too_large`` incident on that task. A retry after a fix (the
diagram, by a migration, or the data) runs again from there: the person's task is open
again, a due timer fires. A new instance's first step has nothing to stay at: its start is
refused (422) and nothing is stored. A message whose step is kept out is refused by that
instance (``messages.offer``), which is left as it was, without an incident (``Step.refuses``,
:func:`undo`), whether other instances take the message or not; refused by every candidate,
the sender gets the 422 and nothing is stored. A signal is refused alike: that instance is not
among those the broadcast reached, and still waits for it. A timer start that would is
skipped (logged) and its schedule goes on, so it does not hold up the other timer starts.
A migration whose step would is refused (``migration.migrate`` raises it, a bulk move lists
the instance as refused): the instance stays on its version, as it was.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from dialflow.errors import InvalidInput
from engine import webhook_events
from engine.models import Incident, InstanceStatus

_SIZE_OPTIONS = orjson.OPT_NON_STR_KEYS


class StateTooLarge(InvalidInput):
    code = "instance_data_too_large"

    def __init__(self, message: str, *, task_id: str | None, element_id: str | None) -> None:
        super().__init__(
            message, details=[{"field": "data", "message": message, "element_id": element_id}]
        )
        self.task_id = task_id
        self.element_id = element_id


def too_large(workflow: Any, size: int, limit: int) -> StateTooLarge:
    """The error for a state of ``size`` characters, on the task whose data grew the most."""
    task, growth = grower(workflow)
    element = (task.task_spec.bpmn_id or task.task_spec.name) if task is not None else None
    where = f"; {element!r} added the most ({growth:,} characters)" if element else ""
    return StateTooLarge(
        f"the instance's data grew to {size:,} characters in one step, over the limit of "
        f"{limit:,} (DIALFLOW_MAX_INSTANCE_STATE){where}. Nothing of the step was kept; keep "
        "large data in the CRM, fix the diagram (or the data) and retry",
        task_id=str(task.id) if task is not None else None,
        element_id=element,
    )


def grower(workflow: Any) -> tuple[Any, int]:
    """The task whose data is the most larger than its parent's, and by how much."""
    sizes: dict[Any, int] = {}

    def size(task: Any) -> int:
        if task.id not in sizes:
            sizes[task.id] = len(orjson.dumps(task.data, default=str, option=_SIZE_OPTIONS))
        return sizes[task.id]

    best, most = None, 0
    for flow in (workflow, *workflow.subprocesses.values()):
        for task in flow.tasks.values():
            parent = task.parent
            growth = size(task) - (size(parent) if parent is not None else 0)
            if growth > most:
                best, most = task, growth
    return best, most


def keep_out(
    engine: Any, session: Session, step: Any, error: StateTooLarge, pending_before: set[Any]
) -> Incident | None:
    """Undo the step and leave the instance as it was before it, in error with an incident;
    for a step whose caller refuses what it took (``step.refuses``: a message, a signal, a
    move), as it was, with none (the caller raises ``step.kept_out``)."""
    undo(engine, session, step, pending_before)
    step.kept_out = error
    if step.refuses:
        return None
    row, now = step.row, step.context.now
    incident = Incident(
        instance_id=row.id,
        task_id=error.task_id,
        element_id=error.element_id,
        kind="data_too_large",
        message=error.message[:4000],
        attempts=1,
        created_at=now,
    )
    session.add(incident)
    row.status = InstanceStatus.ERROR
    row.next_due_at = None  # a due timer fires again when it is retried, not every pass
    row.fire_claimed_until = None
    row.updated_at = now
    session.flush()
    step.incidents = [incident]
    step.open_incident = step.failed = True
    webhook_events.incident_opened(session, row, incident)
    return incident


def undo(engine: Any, session: Session, step: Any, pending_before: set[Any]) -> None:
    """Leave the instance and the session as they were before the step."""
    context = step.context
    if context.savepoint is not None:
        if context.savepoint.is_active:
            context.savepoint.rollback()  # the handlers' writes
        context.savepoint = None
    for obj in list(session.new):  # the step's incidents and queued messages
        if obj not in pending_before:
            session.expunge(obj)
    row = step.row
    if "incidents" in row.__dict__:  # those the step closed stay open
        for earlier in row.incidents:
            session.expire(earlier)
    session.expire(row, ["trail"])
    engine.kept.forget(row.id)  # the oversized workflow is no one's next step
    step.writes.clear()  # the use case's writes (a work item's completion) and audit entries
    step.audit.clear()
