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

A boundary event the new version no longer draws on an activity under way stops waiting
(``drop_removed_boundaries``), as Camunda drops the event subscriptions and timer jobs of
boundary events a migration leaves unmapped: its timer is dropped (one already due does not
fire), its message or signal no longer reaches the instance, and with the last of them the
split above the activity goes too, so that it ends as the new version draws it. The paths a
non-interrupting event already started are no part of the activity and go on, as Camunda
migrates each activity instance on its own: each where its element is in the new version
(a path at an element it lacks blocks the move, as any unfinished task does).
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.diff import migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.interrupts import NOT_STARTED, cancel_activity, started_paths, stop_waiting

UNDER_WAY = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def migrate_tree(diff: Any, workflow: Any, spec: Any) -> None:
    """``migrate_workflow(diff, workflow, spec)``, keeping begun waits and arming new boundary
    events (also of a subprocess or call activity under way). Call it under the step's clock
    (``timekeeping.step_time``), after ``boundary_blockers`` found nothing."""
    begun = _waits_begun(workflow)
    regrow = end_removed_boundaries(workflow, diff)
    held = _hold_paths(workflow)
    migrate_workflow(diff, workflow, spec)
    _put_back(workflow, held)
    _resume(workflow, begun)
    for task in regrow:  # what follows it was predicted through the join the version lacks
        if task.has_state(TaskState.STARTED | TaskState.ERROR):
            task._drop_children()
            task.task_spec._predict(task, mask=task.state | TaskState.PREDICTED_MASK)
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


def removed_boundaries(workflow: Any, diff: Any) -> list[tuple[Any, Any, list[Any]]]:
    """``(split, activity, events)`` for each activity under way (or failed) that the new
    version draws without some of its boundary events: the events' tasks, whatever their
    state, that have no counterpart there."""
    removed = {task.id for task in diff.removed}
    found = []
    for split in workflow.get_tasks(skip_subprocesses=True):
        if not isinstance(split.task_spec, BoundaryEventSplit):
            continue
        activity = next(
            (c for c in split.children if not isinstance(c.task_spec, BoundaryEvent)), None
        )
        if activity is None or not activity.has_state(UNDER_WAY | TaskState.ERROR):
            continue
        events = [c for c in split.children if c is not activity and c.id in removed]
        if events or split.id in removed:
            found.append((split, activity, events))
    return found


def removed_boundary_blockers(workflow: Any, diff: Any) -> list[tuple[Any, Any]]:
    """``(activity, event)`` for the removed boundary events that cannot stop waiting by a
    move: those of a multi-instance or loop activity under way (its instances are the
    children the activity would be predicted again over)."""
    return [
        (activity, event)
        for _split, activity, events in removed_boundaries(workflow, diff)
        if _looping(activity)
        for event in events
    ]


def _looping(activity: Any) -> bool:
    return activity.state == TaskState.STARTED and isinstance(activity.task_spec, LoopTask)


def dropped_on_move(workflow: Any, diff: Any) -> set[Any]:
    """Ids of the tasks of removed boundary events a move ends (they block nothing): their
    waits, and the joins below them that wait for the activity's end."""
    dropped = set()
    for _split, activity, events in removed_boundaries(workflow, diff):
        if _looping(activity):
            continue
        for event in events:
            if event.state == TaskState.WAITING:
                dropped.add(event.id)
            dropped |= {join.id for join in _joins_below(event)}
    return dropped


def _joins_below(event: Any) -> list[Any]:
    return [
        join
        for join in event.children
        if isinstance(join.task_spec, BoundaryEventJoin)
        and join.has_state(TaskState.NOT_FINISHED_MASK)
    ]


def end_removed_boundaries(workflow: Any, diff: Any) -> list[Any]:
    """End the waits of the boundary events the new version no longer draws on activities
    under way: a wait that already started paths (a non-interrupting cycle timer) is done
    and its paths go on (``stop_waiting``), any other is cancelled. Returns the activities
    whose split the new version lacks: what follows a STARTED or failed one was predicted
    through the join it lacks too."""
    removed = {task.id for task in diff.removed}
    regrow = []
    for split, activity, events in removed_boundaries(workflow, diff):
        for event in events:
            for join in _joins_below(event):  # the activity's end was waited for there
                join.cancel()
            if event.state != TaskState.WAITING:
                continue
            if started_paths(event):
                stop_waiting(event)
            else:
                cancel_activity(event)
        if split.id in removed:
            regrow.append(activity)
    return regrow


def _hold_paths(workflow: Any) -> dict[Any, list[Any]]:
    """The paths that waiting catch events started below themselves (a non-interrupting cycle
    timer's firings: its reminders), taken off them while ``migrate_workflow`` resets the
    events: its reset drops every child, and the reminders left the tree on a move."""
    held = {}
    for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
        if not isinstance(task.task_spec, CatchingEvent):
            continue
        paths = [c for c in task.children if not c.has_state(NOT_STARTED)]
        if paths:
            held[task.id] = paths
            for path in paths:
                task._children.remove(path.id)
    return held


def _put_back(workflow: Any, held: dict[Any, list[Any]]) -> None:
    """The held paths below their events again, their ready and waiting tasks reset on the
    new version as ``migrate_workflow`` resets the others."""
    for task_id, paths in held.items():
        task = workflow.tasks.get(task_id)
        if task is None:
            continue
        task._children.extend(path.id for path in paths)
        for path in paths:
            for inner in list(path):
                if inner.id in workflow.tasks and inner.has_state(
                    TaskState.READY | TaskState.WAITING
                ):
                    inner.reset_branch(None)


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
