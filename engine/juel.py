"""A JUEL expression (``${…}``, as Camunda 7, Activiti and Flowable write conditions) in the
Python Dialflow evaluates, for the deploy's hint.

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
import re

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
    except SyntaxError:
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
