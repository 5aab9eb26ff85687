"""Keep the task tree bounded: a cadence of 2,000 call attempts must not grow state or stall.

SpiffWorkflow appends every pass of a back-edge loop below the previous one. Past a depth of
1,000 its task search stops seeing READY tasks (the loop stalls and ``is_completed()`` lies),
and the serialized state grows with every pass. After each step we re-root each task tree at
the deepest finished task that is an ancestor of every unfinished task: everything above it is
history, which Dialflow keeps in its own tables (work items, incidents, audit, calls).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

SEARCH_DEPTH = 10**6  # see every task, however deep, while pruning


def prune_history(workflow: BpmnWorkflow) -> int:
    """Drop finished tasks above the live part of each tree; returns how many were dropped."""
    removed = _prune(workflow)
    for subprocess in workflow.subprocesses.values():
        removed += _prune(subprocess)
    return removed


def _prune(workflow: Any) -> int:
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    new_root = _deepest_common_ancestor(unfinished)
    while new_root is not None and not new_root.has_state(TaskState.FINISHED_MASK):
        new_root = new_root.parent
    if new_root is None or new_root is workflow.task_tree:
        return 0
    keep: set[Any] = set()
    stack = [new_root]
    while stack:
        task = stack.pop()
        keep.add(task.id)
        stack.extend(task.children)
    dropped = [task_id for task_id in workflow.tasks if task_id not in keep]
    for task_id in dropped:
        del workflow.tasks[task_id]
    new_root.parent = None
    workflow.task_tree = new_root
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = new_root
    return len(dropped)


def _deepest_common_ancestor(tasks: list[Any]) -> Any:
    paths = []
    for task in tasks:
        path = []
        while task is not None:
            path.append(task)
            task = task.parent
        paths.append(path[::-1])
    common = None
    for level in zip(*paths, strict=False):
        if all(node is level[0] for node in level):
            common = level[0]
        else:
            break
    return common
