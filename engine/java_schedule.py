"""A user task's ``dueDate``, ``followUpDate`` and ``priority`` attributes, as Camunda 7, Flowable
and Activiti write them, run as Dialflow's ``dueAt``/``dueIn``, ``followUpAt``/``followUpIn`` and
``priority`` properties.

Camunda Modeler (Camunda 7), the Flowable and Activiti designers put a user task's due date
and priority in attributes: ``camunda:dueDate="${callbackAt}"``, ``flowable:dueDate="PT4H"``,
``camunda:priority="80"``. Dialflow has both (a work item's due time, from the task property
``dueAt``, a Python expression giving an ISO 8601 date-time, or ``dueIn``, a duration from
when the task opens; and its ``priority``), but refused the attributes. ``adopt`` writes them
into the parsed tree as those properties, with the Java engines' meaning:

- ``dueDate``: an ISO 8601 duration (``PT4H``, ``P2D``: from when the task is created, as
  those engines' due-date calendar reads it) is ``dueIn``; an ISO 8601 date-time is ``dueAt``
  (without an offset it is in the installation's time zone, as the Java engines read it in
  the server's); a JUEL variable path (``${callbackAt}``, ``#{lead.callback}``) is ``dueAt``
  reading that variable when the task opens (a date-time text, as a form or a script sets it,
  or a duration text such as ``"P2D"``, from then: ``work_items``); ``dateTime()`` moved
  forward by whole amounts (``${dateTime().plusDays(2).toDate()}``, as Camunda 7's examples
  write it) is ``dueIn`` of that duration (``engine.joda_dates``).
- ``followUpDate`` (Camunda 7's ``camunda:followUpDate``, when to look at the task again):
  read as ``dueDate`` is, as the ``followUpIn``/``followUpAt`` properties, the work item's
  ``follow_up_at``; it was refused as an attribute Dialflow does not read.
- ``priority``: a whole number, or a JUEL expression computed over the task's data when it
  opens: a variable path (``${lead.priority}``), or EL's operators and coercions
  (``${amount > 10000 ? 90 : 50}``, ``engine.juel.value_python``; it was refused, though
  priorities are often written so).

Another method call (``${dateTime().minusDays(2).toDate()}``), a value of another shape, or a
task that also sets the property itself stays refused on the task (``foreign.py``), with what
to write.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lxml import etree

from engine import joda_dates, juel
from engine.assignment_attributes import JAVA_ENGINES
from engine.bpmn_xml import BPMN_NS, add_spiff_property
from engine.zeebe_schedule import properties_of as zeebe_properties

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SPIFF = f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_USER_TASK = f"{{{BPMN_NS}}}userTask"
ATTRIBUTES = ("dueDate", "followUpDate", "priority")
# A date attribute → the properties it is written as: a time (expression), a duration from now.
_DATES = {"dueDate": ("dueAt", "dueIn"), "followUpDate": ("followUpAt", "followUpIn")}
_SAID_AS = {"dueDate": "due time", "followUpDate": "follow-up date", "priority": "priority"}
_DURATION = re.compile(
    r"^P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$"
)
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_WHOLE = re.compile(r"^-?\d+$")
_JUEL_PATH = re.compile(r"^\s*[$#]\{\s*([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*\}\s*$")


def runs(local: str, element: Any, value: str) -> bool:
    """Whether the attribute ``local`` of ``element`` (its namespace one of the Java engines')
    is one ``adopt`` writes as Dialflow's property."""
    if local not in ATTRIBUTES or element.tag != _USER_TASK:
        return False
    said = _property(local, value)
    return said is not None and not (_said_already(element) & _names_of(said))


def hint(local: str, element: Any, value: str) -> str | None:
    """What to write for a ``dueDate``, ``followUpDate`` or ``priority`` attribute ``runs``
    refused, when the general hint would mislead (a task that is no user task, a day off the
    calendar, a task whose due time or priority is said elsewhere too), else ``None``."""
    if local not in ATTRIBUTES:
        return None
    if element.tag != _USER_TASK:
        return (
            "Dialflow gives a due time, a follow-up date and a priority to user tasks only: "
            f"remove {local}"
        )
    said = _property(local, value)
    if said is not None:
        return (
            f"the task says its {_SAID_AS[local]} elsewhere too "
            "(its own property or zeebe:taskSchedule/zeebe:priorityDefinition): keep one"
        )
    if local in _DATES and _DATE_TIME.match(value.strip()):
        return (
            f"{value.strip()!r} is no time on the calendar: write a real date-time such as "
            "2026-05-07T18:00:00+08:00"
        )
    return None


def adopt(tree: Any) -> None:
    """Write each user task's adopted due date, follow-up date and priority as its
    ``spiffworkflow:properties`` (see the module)."""
    for task in tree.iter(_USER_TASK):
        said: dict[str, str] = {}
        for attribute, value in task.attrib.items():
            qname = etree.QName(attribute)
            if qname.namespace in JAVA_ENGINES and runs(qname.localname, task, value):
                said.update(_property(qname.localname, value) or {})
        for name, value in said.items():
            add_spiff_property(task, name, value)


def _property(local: str, value: str) -> dict[str, str] | None:
    """The Dialflow property an attribute's value says, or ``None`` if it says none."""
    text = value.strip()
    if local in _DATES:
        at, within = _DATES[local]
        if _DURATION.match(text):
            return {within: text}
        moved = joda_dates.as_duration(text)  # ${dateTime().plusDays(1).toDate()}
        if moved is not None:
            return {within: moved}
        if _DATE_TIME.match(text):
            return {at: repr(text)} if _on_the_calendar(text) else None
        path = _JUEL_PATH.match(text)
        # ``${ lead . callback }`` is ``lead.callback``: spaced, Python read an attribute
        python = juel.to_python(re.sub(r"\s+", "", path.group(1))) if path else None
        return {at: python} if python else None
    if _WHOLE.match(text):
        return {"priority": str(int(text))}
    body = juel.whole_body(text)
    if body is not None and not juel.engine_names(body):
        # a path as Python reads it; else EL's operators and coercions (``a ? b : c``)
        python = juel.to_python(body) or juel.value_python(body)
        return {"priority": python} if python else None
    return None


def _names_of(said: dict[str, str]) -> set[str]:
    names = set(said)
    for pair in _DATES.values():
        if names & set(pair):
            names |= set(pair)
    return names


def _on_the_calendar(text: str) -> bool:
    """Whether a date-time's text names a real time (not ``2026-02-30``, not ``T25:00``)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _said_already(task: Any) -> set[str]:
    """The properties the task's own ``spiffworkflow:properties`` set, and those its
    ``zeebe:taskSchedule`` and ``zeebe:priorityDefinition`` set (``engine.zeebe_schedule``,
    adopted before: beside them the attribute was silently dropped)."""
    own = {
        prop.get("name") or ""
        for extensions in task.findall(_EXTENSIONS)
        for holder in extensions.findall(f"{_SPIFF}properties")
        for prop in holder.findall(f"{_SPIFF}property")
    }
    zeebe = {
        name
        for extensions in task.findall(_EXTENSIONS)
        for element in extensions
        if isinstance(element.tag, str)  # not a comment
        for name in (zeebe_properties(element) or {})
    }
    return own | zeebe
