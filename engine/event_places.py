"""Events drawn where BPMN does not allow them, which SpiffWorkflow 3.2 ran as something else:
checks on the XML of every executable process, run element by element by
``engine.constructs`` before the parser.

* A cancel end event outside a transaction subprocess ended its path as a plain end event
  (BPMN allows it only inside a transaction, whose cancel boundary event takes it).
* A cancel boundary event on anything but a transaction subprocess was refused with
  SpiffWorkflow's own words ("Cancel Events may only be used with transactions"), marked on
  the activity rather than on the event to change; so was one on a multi-instance or
  looping transaction, said as if it were no transaction.
* A cancel end event in a plain subprocess inside a transaction cancels the transaction (as
  it ran), and was refused as if it stood outside every transaction; one in an event
  subprocess or a multi-instance or looping subprocess in between is refused as such.
* A cancel end event in a transaction without a cancel boundary event ended the transaction
  as if it had completed: the path after it ran (the deal went on to delivery).
* A cancel boundary event marked ``cancelActivity="false"`` (BPMN: a cancel always
  interrupts) ran its path and the one after the transaction; a second cancel boundary
  event on one transaction ran both paths.
* A cancel intermediate throw event (BPMN throws a cancel only from an end event) passed
  as a plain event: the transaction went on and completed.
* A start event with a trigger (message, timer, signal, ...) inside an embedded subprocess
  or transaction waited for it as an intermediate catch would: BPMN gives such a start event
  no trigger, and a modeller drawing one most often meant an event subprocess.
* An event-based gateway of type ``Parallel`` that starts nothing chose one event, as an
  exclusive one does (BPMN allows the type only on a gateway that starts the process); one
  that starts the process (``instantiate="true"``) was refused as "No start event found".
* A receive task that starts the process (``instantiate="true"``) was refused the same way.
* A start event with several triggers that needs them all (``parallelMultiple="true"``) was
  started by each trigger alone: every message or signal started an instance of its own,
  which then waited for the others, possibly for ever.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.event_checks import Context

TRIGGERED_START = (
    "a start event inside a subprocess has no trigger (BPMN): SpiffWorkflow 3.2 waited for "
    "its {what} as an intermediate catch event would. To run this subprocess when the {what} "
    'comes while its scope runs, make it an event subprocess (triggeredByEvent="true", no '
    "sequence flows); to wait for it here, start with a plain start event followed by an "
    "intermediate catch event"
)

CANCEL_OUTSIDE = (
    "a cancel end event belongs inside a transaction subprocess (BPMN), where the transaction's "
    "cancel boundary event takes it; here SpiffWorkflow 3.2 ended the path as a plain end event. "
    "Draw a plain end event, or an error end event and an error boundary event to leave the "
    "subprocess another way"
)

CANCEL_NESTED = (
    "a cancel end event cancels its transaction from inside it or from a plain embedded "
    "subprocess inside it; here {where!r}, an event subprocess or a multi-instance or looping "
    "subprocess, stands between it and transaction {tx!r}, which is not supported. End "
    "{where!r} with an error end event, catch it with an error boundary event (or an error "
    "event subprocess) around it, and go on to a cancel end event there"
)

CANCEL_BOUNDARY = (
    "a cancel boundary event belongs on a transaction subprocess (BPMN), which a cancel end "
    "event inside it cancels; {where}. Make the subprocess a transaction (bpmn:transaction) "
    "with a cancel end event inside, or catch an error: an error end event inside and an error "
    "boundary event here"
)

CANCEL_ON_INSTANCES = (
    "{where!r} is a multi-instance or looping transaction, whose instances SpiffWorkflow 3.2 "
    "cannot give a cancel boundary event (it refused the transaction, saying a cancel event "
    "belongs on a transaction). Put the transaction and this event in a subprocess, and make "
    "that subprocess multi-instance or looping instead"
)

CANCEL_UNCAUGHT = (
    "a cancel end event cancels its transaction {where!r}, which has no cancel boundary event: "
    "SpiffWorkflow 3.2 ended the transaction as if it had completed and the path after it ran. "
    "Draw a cancel boundary event on {where!r} with the path to take when it is cancelled"
)

CANCEL_NON_INTERRUPTING = (
    "a cancel boundary event always interrupts its transaction (BPMN): remove "
    'cancelActivity="false", so that only its path goes on once the transaction is cancelled '
    "(SpiffWorkflow 3.2 ran its path and the path after the transaction as well)"
)

CANCEL_TWICE = (
    "is a second cancel boundary event on {where!r} (the first is {first!r}): both paths "
    "would run when the transaction is cancelled; keep one and put a gateway after it where "
    "the handling differs"
)

CANCEL_THROW = (
    "a cancel event is thrown by an end event only (BPMN): SpiffWorkflow 3.2 passed this "
    "intermediate throw event by and the transaction went on. Make it a cancel end event "
    "inside the transaction, where its path stops"
)

PARALLEL_GATEWAY = (
    'eventGatewayType="Parallel" is allowed only on an event-based gateway that starts the '
    "process (BPMN); here the first event to come would be taken alone, as with the exclusive "
    'type. Remove the attribute (or write "Exclusive"), or wait for every event with a '
    "parallel gateway before intermediate catch events"
)

INSTANTIATING_GATEWAY = (
    'an event-based gateway that starts the process (instantiate="true") is not supported: '
    "draw a message (or signal, or timer) start event for each of its events instead"
)

INSTANTIATING_RECEIVE = (
    'a receive task that starts the process (instantiate="true") is not supported: draw a '
    "message start event for its message instead, or remove instantiate to wait for the "
    "message at this task after a start event"
)

ALL_TRIGGERS_START = (
    'a start event that needs all of its triggers (parallelMultiple="true") is not '
    "supported: each {whats} would start an instance of its own. Start on one of them and "
    'wait for the others with an intermediate catch event after it (parallelMultiple="true" '
    "there waits for them all), or remove parallelMultiple to start on whichever comes first"
)

DEFINITIONS = {
    "messageEventDefinition": "message",
    "timerEventDefinition": "timer",
    "signalEventDefinition": "signal",
    "errorEventDefinition": "error",
    "escalationEventDefinition": "escalation",
    "conditionalEventDefinition": "condition",
    "compensateEventDefinition": "compensation",
}


def place_problems(node: Any, local: str, container: Any, ctx: Context) -> list[dict[str, Any]]:
    """The problem of ``node`` (a flow element of ``container``) if BPMN does not allow it
    where it is drawn."""
    inside = etree.QName(container).localname
    in_plain_subprocess = inside in ("subProcess", "transaction") and container.get(
        "triggeredByEvent"
    ) not in ("true", "1")
    if local == "startEvent" and in_plain_subprocess:
        kinds = [_kind(child) for child in node if _kind(child) in DEFINITIONS]
        if kinds:
            return [ctx.report(node, TRIGGERED_START.format(what=DEFINITIONS[kinds[0]]))]
    if local == "startEvent" and _true(node.get("parallelMultiple")):
        kinds = [DEFINITIONS.get(_kind(child) or "") for child in node]
        named = sorted({kind for kind in kinds if kind})
        if len([kind for kind in kinds if kind]) > 1:
            return [ctx.report(node, ALL_TRIGGERS_START.format(whats=" or ".join(named)))]
    if local == "receiveTask" and _true(node.get("instantiate")):
        return [ctx.report(node, INSTANTIATING_RECEIVE)]
    cancels = any(_kind(child) == "cancelEventDefinition" for child in node)
    if local == "endEvent" and cancels:
        transaction, between = _cancelled_transaction(container)
        if transaction is None:
            return [ctx.report(node, CANCEL_OUTSIDE)]
        if between is not None:
            where = CANCEL_NESTED.format(where=between.get("id"), tx=transaction.get("id"))
            return [ctx.report(node, where)]
        if not _cancel_boundaries(transaction):
            return [ctx.report(node, CANCEL_UNCAUGHT.format(where=transaction.get("id")))]
    if local == "intermediateThrowEvent" and cancels:
        return [ctx.report(node, CANCEL_THROW)]
    if local == "boundaryEvent" and cancels:
        ref = (node.get("attachedToRef") or "").strip()
        if any(_kind(n) == "transaction" and n.get("id") == ref and _loops(n) for n in container):
            return [ctx.report(node, CANCEL_ON_INSTANCES.format(where=ref))]
        where = _attached_to(node, container)
        if where is not None:
            return [ctx.report(node, CANCEL_BOUNDARY.format(where=where))]
        if not _true(node.get("cancelActivity", "true")):
            return [ctx.report(node, CANCEL_NON_INTERRUPTING)]
        first = _cancel_boundaries(container, ref)[0]
        if first is not node:
            return [ctx.report(node, CANCEL_TWICE.format(where=ref, first=first.get("id")))]
    if local == "eventBasedGateway":
        if node.get("instantiate", "false").strip() in ("true", "1"):
            return [ctx.report(node, INSTANTIATING_GATEWAY)]
        if node.get("eventGatewayType", "Exclusive").strip() == "Parallel":
            return [ctx.report(node, PARALLEL_GATEWAY)]
    return []


def _attached_to(boundary: Any, container: Any) -> str | None:
    """What a cancel boundary event is drawn on, said when it is no transaction; ``None``: a
    transaction, or nothing found (the reference checks say so)."""
    ref = (boundary.get("attachedToRef") or "").strip()
    for node in container:
        if isinstance(node.tag, str) and node.get("id") == ref:
            kind = etree.QName(node).localname
            if kind == "transaction":
                return None
            what = "an embedded subprocess" if kind == "subProcess" else f"a {kind}"
            return f"{ref!r} is {what}, which nothing can cancel"
    return None


def _cancelled_transaction(container: Any) -> tuple[Any, Any]:
    """The transaction a cancel end event drawn in ``container`` cancels (itself, or the one
    around the plain embedded subprocesses it stands in; SpiffWorkflow takes the cancel to
    it through them), and the first container in between that is no plain subprocess (an
    event subprocess, a multi-instance or looping one), if any; ``(None, None)`` outside
    every transaction of the process."""
    between = None
    for scope in [container, *container.iterancestors()]:
        kind = _kind(scope)
        if kind == "transaction":
            return scope, between
        if kind not in ("subProcess", "adHocSubProcess"):
            return None, None  # the process: no transaction around it
        if between is None and (_true(scope.get("triggeredByEvent")) or _loops(scope)):
            between = scope
    return None, None


def _loops(activity: Any) -> bool:
    return any(
        _kind(child) in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")
        for child in activity
    )


def _cancel_boundaries(transaction: Any, ref: str | None = None) -> list[Any]:
    """The cancel boundary events attached to ``transaction`` (given as the element, or by
    ``ref`` when ``transaction`` is the container its boundary events are drawn in)."""
    if ref is None:
        ref, transaction = transaction.get("id"), transaction.getparent()
    if transaction is None:
        return []
    return [
        node
        for node in transaction
        if _kind(node) == "boundaryEvent"
        and (node.get("attachedToRef") or "").strip() == ref
        and any(_kind(child) == "cancelEventDefinition" for child in node)
    ]


def _true(value: str | None) -> bool:
    return (value or "").strip() in ("true", "1")


def _kind(child: Any) -> str | None:
    return etree.QName(child).localname if isinstance(child.tag, str) else None
