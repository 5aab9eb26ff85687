"""Pools and message flows of a collaboration, checked on a file's XML.

A pool (``<participant>``) whose ``processRef`` names no process deployed as if nothing were
wrong: the pool's tasks were drawn in a process of another id (a renamed or deleted process,
an id mistyped by hand), so nothing the modeller saw in the pool would run. A message flow
between two elements of one process deployed too, and was never a message: BPMN draws message
flows between pools, and within one process the work goes along sequence flows. Each is one
problem on its participant or message flow, with its line.
"""

from __future__ import annotations

from typing import Any

from engine.bpmn_xml import BPMN_NS, element_problem


def collaboration_problems(name: str, tree: Any, process_ids: set[str]) -> list[dict[str, Any]]:
    """Pools naming no process of the deploy (or deployed before), message flows inside one
    process. ``process_ids`` are the processes the deploy knows."""
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
                    "this deploy, so nothing drawn in the pool would run: set processRef to "
                    "the id of the pool's <bpmn:process>, or leave it out for a pool that is "
                    "only drawn",
                )
            )
    owners = _process_of_elements(tree)
    for flow in tree.iter(f"{{{BPMN_NS}}}messageFlow"):
        source = owners.get(flow.get("sourceRef") or "")
        target = owners.get(flow.get("targetRef") or "")
        if source is not None and source == target:
            found.append(
                element_problem(
                    name,
                    flow,
                    f"goes from {flow.get('sourceRef')!r} to {flow.get('targetRef')!r}, both "
                    f"in process {source!r}; a message flow goes between pools: within one "
                    "process draw a sequence flow, or a signal throw and catch",
                )
            )
    return found


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
            owners[participant.get("id")] = participant.get("processRef")
    return owners
