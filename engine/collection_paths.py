"""Multi-instance collections read by a path into the instance's data.

Camunda 7, Activiti and Flowable (``collection="${deal.approvers}"``) and Camunda 8
(``inputCollection="=deal.approvers"``) name the list as a path: the ``approvers`` field of
the map ``deal``. ``engine.foreign_loops`` writes the path as the activity's
``loopDataInputRef``; SpiffWorkflow 3.2 reads that as one top-level name
(``data["deal.approvers"]``), so such diagrams were refused. ``read_paths`` (run on every
built spec) makes the activity's input read the path as JUEL and FEEL read a map's fields,
and a Camunda 8 collection written as another FEEL expression (``=distinct values(a)``,
``=orders[amount > 100].id``) computes it over the activity's data
(``DataExpressionReference``), and an ``outputElement`` written as one (``={id: approver, ok:
approved}``) over each instance's data (``OutputExpressionReference``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

_MISSING = object()


class DataPathReference(TaskDataReference):
    """Task data named by a dotted path (``deal.approvers``); a key written with its dots
    wins, as it did."""

    def _walk(self, data: Mapping[str, Any]) -> Any:
        if self.bpmn_id in data:
            return data[self.bpmn_id]
        value: Any = data
        for part in self.bpmn_id.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return _MISSING
            value = value[part]
        return value

    def get(self, my_task: Any) -> Any:
        value = self._walk(my_task.data)
        return None if value is _MISSING else value

    def exists(self, my_task: Any) -> bool:
        return self._walk(my_task.data) is not _MISSING


class DataExpressionReference(TaskDataReference):
    """A Camunda 8 input collection written as a FEEL expression
    (``inputCollection="=distinct values(approvers)"``), computed over the activity's data
    each time SpiffWorkflow reads it; named by the FEEL as written. One that cannot be
    computed does not exist, which ``engine.multi_instance`` says on the activity."""

    def __init__(self, written: str, python: str) -> None:
        super().__init__(written, written)
        self.python = python

    def get(self, my_task: Any) -> Any:
        environment = my_task.workflow.script_engine.environment
        return environment.evaluate(self.python, dict(my_task.data))

    def exists(self, my_task: Any) -> bool:
        try:
            return self.get(my_task) is not None
        except Exception:  # said as a collection the data does not give
            return False


class OutputExpressionReference(DataExpressionReference):
    """A Camunda 8 ``outputElement`` written as a FEEL expression (``={id: approver, ok:
    approved}``), computed over each instance's data when it completes, its element variable
    with it (``own_items``, which ``engine.multi_instance`` keeps out of the merge): null is
    an item too, as Zeebe collects it."""

    def get(self, my_task: Any) -> Any:
        environment = my_task.workflow.script_engine.environment
        scope = {**my_task.data, **getattr(my_task, "own_items", {})}
        return environment.evaluate(self.python, scope)

    def exists(self, my_task: Any) -> bool:
        if isinstance(my_task.task_spec, MultiInstanceTask):
            return False  # the activity itself holds no item (SpiffWorkflow asks, to refuse one)
        try:
            self.get(my_task)
        except Exception:  # said as an output the instance did not give
            return False
        return True


# ``loopDataInputRef``/``outputDataItem`` name ``engine.foreign_loops`` writes → (FEEL as
# written, its Python)
EXPRESSIONS: dict[str, tuple[str, str]] = {}


def expression_name(written: str, python: str, kind: str = "collection") -> str:
    """The name a FEEL input collection (``kind`` "collection") or output element ("output")
    is written under as ``loopDataInputRef`` or ``outputDataItem``."""
    name = f"_feel_{kind}_" + hashlib.sha1(written.encode()).hexdigest()[:16]
    EXPRESSIONS[name] = (written, python)
    return name


def read_paths(spec: Any) -> None:
    """Each multi-instance activity of ``spec`` whose input collection is a dotted path
    reads it by that path; one written as a FEEL expression computes it."""
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, MultiInstanceTask):
            continue
        current = task_spec.data_input
        if type(current) is TaskDataReference and current.bpmn_id in EXPRESSIONS:
            task_spec.data_input = DataExpressionReference(*EXPRESSIONS[current.bpmn_id])
        elif type(current) is TaskDataReference and "." in current.bpmn_id:
            task_spec.data_input = DataPathReference(current.bpmn_id, current.bpmn_name)
        item = task_spec.output_item
        if type(item) is TaskDataReference and item.bpmn_id in EXPRESSIONS:
            task_spec.output_item = OutputExpressionReference(*EXPRESSIONS[item.bpmn_id])
