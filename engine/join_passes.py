"""Parallel and inclusive joins inside a loop see the arrivals of the pass they are in.

SpiffWorkflow 3.2 decides whether a join may fire, and merges the branches' data, from every
task of the join's element in the tree: those of earlier passes through a loop too, as long as
they are still in the tree (a loop that runs several passes in one step, or a tree re-rooted
at an earlier pass's join). An inclusive join then fired as soon as the first branch of its
third pass arrived (the earlier passes' arrivals counted as the others), so the loop ran the
rest of its pass twice, and once the tree was re-rooted at such a join it failed with
"'NoneType' object has no attribute 'state'" on no element. A parallel join merged the stale
data of an earlier pass's arrival over the branch's own: a counter a branch raised went back.

Here the arrivals that count are the tasks of the join below its previous firing on the path
to this task (the pass this task belongs to); the tasks of the join above it, and the other
arrivals of earlier passes, are history.
"""

from __future__ import annotations

import weakref
from typing import Any

from SpiffWorkflow.util.task import TaskState


def previous_firing(spec: Any, my_task: Any) -> Any | None:
    """The nearest task above ``my_task`` of the same join: where this pass began."""
    node = my_task.parent
    while node is not None:
        if node.task_spec == spec:
            return node
        node = node.parent
    return None


def this_pass(spec: Any, my_task: Any, tasks: Any) -> list[Any]:
    """The tasks among ``tasks`` of the join ``spec`` that belong to ``my_task``'s pass: not
    above it, and below its previous firing when there was one."""
    above = set()
    node = my_task.parent
    while node is not None:
        above.add(node.id)
        node = node.parent
    start = previous_firing(spec, my_task)
    return [
        task
        for task in tasks
        if task.task_spec == spec
        and task.id not in above
        and (start is None or _below(task, start))
    ]


def _below(task: Any, ancestor: Any) -> bool:
    node = task.parent
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def parallel_may_fire(spec: Any, my_task: Any) -> bool:
    """SpiffWorkflow's parallel join threshold over this pass's arrivals only. A branch that
    loops back into the join (a flow from after it, as SpiffWorkflow's own examples draw a
    loop) arrives on a later pass, after the join fired: the flows that first came in, which
    no path from the join leads to, cannot come again and are not waited for. SpiffWorkflow
    let such a pass through by finding those flows above the branches it had predicted below
    the join; once pruning had cut the earlier pass and those predictions, the join waited for
    good and the instance stood still with nothing to do."""
    waiting_inputs = set(spec.inputs)
    again, entering = _loop_inputs(spec, my_task.workflow.spec)
    if my_task.parent is not None and my_task.parent.task_spec in again - entering:
        waiting_inputs &= again
        waiting_inputs &= _still_reachable(spec, my_task)
    for task in this_pass(spec, my_task, my_task.workflow.tasks.values()):
        if task is not my_task and task.is_descendant_of(my_task):
            node = task  # a later pass predicted below: it will not arrive before this fires
            while node is not None and node.task_spec not in waiting_inputs:
                node = node.parent
            if node is not None:
                waiting_inputs.discard(node.task_spec)
        elif task.parent is not None and task.parent.state == TaskState.COMPLETED:
            waiting_inputs.discard(task.parent.task_spec)
    return not waiting_inputs


_LOOP_INPUTS: weakref.WeakKeyDictionary[Any, tuple[set[Any], set[Any]]] = (
    weakref.WeakKeyDictionary()
)


def _loop_inputs(spec: Any, process: Any) -> tuple[set[Any], set[Any]]:
    """The join's inputs some path from the join leads back to, and those a path from the
    process's start reaches without passing the join (computed once per join)."""
    if spec not in _LOOP_INPUTS:
        inputs = set(spec.inputs)
        again = _reachable(spec.outputs, stop=None) & inputs
        entering = _reachable([process.start], stop=spec) & inputs
        _LOOP_INPUTS[spec] = (again, entering)
    return _LOOP_INPUTS[spec]


def _still_reachable(spec: Any, my_task: Any) -> set[Any]:
    """The task specs some live task (ready, waiting or started, not of the join) leads to
    without passing the join. A loop's pass waits only for the loop flows a branch may still
    take: when a gateway after the join chose the loop back into it, the flows of a wider
    loop it did not choose (back before the split) come on no branch, and waiting for them
    stopped the instance with nothing to do."""
    live = [
        task.task_spec
        for task in my_task.workflow.tasks.values()
        if task.task_spec is not spec
        and task.has_state(TaskState.READY | TaskState.WAITING | TaskState.STARTED)
    ]
    return _reachable(live, stop=spec)


def _reachable(first: Any, stop: Any) -> set[Any]:
    """The task specs some path of outputs leads to from ``first``, not going on past
    ``stop``."""
    found: set[Any] = set()
    stack = list(first)
    while stack:
        each = stack.pop()
        if each in found:
            continue
        found.add(each)
        if each is not stop:
            stack.extend(each.outputs)
    return found


def inclusive_may_fire(spec: Any, my_task: Any) -> bool:
    """SpiffWorkflow's inclusive join threshold over this pass's arrivals only: fire once no
    live task can still reach an input that has not arrived."""
    workflow = my_task.workflow
    arrivals = this_pass(spec, my_task, workflow.tasks.values())
    stale = {task.id for task in workflow.tasks.values() if task.task_spec == spec} - {
        task.id for task in arrivals
    }
    sources = []
    stack = [workflow.task_tree]
    while stack:  # live tasks, not looking past this pass's arrivals
        task = stack.pop()
        if task.task_spec == spec and task.id not in stale:
            continue
        if task.has_state(TaskState.READY | TaskState.WAITING):
            sources.append(task.task_spec)
        stack.extend(task.children)
    completed = {
        task.parent.task_spec
        for task in arrivals
        if task.parent is not None and task.parent.state == TaskState.COMPLETED
    }
    for task in arrivals:
        if (
            task.parent.has_state(TaskState.DEFINITE_MASK)
            and task.parent.task_spec not in completed
        ):
            return False
    checked: list[Any] = []

    def source_of(each: Any) -> Any:
        checked.append(each)
        for parent in each.inputs:
            if parent not in checked:
                return parent if parent in sources else source_of(parent)
        return None

    for each in completed:
        source = source_of(each)
        if source is not None:
            sources.remove(source)
    return all(source_of(each) is None for each in spec.inputs if each not in completed)
