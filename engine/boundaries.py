"""Non-interrupting boundary events that keep listening while their activity runs.

BPMN starts a path from a non-interrupting message, signal or escalation boundary event for
each occurrence while its activity runs; SpiffWorkflow 3.2 catches the first and then stops
waiting, so a second signal thrown in another branch, a second escalation from the subprocess
or a second message found nothing (the message was answered 404). Each such event, once it
caught, waits again beside the path it started; the activity's end cancels the wait with the
other boundary events (``BoundaryEventJoin``). Timers are left as SpiffWorkflow runs them: a
duration fires once, a cycle repeats on its own.

An error or escalation is caught by the boundary event that names its code; a catch-all beside
it (no code) takes only the others (SpiffWorkflow 3.2 ran both paths). An error end event whose
error nothing catches fails (``CheckedEndEvent``) instead of ending its path quietly.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, GatewayParser
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    InclusiveGateway,
    IntermediateThrowEvent,
    ParallelGateway,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    CodeEventDefinition,
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.spiff.parser.event_parsers import SpiffBoundaryEventParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ScriptTask, ServiceTask, UserTask
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition as SpiffErrorEventDefinition,
)
from SpiffWorkflow.spiff.specs.event_definitions import (
    EscalationEventDefinition as SpiffEscalationEventDefinition,
)
from SpiffWorkflow.spiff.specs.event_definitions import (
    MessageEventDefinition as SpiffMessageEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine.bpmn_xml import ACTIVITIES, BPMN_NS
from engine.call_mappings import with_mappings
from engine.caught_variables import caught_values, payload_values
from engine.dmn_checks import required_ids
from engine.event_subprocesses import (
    THROWN_WITH,
    EndEventParser,
    EventStartParser,
    ScopedEndEvent,
    ScopeParser,
    ThrowEventParser,
    current_thrower,
    error_catches_around,
    failed_activity,
    left_to_event_subprocess,
    thrower_data,
)
from engine.hit_policies import DefaultsDMNParser, engine_for
from engine.interrupts import stop_waiting
from engine.io_mappings import ACTIVITIES as IO_ACTIVITIES
from engine.io_mappings import with_io
from engine.joins import BranchMergingInclusiveGateway, BranchMergingParallelGateway
from engine.multi_instance import with_counting
from engine.signal_inputs import with_signal_inputs
from engine.spiff_extensions import TrimmedDecisionParser, UntypedParametersParser
from engine.starter import StarterStartEvent
from engine.task_scripts import (
    PRE_SCRIPT_HEARD,
    PostScriptRetryingManualTask,
    PostScriptRetryingScriptTask,
    PostScriptRetryingServiceTask,
    PostScriptRetryingUserTask,
    PreScriptHeardBusinessRuleTask,
    RetryingUserTaskParser,
    ScriptTaskWithScriptsParser,
)
from engine.thrown_codes import ComputedCodeError, ComputedCodeEscalation, thrown_by
from engine.zeebe_messages import SubscribedMessage, SubscribingGateway, subscribed

_ACTIVITY_TAGS = {full_tag(kind) for kind in ACTIVITIES}
_IO_TAGS = {full_tag(kind) for kind in IO_ACTIVITIES}  # their own io mappings
_THROW_TAGS = {full_tag("endEvent"), full_tag("intermediateThrowEvent")}  # signal inputs
# The elements whose parser reads a message event definition.
_MESSAGE_TAGS = {
    full_tag(kind)
    for kind in (
        "startEvent",
        "endEvent",
        "boundaryEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "sendTask",
        "receiveTask",
    )
}
# What may happen again while the activity runs, each time starting its own path.
REPEATABLE = (MessageEventDefinition, SignalEventDefinition, EscalationEventDefinition)


def repeats(definition: Any) -> bool:
    """Whether a non-interrupting boundary event of ``definition`` catches more than once."""
    if isinstance(definition, MultipleEventDefinition):
        inner = definition.event_definitions
        return bool(inner) and all(repeats(each) for each in inner)
    return isinstance(definition, REPEATABLE)


class RepeatingBoundaryEvent(BoundaryEvent):
    """A boundary event that, non-interrupting, waits for the next occurrence once it caught;
    one without an error or escalation code leaves an event to a boundary event of the same
    activity that names its code (``outranked``)."""

    def catches(self, my_task: Any, event: Any) -> bool:
        return super().catches(my_task, event) and not left_to_event_subprocess(my_task, event)

    def catch(self, my_task: Any, event: Any) -> None:
        if outranked(my_task, event):
            return
        super().catch(my_task, event)
        thrown_with = thrower_data(event, my_task)
        thrower = current_thrower()
        failed = thrower is not None and failed_activity(thrower) is not None
        caught = {
            **payload_values(self.event_definition, event, failed),
            **caught_values(self, event, thrower),  # camunda:errorCodeVariable
        }
        if thrown_with is not None or caught:
            my_task.internal_data[THROWN_WITH] = {**(thrown_with or {}), **caught}
        if not self.cancel_activity and repeats(self.event_definition):
            wait_again(my_task)

    def _update_hook(self, my_task: Any) -> bool | None:
        fired = super()._update_hook(my_task)
        if not fired and cycle_spent(my_task):
            stop_waiting(my_task)  # its last occurrence started its path: nothing is awaited
        return fired

    def _run_hook(self, my_task: Any) -> bool:
        thrown_with = my_task.internal_data.pop(THROWN_WITH, None)
        if thrown_with:
            my_task.set_data(**thrown_with)
        return super()._run_hook(my_task)


def cycle_spent(my_task: Any) -> bool:
    """Whether a non-interrupting cycle timer's task has fired its last repetition.

    SpiffWorkflow 3.2 counts the repetitions down as they fire, and notices none are left
    only at the timer's next refresh (and completes it at the one after): after its third
    firing an ``R3/PT1H`` reminder stayed listed as a wait with no due time, which no
    scheduler pass refreshes, until another step of the instance, whose completion of the
    timer then synced its children with its element's outputs (the reminders it opened)."""
    definition = my_task.task_spec.event_definition
    if not isinstance(definition, CycleTimerEventDefinition) or my_task.task_spec.cancel_activity:
        return False
    event_value = my_task.internal_data.get("event_value")
    return my_task.state == TaskState.WAITING and bool(event_value) and event_value["cycles"] == 0


def outranked(my_task: Any, event: Any) -> bool:
    """Whether a catch-all error or escalation boundary event (no code) should let a boundary
    event of the same activity with the event's code catch it instead.

    SpiffWorkflow 3.2 hands the event to every boundary event that matches, so an error with
    the code of one boundary event was caught by it and by the catch-all beside it: both
    paths ran. BPMN (and Camunda, Flowable, jBPM) give it to the one that names the code.
    """
    definition = my_task.task_spec.event_definition
    if not isinstance(definition, CodeEventDefinition) or definition.code is not None:
        return False
    siblings = my_task.parent.children if my_task.parent is not None else []
    for sibling in siblings:
        other = getattr(sibling.task_spec, "event_definition", None)
        if (
            sibling is not my_task
            and isinstance(sibling.task_spec, BoundaryEvent)
            and type(other) is type(definition)
            and other.code is not None
            and other.catches(sibling, event)
        ):
            return True
    return False


def wait_again(caught: Any) -> None:
    """A new wait of the caught task's event beside it, under the same split.

    The workflow matched the event against the tasks it listed before calling ``catch``, so
    the new wait takes only the next occurrence. It is predicted first, so its outgoing path
    is laid out as the first one's was; the update then makes it wait and registers it.
    """
    if caught.parent is None:
        return
    again = caught.parent._add_child(caught.task_spec, TaskState.MAYBE)
    caught.task_spec._update(again)


class CheckedEndEvent(EndEvent):
    """An end event whose error no boundary event takes fails (an incident on it).

    SpiffWorkflow 3.2 ends the path of an error nothing catches as if it were a none end
    event: the called process or subprocess completed and its caller went on, so a deal that
    "needs the CFO" went on to the contract. BPMN leaves an uncaught error unspecified; Dialflow
    stops there, where the process owner can see it.
    """

    def _run_hook(self, my_task: Any) -> bool:
        definition = self.event_definition
        if not isinstance(definition, ErrorEventDefinition):
            return super()._run_hook(my_task)
        top = my_task.workflow.top_workflow
        before = len(top.bpmn_events)
        done = super()._run_hook(my_task)
        thrown = top.bpmn_events[before:]
        uncaught = [event for event in thrown if thrown_by(event, definition)]
        if uncaught:
            top.bpmn_events = top.bpmn_events[:before] + [e for e in thrown if e not in uncaught]
            thrown_code = uncaught[0].event_definition.code  # a computed one as computed
            code = f" (code {thrown_code!r})" if thrown_code else ""
            # A throw naming no error carries no code, and a boundary event naming an error
            # takes its code alone: "nothing catches it" beside such a boundary event misled.
            uncoded = (
                ""
                if definition.code
                else "; it carries no error code (its errorEventDefinition names no error), and "
                "a boundary event that names an error catches only that error's code: give the "
                "throw the errorRef of the error its catch names"
            )
            # On its task: the step holds this path only, and the other branches run on.
            named = f"error {definition.name!r}" if definition.name else "an error"
            raise WorkflowTaskException(
                f"{named}{code} is thrown here and nothing catches it: no boundary error event "
                "of an enclosing subprocess or calling call activity, and no error event "
                f"subprocess around it, takes it{_other_codes(my_task)}; add one, or end the "
                f"path with a plain end event{uncoded}",
                task=my_task,
            )
        return done


def _other_codes(thrower: Any) -> str:
    """The catches around an error none of them took, with the codes they take instead."""
    catches = [
        f"{element!r} takes code {code!r} only"
        for element, code in error_catches_around(thrower)
        if code is not None
    ]
    return f" (around it: {', '.join(catches)})" if catches else ""


class CheckedScopedEndEvent(CheckedEndEvent, ScopedEndEvent):
    """An error or escalation end event: it records its task while it throws, so the event
    subprocess nearest to it takes the event (``engine.event_subprocesses``), and an error
    nothing takes fails it (``CheckedEndEvent``)."""


class CheckedEndEventParser(EndEventParser):
    SCOPED_CLASS = CheckedScopedEndEvent

    def create_task(self) -> Any:
        """SpiffWorkflow 3.2 reads no signal on an end event: a signal end event ended its path
        as a plain one and threw nothing. It is read here like a signal throw event's."""
        definition = self.get_event_definition(
            [
                MESSAGE_EVENT_XPATH,
                SIGNAL_EVENT_XPATH,
                CANCEL_EVENT_XPATH,
                ERROR_EVENT_XPATH,
                ESCALATION_EVENT_XPATH,
                TERMINATION_EVENT_XPATH,
            ]
        )
        task = self._create_task(definition)
        task.connect(self.spec.end)
        return task


class TaskMessage(SpiffMessageEventDefinition):
    """A message whose correlation is read from the task data, failing on its task.

    SpiffWorkflow 3.2 evaluates a catch's ``spiffworkflow:processVariableCorrelation`` (and a
    throw's retrieval expressions) without its task: a ``booking_ref`` missing from the data
    left an incident on no element, on no task a retry could run again.
    """

    def update_task(self, my_task: Any) -> None:
        try:
            super().update_task(my_task)
        except WorkflowTaskException:
            raise
        except Exception as exc:
            raise _unreadable(self, my_task, exc) from exc

    def throw(self, my_task: Any) -> None:
        try:
            super().throw(my_task)
        except WorkflowTaskException:
            raise
        except Exception as exc:
            raise _unreadable(self, my_task, exc) from exc


def _unreadable(definition: Any, my_task: Any, exc: Exception) -> WorkflowTaskException:
    return WorkflowTaskException(
        f"the correlation of message {definition.name!r} cannot be read from the task's data: "
        f"{type(exc).__name__}: {exc}",
        task=my_task,
        exception=exc,
    )


def with_task_messages(parser: Any) -> Any:
    """``parser`` whose message events are ``TaskMessage``s, or ``SubscribedMessage``s
    (``engine.zeebe_messages``) for the catches of a message with a Camunda 8 subscription."""

    class Parser(parser):  # type: ignore[misc, valid-type]
        def parse_message_event(self, message_event: Any) -> Any:
            definition = super().parse_message_event(message_event)
            if type(definition) is SpiffMessageEventDefinition:
                definition.__class__ = TaskMessage  # a subclass with no state of its own
                # a catch of a Camunda 8 message with a subscription: matched by its key
                return subscribed(self, message_event, definition)
            return definition

    Parser.__name__ = parser.__name__
    return Parser


def serializer_config(config: dict[type, Any]) -> dict[type, Any]:
    """SpiffWorkflow's serializer ``config`` that converts the repeating boundary event and
    the checked end event as it converts its own: migration's diff compares specs through the
    serializer's registry, and an unknown class failed it (``'RepeatingBoundaryEvent' object
    has no attribute 'get'``)."""
    return {
        **config,
        RepeatingBoundaryEvent: config[BoundaryEvent],
        CheckedEndEvent: config[EndEvent],
        StarterStartEvent: config[StartEvent],
        BranchMergingParallelGateway: config[ParallelGateway],
        BranchMergingInclusiveGateway: config[InclusiveGateway],
        CheckedScopedEndEvent: config[EndEvent],
        TaskMessage: config[SpiffMessageEventDefinition],
        ComputedCodeError: config[SpiffErrorEventDefinition],
        ComputedCodeEscalation: config[SpiffEscalationEventDefinition],
        SubscribedMessage: config[SpiffMessageEventDefinition],
        SubscribingGateway: config[MultipleEventDefinition],
        PostScriptRetryingServiceTask: config[ServiceTask],
        PostScriptRetryingScriptTask: config[ScriptTask],
        PostScriptRetryingUserTask: config[UserTask],
        PostScriptRetryingManualTask: config[ManualTask],
        **{heard: config[spec] for spec, heard in PRE_SCRIPT_HEARD.items()},
    }


_TABLE_PARTS = ("decisionTable", "input", "output", "rule", "inputEntry", "outputEntry")


def _give_table_ids(node: Any, namespace: str) -> None:
    """An id for each part of a decision table written without one. DMN's schema makes ids
    optional, and assistants leave them out of rules and cells; SpiffWorkflow 3.2 stopped
    at the first with ``KeyError('id')``, said on the business rule task calling the table."""
    taken = {e.get("id") for e in node.iter() if isinstance(e.tag, str) and e.get("id")}
    count = 0
    for part in _TABLE_PARTS:
        for element in node.iter(f"{{{namespace}}}{part}"):
            if element.get("id"):
                continue
            while (made := f"{part}_{count}") in taken:
                count += 1
            element.set("id", made)
            taken.add(made)


class DialflowParser(SpiffBpmnParser):
    """SpiffWorkflow's parser with boundary events that keep listening (see above),
    multi-instance activities whose completion condition can count (``engine.multi_instance``),
    event subprocesses (``engine.event_subprocesses``), and DMN files read whatever their
    default namespace and with annotation columns (``add_dmn_xml``).
    """

    PROCESS_PARSER_CLASS = ScopeParser
    OVERRIDE_PARSER_CLASSES = {
        **{
            tag: (with_counting(parser), spec) if tag in _ACTIVITY_TAGS else (parser, spec)
            for tag, (parser, spec) in SpiffBpmnParser.OVERRIDE_PARSER_CLASSES.items()
        },
        full_tag("scriptTask"): (
            with_counting(ScriptTaskWithScriptsParser),
            PostScriptRetryingScriptTask,
        ),
        full_tag("userTask"): (with_counting(RetryingUserTaskParser), PostScriptRetryingUserTask),
        full_tag("manualTask"): (
            with_counting(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("manualTask")][0]),
            PostScriptRetryingManualTask,
        ),
        full_tag("serviceTask"): (
            with_counting(UntypedParametersParser),
            PostScriptRetryingServiceTask,
        ),
        full_tag("businessRuleTask"): (
            with_counting(TrimmedDecisionParser),
            PreScriptHeardBusinessRuleTask,
        ),
        full_tag("boundaryEvent"): (SpiffBoundaryEventParser, RepeatingBoundaryEvent),
        full_tag("parallelGateway"): (GatewayParser, BranchMergingParallelGateway),
        full_tag("inclusiveGateway"): (ConditionalGatewayParser, BranchMergingInclusiveGateway),
        full_tag("startEvent"): (EventStartParser, StartEvent),
        full_tag("endEvent"): (CheckedEndEventParser, CheckedEndEvent),
        full_tag("intermediateThrowEvent"): (ThrowEventParser, IntermediateThrowEvent),
    }
    OVERRIDE_PARSER_CLASSES = {
        tag: (
            with_task_messages(parser) if tag in _MESSAGE_TAGS else parser,
            PRE_SCRIPT_HEARD.get(spec, spec),
        )
        for tag, (parser, spec) in OVERRIDE_PARSER_CLASSES.items()
    }
    OVERRIDE_PARSER_CLASSES[full_tag("callActivity")] = (
        with_mappings(OVERRIDE_PARSER_CLASSES[full_tag("callActivity")][0]),
        OVERRIDE_PARSER_CLASSES[full_tag("callActivity")][1],
    )
    OVERRIDE_PARSER_CLASSES = {
        tag: (with_io(parser) if tag in _IO_TAGS else parser, spec)
        for tag, (parser, spec) in OVERRIDE_PARSER_CLASSES.items()
    }
    OVERRIDE_PARSER_CLASSES = {
        tag: (with_signal_inputs(parser) if tag in _THROW_TAGS else parser, spec)
        for tag, (parser, spec) in OVERRIDE_PARSER_CLASSES.items()
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dmn_requires: dict[str, list[str]] = {}  # decision id -> the decisions it requires

    def _add_data_stores(self, bpmn: Any) -> None:
        """Every ``<bpmn:dataStore>`` taken as a store that holds nothing.

        SpiffWorkflow 3.2 stops at a data store it has no class for before it reads any process
        of the file, so a deploy refused for the store (``constructs.py`` refuses every data
        store reference and every store) said nothing else of that file: a service task without
        an operator or a missing form came up only once the store was removed. No version is
        ever deployed with a data store, so the stand-in never runs.
        """
        for data_store in bpmn.iter(f"{{{BPMN_NS}}}dataStore"):
            store_id = data_store.get("id")
            if store_id:
                name = data_store.get("name") or store_id
                self.data_stores[store_id] = BpmnDataStoreSpecification(store_id, name)

    def add_dmn_xml(self, node: Any, filename: str | None = None) -> None:
        """A DMN file whose default namespace is not DMN's, parsed as if it were.

        The KIE / Kogito editor binds the default namespace to the model's own
        (``xmlns="https://kiegroup.org/dmn/_…"``) and DMN to the prefix ``dmn:``; SpiffWorkflow
        3.2 then maps ``dmn`` to the default namespace, finds no decision and fails with
        "IndexError: list index out of range". Trisotech and Signavio write DMN under a prefix
        (``semantic:``, ``dmn:``) with no default namespace at all, where SpiffWorkflow failed
        with "XPathEvalError: Undefined namespace prefix" on no element. The root is rebuilt
        with DMN as its default namespace (the children move over with their lines).

        A decision table's annotation columns (DMN 1.2, written by KIE and Trisotech) are
        comments: SpiffWorkflow 3.2 stopped at them with "Unknown type in decision table", on
        the BPMN file that called the decision. They are left out (the rules' entries for them,
        ``annotationEntry``, it skips itself).

        Its decision is read by ``DefaultsDMNParser``, which keeps a COLLECT table's
        aggregation and the outputs' default values (``engine.hit_policies``). A file of
        several decisions (a decision requirements graph, as Trisotech, Kogito and Camunda
        write it; SpiffWorkflow 3.2 reads one) is read one decision at a time, and what each
        requires is kept for ``get_engine``.
        """
        namespace = etree.QName(node).namespace
        for column in node.findall(f".//{{{namespace}}}decisionTable/{{{namespace}}}annotation"):
            column.getparent().remove(column)
        _give_table_ids(node, namespace)
        if node.nsmap.get(None) != namespace:
            nsmap = {**node.nsmap, None: namespace}
            root = etree.Element(node.tag, attrib=dict(node.attrib), nsmap=nsmap)
            root.sourceline = node.sourceline
            root.text = node.text
            root.extend(list(node))
            node = root
        decisions = [
            e for e in node if isinstance(e.tag, str) and e.tag == f"{{{namespace}}}decision"
        ]
        for decision in decisions:
            self.dmn_requires[decision.get("id")] = [ref for _, ref in required_ids(decision)]
        if len(decisions) > 1:  # a decision requirements graph: one decision per parser
            for decision in decisions:
                root = etree.Element(node.tag, attrib=dict(node.attrib), nsmap=node.nsmap)
                root.sourceline = node.sourceline
                root.append(copy.deepcopy(decision))
                self._add_one_decision(root, filename)
        else:
            self._add_one_decision(node, filename)

    def _add_one_decision(self, node: Any, filename: str | None) -> None:
        super().add_dmn_xml(node, filename)
        for dmn_parser in self.dmn_parsers.values():
            if type(dmn_parser) is DMNParser:  # the one just made: the same, reading more
                dmn_parser.__class__ = DefaultsDMNParser

    def get_engine(self, decision_ref: str, node: Any) -> Any:
        """The engine that decides ``decision_ref`` by its hit policy, after the decisions it
        requires (``<requiredDecision>``), each with its outputs put into the data first."""
        return self._engine(decision_ref, node, ())

    def _engine(self, decision_ref: str, node: Any, path: tuple[str, ...]) -> Any:
        table = super().get_engine(decision_ref, node).decision_table
        required = [
            self._engine(ref, node, (*path, decision_ref))
            for ref in self.dmn_requires.get(decision_ref, [])
            if ref in self.dmn_parsers and ref not in path and ref != decision_ref
        ]
        return engine_for(table, required)
