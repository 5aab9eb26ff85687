"""JUEL (``${…}``, as Camunda 7, Activiti and Flowable write conditions): the conditions that
run, and the Python a hint suggests for the rest.

A condition (a sequence flow's, a multi-instance ``completionCondition``, a ``loopCondition``)
is translated once, when its file is parsed (``translate_tree``), into Python calling
``engine.juel_runtime``'s operators, so it runs with EL's coercions; one outside the subset
EL's grammar is read for here (``Unsupported``) stays as written and is refused at deploy by
``engine.foreign`` with why.

For what is refused, ``to_python`` gives the hint:

The hint used to repeat the expression's body, which is Python only in the simplest cases:
``approved == true && amount gt 1000 || !vip`` neither compiles nor runs. Here JUEL's
operators and literals become Python's (``&&`` ``and``, ``||`` ``or``, ``!`` ``not``,
``eq``/``ne``/``lt``/``gt``/``le``/``ge``, ``div``, ``mod``, ``true``/``false``/``null``,
``empty x`` ``not x``, ``execution.getVariable("x")`` ``x``, a map's ``order.amount``
``order["amount"]``, as task data holds JSON objects); a body that still is no Python
(a ternary, a Java method call) gets no suggestion, and the names the Java engines set that
Dialflow does not (``nrOfInstances`` …, ``execution``, ``task``) are named.
"""

from __future__ import annotations

import ast
import keyword
import re
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS
from engine.juel_runtime import METHODS as _METHODS
from engine.juel_runtime import VARIABLES as _VARIABLES

# Tokens: strings (either quote, with escapes), two-character operators, words, the rest.
_TOKEN = re.compile(
    r"""("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|&&|\|\||==|!=|<=|>=|[A-Za-z_][\w.]*|\d+(?:\.\d+)?|\s+|.)""",
    re.S,
)
_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "true": "True",
    "false": "False",
    "null": "None",
    "&&": "and",
    "||": "or",
}
_GET_VARIABLE = re.compile(
    r"""\b(?:execution|task)\.get(?:Variable|VariableLocal)\(\s*(["'])(\w+)\1\s*\)"""
)
_METHOD_CALL = re.compile(r"[\w)\]]\.\w+\s*\(")
# ``order.amount``: a property of a map variable (task data holds JSON objects, no attributes).
_PROPERTY = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
# The multi-instance counters a Dialflow completion condition reads too (engine.multi_instance).
COUNTERS = {"nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances"}
# What the Java engines put beside the process's variables, which Dialflow's data lacks.
ENGINE_NAMES = {
    "nrOfInstances": "the multi-instance counters",
    "nrOfCompletedInstances": "the multi-instance counters",
    "nrOfActiveInstances": "the multi-instance counters",
    "loopCounter": "the multi-instance counters",
    "execution": "the execution object",
    "task": "the task object",
    "authenticatedUserId": "the signed-in user",
}


def to_python(body: str) -> str | None:
    """The JUEL expression ``body`` (inside ``${…}``) as Python, or ``None`` when it does not
    become an expression Python compiles."""
    text = _GET_VARIABLE.sub(lambda m: m.group(2), body.strip())
    if _METHOD_CALL.search(text):
        return None  # a Java method: no Python counterpart to suggest
    out: list[str] = []
    for token in _TOKEN.findall(text):
        if token == "empty":
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == " not ":
                out.pop()  # not empty x: x holds something
            else:
                out.append(" not ")
        elif token in ("!", "not"):
            out.append(" not ")
        elif token in _WORDS:
            out.append(f" {_WORDS[token]} ")
        elif _PROPERTY.match(token):
            out.append(_item_access(token))
        else:
            out.append(token)
    python = re.sub(r"\s+", " ", "".join(out)).strip()
    python = re.sub(r"\( ", "(", python)
    try:
        ast.parse(python, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):  # too deep to parse: no translation
        return None
    return python


def engine_names(body: str) -> list[str]:
    """The names in ``body`` that the Java engines set and Dialflow does not, in order."""
    found = []
    for name in re.findall(r"[A-Za-z_]\w*", _GET_VARIABLE.sub("", body)):
        if name in ENGINE_NAMES and name not in found:
            found.append(name)
    return found


def _item_access(dotted: str) -> str:
    """``order.customer.name`` as ``order["customer"]["name"]``."""
    first, *rest = dotted.split(".")
    return first + "".join(f'["{part}"]' for part in rest)


# --- Conditions that run: JUEL translated to Python calling ``engine.juel_runtime`` ---------

_LEX = re.compile(
    r"""\s*(?:
        (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
      | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
      | (?P<word>[^\W\d][\w$]*|\$[\w$]*)
      | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%!<>()\[\].?:,])
    )""",
    re.X,
)
_RELATIONAL = {"<": "lt", ">": "gt", "<=": "le", ">=": "ge"}
_EQUALITY = {"==": "eq", "!=": "ne"}
_MULTIPLICATIVE = {"*": "mul", "/": "div", "%": "mod"}
_ADDITIVE = {"+": "add", "-": "sub"}
# EL's reserved words that name operators and literals.
_KEYWORDS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
}
# The Java engines' objects a condition may only read a variable through.
_EXECUTION = "execution"


class Unsupported(Exception):
    """A JUEL condition outside what Dialflow runs, with what is outside."""


# translated Python → the JUEL it came from, for incidents that quote the condition
_ORIGINALS: dict[str, str] = {}


def translate_condition(body: str, *, counters: bool = False) -> str:
    """The JUEL condition ``body`` (inside ``${…}``) as the Python Dialflow evaluates, whose
    operators are ``engine.juel_runtime``'s functions. ``counters``: the multi-instance
    counters may be read (a completion condition). Raises ``Unsupported`` for what is outside
    the subset that runs (method calls other than the Java String and List methods
    ``juel_runtime.call`` runs, lambdas, ``instanceof``, the engines' own objects)."""
    python = f"_el_condition({_expression(body, counters)})"
    _ORIGINALS[python] = body
    return python


def _expression(body: str, counters: bool, by_name: bool = False) -> str:
    """The JUEL ``body`` as Python over ``engine.juel_runtime``'s operators (``Unsupported``
    for what is outside the subset that runs). ``by_name``: its variables are read as Python
    names, so one the data lacks fails (Flowable's "unknown property"), where a condition
    reads it as null."""
    unquoted = re.sub(r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'""", "''", _GET_VARIABLE.sub("", body))
    names = [n for n in engine_names(unquoted) if not (counters and n in COUNTERS)]
    if names:
        listed = ", ".join(names)
        raise Unsupported(
            f"{listed} {'is' if len(names) == 1 else 'are'} set by the Java engines and not by "
            "Dialflow"
        )
    return _Parser(body, by_name).parse()


def value_python(body: str) -> str | None:
    """The JUEL value ``body`` (inside ``${…}``) of a listener's ``setVariable`` or an external
    task's input parameter as the Python computing it with EL's operators and coercions
    (``'5' + 1`` is 6, ``amount > 10`` compares a text holding a number as that number), each
    variable read by its name; ``None`` when it is outside the subset that runs."""
    try:
        return _expression(body, False, by_name=True)
    except Unsupported:
        return None


def original(python: str) -> str | None:
    """The JUEL written in the diagram for a translated condition, or None."""
    body = _ORIGINALS.get(python)
    return None if body is None else "${" + body + "}"


class _Parser:
    """EL's grammar (Jakarta EL 1.22), for the subset that runs, as recursive descent."""

    def __init__(self, body: str, by_name: bool = False) -> None:
        self.by_name = by_name
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = body.rstrip()
        while position < len(text):
            match = _LEX.match(text, position)
            if match is None or match.end() == position:
                raise Unsupported(f"{text[position:].strip()[:20]!r} is no JUEL this reads")
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "word" and value in _KEYWORDS:
                kind, value = "op", _KEYWORDS[value]
            self.tokens.append((kind, value))
            position = match.end()
        self.at = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self, *values: str) -> str | None:
        kind, value = self.peek()
        if kind in ("op", "word") and value in values:
            self.at += 1
            return value
        return None

    def expect(self, value: str) -> None:
        if self.take(value) is None:
            raise Unsupported(f"expected {value!r} where {self.peek()[1] or 'the end'!r} is")

    def parse(self) -> str:
        if not self.tokens:
            raise Unsupported("the expression is empty")
        python = self.ternary()
        if self.peek()[0] != "end":
            raise Unsupported(f"{self.peek()[1]!r} is no JUEL operator this reads")
        return python

    def ternary(self) -> str:
        test = self.or_()
        if self.take("?") is None:
            return test
        then = self.ternary()
        self.expect(":")
        otherwise = self.ternary()
        return f"({then} if _el_bool({test}) else {otherwise})"

    def or_(self) -> str:
        left = self.and_()
        while self.take("||"):
            left = f"(_el_bool({left}) or _el_bool({self.and_()}))"
        return left

    def and_(self) -> str:
        left = self.equality()
        while self.take("&&"):
            left = f"(_el_bool({left}) and _el_bool({self.equality()}))"
        return left

    def _binary(self, table: dict[str, str], operand: Any) -> str:
        left = operand()
        while True:
            operator = self.take(*table)
            if operator is None:
                return left
            left = f"_el_{table[operator]}({left}, {operand()})"

    def equality(self) -> str:
        return self._binary(_EQUALITY, self.relational)

    def relational(self) -> str:
        if self.peek() == ("word", "instanceof") or self.peek(1) == ("word", "instanceof"):
            raise Unsupported("instanceof tests a Java class")
        return self._binary(_RELATIONAL, self.additive)

    def additive(self) -> str:
        return self._binary(_ADDITIVE, self.multiplicative)

    def multiplicative(self) -> str:
        return self._binary(_MULTIPLICATIVE, self.unary)

    def unary(self) -> str:
        if self.take("-"):
            return f"_el_neg({self.unary()})"
        if self.take("!"):
            return f"(not _el_bool({self.unary()}))"
        if self.peek() == ("word", "empty"):
            self.at += 1
            return f"_el_empty({self.unary()})"
        return self.value()

    def value(self) -> str:
        kind, token = self.peek()
        self.at += 1
        if kind == "string":
            python = repr(_unquote(token))
        elif kind == "number":
            python = repr(float(token)) if re.search(r"[.eE]", token) else token
        elif kind == "op" and token == "(":
            python = self.ternary()
            self.expect(")")
        elif kind == "word" and token in ("true", "false", "null"):
            return {"true": "True", "false": "False", "null": "None"}[token]
        elif kind == "word" and token == _EXECUTION:
            python = self._execution_variable()
        elif kind == "word":
            if self.peek() == ("op", "("):
                raise Unsupported(f"{token}(…) calls a function")
            python = self._variable(token)
        else:
            raise Unsupported(f"{token or 'the end'!r} is out of place")
        return self.suffixes(python)

    def suffixes(self, python: str) -> str:
        while True:
            if self.take("."):
                kind, name = self.peek()
                if kind != "word":
                    raise Unsupported(f"a property name is missing after '.' ({name!r})")
                self.at += 1
                if self.peek() == ("op", "("):
                    python = self._method(python, name)
                    continue
                python = f"_el_prop({python}, {name!r})"
            elif self.take("["):
                key = self.ternary()
                self.expect("]")
                if self.peek() == ("op", "("):
                    raise Unsupported("[…](…) calls a Java method")
                python = f"_el_prop({python}, {key})"
            else:
                return python

    def _method(self, base: str, name: str) -> str:
        """``base.name(…)``: one of the Java methods ``juel_runtime.call`` runs."""
        if name not in _METHODS:
            raise Unsupported(f".{name}(…) calls a Java method")
        self.expect("(")
        arguments: list[str] = []
        if self.take(")") is None:
            arguments.append(self.ternary())
            while self.take(","):
                arguments.append(self.ternary())
            self.expect(")")
        if len(arguments) != _METHODS[name]:
            raise Unsupported(f".{name}(…) takes {_METHODS[name]} argument(s)")
        return f"_el_call({', '.join([base, repr(name), *arguments])})"

    def _execution_variable(self) -> str:
        """``execution.getVariable("x")``: the variable ``x``."""
        if not (self.take(".") and self.take("getVariable") and self.take("(")):
            raise Unsupported("execution is the Java engines' object; read a variable by its name")
        kind, name = self.peek()
        if kind != "string":
            raise Unsupported("execution.getVariable(…) names its variable in quotes")
        self.at += 1
        self.expect(")")
        return self._variable(_unquote(name))

    def _variable(self, name: str) -> str:
        """Reading the variable ``name``: by its name, or from the data (null when absent)."""
        if not self.by_name:
            return f"{_VARIABLES}.get({name!r})"
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_el_"):
            raise Unsupported(f"{name!r} is no name a script reads")
        return name


def _unquote(token: str) -> str:
    r"""A JUEL string literal's text: ``\\``, ``\'`` and ``\"`` are its only escapes."""
    return re.sub(r"\\([\\'\"])", r"\1", token[1:-1])


# ``${…}`` and ``#{…}``: the whole text of the element is one JUEL expression.
_WHOLE = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)
# How diagrams name EL as an expression's language (the default needs no name).
JUEL_LANGUAGES = {"", "juel", "uel", "el", "jakarta.el", "javax.el"}
# The elements whose JUEL conditions run: where each is, and whether it may read the
# multi-instance counters.
CONDITION_TAGS = {"conditionExpression": False, "completionCondition": True, "loopCondition": False}
# The elements whose JUEL value runs, and the ``engine.juel_runtime`` function that takes the
# value as the element needs it: a timer's ISO 8601 text, a multi-instance count.
VALUE_TAGS = {
    "timeDate": "_el_timer",
    "timeDuration": "_el_timer",
    "timeCycle": "_el_timer",
    "loopCardinality": "_el_cardinality",
}


def translate_value(body: str, function: str) -> str:
    """The JUEL value ``body`` of a timer or cardinality as the Python that calls
    ``function`` (``VALUE_TAGS``) on it, with the text written for what an incident says.
    Raises ``Unsupported`` as ``translate_condition`` does."""
    written = "${" + body.strip() + "}"
    return f"{function}({_expression(body, False)}, {written!r})"


def translate_expression(text: str) -> str | None:
    """A value written as JUEL, ``${attempt + 1}`` or text around ``${…}``, as the Python
    that computes it with EL's operators; ``None`` when it is no JUEL or is outside the
    subset that runs."""
    whole = _WHOLE.match(text or "")
    if whole is None or _EMBEDDED.fullmatch(text.strip()) is None:
        return translate_composite(text or "")
    try:
        return _expression(whole.group(1), False)
    except Unsupported:
        return None


def untranslated(text: str) -> str | None:
    """Why a value written with JUEL (``${lead.getOwner()}``) does not run, or None."""
    for found in _EMBEDDED.finditer(text or ""):
        try:
            _expression(found.group(1), False)
        except Unsupported as exc:
            return str(exc)
    return None


# A ``${…}`` or ``#{…}`` inside a text, its quoted strings read whole (they may hold braces).
_EMBEDDED = re.compile(r"""[$#]\{((?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[^}"'])*)\}""")


def whole_body(text: str) -> str | None:
    """The JUEL inside a text that is one ``${…}`` (or ``#{…}``) and nothing else; None for
    plain text and for JUEL among other text. ``${product} with ${perk}`` starts with ``${`` and
    ends with ``}`` yet is EL's composite of two expressions: read as one, its body
    ``product} with ${perk`` ran nowhere and refused the task holding it, never said why."""
    found = _EMBEDDED.fullmatch(text.strip())
    return found.group(1) if found else None


def translate_composite(text: str) -> str | None:
    r"""A text with ``${…}`` inside it (``Quote refused: ${comment}``), which EL evaluates as a
    composite expression, each part coerced to a string (null as ""), as the Python that
    builds that string; ``None`` for a text without one or with a part outside the subset
    that runs. ``\${a}`` (and ``\#{a}``) is EL's escape, the text ``${a}``: it was read as a
    backslash followed by ``a``'s value."""
    parts: list[str] = []
    literal = ""
    end = 0
    for found in _EMBEDDED.finditer(text):
        start = found.start()
        if text[start - 1 : start] == "\\":  # EL's escape: ``\${a}`` is the text ``${a}``
            literal += text[end : start - 1] + found.group(0)
            end = found.end()
            continue
        literal += text[end:start]
        if literal:
            parts.append(repr(literal))
            literal = ""
        try:
            parts.append(f"_el_text({_expression(found.group(1), False)})")
        except Unsupported:
            return None
        end = found.end()
    if end == 0:
        return None
    if "${" in text[end:] or "#{" in text[end:]:
        return None
    literal += text[end:]
    if literal:
        parts.append(repr(literal))
    return " + ".join(parts)


def condition_body(element: Any) -> str | None:
    """The JUEL inside a condition, timer or cardinality element that runs as JUEL, or None
    (Python, FEEL, a language named otherwise, another element)."""
    local = etree.QName(element).localname
    if local not in (CONDITION_TAGS.keys() | VALUE_TAGS.keys()):
        return None
    if etree.QName(element).namespace != BPMN_NS:
        return None
    if (element.get("language") or "").strip().lower() not in JUEL_LANGUAGES:
        return None
    found = _WHOLE.match(element.text or "")
    return found.group(1) if found else None


def translation_problem(element: Any) -> str | None:
    """Why a JUEL condition element does not run (the parser's words), or None when it does."""
    body = condition_body(element)
    if body is None:
        return None
    try:
        _translate(etree.QName(element).localname, body)
    except Unsupported as exc:
        return str(exc)
    return None


def _translate(local: str, body: str) -> str:
    if local in VALUE_TAGS:
        return translate_value(body, VALUE_TAGS[local])
    return translate_condition(body, counters=CONDITION_TAGS[local])


def translate_tree(tree: Any) -> None:
    """Every JUEL condition, timer and cardinality of a BPMN file that runs, written as its
    Python before the parser builds the file; one that does not is left as written
    (``engine.foreign`` refuses it)."""
    for local in (*CONDITION_TAGS, *VALUE_TAGS):
        for element in tree.iter(f"{{{BPMN_NS}}}{local}"):
            body = condition_body(element)
            if body is None:
                continue
            try:
                element.text = _translate(local, body)
            except Unsupported:
                continue
            element.attrib.pop("language", None)
