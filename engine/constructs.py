"""BPMN constructs Dialflow does not execute, all listed before the parser runs.

SpiffWorkflow's parser stops at the first construct it refuses in a process, with messages
such as "Multiple outgoing flows are not supported for tasks of type." or a raw
``NotImplementedError``; a diagram from another tool then gets its problems one deploy at a
time. This pre-pass walks the XML of every executable process and names each such element at
once, in words a process owner can act on. Events nothing would deliver, event subprocesses
and boundary events that cannot run as drawn, and compensation are checked by
``engine.event_checks``, called from here element by element; the parser's own messages are
said in plain words by ``engine.parser_messages``. A process with several untriggered start
events would run only one of them.

What SpiffWorkflow 3.2 refuses was found by parsing small diagrams: complex gateways (and any
other flow node it has no parser for), an activity with more than one outgoing sequence flow,
compensation boundary events, and data stores (none has an implementation in Dialflow).
Ad-hoc subprocesses parse but fail as soon as they start (``KeyError: 'data_objects'`` in
SpiffWorkflow's own completion handling, with or without a completion condition), so they are
refused too. Transactions parse and run; link events run once ``engine.links`` has joined each
throw to its catch (SpiffWorkflow 3.2 alone ended the path at the throw). Resource roles such
as jBPM's ``potentialOwner`` and ``<assignment>``s in data associations, which SpiffWorkflow
ignores, are refused on their task.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.assignment_attributes import owner_runs
from engine.bpmn_xml import ACTIVITIES, BPMN_NS, CONTAINERS, SAFE_XML, children
from engine.error_code_refs import declare_code_refs
from engine.errors import problem
from engine.event_checks import (
    COMPENSATION,
    ON_EVENT_SUBPROCESS,
    THROWS,
    Context,
    calling_scope,
    catch_problems,
    compensates,
    escalation_codes,
    event_names,
    event_subprocess_problems,
    same_boundary_trigger_twice,
    same_trigger_twice,
    throw_problems,
    thrown_by,
)
from engine.event_definition_refs import inline_event_definitions
from engine.event_places import place_problems
from engine.foreign_hints import honoured_owner
from engine.payload_places import misplaced_payloads
from engine.qname_refs import unprefix_references
from engine.unthrown_errors import unthrown_boundary_problems

UNSUPPORTED_NODES = {
    "complexGateway": "complex gateways are not supported: split with an exclusive gateway "
    "(one way) or an inclusive gateway (every way whose condition holds), and join with an "
    "inclusive gateway (the branches that were started) or a parallel gateway (all of them)",
    "adHocSubProcess": "ad-hoc subprocesses are not supported: SpiffWorkflow 3.2 fails one as "
    "soon as it starts, with or without a completion condition; draw the optional activities as "
    "branches of an inclusive gateway, or as user tasks of their own",
    **dict.fromkeys(
        ("choreographyTask", "callChoreography", "subChoreography"),
        "choreography activities are not executable: they describe the messages between "
        "participants, not what one process does. In this process, draw a send task (or a "
        "message throw event) for what it sends and a receive task (or a message catch event) "
        "for what it waits for",
    ),
    "implicitThrowEvent": "an implicit throw event is not executable (BPMN keeps it for "
    "choreographies): draw an intermediate throw event, or an end event",
}
CATCHES = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
# Token counts BPMN lets an activity have (modelers write 1, the default, on every task).
QUANTITIES = {
    "startQuantity": "join the arrivals with a parallel gateway before the activity",
    "completionQuantity": "split after the activity with a parallel gateway",
}


def unsupported_problems(bpmn: dict[str, str]) -> list[dict[str, Any]]:
    """One problem per construct Dialflow does not execute, in every executable process."""
    trees: dict[str, Any] = {}
    for name, text in bpmn.items():
        try:
            trees[name] = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation
        unprefix_references(trees[name])  # errorRef="tns:x" names x, as the parser reads it
        inline_event_definitions(trees[name])  # an eventDefinitionRef held as the parser sees it
        declare_code_refs(trees[name])  # Activiti's and Flowable's errorRef naming the code
    processes = {
        process.get("id"): process
        for tree in trees.values()
        for process in tree.iter(f"{{{BPMN_NS}}}process")
        if process.get("id")
    }
    # A throw's reference is resolved in its own file: a called process may come from another.
    signals_of = {
        process.get("id"): event_names(tree, "signal")
        for tree in trees.values()
        for process in tree.iter(f"{{{BPMN_NS}}}process")
    }
    codes_of = {
        process.get("id"): escalation_codes(tree)
        for tree in trees.values()
        for process in tree.iter(f"{{{BPMN_NS}}}process")
    }
    found: list[dict[str, Any]] = []
    for name, tree in trees.items():
        own = list(tree.iter(f"{{{BPMN_NS}}}process"))
        executable = [p for p in own if p.get("isExecutable") != "false"] or own
        signals = event_names(tree, "signal")
        escalations = event_names(tree, "escalation")
        for process in executable:
            scope = calling_scope(process, processes)
            thrown_signals = thrown_by(scope, "signalEventDefinition", "signalRef", signals_of)
            thrown_escalations = thrown_by(
                scope, "escalationEventDefinition", "escalationRef", codes_of
            )
            context = Context(name, signals, escalations, thrown_signals, thrown_escalations)
            found += _process_problems(process, context)
        found += _unused_data_stores(name, tree, executable)
        found += misplaced_payloads(name, tree)
        found += unthrown_boundary_problems(name, executable)
    return found


def _process_problems(process: Any, ctx: Context) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    properties = {  # the process's variables as Eclipse BPMN2 Modeler and jBPM declare them
        prop.get("id"): prop.get("name") or prop.get("id")
        for prop in children(process, "property")
        if prop.get("id")
    }
    for container in [process, *_descendants(process, CONTAINERS)]:
        outgoing: dict[str, int] = {}
        for flow in children(container, "sequenceFlow"):
            outgoing[flow.get("sourceRef")] = outgoing.get(flow.get("sourceRef"), 0) + 1
        for node in container:
            if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
                continue
            local = etree.QName(node).localname
            if local in UNSUPPORTED_NODES:
                found.append(ctx.report(node, UNSUPPORTED_NODES[local]))
            if local in ACTIVITIES:
                found += [
                    ctx.report(
                        node,
                        f"{attribute}={node.get(attribute)!r}: an activity that waits for "
                        "several arrivals or sends several on is not supported (SpiffWorkflow "
                        f"runs it once per arrival and leaves once); {hint}",
                    )
                    for attribute, hint in QUANTITIES.items()
                    if (node.get(attribute) or "1").strip() != "1"
                ]
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
            found += place_problems(node, local, container, ctx)
            if local in CATCHES:
                found += catch_problems(node, local, container is process, ctx)
            if local in THROWS:
                found += throw_problems(node, ctx)
            if compensates(node, local):
                found.append(ctx.report(node, COMPENSATION))
            if local in ACTIVITIES:
                found += _assignment_problems(node, ctx)
            if properties:
                found += _property_associations(node, properties, ctx)
            if local in CONTAINERS and node.get("triggeredByEvent") in ("true", "1"):
                found += event_subprocess_problems(node, container, ctx)
                found += [
                    ctx.report(boundary, ON_EVENT_SUBPROCESS)
                    for boundary in children(container, "boundaryEvent")
                    if boundary.get("attachedToRef") == node.get("id")
                ]
        found += same_trigger_twice(container, ctx)
        found += same_boundary_trigger_twice(container, ctx)
        plain_starts = [
            node
            for node in children(container, "startEvent")
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


RESOURCE_ROLES = {"performer", "humanPerformer", "potentialOwner"}
BY_LANE = (
    "Dialflow gives a task to the people its lane names; put the task in a lane named after "
    "the role or team"
)
# The task inputs by which jBPM assigns a user task.
PEOPLE_INPUTS = {"GroupId", "ActorId"}


def _assignment_problems(node: Any, ctx: Context) -> list[dict[str, Any]]:
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
        if kind in RESOURCE_ROLES and not (honoured_owner(node, child) or owner_runs(node, child)):
            said = f"<{kind}> is not supported: {BY_LANE}"
            if etree.QName(node).localname == "userTask" and kind == "potentialOwner":
                said += (
                    ", or name who works it in one formalExpression without a resourceRef: "
                    "user(name) and group(name) (a role or team), comma-separated, a name "
                    "also as ${variable}"
                )
            elif etree.QName(node).localname == "userTask" and kind == "humanPerformer":
                said += (
                    ", or name who works it in one formalExpression without a resourceRef: "
                    "a username or ${variable}"
                )
            found.append(ctx.report(node, said, child))
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


def _property_associations(
    node: Any, properties: dict[str, str], ctx: Context
) -> list[dict[str, Any]]:
    """A data association from or to a process ``<property>``, as Eclipse BPMN2 Modeler and
    jBPM map a task's inputs and a message's content to a process variable: SpiffWorkflow
    resolves associations to data objects only, and said "a data association of this task must
    connect it to a data object" (of an event too), without naming the property."""
    event = "Event" in etree.QName(node).localname  # a catch maps outputs, a throw inputs
    found = []
    for child in node:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != BPMN_NS:
            continue
        kind = etree.QName(child).localname
        end = {"dataInputAssociation": "sourceRef", "dataOutputAssociation": "targetRef"}.get(kind)
        refs = [(r.text or "").strip() for r in children(child, end)] if end else []
        for ref in [r for r in refs if r in properties]:
            verb = "reads process property" if end == "sourceRef" else "writes process property"
            if event and end == "sourceRef":
                hint = (
                    "a message thrown carries a copy of the thrower's data (or what its "
                    "spiffworkflow:messagePayload expression gives)"
                )
            elif event:
                hint = (
                    "a message's payload joins the instance's data under its own field names "
                    "(to keep it whole under one name, give the message event definition "
                    f"<extensionElements><spiffworkflow:messageVariable>{properties[ref]}"
                    "</spiffworkflow:messageVariable></extensionElements>)"
                )
            elif etree.QName(node).localname == "callActivity":
                hint = "a call activity passes the caller's data in and the called process's back"
            else:
                hint = (
                    "forms, scripts and service parameters read and set the instance's data by name"
                )
            found.append(
                ctx.report(
                    node,
                    f"its {kind} {child.get('id') or ''} {verb} {properties[ref]!r} "
                    "(<bpmn:property>, a process variable declared as Eclipse BPMN2 Modeler "
                    "and jBPM declare them); Dialflow keeps every variable in the instance's "
                    "data by its name, without declaring it, and SpiffWorkflow maps data "
                    f"associations to data objects only: leave out the association; {hint}",
                    child,
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


def _descendants(container: Any, locals_: set[str]) -> list[Any]:
    return [
        element
        for element in container.iter()
        if element is not container
        and isinstance(element.tag, str)
        and etree.QName(element).namespace == BPMN_NS
        and etree.QName(element).localname in locals_
    ]
