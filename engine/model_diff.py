"""What changed between two versions of a diagram: elements added, removed and changed.

Elements are matched by id. An element's content is its attributes and everything below it
that has no id of its own (conditions, timer definitions, extension elements, scripts), as
flat ``path → value`` pairs, so a change is reported as "conditionExpression: 'a' → 'b'".
Layout (``bpmndi``) is left out: moving a shape is no change to what runs. ``incoming`` and
``outgoing`` are left out too: a new flow is reported as the flow itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS
from engine.errors import InvalidBpmn, problem

KEYED = {"parameter", "property"}  # spiffworkflow parameters and properties, by id or name
SKIPPED = {"incoming", "outgoing", "flowNodeRef"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


@dataclass
class ModelDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def diff_models(before: str, after: str) -> ModelDiff:
    """Compare two BPMN XML texts (``InvalidBpmn`` if one is not XML)."""
    old, new = _units(before, "before"), _units(after, "after")
    result = ModelDiff()
    for element_id, unit in new.items():
        if element_id not in old:
            result.added.append(_summary(element_id, unit))
    for element_id, unit in old.items():
        if element_id not in new:
            result.removed.append(_summary(element_id, unit))
            continue
        changes = _changes(unit, new[element_id])
        if changes:
            result.changed.append({**_summary(element_id, new[element_id]), "changes": changes})
    return result


@dataclass
class _Unit:
    kind: str
    name: str | None
    content: dict[str, str]


def _units(xml: str, which: str) -> dict[str, _Unit]:
    try:
        root = etree.fromstring(xml.encode("utf-8"), PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InvalidBpmn(
            f"The {which} version is not readable XML.", details=[problem(str(exc))]
        ) from None
    units: dict[str, _Unit] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.get("id"):
            continue
        qname = etree.QName(element)
        if qname.namespace != BPMN_NS or qname.localname == "definitions":
            continue  # the root's attributes name the exporting tool, not what runs
        if not _is_unit(element):
            continue
        units[element.get("id")] = _Unit(
            qname.localname, element.get("name"), dict(_flatten(element, ""))
        )
    return units


def _is_unit(element: Any) -> bool:
    """Semantic elements with an id, except those that belong to their parent's content."""
    node = element.getparent()
    while node is not None:
        if etree.QName(node).namespace == BPMN_NS and node.get("id") and not _is_container(node):
            return False  # e.g. a timerEventDefinition inside its event
        if etree.QName(node).localname == "definitions":
            return True
        node = node.getparent()
    return True


def _is_container(element: Any) -> bool:
    local = etree.QName(element).localname
    return local in {
        "process",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "collaboration",
        "laneSet",
        "lane",
        "definitions",
    }


def _flatten(element: Any, prefix: str, keyed: bool = False) -> list[tuple[str, str]]:
    pairs = [
        (f"{prefix}@{etree.QName(k).localname}", v)
        for k, v in element.attrib.items()
        if k != "id" and not (keyed and k in ("id", "name"))  # a key is in the path
    ]
    text = (element.text or "").strip()
    if text:
        pairs.append((prefix or "text", text))
    counts: dict[str, int] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        if local in SKIPPED or (child.get("id") and _is_container(element)):
            continue  # an element of its own, compared by its id
        if local == "extensionElements":
            pairs += _flatten(child, prefix)  # say "serviceTaskOperator", not the wrapper
            continue
        counts[local] = counts.get(local, 0) + 1
        key = (child.get("id") or child.get("name")) if local in KEYED else None
        index = f"[{key}]" if key else (f"[{counts[local]}]" if counts[local] > 1 else "")
        path = f"{prefix}/{local}{index}" if prefix else f"{local}{index}"
        pairs += _flatten(child, path, keyed=bool(key))
    return pairs


def _summary(element_id: str, unit: _Unit) -> dict[str, Any]:
    return {"element_id": element_id, "type": unit.kind, "name": unit.name}


def _changes(old: _Unit, new: _Unit) -> list[dict[str, Any]]:
    changes = []
    if old.kind != new.kind:
        changes.append({"what": "type", "before": old.kind, "after": new.kind})
    for key in sorted(set(old.content) | set(new.content)):
        before, after = old.content.get(key), new.content.get(key)
        if before != after:
            changes.append({"what": key.lstrip("@"), "before": before, "after": after})
    return changes
