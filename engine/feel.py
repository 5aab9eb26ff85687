"""FEEL unary tests in DMN rule cells, written as the Python SpiffWorkflow evaluates.

Camunda Modeler and other DMN tools write input cells in FEEL: a range ``[1000..5000]``, a
list of alternatives ``"East","North"``, a negation ``not("West")``. SpiffWorkflow 3.2
evaluates a cell as Python (``input == (cell)``, or the cell appended to the input when it
starts with an operator, ``?`` standing for the input), so those cells failed or never
matched, and an output ``true`` was an unknown name. Before the parser sees a DMN file, such
cells are rewritten into that Python; cells that are Python already (``>= 10``, ``"East"``,
``in ("a", "b")``) are left as they are.

A cell written as a whole condition on its own column, as people write them with a chat
assistant's help (``budget > 10000 and budget < 60000`` in the Budget column, ``tier in ("gold",
"silver")``, ``vip == True``), was compared as ``budget == (budget > 10000 and …)`` and never
matched, without a word: it is rewritten with ``?`` where it names the column's input
(``? > 10000 and ? < 60000``). So are comparisons joined by ``and``/``or`` with nothing before
their operators (``>= 100 and < 10000``, said "not Python: invalid syntax").

The same goes for what Camunda 7/8, Trisotech and Kogito write around the cells: an input
expression that reads a field by FEEL's path (``lead.amount``, which Python reads as an
attribute a JSON object does not have) or calls ``count(items)`` / ``string length(name)``,
rule cells calling ``starts with(?, "138")``, ``ends with`` or ``contains``, and cells
comparing with FEEL's ``date("2026-01-01")`` or ``date and time("…")``: the input is then read
as a date (or a date and time, without a zone taken in the installation's zone) by ``feel_date`` /
``feel_date_time``, which the script engine offers as ``_feel_date`` / ``_feel_date_time``,
so ``"2026-03-01"`` from a form compares in time order, and a null input matches no such
cell.
"""

from __future__ import annotations

import ast
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from engine.timekeeping import in_installation_zone

_RANGE = re.compile(r"^([\[\(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\]\)\[])$", re.S)
_NOT = re.compile(r"^not\s*\((.*)\)$", re.S)
_OPERATOR = re.compile(r"^(<=|>=|!=|<|>|=)\s*(.+)$", re.S)
_LITERALS = {"true": "True", "false": "False", "null": "None"}
# SpiffWorkflow's own test for a ``?`` standing for the input: one outside quotes.
_INPUT = re.compile(r"""\?(?=(?:[^'"]|['"][^'"]*['"])*$)""")
# Where the column's input stands in a cell being rewritten, until it is written as ``?``.
_MARK = "dialflow_cell_input"
# Where a text of the cell stands until it is written out (``_quoted``).
_TEXT = "dialflow_cell_text_"


_STRING = re.compile(r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""")
_CALLS = (
    (re.compile(r"(?<![\w.])string\s+length\s*\("), "len("),
    (re.compile(r"(?<![\w.])count\s*\("), "len("),
)
# FEEL's ``date and time(x)`` in an input expression: never Python (nor ``date(x)`` of one
# argument, ``_feel_date_call``); a rule cell's literal is read by ``_temporal_test``
_DATE_TIME_CALL = re.compile(r"(?<![\w.])date\s+and\s+time\s*\(")
_STRING_TESTS = re.compile(
    r"""(?<![\w.])(starts\s+with|ends\s+with|contains)\s*\(\s*([^,()"']+?)\s*,\s*"""
    r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')\s*\)"""
)
_TEMPORAL = re.compile(
    r"""(?:(?<=\.\.)|(?<![\w.]))(date\s+and\s+time|date)\s*\(\s*("[^"]*"|'[^']*')\s*\)"""
)
# Names of the script engine's helpers: ``date.today()``-like reads on them stay attributes.
_GLOBALS = {"datetime", "date", "timedelta", "ZoneInfo"}


def feel_date(value: Any) -> date | None:
    """FEEL's ``date(…)`` of an input: ISO text (a date and time gives its date), a date."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value).strip()[:10])


def feel_date_time(value: Any) -> datetime | None:
    """FEEL's ``date and time(…)`` of an input: ISO text or a datetime, without a zone read
    in the installation's zone (as timers and ``parse_time`` read it), a date as its
    midnight there; FEEL's ``2024-03-01T10:00:00@Europe/Berlin`` in the zone it names. A
    date with a zone and no time (``2024-03-01@Europe/Berlin``) is no date and time in
    Camunda 8's FEEL: ValueError (it was read as midnight in that zone)."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        local, at, zone = str(value).strip().partition("@")
        value = datetime.fromisoformat(local)
        if at and _date_alone(local):
            raise ValueError(f"{local.strip()!r} gives a zone ({zone.strip()}) but no time of day")
        if at:
            if value.tzinfo is not None:
                raise ValueError(f"{str(value)!r} gives both an offset and a zone")
            value = value.replace(tzinfo=_zone(zone))
    return in_installation_zone(value)


def _date_alone(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def _zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``Europe/Berlin``); ValueError for one there is none of."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a name such as "../x": ValueError
        raise ValueError(f"there is no time zone {name.strip()!r}") from None


def _outside_strings(text: str, rewrite: Any) -> str:
    parts = _STRING.split(text)
    return "".join(rewrite(part) if index % 2 == 0 else part for index, part in enumerate(parts))


def _functions(text: str) -> str:
    """FEEL's ``count(…)``, ``string length(…)``, ``starts with(a, "x")``, ``ends with`` and
    ``contains`` as Python."""

    def string_test(found: re.Match[str]) -> str:
        function, subject, operand = found.groups()
        subject = f"str({subject} or '')"
        function = " ".join(function.split())
        if function == "contains":
            return f"({operand} in {subject})"
        method = "startswith" if function == "starts with" else "endswith"
        return f"{subject}.{method}({operand})"

    text = _STRING_TESTS.sub(string_test, text)

    def calls(part: str) -> str:
        for pattern, python in _CALLS:
            part = pattern.sub(python, part)
        return part

    return _outside_strings(text, calls)


def expression(text: str) -> str:
    """An input expression (or an output cell) in FEEL as Python: its functions (above), and
    a field read by FEEL's path (``lead.amount``) as Python reads a JSON object's
    (``lead["amount"]``); a method call (``name.upper()``) or a helper's attribute stays."""
    rewritten = _outside_strings(
        _functions(text), lambda part: _DATE_TIME_CALL.sub("_feel_date_time(", part)
    )
    if "\n" in rewritten:
        return rewritten
    try:
        tree = ast.parse(rewritten.strip(), mode="eval")
    except SyntaxError:
        return rewritten
    offset = len(rewritten) - len(rewritten.lstrip())
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    edits = []
    for node in ast.walk(tree):
        if _feel_date_call(node):  # Python's date takes three: date(signed_up) failed the task
            func = node.func
            edits.append((func.col_offset, func.end_col_offset or 0, "_feel_date"))
            continue
        if not isinstance(node, ast.Attribute) or id(node) in called:
            continue
        root = node.value
        while isinstance(root, ast.Attribute | ast.Subscript):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in _GLOBALS:
            continue
        start = node.value.end_col_offset or 0
        edits.append((start, node.end_col_offset or 0, f'["{node.attr}"]'))
    if not edits:
        return rewritten
    encoded = rewritten.strip().encode()
    for start, end, replacement in sorted(edits, reverse=True):
        encoded = encoded[:start] + replacement.encode() + encoded[end:]
    return rewritten[:offset] + encoded.decode()


def _feel_date_call(node: Any) -> bool:
    """FEEL's ``date(x)`` of one argument (ISO text, a date and time): Python's ``date`` takes
    a year, a month and a day, so such a call is never Python's."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "date"
        and len(node.args) == 1
        and not node.keywords
        and not isinstance(node.args[0], ast.Starred)
    )


def _temporal_test(text: str) -> str | None:
    """A cell comparing with FEEL's ``date("…")`` or ``date and time("…")`` as a Python test
    on the input read as one, false for a null input; ``None`` if it is no such cell."""
    kinds: set[str] = set()

    def literal_of(found: re.Match[str]) -> str:
        kind = "date_time" if "time" in found.group(1) else "date"
        kinds.add(kind)
        return f"_feel_{kind}({found.group(2)})"

    replaced = _TEMPORAL.sub(literal_of, text)
    if len(kinds) != 1 or _INPUT.search(replaced):
        return None
    kind = kinds.pop()
    negated = _NOT.match(replaced)
    test = _test((negated.group(1) if negated else replaced).strip())
    if test is None:
        return None
    test = _INPUT.sub(f"_feel_{kind}(?)", test)
    guarded = f"_feel_{kind}(?) is not None and ({test})"
    return f"_feel_{kind}(?) is not None and not ({test})" if negated else guarded


def unary_test(text: str) -> str:
    """``text`` as SpiffWorkflow's Python cell, or unchanged if it is no FEEL of the kinds
    above (or already Python)."""
    text = _functions(text)
    temporal = _temporal_test(text.strip()) if _TEMPORAL.search(text) else None
    if temporal:
        return temporal
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
    return _joined_tests(stripped) or text


_JOINED = re.compile(r"""\s+(and|or)\s+(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def _joined_tests(text: str) -> str | None:
    """Comparisons on the input joined by ``and``/``or`` (``>= 100 and < 10000``, as chat
    assistants write them; FEEL has no such test, Python no operand before the operators) as
    the Python on ``?`` they mean (``? >= 100 and ? < 10000``), or ``None``."""
    pieces = _JOINED.split(text)
    if len(pieces) < 3:
        return None
    parts = pieces[::2]
    tests = [_test(part) if _OPERATOR.match(part) else None for part in parts]
    if not all(tests):
        return None
    joined = [tests[0]]
    for word, test in zip(pieces[1::2], tests[1:], strict=True):
        joined += [word, test]
    return " ".join(t for t in joined if t)


def translate_tree(tree: Any) -> None:
    """Rewrite the input cells of a parsed DMN file in place (see the module's text)."""
    for element in tree.iter():
        kind = _local(element)
        if kind != "inputEntry":
            continue
        for text in element:
            if _local(text) == "text" and text.text:
                on_column = own_column_test(text.text, column_expression(element))
                text.text = on_column or unary_test(text.text)
    # after the rule cells, which read their column's expression as written
    for element in tree.iter():
        kind = _local(element)
        if kind not in ("outputEntry", "inputExpression", "defaultOutputEntry"):
            continue
        for text in element:
            if _local(text) == "text" and text.text:
                text.text = expression(literal(text.text))


def own_column_test(text: str, column: str | None) -> str | None:
    """The cell ``text``, a whole condition naming its column's input ``column`` (``budget >
    10000 and budget < 60000``), with ``?`` standing for that input; ``None`` for any other
    cell (a unary test, a value, one with ``?`` already, one not naming the column)."""
    if not column or _INPUT.search(text):
        return None
    try:
        cell = ast.parse(text.strip(), mode="eval").body
        wanted = ast.dump(ast.parse(column.strip(), mode="eval").body)
    except SyntaxError:
        return None
    boolean = isinstance(cell, (ast.Compare, ast.BoolOp)) or (
        isinstance(cell, ast.UnaryOp) and isinstance(cell.op, ast.Not)
    )
    if not boolean:
        return None

    class Input(ast.NodeTransformer):
        def __init__(self) -> None:
            self.found = False
            self.texts: list[str] = []

        def visit(self, node: ast.AST) -> ast.AST:
            if isinstance(node, ast.expr) and ast.dump(node) == wanted:
                self.found = True
                return ast.Name(id=_MARK, ctx=ast.Load())
            if isinstance(node, ast.JoinedStr):
                return node
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                # written out below without quote characters inside it
                self.texts.append(node.value)
                return ast.Name(id=f"{_TEXT}{len(self.texts) - 1}", ctx=ast.Load())
            return super().visit(node)

    marker = Input()
    rewritten = ast.unparse(marker.visit(cell))
    if not marker.found:
        return None
    inputs = rewritten.count(_MARK)
    result = rewritten.replace(_MARK, "?")
    for number in reversed(range(len(marker.texts))):
        result = result.replace(f"{_TEXT}{number}", _quoted(marker.texts[number]))
    # SpiffWorkflow takes a ``?`` for the input only where the quotes after it pair up
    return result if len(_INPUT.findall(result)) == inputs else None


def _quoted(text: str) -> str:
    """``text`` as a Python string literal holding no quote character inside its quotes (a
    ``'`` in ``"O'Brien"`` made SpiffWorkflow miss the ``?`` before it)."""
    escaped = text.encode("unicode_escape").decode("ascii")
    return "'" + escaped.replace("'", "\\x27").replace('"', "\\x22") + "'"


def column_expression(cell: Any) -> str | None:
    """The input expression of the column the rule cell ``cell`` is in, or ``None``."""
    rule = cell.getparent()
    table = rule.getparent() if rule is not None else None
    if table is None:
        return None
    position = [c for c in rule if _local(c) == "inputEntry"].index(cell)
    inputs = [i for i in table if _local(i) == "input"]
    if position >= len(inputs):
        return None
    expression = next((e for e in inputs[position] if _local(e) == "inputExpression"), None)
    text = (
        next((t for t in expression if _local(t) == "text"), None)
        if expression is not None
        else None
    )
    return text.text if text is not None and text.text else None


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


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
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return text if node.func.id.startswith("_feel_") else None  # a temporal literal
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
