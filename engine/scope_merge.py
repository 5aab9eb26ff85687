"""The end of a scope with event subprocesses keeps what each branch changed.

A non-interrupting event subprocess runs beside the main path of its scope from a copy of the
scope's data taken when its event occurred. SpiffWorkflow 3.2's end join then merged each
branch's whole copy, the last to arrive winning: a run that ended after the main path put back
the values the main path had changed since the event (an offer round that noted its timeout
after the escalation it threw was caught lost the note), and the runs pruned from the tree
before the end (``event_subprocesses.drop_finished_runs``) carried their whole copy there too.

Here the scope's data at its end is its data where the branches parted (the nearest task they
share) with what the main path changed since, and then what each run changed since its event
(its listener's data): a run's value wins unless the main path changed that variable after the
run's event too, and then the branch that ended later wins, as at a parallel join
(``engine.joins``). An interrupting run, the only branch left, ends with the scope's data as
its event found it and its own changes.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.join_passes import this_pass

# What a pruned run carries to its scope's end: the scope's data as its event found it, and
# the run's own changes since.
SEEN, CHANGED = "seen", "changed"
# On a listener whose event carried data: the scope's data before it (``DATA_BEFORE_EVENT``),
# and whether its run kept that data local (``KEPT_LOCAL``: a Camunda 8 start event with
# outputs, ``io_mappings``), so the run saw the scope's data without it.
DATA_BEFORE_EVENT, KEPT_LOCAL = "data_before_event", "event_kept_local"


def seen_by_run(listener: Any) -> dict[str, Any]:
    """The scope's data as the run of ``listener`` found it: what its event carried in, unless
    the run kept that local."""
    internal = listener.internal_data
    if internal.get(KEPT_LOCAL) and DATA_BEFORE_EVENT in internal:
        return internal[DATA_BEFORE_EVENT]
    return listener.data


def changes(data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in base or base[key] != value}


def carry_run(carried: dict[str, Any], listener: Any, run: Any) -> None:
    """Add a finished run (``run``: its event subprocess task) to what ``carried`` holds for
    the scope's end, ``listener`` being the task its event started it from."""
    DeepMerge.merge(carried.setdefault(SEEN, {}), deepcopy(seen_by_run(listener)))
    DeepMerge.merge(
        carried.setdefault(CHANGED, {}), deepcopy(changes(run.data, seen_by_run(listener)))
    )


def merge_at_scope_end(
    spec: Any, my_task: Any, carried: dict[str, Any], is_listener: Callable[[Any], bool]
) -> None:
    """Set ``my_task``'s data (the scope's end) from its arrivals and the carried runs."""
    arrivals = sorted(
        (
            task
            for task in this_pass(spec, my_task, my_task.workflow.tasks.values())
            if task is not my_task
            and task.has_state(TaskState.FINISHED_MASK)
            and task.parent is not None
            and task.parent.state == TaskState.COMPLETED  # arrived, not cut off by an interrupt
        ),
        key=lambda task: task.last_state_change,
    )
    arrivals.append(my_task)
    # where the branches parted: the arrivals' and the listeners' (the runs' and those that
    # still waited) nearest shared task, the scope's start while any listener was in it
    listeners = [task for task in my_task.workflow.tasks.values() if is_listener(task)]
    base_task = _shared_ancestor(
        [task.parent for task in arrivals if task.parent is not None] + listeners
    )
    if base_task is None:  # nothing to compare with: as before, the last arrival's copy wins
        my_task._inherit_data()
        DeepMerge.merge(my_task.data, carried.get(CHANGED, carried))
        return
    base = seen_by_run(base_task) if is_listener(base_task) else base_task.data
    starts = [_run_start(task, base_task, is_listener) for task in arrivals]
    data = deepcopy(base)
    main = [task for task, start in zip(arrivals, starts, strict=True) if start is None]
    for task in main:  # the main path's changes since the scope began, in the order they ended
        DeepMerge.merge(data, deepcopy(changes(task.parent.data, base)))
    main_ended = max((task.last_state_change for task in main), default=None)
    runs: list[tuple[dict[str, Any], dict[str, Any], bool]] = []
    if SEEN in carried or CHANGED in carried:
        runs.append((carried.get(SEEN, {}), carried.get(CHANGED, {}), False))
    elif carried:  # carried by an earlier version of this code: a run's whole copy
        runs.append(({}, carried, False))
    for task, start in zip(arrivals, starts, strict=True):
        if start is not None:
            later = main_ended is None or task.last_state_change > main_ended
            runs.append((seen_by_run(start), changes(task.parent.data, seen_by_run(start)), later))
    if not main:  # interrupted: the scope's data as the run found it
        for seen, _, _ in runs:
            DeepMerge.merge(data, deepcopy(changes(seen, base)))
    main_values = deepcopy(data)
    for seen, changed, later in runs:
        for key, value in changed.items():
            # a value the main path changed since the run's event wins if it ended later
            touched = key in main_values and (key not in seen or seen[key] != main_values[key])
            if later or not touched:
                DeepMerge.merge(data, {key: deepcopy(value)})
    my_task.data = data


def _run_start(task: Any, stop: Any, is_listener: Callable[[Any], bool]) -> Any | None:
    """The listener above ``task`` (below ``stop``) if ``task`` ends a run, else None."""
    node = task.parent
    while node is not None and node is not stop:
        if is_listener(node):
            return node
        node = node.parent
    return None


def _shared_ancestor(tasks: list[Any]) -> Any | None:
    """The nearest task that every one of ``tasks`` is, or descends from."""
    if not tasks:
        return None
    path: list[Any] = []
    node = tasks[0]
    while node is not None:
        path.append(node)
        node = node.parent
    depth = {id(task): index for index, task in enumerate(path)}
    shared = 0
    for task in tasks[1:]:
        node = task
        while node is not None and id(node) not in depth:
            node = node.parent
        if node is None:
            return None
        shared = max(shared, depth[id(node)])
    return path[shared]
