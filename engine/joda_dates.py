"""A due date written as Camunda 7's ``dateTime()`` moved forward, read as the duration it is.

Camunda 7's examples (the invoice approval among them) give a user task its due date as
``camunda:dueDate="${dateTime().plusWeeks(1).toDate()}"``: ``dateTime()`` is the engine's Joda
``DateTime`` of now, each ``plusDays(n)``, ``plusHours(n)``… moves it, and ``toDate()`` makes it
the ``java.util.Date`` the task takes. That is a duration from when the task is created, which
Dialflow has as the task property ``dueIn``; it was refused as a Java method call. Only whole
literal amounts added to ``dateTime()`` are read; anything else (``minusDays``, a variable as
the amount, ``withHourOfDay``) stays refused with what to write.
"""

from __future__ import annotations

import re

_STEP = re.compile(
    r"\.\s*plus(Years|Months|Weeks|Days|Hours|Minutes|Seconds)\(\s*(\d{1,6})\s*\)\s*"
)
_WHOLE = re.compile(
    r"^\s*[$#]\{\s*dateTime\(\s*\)\s*((?:\.\s*plus[A-Za-z]+\(\s*\d{1,6}\s*\)\s*)+)"
    r"(?:\.\s*toDate\(\s*\)\s*)?\}\s*$"
)
_DATE_UNITS = (("Years", "Y"), ("Months", "M"), ("Days", "D"))
_TIME_UNITS = (("Hours", "H"), ("Minutes", "M"), ("Seconds", "S"))


def as_duration(value: str) -> str | None:
    """The ISO 8601 duration ``value`` adds to now (``${dateTime().plusWeeks(1).toDate()}`` →
    ``P7D``), or ``None`` when it is no such expression."""
    found = _WHOLE.match(value)
    if found is None:
        return None
    amounts: dict[str, int] = {}
    steps = found.group(1)
    position = 0
    while position < len(steps):
        step = _STEP.match(steps, position)
        if step is None:
            return None  # plusFoo(1): no unit Joda has
        amounts[step.group(1)] = amounts.get(step.group(1), 0) + int(step.group(2))
        position = step.end()
    amounts["Days"] = amounts.get("Days", 0) + 7 * amounts.pop("Weeks", 0)
    date = "".join(f"{amounts[unit]}{letter}" for unit, letter in _DATE_UNITS if amounts.get(unit))
    time = "".join(f"{amounts[unit]}{letter}" for unit, letter in _TIME_UNITS if amounts.get(unit))
    if not date and not time:
        return None  # plusDays(0): no time at all
    return f"P{date}{'T' + time if time else ''}"
