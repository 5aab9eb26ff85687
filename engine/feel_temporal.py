"""FEEL's temporal literals in DMN cells (``< date("2026-06-01")``, ``date and time("…")``,
``duration("P3D")``), as Camunda Modeler and other DMN editors write them.

They read as Python calls, so a deploy took them, and the decision failed at run time: no
such function takes text there (``date`` is Python's class, which wants numbers). A rule cell
comparing with ``date("…")`` or ``date and time("…")`` runs (``engine.feel`` reads the input
as one), and so does an input expression holding such a literal (``date("2026-01-01")``,
which ``engine.feel.expression`` reads with ``feel_date``; it was refused as if it could not
run); the others are refused at deploy on their cell, with the way that runs: a form's date is
ISO 8601 text, which compares as text in date order. A rule cell or input expression that
runs, whose literal is no date (``date("2026-13-01")``, a typed month), is refused on its
cell: it failed the decision each time the rule was reached.
"""

from __future__ import annotations

import re

from engine.feel import _TEMPORAL as _LITERAL
from engine.feel import expression, feel_date, feel_date_time

_TEMPORAL = re.compile(
    r"""(?<![\w.])(date\s+and\s+time|years\s+and\s+months\s+duration|date|time|duration)"""
    r"""\s*\(\s*["']"""
)
_PART = {"inputExpression": "input expression", "inputEntry": "rule cell", "outputEntry": "output"}
_WHEN = {"inputExpression": "it runs", "inputEntry": "it reaches the rule"}  # a literal fails


def temporal_problem(local: str, text: str) -> str | None:
    """What is wrong with a DMN cell or expression ``text`` (of element ``local``) that holds a
    FEEL temporal literal; None if it holds none."""
    found = _TEMPORAL.search(text) if local in _PART else None
    if found is not None and local == "inputExpression":
        # FEEL's date or date and time of one text runs: what is left is the function said
        found = _TEMPORAL.search(expression(text))
    if found is None:
        return None
    function = " ".join(found.group(1).split())
    part = _PART[local]
    return (
        f"{part} {text!r} uses FEEL's {function}(…), which Dialflow does not evaluate (the "
        "decision would fail when it runs): compare ISO 8601 text instead, as forms send "
        "dates, e.g. '< \"2026-06-01\"' or '>= \"2026-06-01T09:00:00+08:00\"'"
    )


def literal_problem(text: str, local: str = "inputEntry") -> str | None:
    """What is wrong with the first ``date("…")`` or ``date and time("…")`` literal of the rule
    cell (or input expression, ``local``) ``text`` that is none (``feel_date`` cannot read
    it), or None."""
    for found in _LITERAL.finditer(text):
        kind = " ".join(found.group(1).split())
        written = found.group(2)[1:-1]
        try:
            (feel_date_time if kind == "date and time" else feel_date)(written)
        except ValueError as error:
            example = "2026-06-01" if kind == "date" else "2026-06-01T09:00:00+08:00"
            return (
                f"{_PART[local]} {text!r}: {kind}({found.group(2)}) is no {kind} ({error}), so the "
                f"decision would fail each time {_WHEN[local]}: write an ISO 8601 "
                f'{kind} such as {kind}("{example}")'
            )
    return None
