"""The Python to write for a short script written for the Java engines.

Camunda 7, Flowable and Activiti diagrams carry script tasks in JavaScript or Groovy
(``scriptFormat="javascript"``), most of them a few lines that compute a value and store it
with ``execution.setVariable``. Dialflow runs Python only and refuses such a script at deploy;
for a script made only of assignments (``var s = 10;``, ``def hot = score > 20``,
``execution.setVariable("score", s)``), one-line ``if (…) { … }`` and comments, the refusal
shows the same lines in Python, each expression translated as a JUEL expression is
(``engine.juel.to_python``: ``&&``, ``||``, ``!``, ``==``, ``null``,
``execution.getVariable("x")``, ``lead.source`` as the map's key). Anything else (blocks over
several lines, loops, method calls) gets no translation: a wrong suggestion would be worse
than none.
"""

from __future__ import annotations

import ast
import re

from engine.juel import to_python

# ``execution.setVariable("score", s)``; Flowable's ``execution.setVariableLocal`` the same.
_SET_VARIABLE = re.compile(
    r"""^(?:execution|task)\.setVariable(?:Local)?\(\s*(["'])(\w+)\1\s*,\s*(.+)\)$""", re.S
)
# ``var s = 10``, ``let``/``const``, Groovy's ``def``, a Java type, or a bare ``s = 10``.
_DECLARATION = re.compile(
    r"^(?:(?:var|let|const|def|final|String|Integer|int|long|Long|double|Double|boolean|"
    r"Boolean|BigDecimal|Object|Map|List)\s+)?([A-Za-z_]\w*)\s*=(?!=)\s*(.+)$",
    re.S,
)
_COMMENT = re.compile(r"^\s*//\s?(.*)$")
# ``if (source == "referral") { s = s + 20; }`` on one line, without ``else``.
_ONE_LINE_IF = re.compile(r"^\s*if\s*\((.+)\)\s*\{([^{}]*)\}\s*;?\s*$")


def python_for(script: str) -> str | None:
    """``script`` (JavaScript or Groovy) as Python, or ``None`` when it is more than
    assignments and comments, or an expression does not translate."""
    lines: list[str] = []
    for raw_line in script.strip().splitlines():
        comment = _COMMENT.match(raw_line)
        if comment:
            lines.append(f"# {comment.group(1)}".rstrip())
            continue
        indent, body = "", raw_line
        branch = _ONE_LINE_IF.match(raw_line)
        if branch:
            condition = to_python(branch.group(1))
            if condition is None:
                return None
            lines.append(f"if {condition}:")
            indent, body = "    ", branch.group(2)
        before = len(lines)
        for statement in body.split(";"):
            statement = statement.strip()
            if not statement:
                continue
            translated = _assignment(statement)
            if translated is None:
                return None
            if translated[0] != translated[1]:  # ``execution.setVariable("hot", hot)``
                lines.append(f"{indent}{translated[0]} = {translated[1]}")
        if branch and len(lines) == before:
            lines.append(f"{indent}pass")
    python = "\n".join(lines)
    if not any(not line.startswith("#") for line in lines):
        return None
    try:
        ast.parse(python)
    except SyntaxError:
        return None
    return python


def _assignment(statement: str) -> tuple[str, str] | None:
    """One statement as the name it sets and its Python value, or ``None``."""
    found = _SET_VARIABLE.match(statement)
    if found:
        name, expression = found.group(2), found.group(3)
    else:
        found = _DECLARATION.match(statement)
        if not found:
            return None
        name, expression = found.group(1), found.group(2)
    python = to_python(expression)
    if python is None:
        return None
    return name, python
