"""Camunda 8 (Zeebe) settings told in the Python Dialflow runs, and those that pass.

``foreign.py`` refuses every ``zeebe:`` setting on its element with one hint per name. For
the ones Camunda 8 teams bring most that hint was generic ("write the Python the task runs",
"map data with a script task") or wrong: a FEEL condition ``=approved = true`` was told as
``approved == true``, which names an unknown ``true``, and ``=customer.tier = "gold"`` as
``customer.tier == "gold"``, which fails on task data (JSON objects, no attributes). Here a
FEEL expression becomes the Python that runs (``==``, ``True``/``False``/``None``,
``customer["tier"]``, ``count(x)`` ``len(x)``; no suggestion when it stays no Python), and
a script, an input/output mapping, a called decision and an assignment are
each told as what to write, with the file's own names.

What says what Dialflow does anyway passes (``as_dialflow``): ``<zeebe:userTask/>`` (Dialflow
works every user task itself, no job worker), ``<zeebe:assignmentDefinition
candidateGroups>`` naming only the task's own lane, and ``<zeebe:calledElement>`` naming the
process the call activity's ``calledElement`` names (or, with none, as a plain Camunda 8 export
writes it, the process it calls: ``engine.zeebe_tasks``); its ``propagateAll…Variables`` flags
and the call activity's ``zeebe:ioMapping`` run as drawn (``engine.call_mappings``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lxml import etree

from engine import assignment_attributes, feel_functions, foreign_hints, juel, version_tags
from engine.bpmn_xml import BPMN_NS, readable_trees
from engine.bundles import is_dependency
from engine.errors import problem
from engine.version_bindings import binding_refusal

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_FEEL = re.compile(r"^\s*=(?!=)(.*)$", re.DOTALL)
_STRING = re.compile(r'("(?:\\.|[^"\\])*")')
_FUNCTIONS = {"count": "len", "string": "str", "abs": "abs", "sum": "sum", "min": "min"}
_UNKNOWN_CALL = re.compile(r"(?<![\w.])([^\W\d]\w*)\s*\(")
_PYTHON_CALLS = {"len", "str", "abs", "sum", "min", "max", "not"}
# Names in translated FEEL that are no variable: Python's functions and literals.
_NOT_VARIABLES = _PYTHON_CALLS | {"True", "False", "None"}


def feel_to_python(expression: str, *, runs: bool = False) -> str | None:
    """The FEEL ``expression`` (without its leading ``=``) as Python, or ``None`` when it does
    not become an expression Python compiles from names it knows. ``if a then b else c`` is
    ``(b) if (a) is True else (c)``: FEEL takes the else branch for anything but true.
    ``runs``: the Python runs in Dialflow, so FEEL's functions (``contains``, ``upper case``,
    ``date and time`` …) are calls of ``engine.feel_functions``' helpers; a hint, which a
    person copies, has no such calls."""
    if runs:
        bound = binders_as_python(expression)
        if bound is None:
            return None
        expression = bound
    branches = _if_then_else(expression.strip())
    if branches is not None:
        python = [feel_to_python(part, runs=runs) for part in branches]
        if any(part is None for part in python):
            return None
        condition, then, otherwise = python
        return f"({then}) if ({condition}) is True else ({otherwise})"
    parts = _STRING.split(expression.strip())
    known = _PYTHON_CALLS | (feel_functions.CALLED if runs else set())
    for index in range(0, len(parts), 2):  # outside string literals only
        text = parts[index]
        if runs:
            text = _BETWEEN.sub(r"\1\2(\4 <= \3 and \3 <= \5)", text)
            text = _IS_DEFINED.sub(_defined_call, text)
            text = _FEEL_CALL.sub(_helper_call, text)
        text = re.sub(r"(?<![<>=!])=(?!=)", "==", text)
        for feel, python in _FUNCTIONS.items():
            text = re.sub(rf"(?<![\w.]){feel}\s*\(", f"{python}(", text)
        parts[index] = text
    if runs:  # a regular expression's ``\d``, ``\w`` in FEEL text: kept, as FEEL keeps it
        for index in range(1, len(parts), 2):
            parts[index] = re.sub(r'\\(?![\\"nrtu])', r"\\\\", parts[index])
    body = "".join(parts)
    if any(name not in known for name in _UNKNOWN_CALL.findall(_STRING.sub('""', body))):
        return None  # a FEEL function (is defined() …) with no Python here
    python = juel.to_python(body)
    if python is None:
        return None
    try:
        tree = ast.parse(python, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):  # too deep to parse: no translation
        return None
    read = _as_feel_reads(python, tree, runs=runs)
    return _with_feel_arithmetic(read) if runs and read is not None else read


# FEEL's expressions that bind names: ``for x in xs return …``, ``some x in xs satisfies …``,
# ``every …`` and ``function(a, b) …`` (as ``sort`` takes one).
# A name is a letter of any script or ``_``, then letters, digits and ``_`` (``客户``), as the
# rest of the translation reads names (``客户列表[1].金额``).
_NAME = r"[^\W\d]\w*"
_BINDER = re.compile(rf"(?<![\w.])(for|some|every)\s+({_NAME})\s+in\s")
_FUNCTION = re.compile(rf"(?<![\w.])function\s*\(\s*({_NAME}(?:\s*,\s*{_NAME})*)?\s*\)")
_OPENERS, _CLOSERS = "([{", ")]}"


def binders_as_python(expression: str) -> str | None:
    """``expression`` with its ``for``/``some``/``every`` and ``function`` expressions written
    as Python (a list comprehension over ``_feel_items(…)``, ``_feel_some([…])``,
    ``_feel_every([…])``, a ``lambda``), innermost first; the rest stays FEEL. ``None`` when
    one is not complete (no ``return``/``satisfies``, a range ``1..3``)."""
    text = expression
    limit = len(text)
    while True:
        blank = _STRING.sub(lambda found: '"' + "_" * (len(found.group(0)) - 2) + '"', text)
        found = [m for m in (*_BINDER.finditer(blank), *_FUNCTION.finditer(blank))]
        found = [m for m in found if m.start() < limit]
        if not found:
            return text
        match = max(found, key=lambda m: m.start())
        rewritten = _binder_python(text, blank, match)
        if rewritten is None:
            return None
        text, limit = rewritten, match.start()


def _binder_python(text: str, blank: str, match: re.Match[str]) -> str | None:
    """``text`` with the binder ``match`` found (in ``blank``, ``text`` with its strings
    blanked) rewritten as Python up to the end of its body."""
    if match.re is _FUNCTION:
        names = ", ".join(n.strip() for n in (match.group(1) or "").split(",") if n.strip())
        end = _body_end(blank, match.end())
        body = text[match.end() : end].strip()
        if not body:
            return None
        return f"{text[: match.start()]}(lambda {names}: ({body})){text[end:]}"
    keyword = match.group(1)
    closing = "return" if keyword == "for" else "satisfies"
    contexts: list[tuple[str, str]] = []
    name, at = match.group(2), match.end()
    while True:
        stop = _context_end(blank, at, closing)
        if stop is None:
            return None
        end, word_end, more = stop
        source = text[at:end].strip()
        if not source or ".." in blank[at:end]:
            return None  # a range: not read here
        contexts.append((name, source))
        if more is None:
            break
        name, at = more
    body_end = _body_end(blank, word_end)
    body = text[word_end:body_end].strip()
    if not body:
        return None
    loops = " ".join(f"for {n} in _feel_items({source})" for n, source in contexts)
    listed = f"[({body}) {loops}]"
    python = listed if keyword == "for" else f"_feel_{keyword}({listed})"
    return f"{text[: match.start()]}{python}{text[body_end:]}"


_NEXT_CONTEXT = re.compile(rf",\s*({_NAME})\s+in\s")


def _context_end(
    blank: str, start: int, closing: str
) -> tuple[int, int, tuple[str, int] | None] | None:
    """Where an iteration context's list ends: at ``closing`` (``return``/``satisfies``) or at
    a comma before the next ``name in``, at depth 0. (end, where the body or next context
    begins, the next context's (name, start) or None)."""
    depth = 0
    index = start
    while index < len(blank):
        char = blank[index]
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            word = re.match(rf"(?<![\w.]){closing}(?![\w.])", blank[index:])
            if word and (
                index == 0 or not (blank[index - 1].isalnum() or blank[index - 1] in "_.")
            ):
                return index, index + len(closing), None
            following = _NEXT_CONTEXT.match(blank, index) if char == "," else None
            if following:
                return index, index, (following.group(1), following.end())
        index += 1
    return None


def _body_end(blank: str, start: int) -> int:
    """Where a binder's body ends: at the bracket closing the group it stands in, a comma of
    that group, or the end of the expression."""
    depth = 0
    for index in range(start, len(blank)):
        char = blank[index]
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            if depth == 0:
                return index
            depth -= 1
        elif char == "," and depth == 0:
            return index
    return len(blank)


# A call of one of FEEL's functions ``engine.feel_functions`` runs, its name's words spaced
# in any way (``date and time(``, ``upper  case(``); longer names first.
_FEEL_CALL = re.compile(
    r"(?<![\w.])("
    + "|".join(
        r"\s+".join(map(re.escape, name.split()))
        for name in sorted(feel_functions.NAMES, key=len, reverse=True)
    )
    + r")\s*\("
)


# ``amount between 1000 and 5000`` over names, paths and numbers (text is blanked here),
# standing alone between ``and``/``or``/brackets: ``b * 2`` as a bound stays untranslated
_OPERAND = r"(-?[\w.]+)"
_BETWEEN = re.compile(
    rf"(^|[(,\[]|\b(?:and|or|if|then|else)\s)(\s*){_OPERAND}\s+between\s+{_OPERAND}\s+and\s+"
    rf"{_OPERAND}(?=\s*(?:$|[),\]]|\b(?:and|or|then|else)\b))"
)


# ``is defined(lead.email)``: whether the data has the variable (and the path's fields),
# null or not, which no value read as null can tell.
_IS_DEFINED = re.compile(rf"(?<![\w.])is\s+defined\s*\(\s*({_NAME}(?:\s*\.\s*{_NAME})*)\s*\)")


def _defined_call(found: re.Match[str]) -> str:
    path = ".".join(part.strip() for part in found.group(1).split("."))
    return f"_feel_is_defined(_feel_vars, {path!r})"


def _helper_call(found: re.Match[str]) -> str:
    return feel_functions.NAMES[" ".join(found.group(1).split())] + "("


_IF = re.compile(r"^if\s+(.+?)\s+then\s+(.+?)\s+else\s+(.+)$", re.DOTALL)


def _if_then_else(expression: str) -> tuple[str, str, str] | None:
    """The condition, then and else parts of a FEEL ``if … then … else …`` (matched outside
    its string literals; ``else if`` nests in the else part), or ``None``."""
    blank = _STRING.sub(lambda found: '"' + "_" * (len(found.group(0)) - 2) + '"', expression)
    found = _IF.match(blank)
    if found is None or re.search(r"\bif\b", blank[found.start(1) : found.end(2)]):
        return None  # not one, or an if inside its condition or then part
    return tuple(expression[found.start(i) : found.end(i)] for i in (1, 2, 3))  # type: ignore[return-value]


def _as_feel_reads(python: str, tree: ast.AST, *, runs: bool = False) -> str | None:
    """``python`` reading data as FEEL does: a list's items counted from 1 (``items[1]`` is
    ``items[0]``; ``items[-1]`` the last in both), a field after an index by its name
    (``items[1].name``), a context's keys as names (``{a: 1}``); ``None`` for a filter or an
    index Python reads otherwise (``items[x > 1]``, ``items[i]``, ``items[0]``). ``runs``:
    a variable the data lacks and a missing field are null, as FEEL reads them
    (``_feel_vars.get("x")``, ``_feel_get(lead, "email")``: ``engine.feel_functions``)."""
    edits: list[tuple[int, int, str]] = []  # (start, end, text) in UTF-8 bytes of ``python``
    # (at, at, depth, text): of two at one place, the outer node's goes first
    inserts: list[tuple[int, int, int, str]] = []
    depth = _depths(tree)
    keys = {id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict) for key in node.keys}
    filters = [node for node in ast.walk(tree) if runs and _is_filter(node)]
    in_filters = {id(name) for node in filters for name in ast.walk(node.slice)}
    bound = _bound_names(tree)
    for node in ast.walk(tree):
        if runs and isinstance(node, ast.Name) and node.id not in _NOT_VARIABLES:
            if node.id.startswith("_feel_") or id(node) in keys or id(node) in bound:
                continue
            start, end = node.col_offset, node.end_col_offset or 0
            if id(node) not in in_filters:
                edits.append((start, end, f"_feel_vars.get({node.id!r})"))
            elif node.id != "item":  # in a filter: the item's field, else the variable
                edits.append((start, end, f"_feel_item_field(item, {node.id!r}, _feel_vars)"))
            continue
        if runs and _is_filter(node):
            index = node.slice
            inserts.append((node.col_offset, node.col_offset, depth[id(node)], "_feel_filter("))
            after = node.value.end_col_offset or 0
            edits.append((after, index.col_offset, ", lambda item: "))
            edits.append((index.end_col_offset or 0, node.end_col_offset or 0, ")"))
            continue
        if isinstance(node, ast.Subscript):
            index = node.slice
            if isinstance(index, ast.Constant) and isinstance(index.value, str):
                if runs:  # a field by its name, null when missing
                    inserts.append(
                        (node.col_offset, node.col_offset, depth[id(node)], "_feel_get(")
                    )
                    end = node.end_col_offset or 0
                    edits.append((node.value.end_col_offset or 0, end, f", {index.value!r})"))
                continue  # a field by its name (``lead["tier"]``)
            if runs and _is_position(index):  # FEEL's position: null out of range
                inserts.append((node.col_offset, node.col_offset, depth[id(node)], "_feel_index("))
                position = ast.unparse(index)
                edits.append(
                    (node.value.end_col_offset or 0, node.end_col_offset or 0, f", {position})")
                )
                continue
            if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
                index = index.operand  # counted from the end, the same in both
                if isinstance(index, ast.Constant) and type(index.value) is int and index.value:
                    continue
                return None
            if not (isinstance(index, ast.Constant) and type(index.value) is int):
                return None
            if index.value < 1:
                return None  # FEEL's item 0 is null
            edits.append((index.col_offset, index.end_col_offset or 0, str(index.value - 1)))
        elif isinstance(node, ast.Attribute):
            start = node.value.end_col_offset or 0
            if runs:
                inserts.append((node.col_offset, node.col_offset, depth[id(node)], "_feel_get("))
                edits.append((start, node.end_col_offset or 0, f", {node.attr!r})"))
            else:
                edits.append((start, node.end_col_offset or 0, f'["{node.attr}"]'))
        elif isinstance(node, ast.Dict):
            edits += [
                (key.col_offset, key.end_col_offset or 0, f'"{key.id}"')
                for key in node.keys
                if isinstance(key, ast.Name)
            ]
    text = python.encode()
    every = [(start, end, 0, said) for start, end, said in edits] + inserts
    for start, end, _depth, replacement in sorted(every, reverse=True):
        text = text[:start] + replacement.encode() + text[end:]
    return text.decode()


def _bound_names(tree: ast.AST) -> set[int]:
    """The ``Name`` nodes (by ``id``) that read or bind a name a comprehension or lambda
    around them binds (a ``for``/``some``/``every`` item, a ``function``'s parameter)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ListComp):
            names = {
                name.id
                for loop in node.generators
                for name in ast.walk(loop.target)
                if isinstance(name, ast.Name)
            }
        elif isinstance(node, ast.Lambda):
            names = {arg.arg for arg in node.args.args}
        else:
            continue
        found.update(
            id(name) for name in ast.walk(node) if isinstance(name, ast.Name) and name.id in names
        )
    return found


def _is_position(index: ast.AST) -> bool:
    """A whole number written as a list's index (``[2]``, ``[-1]``, ``[0]``)."""
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
        index = index.operand
    return isinstance(index, ast.Constant) and type(index.value) is int


def _depths(tree: ast.AST) -> dict[int, int]:
    """Each node's depth in ``tree`` (by ``id``)."""
    found = {id(tree): 0}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            found[id(child)] = found[id(node)] + 1
    return found


def _is_filter(node: ast.AST) -> bool:
    """A FEEL filter or computed index, ``items[amount > 100]``, ``items[i]``: a subscript
    by anything but a field's name or a whole number."""
    if not isinstance(node, ast.Subscript):
        return False
    index = node.slice
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
        index = index.operand
    return not (
        isinstance(index, ast.Constant)
        and (isinstance(index.value, str) or type(index.value) is int)
    )


_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_ORDERING = {ast.Lt: "<", ast.Gt: ">", ast.LtE: "<=", ast.GtE: ">="}
_EQUALITY = {ast.Eq: "=", ast.NotEq: "!="}


def _with_feel_arithmetic(python: str) -> str:
    """``python`` with each ``+ - * / **`` a call of ``_feel_arithmetic`` (FEEL's numbers are
    decimals: ``0.1 + 0.2`` is ``0.3``, a null operand gives null), each ``< > <= >=`` one of
    ``_feel_compare`` (null with a null operand or values of two kinds), each ``=``/``!=`` one
    of ``_feel_equal`` (null for values of two kinds: ``1 = true``), ``and``/``or``/``not``
    FEEL's three-valued ``_feel_and``/``_feel_or``/``_feel_not``, and ``str(…)``
    ``_feel_string(…)`` (FEEL's ``string(36000)`` is ``"36000"``, ``string(true)`` ``"true"``)."""

    class Feel(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
            self.generic_visit(node)
            operator = _ARITHMETIC.get(type(node.op))
            if operator is None:
                return node
            return ast.Call(
                ast.Name("_feel_arithmetic", ast.Load()),
                [ast.Constant(operator), node.left, node.right],
                [],
            )

        def visit_Compare(self, node: ast.Compare) -> ast.AST:
            self.generic_visit(node)
            kind = type(node.ops[0])
            operator = _ORDERING.get(kind) or _EQUALITY.get(kind)
            if len(node.ops) != 1 or operator is None:
                return node
            helper = "_feel_compare" if kind in _ORDERING else "_feel_equal"
            return ast.Call(
                ast.Name(helper, ast.Load()),
                [ast.Constant(operator), node.left, node.comparators[0]],
                [],
            )

        def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
            self.generic_visit(node)
            helper = "_feel_and" if isinstance(node.op, ast.And) else "_feel_or"
            return ast.Call(ast.Name(helper, ast.Load()), node.values, [])

        def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
            self.generic_visit(node)
            if not isinstance(node.op, ast.Not):
                return node
            return ast.Call(ast.Name("_feel_not", ast.Load()), [node.operand], [])

        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            if isinstance(node.func, ast.Name) and node.func.id == "str":
                node.func = ast.Name("_feel_string", ast.Load())
            return node

    return ast.unparse(Feel().visit(ast.parse(python, mode="eval")))


def is_feel(text: str | None) -> bool:
    return bool(_FEEL.match(text or ""))


def python_of(value: str | None) -> str | None:
    """A ``source``/``expression`` attribute as Python: FEEL converted, a literal quoted."""
    match = _FEEL.match(value or "")
    if match:
        return feel_to_python(match.group(1))
    return repr(value) if value is not None else None


def as_dialflow(element: Any) -> bool:
    """True for a Zeebe setting that says what Dialflow does anyway (see the module)."""
    qname = etree.QName(element)
    if qname.namespace != ZEEBE_NS:
        return False
    owner = _flow_node(element)
    if owner is None:
        return False
    kind = etree.QName(owner).localname
    if qname.localname == "userTask":
        return kind == "userTask" and not element.attrib and len(element) == 0
    if qname.localname == "assignmentDefinition":
        return set(element.attrib) == {"candidateGroups"} and foreign_hints.honoured(
            "candidateGroups", owner, element.get("candidateGroups", "")
        )
    if qname.localname == "calledElement":
        process = (element.get("processId") or "").strip()
        keys = set(element.attrib) - {
            "processId",
            "propagateAllChildVariables",
            "propagateAllParentVariables",
            "bindingType",
        }
        tagged = version_tags.zeebe_binding(element) is not None  # the newest tagged version
        return (
            kind == "callActivity"
            and not (keys - {"versionTag"} if tagged else keys)
            and (tagged or element.get("bindingType", "latest").strip() in BINDINGS)
            and bool(process)
            and not is_feel(process)
            and process == ((owner.get("calledElement") or "").strip() or process)
            and all(
                element.get(flag, "true").strip().lower() in ("true", "false")
                for flag in ("propagateAllChildVariables", "propagateAllParentVariables")
            )
        )
    return False


# Camunda 8.6's binding of a called process: ``latest`` (the default, written or not) and
# ``deployment`` (the version deployed with the caller) both call what Dialflow calls, the
# version current when the caller was deployed; ``deployment`` naming a process of no file of
# the deploy is refused by ``binding_problems``. ``versionTag`` (with a plain tag) calls the
# newest deployed version carrying it (``engine.version_tags``, resolved when deployed).
BINDINGS = ("latest", "deployment")


# What a Camunda 8 listener or linked resource is told to draw instead.
_LISTENERS = {
    "executionListeners": (
        "Dialflow calls no job worker around an element: draw what the listener "
        "{types} does as a service task (an operator from the handler registry) before the "
        "element for a start listener, after it for an end listener"
    ),
    "taskListeners": (
        "Dialflow calls no job worker when a user task changes: draw what the listener "
        "{types} does as a service task (an operator from the handler registry) after the "
        "user task for a completing listener, before it for a creating or assigning one; "
        "who works the task is its lane"
    ),
    "linkedResources": (
        "Dialflow runs no linked resource {types}: draw the work as a service task whose "
        "operator from the handler registry does it, and remove <zeebe:linkedResources>"
    ),
}


def hint_for(element: Any) -> str | None:
    """The Dialflow way for the Zeebe element ``element``, or ``None`` for the general hint."""
    local = etree.QName(element).localname
    owner = _flow_node(element)
    kind = etree.QName(owner).localname if owner is not None else ""
    if local == "script":
        python = python_of(element.get("expression"))
        target = element.get("resultVariable") or "result"
        if python:
            return f"write the Python in its <script>: {target} = {python}"
        return "write the Python the task runs in its <script>"
    if local == "ioMapping":
        return _mapping(element)
    if local == "calledDecision":
        decision = element.get("decisionId") or "<decision id>"
        binding = (element.get("bindingType") or "latest").strip()
        variable = (element.get("resultVariable") or "").strip()
        if binding not in BINDINGS:
            return binding_refusal(
                element,
                "decision",
                decision,
                'bindingType="deployment" calls the decision deployed with this diagram '
                "(deploy the tagged DMN file with it)",
            )
        if is_feel(decision):
            return (
                "a business rule task calls the decision it names as written: name one "
                "decision id in decisionId"
            )
        if owner is not None and any(True for _ in owner.iter(f"{{{SPIFF_NS}}}calledDecisionId")):
            return (
                "the task names its decision twice: keep <zeebe:calledDecision> (the result "
                "in resultVariable) or spiffworkflow:calledDecisionId (each output under its "
                "own name)"
            )
        if not variable.isidentifier():
            return (
                f"name the variable the decision's result goes to in resultVariable (a name "
                f"such as {decision.split('.')[-1].replace('-', '_') or 'result'}_result)"
            )
        return (
            "name the decision in the task's extensionElements: <spiffworkflow:calledDecisionId>"
            f"{decision}</spiffworkflow:calledDecisionId>; the decision's outputs become "
            "variables named after its output columns, so "
            f"resultVariable={element.get('resultVariable')!r} is not needed"
        )
    if local in _LISTENERS:
        types = sorted(
            {
                repr(item.get("type") or item.get("resourceId"))
                for item in element
                if isinstance(item.tag, str) and (item.get("type") or item.get("resourceId"))
            }
        )
        return _LISTENERS[local].format(types=", ".join(types) or "").replace("  ", " ")
    if local == "calledElement" and kind == "callActivity":
        process = (element.get("processId") or "").strip()
        binding = (element.get("bindingType") or "latest").strip()
        if binding not in BINDINGS:
            return binding_refusal(
                element,
                "process",
                process,
                f'bindingType="deployment" calls the {process!r} deployed with this diagram '
                "(deploy the tagged file with it), without a binding the version current when "
                "this diagram is deployed",
            )
        if is_feel(process):
            return (
                "a call activity calls the process it names as written: name one process id "
                "in its calledElement attribute"
            )
        return (
            "name the called process in the call activity's calledElement attribute: "
            f"calledElement={process!r}"
        )
    if local == "assignmentDefinition":
        return _assignment(element, owner)
    if local == "taskHeaders" and kind == "userTask":
        return (
            "Dialflow reads no headers on a user task: remove them; what the task shows goes "
            "in its properties (title, kind) and what it needs in the process data"
        )
    if local == "formDefinition" and kind == "userTask":
        said = element.get("externalReference") or element.get("formKey")
        return (
            f"Dialflow shows no external form ({said!r}): build the form as a Camunda Form "
            "(a .form file deployed with the diagram, named by formId) or a JSON Schema file "
            "named in the user task's formJsonSchemaFilename property"
        )
    if local == "formDefinition" and kind == "startEvent":
        return (
            "a process starts with the data sent with it (POST /api/v1/process-instances "
            '"data"), which no start form checks; put the form on a user task after the start, '
            "where Dialflow shows it"
        )
    return None


def said_elsewhere(element: Any) -> bool:
    """True for ``<zeebe:adHoc>`` on an ad-hoc subprocess: the subprocess is refused itself
    (``engine.constructs``, with what to draw instead), and its settings with it."""
    owner = _flow_node(element)
    return (
        etree.QName(element).localname == "adHoc"
        and owner is not None
        and etree.QName(owner).localname == "adHocSubProcess"
    )


def _mapping(element: Any) -> str:
    """The script tasks that do what the input and output mappings did."""
    ns = f"{{{ZEEBE_NS}}}"
    lines = {"input": [], "output": []}
    for side in ("input", "output"):
        for entry in element.iter(f"{ns}{side}"):
            python = python_of(entry.get("source"))
            if python is None or not entry.get("target"):
                return "map data with a script task"
            lines[side].append(f"{entry.get('target')} = {python}")
    said = []
    if lines["input"]:
        said.append(f"a script task before it: {'; '.join(lines['input'])}")
    if lines["output"] and etree.QName(_flow_node(element)).localname == "serviceTask":
        said.append(
            "the operator's result in its resultVariable (spiffworkflow:serviceTaskOperator), "
            "read in a script task after it"
        )
    elif lines["output"]:
        said.append(f"a script task after it: {'; '.join(lines['output'])}")
    return "map data with " + " and ".join(said) if said else "map data with a script task"


def _assignment(element: Any, owner: Any) -> str:
    if owner is not None and owner.tag == f"{{{BPMN_NS}}}userTask":
        for kind in assignment_attributes.KINDS:
            value = element.get(kind)
            if (value or "").strip() and (
                assignment_attributes.entries_of(kind, value or "", owner, feel=True) is None
            ):
                said = assignment_attributes.hint(kind, owner, value, feel=True)
                return f"{kind}={value!r}: {said}"
        unknown = sorted(set(element.attrib) - set(assignment_attributes.KINDS))
        if unknown:
            return (
                f"Dialflow reads assignee, candidateUsers and candidateGroups: remove "
                f"{', '.join(unknown)}"
            )
    assignee = element.get("assignee")
    if assignee:
        name = _FEEL.match(assignee)
        who = name.group(1).strip() if name else repr(assignee.strip())
        return (
            "put the task in a lane and name who works it in the data before it: lane_owners = "
            f"{{'<lane name>': {who}}} (a username)"
        )
    groups = element.get("candidateGroups")
    if groups and not is_feel(groups):
        lane = foreign_hints.lane_of(owner) if owner is not None else None
        where = f" (the task's lane is {lane!r})" if lane else ""
        return foreign_hints.hint_for("candidateGroups", owner, groups) + where
    return "put the task in a lane (the lane names who works it)"


def _flow_node(element: Any) -> Any:
    """The BPMN element whose extensionElements hold ``element``."""
    node = element.getparent()
    while node is not None and etree.QName(node).localname == "extensionElements":
        node = node.getparent()
    return node


def binding_problems(bpmn: dict[str, str]) -> list[dict[str, Any]]:
    """A ``<zeebe:calledElement bindingType="deployment">`` whose process no file of this
    deploy holds: Camunda 8 calls only the version deployed with the caller, and Dialflow
    would call the one an earlier deploy left. One problem on the call activity."""
    trees = dict(readable_trees(bpmn))
    deployed = {  # not the earlier deploys' files merged in for the processes they call
        process.get("id")
        for name, tree in trees.items()
        if not is_dependency(name)
        for process in tree.iter(f"{{{BPMN_NS}}}process")
    }
    found = []
    for name, tree in trees.items():
        if is_dependency(name):
            continue  # checked when it was deployed
        for element in tree.iter(f"{{{ZEEBE_NS}}}calledElement"):
            process = (element.get("processId") or "").strip()
            owner = _flow_node(element)
            if (
                (element.get("bindingType") or "").strip() != "deployment"
                or not as_dialflow(element)
                or process in deployed
                or owner is None
            ):
                continue
            found.append(
                problem(
                    f'{name}: <zeebe:calledElement bindingType="deployment"> on callActivity '
                    f"{owner.get('id')!r} calls the version of {process!r} deployed with it, "
                    f"and no file of this deploy holds process {process!r}: deploy its file "
                    "with this one, or remove bindingType to call the version current when "
                    "this one is deployed",
                    element_id=owner.get("id"),
                    line=element.sourceline,
                    file=name,
                )
            )
    return found
