"""Workflows this process saved, handed to its next step of the same instance.

Decoding an instance's state is a good share of a completion's own work. A step that saved a
workflow keeps it here with the text it stored; the next step of that instance in this
process takes it back instead of decoding, if the row it locked holds exactly that text for
the same version. Anything else that happened to the instance (another worker's step, a
migration, a rollback of the step that kept it) left other text in the row, and the state is
decoded as usual: an entry can be stale, never wrong. Each entry is taken out while a step
uses it, so two threads never share a workflow.

Only workflows whose data read back from JSON as they are are kept (dicts with text keys,
lists, text, numbers, booleans, None, dates, timedeltas and datetimes without a zone or with a
fixed offset): a tuple, a set or a datetime in a named zone comes back as something else, and
the next step must see what decoding the stored state gives.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow

MAX_ENTRIES = 128
MAX_STATE_CHARS = 64_000  # larger states are decoded each time rather than held in memory
_PLAIN_SCALARS = (str, int, float, bool, type(None), date, timedelta)


class KeptWorkflows:
    """At most ``capacity`` workflows by instance id; thread-safe."""

    def __init__(self, capacity: int = MAX_ENTRIES) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[int, tuple[int, str, BpmnWorkflow]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, instance_id: int, version_id: int, state: str, workflow: BpmnWorkflow) -> None:
        """Remember ``workflow``, just saved as ``state``, unless its data would not read
        back the same (then any older entry of the instance goes)."""
        keepable = len(state) <= MAX_STATE_CHARS and _reads_back_the_same(workflow)
        with self._lock:
            self._entries.pop(instance_id, None)
            if not keepable:
                return
            self._entries[instance_id] = (version_id, state, workflow)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def take(self, instance_id: int, version_id: int, state: str) -> BpmnWorkflow | None:
        """The workflow saved as exactly ``state`` of ``version_id``, removed from here."""
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is None or entry[0] != version_id or entry[1] != state:
            return None
        return entry[2]

    def forget(self, instance_id: int) -> None:
        with self._lock:
            self._entries.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _reads_back_the_same(workflow: BpmnWorkflow) -> bool:
    """Whether every value the state holds for data survives JSON as it is (see the module)."""
    if workflow.bpmn_events:
        return False
    values: list[Any] = []
    for part in (workflow, *workflow.subprocesses.values()):
        values.append(part.data)
        values.append(getattr(part, "correlations", None))
        for task in part.tasks.values():
            values.append(task.data)
            values.append(task.internal_data)
    return _plain(values)


def _plain(values: list[Any]) -> bool:
    stack = list(values)
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is datetime:
            if item.tzinfo is not None and type(item.tzinfo) is not timezone:
                return False
        elif kind is float:
            if item != item:  # NaN: stored as NaN, but never equal to itself
                return False
        elif kind not in _PLAIN_SCALARS:
            return False
    return True
