"""SpiffWorkflow's walks of an instance's task tree, as generators.

SpiffWorkflow 3.2 finds tasks (``get_tasks``, ``get_next_task``, the WAITING tasks it
updates after every completed task, ``is_completed``) with ``TaskIterator`` objects: per
task visited, a ``__next__`` call, a ``_next`` call, a filter object's ``matches`` and
``has_state`` calls, the ``children`` and ``parent`` properties, and a ``pop(0)`` from the
front of a list. Those walks were a fifth of the instructions a benchmark instance costs.
:func:`walk` visits the same tasks in the same order, expands the same ones (the same depth
count, with its limit of 1,000), and yields those the same filter matches, with the
attribute reads inlined and the pending tasks on a stack.

Only the plain filters go here (a state mask, ``manual``, ``spec_name``, whether to skip
subprocesses); anything else (``end_at_spec``, ``task_filter``, ``catches_event``,
``lane``, ``updated_ts``, another depth or breadth first) is left to SpiffWorkflow's own
iterator (:func:`simple`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.util.task import TaskState

_ANY = TaskState.ANY_MASK
_PREDICTED = TaskState.PREDICTED_MASK
_DEFINITE = TaskState.DEFINITE_MASK
_FINISHED = TaskState.FINISHED_MASK
_MAX_DEPTH = 1000  # TaskIterator's default
_SIMPLE = frozenset({"state", "manual", "spec_name", "skip_subprocesses"})


def simple(kwargs: dict[str, Any]) -> bool:
    """Whether :func:`walk` takes these ``get_tasks_iterator`` arguments."""
    return kwargs.keys() <= _SIMPLE


def walk(
    first: Any,
    subprocesses: dict[Any, Any] | None,
    state: int = _ANY,
    manual: bool | None = None,
    spec_name: str | None = None,
    skip_subprocesses: bool = False,
) -> Iterator[Any]:
    """The tasks below and after ``first`` that have a state in ``state`` (and ``manual``,
    ``spec_name`` when given), in ``TaskIterator``'s order. ``subprocesses``: the top
    workflow's, to descend into them as ``BpmnTaskIterator`` does; ``None`` for the plain
    ``TaskIterator``, which stays in ``first``'s workflow."""
    if state & _PREDICTED:
        min_state = TaskState.MAYBE
    elif state & _DEFINITE:
        min_state = TaskState.FUTURE
    else:
        min_state = TaskState.COMPLETED
    # Into a finished subprocess only for finished tasks (BpmnTaskIterator's rule).
    finished_only = state <= _FINISHED
    stack = [first]  # the iterator's list, its front last
    pop, push = stack.pop, stack.extend
    depth = 0
    while stack:
        task = pop()
        task_state = task._state
        children = task._children
        subprocess = subprocesses.get(task.id) if subprocesses else None
        if (
            subprocess is not None or (children and task_state >= min_state)
        ) and depth < _MAX_DEPTH:
            if children:
                push(map(task.workflow.tasks.get, reversed(children)))
            if not (
                subprocess is None
                or skip_subprocesses
                or (task_state >= _FINISHED and finished_only)
            ):
                stack.append(subprocess.task_tree)
            depth += 1
        elif stack:
            # TaskIterator._handle_leaf_depth: back up to the next task's parent (``parent``
            # is the task's workflow's task of its ``_parent`` id)
            following = stack[-1]
            if following._parent is not task._parent or following.workflow is not task.workflow:
                ancestor = following.workflow.tasks.get(following._parent)
                current = task.workflow.tasks.get(task._parent)
                while current is not None and current is not ancestor:
                    current = current.workflow.tasks.get(current._parent)
                    depth -= 1
            # else a sibling (the same parent, found the same way): the depth stays
        if (
            task_state & state
            and (manual is None or task.task_spec.manual == manual)
            and (spec_name is None or task.task_spec.name == spec_name)
        ):
            yield task
