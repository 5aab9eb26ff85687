"""Timer values written as plain ISO 8601 text, as modelers write them.

SpiffWorkflow evaluates a timer's ``timeDate``, ``timeDuration`` or ``timeCycle`` as a Python
expression, so its own files quote the value (``"PT1H"``). Camunda Modeler, Flowable, Signavio,
Bizagi and nearly every other tool write the bare value (``PT1H``, ``R3/PT10M``,
``2026-12-24T09:00:00+08:00``), which Python reads as a variable, a division or a syntax error;
the deploy refused them all with "write it in quotes". A value that is ISO 8601 as a whole is
taken as the text it is (``iso_literal``): no Python expression is ever written that way (a
duration would be a variable named ``PT1H``), and anything else stays Python (a variable, a
quoted value, an expression over the instance's data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = (
    rf"P(?=\d|T\d)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
_DATE_TIME = (
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_PART = f"(?:{_DURATION}|{_DATE_TIME})"
# Upper case, as ISO 8601 writes its designators and every modeler does: a name in lower case
# (``p1d``, ``pt_wait``) stays the variable it is.
_ISO_8601 = re.compile(rf"(?:{_DURATION}|{_DATE_TIME}|R\d*/{_PART}(?:/{_PART})?)")
# ISO 8601 by its look (``PT1X``, ``R3/PT1H/``, a 35th of May): checked as the value it
# is meant to be, so the deploy says what a valid one looks like.
LOOKS_ISO = re.compile(r"(?:R\d*/|P\d|PT|\d{4}-\d{2}-\d{2}T)")


def iso_literal(expression: str | None) -> str | None:
    """The Python text of ``expression`` if it is a bare ISO 8601 value, else ``None``."""
    value = (expression or "").strip()
    if value and _ISO_8601.fullmatch(value):
        return repr(value)
    return None


def meant_as_iso(expression: str) -> str | None:
    """The Python text of ``expression`` as a bare ISO 8601 value, a misspelt one included:
    what the deploy checks a timer as; ``None`` for Python (a variable, a quoted value)."""
    value = expression.strip()
    if iso_literal(value) or LOOKS_ISO.match(value):
        return repr(value)
    return None


def quote_iso_timers(spec: Any) -> None:
    """Every timer of ``spec`` written as a bare ISO 8601 value gets it as Python text."""
    for task_spec in spec.task_specs.values():
        for definition in timer_definitions(getattr(task_spec, "event_definition", None)):
            quoted = iso_literal(definition.expression)
            if quoted is not None:
                definition.expression = quoted


def timer_definitions(definition: Any) -> Iterator[TimerEventDefinition]:
    """The timers of an event definition, those inside a multiple one included."""
    if isinstance(definition, TimerEventDefinition):
        yield definition
    elif isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from timer_definitions(inner)
