"""A Camunda 8 user task's due date and priority, run as Dialflow's ``dueAt``/``dueIn`` and
``priority``.

Camunda Modeler 5.30+ (Camunda 8.6 and later) writes a user task's scheduling as
``<zeebe:taskSchedule dueDate="…"/>`` and its priority as ``<zeebe:priorityDefinition
priority="…"/>``. Dialflow has both: a work item's due time (the task property ``dueAt``, an
expression giving an ISO 8601 date-time, or ``dueIn``, a duration from when the task is
offered) and its priority (the property ``priority``). Both were refused with no word on what
to write instead. Here ``adopt`` writes them into the parsed tree as those properties:

- ``dueDate``: an ISO 8601 date-time with its offset (``2026-05-05T18:00:00+08:00``) as that
  text; a FEEL expression (``=callback_at``, ``=now() + duration("P1D") * 2``) as the Python
  ``engine.zeebe_expressions`` runs it, FEEL's functions included; ``=date and time("…")``
  as its text; ``=now() + duration("PT4H")`` as ``dueIn`` ``PT4H``.
- ``priority``: a whole number from 0 to 100 (Camunda's range), or a FEEL expression run so.

- ``followUpDate``: as ``dueDate``, as the properties ``followUpAt``/``followUpIn``: the work
  item's follow-up date (when to look at it again), shown beside its due time.

What has no faithful Dialflow meaning stays refused on its element, with what to write
(``hint_for``): a FEEL expression
with no Python here (a range, a function with no helper), a date-time without an
offset, a priority outside 0..100, and a task that also sets the property itself.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import zeebe_expressions, zeebe_hints
from engine.bpmn_xml import BPMN_NS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_ZEEBE = f"{{{zeebe_hints.ZEEBE_NS}}}"
_SPIFF = f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$"
)
_LOCAL_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_FROM_NOW = re.compile(r'^now\(\)\s*\+\s*duration\(\s*"(P[0-9YMWDTHS.]+)"\s*\)$')
_DATE_TIME_LITERAL = re.compile(r'^date and time\(\s*"([^"]*)"\s*\)$')
_KINDS = {"taskSchedule": ("dueDate", "followUpDate"), "priorityDefinition": ("priority",)}
# The properties a date of ``zeebe:taskSchedule`` becomes: an instant, or a duration from now.
_DATES = {"dueDate": ("dueAt", "dueIn"), "followUpDate": ("followUpAt", "followUpIn")}


def properties_of(element: Any) -> dict[str, str] | None:
    """The Dialflow properties (``dueAt``, ``dueIn``, ``priority``) a ``zeebe:taskSchedule``
    or ``zeebe:priorityDefinition`` of a user task says, or ``None`` when it says something
    Dialflow does not do (``hint_for`` says what)."""
    local = etree.QName(element).localname
    task = _task_of(element)
    if local not in _KINDS or task is None or len(element) or (element.text or "").strip():
        return None
    if set(element.attrib) - set(_KINDS[local]):
        return None  # an attribute of a later version
    found: dict[str, str] = {}
    if local == "taskSchedule":
        for attribute, names in _DATES.items():
            text = (element.get(attribute) or "").strip()
            said = _due(text, *names) if text else {}
            if said is None:
                return None
            found.update(said)
    else:
        priority = _priority(element.get("priority"))
        if priority is None:
            return None
        found["priority"] = priority
    written = _written_properties(task)
    if set(found) & written or any(
        set(pair) & set(found) and set(pair) & written for pair in _DATES.values()
    ):
        return None  # said twice: which one holds?
    return found


def adopted(element: Any) -> bool:
    """True for a ``zeebe:taskSchedule`` or ``zeebe:priorityDefinition`` that ``adopt``
    writes as Dialflow's own properties."""
    return properties_of(element) is not None


def adopt(tree: Any) -> None:
    """Write each user task's adopted schedule and priority as its
    ``spiffworkflow:properties`` (see the module)."""
    for task in tree.iter(f"{{{BPMN_NS}}}userTask"):
        said: dict[str, str] = {}
        for local in _KINDS:
            for element in _zeebe(task, local):
                said.update(properties_of(element) or {})
        if not said:
            continue
        extensions = task.find(_EXTENSIONS)
        holder = extensions.find(f"{_SPIFF}properties")
        if holder is None:
            holder = etree.SubElement(extensions, f"{_SPIFF}properties")
        for name, value in said.items():
            etree.SubElement(holder, f"{_SPIFF}property", name=name, value=value)


def hint_for(element: Any) -> str | None:
    """What to write for a schedule or priority ``adopt`` does not run, or ``None`` for
    another element."""
    local = etree.QName(element).localname
    task = _task_of(element)
    if local not in _KINDS:
        return None
    if task is None:
        return "Dialflow schedules and ranks user tasks only: remove it"
    written = _written_properties(task)
    if local == "taskSchedule":
        follow_up = (element.get("followUpDate") or "").strip()
        if follow_up and {"followUpAt", "followUpIn"} & written:
            return (
                "the task's followUpAt or followUpIn property already says its follow-up "
                "date: keep one"
            )
        if follow_up and _due(follow_up, "followUpAt", "followUpIn") is None:
            return _date_hint("followUpDate", follow_up, "followUpAt")
        due = (element.get("dueDate") or "").strip()
        if {"dueAt", "dueIn"} & written:
            return "the task's dueAt or dueIn property already says when it is due: keep one"
        return _date_hint("dueDate", due, "dueAt")
    value = (element.get("priority") or "").strip()
    if "priority" in written:
        return "the task's priority property already says its priority: keep one"
    if zeebe_hints.is_feel(value):
        return (
            f"priority {value!r} has no Python here: give the task the property priority, a "
            "Python expression such as 90 if amount > 10000 else 50, or write a FEEL name, "
            "path or if … then … else over them"
        )
    return f"priority {value!r} is no whole number from 0 to 100: write one, such as 50"


def _date_hint(attribute: str, due: str, instant: str) -> str:
    """What to write for a ``dueDate`` or ``followUpDate`` ``_due`` does not run."""
    literal = _DATE_TIME_LITERAL.match(due[1:].strip()) if zeebe_hints.is_feel(due) else None
    text = literal.group(1) if literal else due
    if _LOCAL_DATE_TIME.match(text):
        return (
            f"{attribute} {due!r} has no offset: write the date-time with its offset, such as "
            f"'{text if 'T' in text else text + 'T18:00:00'}+08:00'"
        )
    return (
        f"{attribute} {due!r} has no Python here: write an ISO 8601 date-time with its offset "
        "(2026-05-05T18:00:00+08:00), a FEEL name or path holding one (=callback_at), "
        f'=now() + duration("PT4H"), or give the task the property {instant} (a Python '
        "expression giving the date-time)"
    )


def _due(text: str, at: str = "dueAt", within: str = "dueIn") -> dict[str, str] | None:
    """The property (``at``: an instant, ``within``: a duration from now) a date says."""
    if _DATE_TIME.match(text):
        return {at: repr(text)}
    if not zeebe_hints.is_feel(text):
        return None
    body = text.strip()[1:].strip()
    relative = _FROM_NOW.match(body)
    if relative:
        return {within: relative.group(1)}
    literal = _DATE_TIME_LITERAL.match(body)
    if literal:
        return {at: repr(literal.group(1))} if _DATE_TIME.match(literal.group(1)) else None
    python = zeebe_expressions.python(text)
    return {at: python} if python else None


def _priority(value: str | None) -> str | None:
    text = (value or "").strip()
    if zeebe_hints.is_feel(text):
        return zeebe_expressions.python(text)
    if text.isdigit() and 0 <= int(text) <= 100:
        return str(int(text))
    return None


def _written_properties(task: Any) -> set[str]:
    return {
        prop.get("name") or ""
        for extensions in task.findall(_EXTENSIONS)
        for holder in extensions.findall(f"{_SPIFF}properties")
        for prop in holder.findall(f"{_SPIFF}property")
    }


def _zeebe(node: Any, local: str) -> list[Any]:
    return [
        found
        for extensions in node.findall(_EXTENSIONS)
        for found in extensions.findall(f"{_ZEEBE}{local}")
    ]


def _task_of(element: Any) -> Any:
    """The user task whose own extensionElements hold ``element``, else ``None``."""
    parent = element.getparent()
    if parent is None or parent.tag != _EXTENSIONS:
        return None
    task = parent.getparent()
    return task if task is not None and task.tag == f"{{{BPMN_NS}}}userTask" else None
