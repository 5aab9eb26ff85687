"""References and structure the parser misreports or ignores, checked on each file's XML.

SpiffWorkflow finds a sequence flow to or from nothing, or a call activity to an unknown
process, only when it builds the spec, and names them poorly (a missing target is a
duplicate-id message on the flow's source). Other things it ignores, or fails on only when the
instance runs: boundary hosts, default flows, error, escalation, message and signal
references, lanes listing missing elements or sharing a flow node, flows that leave their
(sub)process, gateways without a way out, empty script tasks, message events and tasks that
name no message, conditions no gateway would evaluate, event-based gateways that lead to no
event, and catch events without an event definition. Here each is one problem on its element,
with its file and line; :func:`reference_problems` adds the incoming/outgoing lists and
unreached elements (``engine.wiring``) and endless loops (``engine.loops``). It lives apart
from ``engine.validation`` so that the deploy pipeline holds no check of its own.
"""

from __future__ import annotations

import difflib
import keyword
import re
from typing import Any

from lxml import etree

from engine import near_ids
from engine.bpmn_xml import ACTIVITIES, BPMN_NS, FLOW_NODES, drawn_only, element_problem
from engine.collaboration import collaboration_problems
from engine.errors import problem
from engine.loops import endless_loop_problems
from engine.qname_refs import foreign_prefix
from engine.wiring import wiring_problems


def _what_to_write(ref: str | None, attribute: str, tree: Any) -> str:
    """What a flow end naming nothing should name: the flow node whose id is nearest to the
    one written (a typo: ``Event_0snet7g4`` for ``Event_0sent7g4``), else how to draw it."""
    nodes = [
        el.get("id")
        for el in tree.iter()
        if isinstance(el.tag, str)
        and etree.QName(el).localname in FLOW_NODES | {"participant"}
        and el.get("id")
    ]
    near = difflib.get_close_matches((ref or "").strip(), nodes, n=1, cutoff=0.8)
    end = "target" if attribute == "targetRef" else "source"
    if near:
        return f'; did you mean {near[0]!r}? Write {attribute}="{near[0]}"'
    return (
        f"; draw the flow from an element to an element, its {attribute} the id of its {end} "
        "(a task, event or gateway), or remove the flow"
    )


def _called_meant(called: str, process_ids: set[str]) -> str:
    intended = near_ids.meant(called, process_ids)
    return f'; did you mean {intended!r}? Write calledElement="{intended}"' if intended else ""


def reference_problems(name: str, tree: Any, process_ids: set[str]) -> list[dict[str, Any]]:
    """Sequence flows to or from nothing, and call activities to unknown processes.

    SpiffWorkflow finds both only when building the spec, and names them poorly: a missing
    target shows up as a duplicate-id message on the flow's source, a missing called process
    without any element.
    """
    found = _spaced_ids(name, tree)
    ids = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    # A message flow only draws who talks to whom (Dialflow delivers messages by name), but
    # one to nothing is as broken as a sequence flow to nothing: the schema does not check it.
    flows = [*tree.iter(f"{{{BPMN_NS}}}sequenceFlow"), *tree.iter(f"{{{BPMN_NS}}}messageFlow")]
    for flow in flows:
        kind = "sequence flow" if etree.QName(flow).localname == "sequenceFlow" else "message flow"
        for attribute in ("sourceRef", "targetRef"):
            ref = flow.get(attribute)
            if ref not in ids:
                spaced = (
                    f" (it has a space: write {ref.strip()!r})"
                    if ref and ref != ref.strip() and ref.strip() in ids
                    else _what_to_write(ref, attribute, tree)
                )
                found.append(
                    problem(
                        f"{name}: {kind} {flow.get('id')!r} has {attribute} {ref!r}, "
                        f"which is no element of the model{spaced}",
                        element_id=flow.get("id"),
                        line=flow.sourceline,
                        file=name,
                    )
                )
    found += _flows_to_themselves(name, tree, ids)
    found += _scope_problems(name, tree, ids)
    global_tasks = _global_tasks(tree)
    for call in tree.iter(f"{{{BPMN_NS}}}callActivity"):
        called = call.get("calledElement")
        if called and called not in process_ids:
            found.append(
                problem(
                    f"{name}: call activity calls {global_tasks[called]} {called!r}, which "
                    "Dialflow does not run: a call activity calls a process; draw the task "
                    "in this process instead, or in a process of its own to call"
                    if called in global_tasks
                    else f"{name}: call activity calls process {called!r}, which is neither "
                    f"in this deploy nor deployed before{_called_meant(called, process_ids)}",
                    element_id=call.get("id"),
                    line=call.sourceline,
                    file=name,
                )
            )
    for ref in tree.iter(f"{{{BPMN_NS}}}eventDefinitionRef"):
        # the ones naming a global definition were replaced by it (``event_definition_refs``)
        event = ref.getparent()
        found.append(
            problem(
                f"{name}: {etree.QName(event).localname} {event.get('id')!r}: its "
                f"eventDefinitionRef {(ref.text or '').strip()!r} names no event definition "
                "declared in <definitions>, so the event has no trigger and would wait for "
                "nothing; declare it there (such as <bpmn:timerEventDefinition id="
                f"{(ref.text or '').strip()!r}>…) or draw the definition inside the event",
                element_id=event.get("id"),
                line=ref.sourceline,
                file=name,
            )
        )
    found += collaboration_problems(name, tree, process_ids)
    found += _structure_problems(name, tree, ids) + wiring_problems(name, tree)
    return _said_by_spaced_ids(found + endless_loop_problems(name, tree))


def _said_by_spaced_ids(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the id with a space is said of it: the flows naming it without the space, the
    incoming and outgoing lists, and what no path reaches through it follow from it."""
    spaced = {p["element_id"] for p in found if p.get("_spaced")}
    if not spaced:
        return found
    names = {repr(i) for i in spaced} | {repr(i.strip()) for i in spaced}
    kept = [
        p
        for p in found
        if p.get("_spaced")
        or not (p.get("element_id") in spaced or any(n in p["message"] for n in names))
    ]
    for p in kept:
        p.pop("_spaced", None)
    return kept


def _spaced_ids(name: str, tree: Any) -> list[dict[str, Any]]:
    """An id with a space before or after it (typed by hand, or pasted): the schema reads it
    as the id without them, every reference written without them names nothing, and the
    problems of those references did not say why."""
    found = []
    for element in tree.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id and element_id != element_id.strip():
            found.append(
                element_problem(
                    name,
                    element,
                    f"its id has a space {'before' if element_id[0].isspace() else 'after'} "
                    f"it; the references to {element_id.strip()!r} name nothing: write "
                    f'id="{element_id.strip()}"',
                )
            )
            found[-1]["_spaced"] = True
    return found


def _flows_to_themselves(name: str, tree: Any, ids: set[str]) -> list[dict[str, Any]]:
    """A sequence flow from an element back to itself: the element would run again at once,
    with nothing that could decide to stop (its other problems, several outgoing flows or a
    loop without a gateway, do not name the flow)."""
    return [
        element_problem(
            name,
            flow,
            f"goes from {flow.get('sourceRef')!r} back to itself; to repeat work, lead the "
            "flow back through an exclusive gateway whose condition decides when to stop",
            sep=" ",
        )
        for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow")
        if flow.get("sourceRef")
        and flow.get("sourceRef") == flow.get("targetRef")
        and flow.get("sourceRef") in ids
    ]


_UNDECLARED = re.compile(r"(\w+Ref) '([^']+)' names no <bpmn:(\w+)> of this file")


def declared_elsewhere(problems: list[dict[str, Any]], trees: dict[str, Any]) -> None:
    """A reference to an error, escalation, signal or message that another file of the deploy
    declares (the throw in a called process's file, the catch on its call activity): said
    with where it is declared, and with its code, to declare it in this file too."""
    for found in problems:
        match = _UNDECLARED.search(found.get("message", ""))
        if match is None:
            continue
        _attribute, ref, root = match.groups()
        for other, tree in trees.items():
            if other == found.get("file"):
                continue
            declared = tree.find(f"{{{BPMN_NS}}}{root}[@id='{ref}']") if "'" not in ref else None
            if declared is None:
                continue
            code_attribute = f"{root}Code"
            code = declared.get(code_attribute)
            same = (
                f' with the same {code_attribute}="{code}"'
                if code
                else f' with the same name="{declared.get("name")}"'
                if declared.get("name")
                else ""
            )
            found["message"] += (
                f". {other} declares it; SpiffWorkflow reads each file's references in that "
                f"file alone, so declare it in this file too{same}"
            )
            break


def _global_tasks(tree: Any) -> dict[str, str]:
    """The file's global tasks (``<globalUserTask>`` …, a task drawn once for call activities
    to call, as in the MIWG reference file B.2.0), id → kind."""
    return {
        element.get("id"): etree.QName(element).localname
        for element in tree
        if isinstance(element.tag, str)
        and etree.QName(element).namespace == BPMN_NS
        and etree.QName(element).localname.startswith("global")
        and element.get("id")
    }


def _scope_problems(name: str, tree: Any, ids: set[str]) -> list[dict[str, Any]]:
    """Sequence flows that leave their process or subprocess, lanes listing elements that do
    not exist, boundary events on what is no activity. SpiffWorkflow reports the first as a
    duplicate id on the flow's source ("perhaps a form has the same ID?") and stops; the
    others it ignores, or fails on when the instance runs."""
    found = []

    def report(element: Any, message: str) -> None:
        found.append(element_problem(name, element, message, sep=" "))

    by_id = {el.get("id"): el for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        scope = flow.getparent()
        for attribute in ("sourceRef", "targetRef"):
            end = by_id.get(flow.get(attribute))
            if end is None:
                continue
            end_kind = etree.QName(end).localname
            if etree.QName(end).namespace != BPMN_NS or end_kind not in FLOW_NODES:
                # a message, a flow, the process or the file's <definitions>: no end of a path
                report(
                    flow,
                    f"has {attribute} {end.get('id')!r}, which is a <{end_kind}>, not an event, "
                    "activity or gateway; a sequence flow connects those: point it at the "
                    f"element the path {'comes from' if attribute == 'sourceRef' else 'goes to'}",
                )
                continue
            if end.getparent() is scope:
                continue
            where = end.getparent()
            kind = etree.QName(scope).localname
            place = (
                f"outside {kind} {scope.get('id')!r}"
                if where in scope.iterancestors()
                else f"inside {etree.QName(where).localname} {where.get('id')!r}"
            )
            report(
                flow,
                f"has {attribute} {end.get('id')!r}, which is {place}; a sequence flow stays "
                f"within its {kind}: leave a subprocess through its end event and a flow from "
                "the subprocess itself",
            )
    for lane in tree.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            target = (ref.text or "").strip()
            if target and target not in ids:
                label = (lane.get("name") or "").strip()
                report(
                    lane,
                    f"{f'(the lane {label!r}) ' if label else ''}lists flowNodeRef {target!r}, "
                    "which is no element of the model",
                )
    for lane_set in [*tree.iter(f"{{{BPMN_NS}}}laneSet"), *tree.iter(f"{{{BPMN_NS}}}childLaneSet")]:
        # BPMN puts a flow node in one lane of a lane set; SpiffWorkflow 3.2 silently gave a
        # node two sibling lanes list to the last of them
        first_lane: dict[str, Any] = {}
        for lane in lane_set.iterfind(f"{{{BPMN_NS}}}lane"):
            for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
                target = (ref.text or "").strip()
                other = first_lane.setdefault(target, lane)
                if target in ids and other is not lane:
                    report(
                        lane,
                        f"lists flowNodeRef {target!r}, which lane {other.get('id')!r} "
                        f"({other.get('name') or 'no name'}) of the same lane set lists too; "
                        "an element sits in one lane: list it in one of them (a lane inside "
                        "another goes in its childLaneSet)",
                    )
    for event in tree.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        host = by_id.get(event.get("attachedToRef"))
        if host is None:
            continue
        if etree.QName(host).localname not in ACTIVITIES:
            report(
                event,
                f"is attached to {etree.QName(host).localname} {host.get('id')!r}; a boundary "
                "event belongs on a task, subprocess or call activity",
            )
        elif host.getparent() is not event.getparent():
            # SpiffWorkflow 3.2 leaves such an event out: its timer never fires, its error
            # is never caught
            where = host.getparent()
            report(
                event,
                f"is attached to {host.get('id')!r}, which is inside "
                f"{etree.QName(where).localname} {where.get('id')!r} while the event is not; "
                "draw the boundary event in the same (sub)process as its activity",
            )
    return found


# Event definitions and the root element each one refers to (SpiffWorkflow 3.2 fails on an
# unknown one with "raise_validation_exception() got an unexpected keyword argument").
EVENT_REFERENCES = {
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}
MESSAGE_TASKS = {"sendTask", "receiveTask"}


# Catch events that need the event they wait for. SpiffWorkflow 3.2 runs an intermediate catch
# event without one as a plain event: the path went straight through, the wait drawn was lost.
CATCHES_OF_SOMETHING = {
    "intermediateCatchEvent": (
        "has no event definition, so it would wait for nothing and the path would go straight "
        "through it: give it the timer, message or signal it waits for (a milestone without "
        "a trigger is an intermediate throw event)"
    ),
    "boundaryEvent": (
        "has no event definition, so it would never be triggered: give it the timer, error, "
        "escalation, message or signal it catches"
    ),
}


def untriggered_catches(name: str, tree: Any) -> list[dict[str, Any]]:
    """Catch events without the event they wait for (read before links become plain)."""
    drawn = drawn_only(tree)
    return [
        element_problem(name, element, message)
        for local, message in CATCHES_OF_SOMETHING.items()
        for element in tree.iter(f"{{{BPMN_NS}}}{local}")
        if element not in drawn and not _triggers(element)
    ]


def _triggers(event: Any) -> list[Any]:
    """The event definitions (or references to them) of a catch event."""
    return [
        child
        for child in event
        if isinstance(child.tag, str)
        and etree.QName(child).namespace == BPMN_NS
        and (
            etree.QName(child).localname.endswith("EventDefinition")
            or etree.QName(child).localname == "eventDefinitionRef"
        )
    ]


def _stray_default(element: Any, default: str, leaving: list[str], tree: Any) -> str:
    """A ``default`` naming no flow out of its element, with the flow it meant where that can
    be told (a flow out of it named so, as assistants write the label for the id; a flow
    leaving another element) and the ids it may name."""
    said = f"its default flow {default!r} is not one of its outgoing sequence flows"
    flows = {f.get("id"): f for f in tree.iter(f"{{{BPMN_NS}}}sequenceFlow") if f.get("id")}
    labelled = [
        flow_id
        for flow_id in leaving
        if flow_id in flows and (flows[flow_id].get("name") or "").strip() == default.strip()
    ]
    if len(labelled) == 1:
        return (
            f"{said}: {default!r} is the name of its flow {labelled[0]!r}, and default names "
            f'a flow by its id: write default="{labelled[0]}"'
        )
    if default in flows:
        said += f": {default!r} leaves {flows[default].get('sourceRef')!r}"
    if not leaving:
        return said
    ids = ", ".join(repr(flow_id) for flow_id in leaving)
    return (
        f"{said}; the flows leaving it are {ids}: name the one taken when no condition holds "
        "(it has no condition), or remove the default"
    )


def _structure_problems(name: str, tree: Any, ids: set[str]) -> list[dict[str, Any]]:
    """What the parser accepts but would run wrongly or fail on late, element by element:
    references to nothing (boundary hosts, default flows, errors, messages …), gateways with
    no way out, script tasks without a script."""
    found = []

    def report(element: Any, message: str) -> None:
        found.append(element_problem(name, element, message))

    roots = {
        local: {el.get("id") for el in tree.iterfind(f"{{{BPMN_NS}}}{local}") if el.get("id")}
        for _attribute, local in EVENT_REFERENCES.values()
    }
    outgoing: dict[str, list[str]] = {}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow.get("id"))
    drawn = drawn_only(tree)  # a collaboration's pools that do not run: only drawn
    nameless = {
        message.get("id")
        for message in tree.iterfind(f"{{{BPMN_NS}}}message")
        if message.get("id") and not (message.get("name") or "").strip()
    }
    nameless -= _thrown_and_caught_within(tree, nameless)
    for element in tree.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
            continue
        local = etree.QName(element).localname
        element_id = element.get("id")
        if local == "boundaryEvent":
            host = element.get("attachedToRef")
            if host not in ids:
                why = foreign_prefix(element, host or "")
                report(
                    element,
                    f"is attached to {host!r}, which is no element of the model"
                    + (f": {why}" if why else ""),
                )
        if local in EVENT_REFERENCES:
            attribute, root = EVENT_REFERENCES[local]
            ref = element.get(attribute)
            if ref and ref not in roots[root]:
                owner = element.getparent()
                report(owner, _undeclared(element, attribute, ref, root))
        if (local in MESSAGE_TASKS or local == "messageEventDefinition") and element not in drawn:
            _message_problem(element, local, roots["message"], report)
            _nameless_message(element, local, nameless, report)
        if local in GATEWAYS and not outgoing.get(element_id):
            report(element, "has no outgoing sequence flow; a gateway must lead somewhere")
        default = element.get("default")
        if default and default not in outgoing.get(element_id, []):
            report(element, _stray_default(element, default, outgoing.get(element_id, []), tree))
        if local == "scriptTask":
            script = element.find(f"{{{BPMN_NS}}}script")
            if script is None or not (script.text or "").strip():
                report(
                    element,
                    "has no script; write the Python it runs, or make it a plain task",
                )
    _flow_problems(tree, drawn, report)
    return found


# Where SpiffWorkflow 3.2 evaluates a sequence flow's condition: the others were ignored and the
# flow was always taken.
CONDITIONAL_SOURCES = {"exclusiveGateway", "inclusiveGateway"}
# What an event-based gateway may lead to (each waits for its event).
EVENT_GATEWAY_TARGETS = {"intermediateCatchEvent", "receiveTask"}


# The answers a gateway's branches are labelled with, which assistants also write as the
# branch's condition; none is a variable a diagram has.
_ANSWERS = {"yes", "no", "y", "n", "ok", "else", "otherwise", "default"}


def _label_as_condition(flow: Any) -> str | None:
    """A condition that is the branch's label (``Yes``, ``No``, ``Otherwise``, or the flow's
    own capitalised name; a word in lower case is taken for the variable it may be): Python
    reads it as a variable, so it deployed and the gateway failed on a NameError the first
    time it ran."""
    condition = flow.find(f"{{{BPMN_NS}}}conditionExpression")
    text = (condition.text or "").strip() if condition is not None else ""
    name = (flow.get("name") or "").strip()
    if not text.isidentifier() or not text[:1].isupper() or keyword.iskeyword(text):
        # a variable is written in lower case (``ok``, ``approved``); ``True`` is Python's
        return None
    if text.lower() not in _ANSWERS and text != name:
        return None
    otherwise = text.lower() in ("else", "otherwise", "default")
    return (
        f"its condition is {text!r}"
        + (", its own label," if text == name else ",")
        + f" which Python reads as a variable named {text!r}, not as an answer: write the "
        "test the branch stands for (such as approved == True or amount > 1000)"
        + (
            "; for the branch taken when no other holds, remove the condition and name the "
            f'flow as the gateway\'s default (default="{flow.get("id")}")'
            if otherwise
            else ""
        )
    )


def _flow_problems(tree: Any, drawn: set[Any], report: Any) -> None:
    """Conditions that would never be evaluated, and event-based gateways that lead to
    something other than an event: the first deployed and ran as if the condition were not
    there, the second failed in the parser with an ``AttributeError``. Pools that are only
    drawn (``drawn``) run nothing and are left alone."""
    nodes = {
        element.get("id"): element
        for element in tree.iter()
        if isinstance(element.tag, str) and element.get("id")
    }
    outgoing: dict[str, list[str]] = {}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow.get("id"))
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = nodes.get(flow.get("sourceRef")), nodes.get(flow.get("targetRef"))
        if source is None or target is None or flow in drawn:
            continue  # reported as a reference to nothing, or never run
        kind = etree.QName(source).localname
        if flow.find(f"{{{BPMN_NS}}}conditionExpression") is not None:
            if kind == "complexGateway":
                pass  # BPMN evaluates them; the gateway itself is refused (``constructs``)
            elif kind not in CONDITIONAL_SOURCES:
                report(
                    flow,
                    f"has a condition, but it leaves {kind} {source.get('id')!r}, which takes "
                    "every outgoing flow whatever the condition says: put an exclusive gateway "
                    "(one way) or an inclusive gateway (every true way) before the condition",
                )
            elif source.get("default") == flow.get("id"):
                report(
                    flow,
                    f"is the default flow of {source.get('id')!r} and has a condition; a "
                    "default flow is taken when no condition holds, whatever its own says: "
                    "remove its condition or make it an ordinary flow",
                )
            elif (label := _label_as_condition(flow)) is not None:
                report(flow, label)
        elif kind in CONDITIONAL_SOURCES and _chooses(source, flow, outgoing):
            gateway = "exclusive" if kind == "exclusiveGateway" else "inclusive"
            report(
                flow,
                f"{_branch(source, flow)}leaves the {gateway} gateway {source.get('id')!r} "
                f"without a condition (it leads to {_destination(target, outgoing, nodes)}) "
                "and is not its default flow: write its condition, or name "
                f'it as the gateway\'s default (default="{flow.get("id")}" on the gateway; a '
                f"gateway has one){_unconditioned(source, outgoing, nodes)}",
            )
        target_kind = etree.QName(target).localname
        if kind == "eventBasedGateway" and target_kind not in EVENT_GATEWAY_TARGETS:
            report(
                source,
                f"leads to {target_kind} {target.get('id')!r}; an event-based gateway can "
                "only lead to catch events (message, timer, signal) or receive tasks, the "
                "first of which to happen decides the way",
            )


def _branch(gateway: Any, flow: Any) -> str:
    """The branch and its gateway by their labels, which a file with generated ids (Bizagi's
    GUIDs) needs for the branch to be found on the canvas; empty when neither has one."""
    labels = [
        f'"{label}"' if (label := (flow.get("name") or "").strip()) else "",
        f'the gateway "{label}"' if (label := (gateway.get("name") or "").strip()) else "",
    ]
    shown = [label for label in labels if label]
    return f"({' of '.join(shown)}) " if shown else ""


def _destination(target: Any, outgoing: dict[str, list[str]], nodes: dict[str, Any]) -> str:
    """Where a branch leads, said so that a file with generated ids and unnamed flows (a
    process-mining export's ``id``-and-UUID ids) can be found: the element's name, else its
    kind and id, and past an unnamed gateway the names of what follows it."""
    kind = re.sub(r"(?<!^)(?=[A-Z])", " ", etree.QName(target).localname).lower()
    name = " ".join((target.get("name") or "").split())
    if name:
        return f"{kind} {name!r}" if "gateway" in kind or "event" in kind else repr(name)
    said = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} {target.get('id')!r}"
    if "gateway" not in kind:
        return said
    after = [nodes.get(way) for way in outgoing.get(target.get("id"), [])]
    names = [
        repr(" ".join((node.get("name") or "").split()))
        for way in after
        if way is not None
        and (node := nodes.get(way.get("targetRef"))) is not None
        and (node.get("name") or "").strip()
    ]
    return f"{said}, then {' and '.join(names)}" if names else said


def _unconditioned(gateway: Any, outgoing: dict[str, list[str]], nodes: dict[str, Any]) -> str:
    """When none of the gateway's branches has a condition and it has no default (Bizagi
    Modeler, for one, keeps conditions outside the file), how to write them all."""
    ways = [nodes.get(way) for way in outgoing.get(gateway.get("id"), [])]
    if gateway.get("default") or any(
        way is not None and way.find(f"{{{BPMN_NS}}}conditionExpression") is not None
        for way in ways
    ):
        return ""
    return (
        f"; none of the gateway's {len(ways)} branches has a condition (Bizagi Modeler, for "
        "one, keeps them outside the file; a process-mining export (PM4Py, ProM) has none, "
        "its gateways drawing what the event log did, not when): write one on every branch "
        "but one and make that one the default"
    )


def _chooses(gateway: Any, flow: Any, outgoing: dict[str, list[str]]) -> bool:
    """Whether ``flow``, which has no condition, leaves a gateway that must choose (several
    ways out) without being its default. SpiffWorkflow's parser stopped at the first such flow
    with "Non-default exclusive outgoing sequence flow" (an inclusive gateway's too), so the
    others went unsaid (the MIWG file A.2.0 draws a split of three flows without any). A
    default naming no flow of the gateway is said on the gateway, not again on its flows."""
    ways = outgoing.get(gateway.get("id"), [])
    default = gateway.get("default")
    return len(ways) > 1 and default != flow.get("id") and (not default or default in ways)


def _message_problem(element: Any, local: str, messages: set[str], report: Any) -> None:
    """A message event, send task or receive task must name its message. Without one,
    SpiffWorkflow 3.2 waits for a message named ``None`` that nothing can send, passes a
    receive task by at once, sends nothing from a send task, and a throw event failed the
    step that reached it."""
    if local == "messageEventDefinition":
        owner, ref = element.getparent(), element.get("messageRef")
        if not ref:
            report(owner, "its message event definition has no messageRef; name the message")
        return
    ref = element.get("messageRef")
    if not ref:
        verb = "sends" if local == "sendTask" else "waits for"
        report(element, f"has no messageRef; name the message it {verb}")
    elif ref not in messages:
        report(element, _undeclared(element, "messageRef", ref, "message"))


def _nameless_message(element: Any, local: str, nameless: set[str], report: Any) -> None:
    """A message is sent and caught by its name: one declared without a name (``<message
    id="Message_Callback"/>``, as hand-written files have it) deployed, and its catch waited
    for a message named ``None`` that no API call can send."""
    ref = element.get("messageRef")
    if ref not in nameless:
        return
    owner = element.getparent() if local == "messageEventDefinition" else element
    report(
        owner,
        f"its message {ref!r} has no name, and a message is sent and caught by its name (the "
        f"name a POST /api/v1/messages gives): name it (<bpmn:message id={ref!r} "
        f"name={ref!r}/>)",
    )


_THROWS = {"sendTask", "intermediateThrowEvent", "endEvent"}


def _thrown_and_caught_within(tree: Any, messages: set[str]) -> set[str]:
    """Those of ``messages`` that only one process throws and catches, each process that uses
    them both throwing and catching them: SpiffWorkflow hands such a message to the catch
    inside the instance, by its name as declared (none), which ran. A process's own message
    start still needs a name, an instance being started by name."""
    uses: dict[str, list[tuple[Any, bool]]] = {}
    for process in tree.iter(f"{{{BPMN_NS}}}process"):
        for element in process.iter():
            if not isinstance(element.tag, str) or element.get("messageRef") not in messages:
                continue
            local = etree.QName(element).localname
            node = element.getparent() if local == "messageEventDefinition" else element
            node_local = etree.QName(node).localname
            if node_local == "startEvent" and node.getparent() is process:
                uses.setdefault(element.get("messageRef"), []).append((None, False))
                continue
            uses.setdefault(element.get("messageRef"), []).append((process, node_local in _THROWS))
    internal = set()
    for ref, used in uses.items():
        processes = {process for process, _throws in used}
        if len(processes) == 1 and None not in processes and len({t for _p, t in used}) == 2:
            internal.add(ref)
    return internal


def _undeclared(element: Any, attribute: str, ref: str, root: str) -> str:
    """``ref`` names no ``<bpmn:root>`` of this file: the one of the file it meant, else
    declare it, or (a prefixed QName whose prefix is not this file's namespace) write it as
    the bare id."""
    why = foreign_prefix(element, ref)
    if why:
        return f"{attribute} {ref!r} names no <bpmn:{root}> of this file: {why}"
    declared = {
        el.get("id"): (el.get("name"), el.get(f"{root}Code"))
        for el in element.getroottree().iter(f"{{{BPMN_NS}}}{root}")
        if el.get("id")
    }
    intended = near_ids.meant(ref, declared, declared)
    if intended is not None:
        return (
            f"{attribute} {ref!r} names no <bpmn:{root}> of this file; did you mean "
            f'{intended!r}? Write {attribute}="{intended}"'
        )
    return (
        f"{attribute} {ref!r} names no <bpmn:{root}> of this file; declare it "
        f"(<bpmn:{root} id={ref!r} …/>) next to the process"
    )
