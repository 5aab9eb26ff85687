"""The workflow class of Dialflow's instances: ``one_catch.Workflow`` (SpiffWorkflow's
``BpmnWorkflow`` delivering a message to one catch) whose own log records get their extras
only when their logger is enabled.

SpiffWorkflow 3.2 logs a workflow's start, end and cancellation at INFO on ``spiff.workflow``
and builds each record's extras before the call, whether the logger is enabled or not: with
that logger's own level unset (a process that never called ``Settings.configure_logging``:
the CLI, tests, the benchmark), the extras list every task of the workflow, a walk of the
whole tree twice per instance, about 4 % of a benchmark instance's instructions. Here they are
built only when the logger is enabled for INFO (``Logger.isEnabledFor``, the check
``Logger.info`` makes), so whoever enables it gets the same records as before. Only the
workflows Dialflow creates and decodes are of this class; SpiffWorkflow itself is unchanged
(``engine.log_records`` does the same for task records).

Its walks of the task tree (``get_tasks``, the WAITING tasks updated after each completed
task, ``is_completed``) are ``engine.task_walk``'s generators: the same tasks in the same
order as SpiffWorkflow's iterator objects, at a fraction of their cost. A walk for one state
that no task of the workflow is in (no subprocess to look into) is not made at all: most are
such (the WAITING tasks after each completed task, the READY ones of a step's last pass, the
failed ones), and whether any task is in that state is asked of the task map in C.
"""

from __future__ import annotations

import logging
from operator import attrgetter
from typing import Any

from SpiffWorkflow.util.task import TaskState

from engine.one_catch import Workflow
from engine.task_walk import simple, walk

_LOGGER = logging.getLogger("spiff.workflow")  # SpiffWorkflow's own, in SpiffWorkflow/workflow.py
_STATE = attrgetter("_state")  # a task's state (one bit of ``TaskState``)
_WAITING = TaskState.WAITING
_ONE_STATE = frozenset({"state"})


def _none_in(state: int, tasks: dict[Any, Any]) -> bool:
    """Whether no task in ``tasks`` is in ``state``, a single ``TaskState`` bit."""
    return state not in map(_STATE, tasks.values())


class InstanceWorkflow(Workflow):
    """The workflow of an instance: each message moves one catch (``one_catch.Workflow``),
    and its log records' extras are built only for an enabled logger."""

    def collect_log_extras(self, dct: dict[str, Any] | None = None) -> dict[str, Any]:
        if _LOGGER.isEnabledFor(logging.INFO):
            return super().collect_log_extras(dct)
        return dct or {}  # for a record the logger drops without reading it

    def get_tasks_iterator(self, first_task: Any = None, **kwargs: Any) -> Any:
        """``BpmnTaskIterator``'s walk (into subprocesses), a generator when it can be."""
        if simple(kwargs):
            if (
                first_task is None
                and not self.subprocesses
                and kwargs.keys() == _ONE_STATE
                and kwargs["state"].bit_count() == 1
                and _none_in(kwargs["state"], self.tasks)
            ):
                return iter(())  # the walk would find none: every task it visits is in the map
            return walk(first_task or self.task_tree, self.subprocesses, **kwargs)
        return super().get_tasks_iterator(first_task, **kwargs)

    def update_waiting_tasks(self) -> None:
        """SpiffWorkflow's, after every completed task: its plain ``TaskIterator``'s walk
        (not into subprocesses), each WAITING task updated as it is reached (none, most
        often: then no walk)."""
        if _none_in(_WAITING, self.tasks):
            return
        for task in walk(self.task_tree, None, state=TaskState.WAITING):
            task.task_spec._update(task)

    def is_completed(self) -> bool:
        """SpiffWorkflow's: no unfinished task left in this workflow's own tree."""
        if not self.completed:
            unfinished = walk(self.task_tree, None, state=TaskState.NOT_FINISHED_MASK)
            if next(unfinished, None) is None:
                self.completed = True
        return self.completed
