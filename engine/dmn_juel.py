"""JUEL in a decision table's cells, as Camunda 7's DMN engine reads them when a cell (or the
table's ``inputExpressionLanguage``) says ``expressionLanguage="juel"``: ``${budget >= 50000}``.

SpiffWorkflow reads a cell as Python, so the deploy said only "not Python: invalid syntax".
Here the cell is named as JUEL with the cell Dialflow runs: a rule's input cell is a test on
its column's value, written with ``?`` standing for it (the column's input expression, Camunda's
``cellInput`` and the input's ``camunda:inputVariable`` become ``?``), an output cell the value.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import juel
from engine.foreign import JUEL


def juel_cell_problem(element: Any, text: str) -> str | None:
    """The problem of ``text``, the text of the rule cell or input expression ``element``,
    when it is JUEL; ``None`` otherwise."""
    found = JUEL.match(text)
    if found is None:
        return None
    kind = etree.QName(element).localname
    python = juel.to_python(found.group(1))
    said = (
        f"{_label(kind)} {text!r} is a JUEL expression; Dialflow reads DMN cells as FEEL or Python"
    )
    if python is None:
        return f"{said}: rewrite it"
    if kind == "inputEntry":
        for name in _column_names(element):
            python = re.sub(rf"(?<![\w.\"']){re.escape(name)}(?![\w\"'])", "?", python)
        if "?" not in python:
            return f"{said}: write the test on the column's value, '?' standing for it"
    return f"{said}: write {python!r}"


def _label(kind: str) -> str:
    return {"inputEntry": "rule cell", "outputEntry": "output", "inputExpression": "input"}.get(
        kind, kind
    )


def _column_names(cell: Any) -> list[str]:
    """What stands for the value of the cell's column in a JUEL cell."""
    rule = cell.getparent()
    table = rule.getparent() if rule is not None else None
    if table is None:
        return ["cellInput"]
    position = [c for c in rule if _local(c) == "inputEntry"].index(cell)
    inputs = [i for i in table if _local(i) == "input"]
    names = ["cellInput"]
    if position < len(inputs):
        column = inputs[position]
        names += [
            value.strip()
            for attribute, value in column.attrib.items()
            if etree.QName(attribute).localname == "inputVariable"
        ]
        expression = next((e for e in column if _local(e) == "inputExpression"), None)
        text = (
            next((t for t in expression if _local(t) == "text"), None)
            if expression is not None
            else None
        )
        if text is not None and text.text and text.text.strip():
            names.append(text.text.strip())
    return sorted({n for n in names if n}, key=len, reverse=True)


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""
