"""Element ids that are no XML ID, and the sequence flows that most likely mean them.

BPMN's ids are of XSD's ``ID`` type: a letter or ``_`` first, then letters, digits, ``_``,
``-`` and ``.``. An id written by hand as ``Activity call`` or ``Activity_call(1)`` is refused
by the schema; the flows into and out of it usually name the id the author meant
(``Activity_call``), which no element has. Those flows are the id's, not a break of their own:
what follows the element is not "unreached" (``wiring``), and the id's problem names them
(``xsd_problems``).
"""

from __future__ import annotations

import re
from typing import Any

from engine import near_ids

_XML_ID = re.compile(r"[^\W\d][\w.\-]*")
_FLOW_ENDS = ("sourceRef", "targetRef")


def is_xml_id(value: str) -> bool:
    return _XML_ID.fullmatch(value) is not None


def to_remove(value: str) -> list[str]:
    """The characters of ``value`` an XML ID cannot hold, each once, in order."""
    return list(dict.fromkeys(ch for ch in value if not re.fullmatch(r"[\w.\-]", ch)))


def meant_refs(root: Any) -> dict[str, str]:
    """Each flow end under ``root`` that names no element but most likely means one whose id
    is no XML ID → that id."""
    ids = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    invalid = {value for value in ids if not is_xml_id(value)}
    if not invalid:
        return {}
    found: dict[str, str] = {}
    for flow in root.iter("{*}sequenceFlow"):
        for end in _FLOW_ENDS:
            ref = flow.get(end)
            if ref and ref not in ids and ref not in found:
                meant = near_ids.meant(ref, ids)
                if meant in invalid:
                    found[ref] = meant
    return found


def flows_meaning(root: Any, element_id: str) -> list[tuple[Any, str]]:
    """The flows under ``root`` (with the end attribute) naming ``element_id`` as it was
    most likely meant."""
    refs = {ref for ref, meant in meant_refs(root).items() if meant == element_id}
    return [
        (flow, end)
        for flow in root.iter("{*}sequenceFlow")
        for end in _FLOW_ENDS
        if flow.get(end) in refs
    ]
