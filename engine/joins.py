"""Parallel and inclusive joins that merge what each branch changed, not each branch's copy.

SpiffWorkflow 3.2 joins branches by merging each branch's whole copy of the data in the order
the branches arrived. A branch that never touched a variable still carries the value it was
given at the split, so the branch that arrives last undid what the others set: a bureau check
setting ``credit_approved = True`` was overwritten by the fraud review's stale ``False`` when
the review finished second, and the business result depended on who finished first.

Here each branch contributes only the variables it changed since the split (the nearest task
the branches share, still in the tree while any branch is live: ``engine.pruning`` cuts each
branch's finished path below it, not the split itself). Where two branches changed the same
variable, the one that arrived later wins, as before. A join whose branches share no task
(nothing to compare with) merges as SpiffWorkflow does. Inside a loop only the arrivals of
the join's own pass count (``engine.join_passes``).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.join_passes import inclusive_may_fire, parallel_may_fire, this_pass


def merge_branches(spec: Any, my_task: Any) -> None:
    """The join's data: the last branch's, with every branch's own changes over it in the
    order the branches arrived (this one's last)."""
    others = sorted(
        (
            task
            for task in this_pass(spec, my_task, my_task.workflow.tasks.values())
            if task is not my_task and task.has_state(TaskState.FINISHED_MASK)
        ),
        key=lambda task: task.last_state_change,
    )
    base = _split_data(my_task, others)
    if base is None:
        UnstructuredJoin._run_hook(spec, my_task)
        return
    my_task._inherit_data()  # this branch's copy, as the join's update gave it
    for task in others:
        if task.parent is not None:
            DeepMerge.merge(my_task.data, _changes(task.parent.data, base))
        if task.has_state(TaskState.COMPLETED):  # as SpiffWorkflow: a branch reset and rerun
            task._drop_children(force=True)
    DeepMerge.merge(my_task.data, _changes(my_task.parent.data, base))


def _split_data(my_task: Any, others: list[Any]) -> dict[str, Any] | None:
    """The data of the nearest task that ``my_task`` and every other arrival descend from."""
    if not others or my_task.parent is None:
        return None
    ancestors: list[Any] = []
    node = my_task.parent
    while node is not None:
        ancestors.append(node)
        node = node.parent
    depth = {id(task): index for index, task in enumerate(ancestors)}
    shared = 0
    for other in others:
        node = other
        while node is not None and id(node) not in depth:
            node = node.parent
        if node is None:
            return None
        shared = max(shared, depth[id(node)])
    return ancestors[shared].data


def _changes(data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in base or base[key] != value}


class BranchMergingParallelGateway(ParallelGateway):
    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        return parallel_may_fire(self, my_task)

    def _run_hook(self, my_task: Any) -> bool:
        merge_branches(self, my_task)
        return True


class BranchMergingInclusiveGateway(InclusiveGateway):
    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        return inclusive_may_fire(self, my_task)

    def _run_hook(self, my_task: Any) -> bool:
        merge_branches(self, my_task)
        # the rest as SpiffWorkflow's InclusiveGateway: the split after the join
        matches, defaults = self._get_matching_outputs(my_task)
        if len(matches + defaults) == 0:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True
