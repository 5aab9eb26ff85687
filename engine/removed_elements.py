"""Finished tasks whose element the version their instance moved to no longer draws.

A move keeps an instance's history: the tasks it finished stay in its tree (a boundary event
a move ended, the split SpiffWorkflow put above its activity, a task the new version leaves
out that was done before the move). Their element names nothing of the new version, and
SpiffWorkflow 3.2 could not read such a state back: its task decoder meant to give the task
a stand-in start spec and called a module instead (``TypeError: 'module' object is not
callable``), so the instance view answered 500 and any step that decoded the instance (a
timer, another worker) failed. Here such a task gets a ``RemovedElement``: it keeps its name
(so it is written back the same), draws no element (``bpmn_id`` is None: the instance view
and the flows taken pass it by) and leads nowhere.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec

# The specs stand-ins belong to: never a version's, so no version's spec is changed.
_NOWHERE = BpmnProcessSpec("removed_elements")


class RemovedElement(BpmnTaskSpec):
    """The element of a finished task that its instance's version does not draw."""


def removed_element(name: str) -> RemovedElement:
    known = _NOWHERE.task_specs.get(name)
    if isinstance(known, RemovedElement):
        return known
    return RemovedElement(_NOWHERE, name)


class KeepingTaskConverter(TaskConverter):
    """SpiffWorkflow's task decoder, with a ``RemovedElement`` for a spec the workflow's
    version lacks (encoding is SpiffWorkflow's own)."""

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Any:
        name = dct["task_spec"]
        if name in workflow.spec.task_specs:
            return super().from_dict(dct, workflow)
        task = super().from_dict({**dct, "task_spec": workflow.spec.start.name}, workflow)
        task.task_spec = removed_element(name)
        return task
