"""What the modules reading BPMN XML share: the namespace, a parser that resolves no entities
and fetches nothing, the kinds of activity and of container, and a problem about one element
in the shape a deploy's ``422`` lists it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import pairwise
from typing import Any

from lxml import etree

from engine.errors import problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

# The activities: what a boundary event may be attached to, what a flow may lead to and run.
ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
# What a sequence flow may connect: activities, events, gateways (and choreography
# activities, which ``constructs.py`` refuses on their own).
FLOW_NODES = ACTIVITIES | {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "implicitThrowEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "complexGateway",
    "eventBasedGateway",
    "choreographyTask",
    "subChoreography",
    "callChoreography",
}
# What holds flow elements: a process and its (event, ad-hoc) subprocesses and transactions.
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}


def children(container: Any, local: str) -> list[Any]:
    """The direct children of ``container`` that are BPMN ``<local>`` elements."""
    return [child for child in container if child.tag == f"{{{BPMN_NS}}}{local}"]


def element_problem(file: str, element: Any, message: str, *, sep: str = ": ") -> dict[str, Any]:
    """``"file: userTask 'call': message"`` on the element's id and line (``sep`` between the
    element and a message that reads on from its name, such as ``"leaves its process"``)."""
    kind = etree.QName(element).localname
    return problem(
        f"{file}: {kind} {element.get('id')!r}{sep}{message}",
        element_id=element.get("id"),
        line=element.sourceline,
        file=file,
    )


def readable_trees(files: Mapping[str, str]) -> Iterator[tuple[str, Any]]:
    """Each of ``files`` (name → XML text) that is well-formed, parsed with ``SAFE_XML``, with
    its name; a malformed one is left out, the deploy's validation says what is wrong with it."""
    for name, text in files.items():
        try:
            tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue
        yield name, tree


def executable_processes(tree: Any) -> list[Any]:
    """The processes that run: those not marked ``isExecutable="false"``, else all of them
    (a collaboration's other pools are drawn only: nothing in them runs)."""
    own = list(tree.iter(f"{{{BPMN_NS}}}process"))
    return [p for p in own if p.get("isExecutable") != "false"] or own


def drawn_only(tree: Any) -> set[Any]:
    """The elements of the processes that do not run (see :func:`executable_processes`)."""
    running = executable_processes(tree)
    return {
        element
        for process in tree.iter(f"{{{BPMN_NS}}}process")
        if process not in running
        for element in process.iter()
    }


def drop_comments(tree: Any) -> None:
    """Take the XML comments and processing instructions out of ``tree``, keeping the text
    around them. They mean nothing in BPMN or DMN, but SpiffWorkflow's parser reads an
    element's children as elements (a comment in a script task failed its deploy with an
    ``AttributeError``), and a comment inside a script's or condition's text cut it short."""
    for node in list(tree.iter(etree.Comment, etree.ProcessingInstruction)):
        parent = node.getparent()
        if parent is None:
            continue  # before or after the root element: outside what the parser reads
        tail = node.tail or ""
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
        parent.remove(node)


def extension_elements(element: Any) -> Any:
    """``element``'s ``<bpmn:extensionElements>``, added as its first child if it has none
    (the passes that write a foreign setting as Dialflow's own write into it)."""
    extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        element.insert(0, extensions)
    return extensions


def add_spiff_property(element: Any, name: str, value: str) -> None:
    """Give ``element`` the ``<spiffworkflow:property name value>`` in its properties."""
    extensions = extension_elements(element)
    holder = extensions.find(f"{{{SPIFF_NS}}}properties")
    if holder is None:
        holder = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties")
    etree.SubElement(holder, f"{{{SPIFF_NS}}}property", name=name, value=value)


def chain_beside(owner: Any, tasks: list[Any], *, before: bool) -> None:
    """Draw ``tasks`` (new elements) in a chain before (or after) the flow node ``owner``, in
    its scope and lanes: its incoming (outgoing) flows, and their ``<incoming>``
    (``<outgoing>``) entries, moved onto the chain's first (last) task, new flows between."""
    scope, own = owner.getparent(), owner.get("id")
    side = "targetRef" if before else "sourceRef"
    moved = [f for f in scope.findall(f"{{{BPMN_NS}}}sequenceFlow") if f.get(side) == own]
    lanes = [
        lane
        for lane in scope.iter(f"{{{BPMN_NS}}}lane")
        if any((r.text or "").strip() == own for r in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"))
    ]
    for task in reversed(tasks):
        scope.insert(scope.index(owner) + 1, task)
    for task in tasks:
        for lane in lanes:
            etree.SubElement(lane, f"{{{BPMN_NS}}}flowNodeRef").text = task.get("id")
    chain = [*tasks, owner] if before else [owner, *tasks]
    end = tasks[0] if before else tasks[-1]
    ids = {flow.get("id") for flow in moved}
    for flow in moved:
        flow.set(side, end.get("id"))
    for entry in owner.findall(f"{{{BPMN_NS}}}{'incoming' if before else 'outgoing'}"):
        if (entry.text or "").strip() in ids:
            end.append(entry)
    for source, target in pairwise(chain):
        flow_id = f"{source.get('id')}__to__{target.get('id')}"
        etree.SubElement(
            scope,
            f"{{{BPMN_NS}}}sequenceFlow",
            id=flow_id,
            sourceRef=source.get("id"),
            targetRef=target.get("id"),
        )
        etree.SubElement(source, f"{{{BPMN_NS}}}outgoing").text = flow_id
        etree.SubElement(target, f"{{{BPMN_NS}}}incoming").text = flow_id
