"""Keep the task tree bounded: a cadence of 2,000 call attempts must not grow state or stall.

SpiffWorkflow appends every pass of a back-edge loop below the previous one. Past a depth of
1,000 its task search stops seeing READY tasks (the loop stalls and ``is_completed()`` lies),
and the serialized state grows with every pass. After each step we re-root each task tree at
the deepest completed task that leads to every live task, and below a split whose branches are
live cut each branch's finished path the same way (a loop beside an open task): what is cut
is history, which Dialflow keeps in its own tables (work items, incidents, audit, calls).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from engine import reserved_ids
from engine.due_timers import run_passes
from engine.event_subprocesses import drop_finished_runs
from engine.removed_elements import RemovedElement


def prune_history(workflow: BpmnWorkflow, trail: Trail | None = None) -> int:
    """Drop finished tasks above the live part of each tree, and the workflows of the
    subprocesses and called processes whose task went with them (``drop_detached``); returns
    how many tasks were dropped. The completed elements among them, and the steps between
    them, are added to ``trail``."""
    removed = _prune(workflow, trail) + drop_finished_runs(workflow, trail)
    for key, subprocess in list(workflow.subprocesses.items()):
        if key in workflow.subprocesses:  # not dropped with an event subprocess's run
            removed += _prune(subprocess, trail) + drop_finished_runs(subprocess, trail)
    return removed + drop_detached(workflow, trail)


def drop_detached(workflow: BpmnWorkflow, trail: Trail | None = None) -> int:
    """Drop from ``workflow.subprocesses`` each workflow whose subprocess or call activity task
    is no longer in its parent's tree, or is over (completed or cancelled), with those nested
    in it; returns how many tasks went.

    SpiffWorkflow 3.2 keeps a subprocess's workflow after its task completed or was cancelled,
    and nothing removed it when pruning cut that task from the tree: every pass of a loop
    through a subprocess or call activity (an attempt interrupted by a timer, each instance
    of a multi-instance one) left one behind, written with the state at every step. Decoding
    such a state drops them silently (``subprocesses_from_dict`` restores only the workflows
    of tasks it finds), so a workflow kept in memory (``engine.kept``) grew where a decoded
    one did not, up to the size it keeps. Their completed tasks go to ``trail``: the path
    inside them stays in the instance view. A finished one stayed as long as its task did:
    the root a pruned tree keeps before a later task, and every task of a completed
    instance, whose state held each subprocess and called process it ran (55 KB of a
    campaign's 60 KB)."""
    if not workflow.subprocesses:
        return 0
    by_depth: dict[int, list[tuple[Any, Any]]] = {}
    for key, subprocess in workflow.subprocesses.items():
        by_depth.setdefault(subprocess.depth, []).append((key, subprocess))
    staying: dict[int, list[Any]] = {0: [workflow]}  # by depth, the workflows that stay
    removed = 0
    for depth in sorted(by_depth):
        parents = staying.get(depth - 1, ())
        for key, subprocess in by_depth[depth]:
            if any(_under_way(subprocess.parent_task_id, parent) for parent in parents):
                staying.setdefault(depth, []).append(subprocess)
                continue
            del workflow.subprocesses[key]
            if trail is not None:
                for task in subprocess.tasks.values():
                    trail.add(task)
            removed += len(subprocess.tasks)
    return removed


def _under_way(task_id: Any, parent: Any) -> bool:
    """Whether the subprocess or call activity task ``task_id`` is in ``parent``'s tree and
    not over: a finished one has taken its workflow's data, and nothing reads the workflow
    again (its completed elements go to the trail)."""
    task = parent.tasks.get(task_id)
    return task is not None and not task.has_state(_HISTORY)


class Trail:
    """Completed elements and the steps between them, kept as the tree is pruned: the
    instance view's completed path. Bounded by the size of the diagram, not the loop count."""

    def __init__(self, stored: dict[str, Any] | None = None) -> None:
        stored = stored or {}
        self.elements: set[str] = set(stored.get("elements", ()))
        self.flows: set[tuple[str, str]] = {(a, b) for a, b in stored.get("flows", ())}
        self.changed = False

    def add(self, task: Any) -> None:
        element = element_of(task)
        if element is None or task.state != TaskState.COMPLETED:
            return
        if element not in self.elements:
            self.elements.add(element)
            self.changed = True
        self.add_flow(task)

    def add_flow(self, task: Any) -> None:
        """The step into ``task`` from the element before it, if it followed a flow; for a
        split or join of SpiffWorkflow's own, the steps through it (pruning may keep one as
        the root of what stays, and a flow into it is one into what comes after it)."""
        if isinstance(task.task_spec, _HIDDEN):
            for child in task.children:
                self.add_flow(child)
            return
        source_task = flow_source(task)
        if source_task is None:
            return
        pair = (element_of(source_task), element_of(task))
        if pair[1] is not None and pair not in self.flows:
            self.flows.add(pair)
            self.changed = True

    def to_json(self) -> dict[str, Any]:
        return {"elements": sorted(self.elements), "flows": sorted(map(list, self.flows))}


_HIDDEN = (BoundaryEventSplit, BoundaryEventJoin)


def flow_source(task: Any) -> Any | None:
    """The task of the element ``task`` followed along a sequence flow, or None.

    SpiffWorkflow puts a split of its own before an activity with boundary events and a join
    after it, elements of no diagram: a flow into or out of such an activity passes through
    them (the instance view showed neither). Pruning branch by branch may give a task an
    earlier task of its branch as parent, which is no flow that was taken: each step must be
    to one of its parent's outputs."""
    child, parent = task, task.parent
    while parent is not None and isinstance(parent.task_spec, _HIDDEN):
        outputs = parent.task_spec.outputs
        if isinstance(parent.task_spec, BoundaryEventSplit):
            outputs = outputs[:1]  # the activity; its boundary events are reached by no flow
        if child.task_spec not in outputs:
            return None
        child, parent = parent, parent.parent
    if parent is None or element_of(parent) is None:
        return None
    if child.task_spec in parent.task_spec.outputs:
        return parent
    # a step of the version before a move: a finished task that version alone drew (a task
    # drawn for a listener or mappings) leads nowhere now, and what it led to is not among
    # the outputs of its spec
    moved = (child.task_spec, parent.task_spec)
    return parent if any(isinstance(spec, RemovedElement) for spec in moved) else None


def element_of(task: Any) -> str | None:
    """The element id of ``task``: its spec's, or for a finished task whose element the
    version its instance moved to no longer draws (``RemovedElement``), the one its name
    holds (an element renamed for a reserved id, ``End [element]``, as ``End``)."""
    spec = task.task_spec
    if isinstance(spec, RemovedElement):
        return spec.name.removesuffix(reserved_ids.SUFFIX)
    return getattr(spec, "bpmn_id", None)


def _prune(workflow: Any, trail: Trail | None) -> int:
    # Failed tasks count as live: each keeps its place and its parent for the retry.
    live = [t for t in workflow.tasks.values() if not t._state & _HISTORY]  # ``has_state``
    if not live:
        return 0
    removed = 0
    for first, keep in _cuts(workflow.task_tree, _live_children(live, workflow.tasks)):
        removed += _cut(workflow, first, keep, trail)
    return removed + _drop_finished_instances(workflow, trail)


def _drop_finished_instances(workflow: Any, trail: Trail | None) -> int:
    """Drop the instances of each completed multi-instance or loop activity: its outputs are
    merged, and nothing reads them again. They hung off the activity's task, which stays as
    the root (or on the path) while the next task waits: a multi-instance script over 100
    contacts kept its 100 instances, 45 KB, in the state until the next step moved on."""
    removed = 0
    for task in list(workflow.tasks.values()):
        if task._state != _COMPLETED or not isinstance(task.task_spec, LoopTask):
            continue
        instances = [
            child
            for child in task.children
            if child.task_spec.name == task.task_spec.task_spec
            and all(t.has_state(_HISTORY) for t in _below(child))
        ]
        for child in instances:
            subtree = list(_below(child))
            if trail is not None:
                for each in subtree:
                    trail.add(each)
            task._children.remove(child.id)
            for each in subtree:
                del workflow.tasks[each.id]
            removed += len(subtree)
    return removed


def _below(task: Any) -> list[Any]:
    found, stack = [], [task]
    while stack:
        each = stack.pop()
        found.append(each)
        stack.extend(each.children)
    return found


_HISTORY = TaskState.COMPLETED | TaskState.CANCELLED
_COMPLETED = TaskState.COMPLETED


def _live_children(live: list[Any], tasks: dict[Any, Any]) -> dict[Any, list[Any]]:
    """By task id, the children through which each task leads to live tasks: the live part
    of the tree, walked up from the live tasks only as far as it is new. ``tasks``: their
    workflow's task map, where a task's ``parent`` is looked up."""
    children_of: dict[Any, list[Any]] = {}
    parent_of = tasks.get
    for task in live:
        parent = parent_of(task._parent)
        while parent is not None:
            children = children_of.get(parent.id)
            if children is not None:
                if task not in children:  # the same task, not an equal one (tasks are
                    children.append(task)  # compared by identity)
                break
            children_of[parent.id] = [task]
            task, parent = parent, parent_of(parent._parent)
    return children_of


def _cuts(root: Any, live: dict[Any, list[Any]]) -> list[tuple[Any, Any]]:
    """``(first, keep)``: the finished tasks between ``first`` and ``keep`` are history,
    ``keep`` being the deepest completed task that leads to every live task below ``first``;
    ``first`` is the root (which ``keep`` replaces) or the first task of a split's branch.

    Taken at the root alone, a parallel branch's open task would keep the split as the common
    ancestor, and a loop in another branch would grow below it without end; so each branch of
    a split is cut on its own, down through nested splits. A branch keeps its first task: the
    split's children stay as they were (a failed task's siblings tell whether a boundary event
    took over from it)."""
    cuts = []
    todo = [root]
    while todo:
        first = todo.pop()
        keep = _last_completed(first, live)
        if keep is None:
            continue
        if keep is not first and (first is root or keep.parent is not first):
            cuts.append((first, keep))
        branches = live.get(keep.id, ())
        if len(branches) > 1:
            todo.extend(branches)
    return cuts


def _last_completed(task: Any, live: dict[Any, list[Any]]) -> Any:
    """The deepest of the completed tasks from ``task`` down that lead one way only; ``None``
    if ``task`` is not completed."""
    last = None
    while task._state == _COMPLETED:  # ``state``, without its property
        last = task
        children = live.get(task.id, ())
        if len(children) != 1:
            break
        task = children[0]
    return last


def _cut(workflow: Any, first: Any, keep: Any, trail: Trail | None) -> int:
    """Drop the tasks from the root to above ``keep`` (which becomes the root), or from below
    ``first`` to above ``keep`` (which becomes a child of ``first``); what hangs off them is
    all finished."""
    at_root = first is workflow.task_tree
    top = first if at_root else _child_towards(first, keep)
    dropped = _history_above(top, keep)
    if trail is not None:  # before any is deleted: a task finds its parent through the tree
        for task in dropped:
            trail.add(task)
        trail.add_flow(keep)  # the step into ``keep``, cut below
    for task in dropped:
        del workflow.tasks[task.id]
    if at_root:
        keep.parent = None
        workflow.task_tree = keep
    else:
        first._children[first._children.index(top.id)] = keep.id
        keep.parent = first
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = keep
    return len(dropped)


def _child_towards(task: Any, descendant: Any) -> Any:
    while descendant.parent is not task:
        descendant = descendant.parent
    return descendant


def _history_above(first: Any, keep: Any) -> list[Any]:
    """The tasks below ``first`` (itself included) that are not below ``keep``."""
    dropped = []
    path = keep
    while path is not first:
        above = path.parent
        dropped.append(above)
        stack = [child for child in above.children if child is not path]
        while stack:
            task = stack.pop()
            dropped.append(task)
            stack.extend(task.children)
        path = above
    return dropped


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
    ``PRUNE_EVERY`` tasks, as between steps (only finished history goes), keeps both bounded.
    Returns how many automatic tasks ran."""
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

    long_passes = False
    while True:
        before_pass = ran
        run_passes(workflow, before)  # timers that came due fire in a step of their own
        if ran - before_pass < PRUNE_EVERY // 2 and not long_passes:
            return ran
        long_passes = True
        # a pass that stopped deep in the tree may have left READY tasks it could not see
        if ran - before_pass < PRUNE_EVERY // 2 or not prune_history(workflow, trail):
            _check_nothing_left_unseen(workflow, limit)
            return ran


def _check_nothing_left_unseen(workflow: BpmnWorkflow, limit: int) -> None:
    """Raise ``RunawayLoop`` on an automatic READY task that SpiffWorkflow's search no longer
    reaches: the step would end as if nothing were left to do, the instance silently stuck.

    Pruning keeps the tree shallow enough, so this is a guard, checked only after a step ran
    long passes (a whole-tree scan)."""
    for flow in (workflow, *workflow.subprocesses.values()):
        seen = {task.id for task in flow.get_tasks(state=TaskState.READY)}
        for task in flow.tasks.values():
            if task.state == TaskState.READY and not task.task_spec.manual and task.id not in seen:
                raise RunawayLoop(task, limit, _unseen_message(task))


def _unseen_message(task: Any) -> str:
    element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    return (
        f"the path through {element!r} went deeper than the engine can follow in one step "
        "and stopped; the loop it is in ran too long without waiting for anyone"
    )
