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
than none. So does a line Python would read otherwise (``_differs``): text joined to a number
(``"a" + 1`` is ``"a1"``), a remainder (``-7 % 3`` is ``-1``), a comment after code (``a // b``
is no division), a Groovy ``"${x}"``, an object literal, a chained comparison (``a < b < c``),
``!a == b``, a Java type that converts (``int half = total / 2``), a local ``var`` named as a
process variable the script reads (Python would overwrite the variable), and any other
language than JavaScript or Groovy.
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
    r"Boolean|BigDecimal|Object|Map|List)\s+)?([^\W\d]\w*)\s*=(?!=)\s*(.+)$",
    re.S,
)
_COMMENT = re.compile(r"^\s*//\s?(.*)$")
# ``if (source == "referral") { s = s + 20; }`` on one line, without ``else``.
_ONE_LINE_IF = re.compile(r"^\s*if\s*\((.+)\)\s*\{([^{}]*)\}\s*;?\s*$")
# A Java type converts what is assigned: ``int half = 7 / 2`` is 3. Only a literal of the
# type (the Python constant's types here) means the same in Python.
_TYPED = re.compile(r"^(int|Integer|long|Long|double|Double|BigDecimal|String|boolean|Boolean)\s")
_TYPE_LITERALS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("int", "Integer", "long", "Long"), (int,)),
    **dict.fromkeys(("double", "Double", "BigDecimal"), (float,)),
    "String": (str,),
    **dict.fromkeys(("boolean", "Boolean"), (bool,)),
}
_STRING = re.compile(r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'""")
# Outside strings: arithmetic, which joins or converts text (``"a" + 1``, ``"5" * 2``).
_ARITHMETIC = re.compile(r"[-+*/%]")
# JavaScript's names that Python has not, and ``.length`` (of a text or list, not a key).
_JS_ONLY = re.compile(r"\b(?:undefined|NaN|Infinity|this|typeof|new)\b|\.length\b")
_GET_VARIABLE = re.compile(r"""(?:execution|task)\.getVariable(?:Local)?\(\s*(["'])(\w+)\1""")
_READ_VARIABLE = re.compile(r"""(?:execution|task)\.getVariable(?:Local)?\(\s*(["'])(\w+)\1\s*\)""")
_JAVASCRIPT_NAMES = {"js", "nashorn", "graal.js", "graaljs", "rhino"}


def python_for(script: str, script_format: str = "javascript") -> str | None:
    """``script`` (JavaScript or Groovy, as ``script_format`` says) as Python, or ``None``
    when it is more than assignments and comments, an expression does not translate, or its
    Python would mean something else."""
    language = script_format.strip().lower()
    groovy = "groovy" in language
    javascript = "javascript" in language or "ecmascript" in language
    if not (groovy or javascript or language in _JAVASCRIPT_NAMES):
        return None  # Ruby, Kotlin, a template language: their ``x = 5 / 2`` is no Python's
    lines: list[str] = []
    assigned: set[str] = set()
    for raw_line in script.strip().splitlines():
        comment = _COMMENT.match(raw_line)
        if comment:
            lines.append(f"# {comment.group(1)}".rstrip())
            continue
        split = _code_and_comment(raw_line)
        if split is None:
            return None
        code, trailing = split
        indent, body = "", code
        branch = _ONE_LINE_IF.match(code)
        if branch:
            condition = _expression(branch.group(1), groovy)
            if condition is None:
                return None
            lines.append(f"if {condition}:")
            indent, body = "    ", branch.group(2)
        before = len(lines)
        for statement in _statements(body):
            translated = _assignment(statement, groovy)
            if translated is None:
                return None
            name, python, local = translated
            if local:
                assigned.add(name)
            if name != python:  # ``execution.setVariable("hot", hot)``
                lines.append(f"{indent}{name} = {python}")
        if branch and len(lines) == before:
            lines.append(f"{indent}pass")
        if trailing is not None and len(lines) > before:
            lines[-1] = f"{lines[-1]}  # {trailing}".rstrip()
        elif trailing is not None:
            lines.append(f"# {trailing}".rstrip())
    python = "\n".join(lines)
    if not any(not line.startswith("#") for line in lines):
        return None
    if assigned & {m.group(2) for m in _GET_VARIABLE.finditer(script)}:
        return None  # ``var amount = execution.getVariable("amount") * 2``: a local there
    try:
        ast.parse(python)
    except (SyntaxError, RecursionError, MemoryError):  # too deep to parse: no translation
        return None
    return python


def _code_and_comment(line: str) -> tuple[str, str | None] | None:
    """The code of ``line`` and the text of a ``//`` comment after it (outside strings), or
    ``None`` for a ``/* … */`` comment or a string left open."""
    quote = ""
    escaped = False
    for at, char in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif line.startswith("//", at):
            return line[:at], line[at + 2 :].strip()
        elif line.startswith("/*", at):
            return None
    return (line, None) if not quote else None


def _statements(code: str) -> list[str]:
    """The statements of one line of code, split at the ``;`` outside strings."""
    parts = re.split(r"""(;|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""", code)
    statements, current = [], ""
    for part in parts:
        if part == ";":
            statements.append(current)
            current = ""
        else:
            current += part
    statements.append(current)
    return [statement.strip() for statement in statements if statement.strip()]


def _assignment(statement: str, groovy: bool) -> tuple[str, str, bool] | None:
    """One statement as the name it sets, its Python value and whether the name is the
    script's own (not ``execution.setVariable``), or ``None``."""
    found = _SET_VARIABLE.match(statement)
    if found:
        name, expression, local = found.group(2), found.group(3), False
    else:
        found = _DECLARATION.match(statement)
        if not found:
            return None
        name, expression, local = found.group(1), found.group(2), True
    python = _expression(expression, groovy)
    if python is None:
        return None
    typed = _TYPED.match(statement) if local else None
    if typed and not _literal_of(python, _TYPE_LITERALS[typed.group(1)]):
        return None  # ``int half = total / 2`` is a whole number; Python's would not be
    return name, python, local


def _expression(expression: str, groovy: bool) -> str | None:
    """``expression`` as Python, or ``None`` when it does not translate or Python would read
    it otherwise (see the module)."""
    if _differs(expression, groovy):
        return None
    python = to_python(expression)
    if python is None:
        return None
    tree = ast.parse(python, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) > 1:
            return None  # ``a < b < c`` compares ``a < b`` with ``c`` in JavaScript and Groovy
        if isinstance(node, ast.Attribute):
            return None  # a property is a map's key; an attribute means another name was read
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.Not)
            and isinstance(node.operand, ast.Compare | ast.BinOp)
            and not _parenthesised(ast.get_source_segment(python, node) or "")
        ):
            return None  # ``!a == b`` is ``(!a) == b``; Python's ``not a == b`` negates it all
    return python


def _differs(expression: str, groovy: bool) -> bool:
    """Whether Python reads ``expression`` otherwise than JavaScript or Groovy, by its text."""
    read = _READ_VARIABLE.sub(lambda found: found.group(2), expression)  # a name, no text
    strings = _STRING.findall(read)
    outside = _STRING.sub("''", read)
    if strings and _ARITHMETIC.search(outside):
        return True  # ``"a" + 1`` is "a1", ``"5" * 2`` is 10 in JavaScript
    if groovy and any(s.startswith('"') and "$" in s for s in strings):
        return True  # a GString: ``"${name}"`` puts the name's value in
    if not groovy and re.search(r"\bin\b", outside):
        return True  # JavaScript's ``x in list`` asks for an index, not a value
    return bool("%" in outside or "{" in outside or _JS_ONLY.search(outside))


def _parenthesised(negation: str) -> bool:
    """Whether ``not (…)`` negates one parenthesised whole."""
    operand = negation.removeprefix("not").strip()
    if not operand.startswith("("):
        return False
    depth = 0
    for at, char in enumerate(operand):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return at == len(operand) - 1
    return False


def _literal_of(python: str, types: tuple[type, ...]) -> bool:
    node = ast.parse(python, mode="eval").body
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if not isinstance(node, ast.Constant):
        return False
    if bool not in types and isinstance(node.value, bool):
        return False
    return isinstance(node.value, types)
