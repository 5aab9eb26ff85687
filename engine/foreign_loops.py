"""Multi-instance activities as Camunda 7/8, Flowable and Activiti write them, run as drawn.

A countersign or a call list is drawn in Camunda 7, Flowable and Activiti with
``camunda:collection="${approvers}" camunda:elementVariable="approver"`` (or the collection as
a plain variable name) on ``<bpmn:multiInstanceLoopCharacteristics>``, and in Camunda 8 with
``<zeebe:loopCharacteristics inputCollection="=approvers" inputElement="approver"
outputCollection="results" outputElement="=result"/>`` in its extension elements.
SpiffWorkflow reads only BPMN's own ``loopDataInputRef`` / ``inputDataItem`` (and
``loopDataOutputRef`` / ``outputDataItem``), so such diagrams were refused with the hint to
rewrite them. ``adopt`` writes them in that form before the parser builds the file: each
instance gets its element variable, the completion condition (``engine.juel``) ends the
activity early, Camunda 8's outputs are collected into its output collection. Camunda 8's
completion condition is FEEL (``=nrOfCompletedInstances >= 2``, ``=some d in decisions
satisfies d = false``): one that becomes Python is written as the Python
``engine.zeebe_expressions`` runs it (FEEL's functions, quantifiers, null for what is
missing). A collection given as a
path into the data (``${deal.approvers}``, ``=deal.approvers``) is written as that path,
which ``engine.collection_paths`` reads.

What cannot run as drawn stays refused by ``engine.foreign`` with ``hint``: a collection that
is no variable or path (``${service.list()}``, ``=items[1]``), an activity that also gives a
cardinality or BPMN's own input collection.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import collection_paths, zeebe_expressions, zeebe_hints
from engine.bpmn_xml import BPMN_NS

JAVA_ENGINES = {
    "http://camunda.org/schema/1.0/bpmn",
    "http://activiti.org/bpmn",
    "http://flowable.org/bpmn",
}
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
_BPMN = f"{{{BPMN_NS}}}"
_LOOP = f"{_BPMN}multiInstanceLoopCharacteristics"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
_JUEL = re.compile(r"^\s*[$#]\{\s*(.*?)\s*\}\s*$", re.DOTALL)
_ZEEBE_ATTRIBUTES = {"inputCollection", "inputElement", "outputCollection", "outputElement"}


def _java_name(value: str | None, shape: re.Pattern[str] = _NAME) -> str | None:
    """The variable a Camunda 7/Flowable/Activiti ``collection`` or ``elementVariable`` names
    (``approvers`` or ``${approvers}``; with ``_PATH`` also ``${deal.approvers}``), else None."""
    text = (value or "").strip()
    found = _JUEL.match(text)
    name = found.group(1) if found else text
    return name if shape.match(name) else None


def _feel_name(value: str | None, shape: re.Pattern[str] = _NAME) -> str | None:
    """The variable a Camunda 8 setting names (``=approvers`` or ``approvers``; with
    ``_PATH`` also ``=deal.approvers``), else None."""
    text = (value or "").strip()
    name = text[1:].strip() if text.startswith("=") else text
    return name if shape.match(name) else None


def _java_settings(loop: Any) -> dict[str, str | None]:
    """The loop's ``collection`` and ``elementVariable`` attributes, whichever engine's."""
    found: dict[str, str | None] = {}
    for attribute, value in loop.attrib.items():
        qname = etree.QName(attribute)
        if qname.namespace in JAVA_ENGINES and qname.localname in ("collection", "elementVariable"):
            found[qname.localname] = value
    return found


def _zeebe_of(loop: Any) -> list[Any]:
    return list(loop.iterfind(f"{_BPMN}extensionElements/{{{ZEEBE_NS}}}loopCharacteristics"))


def _has_own_input(loop: Any) -> bool:
    return any(
        loop.find(f"{_BPMN}{tag}") is not None for tag in ("loopCardinality", "loopDataInputRef")
    )


def _java_names(loop: Any) -> tuple[str, str | None] | None:
    settings = _java_settings(loop)
    if "collection" not in settings or _has_own_input(loop):
        return None
    collection = _java_name(settings["collection"], _PATH)
    element = settings.get("elementVariable")
    item = _java_name(element) if element is not None and element.strip() else None
    if collection is None or (element is not None and element.strip() and item is None):
        return None
    return collection, item


def _zeebe_names(zeebe: Any) -> dict[str, str | None] | None:
    loop = zeebe.getparent().getparent() if zeebe.getparent() is not None else None
    if loop is None or loop.tag != _LOOP or len(zeebe) or _has_own_input(loop):
        return None
    if set(zeebe.attrib) - _ZEEBE_ATTRIBUTES or len(_zeebe_of(loop)) != 1:
        return None
    names: dict[str, str | None] = {}
    for attribute in _ZEEBE_ATTRIBUTES:
        written = (zeebe.get(attribute) or "").strip()
        shape = _PATH if attribute == "inputCollection" else _NAME
        names[attribute] = _feel_name(written, shape) if written else None
        expression = attribute in ("inputCollection", "outputElement")
        if expression and zeebe_hints.is_feel(written) and names[attribute] is None:
            python = zeebe_expressions.python(written)  # any FEEL giving the list or item
            if python is not None:
                kind = "collection" if attribute == "inputCollection" else "output"
                names[attribute] = collection_paths.expression_name(written, python, kind)
        if written and names[attribute] is None:
            return None
    if names["inputCollection"] is None:
        return None
    if (names["outputCollection"] is None) != (names["outputElement"] is None):
        return None  # one without the other collects nothing
    return names


def feel_condition(element: Any) -> str | None:
    """The Python of a multi-instance ``completionCondition`` written in FEEL, else None."""
    parent = element.getparent()
    body = (element.text or "").strip()
    if element.tag != f"{_BPMN}completionCondition" or parent is None or parent.tag != _LOOP:
        return None
    if not body.startswith("=") or body.startswith("=="):
        return None
    return zeebe_expressions.python(body)


def runs(local: str, element: Any) -> bool:
    """Whether the Camunda 7/Flowable/Activiti attribute ``local`` on ``element`` is one of
    a multi-instance loop ``adopt`` runs as drawn."""
    if element.tag != _LOOP:
        return False
    settings = _java_settings(element)
    if local == "elementVariable" and "collection" in settings and _java_name(settings[local]):
        return True  # a plain name: its collection, if it cannot run, says so
    return local == "collection" and _java_names(element) is not None


def adopted(element: Any) -> bool:
    """True for a ``<zeebe:loopCharacteristics>`` ``adopt`` runs as drawn."""
    return element.tag == f"{{{ZEEBE_NS}}}loopCharacteristics" and _zeebe_names(element) is not None


def hint(local: str, element: Any) -> str | None:
    """Why a multi-instance setting that ``adopt`` does not take cannot run, and what to
    write instead."""
    loop = element if element.tag == _LOOP else None
    if loop is None and element.tag == f"{{{ZEEBE_NS}}}loopCharacteristics":
        parent = element.getparent()
        loop = parent.getparent() if parent is not None else None
    if (
        loop is None
        or loop.tag != _LOOP
        or local
        not in (
            "collection",
            "elementVariable",
            "loopCharacteristics",
        )
    ):
        return None
    if _has_own_input(loop):
        return (
            "the activity already gives loopCardinality or loopDataInputRef: keep one way of "
            "naming its instances"
        )
    written = ""
    if loop is not element:  # Camunda 8: which part of a FEEL collection does not run
        collection = (element.get("inputCollection") or "").strip()
        if zeebe_hints.is_feel(collection) and zeebe_expressions.python(collection) is None:
            written = (
                f" (inputCollection {collection!r} holds "
                f"{zeebe_expressions.untranslated(collection)})"
            )
    return (
        "Dialflow runs a multi-instance collection that names one variable or a path into one "
        '(collection="${approvers}", "approvers" or "${deal.approvers}", '
        'inputCollection="=approvers", or in Camunda 8 any FEEL expression it runs) with an '
        f"element variable that is a plain name{written}; compute the list into a variable "
        "first, in a script task, and name that variable"
    )


def adopt(tree: Any) -> None:
    """Write each adoptable foreign multi-instance loop as BPMN's ``loopDataInputRef`` and
    ``inputDataItem`` (and Camunda 8's outputs as ``loopDataOutputRef`` and
    ``outputDataItem``) before the parser reads the file."""
    for condition in list(tree.iter(f"{_BPMN}completionCondition")):
        python = feel_condition(condition)
        if python is not None:
            condition.text = python
            condition.attrib.pop("language", None)
    for loop in list(tree.iter(_LOOP)):
        java = _java_names(loop)
        if java is not None:
            _write(loop, java[0], java[1], None, None)
            continue
        zeebes = _zeebe_of(loop)
        names = _zeebe_names(zeebes[0]) if len(zeebes) == 1 else None
        if names is not None:
            _write(
                loop,
                names["inputCollection"] or "",
                names["inputElement"],
                names["outputCollection"],
                names["outputElement"],
            )


def _write(
    loop: Any, collection: str, item: str | None, output: str | None, output_item: str | None
) -> None:
    parts: list[Any] = []
    ref = etree.Element(f"{_BPMN}loopDataInputRef")
    ref.text = collection
    parts.append(ref)
    if output and loop.find(f"{_BPMN}loopDataOutputRef") is None:
        out = etree.Element(f"{_BPMN}loopDataOutputRef")
        out.text = output
        parts.append(out)
    if item and loop.find(f"{_BPMN}inputDataItem") is None:
        parts.append(etree.Element(f"{_BPMN}inputDataItem", id=item, name=item))
    if output_item and loop.find(f"{_BPMN}outputDataItem") is None:
        parts.append(etree.Element(f"{_BPMN}outputDataItem", id=output_item, name=output_item))
    start = sum(  # after its documentation and extension elements, as BPMN orders them
        1 for child in loop if child.tag in (f"{_BPMN}documentation", f"{_BPMN}extensionElements")
    )
    for at, part in enumerate(parts, start):
        part.tail = loop.text
        loop.insert(at, part)
