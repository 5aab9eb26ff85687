"""Loop and completion conditions that fail once an instance completed, made retryable.

SpiffWorkflow 3.2 evaluates a standard loop's ``loopCondition`` and a multi-instance
activity's ``completionCondition`` inside the completion of the instance that just ended. An
expression that raised there (a name the data lacks) left that instance COMPLETED and the
activity STARTED, with nothing in ERROR: the incident's retry had nothing to run, and the
instance stayed "running" with no task and no wait. Here the activity itself fails (ERROR,
marked as waiting for its condition); retried, it evaluates the condition again, with the
data the retry brings, and goes on: another iteration or instance, or its end. The instance
that completed is not run again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    StandardLoopTask as StandardLoopTaskMixin,
)
from SpiffWorkflow.spiff.specs.defaults import StandardLoopTask
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.task_scripts import PreScriptHeard

# The activity task's internal data: its condition failed, a retry evaluates it again.
CONDITION_FAILED = "condition_failed"


def evaluate_or_fail(my_task: Any, evaluate: Callable[[], bool]) -> bool:
    """``evaluate()``; if it raises, the activity fails in place, ready for a retry."""
    try:
        return evaluate()
    except Exception as exc:
        my_task.internal_data[CONDITION_FAILED] = True
        my_task._set_state(TaskState.ERROR)
        if isinstance(exc, WorkflowTaskException):  # keep its words, put it on the activity
            exc.task = my_task
            exc.task_trace = WorkflowTaskException.get_task_trace(my_task)
            raise
        raise WorkflowTaskException(str(exc), task=my_task, exception=exc) from exc


def retried_condition(my_task: Any, evaluate: Callable[[], bool]) -> bool | None:
    """For a retried activity whose condition failed: the condition's value now (raising
    again leaves it failed); ``None`` when its condition did not fail."""
    if not my_task.internal_data.get(CONDITION_FAILED):
        return None
    reached = evaluate()
    del my_task.internal_data[CONDITION_FAILED]
    return reached


class CheckedStandardLoopTask(PreScriptHeard, StandardLoopTask):
    """A standard loop whose ``loopCondition`` failing is an incident on the loop, retryable."""

    def _update_hook(self, my_task: Any) -> bool | None:
        if not self.test_before:
            return super()._update_hook(my_task)
        super(StandardLoopTaskMixin, self)._update_hook(my_task)  # data, pre-script
        my_task.internal_data["merged"] = []
        if evaluate_or_fail(my_task, lambda: self.loop_complete(my_task)):
            return True  # not even one iteration
        my_task._set_state(TaskState.STARTED)
        self.create_child(my_task)
        return None

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        DeepMerge.merge(my_task.data, child.data)
        my_task.internal_data["merged"].append(str(child.id))
        if evaluate_or_fail(my_task, lambda: self.loop_complete(my_task)):
            my_task._set_state(TaskState.READY)
        else:
            self.create_child(my_task)

    def _run_hook(self, my_task: Any) -> bool | None:
        if retried_condition(my_task, lambda: self.loop_complete(my_task)) is False:
            self.create_child(my_task)  # the next iteration
            return None
        return super()._run_hook(my_task)
