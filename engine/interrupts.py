"""What an interrupt cancels: an activity and everything under way inside it.

SpiffWorkflow 3.2 cancels a task with ``Task.cancel``: the task is marked cancelled, its
unfinished children are removed from the tree (``_drop_children``) *without* their own
``_on_cancel``, and only then the task's spec hears of it. For most activities nothing is
lost: a subprocess or call activity cancels its own workflow in its ``_on_cancel``. But the
instances of a multi-instance (or standard loop) activity are children of the activity's
task, so cancelling the activity dropped them unheard: the workflow of each unfinished
instance of a subprocess or call activity stayed in ``BpmnWorkflow.subprocesses``, cut off
from the tree, its user tasks still READY (work items in the inbox), its timers and messages
still waiting (``event_waits``), and the next engine step failed looking for its parent task
("A task with id … was not found", an incident on no element). By the same drop, a waiting
catch event among the children (an instance of a multi-instance receive task) would stay in
the event manager's list of waits until the next load.

``cancel_activity`` cancels every unfinished task under the task first, deepest first, each
with its spec's ``_on_cancel`` (a subprocess instance cancels its workflow, a catch event
stops waiting), then the task itself, and silences the cancelled workflows
(``_stay_cancelled``). Every interrupt goes through it:

* an interrupting boundary event (timer, message, signal, error, escalation) when it runs
  (``InterruptingBoundaryEventJoin``, the join SpiffWorkflow puts after an activity with
  boundary events), and a caught task failure at once (``engine.caught_failures``);
* an interrupting event subprocess cancelling the rest of its scope
  (``engine.event_subprocesses``).

What a non-interrupting boundary event already started is no part of its activity: a cycle
timer's paths hang below its waiting task, and go on when the join ends that wait
(``stop_waiting``) instead of cancelling it.

A terminate end event and ``POST …/terminate`` (``BpmnWorkflow.cancel``) list every
unfinished task of the workflow, the instances and what runs in them included, before
cancelling each one, so they already cancel everything; a terminate end event inside a
subprocess ends that subprocess instance only, as BPMN says (within a multi-instance
activity: that instance, and the activity goes on with the others).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

# A boundary event's child that no firing started: predicted, or FUTURE below a reset wait.
NOT_STARTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


def cancel_activity(task: Any) -> None:
    """Cancel ``task`` and every unfinished task under it, each with its ``_on_cancel``
    (see the module's docstring); finished tasks stay as they are."""
    below = []  # in tree order: each task before the tasks under it
    stack = [task]
    while stack:
        current = stack.pop()
        below.append(current)
        stack.extend(reversed(current.children))
    # the tasks under a task first, so that they are still in the tree when cancelled
    cancelled = []
    for inner in reversed(below):
        if inner.has_state(TaskState.NOT_FINISHED_MASK):
            inner.cancel()
            cancelled.append(inner)
    _stay_cancelled(task.workflow.top_workflow, cancelled)


def _stay_cancelled(top: Any, cancelled: list[Any]) -> None:
    """Silence the workflows of the cancelled subprocess and call activity tasks, and of those
    nested in them. A cancelled workflow counts as completed, and SpiffWorkflow 3.2 announces
    its completion again whenever one of its tasks completes (``_task_completed_notify``): an
    error end event whose throw cancelled its own instance completed after that, and its
    instance task, cancelled, was set READY and ran (a sequential multi-instance activity
    then started its next instance)."""
    todo = [top.subprocesses[t.id] for t in cancelled if t.id in top.subprocesses]
    while todo:
        workflow = todo.pop()
        workflow.completed_event.disconnect_all()
        todo += [top.subprocesses[i] for i in workflow.tasks if i in top.subprocesses]


class InterruptingBoundaryEventJoin(BoundaryEventJoin):
    """The join after an activity with boundary events: when an interrupting one ran, the
    activity is cancelled with everything inside it (``cancel_activity``), as are the
    boundary events still waiting once the activity is over, but for the paths a repeating
    one already started (``stop_waiting``)."""

    def _check_threshold_structured(self, my_task: Any) -> tuple[bool, list[Any]]:
        finished, cancel = self._threshold(my_task)
        for task in cancel:
            if started_paths(task):
                stop_waiting(task)
            else:
                cancel_activity(task)
        return finished, []

    def _threshold(self, my_task: Any) -> tuple[bool, list[Any]]:
        """SpiffWorkflow's test, over the split's children the split's element draws: a
        boundary event a move to a version without it ended stays below the split, and
        SpiffWorkflow took any child that is no boundary event of this version (after
        decoding, such an event's task has no element) for the activity."""
        split_task = my_task.find_ancestor(self.split_task)
        if split_task is None:
            return super()._check_threshold_structured(my_task)  # raises "not reached"
        drawn = split_task.task_spec.outputs
        main, interrupting, noninterrupting = None, [], []
        for task in split_task.children:
            if task.task_spec not in drawn:
                continue
            if not isinstance(task.task_spec, BoundaryEvent):
                main = task
            elif task.task_spec.cancel_activity:
                interrupting.append(task)
            else:
                noninterrupting.append(task)
        if main is None:
            return super()._check_threshold_structured(my_task)  # raises "no main task"
        interrupt = any(t.has_state(TaskState.READY | TaskState.COMPLETED) for t in interrupting)
        if not (main.has_state(TaskState.FINISHED_MASK) or interrupt):
            return False, []
        cancel = [t for t in interrupting + noninterrupting if t.state == TaskState.WAITING]
        return True, [*cancel, main] if interrupt else cancel


def started_paths(task: Any) -> list[Any]:
    """The paths a waiting boundary event already started below itself: a non-interrupting
    cycle timer adds one child per firing and waits on (SpiffWorkflow 3.2); predicted
    children are no path, nor are the FUTURE ones a move predicts below a wait it reset."""
    if not isinstance(task.task_spec, BoundaryEvent) or task.task_spec.cancel_activity:
        return []
    return [child for child in task.children if not child.has_state(NOT_STARTED)]


def stop_waiting(task: Any) -> None:
    """End the wait of a boundary event whose paths go on: it fires no more, and is done.
    Cancelling it, as SpiffWorkflow 3.2 does once its activity is over, also cancelled every
    path a non-interrupting cycle timer had started (the reminders it opened left the inbox
    when the activity completed or another boundary event interrupted it)."""
    task.workflow.top_workflow.event_manager.remove_task(task)
    task.internal_data.pop("event_value", None)
    for child in list(task.children):
        if child.has_state(NOT_STARTED):
            child.cancel()
    task._set_state(TaskState.COMPLETED)


def interrupting_joins(spec: Any) -> None:
    """Give every boundary event join of ``spec`` the class above."""
    for task_spec in spec.task_specs.values():
        if type(task_spec) is BoundaryEventJoin:
            task_spec.__class__ = InterruptingBoundaryEventJoin
