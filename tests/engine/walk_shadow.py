"""A pytest plugin for review runs (``-p tests.engine.walk_shadow``): every walk an
``InstanceWorkflow`` makes or skips is checked, as it happens, against SpiffWorkflow's own
iterator on the same tree (``BpmnTaskIterator`` for ``get_tasks_iterator``, the plain
``TaskIterator`` for ``update_waiting_tasks``), so a whole test file's diagrams (call
activities, event subprocesses, multi-instance, boundary events, loops) check that
``engine.quiet_workflow`` finds the same tasks in the same order, its skipped walks included.
A difference fails the test that made it (an ``AssertionError`` inside the step). At the end
the counts of walks checked and skipped, and any difference, are appended to the file
named by ``WALK_SHADOW_OUT`` (one JSON line per pytest process)."""

from __future__ import annotations

import json
import os
from types import GeneratorType
from typing import Any

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine import quiet_workflow
from engine.quiet_workflow import InstanceWorkflow
from engine.task_walk import simple

MISMATCHES: list[str] = []
COUNTS = {"walks": 0, "skipped walks": 0, "waiting updates": 0, "skipped updates": 0}
_get_tasks_iterator = InstanceWorkflow.get_tasks_iterator
_update_waiting_tasks = InstanceWorkflow.update_waiting_tasks


def _checked_get_tasks_iterator(self: Any, first_task: Any = None, **kwargs: Any) -> Any:
    if not simple(kwargs):
        return _get_tasks_iterator(self, first_task, **kwargs)
    theirs = list(BpmnTaskIterator(first_task or self.task_tree, **kwargs))
    found = _get_tasks_iterator(self, first_task, **kwargs)
    mine = list(found)
    COUNTS["walks"] += 1
    COUNTS["skipped walks"] += not isinstance(found, GeneratorType)
    if len(mine) != len(theirs) or any(a is not b for a, b in zip(mine, theirs, strict=False)):
        MISMATCHES.append(f"get_tasks {kwargs} in {self.spec.name}: {mine} != {theirs}")
        raise AssertionError(MISMATCHES[-1])
    return iter(mine)


def _checked_update_waiting_tasks(self: Any) -> None:
    waiting = list(TaskIterator(self.task_tree, state=TaskState.WAITING))
    skips = quiet_workflow._none_in(TaskState.WAITING, self.tasks)
    COUNTS["waiting updates"] += 1
    COUNTS["skipped updates"] += skips
    if skips and waiting:
        MISMATCHES.append(f"waiting skipped in {self.spec.name}: {waiting}")
        raise AssertionError(MISMATCHES[-1])
    _update_waiting_tasks(self)


def pytest_configure(config: Any) -> None:
    InstanceWorkflow.get_tasks_iterator = _checked_get_tasks_iterator  # type: ignore[method-assign]
    InstanceWorkflow.update_waiting_tasks = _checked_update_waiting_tasks  # type: ignore[method-assign]


def pytest_unconfigure(config: Any) -> None:
    with open(os.environ.get("WALK_SHADOW_OUT", "/tmp/walk_shadow.jsonl"), "a") as out:
        out.write(json.dumps({"counts": COUNTS, "mismatches": MISMATCHES}) + "\n")
