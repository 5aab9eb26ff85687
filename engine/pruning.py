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


def prune_history(workflow: BpmnWorkflow, trail: Trail | None = None) -> int:
    """Drop finished tasks above the live part of each tree; returns how many were dropped.
    The completed elements among them, and the steps between them, are added to ``trail``."""
    removed = _prune(workflow, trail)
    for subprocess in workflow.subprocesses.values():
        removed += _prune(subprocess, trail)
    return removed


class Trail:
    """Completed elements and the steps between them, kept as the tree is pruned: the
    instance view's completed path. Bounded by the size of the diagram, not the loop count."""

    def __init__(self, stored: dict[str, Any] | None = None) -> None:
        stored = stored or {}
        self.elements: set[str] = set(stored.get("elements", ()))
        self.flows: set[tuple[str, str]] = {(a, b) for a, b in stored.get("flows", ())}
        self.changed = False

    def add(self, task: Any) -> None:
        element = getattr(task.task_spec, "bpmn_id", None)
        if element is None or task.state != TaskState.COMPLETED:
            return
        if element not in self.elements:
            self.elements.add(element)
            self.changed = True
        self.add_flow(task.parent, task)

    def add_flow(self, source_task: Any, task: Any) -> None:
        if source_task is None:
            return
        source = getattr(source_task.task_spec, "bpmn_id", None)
        element = getattr(task.task_spec, "bpmn_id", None)
        if source is not None and element is not None and (source, element) not in self.flows:
            self.flows.add((source, element))
            self.changed = True

    def to_json(self) -> dict[str, Any]:
        return {"elements": sorted(self.elements), "flows": sorted(map(list, self.flows))}


def _prune(workflow: Any, trail: Trail | None) -> int:
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
    if trail is not None:  # before any is deleted: a task finds its parent through the tree
        for task_id in dropped:
            trail.add(workflow.tasks[task_id])
        trail.add_flow(new_root.parent, new_root)  # the step into the new root, cut below
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
