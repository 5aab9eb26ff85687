"""BPMN constructs Dialflow does not execute, all listed before the parser runs.

SpiffWorkflow's parser stops at the first construct it refuses in a process, with messages
such as "Multiple outgoing flows are not supported for tasks of type." or a raw
``NotImplementedError``; a diagram from another tool then gets its problems one deploy at a
time. This pre-pass walks the XML of every executable process and names each such element at
once, in words a process owner can act on. It also refuses events that SpiffWorkflow accepts
but that nothing would ever deliver in Dialflow: signals and escalations that no element of the
same instance throws (Dialflow delivers neither between instances), signal start events, and
conditional events (nothing re-evaluates their condition when data changes). Event
subprocesses run through ``engine.event_subprocesses``; refused are those it cannot run as
BPMN says: a start event without a trigger or with several, a non-interrupting error start
(BPMN has none), a cycle timer start, one with sequence flows in or out or a boundary event
attached (BPMN allows neither), and two in one scope started by the same message, error or
escalation. Two boundary events of one activity caught by the same message, error,
escalation or signal are refused too (both paths would run). A process with several
untriggered start events would run only one of them.

What SpiffWorkflow 3.2 refuses was found by parsing small diagrams: complex gateways (and any
other flow node it has no parser for), an activity with more than one outgoing sequence flow,
compensation boundary events, and data stores (none has an implementation in Dialflow).
Ad-hoc subprocesses parse but fail as soon as they start (``KeyError: 'data_objects'`` in
SpiffWorkflow's own completion handling, with or without a completion condition), so they are
refused too. Transactions and signals or escalations thrown and caught within one instance
parse and run; link events run once ``engine.links`` has joined each throw to its
catch (SpiffWorkflow 3.2 alone ended the path at the throw). A conditional event is evaluated
once, when the path reaches it: SpiffWorkflow 3.2's ``refresh_timers`` updates only timer
events afterwards, so a condition false at that moment waits forever.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from lxml import etree

from engine.bpmn_xml import ACTIVITIES, BPMN_NS, SAFE_XML, element_problem
from engine.errors import problem
from engine.feel import literal, unary_test
from engine.feel_temporal import temporal_problem
from engine.hit_policies import REWRITTEN, priority_problems
from engine.unthrown_errors import unthrown_boundary_problems

SUPPORTED_NODES = ACTIVITIES | {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
}
UNSUPPORTED_NODES = {
    "complexGateway": "complex gateways are not supported: use an exclusive, inclusive or "
    "parallel gateway",
    "adHocSubProcess": "ad-hoc subprocesses are not supported: SpiffWorkflow 3.2 fails one as "
    "soon as it starts, with or without a completion condition; draw the optional activities as "
    "branches of an inclusive gateway, or as user tasks of their own",
}
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
CATCHES = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
THROWS = {"intermediateThrowEvent", "endEvent"}

ON_EVENT_SUBPROCESS = (
    "a boundary event cannot be attached to an event subprocess (BPMN): its own start event "
    "starts it; put the catch inside it, or catch the event in the enclosing scope"
)

# The parser's messages, for problems the pre-pass did not already name (and to rewrite them).
PARSER_MESSAGES = (
    (
        re.compile(r"Multiple outgoing flows are not supported for tasks of type"),
        "an activity can have only one outgoing sequence flow: put an exclusive or parallel "
        "gateway after it",
    ),
    (
        re.compile(r"There is no support implemented for this task type"),
        "this kind of element is not supported by Dialflow",
    ),
    (
        re.compile(r"Unsupported Catch Event"),
        "this kind of boundary event is not supported by Dialflow (compensation boundary "
        "events are not executed)",
    ),
    (
        re.compile(r"'list' object has no attribute 'tag'"),
        "the decision this task calls is in a DMN file with several decisions",
    ),
    (re.compile(r"'BoundaryEventSplit' object has no attribute 'spec'"), ON_EVENT_SUBPROCESS),
    (
        # SpiffWorkflow's DMN engine takes the decision's first decision table, and there is
        # none in a literal expression, a context or an invocation.
        re.compile(r"^IndexError\('list index out of range'\)"),
        "the decision this task calls has no decision table; only decision tables are supported",
    ),
    (
        re.compile(r"^Data Store with name "),
        "data stores are not supported: keep the data in the process (task data) or reach the "
        "system through a service task",
    ),
)


# Parser messages said in plainer words (fixed, or made from the match), but not named by the
# pre-pass (kept in any case).
PARSER_REWORDED: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"RecursionError|maximum recursion depth"),
        "the flow from its start event is too long: SpiffWorkflow's parser follows it "
        "element by element in nested calls and gives up after about 480 elements in a row; "
        "split it into subprocesses or call activities",
    ),
    (
        re.compile(r"^Time Specification Error"),
        "a timer event needs a date, a duration or a cycle (timeDate, timeDuration or "
        "timeCycle), such as a timeDuration of \"'PT1H'\"",
    ),
    (
        re.compile(r"^Non-default exclusive outgoing sequence flow without condition"),
        "leaves an exclusive gateway without a condition (or with an empty one) and is not "
        "the gateway's default flow: write its condition, or name it as the gateway's "
        'default (default="<flow id>" on the gateway)',
    ),
    (
        re.compile(r'^No "calledElement" attribute for Call Activity'),
        'a call activity names the process it calls: add calledElement="<process id>" '
        "(the id of an executable process of this deploy or deployed before)",
    ),
    (
        re.compile(r"^Cannot resolve data(Input|Output)Association"),
        "a data association of this task must connect it to a data object of its process "
        "(SpiffWorkflow cannot resolve what it points at)",
    ),
    (
        re.compile(
            r'^No DMN Diagram available with id "([^"]*)", Available DMN ids are: (.*?)\.?$'
        ),
        lambda found: _decision_missing(found.group(1), found.group(2).strip()),
    ),
)


def _decision_missing(decision: str, known: str) -> str:
    if decision == "None":  # the task names none
        return (
            "a business rule task needs the decision it calls: name it with "
            "spiffworkflow:calledDecisionId and deploy its .dmn file with it"
        )
    found = f"the decisions it has are {known}" if known else "add the .dmn file that has it"
    return f"calls decision {decision!r}, which no DMN file of this deploy has; {found}"


def rewrite_parser_message(message: str) -> tuple[str, bool]:
    """The parser's garbled or raw message in plain words, and whether the pre-pass names
    the same construct itself (then the parser's problem is left out)."""
    for pattern, plain in PARSER_MESSAGES:
        if pattern.search(message):
            return plain, True
    for pattern, reworded in PARSER_REWORDED:
        found = pattern.search(message)
        if found:
            return (reworded(found) if callable(reworded) else reworded), False
    return message, False


def unsupported_problems(bpmn: dict[str, str]) -> list[dict[str, Any]]:
    """One problem per construct Dialflow does not execute, in every executable process."""
    trees: dict[str, Any] = {}
    for name, text in bpmn.items():
        try:
            trees[name] = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation
    processes = {
        process.get("id"): process
        for tree in trees.values()
        for process in tree.iter(f"{{{BPMN_NS}}}process")
        if process.get("id")
    }
    # A throw's reference is resolved in its own file: a called process may come from another.
    signals_of = {
        process.get("id"): _names(tree, "signal")
        for tree in trees.values()
        for process in tree.iter(f"{{{BPMN_NS}}}process")
    }
    codes_of = {
        process.get("id"): _escalation_codes(tree)
        for tree in trees.values()
        for process in tree.iter(f"{{{BPMN_NS}}}process")
    }
    found: list[dict[str, Any]] = []
    for name, tree in trees.items():
        own = list(tree.iter(f"{{{BPMN_NS}}}process"))
        executable = [p for p in own if p.get("isExecutable") != "false"] or own
        signals = _names(tree, "signal")
        escalations = _names(tree, "escalation")
        for process in executable:
            scope = _scope(process, processes)
            thrown_signals = _thrown(scope, "signalEventDefinition", "signalRef", signals_of)
            thrown_escalations = _thrown(
                scope, "escalationEventDefinition", "escalationRef", codes_of
            )
            context = _Context(name, signals, escalations, thrown_signals, thrown_escalations)
            found += _process_problems(process, context)
        found += _unused_data_stores(name, tree, executable)
        found += unthrown_boundary_problems(name, executable)
    return found


class _Context:
    def __init__(
        self,
        file: str,
        signals: dict[str, str],
        escalations: dict[str, str],
        thrown_signals: set[str | None],
        thrown_escalations: set[str | None],
    ) -> None:
        self.file = file
        self.signals = signals
        self.escalations = escalations
        self.thrown_signals = thrown_signals
        self.thrown_escalations = thrown_escalations  # by code, as SpiffWorkflow matches them

    def report(self, element: Any, message: str, part: Any = None) -> dict[str, Any]:
        """``element``'s problem, on the line of ``part`` of it when given."""
        label = _label(element)
        return problem(
            f"{self.file}: {label}: {message}",
            element_id=element.get("id"),
            line=(element if part is None else part).sourceline,
            file=self.file,
        )


def _process_problems(process: Any, ctx: _Context) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for container in [process, *_descendants(process, CONTAINERS)]:
        outgoing: dict[str, int] = {}
        for flow in _children(container, "sequenceFlow"):
            outgoing[flow.get("sourceRef")] = outgoing.get(flow.get("sourceRef"), 0) + 1
        for node in container:
            if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
                continue
            local = etree.QName(node).localname
            if local in UNSUPPORTED_NODES:
                found.append(ctx.report(node, UNSUPPORTED_NODES[local]))
            if local in ACTIVITIES and outgoing.get(node.get("id"), 0) > 1:
                found.append(
                    ctx.report(
                        node,
                        f"has {outgoing[node.get('id')]} outgoing sequence flows; an activity "
                        "can have only one in Dialflow: put an exclusive gateway after it (or "
                        "a parallel gateway to take them all)",
                    )
                )
            if local == "dataStoreReference":
                found.append(
                    ctx.report(
                        node,
                        "data stores are not supported: keep the data in the process (task "
                        "data) or reach the system through a service task",
                    )
                )
            if local in CATCHES:
                found += _catch_problems(node, local, container is process, ctx)
            if _compensates(node, local):
                found.append(ctx.report(node, COMPENSATION))
            if local in ACTIVITIES:
                found += _assignment_problems(node, ctx)
            if local in CONTAINERS and node.get("triggeredByEvent") in ("true", "1"):
                found += _event_subprocess_problems(node, container, ctx)
                found += [
                    ctx.report(boundary, ON_EVENT_SUBPROCESS)
                    for boundary in _children(container, "boundaryEvent")
                    if boundary.get("attachedToRef") == node.get("id")
                ]
        found += _same_trigger_twice(container, ctx)
        found += _same_boundary_trigger_twice(container, ctx)
        plain_starts = [
            node
            for node in _children(container, "startEvent")
            if not any(
                isinstance(child.tag, str) and child.tag.endswith("EventDefinition")
                for child in node
            )
        ]
        if container is process and len(plain_starts) > 1:
            for node in plain_starts:
                found.append(
                    ctx.report(
                        node,
                        f"is one of {len(plain_starts)} start events without a trigger; only "
                        "the first would run (SpiffWorkflow cancels the others): keep one and "
                        "split after it with a parallel gateway",
                    )
                )
    return found


# The triggers an event subprocess's start event may have (``engine.event_subprocesses``);
# conditional starts are refused with every conditional event, compensation with compensation.
EVENT_SUBPROCESS_TRIGGERS = {
    "errorEventDefinition",
    "escalationEventDefinition",
    "messageEventDefinition",
    "signalEventDefinition",
    "timerEventDefinition",
}


def _event_subprocess_problems(node: Any, container: Any, ctx: _Context) -> list[dict]:
    """What of an event subprocess Dialflow cannot run as BPMN says, on the element to change."""
    flows = [
        flow.get("id")
        for flow in _children(container, "sequenceFlow")
        if node.get("id") in (flow.get("sourceRef"), flow.get("targetRef"))
    ]
    if flows:
        return [
            ctx.report(
                node,
                "an event subprocess has no incoming or outgoing sequence flows (BPMN): its "
                f"start event's trigger starts it and it ends within its scope; remove "
                f"{', '.join(map(repr, flows))}, or draw a plain subprocess",
            )
        ]
    starts = _children(node, "startEvent")
    if len(starts) != 1:
        return [
            ctx.report(
                node,
                f"an event subprocess needs exactly one start event (it has {len(starts)}): "
                "the one whose error, escalation, message, signal or timer starts it",
            )
        ]
    (start,) = starts
    kinds = [
        etree.QName(child).localname
        for child in start
        if isinstance(child.tag, str) and child.tag.endswith("EventDefinition")
    ]
    if start.find(f"{{{BPMN_NS}}}eventDefinitionRef") is not None:
        kinds.append("eventDefinitionRef")
    interrupting = start.get("isInterrupting", "true") not in ("false", "0")
    if "compensateEventDefinition" in kinds:
        return [ctx.report(start, COMPENSATION)]
    if "conditionalEventDefinition" in kinds:
        return []  # refused with every conditional event
    if not kinds:
        return [
            ctx.report(
                start,
                "the start event of an event subprocess needs a trigger: an error, escalation, "
                "message, signal or timer (SpiffWorkflow 3.2 would run it at once)",
            )
        ]
    if len(kinds) > 1 or kinds[0] not in EVENT_SUBPROCESS_TRIGGERS:
        return [
            ctx.report(
                start,
                "the start event of an event subprocess may have one trigger only (error, "
                "escalation, message, signal or timer): draw one event subprocess per trigger",
            )
        ]
    if kinds[0] == "errorEventDefinition" and not interrupting:
        return [
            ctx.report(
                start,
                'an error start event always interrupts (BPMN): remove isInterrupting="false", '
                "or catch an escalation to go on beside the main path",
            )
        ]
    timer = start.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if timer is not None and timer.find(f"{{{BPMN_NS}}}timeCycle") is not None:
        return [
            ctx.report(
                start,
                "a cycle timer is not supported on the start event of an event subprocess "
                "(SpiffWorkflow 3.2 would repeat it without interrupting and with the data of "
                "the scope's start): use a duration or a date, or a cycle timer boundary event",
            )
        ]
    return []


_CONTAINER_TAGS = {f"{{{BPMN_NS}}}{local}" for local in CONTAINERS}
# What an event subprocess's start event is started by, per trigger: the message's name, the
# error's or escalation's code (a catch without a reference catches every one).
_TRIGGER_REFS = {
    "messageEventDefinition": ("messageRef", "message", "name"),
    "errorEventDefinition": ("errorRef", "error", "errorCode"),
    "escalationEventDefinition": ("escalationRef", "escalation", "escalationCode"),
}


def _same_trigger_twice(container: Any, ctx: _Context) -> list[dict]:
    """Two event subprocesses of one scope started by the same message, error or escalation:
    which one runs would be an accident of order (SpiffWorkflow hands the event to both, an
    interrupting one cancels the other), so the second is refused."""
    starts = [
        start
        for node in container
        if node.tag in _CONTAINER_TAGS and node.get("triggeredByEvent") in ("true", "1")
        for start in _children(node, "startEvent")
    ]

    def said(tag: str, what: str, first: Any) -> str:
        return (
            f"starts on the same {tag} as {first.get('id')!r} in the same scope ({what}): "
            f"which of the two would run is chance; draw one event subprocess per {tag} and "
            "scope, with a gateway inside it where the handling differs"
        )

    return _second_catches(starts, _TRIGGER_REFS, lambda _event: None, said, ctx)


_BOUNDARY_TRIGGER_REFS = {
    **_TRIGGER_REFS,
    "signalEventDefinition": ("signalRef", "signal", "name"),
}


def _same_boundary_trigger_twice(container: Any, ctx: _Context) -> list[dict]:
    """Two boundary events of one activity caught by the same message, error, escalation or
    signal: SpiffWorkflow hands the event to both, so both paths run (and an interrupting one
    cancels the activity under the other); the second is refused."""

    def said(tag: str, what: str, first: Any) -> str:
        return (
            f"catches the same {tag} on {first.get('attachedToRef')!r} as "
            f"{first.get('id')!r} ({what}): both paths would run; keep one boundary event "
            "and put a gateway after it where the handling differs"
        )

    boundaries = _children(container, "boundaryEvent")
    return _second_catches(
        boundaries, _BOUNDARY_TRIGGER_REFS, lambda event: event.get("attachedToRef"), said, ctx
    )


def _second_catches(
    events: list[Any],
    refs: dict[str, tuple[str, str, str]],
    group: Callable[[Any], str | None],
    said: Callable[[str, str, Any], str],
    ctx: _Context,
) -> list[dict]:
    """Each event of ``events`` caught by the same trigger as an earlier one of its group
    (a message's name, an error's or escalation's code, a signal's name; a catch without a
    reference catches every one), reported with ``said(tag, what, first)``."""
    first: dict[tuple[str | None, str, str | None], Any] = {}
    found = []
    for event in events:
        for kind, (attribute, tag, key) in refs.items():
            for definition in _children(event, kind):
                code = _trigger_key(event, definition.get(attribute), tag, key)
                trigger = (group(event), kind, code)
                if trigger not in first:
                    first[trigger] = event
                    continue
                what = f"any {tag}" if code is None else f"{tag} {code!r}"
                found.append(ctx.report(event, said(tag, what, first[trigger])))
    return found


def _trigger_key(element: Any, ref: str | None, tag: str, key: str) -> str | None:
    if not ref:
        return None
    for target in element.getroottree().iter(f"{{{BPMN_NS}}}{tag}"):
        if target.get("id") == ref:
            return target.get(key) or target.get("name") or ref
    return ref


COMPENSATION = (
    "compensation is not supported: SpiffWorkflow 3.2 passes a compensation throw event by and "
    "never runs a compensation handler; model the undo step on the path that needs it"
)


def _compensates(node: Any, local: str) -> bool:
    """A compensation throw or end event, or an activity marked as a compensation handler:
    SpiffWorkflow 3.2 deploys both and runs neither (the undo silently never happened)."""
    if local in THROWS:
        return node.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None
    return local in ACTIVITIES and node.get("isForCompensation") in ("true", "1")


RESOURCE_ROLES = {"performer", "humanPerformer", "potentialOwner"}
BY_LANE = (
    "Dialflow gives a task to the people its lane names; put the task in a lane named after "
    "the role or team"
)
# The task inputs by which jBPM assigns a user task.
PEOPLE_INPUTS = {"GroupId", "ActorId"}


def _assignment_problems(node: Any, ctx: _Context) -> list[dict[str, Any]]:
    """People and values given to a task the way jBPM writes them: SpiffWorkflow 3.2 ignores
    resource roles (the task went to the starter) and the ``<assignment>`` of a data
    association (the input it should fill was missing and the task failed at once)."""
    names = {
        item.get("id"): item.get("name") or item.get("id")
        for item in node.iter(f"{{{BPMN_NS}}}dataInput", f"{{{BPMN_NS}}}dataOutput")
    }
    found = []
    for child in node:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
            continue
        kind = etree.QName(child).localname
        if kind in RESOURCE_ROLES:
            found.append(ctx.report(node, f"<{kind}> is not supported: {BY_LANE}", child))
        elif kind in ("dataInputAssociation", "dataOutputAssociation") and any(
            etree.QName(part).localname in ("assignment", "transformation")
            for part in child
            if isinstance(part.tag, str)
        ):
            target = (child.findtext(f"{{{BPMN_NS}}}targetRef") or "").strip()
            name = names.get(target, target)
            if name in PEOPLE_INPUTS:
                hint = BY_LANE
            elif etree.QName(node).localname == "businessRuleTask":  # jBPM's DMN task
                hint = (
                    "name the decision with spiffworkflow:calledDecisionId (its table reads "
                    "the process data)"
                )
            else:
                hint = "set the value in a script task before this one"
            found.append(
                ctx.report(
                    node,
                    f"the assignment to {name!r} in its {kind} is not supported: SpiffWorkflow "
                    f"does not run it and the task would stop on the missing value; {hint}",
                    child,
                )
            )
    return found


def _catch_problems(node: Any, local: str, top_level: bool, ctx: _Context) -> list[dict]:
    found = []
    for definition in node:
        if not isinstance(definition.tag, str):
            continue
        kind = etree.QName(definition).localname
        if kind == "compensateEventDefinition" and local == "boundaryEvent":
            found.append(ctx.report(node, COMPENSATION))
        elif kind == "conditionalEventDefinition":
            found.append(
                ctx.report(
                    node,
                    "conditional events are not supported: nothing re-evaluates their "
                    "condition when data changes; use an exclusive gateway, a timer or a "
                    "message",
                )
            )
        elif kind == "signalEventDefinition":
            signal = _resolved(definition.get("signalRef"), ctx.signals)
            if local == "startEvent" and top_level:
                found.append(
                    ctx.report(
                        node,
                        "a signal start event never starts an instance: Dialflow does not "
                        "deliver signals from outside an instance; use a message start event",
                    )
                )
            elif signal not in ctx.thrown_signals:
                found.append(
                    ctx.report(
                        node,
                        f"waits for signal {signal!r}, which nothing in this process throws; "
                        "Dialflow delivers signals only within one instance (use a message "
                        "to reach it from outside)",
                    )
                )
        elif kind == "escalationEventDefinition" and _on_call_to_nothing(node):
            continue  # the call activity's own problem says why nothing is called
        elif kind == "escalationEventDefinition":
            ref = definition.get("escalationRef")
            escalation = _resolved(ref, ctx.escalations)
            code = _resolved(ref, _escalation_codes(node.getroottree()))
            if code is None:  # no escalation or no code: SpiffWorkflow catches every one
                caught = bool(ctx.thrown_escalations)
            else:
                caught = bool(ctx.thrown_escalations & {code, None})
            if not caught:
                found.append(
                    ctx.report(
                        node,
                        (
                            f"waits for escalation {escalation!r}"
                            if escalation
                            else "waits for an escalation"
                        )
                        + ", which nothing in this process throws; Dialflow delivers "
                        "escalations only within one instance",
                    )
                )
    return found


def _unused_data_stores(name: str, tree: Any, executable: list[Any]) -> list[dict[str, Any]]:
    """A ``<bpmn:dataStore>`` with no reference in a process still stops the parser."""
    referenced = {
        ref.get("dataStoreRef")
        for process in executable
        for ref in process.iter(f"{{{BPMN_NS}}}dataStoreReference")
    }
    found = []
    for store in tree.iter(f"{{{BPMN_NS}}}dataStore"):
        if store.get("id") not in referenced:
            found.append(
                problem(
                    f"{name}: dataStore {store.get('id')!r}: data stores are not supported; "
                    "remove it, keep the data in the process or reach the system through a "
                    "service task",
                    element_id=store.get("id"),
                    line=store.sourceline,
                    file=name,
                )
            )
    return found


def _on_call_to_nothing(node: Any) -> bool:
    """Whether ``node`` is a boundary event on a call activity that names no process."""
    if etree.QName(node).localname != "boundaryEvent" or node.getparent() is None:
        return False
    for host in node.getparent():
        if isinstance(host.tag, str) and host.get("id") == node.get("attachedToRef"):
            return (
                etree.QName(host).localname == "callActivity"
                and not (host.get("calledElement") or "").strip()
            )
    return False


def _scope(process: Any, processes: dict[str, Any]) -> list[Any]:
    """The process and every process it calls (call activities), transitively."""
    seen = {process.get("id")}
    scope = [process]
    index = 0
    while index < len(scope):
        for call in scope[index].iter(f"{{{BPMN_NS}}}callActivity"):
            called = call.get("calledElement")
            if called in processes and called not in seen:
                seen.add(called)
                scope.append(processes[called])
        index += 1
    return scope


def _thrown(
    scope: list[Any], definition: str, ref: str, names_of: dict[str, dict[str, Any]]
) -> set:
    """What the scope's throws name, each reference resolved by its own process's file."""
    thrown: set[str | None] = set()
    for process in scope:
        names = names_of.get(process.get("id"), {})
        for element in process.iter():
            if not isinstance(element.tag, str) or etree.QName(element).localname not in THROWS:
                continue
            for inner in element.iter(f"{{{BPMN_NS}}}{definition}"):
                thrown.add(_resolved(inner.get(ref), names))
    return thrown


def _names(tree: Any, tag: str) -> dict[str, str]:
    """Signal or escalation id → the name SpiffWorkflow matches throws and catches by."""
    return {
        element.get("id"): element.get("name") or element.get("id")
        for element in tree.iter(f"{{{BPMN_NS}}}{tag}")
        if element.get("id")
    }


def _escalation_codes(tree: Any) -> dict[str, str | None]:
    """Escalation id → its ``escalationCode``, by which SpiffWorkflow matches throw and catch
    (its name is not compared; no code catches every escalation)."""
    return {
        element.get("id"): element.get("escalationCode") or None
        for element in tree.iter(f"{{{BPMN_NS}}}escalation")
        if element.get("id")
    }


def _resolved(ref: str | None, names: dict[str, Any]) -> str | None:
    if not ref:
        return None
    return names.get(ref, ref)


def _children(container: Any, local: str) -> list[Any]:
    return [child for child in container if child.tag == f"{{{BPMN_NS}}}{local}"]


def _descendants(container: Any, locals_: set[str]) -> list[Any]:
    return [
        element
        for element in container.iter()
        if element is not container
        and isinstance(element.tag, str)
        and etree.QName(element).namespace == BPMN_NS
        and etree.QName(element).localname in locals_
    ]


def _label(element: Any) -> str:
    kind = etree.QName(element).localname
    label = f"{kind} {element.get('id')!r}"
    if element.get("name"):
        label += f" ({' '.join(element.get('name').split())})"
    return label


# What SpiffWorkflow 3.2's DMN engine does with each hit policy: UNIQUE, FIRST and ANY return
# the first matching rule (right for FIRST, and for UNIQUE and ANY tables that are correct),
# COLLECT a list per output; RULE ORDER, PRIORITY and OUTPUT ORDER are rewritten into those
# (``engine.hit_policies``). A COLLECT aggregation (SUM, COUNT, MIN, MAX) would be ignored.
HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "COLLECT", *REWRITTEN}


# The model namespaces of DMN 1.1 to 1.5 all lie under this address.
DMN_NAMESPACE = re.compile(r"^https?://www\.omg\.org/spec/DMN/\d{8}/")


def is_dmn(tree: Any) -> bool:
    """Whether ``tree`` is the ``<definitions>`` of a DMN version (what the parser can read:
    anything else failed in it with "XPathEvalError: Undefined namespace prefix")."""
    namespace = etree.QName(tree).namespace or ""
    return _local(tree) == "definitions" and bool(DMN_NAMESPACE.match(namespace))


def has_decision(tree: Any) -> bool:
    return any(isinstance(e.tag, str) and _local(e) == "decision" for e in tree)


def decision_problems(dmn: dict[str, str]) -> list[dict[str, Any]]:
    """One problem per DMN construct SpiffWorkflow 3.2 would refuse late or decide wrongly:
    several decisions in one file, decisions that are no table, hit policies and aggregations
    it does not implement, and cells that are not the Python its rules are evaluated as."""
    found: list[dict[str, Any]] = []
    for name, text in dmn.items():
        try:
            tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation

        def report(element: Any, message: str, name: str = name) -> None:
            found.append(element_problem(name, element, message))

        if not is_dmn(tree):
            namespace = etree.QName(tree).namespace
            found.append(
                problem(
                    f"{name}: is no DMN file: its root is <{_local(tree)}>"
                    + (f" of {namespace!r}" if namespace else " without a namespace")
                    + ", where a DMN file has the <definitions> of a DMN version "
                    "(such as https://www.omg.org/spec/DMN/20191111/MODEL/)",
                    line=tree.sourceline,
                    file=name,
                )
            )
            continue
        decisions = [e for e in tree if isinstance(e.tag, str) and _local(e) == "decision"]
        if not decisions:
            found.append(
                problem(
                    f"{name}: holds no decision; a DMN file needs one decision table",
                    line=tree.sourceline,
                    file=name,
                )
            )
        for extra in decisions[1:]:
            report(
                extra,
                f"is the {_ordinal(decisions.index(extra) + 1)} decision of this file; Dialflow "
                "reads one decision per DMN file (SpiffWorkflow 3.2): put it in a file of its own",
            )
        for decision in decisions:
            tables = [
                e for e in decision if isinstance(e.tag, str) and _local(e) == "decisionTable"
            ]
            if not tables:
                report(decision, "is not a decision table; only decision tables are supported")
            for table in tables:
                _table_problems(table, report)
    return found


def _table_problems(table: Any, report: Any) -> None:
    policy = " ".join((table.get("hitPolicy") or "UNIQUE").split()).upper()
    if policy not in HIT_POLICIES:
        report(
            table,
            f"hit policy {policy} is not supported (SpiffWorkflow 3.2 would answer with the "
            "first matching rule); use UNIQUE, FIRST, ANY, COLLECT, RULE ORDER, PRIORITY or "
            "OUTPUT ORDER",
        )
    for element, message in priority_problems(table):
        report(element, message)
    if policy == "COLLECT" and table.get("aggregation"):
        report(
            table,
            f"COLLECT with aggregation {table.get('aggregation')} is not supported (the list of "
            "values would come back unaggregated); drop the aggregation and sum, count or pick "
            "in a script task after the decision",
        )
    for element in table.iter():
        if not isinstance(element.tag, str):
            continue
        local = _local(element)
        text_node = next(
            (c for c in element if isinstance(c.tag, str) and _local(c) == "text"), None
        )
        text = (text_node.text or "").strip() if text_node is not None else ""
        if not text:
            continue
        if temporal_problem(local, text):
            report(element, temporal_problem(local, text))
        elif local == "inputExpression":
            problem_text = _python_problem(text, "eval")
            if problem_text:
                report(element, f"input expression {text!r} is not Python: {problem_text}")
        elif local == "inputEntry" and text != "-":
            message = _unary_test_problem(unary_test(text))
            if message:
                report(element, message)
        elif local == "outputEntry":
            problem_text = _python_problem(literal(text), "eval")
            if problem_text:
                report(element, f"output {text!r} is not a Python expression: {problem_text}")


def _unary_test_problem(text: str) -> str | None:
    """SpiffWorkflow compares ``input == (cell)``, or appends the cell to the input when it
    starts with an operator (``>= 10``, ``in (…)``); ``?`` stands for the input."""
    if "?" in text:
        candidate = re.sub(r"""\?(?=(?:[^'"]|['"][^'"]*['"])*$)""", "v", text)
        error = _python_problem(candidate, "eval")
        return f"rule cell {text!r} is not Python: {error}" if error else None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        error = _python_problem(f"v {text}", "eval")
        if error is None:
            return None
        if re.match(r"^\s*[\[(].*\.\..*[\])]\s*$", text):
            return (
                f"rule cell {text!r} is a FEEL range; SpiffWorkflow evaluates Python: write "
                "e.g. '1 <= ? <= 5' or '>= 1'"
            )
        return f"rule cell {text!r} is not Python: {error}"
    body = tree.body
    if isinstance(body, ast.Tuple):
        return (
            f"rule cell {text!r} is a FEEL list of alternatives, which Python would compare as "
            f"one tuple and never match: write 'in ({text})'"
        )
    if isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not):
        return (
            f"rule cell {text!r} is a FEEL negation, which Python reads as a boolean: write "
            'e.g. \'!= "East"\' or \'not in ("East", "West")\''
        )
    return None


def _python_problem(text: str, mode: str) -> str | None:
    try:
        compile(text, "<dmn>", mode)
    except SyntaxError as exc:
        return exc.msg
    return None


def _local(element: Any) -> str:
    return etree.QName(element).localname


def _ordinal(number: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(number, f"{number}th")
