"""FEEL's temporal literals in DMN cells (``< date("2026-06-01")``, ``date and time("…")``,
``duration("P3D")``), as Camunda Modeler and other DMN editors write them.

They read as Python calls, so a deploy took them, and the decision failed at run time: no
such function takes text there (``date`` is Python's class, which wants numbers). A rule cell
comparing with ``date("…")`` or ``date and time("…")`` runs (``engine.feel`` reads the input
as one); the others are refused at deploy on their cell, with the way that runs: a form's
date is ISO 8601 text, which compares as text in date order.
"""

from __future__ import annotations

import re

_TEMPORAL = re.compile(
    r"""(?<![\w.])(date\s+and\s+time|years\s+and\s+months\s+duration|date|time|duration)"""
    r"""\s*\(\s*["']"""
)
_PART = {"inputExpression": "input expression", "inputEntry": "rule cell", "outputEntry": "output"}


def temporal_problem(local: str, text: str) -> str | None:
    """What is wrong with a DMN cell or expression ``text`` (of element ``local``) that holds a
    FEEL temporal literal; None if it holds none."""
    found = _TEMPORAL.search(text) if local in _PART else None
    if found is None:
        return None
    function = " ".join(found.group(1).split())
    part = _PART[local]
    return (
        f"{part} {text!r} uses FEEL's {function}(…), which Dialflow does not evaluate (the "
        "decision would fail when it runs): compare ISO 8601 text instead, as forms send "
        "dates, e.g. '< \"2026-06-01\"' or '>= \"2026-06-01T09:00:00+08:00\"'"
    )
