"""Instance state as JSON, without the spec: specs are stored once per deployed version.

SpiffWorkflow's serializer embeds the whole spec in every serialization (about 60 % of a small
instance). ``StateCodec`` keeps the task tree, data and subprocesses, and rebuilds a workflow
from them plus the cached spec of the instance's version.

The JSON text is written and read with orjson, and the result is what ``json`` gave: the
same text for the same workflow would decode to the same structure. Where orjson would write
or read something differently (integers beyond 64 bits, non-string keys, NaN and infinities,
UUIDs and enums in data, lone surrogates), that call falls back to ``json``; states written
by ``json`` read the same.

SpiffWorkflow reads every object holding a ``typename`` key as a stored type. A data object
holding one, from any source, is written inside a ``KEYED_OBJECT`` and read back as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task

from dialflow.strict_json import MAX_DEPTH, RESERVED_KEY, shape_problem
from engine import event_payloads, first_event
from engine.boundaries import serializer_config
from engine.event_subprocesses import serializer_config as event_subprocess_config
from engine.feel_builtins import YearsMonths
from engine.multi_instance import serializer_config as multi_instance_config
from engine.quiet_workflow import InstanceWorkflow
from engine.removed_elements import KeepingTaskConverter
from engine.task_ids import id_text


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    def __init__(self, target_class: type, registry: Any) -> None:
        super().__init__(target_class, registry)
        self._task_typename = _plain_task_typename(registry)

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """``WorkflowConverter.to_dict`` with the subprocesses and events, written out: ids
        as text once per process (``engine.task_ids``), and data of plain JSON values (most)
        taken as the registry's conversion would give it, without its dispatch per value."""
        convert = self.registry.convert
        last_task = workflow.last_task
        events = workflow.bpmn_events
        return {
            "data": workflow.data if _is_plain(workflow.data) else convert(workflow.data),
            "correlations": workflow.correlations,
            "last_task": id_text(last_task.id) if last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self.mapping_to_dict(workflow.tasks),
            "root": id_text(workflow.task_tree.id),
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": convert(events) if events else [],
        }

    def mapping_to_dict(self, mapping: Any, **kwargs: Any) -> dict[str, Any]:
        """A workflow's task map as SpiffWorkflow's ``TaskConverter`` writes it, without the
        registry's dispatch for every task (a third of encoding a small instance)."""
        typename = self._task_typename
        if typename is None or kwargs:
            return super().mapping_to_dict(mapping, **kwargs)
        convert = self.registry.convert
        # Each id as text once per process (``engine.task_ids``): a task's id is also its
        # children's parent and its parent's child, and ``str(UUID)`` is Python code.
        dct = {}
        for key, value in mapping.items():
            if value.__class__ is Task:
                dct[id_text(key)] = _task_to_dict(value, typename, convert)
            else:
                dct[id_text(key)] = convert(value)
        return dct

    def restore(
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
    ) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _holds_years_months(value: Any) -> bool:
    """Whether a ``YearsMonths`` is anywhere in ``value``, made of dicts and lists (each
    looked into once: a list holding itself is json's to refuse)."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is YearsMonths:
            return True
        if kind is dict or kind is list or kind is tuple:
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.values() if kind is dict else item)
    return False


# A data object holding ``RESERVED_KEY`` (a form field, a handler's result, a script's change in
# place, any source) is stored inside one of these: SpiffWorkflow reads every object holding
# that key as a stored type, so it came back as a datetime or an event, or failed every step.
KEYED_OBJECT = "dialflow.KeyedObject"


class _KeyedObject:
    """Registered for ``KEYED_OBJECT``'s reading; objects are written by ``_Registry``."""


class _Registry(DefaultRegistry):
    """SpiffWorkflow's registry, writing data objects that hold ``RESERVED_KEY`` as
    ``{"typename": KEYED_OBJECT, "value": object}`` (values converted as usual)."""

    def convert(self, obj: Any) -> Any:
        if (
            isinstance(obj, dict)
            and RESERVED_KEY in obj
            and not self._encoder_mode
            and obj.__class__ not in self.typenames
        ):
            return {RESERVED_KEY: KEYED_OBJECT, "value": super().convert(obj)}
        return super().convert(obj)


def _escaped(value: Any) -> Any:
    """``value`` with every object holding ``RESERVED_KEY`` written as ``_Registry`` writes it;
    other values left for the encoder, as they were."""
    if isinstance(value, dict):
        inner = {key: _escaped(item) for key, item in value.items()}
        return {RESERVED_KEY: KEYED_OBJECT, "value": inner} if RESERVED_KEY in value else inner
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    return value


def _holds_keyed(values: list[Any]) -> bool:
    """Whether an object in ``values`` (of dicts and lists) holds ``RESERVED_KEY`` (each
    looked into once: a list holding itself is json's to refuse)."""
    stack, seen = list(values), set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                if RESERVED_KEY in item:
                    return True
                stack.extend(item.values())
            else:
                stack.extend(item)
    return False


def _raw_data(dct: dict[str, Any]) -> list[dict[str, Any]]:
    """The task dictionaries of a workflow's dictionary (its subprocesses' too) whose ``data``
    and ``delta`` are the task's data as it is, not converted: SpiffWorkflow's layout."""
    raw = []
    for workflow in (dct, *dct["subprocesses"].values()):
        tasks = list(workflow["tasks"].values())
        if tasks and tasks[0].keys() == _TASK_KEYS:
            raw += tasks
    return raw


def _escape_keyed(dct: dict[str, Any]) -> None:
    """Write the objects holding ``RESERVED_KEY`` in the tasks' data of ``dct`` escaped."""
    for task in _raw_data(dct):
        task["data"] = _escaped(task["data"])
        delta = task["delta"]
        if delta:
            task["delta"] = {**delta, "updates": _escaped(delta.get("updates", {}))}


class _Keyed(Exception):
    """A task's data holds an object with ``RESERVED_KEY``: written escaped."""


def _plain_task_typename(registry: Any) -> str | None:
    """The typename under which ``registry`` writes a ``Task`` if it does so with SpiffWorkflow's
    own ``TaskConverter`` (what :func:`_task_to_dict` repeats); else ``None``."""
    typename = registry.typenames.get(Task)
    written = registry.convert_to_dict.get(typename)
    converter = getattr(getattr(written, "args", (None, None))[1], "__self__", None)
    return typename if isinstance(converter, TaskConverter) else None


def _task_to_dict(task: Task, typename: str, convert: Callable[[Any], Any]) -> dict[str, Any]:
    """``TaskConverter.to_dict`` of SpiffWorkflow 3.2, with the registry's ``typename``: the
    data only as changes against the parent's (all of it at the root).

    Written out rather than called: the parent looked up in its workflow's task map (what the
    ``parent`` property does), ``DeepMerge``'s two comparisons inline, and internal data of
    plain values copied as the registry's conversion would copy them."""
    parent_id = task._parent
    parent = task.workflow.tasks.get(parent_id) if parent_id is not None else None
    if parent is None:
        data, delta = task.data, {}
    else:
        # The comprehensions only where they find something: in Python 3.11 each one is a
        # function made and called, for every task at every save.
        before, after = parent.data, task.data
        data = {}
        delta = {
            "updates": (
                {k: v for k, v in after.items() if k not in before or v != before[k]}
                if before
                else dict(after)  # nothing before: all of it is new
            ),
            "deletions": (
                [] if before.keys() <= after.keys() else [k for k in before if k not in after]
            ),
        }
    internal = task.internal_data
    if not internal:
        internal = {}
    elif _PLAIN_INTERNAL.issuperset(map(type, internal.values())):
        internal = dict(internal)  # what the registry's conversion gives for plain values
    else:
        internal = convert(internal)
    children = task._children
    return {
        "id": id_text(task.id),
        "parent": id_text(parent_id) if parent is not None else None,
        "children": list(map(id_text, children)) if children else [],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": internal,
        "data": data,
        "delta": delta,
        "typename": typename,
    }


# Values the registry converts to themselves (no registered type, no container, not callable).
_PLAIN_INTERNAL = frozenset({str, int, float, bool, type(None)})


def _is_plain(value: Any) -> bool:
    """Whether ``value`` is made of dicts, lists and the values of ``_PLAIN_INTERNAL`` only:
    then the registry's conversion (callables dropped, registered types written as their
    dictionaries) gives an equal copy of it, and the value itself can be written instead."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            if RESERVED_KEY in item:
                return False  # written escaped by the registry
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind not in _PLAIN_INTERNAL:
            return False
    return True


# orjson hands these to ``default`` instead of writing them its own way (datetimes as ISO text,
# dataclasses as objects, subclasses of str, int, dict and list as their base type):
# SpiffWorkflow's encoder converts those it knows, the rest are left to json.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_JSON_BASE_TYPES = (str, int, float, list, tuple, dict)
# Registered types whose stored form holds only text and integers.
_PLAIN_REGISTERED = frozenset({datetime, date, timedelta})
# Values of a workflow's and a task's dictionary that SpiffWorkflow builds from ids, names,
# states, times and flags, never from data: the check of orjson's text skips them.
# Subprocesses are checked as workflows of their own.
_WORKFLOW_PLAIN_KEYS = frozenset(
    {
        "last_task",
        "success",
        "completed",
        "root",
        "subprocesses",
        "tasks",
        "parent_task_id",
        "spec",
        "typename",
    }
)
_TASK_PLAIN_KEYS = frozenset(
    {"id", "parent", "children", "last_state_change", "state", "task_spec", "triggered", "typename"}
)
# A task's dictionary in SpiffWorkflow 3.2: the plain keys and the three that hold data; a
# layout other than this one has all but its plain keys checked.
_TASK_KEYS = _TASK_PLAIN_KEYS | {"data", "delta", "internal_data"}
# orjson reads integers beyond 64 bits as floats, without an error. They have 19 digits or more:
# text with a run of 19 digits is read by json.
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_NUMBER = b"0" * 19


class StateCodec:
    """Encode a workflow to a JSON string and back; stateless after construction, thread-safe."""

    def __init__(self) -> None:
        registry = BpmnWorkflowSerializer.configure(
            {
                **event_subprocess_config(multi_instance_config(serializer_config(SPIFF_CONFIG))),
                Task: KeepingTaskConverter,  # a finished task of an element a move removed
            },
            _Registry(),
        )
        registry.register(
            _KeyedObject,
            lambda v: {},
            lambda v: {key: registry.restore(item) for key, item in v["value"].items()},
            typename=KEYED_OBJECT,
        )
        # Scripts may use the ``date`` helper; SpiffWorkflow only knows datetime and timedelta.
        registry.register(
            date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"])
        )
        # A FEEL duration of years and months, text to json: kept as one, or after a wait
        # ``ym = duration("P12M")`` compared text with a duration (null).
        registry.register(
            YearsMonths, lambda v: {"value": str(v)}, lambda v: YearsMonths(v["value"])
        )
        event_payloads.register(registry)
        first_event.register(registry)
        self._converter = _SpecFreeWorkflowConverter(InstanceWorkflow, registry)
        self._serializer = BpmnWorkflowSerializer(registry)
        self.registry = registry  # SpiffWorkflow's diff compares specs through it
        self._version = self._serializer.VERSION
        # SpiffWorkflow's encoder: registered types to their dictionaries, functions and
        # modules to null, sets to lists; anything else raises TypeError.
        self._spiff_default: Callable[[Any], Any] = self._serializer._encoder_cls().default

    def encode(self, workflow: BpmnWorkflow) -> str:
        dct = self._converter.to_dict(workflow)
        dct[BpmnWorkflowSerializer.VERSION_KEY] = self._version
        return self._dumps(dct)

    def check_storable(self, name: str, value: Any) -> None:
        """Raise ``TypeError`` naming ``name`` if ``value`` cannot be kept in task data: also
        values nested deeper than clients may send them, and an object with the key that
        SpiffWorkflow's serializer reads as a stored type (the state was written, and every
        step after it was next read from the database failed, a termination too)."""
        try:
            text = json.dumps(value, cls=self._serializer._encoder_cls, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError(
                f"{name!r} holds a value that cannot be stored as task data "
                f"({type(value).__name__}: {exc}); use numbers, text, lists, dicts, datetimes"
            ) from None
        found = shape_problem(
            value,
            depth=text.count("{") + text.count("[") > MAX_DEPTH,  # fewer cannot nest deeper
            key=f'"{RESERVED_KEY}"' in text,
        )
        if found is not None and found[0] == "depth":
            raise TypeError(
                f"{name!r} holds values nested more than {MAX_DEPTH} levels deep"
                f"{f' (at {found[1]})' if found[1] else ''}, which cannot be stored as task data"
            )
        if found is not None:
            raise TypeError(
                f"{name!r} holds an object with a key {RESERVED_KEY!r}"
                f"{f' (at {found[1]})' if found[1] else ''}, which the stored state reads as "
                "the type of a value: rename the key"
            )

    def decode(
        self, text: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]
    ) -> BpmnWorkflow:
        return self.restore(self._loads(text), spec, subprocess_specs)

    def restore(
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
    ) -> BpmnWorkflow:
        """The workflow from a decoded state (migrated first if an older serializer wrote it)."""
        if dct.get(BpmnWorkflowSerializer.VERSION_KEY) != self._version:
            self._serializer.migrate(dct)
        else:
            dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
        return self._converter.restore(dct, spec, subprocess_specs)

    def _dumps(self, dct: dict[str, Any]) -> str:
        try:
            text = orjson.dumps(dct, default=self._default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            keyed = None  # json encodes it, or raises its own error
        else:
            try:
                if not self._workflow_differs(dct):
                    return text.decode()
                keyed = None  # differs elsewhere, maybe before the key was seen
            except _Keyed:
                keyed = True
        if keyed or _holds_keyed([v for t in _raw_data(dct) for v in (t["data"], t["delta"])]):
            try:
                _escape_keyed(dct)
            except RecursionError:
                raise ValueError("Circular reference detected") from None  # as json says it
        # json writes a subclass of str as text without asking its encoder: typed first
        typed = self._years_months_typed(dct) if _holds_years_months(dct) else dct
        return json.dumps(typed, cls=self._serializer._encoder_cls, separators=(",", ":"))

    def _loads(self, text: str) -> Any:
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # lone surrogates: orjson refuses them
            return json.loads(text)
        if _LONG_NUMBER not in raw.translate(_DIGITS_TO_ZERO):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass  # NaN, Infinity, escaped lone surrogates, floats beyond range: json's call
        return json.loads(text)

    def _years_months_typed(self, value: Any) -> Any:
        """``value`` with each ``YearsMonths`` as its typed dictionary (the registry's whole
        conversion would write the workflow's and tasks' own dictionaries as data)."""
        kind = type(value)
        if kind is YearsMonths:
            return self._spiff_default(value)
        if isinstance(value, dict):
            return {key: self._years_months_typed(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._years_months_typed(item) for item in value]
        return value

    def _default(self, value: Any) -> Any:
        """What json writes for ``value``, a value orjson does not write itself."""
        if type(value) is YearsMonths:
            return self._spiff_default(value)  # its typed dictionary, as ``_dumps``' json
        if isinstance(value, _JSON_BASE_TYPES):
            # A subclass: json writes it as its base type without asking its encoder (an
            # OrderedDict in its own order, not its dict's): json's call.
            raise TypeError(f"{type(value).__name__} is left to json")
        return self._spiff_default(value)

    def _workflow_differs(self, dct: dict[str, Any]) -> bool:
        """Whether orjson's text for a workflow's dictionary (which it encoded) would decode
        differently from json's, looking only where data can be."""
        values: list[Any] = []
        raw: list[Any] = []  # the tasks' data as it is: raises ``_Keyed`` if it holds the key
        for workflow in (dct, *dct["subprocesses"].values()):
            values += [v for k, v in workflow.items() if k not in _WORKFLOW_PLAIN_KEYS]
            tasks = list(workflow["tasks"].values())
            # Every task has the layout of SpiffWorkflow's one task converter.
            if not tasks or tasks[0].keys() == _TASK_KEYS:
                for task in tasks:
                    raw += (task["data"], task["delta"])
                    values.append(task["internal_data"])
            else:  # a layout this module does not know: all but the plain keys
                for task in tasks:
                    values += [v for k, v in task.items() if k not in _TASK_PLAIN_KEYS]
        return self._differs(raw, keyed=True) or self._differs(values)

    def _differs(self, values: list[Any], keyed: bool = False) -> bool:
        """Whether orjson's text for ``values`` (which it encoded) would decode differently from
        json's: NaN and infinities (orjson writes null), UUIDs and enums (orjson writes their
        text or value where json writes SpiffWorkflow's dictionary or raises).

        orjson having encoded them, they hold no cycle and are at most 255 levels deep.
        """
        stack = list(values)
        pop, push, extend = stack.pop, stack.append, stack.extend
        while stack:
            item = pop()
            kind = type(item)
            if kind is dict:
                if item:
                    if keyed and RESERVED_KEY in item:
                        raise _Keyed
                    extend(item.values())
            elif kind is str or kind is int or kind is bool or item is None:
                continue
            elif kind is list or kind is tuple:
                extend(item)
            elif kind is float:
                if item - item:  # NaN for NaN and both infinities, 0.0 for the rest
                    return True
            elif kind in _PLAIN_REGISTERED:
                continue
            elif isinstance(item, UUID | Enum):
                return True
            else:
                written = self._default(item)  # what orjson was given in its place
                if type(written) is dict:  # its own typename is no data's
                    extend(written.values())
                else:
                    push(written)
        return False
