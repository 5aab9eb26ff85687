"""Moving one (sub)workflow's tree to a new spec: SpiffWorkflow's ``migrate_workflow`` with
what it loses or never builds put right around it.

``migrate_workflow`` resets every READY or WAITING task (``reset_branch``), which drops the
task's internal data: a timer already waiting lost its due time and was started again from
the new version's expression, on the wall clock rather than the step's (a retry due in a
minute was due hours later; a test clock's instance was due in the real present). A wait
begun on the old version goes on as it began when its event is of the same kind in the new
version (a date and a duration are: both hold the due instant), as Camunda keeps a migrated
timer's due date; a message renamed is waited for by its new name.

A task the new version gives boundary events has, in the old tree, no ``BoundaryEventSplit``
above it: the events never waited, and the join after the task failed ("Split … was not
reached") once the task completed. The split is put in above the task, the task keeps its id
(and so its work item, with its claim), and the boundary events begin to wait from the move.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.diff import migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

UNDER_WAY = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def migrate_tree(diff: Any, workflow: Any, spec: Any) -> None:
    """``migrate_workflow(diff, workflow, spec)``, keeping begun waits and arming new boundary
    events (also of a subprocess or call activity under way). Call it under the step's clock
    (``timekeeping.step_time``), after ``boundary_blockers`` found nothing."""
    begun = _waits_begun(workflow)
    migrate_workflow(diff, workflow, spec)
    _resume(workflow, begun)
    for task in list(workflow.get_tasks(state=UNDER_WAY, skip_subprocesses=True)):
        split = gained_boundary_split(task, task.task_spec)
        if split is None:
            continue
        _put_under_split(task, split)
        if task.state == TaskState.STARTED:  # what follows it was predicted from the old spec
            task._drop_children()
            task.task_spec._predict(task, mask=TaskState.STARTED | TaskState.PREDICTED_MASK)


def gained_boundary_split(task: Any, new_spec: Any) -> Any | None:
    """The ``BoundaryEventSplit`` that ``new_spec``, the task's element in the new version,
    has before it when the tree has none above the task (the version it ran on drew no
    boundary events on it)."""
    split = next((s for s in new_spec.inputs if isinstance(s, BoundaryEventSplit)), None)
    parent = task.parent
    if split is None or (parent is not None and parent.task_spec.name == split.name):
        return None
    return split


def boundary_blockers(workflow: Any, diff: Any) -> list[Any]:
    """Tasks under way that the new version gives boundary events and that cannot take them
    on: a multi-instance or loop activity (its instances are the children the split would predict
    over). A subprocess or call activity under way, a task in the inbox or a wait can."""
    return [
        task
        for task in workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True)
        if (new_spec := diff.alignment.get(task)) is not None
        and isinstance(new_spec, LoopTask)
        and gained_boundary_split(task, new_spec) is not None
    ]


def _kind(definition: Any) -> type:
    """Waits of one kind keep what they hold: a date and a duration both hold their due
    instant (a cycle holds its count too)."""
    if isinstance(definition, TimeDateEventDefinition | DurationTimerEventDefinition):
        return TimeDateEventDefinition
    return type(definition)


def _waits_begun(workflow: Any) -> dict[Any, tuple[type, dict[str, Any]]]:
    return {
        task.id: (_kind(task.task_spec.event_definition), deepcopy(task.internal_data))
        for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True)
        if isinstance(task.task_spec, CatchingEvent)
    }


def _resume(workflow: Any, begun: dict[Any, tuple[type, dict[str, Any]]]) -> None:
    for task_id, (kind, internal_data) in begun.items():
        task = workflow.tasks.get(task_id)
        if (
            task is not None
            and task.state == TaskState.WAITING
            and isinstance(task.task_spec, CatchingEvent)
            and _kind(task.task_spec.event_definition) is kind
        ):
            task.internal_data = internal_data


def _put_under_split(task: Any, split_spec: Any) -> None:
    parent = task.parent
    split = Task(task.workflow, split_spec, parent=parent, state=TaskState.COMPLETED)
    split.data = deepcopy(task.data)
    # the split takes the task's place among its parent's children, the task goes under it
    siblings = parent._children
    siblings.remove(split.id)
    siblings[siblings.index(task.id)] = split.id
    split._children.append(task.id)
    task._parent = split.id
    for spec in split_spec.outputs:
        if spec is not task.task_spec:  # as the split predicts, runs and completes them
            event = split._add_child(spec, TaskState.MAYBE)
            spec._predict(event)
            event._set_state(TaskState.WAITING)
            spec._update(event)
