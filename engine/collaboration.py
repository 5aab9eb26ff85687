"""Pools and message flows of a collaboration, checked on a file's XML.

A pool (``<participant>``) whose ``processRef`` names no process deployed as if nothing were
wrong: the pool's tasks were drawn in a process of another id (a renamed or deleted process,
an id mistyped by hand), so nothing the modeller saw in the pool would run. A message flow
between two elements of one process deployed too, and was never a message: BPMN draws message
flows between pools, and within one process the work goes along sequence flows. Message flows
are checked across the deploy's files: a pool may stand for a process of another file or of an
earlier deploy (the latest version, read by ``engine.deployments``), and a message flow to or
from such a pool whose message that process does not catch (or throw) never reached it, as
Dialflow delivers messages by name. Each is one problem on its participant or message flow,
with its line.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem
from engine.bundles import is_dependency


def collaboration_problems(name: str, tree: Any, process_ids: set[str]) -> list[dict[str, Any]]:
    """Pools naming no process of the deploy (or deployed before). ``process_ids`` are the
    processes the deploy knows."""
    found = []
    for participant in tree.iter(f"{{{BPMN_NS}}}participant"):
        ref = (participant.get("processRef") or "").strip()
        if ref and not _known(ref, process_ids):
            pool = participant.get("name") or participant.get("id")
            found.append(
                element_problem(
                    name,
                    participant,
                    f"the pool {pool!r} has processRef {ref!r}, which names no process of "
                    "this deploy nor one deployed before, so nothing drawn in the pool would "
                    "run: set processRef to the id of the pool's <bpmn:process>, or leave it "
                    "out for a pool that is only drawn",
                )
            )
    return found


def message_flow_problems(trees: dict[str, Any], earlier: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message flow of the deploy, its two ends resolved across the deploy's files
    (``trees``) and the processes deployed before that its pools name (``earlier``, files by
    name): one within a single process (two of its elements, a pool and its own process, two
    pools naming one process); and one that ends on a pool whose process is in another file
    (or deployed before) while that process does not catch (or throw) the message the other
    end sends (or waits for): Dialflow delivers messages by name, so the message never
    reached the pool the diagram shows it going to."""
    processes: dict[str, tuple[str, Any]] = {}
    for name, tree in [*earlier.items(), *trees.items()]:
        for process in tree.iter(f"{{{BPMN_NS}}}process"):
            if process.get("id"):
                processes[process.get("id")] = (name, process)
    found = []
    for name, tree in trees.items():
        if is_dependency(name):  # an earlier deploy's file: its flows were checked then
            continue
        owners = _process_of_elements(tree)
        pools = {
            p.get("id"): _local_ref(p.get("processRef") or "")
            for p in tree.iter(f"{{{BPMN_NS}}}participant")
            if p.get("id") and p.get("processRef")
        }
        elements = {e.get("id"): e for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
        for flow in tree.iter(f"{{{BPMN_NS}}}messageFlow"):
            source_ref, target_ref = flow.get("sourceRef") or "", flow.get("targetRef") or ""
            source, target = owners.get(source_ref), owners.get(target_ref)
            if source is not None and source == target:
                found.append(
                    element_problem(
                        name,
                        flow,
                        f"goes from {source_ref!r} to {target_ref!r}, both in process "
                        f"{source!r}; a message flow goes between pools: within one process "
                        "draw a sequence flow, or a signal throw and catch",
                    )
                )
                continue
            for pool_ref, other_ref, catches in (
                (target_ref, source_ref, True),
                (source_ref, target_ref, False),
            ):
                process_id = pools.get(pool_ref)
                if process_id is None or process_id not in processes:
                    continue
                where, process = processes[process_id]
                if where == name or other_ref not in elements:
                    continue
                sent = _message_of(elements[other_ref], tree)
                if sent is None:
                    continue
                heard = _messages_of(process, trees.get(where, earlier.get(where)), catches)
                if sent not in heard:
                    pool = elements[pool_ref].get("name") or pool_ref
                    origin = "deployed before" if where in earlier else f"in {where}"
                    verb, done = ("sends", "waits for") if catches else ("waits for", "sends")
                    listed = ", ".join(repr(m) for m in sorted(heard)) or "no message"
                    found.append(
                        element_problem(
                            name,
                            flow,
                            f"shows message {sent!r}, which {other_ref!r} {verb}, going "
                            f"{'to' if catches else 'from'} the pool {pool!r}, but its process "
                            f"{process_id!r} ({origin}) {done} {listed}: Dialflow delivers "
                            "messages by name, so give both ends the same message",
                        )
                    )
    return found


_CATCHING = {"receiveTask", "startEvent", "intermediateCatchEvent", "boundaryEvent"}
_THROWING = {"sendTask", "intermediateThrowEvent", "endEvent"}


def _message_names(tree: Any) -> dict[str, str]:
    return {
        m.get("id"): m.get("name") or m.get("id")
        for m in tree.iter(f"{{{BPMN_NS}}}message")
        if m.get("id")
    }


def _message_ref(element: Any) -> str | None:
    """The messageRef of a send or receive task, or of a message event's definition."""
    if element.get("messageRef"):
        return element.get("messageRef")
    definition = element.find(f"{{{BPMN_NS}}}messageEventDefinition")
    return definition.get("messageRef") if definition is not None else None


def _message_of(element: Any, tree: Any) -> str | None:
    ref = _message_ref(element)
    return _message_names(tree).get(_local_ref(ref), ref) if ref else None


def _messages_of(process: Any, tree: Any, catching: bool) -> set[str]:
    """The names of the messages a process catches (or throws), anywhere within it."""
    kinds = _CATCHING if catching else _THROWING
    names = _message_names(tree)
    found = set()
    for element in process.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in kinds:
            ref = _message_ref(element)
            if ref:
                found.add(names.get(_local_ref(ref), ref))
    return found


def _local_ref(ref: str) -> str:
    """A QName reference without its prefix (``tns:billing`` names ``billing``)."""
    return ref.rsplit(":", 1)[-1]


def _known(ref: str, process_ids: set[str]) -> bool:
    """Whether ``ref`` (a QName, perhaps prefixed) names a known process."""
    return ref in process_ids or ref.rsplit(":", 1)[-1] in process_ids


def _process_of_elements(tree: Any) -> dict[str, str]:
    """Element id → the id of the process it is in; a pool counts as its process."""
    owners: dict[str, str] = {}
    for process in tree.iter(f"{{{BPMN_NS}}}process"):
        process_id = process.get("id")
        if not process_id:
            continue
        for element in process.iter():
            if isinstance(element.tag, str) and element.get("id") and element is not process:
                owners[element.get("id")] = process_id
    for participant in tree.iter(f"{{{BPMN_NS}}}participant"):
        if participant.get("id") and participant.get("processRef"):
            owners[participant.get("id")] = _local_ref(participant.get("processRef"))
    return owners
