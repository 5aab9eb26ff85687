"""Camunda 8's FEEL where Dialflow evaluates Python: script tasks, flow conditions and timers.

Camunda 8 (Zeebe) writes a script task as ``<zeebe:script expression="=a + b"
resultVariable="total"/>``, a gateway's condition as ``=amount > 1000 and not(vip)``, a timer
as ``=date and time(callback_at)`` or ``=duration(follow_up)``. Each was refused with the
Python to write. ``adopt`` writes them as the Python they mean before the parser reads the
file (``engine.zeebe_hints.feel_to_python`` with FEEL's functions,
``engine.feel_functions``): the script task gets the ``<bpmn:script>`` that sets its result
variable, the condition and the timer their Python. A script, condition or timer that fails
when it runs is an incident on its element, as a Python one is.

The same translation (``python``, ``value_python``) runs FEEL everywhere else a Camunda 8
diagram writes it: input and output mappings of tasks, events and call activities, a
multi-instance completion condition, a message's correlation key, a user task's due date
and priority, an error or escalation code. A flow's condition is a boolean, as Zeebe takes
it: null or another value is a failure of the gateway (``_feel_condition``), not a flow left.

What does not become Python (a FEEL function with no helper, ``between`` over more than
names and numbers, a range ``1..3``, ``instance of``, a script without a result variable)
stays refused by ``engine.foreign`` and the mappings' checks, which say the part that does
not run (``untranslated``).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import feel_functions, zeebe_hints
from engine.bpmn_xml import BPMN_NS

_ZEEBE = f"{{{zeebe_hints.ZEEBE_NS}}}"
_BPMN = f"{{{BPMN_NS}}}"
_EXTENSIONS = f"{_BPMN}extensionElements"
TIMER_TAGS = ("timeDate", "timeDuration", "timeCycle")
_PYTHON_LANGUAGES = ("", "python", "python3")
_MODELER_NS = "http://camunda.org/schema/modeler/1.0"


# translated Python → the FEEL it came from, for incidents that quote the expression
_ORIGINALS: dict[str, str] = {}


def python(text: str | None) -> str | None:
    """The Python a FEEL expression ``text`` (with its leading ``=``) runs as, or None."""
    if not zeebe_hints.is_feel(text):
        return None
    found = zeebe_hints.feel_to_python((text or "").strip()[1:], runs=True)
    if found is not None:
        _ORIGINALS[found] = (text or "").strip()
    return found


def value_python(value: str | None) -> str | None:
    """A Camunda 8 ``source``/``correlationKey``/``dueDate``-like value as the Python that runs
    it: FEEL (``=…``) as ``python`` translates it, with FEEL's functions, null for a missing
    variable or field and decimal arithmetic; a literal as that text. ``None``: FEEL that does
    not become Python (``untranslated`` says which part)."""
    if value is None:
        return None
    if zeebe_hints.is_feel(value):
        return python(value)
    return repr(value)


def original(python: str) -> str | None:
    """The FEEL written in the diagram for a translated expression, or None."""
    return _ORIGINALS.get(python.strip())


def _script_of(task: Any) -> Any:
    """The one ``<zeebe:script>`` of a script task's extension elements, or None."""
    found = [
        script
        for extensions in task.findall(_EXTENSIONS)
        for script in extensions.findall(f"{_ZEEBE}script")
    ]
    return found[0] if len(found) == 1 else None


def script_python(task: Any) -> tuple[str, str] | None:
    """(result variable, Python of the expression) of a script task drawn with a
    ``<zeebe:script>`` that runs: it says only those two, the expression becomes Python, and
    the task has no script of its own or job worker beside it."""
    if etree.QName(task).localname != "scriptTask" or task.find(f"{_BPMN}script") is not None:
        return None
    script = _script_of(task)
    if script is None or set(script.attrib) != {"expression", "resultVariable"} or len(script):
        return None
    if any(True for _ in task.iter(f"{_ZEEBE}taskDefinition")):
        return None  # a job worker's script task: said as such by engine.foreign
    target = (script.get("resultVariable") or "").strip()
    found = python(script.get("expression"))
    if not target.isidentifier() or found is None:
        return None
    return target, found


def adopted(element: Any) -> bool:
    """True for a ``<zeebe:script>`` ``adopt`` runs."""
    if element.tag != f"{_ZEEBE}script":
        return False
    extensions = element.getparent()
    task = extensions.getparent() if extensions is not None else None
    return task is not None and script_python(task) is not None


def expression_runs(element: Any) -> bool:
    """True for a sequence flow's condition or a timer written in FEEL that ``adopt`` runs."""
    return _expression_python(element) is not None


def _expression_python(element: Any) -> str | None:
    local = etree.QName(element).localname
    if etree.QName(element).namespace != BPMN_NS:
        return None
    if local == "conditionExpression":
        owner = element.getparent()
        if owner is None or etree.QName(owner).localname != "sequenceFlow":
            return None
    elif local not in TIMER_TAGS:
        return None
    if (element.get("language") or "").strip().lower() not in _PYTHON_LANGUAGES:
        return None
    if _camunda_7(element):
        return None  # Camunda 7 reads no FEEL there: a mistake, said by engine.foreign
    return python(element.text)


def _camunda_7(element: Any) -> bool:
    """Whether ``element``'s file is marked for Camunda 7 (``executionPlatform="Camunda
    Platform"``), whose engine evaluates JUEL, never FEEL, in conditions and timers."""
    root = element.getroottree().getroot()
    return root.get(f"{{{_MODELER_NS}}}executionPlatform", "").strip() == "Camunda Platform"


def adopt(tree: Any) -> None:
    """Write each FEEL script task, flow condition and timer that runs as its Python."""
    for task in tree.iter(f"{_BPMN}scriptTask"):
        found = script_python(task)
        if found is None:
            continue
        target, expression = found
        written = _script_of(task).get("expression").strip()
        script = etree.SubElement(task, f"{_BPMN}script")  # last, as BPMN orders it
        script.text = f"{target} = _feel_evaluate({written!r}, lambda: {expression})"
    for local in ("conditionExpression", *TIMER_TAGS):
        for element in tree.iter(f"{_BPMN}{local}"):
            found = _expression_python(element)
            if found is None:
                continue
            if local == "conditionExpression":  # null or no boolean: an incident, as Zeebe
                written = (element.text or "").strip()
                found = f"_feel_condition({written!r}, lambda: {found})"
                _ORIGINALS[found] = written
            element.text = found
            element.attrib.pop("language", None)


# What FEEL writes that has no Python here, and how to name it.
_KEYWORDS = {
    "between": "FEEL's 'between … and …' over more than names and numbers",
    "instance of": "FEEL's 'instance of'",
    "satisfies": "a 'some/every … satisfies' quantifier",
    "return": "a 'for … in … return' loop",
}
_CALL = re.compile(r"((?:[A-Za-z_]\w*\s+)*?[A-Za-z_]\w*)\s*\(")
_OPERATORS = {"and", "or", "not", "then", "else", "if", "in", "return", "satisfies"}
_FILTER = re.compile(r"\[[^\[\]]*(?:[<>]|[^<>!=]=|\bitem\b)[^\[\]]*\]")


def untranslated(text: str | None) -> str:
    """The part of the FEEL ``text`` (with its ``=``) that keeps it from running, in words."""
    body = (text or "").strip()[1:]
    blank = zeebe_hints._STRING.sub('""', body)
    ranged = re.search(r"[\w)\]]\s*\.\.\s*[\w(\[-]", blank)
    if ranged:
        return f"FEEL's range {ranged.group(0)!r}, which Dialflow does not iterate"
    for keyword, said in _KEYWORDS.items():
        if re.search(rf"\b{keyword}\b", blank):
            return said
    known = set(feel_functions.NAMES) | {"count", "string", "abs", "sum", "min", "max", "not"}
    known.add("is defined")
    for found in _CALL.finditer(blank):
        words = found.group(1).split()
        while words and words[0] in _OPERATORS:
            words.pop(0)
        name = " ".join(words)
        if name and name not in known and words[-1] not in _OPERATORS:
            return f"FEEL's function {name}(), which Dialflow does not run"
    filtered = _FILTER.search(blank)
    if filtered:
        return f"the filter {filtered.group(0)}, which Dialflow does not run"
    return "an expression Dialflow cannot read as Python"


def script_hint(element: Any) -> str | None:
    """For a ``<zeebe:script>`` that does not run: which part, and what to write."""
    if element.tag != f"{_ZEEBE}script":
        return None
    extensions = element.getparent()
    task = extensions.getparent() if extensions is not None else None
    if task is None or etree.QName(task).localname != "scriptTask":
        return None
    expression = element.get("expression")
    target = (element.get("resultVariable") or "").strip()
    if task.find(f"{_BPMN}script") is not None:
        return "the task has a <bpmn:script> too: keep one of them"
    if not zeebe_hints.is_feel(expression):
        return (
            f"its expression {expression!r} is no FEEL expression: write it with a leading "
            "'=' (=a + b)"
        )
    if not target.isidentifier():
        return (
            "name the variable the expression's value is set in with resultVariable "
            "(one name, such as total)"
        )
    others = sorted(set(element.attrib) - {"expression", "resultVariable"})
    if others:
        return (
            "a script task's <zeebe:script> has an expression and a resultVariable only "
            f"(not {', '.join(others)})"
        )
    if python(expression) is None:
        return (
            f"its expression {expression!r} holds {untranslated(expression)}: write the "
            f"Python the task runs in its <script>, setting {target}"
        )
    return None
