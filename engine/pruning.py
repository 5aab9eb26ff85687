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


# A step runs automatic tasks until the instance waits. Past this many in one step the
# diagram has a loop with no way out (or none reachable with this data): an incident, not a
# request that never ends.
MAX_AUTOMATIC_TASKS = 10_000
PRUNE_EVERY = 200  # automatic tasks between re-rootings within a step


# Called processes nested deeper than this (a call activity calling its own process again,
# directly or through others, whose way out this data never takes) are an incident too:
# SpiffWorkflow builds every level anew and walks all of them at each task, so such a step
# would run for hours before reaching ``MAX_AUTOMATIC_TASKS``.
MAX_CALL_DEPTH = 50


class RunawayLoop(Exception):
    """More than ``MAX_AUTOMATIC_TASKS`` automatic tasks in one step; ``task`` is the next."""

    def __init__(self, task: Any, limit: int, message: str | None = None) -> None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
        super().__init__(
            message
            or f"more than {limit} automatic tasks ran in one step without waiting for "
            f"anyone; the loop through {element!r} has no way out with this data"
        )
        self.task = task


class RunawayCalls(RunawayLoop):
    """Called processes nested deeper than ``MAX_CALL_DEPTH``; ``task`` is the next task."""

    def __init__(self, task: Any, limit: int) -> None:
        process = task.workflow.spec.name
        super().__init__(
            task,
            limit,
            f"called processes nested more than {limit} deep in one step; the calls into "
            f"{process!r} never end with this data",
        )


def run_engine_steps(
    workflow: BpmnWorkflow,
    will_complete_task: Any = None,
    trail: Trail | None = None,
    limit: int | None = None,
) -> int:
    """``workflow.do_engine_steps()``, pruning the tree whenever a pass ran many tasks.

    SpiffWorkflow stops seeing READY tasks deeper than 1,000 levels, so an automatic loop
    of a few hundred passes within one step would stop there silently (and ``is_completed()``
    answer true), and each pass walks the whole grown tree. Re-rooting it every
    ``PRUNE_EVERY`` tasks, as between steps (only finished tasks above every unfinished one
    go), keeps both bounded. Returns how many automatic tasks ran."""
    ran = 0
    limit = MAX_AUTOMATIC_TASKS if limit is None else limit

    def before(task: Any) -> None:
        nonlocal ran
        if ran >= limit:
            raise RunawayLoop(task, limit)
        if task.workflow is not workflow and task.workflow.depth > MAX_CALL_DEPTH:
            raise RunawayCalls(task, MAX_CALL_DEPTH)
        ran += 1
        if ran % PRUNE_EVERY == 0:
            prune_history(workflow, trail)
        if will_complete_task is not None:
            will_complete_task(task)

    while True:
        before_pass = ran
        workflow.do_engine_steps(will_complete_task=before)
        # a pass that stopped deep in the tree may have left READY tasks it could not see
        if ran - before_pass < PRUNE_EVERY // 2 or not prune_history(workflow, trail):
            return ran
