"""A failing service task or script task whose error boundary event catches the failure.

A handler or script that fails is an incident to retry, unless an interrupting error boundary
event is attached to that very task and catches it (Camunda's job workers, IBM BAW and
spiff-arena route such a failure there too): then the failure is thrown as a BPMN error at
the task, the boundary event takes it through SpiffWorkflow's own catch, the task is
cancelled and the boundary's path runs in the same step. A boundary whose error has no code
(or no error at all) catches any failure; one with an ``errorCode`` catches only a failure
with that code (a handler's ``HandlerError(code=...)``, a script's ``fail(code, message)``)
and, beside a catch-all, wins (``boundaries.outranked``). The path gets the data the task
had before it ran, plus ``error_code`` (or null) and ``error_message``. A failed handler's
CRM writes were already undone with its savepoint. The stepper asks only once the task's
automatic retries are spent.
"""

from __future__ import annotations

import logging
from copy import deepcopy

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition as SpiffErrorEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.boundaries import THROWN_WITH, outranked
from engine.scripting import ScriptFailed, ServiceTaskFailed

log = logging.getLogger(__name__)


def catch_failure(exc: Exception) -> bool:
    """Throw the failure of ``exc.task`` (held as under way, so that what interrupts it can
    cancel it) to an interrupting error boundary event on it; whether one caught it."""
    task = getattr(exc, "task", None)
    if task is None or not isinstance(task.task_spec, ServiceTask | ScriptTask):
        return False
    split = task.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return False  # no boundary events (or an instance of a multi-instance task)
    code, message = _code_and_message(exc)
    payload = {**deepcopy(task.data), "error_code": code, "error_message": message}
    # The class the parser gives error events: SpiffWorkflow matches events by class and code.
    event = BpmnEvent(SpiffErrorEventDefinition("failure", code=code), payload=payload)
    catchers = [
        boundary
        for boundary in split.children
        if isinstance(boundary.task_spec, BoundaryEvent)
        and boundary.task_spec.cancel_activity
        and isinstance(boundary.task_spec.event_definition, ErrorEventDefinition)
        and boundary.task_spec.catches(boundary, event)
        and not outranked(boundary, event)
    ]
    if not catchers:
        return False
    boundary = catchers[0]
    boundary.task_spec.catch(boundary, event)
    boundary.internal_data[THROWN_WITH] = payload  # its path's data (``RepeatingBoundaryEvent``)
    boundary.task_spec._update(boundary)
    log.info(
        "failure at %s caught by %s: %s",
        task.task_spec.bpmn_id,
        boundary.task_spec.bpmn_id,
        message,
    )
    return boundary.state == TaskState.READY


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
