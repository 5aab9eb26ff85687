"""FEEL unary tests in DMN rule cells, written as the Python SpiffWorkflow evaluates.

Camunda Modeler and other DMN tools write input cells in FEEL: a range ``[1000..5000]``, a
list of alternatives ``"East","North"``, a negation ``not("West")``. SpiffWorkflow 3.2
evaluates a cell as Python (``input == (cell)``, or the cell appended to the input when it
starts with an operator, ``?`` standing for the input), so those cells failed or never
matched, and an output ``true`` was an unknown name. Before the parser sees a DMN file, such
cells are rewritten into that Python; cells that are Python already (``>= 10``, ``"East"``,
``in ("a", "b")``) are left as they are.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lxml import etree

_RANGE = re.compile(r"^([\[\(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\]\)\[])$", re.S)
_NOT = re.compile(r"^not\s*\((.*)\)$", re.S)
_OPERATOR = re.compile(r"^(<=|>=|!=|<|>|=)\s*(.+)$", re.S)
_LITERALS = {"true": "True", "false": "False", "null": "None"}
# SpiffWorkflow's own test for a ``?`` standing for the input: one outside quotes.
_INPUT = re.compile(r"""\?(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def unary_test(text: str) -> str:
    """``text`` as SpiffWorkflow's Python cell, or unchanged if it is no FEEL of the kinds
    above (or already Python)."""
    stripped = text.strip()
    if not stripped or stripped == "-" or _INPUT.search(stripped):
        return text
    if stripped in _LITERALS:  # Python would read them as names
        return _LITERALS[stripped]
    negated = _NOT.match(stripped)
    if negated:
        test = _test(negated.group(1).strip())
        return f"not ({test})" if test else text
    if _RANGE.match(stripped) or len(_alternatives(stripped)) > 1:
        return _test(stripped) or text
    return text


def translate_tree(tree: Any) -> None:
    """Rewrite the input cells of a parsed DMN file in place (see the module's text)."""
    for element in tree.iter():
        kind = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if kind not in ("inputEntry", "outputEntry"):
            continue
        for text in element:
            if isinstance(text.tag, str) and etree.QName(text).localname == "text" and text.text:
                text.text = unary_test(text.text) if kind == "inputEntry" else literal(text.text)


def literal(text: str) -> str:
    """An output cell: FEEL's ``true``, ``false`` and ``null`` as Python's."""
    return _LITERALS.get(text.strip(), text)


def _test(text: str) -> str | None:
    """A Python boolean on ``?`` for one FEEL positive unary test, or ``None``."""
    parts = _alternatives(text)
    if len(parts) > 1:
        tests = [_test(part) for part in parts]
        if any(t is None for t in tests):
            return None
        values = [_value(part) for part in parts]
        if all(v is not None for v in values):
            return f"? in ({', '.join(v for v in values if v is not None)})"
        return " or ".join(f"({t})" for t in tests)
    found = _RANGE.match(text)
    if found:
        opening, low, high, closing = found.groups()
        low_value, high_value = _value(low), _value(high)
        if low_value is None or high_value is None:
            return None
        low_op = "<=" if opening == "[" else "<"
        high_op = "<=" if closing == "]" else "<"
        return f"{low_value} {low_op} ? {high_op} {high_value}"
    compared = _OPERATOR.match(text)
    if compared:
        operator, operand = compared.groups()
        value = _value(operand)
        return None if value is None else f"? {'==' if operator == '=' else operator} {value}"
    value = _value(text)
    return None if value is None else f"? == {value}"


def _value(text: str) -> str | None:
    """A FEEL literal or name as Python, or ``None`` if it is not one."""
    text = _LITERALS.get(text.strip(), text.strip())
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    allowed = (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp)
    return text if isinstance(node, allowed) else None


def _alternatives(text: str) -> list[str]:
    """``text`` split at the commas outside quotes and brackets."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]
