"""Events Dialflow would not deliver, and event subprocesses or boundary events it could not
run as drawn: checks on the XML of every executable process, run by ``engine.constructs``
before the parser.

They live apart from the other constructs because they share what an event needs to be
understood: which signals and escalations the instance (a process and the processes it calls)
throws, by name or code, each throw's reference read in its own file.

SpiffWorkflow accepts escalations that nothing would ever deliver in Dialflow: those that no
element of the same instance throws (Dialflow delivers them only within one instance), and
conditional events (nothing re-evaluates their condition when data changes). Signals are
broadcast between instances (``engine.signals``): a signal catch or start event that nothing
in its own instance throws deploys, one that names no signal does not. Event subprocesses
run through ``engine.event_subprocesses``; refused are those it cannot run as BPMN says: a
start event without a trigger or with several, a non-interrupting error start (BPMN has
none), a cycle timer start, one with sequence flows in or out or a boundary event attached
(BPMN allows neither), and two in one scope started by the same message, error or
escalation. Two boundary events of one activity caught by the same message, error,
escalation or signal are refused too (both paths would run). Compensation (boundary, throw
and end events, handlers marked ``isForCompensation``) is refused: SpiffWorkflow 3.2 passes
a compensation throw by and never runs the handler.

Escalations thrown and caught within one instance parse and run. A conditional
event is evaluated once, when the path reaches it: SpiffWorkflow 3.2's ``refresh_timers``
updates only timer events afterwards, so a condition false at that moment waits forever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from engine.bpmn_xml import ACTIVITIES, BPMN_NS, CONTAINERS, children
from engine.errors import problem
from engine.zeebe_hints import is_feel
from engine.zeebe_tasks import called_process

THROWS = {"intermediateThrowEvent", "endEvent"}

NON_INTERRUPTING_ERROR = (
    'error boundary events always interrupt their activity (BPMN): remove cancelActivity="false" '
    "(SpiffWorkflow 3.2 ran its path beside the activity, which went on after the error, and "
    "left a failing task's error to an incident); to go on beside the activity, catch an "
    "escalation"
)

ON_EVENT_SUBPROCESS = (
    "a boundary event cannot be attached to an event subprocess (BPMN): its own start event "
    "starts it; put the catch inside it, or catch the event in the enclosing scope"
)


class Context:
    """What the pre-pass knows while it reads one process: its file, the file's signals and
    escalations, and what the instance throws; ``report`` says an element's problem."""

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


def _label(element: Any) -> str:
    kind = etree.QName(element).localname
    label = f"{kind} {element.get('id')!r}"
    if element.get("name"):
        label += f" ({' '.join(element.get('name').split())})"
    return label


def catch_problems(node: Any, local: str, top_level: bool, ctx: Context) -> list[dict]:
    found = []
    for definition in node:
        if not isinstance(definition.tag, str):
            continue
        kind = etree.QName(definition).localname
        if kind == "compensateEventDefinition" and local == "boundaryEvent":
            found.append(ctx.report(node, COMPENSATION))
        elif (
            kind == "errorEventDefinition"
            and local == "boundaryEvent"
            and node.get("cancelActivity", "true").strip() in ("false", "0")
        ):
            found.append(ctx.report(node, NON_INTERRUPTING_ERROR))
        elif kind == "conditionalEventDefinition":
            found.append(ctx.report(node, CONDITIONAL + CONDITIONAL_INSTEAD[local]))
        elif kind == "signalEventDefinition":
            # Signals are broadcast (``engine.signals``): a catch or signal start event waits
            # for a throw of any instance or ``POST /api/v1/signals``, so it needs a name only.
            found += _unnamed_signal(node, definition, "waits for", ctx)
        elif kind == "escalationEventDefinition" and _on_call_to_nothing(node):
            continue  # the call activity's own problem says why nothing is called
        elif kind == "escalationEventDefinition" and _undeclared(definition, ctx.escalations):
            continue  # ``references`` says it names no escalation (and which one it meant)
        elif kind == "escalationEventDefinition":
            ref = definition.get("escalationRef")
            escalation = _resolved(ref, ctx.escalations)
            code = _resolved(ref, escalation_codes(node.getroottree()))
            if code is None:  # no escalation or no code: SpiffWorkflow catches every one
                caught = bool(ctx.thrown_escalations)
            else:
                # A throw naming no escalation (or one without a code) throws no code, and a
                # catch that names a code catches that code alone: the director was never
                # asked, and the deploy said nothing.
                caught = code in ctx.thrown_escalations or any(
                    is_feel(thrown) for thrown in ctx.thrown_escalations
                )  # a code computed when thrown (``engine.thrown_codes``) may be this one
            if not caught:
                uncoded = code is not None and None in ctx.thrown_escalations
                found.append(
                    ctx.report(
                        node,
                        (
                            f"waits for escalation {escalation!r}"
                            if escalation
                            else "waits for an escalation"
                        )
                        + (
                            f" (code {code!r}), which nothing in this process throws: an "
                            "escalation thrown without escalationRef, or whose escalation has "
                            "no escalationCode, throws no code and is caught only by a boundary "
                            f"event that names no escalation; give the throw escalationRef={ref!r}"
                            if uncoded
                            else ", which nothing in this process throws; Dialflow delivers "
                            "escalations only within one instance"
                        ),
                    )
                )
    return found


CONDITIONAL = (
    "conditional events are not supported: nothing re-evaluates their condition when data "
    "changes (a condition false when the path arrives waited for good); "
)
# What to draw instead, by where the conditional event is: whatever changes the data (a
# person, a CRM change, another process) tells the instance so with a message or a signal.
CONDITIONAL_INSTEAD = {
    "intermediateCatchEvent": (
        "to wait until it holds, draw a message catch event for the message sent when it "
        "becomes true (POST /api/v1/messages with the instance's business key), or a timer "
        "catch event followed by an exclusive gateway that tests the condition and goes back "
        "to the timer while it is false"
    ),
    "boundaryEvent": (
        "draw a message or signal boundary event for the message or signal sent when it "
        "becomes true, or a timer boundary event after which a gateway tests it"
    ),
    "startEvent": (
        "start on the message or signal sent when it becomes true (a message or signal start "
        "event), or on a timer whose path tests it with an exclusive gateway"
    ),
}


def throw_problems(node: Any, ctx: Context) -> list[dict]:
    """A signal throw or end event must name its signal: it is broadcast by name."""
    found = []
    for definition in node:
        if isinstance(definition.tag, str) and (
            etree.QName(definition).localname == "signalEventDefinition"
        ):
            found += _unnamed_signal(node, definition, "throws", ctx)
    return found


def _unnamed_signal(node: Any, definition: Any, verb: str, ctx: Context) -> list[dict]:
    """SpiffWorkflow names a signal by its ``<bpmn:signal>``, else by the event's own name;
    with neither, nothing could send or catch it by name."""
    if definition.get("signalRef") or (node.get("name") or "").strip():
        return []
    return [
        ctx.report(
            node,
            f"{verb} a signal it does not name: give its signalEventDefinition a signalRef "
            "to a <bpmn:signal> (whose name is the signal's)",
        )
    ]


def _on_call_to_nothing(node: Any) -> bool:
    """Whether ``node`` is a boundary event on a call activity that names no process."""
    if etree.QName(node).localname != "boundaryEvent" or node.getparent() is None:
        return False
    for host in node.getparent():
        if isinstance(host.tag, str) and host.get("id") == node.get("attachedToRef"):
            return etree.QName(host).localname == "callActivity" and not called_process(host)
    return False


def calling_scope(process: Any, processes: dict[str, Any]) -> list[Any]:
    """The process and every process it calls (call activities), transitively."""
    seen = {process.get("id")}
    scope = [process]
    index = 0
    while index < len(scope):
        for call in scope[index].iter(f"{{{BPMN_NS}}}callActivity"):
            called = called_process(call)
            if called in processes and called not in seen:
                seen.add(called)
                scope.append(processes[called])
        index += 1
    return scope


def thrown_by(
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


def event_names(tree: Any, tag: str) -> dict[str, str]:
    """Signal or escalation id → the name SpiffWorkflow matches throws and catches by."""
    return {
        element.get("id"): element.get("name") or element.get("id")
        for element in tree.iter(f"{{{BPMN_NS}}}{tag}")
        if element.get("id")
    }


def escalation_codes(tree: Any) -> dict[str, str | None]:
    """Escalation id → its ``escalationCode``, by which SpiffWorkflow matches throw and catch
    (its name is not compared; no code catches every escalation)."""
    return {
        element.get("id"): element.get("escalationCode") or None
        for element in tree.iter(f"{{{BPMN_NS}}}escalation")
        if element.get("id")
    }


def _undeclared(definition: Any, escalations: dict[str, str]) -> bool:
    """Whether the definition's escalationRef names no escalation of the file, with or
    without a prefix: nothing could throw what is not declared, so that is the problem."""
    ref = (definition.get("escalationRef") or "").strip()
    return bool(ref) and ref not in escalations and ref.split(":")[-1] not in escalations


def _resolved(ref: str | None, names: dict[str, Any]) -> str | None:
    if not ref:
        return None
    return names.get(ref, ref)


# The triggers an event subprocess's start event may have (``engine.event_subprocesses``);
# conditional starts are refused with every conditional event, compensation with compensation.
EVENT_SUBPROCESS_TRIGGERS = {
    "errorEventDefinition",
    "escalationEventDefinition",
    "messageEventDefinition",
    "signalEventDefinition",
    "timerEventDefinition",
}


def event_subprocess_problems(node: Any, container: Any, ctx: Context) -> list[dict]:
    """What of an event subprocess Dialflow cannot run as BPMN says, on the element to change."""
    flows = [
        flow.get("id")
        for flow in children(container, "sequenceFlow")
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
    starts = children(node, "startEvent")
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
                "the scope's start): use a duration or a date, or draw a non-interrupting "
                'cycle timer boundary event (cancelActivity="false") on the activity it should '
                "repeat during (a subprocess holding the work, to repeat during all of it)",
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


def same_trigger_twice(container: Any, ctx: Context) -> list[dict]:
    """Two event subprocesses of one scope started by the same message, error or escalation:
    which one runs would be an accident of order (SpiffWorkflow hands the event to both, an
    interrupting one cancels the other), so the second is refused."""
    starts = [
        start
        for node in container
        if node.tag in _CONTAINER_TAGS and node.get("triggeredByEvent") in ("true", "1")
        for start in children(node, "startEvent")
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


def same_boundary_trigger_twice(container: Any, ctx: Context) -> list[dict]:
    """Two boundary events of one activity caught by the same message, error, escalation or
    signal: SpiffWorkflow hands the event to both, so both paths run (and an interrupting one
    cancels the activity under the other); the second is refused."""

    def said(tag: str, what: str, first: Any) -> str:
        return (
            f"catches the same {tag} on {first.get('attachedToRef')!r} as "
            f"{first.get('id')!r} ({what}): both paths would run; keep one boundary event "
            "and put a gateway after it where the handling differs"
        )

    boundaries = children(container, "boundaryEvent")
    return _second_catches(
        boundaries, _BOUNDARY_TRIGGER_REFS, lambda event: event.get("attachedToRef"), said, ctx
    )


def _second_catches(
    events: list[Any],
    refs: dict[str, tuple[str, str, str]],
    group: Callable[[Any], str | None],
    said: Callable[[str, str, Any], str],
    ctx: Context,
) -> list[dict]:
    """Each event of ``events`` caught by the same trigger as an earlier one of its group
    (a message's name, an error's or escalation's code, a signal's name; a catch without a
    reference catches every one), reported with ``said(tag, what, first)``."""
    first: dict[tuple[str | None, str, str | None], Any] = {}
    found = []
    for event in events:
        for kind, (attribute, tag, key) in refs.items():
            for definition in children(event, kind):
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
    "never runs a compensation handler; draw the undo step as an ordinary task (without "
    "isForCompensation or a compensation boundary event) on the path that needs it, where the "
    "compensation throw event stands, one task per step in the order the undoing must happen"
)


def compensates(node: Any, local: str) -> bool:
    """A compensation throw or end event, or an activity marked as a compensation handler:
    SpiffWorkflow 3.2 deploys both and runs neither (the undo silently never happened)."""
    if local in THROWS:
        return node.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None
    return local in ACTIVITIES and node.get("isForCompensation") in ("true", "1")
