"""Loops of sequence flows that cannot run, found before deploy.

Two kinds are refused, each on the loop's first element:

- A loop with no gateway in it (and no boundary event on its elements): SpiffWorkflow 3.2
  predicts such a loop's tasks without end and fails with ``RecursionError`` as soon as an
  instance reaches it, whatever waits in it.
- A loop whose elements all run on their own (scripts, service tasks, gateways, throw events…)
  and that no flow or boundary event leaves: it would run until the step's runaway guard stops
  it (``engine.pruning.MAX_AUTOMATIC_TASKS``), holding a request for seconds.

Everything else deploys as before: a loop with a flow out of it (a gateway whose condition may
never hold), a boundary event on one of its elements, or a gateway and an element that waits
(a user task, a catch event, a call activity or sub-process, which may wait inside).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, CONTAINERS
from engine.errors import problem

# Elements that hold their own sequence flows.
# Elements that run without waiting for anyone or anything.
AUTOMATIC = {
    "scriptTask",
    "serviceTask",
    "sendTask",
    "businessRuleTask",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "complexGateway",
    "intermediateThrowEvent",
}
GATEWAYS = {
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "complexGateway",
    "eventBasedGateway",
}


def endless_loop_problems(name: str, tree: Any) -> list[dict[str, Any]]:
    """One problem per loop that cannot run (see the module's text), on its first element."""
    found = []
    hosts = {boundary.get("attachedToRef") for boundary in tree.iter(f"{{{BPMN_NS}}}boundaryEvent")}
    for container in tree.iter():
        if not isinstance(container.tag, str):
            continue
        qname = etree.QName(container)
        if qname.namespace != BPMN_NS or qname.localname not in CONTAINERS:
            continue
        nodes = {
            child.get("id"): child
            for child in container
            if isinstance(child.tag, str)
            and etree.QName(child).namespace == BPMN_NS
            and child.get("id")
        }
        edges: dict[str, list[str]] = {}
        for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in nodes and target in nodes:
                edges.setdefault(source, []).append(target)
        for cycle in _cycles(list(nodes), edges):
            members = set(cycle)
            kinds = {etree.QName(nodes[n]).localname for n in cycle}
            if members & hosts:
                continue
            if not kinds & GATEWAYS:
                reason = (
                    "has no gateway; the engine cannot run a loop without one: route the "
                    "flow back through an exclusive gateway"
                )
            elif kinds <= AUTOMATIC and not any(
                t not in members for s in cycle for t in edges.get(s, ())
            ):
                reason = (
                    "never ends: every element of it runs on its own and no sequence flow or "
                    "boundary event leaves it; add a way out, such as a gateway flow to an end "
                    "event"
                )
            else:
                continue
            first = min(cycle, key=lambda n: nodes[n].sourceline or 0)
            element = nodes[first]
            listed = ", ".join(repr(n) for n in sorted(members, key=lambda n: nodes[n].sourceline))
            found.append(
                problem(
                    f"{name}: {etree.QName(element).localname} {first!r} is in a loop "
                    f"({listed}) that {reason}",
                    element_id=first,
                    line=element.sourceline,
                    file=name,
                )
            )
    return found


def _cycles(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components that hold a cycle (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges.get(successor, ()))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    components.append(component)
    return components
