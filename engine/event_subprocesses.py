"""Event subprocesses (``<subProcess triggeredByEvent="true">``), run as BPMN says.

SpiffWorkflow 3.2 connects an event subprocess whose start event has no trigger it knows
(error and escalation start events are parsed as plain ones) to the start of its scope, so
it runs at once with the scope, as if the error had happened. A timer one starts with its
scope too, its timer waiting inside it: when it fires the handler runs without interrupting,
and the scope cannot end before that. One with a message or signal start is listed as no
wait (``waiting_events``), so Dialflow, which delivers a message to what an instance waits
for, answered 404; SpiffWorkflow's own ``send_event`` starts it at the process level without
interrupting, and inside a subprocess never. ``isInterrupting`` is never read.

Here the event subprocess's start event becomes a listener in the parent scope: an
``EventSubprocessStart`` task beside the main path from the scope's start, waiting for the
start event's trigger (a message and a timer appear in ``waiting_events`` like any other
wait, so ``event_waits`` and ``next_due_at`` carry them). Its task carries the start event's
element id; the subprocess itself keeps its own, and its start event inside runs as a plain
one. When the event occurs:

* interrupting: every other task of the scope is cancelled (the main path, the other
  listeners, runs of non-interrupting event subprocesses), the event subprocess runs, and
  the scope ends after it;
* non-interrupting: a new listener waits beside it for the next occurrence (a duration or
  date timer fires once per scope, as BPMN says), the event subprocess runs beside the main
  path, and the scope ends when both are done.

The scope's end (``ScopeEnd``) cancels the listeners still waiting once nothing else of the
scope is left, so they no longer hold the process open nor take messages after it. The
listener's run starts from the scope's data as its open tasks hold it when the event occurs,
plus the event's payload (an error's or escalation's data from its thrower).

An error or escalation is taken by the innermost handler around its thrower, as BPMN says:
SpiffWorkflow 3.2 offers a thrown error to every waiting catch of the instance. The throw
events record their task while they throw (``_THROWER``); a listener takes the event only if
no boundary event on an activity around the thrower, and no event subprocess of a scope
nearer to it, catches it first, and a boundary event outside the listener's scope leaves it
to the listener. One thrown inside a run is for the run's scope, whose other event
subprocesses may take it, but never the run's own event subprocess (its next listener would
start a run that throws it again).

A failing service or script task throws its failure the same way (``engine.caught_failures``
records it as the thrower and offers the error to every waiting catch): here it counts as an
error thrown *at* the activity, so the nearest catch is an interrupting error boundary event
on the task itself, or on the multi-instance or loop activity one of whose instances failed,
before those of the activities around it and the event subprocesses of its scopes. Only
interrupting catches take a failure: the failed task must end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.control import (
    BoundaryEventJoin,
    BoundaryEventSplit,
    BpmnStartTask,
    _EndJoin,
)
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent as DefaultBoundaryEvent
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    CodeEventDefinition,
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import (
    CancelEventDefinition,
    NoneEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, EventSubprocess
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffEndEventParser,
    SpiffIntermediateThrowEventParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.spiff.specs.defaults import EventSubprocess as SpiffEventSubprocess
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine import listener_locals, reserved_ids, thrown_codes
from engine.caught_variables import CAUGHT_AS, caught_values, mark_specs, payload_values
from engine.foreign_hints import candidate_roles
from engine.interrupts import InterruptingBoundaryEventJoin, cancel_activity, interrupting_joins
from engine.scope_merge import DATA_BEFORE_EVENT, KEPT_LOCAL, carry_run, merge_at_scope_end
from engine.starter import StarterStartEvent, initiator_variable, sets_starter
from engine.subprocess_lanes import lane_inside

# The task of the error or escalation end or throw event that is throwing right now.
_THROWER: ContextVar[Any] = ContextVar("dialflow_thrower", default=None)
# Caught again and again while the scope is active, each occurrence its own run.
_REPEATING = (MessageEventDefinition, SignalEventDefinition, EscalationEventDefinition)
_SCOPED = (ErrorEventDefinition, EscalationEventDefinition)
# Throws whose catch takes the thrower's data: errors and escalations, and a transaction's
# cancel end event (its cancel boundary event's path sees what the transaction set).
_CARRYING = (*_SCOPED, CancelEventDefinition)
_UNFINISHED = TaskState.NOT_FINISHED_MASK
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
# A catch's internal data: what the path after it starts with, from the thrower.
THROWN_WITH = "thrown_with"
# What a failure's catch gets across a call activity: the called process's data stays its own.
FAILURE_FIELDS = ("error_code", "error_message")
# A failure's event: the names of the data its handler or script gave it, which cross too.
ERROR_DATA = "error_data_names"


class EventSubprocessStart(CatchingEvent, BpmnSpecMixin):
    """The start event of an event subprocess, waiting in the parent scope for its event."""

    def __init__(
        self, wf_spec: Any, bpmn_id: str, event_definition: Any, cancel_activity: bool, **kwargs
    ) -> None:
        super().__init__(wf_spec, bpmn_id, event_definition=event_definition, **kwargs)
        self.cancel_activity = cancel_activity

    def catches(self, my_task: Any, event: Any) -> bool:
        if my_task.state != TaskState.WAITING or not super().catches(my_task, event):
            return False
        if isinstance(self.event_definition, _SCOPED):
            thrower = _THROWER.get()
            return thrower is not None and my_task in closest_catchers(thrower, event)
        return True

    def catch(self, my_task: Any, event: Any) -> None:
        super().catch(my_task, event)
        thrower = _THROWER.get()
        thrown_with: dict[str, Any] = {}
        failed = thrower is not None and failed_activity(thrower) is not None
        if thrower is not None and (failed or thrower.workflow is not my_task.workflow):
            # a failure's data, or what the subprocess the error or escalation left had set
            # (the scope's open tasks hold that subprocess's data from before it started)
            thrown_with = thrower_data(event, my_task) or {}
        thrown_with |= payload_values(self.event_definition, event, failed)
        thrown_with |= caught_values(self, event, thrower)  # camunda:errorCodeVariable
        if thrown_with:
            my_task.internal_data[THROWN_WITH] = thrown_with

    def _on_ready_hook(self, my_task: Any) -> None:
        super()._on_ready_hook(my_task)  # no longer waiting
        my_task.data = scope_data(my_task)
        carried = my_task.internal_data.pop(THROWN_WITH, None)
        payload = my_task.internal_data.get(getattr(self.event_definition, "name", None))
        if carried or payload:  # the scope's data without what the event carried, for the
            # start event's Camunda 8 outputs, which keep it local (``io_mappings``)
            my_task.internal_data[DATA_BEFORE_EVENT] = deepcopy(my_task.data)
        # a failure's data: the failed task's from before it ran, with its code and message
        my_task.data.update(carried or {})
        if self.cancel_activity:
            _cancel_rest_of_scope(my_task)
        elif isinstance(self.event_definition, _REPEATING) and my_task.parent is not None:
            again = my_task.parent._add_child(self, TaskState.MAYBE)
            self._update(again)


def is_listener(task: Any) -> bool:
    return isinstance(task.task_spec, EventSubprocessStart)


def keep_event_local(run: Any) -> dict[str, Any] | None:
    """The scope's data without what the event carried, for the run ``run`` (a workflow) of
    an event subprocess whose start event carried something, else None; the event is marked
    kept local, so the scope's end does not take what it carried either (``scope_merge``)."""
    if run.parent_task_id is None or run.parent_workflow is None:
        return None
    task = run.parent_workflow.get_task_from_id(run.parent_task_id)
    while task is not None and not is_listener(task):
        if not isinstance(task.task_spec, EventSubprocess):
            return None
        task = task.parent
    if task is None or DATA_BEFORE_EVENT not in task.internal_data:
        return None
    task.internal_data[KEPT_LOCAL] = True
    return task.internal_data[DATA_BEFORE_EVENT]


def scope_data(listener: Any) -> dict[str, Any]:
    """The scope's data as its open tasks hold it now (the main path's, not the runs of
    other event subprocesses), over the data the listener started with. An open instance of
    a multi-instance activity keeps its item variables (``instance_items``): the run is no
    part of it."""
    data = deepcopy(listener.data)
    for task in listener.workflow.tasks.values():
        if (
            task is listener
            or not task.has_state(_LIVE)
            or isinstance(task.task_spec, (EventSubprocessStart, EventSubprocess, _EndJoin))
        ):
            continue
        items = instance_items(task)
        DeepMerge.merge(data, {k: deepcopy(v) for k, v in task.data.items() if k not in items})
    return data


def _cancel_rest_of_scope(listener: Any) -> None:
    """Cancel every task of the listener's workflow that is not on its own path, with all
    that runs inside it (``cancel_activity``: the instances of a multi-instance activity)."""
    path = [listener]
    while path[-1].parent is not None:
        path.append(path[-1].parent)
    on_path = {id(task) for task in path}
    for ancestor in path[1:]:
        for child in list(ancestor.children):
            if id(child) not in on_path:
                cancel_activity(child)


class ScopeStart(BpmnStartTask):
    """The start of a scope with event subprocesses: each one's start event listens beside
    the main path instead of SpiffWorkflow's connection (see the module's docstring)."""

    def connect_or_add_trigger(self, task_spec: Any, sp_spec: Any) -> None:
        if not isinstance(task_spec, EventSubprocess):
            # SpiffWorkflow 3.2's parser looks for ``triggeredByEvent`` in the BPMN namespace,
            # where no diagram puts it, and builds a plain subprocess: the runs are told from
            # the main path by this class (``scope_data``, ``drop_finished_runs``,
            # ``closest_catchers``)
            task_spec.__class__ = SpiffEventSubprocess
        start = sp_spec.bpmn_start_events[0]
        listener = EventSubprocessStart(
            self._wf_spec,
            start.bpmn_id,
            event_definition=start.event_definition,
            cancel_activity=getattr(start, "interrupting", True),
            bpmn_name=start.bpmn_name,
            lane=task_spec.lane,
            description=start.description,
        )
        if hasattr(start, CAUGHT_AS):
            setattr(listener, CAUGHT_AS, getattr(start, CAUGHT_AS))
        start.event_definition = NoneEventDefinition()  # inside, the run starts at once
        self.connect(listener)
        listener.connect(task_spec)
        task_spec.connect(self._wf_spec.end)


class ScopeEnd(_EndJoin):
    """The end of a scope with event subprocesses: waits for every token of the scope but
    the listeners, and cancels those when it goes on (the scope is over)."""

    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        listening = []
        stack = [my_task.workflow.task_tree]
        while stack:
            task = stack.pop()
            if task is not my_task and task.has_state(_UNFINISHED):
                if is_listener(task) and task.state == TaskState.WAITING:
                    listening.append(task)
                    continue  # its predicted path is no token
                return False
            if task.task_spec.name != self.name:
                stack.extend(task.children)
        carried: dict[str, Any] = {}
        for task in listening:
            DeepMerge.merge(carried, task.internal_data.pop(CARRIED, {}))
            task.cancel()
        if carried:
            my_task.internal_data[CARRIED] = carried
        return True

    def _run_hook(self, my_task: Any) -> Any:
        # each branch's changes, the finished runs pruned away (``drop_finished_runs``) too
        carried = my_task.internal_data.pop(CARRIED, {})
        merge_at_scope_end(self, my_task, carried, is_listener)
        my_task.workflow.data.update(my_task.data)  # as SpiffWorkflow's end join
        return True


# A listener's internal data: what the finished runs of its event subprocess left, carried
# to the scope's end once their tasks are dropped from the tree (``scope_merge.carry_run``).
CARRIED = "event_subprocess_data"


def drop_finished_runs(workflow: Any, trail: Any = None) -> int:
    """Drop each finished run of a non-interrupting event subprocess from the scope's tree and
    its subprocess, carrying its data on the listener waiting for the next occurrence;
    returns how many tasks went. Without this every message or escalation caught would stay
    in the state for good. Only a scope with event subprocesses has anything to drop."""
    if workflow.spec.start.__class__ is not ScopeStart:
        return 0
    waiting: dict[str, Any] = {}
    done = []
    for task in workflow.tasks.values():
        if not is_listener(task):
            continue
        if task.state == TaskState.WAITING:
            waiting[task.task_spec.name] = task
        elif task.state == TaskState.COMPLETED and not task.task_spec.cancel_activity:
            done.append(task)
    top = workflow.top_workflow
    removed = 0
    for listener in done:
        heir = waiting.get(listener.task_spec.name)
        if heir is None or listener.parent is None:
            continue
        tree = list(_subtree(listener))
        if any(not t.has_state(TaskState.FINISHED_MASK) for t in tree):
            continue
        for task in tree:
            if isinstance(task.task_spec, EventSubprocess) and task.state == TaskState.COMPLETED:
                carry_run(heir.internal_data.setdefault(CARRIED, {}), listener, task)
        inner = []
        for task in tree:
            if task.id in top.subprocesses:
                inner += top.delete_subprocess(task)
        if trail is not None:
            for task in (*tree, *inner):
                trail.add(task)
        listener.parent._children.remove(listener.id)
        for task in tree:
            del workflow.tasks[task.id]
        removed += len(tree) + len(inner)
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        # as a decoded state has it: the instance's data is then read from its open tasks
        workflow.last_task = None
    return removed


def arm_new_listeners(workflow: Any) -> int:
    """After a migration, the event subprocesses of the new version that the instance's scopes
    did not have start listening (the old version's tree has no listener for them, and
    nothing else would ever add one); returns how many."""
    armed = 0
    for flow in (workflow, *workflow.subprocesses.values()):
        if flow.spec.start.__class__ is not ScopeStart or flow.completed:
            continue
        present = {task.task_spec.name for task in flow.tasks.values()}
        for spec in flow.spec.start.outputs:
            if isinstance(spec, EventSubprocessStart) and spec.name not in present:
                listener = flow.task_tree._add_child(spec, TaskState.MAYBE)
                spec._update(listener)
                armed += 1
    return armed


def _subtree(task: Any) -> Iterator[Any]:
    stack = [task]
    while stack:
        task = stack.pop()
        yield task
        stack.extend(task.children)


class _ThrowsInScope:
    """An error, escalation or cancel throw that records its task while it throws."""

    def _run_hook(self, my_task: Any) -> Any:
        token = _THROWER.set(my_task)
        try:
            return super()._run_hook(my_task)  # type: ignore[misc]
        finally:
            _THROWER.reset(token)


class ScopedEndEvent(_ThrowsInScope, EndEvent):
    pass


class ScopedIntermediateThrowEvent(_ThrowsInScope, IntermediateThrowEvent):
    pass


def closest_catchers(thrower: Any, event: Any) -> list[Any]:
    """The waiting tasks that take an error or escalation thrown at ``thrower``: the boundary
    events of the nearest activity around it that catch it, else the listeners of the nearest
    scope. One thrown inside a run of an event subprocess is offered to the other event
    subprocesses of the run's scope, not to the run's own (which would start itself again),
    as Camunda's engines do. A catch naming the code wins over one that catches any. A
    failing task's error is thrown at its activity (``failed_activity``), whose own boundary
    events come first, and only interrupting catches take it."""
    workflow, inner = thrower.workflow, thrower
    top = workflow.top_workflow
    failed = failed_activity(thrower)
    while True:
        found: list[Any] = []
        split = activity_of(inner).parent
        if (
            (inner is not thrower or failed is not None)
            and split is not None
            and isinstance(split.task_spec, BoundaryEventSplit)
        ):
            found = [
                t
                for t in split.children
                if isinstance(t.task_spec, BoundaryEvent)
                and t.state == TaskState.WAITING
                and (failed is None or t.task_spec.cancel_activity)
                and t.task_spec.event_definition.catches(t, event)
            ]
        if not found:
            own = _own_listener(inner)
            found = [
                t
                for t in _listeners(top, workflow)
                if t.task_spec is not own
                and (failed is None or t.task_spec.cancel_activity)
                and t.task_spec.event_definition.catches(t, event)
            ]
        if found:
            named = [t for t in found if _names_code(t.task_spec.event_definition)]
            return named or found
        if workflow.parent_task_id is None:
            return []
        inner = top.get_task_from_id(workflow.parent_task_id)
        if inner is None:
            return []
        workflow = inner.workflow


def failed_activity(thrower: Any) -> Any:
    """The activity a failing service or script task's error is thrown at (``activity_of``);
    ``None`` for a throw event."""
    if not isinstance(thrower.task_spec, ServiceTask | ScriptTask):
        return None
    return activity_of(thrower)


def activity_of(task: Any) -> Any:
    """The activity whose boundary events hang beside ``task``: the multi-instance or loop
    activity when ``task`` is one of its instances (SpiffWorkflow 3.2 runs each instance as a
    child of the activity's task, with the inner spec, and puts the boundary events beside the
    activity's task), else ``task`` itself."""
    parent = task.parent
    if (
        parent is not None
        and isinstance(parent.task_spec, LoopTask)
        and parent.task_spec.task_spec == task.task_spec.name
    ):
        return parent
    return task


@contextmanager
def throwing(thrower: Any) -> Iterator[None]:
    """``thrower`` recorded as the task throwing while the block offers its event around."""
    token = _THROWER.set(thrower)
    try:
        yield
    finally:
        _THROWER.reset(token)


def error_catches_around(thrower: Any) -> list[tuple[str, str | None]]:
    """The error catches waiting around ``thrower`` (boundary events of the activities around
    it, error event subprocesses of its scopes, out to the top process) as their element ids
    and the codes they take (``None``: any), nearest first: what an incident of an error none
    of them took names, so the process owner sees which code to catch where."""
    found: list[tuple[str, str | None]] = []
    workflow, inner = thrower.workflow, thrower
    top = workflow.top_workflow
    while True:
        split = activity_of(inner).parent
        if inner is not thrower and split is not None:
            waiting = [t for t in split.children if isinstance(t.task_spec, BoundaryEvent)]
            found += _error_codes(t for t in waiting if t.state == TaskState.WAITING)
        own = _own_listener(inner)
        found += _error_codes(t for t in _listeners(top, workflow) if t.task_spec is not own)
        parent_id = workflow.parent_task_id
        inner = top.get_task_from_id(parent_id) if parent_id is not None else None
        if inner is None:
            return found
        workflow = inner.workflow


def _error_codes(catches: Iterator[Any]) -> list[tuple[str, str | None]]:
    return [
        (t.task_spec.bpmn_id, t.task_spec.event_definition.code)
        for t in catches
        if isinstance(t.task_spec.event_definition, ErrorEventDefinition)
    ]


def current_thrower() -> Any:
    """The task throwing an error or escalation right now, if any."""
    return _THROWER.get()


def _own_listener(inner: Any) -> Any:
    """The listener spec whose event started ``inner``, if ``inner`` is a run."""
    if isinstance(inner.task_spec, EventSubprocess) and inner.parent is not None:
        return inner.parent.task_spec
    return None


def _listeners(top: Any, workflow: Any) -> Iterator[Any]:
    for task in list(top.event_manager.tasks.values()):
        if task.workflow is workflow and is_listener(task) and task.state == TaskState.WAITING:
            yield task


def _names_code(definition: Any) -> bool:
    return isinstance(definition, CodeEventDefinition) and definition.code is not None


def left_to_event_subprocess(boundary: Any, event: Any) -> bool:
    """Whether an error or escalation a boundary event matches belongs to a catch nearer to
    its thrower: an event subprocess, or a boundary event of an activity nearer to it (an
    error from a subprocess inside a called process goes to that subprocess's boundary event,
    not to the call activity's). Then the boundary event does not take it."""
    thrower = _THROWER.get()
    if thrower is None or not isinstance(event.event_definition, _SCOPED):
        return False
    closest = closest_catchers(thrower, event)
    return bool(closest) and boundary not in closest


def thrower_data(event: Any, catcher: Any) -> dict[str, Any] | None:
    """A copy of the data of the task throwing ``event`` (an error or escalation without a
    payload expression, or a transaction's cancel) for ``catcher``, a boundary event of an
    embedded subprocess or transaction around it: the path after it sees what the subprocess
    set before it threw, as an event subprocess's run does (SpiffWorkflow 3.2 handed it the
    subprocess's data from before it started: the reason an agent recorded for a refused
    contract was gone on the transaction's cancel path). A called process's data stays its
    own: none of it comes back on an error.

    A failing task's event carries its payload (``engine.caught_failures``: the data from
    before it ran, ``error_code`` and ``error_message``): a catch in its own process gets it
    all, one across a call activity only the code and message."""
    thrower = _THROWER.get()
    if thrower is None or not isinstance(event.event_definition, _CARRYING):
        return None
    failed = failed_activity(thrower) is not None
    if event.payload is not None and not failed:
        return None
    workflow, top = thrower.workflow, thrower.workflow.top_workflow
    local = instance_items(thrower)
    while workflow is not catcher.workflow:
        parent_id = workflow.parent_task_id
        outer = top.get_task_from_id(parent_id) if parent_id is not None else None
        if outer is None or isinstance(outer.task_spec, CallActivity):
            if failed:
                crossing = (*FAILURE_FIELDS, *getattr(event, ERROR_DATA, ()))
                return {key: deepcopy(event.payload.get(key)) for key in crossing}
            return None
        local |= instance_items(outer)
        workflow = outer.workflow
    if failed:
        return {k: deepcopy(v) for k, v in event.payload.items() if k not in local}
    return {
        k: deepcopy(v) for k, v in thrower.data.items() if k not in local and k != "lane_owners"
    }


def instance_items(task: Any) -> set[str]:
    """The item variables (input and output item) of the multi-instance activity ``task`` is
    an instance of; none for any other task. They belong to that instance alone: a path that
    leaves it, as an error caught around the activity does, leaves them behind (else the next
    entry into the activity, a loop back to it, fails: "input item … already exists")."""
    activity = activity_of(task)
    if activity is task:
        return set()
    spec = activity.task_spec
    items = (getattr(spec, "input_item", None), getattr(spec, "output_item", None))
    return {item.bpmn_id for item in items if item is not None}


def _in_event_subprocess(node: Any) -> bool:
    parent = node.getparent()
    return parent is not None and parent.get("triggeredByEvent") in ("true", "1")


class EventStartParser(SpiffStartEventParser):
    """Start events; in an event subprocess also error and escalation starts (SpiffWorkflow
    3.2 reads them as plain starts) and whether it interrupts. A process's start event with
    an ``initiator`` sets that variable to the starter (``engine.starter``)."""

    def create_task(self) -> Any:
        if not _in_event_subprocess(self.node):
            variable = initiator_variable(self.node)
            if variable is None or not sets_starter(self.node, variable):
                return super().create_task()
            self.spec_class = StarterStartEvent
            task = super().create_task()
            task.initiator = variable
            return task
        definition = self.get_event_definition(
            [
                MESSAGE_EVENT_XPATH,
                SIGNAL_EVENT_XPATH,
                TIMER_EVENT_XPATH,
                CONDITIONAL_EVENT_XPATH,
                ERROR_EVENT_XPATH,
                ESCALATION_EVENT_XPATH,
            ]
        )
        task = self._create_task(definition)
        task.interrupting = self.node.get("isInterrupting", "true") not in ("false", "0")
        self.spec.start.connect(task)
        return task


class _ScopedThrowParser:
    """Error, escalation and cancel throws become the classes that record their task."""

    SCOPED_CLASS: type

    def _create_task(self, event_definition: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(event_definition, _CARRYING):
            self.spec_class = self.SCOPED_CLASS
        return super()._create_task(event_definition, *args, **kwargs)  # type: ignore[misc]


class EndEventParser(_ScopedThrowParser, SpiffEndEventParser):
    SCOPED_CLASS = ScopedEndEvent


class ThrowEventParser(_ScopedThrowParser, SpiffIntermediateThrowEventParser):
    SCOPED_CLASS = ScopedIntermediateThrowEvent


class ScopeParser(SpiffProcessParser):
    """A process or subprocess; one with event subprocesses gets ``ScopeStart`` and
    ``ScopeEnd`` (a plain one is built as SpiffWorkflow builds it), and the joins after
    activities with boundary events cancel all that runs inside (``engine.interrupts``)."""

    def _parse(self) -> None:
        super()._parse()
        reserved_ids.restore_element_ids(self.spec)
        specs = reserved_ids.by_element(self.spec)
        mark_specs(self.node, specs)  # Camunda's caught error variables
        thrown_codes.mark_specs(self.node, specs)  # Camunda 8's "=code"
        interrupting_joins(self.spec)  # an interrupt cancels what runs inside the activity

    def get_lane_name(self, node_id: str) -> str | None:
        """The lane an element is listed in; a task outside every lane whose
        ``camunda:candidateGroups`` names a role, that role (``foreign_hints.candidate_roles``)."""
        lane = super().get_lane_name(node_id)
        if lane is not None:
            return lane
        roles = self.__dict__.get("_candidate_roles")
        if roles is None:
            roles = self._candidate_roles = candidate_roles(self.node)
        return roles.get(node_id)

    def parse_node(self, node: Any) -> Any:
        """A subprocess's element listed in the subprocess's own lane set runs in that lane
        (``engine.subprocess_lanes``), not in the subprocess's; else one listed in a lane of
        the process (TIBCO Business Studio and Signavio list a subprocess's tasks in the
        pool's lanes they are drawn in) runs in that one."""
        outer = self.lane
        if outer is not None:
            key = node.get("id")
            self.lane = lane_inside(self.node, key) or self.lanes_by_node_id.get(key) or outer
        try:
            key = reserved_ids.spec_key(self.spec, node.get("id"))
            if key == node.get("id"):
                spec = super().parse_node(node)
            else:  # named as one of SpiffWorkflow's own specs: held under its internal name
                spec = self.spec.task_specs.get(key) or self._parse_new(node)
            listener_locals.keep_local(spec, node)  # a start listener's variables its own
            return spec
        finally:
            self.lane = outer

    def _parse_new(self, node: Any) -> Any:
        """``ProcessParser.parse_node`` past its look-up by id, which finds SpiffWorkflow's
        own spec of that name."""
        node_parser, spec_class = self.parser._get_parser_class(node.tag)
        if not node_parser or not spec_class:
            raise ValidationException(
                "There is no support implemented for this task type.",
                node=node,
                file_name=self.filename,
            )
        return node_parser(self, spec_class, node, self.nsmap, lane=self.lane).parse_node()

    def create_spec(self) -> Any:
        spec = super().create_spec()
        reserved_ids.guard(
            spec, reserved_ids.taken_names(spec, self.node, self.boundary_events_by_attached)
        )
        if self.xpath("./bpmn:subProcess[@triggeredByEvent='true']"):
            spec.start.__class__ = ScopeStart
            spec.end.__class__ = ScopeEnd
        return spec


def serializer_config(config: dict[type, Any]) -> dict[type, Any]:
    """SpiffWorkflow's serializer ``config`` converting these classes as their bases (the
    listener as a boundary event: an event definition and whether it interrupts), which
    migration's diff needs."""
    return {
        **config,
        EventSubprocessStart: config[DefaultBoundaryEvent],
        ScopeStart: config[BpmnStartTask],
        ScopeEnd: config[_EndJoin],
        ScopedEndEvent: config[EndEvent],
        ScopedIntermediateThrowEvent: config[IntermediateThrowEvent],
        InterruptingBoundaryEventJoin: config[BoundaryEventJoin],
    }
