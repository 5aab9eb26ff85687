"""Activiti's and Flowable's shortcut: an ``errorRef`` that names no error is its code.

Activiti and Flowable read an error event's ``errorRef`` as the ``errorCode`` itself when no
``<error>`` of the file has that id (their user guides call it a shortcut), so their
diagrams often declare no error at all: ``<errorEventDefinition errorRef="DNC"/>`` on the
error end event and on the boundary event that catches it. Such a file was refused on both
events ("names no <bpmn:error> of this file; declare it").

Before the checks and the parser see a BPMN file that declares the Activiti or Flowable
namespace, each such reference gets the error it means, declared before the file's first
process: ``<error id="DNC" name="DNC" errorCode="DNC"/>``. A reference that is no XML name
(a QName of another namespace, an expression) stays and is said as before. The stored XML
stays as uploaded.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS

SHORTCUT_NAMESPACES = {"http://activiti.org/bpmn", "http://flowable.org/bpmn"}
_DEFINITION = f"{{{BPMN_NS}}}errorEventDefinition"
_ERROR = f"{{{BPMN_NS}}}error"


def declare_code_refs(tree: Any) -> int:
    """Declare the error each undeclared ``errorRef`` of an Activiti or Flowable file means,
    in place (see the module's text); returns how many errors were declared."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    if not SHORTCUT_NAMESPACES & set(root.nsmap.values()):
        return 0
    declared = {element.get("id") for element in root.iter() if element.get("id")}
    missing: list[str] = []
    for definition in root.iter(_DEFINITION):
        ref = (definition.get("errorRef") or "").strip()
        if ref and ref not in declared and ref not in missing and _is_xml_name(ref):
            missing.append(ref)
    if not missing:
        return 0
    first_process = root.find(f"{{{BPMN_NS}}}process")
    at = list(root).index(first_process) if first_process is not None else len(root)
    for offset, code in enumerate(missing):
        error = etree.Element(_ERROR, id=code, name=code, errorCode=code)
        error.tail = "\n  "
        root.insert(at + offset, error)
    return len(missing)


def _is_xml_name(text: str) -> bool:
    try:
        etree.QName(text)
    except ValueError:
        return False
    return ":" not in text and not text[0].isdigit() and not text.startswith(("$", "="))
