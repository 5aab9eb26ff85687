"""A number written with thousands separators in a decision table's rule cell.

People write amounts as they read them: ``>= 5,000``, ``[10,000..50,000]``, an output of
``1,500``. In FEEL (and in the Python a cell becomes) a comma separates alternatives, so
``>= 5,000`` was the two tests ``>= 5`` or ``== 000``: a budget of 800 matched the rule for big
budgets, and the table decided wrongly without a word; an output ``1,500`` was the pair
``(1, 500)``. Such a cell is refused at deploy on its line, with the number to write. A list
of alternatives is written with a space after each comma (``100, 200``), as the modelers do.
"""

from __future__ import annotations

import re

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPED = re.compile(r"(?<!\w)(?<!\d\.)\d{1,3}(?:,\d{3})+(?!\w|\.\d)")
_WHAT = {"inputEntry": "rule cell", "outputEntry": "output"}


def problem(local: str, text: str) -> str | None:
    """What is wrong with the cell ``text`` of kind ``local`` (``inputEntry``,
    ``outputEntry``) if it writes a number with thousands separators, else ``None``."""
    if local not in _WHAT:
        return None
    grouped = _GROUPED.findall(_STRINGS.sub('""', text))
    if not grouped:
        return None
    first = grouped[0]
    parts = ", ".join(first.split(","))
    return (
        f"{_WHAT[local]} {text!r} writes {first} with a thousands separator; a comma in a "
        f"decision table separates alternatives, so it reads {parts} instead of one number: "
        f"write {first.replace(',', '')} (for a list, put a space after each comma)"
    )
