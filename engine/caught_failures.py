"""A failing service or script task's failure, thrown as a BPMN error at the task.

A handler or script that fails is an incident to retry, unless a catch around the task takes
it (Camunda's job workers, IBM BAW and spiff-arena route such a failure there too): the
failure is thrown as a BPMN error at the task and goes to the innermost catch around it, by
the rules of errors thrown by end events (``engine.event_subprocesses.closest_catchers``):

* an interrupting error boundary event on the task itself, or on the multi-instance or loop
  activity one of whose instances failed (all instances are cancelled with it);
* else one on the embedded subprocess around it, or the interrupting event subprocess with
  an error start event of that scope, and so on outwards;
* from a called process, the call activity's boundary event (or an event subprocess around
  it) once nothing inside the called process catches it.

A catch whose error has no code (or no error at all) catches any failure; one with an
``errorCode`` catches only a failure with that code (a handler's ``HandlerError(code=...)``,
a script's ``fail(code, message)``) and, beside a catch-all, wins. The failed task is
cancelled (it is held as under way while the step runs, so what interrupts it cancels it)
and the catch's path runs in the same step. In the task's process the path gets the data
the task (or the multi-instance activity) had before it ran, plus ``error_code`` (or null)
and ``error_message``, and the failure's own data (``HandlerError(data=...)``, a script's
``fail(code, message, data)``) over it; across a call activity only those (``thrower_data``).
A failed handler's CRM writes were already undone with its savepoint. The stepper asks only
once the task's automatic retries are spent, and audits each caught failure
(``audit_entry``).

SpiffWorkflow 3.2 relied on: ``BpmnWorkflow.catch`` offers an event to every waiting catch
of the instance whose ``catches`` is true, calls its ``catch`` and updates it (a boundary
event or listener becomes READY in that call, and an interrupting listener cancels the rest
of its scope when it does); events match by definition class and code
(``CodeEventDefinition.__eq__``), so the event uses the class the parser gives error events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition as SpiffErrorEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from crm import audit
from crm.models import User
from engine.event_subprocesses import ERROR_DATA, closest_catchers, failed_activity, throwing
from engine.interrupts import cancel_activity
from engine.scripting import ScriptFailed, ServiceTaskFailed
from engine.zeebe_tasks import JOB_RESULT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaughtFailure:
    """A failure a catch took: where, with which code and message, and by what."""

    task_id: str
    element_id: str
    code: str | None
    message: str
    caught_by: list[str]


def catch_failure(exc: Exception) -> CaughtFailure | None:
    """Throw the failure of ``exc.task`` (held as under way) as a BPMN error at it; what
    caught it, or ``None`` when nothing does (then it is an incident)."""
    task = getattr(exc, "task", None)
    if task is None:
        return None
    activity = failed_activity(task)
    if activity is None:
        return None
    code, message = _code_and_message(exc)
    data = _error_data(exc)
    # not the job's variables a post-script failed over (a Camunda 7 error's throw): kept
    # only until the outputs are read from them (``zeebe_tasks.JOB_RESULT``)
    held = {key: value for key, value in activity.data.items() if key != JOB_RESULT}
    payload = {**deepcopy(held), **data, "error_code": code, "error_message": message}
    # The class the parser gives error events: SpiffWorkflow matches events by class and code.
    event = BpmnEvent(SpiffErrorEventDefinition("failure", code=code), payload=payload)
    setattr(event, ERROR_DATA, sorted(data))  # they cross a call activity with the code
    top = task.workflow.top_workflow
    with throwing(task):
        catchers = closest_catchers(task, event)
        if not catchers:
            return None
        top.catch(event)  # the catchers' own ``catches`` admit only these (``throwing``)
    caught = [t for t in catchers if t.has_state(TaskState.READY | TaskState.COMPLETED)]
    if not caught:
        return None
    _interrupt(task, caught)
    names = [t.task_spec.bpmn_id or t.task_spec.name for t in caught]
    element = activity.task_spec.bpmn_id or activity.task_spec.name
    log.info("failure at %s caught by %s: %s", element, ", ".join(names), message)
    return CaughtFailure(str(task.id), element, code, message, names)


def _interrupt(task: Any, caught: list[Any]) -> None:
    """Cancel the failed task, and at once the activity each boundary event that caught its
    failure interrupts, with all that runs inside it (``engine.interrupts.cancel_activity``:
    the instances of a multi-instance activity and their subprocesses too). SpiffWorkflow 3.2
    cancels the activity only when the boundary event's task runs (``BoundaryEventJoin``), so
    READY tasks inside it, such as the next instances of a multi-instance activity, ran first.
    An event subprocess's listener cancelled the rest of its scope as it caught
    (``EventSubprocessStart``)."""
    task.cancel()
    for catcher in caught:
        split = catcher.parent
        if not isinstance(catcher.task_spec, BoundaryEvent) or split is None:
            continue
        for activity in split.children:
            if not isinstance(activity.task_spec, BoundaryEvent):
                cancel_activity(activity)


def audit_entry(caught: CaughtFailure, actor: User | None) -> Callable[[Any], dict[str, Any]]:
    """The audit entry of a caught failure, for ``Step.audit`` (written with the step)."""
    return lambda row: audit.entry_values(
        actor=actor,
        action="failure_caught",
        entity_type="process_instance",
        entity_id=row.id,
        after={
            "element_id": caught.element_id,
            "task_id": caught.task_id,
            "error_code": caught.code,
            "error_message": caught.message[:4000],
            "caught_by": caught.caught_by,
        },
    )


def _error_data(exc: Exception) -> dict[str, Any]:
    """The data a handler's ``HandlerError(data=...)`` or a script's ``fail(code, message,
    data)`` gives the catch's path."""
    if isinstance(exc, ServiceTaskFailed):
        return deepcopy(exc.data)
    cause = exc.__cause__ or exc.__context__
    return deepcopy(cause.data) if isinstance(cause, ScriptFailed) else {}


def _code_and_message(exc: Exception) -> tuple[str | None, str]:
    if isinstance(exc, ServiceTaskFailed):
        return exc.code, str(exc)
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ScriptFailed):
        return cause.code, cause.message
    if cause is not None:
        return None, f"{type(cause).__name__}: {cause}"
    if isinstance(exc, WorkflowTaskException):
        return None, str(exc).strip()
    return None, f"{type(exc).__name__}: {exc}"
