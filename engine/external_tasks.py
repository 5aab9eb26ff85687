"""Camunda 7 external service tasks whose topic is a Dialflow operator, run as drawn.

Camunda 7 leaves a service task marked ``camunda:type="external" camunda:topic="…"`` to a
worker that fetches tasks by topic, with the task's ``<camunda:inputParameter>``s as its
local variables; what the worker completes it with, and the task's
``<camunda:outputParameter>``s over it, go back to the process. Dialflow is its own worker:
when the topic names an operator of the handler registry (``crm.log_call``), ``adopt`` writes
the task as a ``<spiffworkflow:serviceTaskOperator>`` with the input parameters as the
operator's parameters (a JUEL value as the Python computing it with EL's operators and
coercions, ``engine.juel.value_python``: ``${amount}`` compared or added as EL does,
``a ? b : c``; text with JUEL inside, ``Quote refused:
${comment}``, as the string EL's composite expression builds,
``engine.juel.translate_composite``; plain text as that text) and the output parameters as a
post-script over the operator's result (``zeebe_tasks.outputs_script``: a dict's keys are the
worker's variables, anything else the one variable ``result``), as a Camunda 8 job worker
naming an operator runs (``zeebe_tasks``). The deploy's checks then treat it as Dialflow's
own: an unknown operator or parameter is refused on the task with the operators there are.
A ``<camunda:errorEventDefinition errorRef expression="${…}">`` (Camunda 7.12+) throws its
error when the worker is done and its expression holds over the worker's variables and the
process's: the post-script's first lines, ``fail(code, message)`` as a script's failure, which
the error's boundary event catches (``engine.caught_failures``); the operator's writes stay,
as the worker's work was done. Without an input/output mapping the worker's variables reach
the process as from the same task without error definitions (they were dropped:
``checks_keeping_result``).

A parameter whose value is a ``camunda:list``, ``map`` or Python ``script`` is the Python
building it (``io_mappings.value_python``, as a task's input/output mapping reads it): the
task with one was refused whole, four times, never saying the value was in the way.

What does not become that (a topic written as an expression, a JavaScript script or a
resource as a parameter's value, an error event definition naming no error of the file or whose
expression does not run, a task that also names
an operator of its own) stays refused on the task (``foreign.py``); a value whose JUEL does not
run (a Java method) is refused on its parameter's line, said as the one thing in the way
(``uncomputed``).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import juel
from engine.bpmn_xml import BPMN_NS, extension_elements
from engine.zeebe_tasks import JOB_RESULT, outputs_script, over_job

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_CAMUNDA = f"{{{CAMUNDA_NS}}}"
_SPIFF = f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_SERVICE_TASK = f"{{{BPMN_NS}}}serviceTask"
_ATTRIBUTES = {"type", "topic"}
_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)


def runs(local: str, element: Any) -> bool:
    """Whether the ``camunda:`` attribute ``local`` of ``element`` is part of an external task
    ``adopt`` runs."""
    return local in _ATTRIBUTES and external_operator(element, lenient=True) is not None


def adopted(element: Any) -> bool:
    """True for the ``<camunda:inputOutput>`` and error event definitions of an external task
    ``adopt`` runs."""
    parent = element.getparent()
    task = parent.getparent() if parent is not None and parent.tag == _EXTENSIONS else None
    if element.tag == f"{_CAMUNDA}errorEventDefinition" and error_thrown(element) is None:
        return False  # said with ``error_hint``
    return (
        element.tag in (f"{_CAMUNDA}inputOutput", f"{_CAMUNDA}errorEventDefinition")
        and task is not None
        and external_operator(task, lenient=True) is not None
    )


def external_operator(
    task: Any, *, lenient: bool = False
) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]] | None:
    """The operator, its parameters (name, Python) and outputs (target, Python) of an external
    service task that says only those, else ``None`` (see the module). ``lenient``: a JUEL
    value that does not run counts as its name (``uncomputed`` says it on its line)."""
    if task.tag != _SERVICE_TASK or (task.get(f"{_CAMUNDA}type") or "").strip() != "external":
        return None
    topic = (task.get(f"{_CAMUNDA}topic") or "").strip()
    if not topic or "{" in topic or " " in topic:
        return None
    if any(True for _ in task.iter(f"{_SPIFF}serviceTaskOperator")):
        return None
    found: dict[str, list[tuple[str, str]]] = {"inputParameter": [], "outputParameter": []}
    for extensions in task.findall(_EXTENSIONS):
        for element in extensions:
            if not isinstance(element.tag, str) or not element.tag.startswith(_CAMUNDA):
                continue
            if element.tag == f"{_CAMUNDA}errorEventDefinition" and (
                lenient or error_thrown(element)
            ):
                continue  # thrown by the post-script (``error_checks``), else ``error_hint``
            if element.tag != f"{_CAMUNDA}inputOutput":
                return None  # a field, an error event definition that does not run
            for parameter in element:
                if not isinstance(parameter.tag, str):
                    continue
                local = etree.QName(parameter).localname
                said = _parameter(parameter)
                if said is None and lenient and uncomputed_reason(parameter):
                    said = (parameter.get("name", "").strip(), parameter.get("name", "").strip())
                if local not in found or said is None:
                    return None
                found[local].append(said)
    return topic, found["inputParameter"], found["outputParameter"]


def error_thrown(definition: Any) -> tuple[str, str, str] | None:
    """A ``<camunda:errorEventDefinition errorRef expression>`` of an external task as the
    (code, message, Python condition) it throws the error by: Camunda 7 evaluates each when
    the worker completes the task, over the worker's variables and the process's, and throws
    the first whose expression holds. ``None`` when it names no ``<bpmn:error>`` of the file,
    or its expression is no JUEL that runs."""
    if len(definition) or set(definition.attrib) - {"id", "errorRef", "expression"}:
        return None
    ref = (definition.get("errorRef") or "").strip()
    body = _JUEL.match(definition.get("expression") or "")
    errors = definition.getroottree().getroot().iter(f"{{{BPMN_NS}}}error")
    error = next((e for e in errors if e.get("id") == ref), None)
    python = juel.value_python(body.group(1)) if body else None
    if error is None or python is None:
        return None
    code = (error.get("errorCode") or "").strip() or ref
    message = error.get(f"{_CAMUNDA}errorMessage") or error.get("name") or code
    return code, message, f"_el_condition({python})"


def error_hint(definition: Any) -> str | None:
    """Why an external task's error event definition does not run (``error_thrown``)."""
    if definition.tag != f"{_CAMUNDA}errorEventDefinition":
        return None
    if len(definition) or set(definition.attrib) - {"id", "errorRef", "expression"}:
        return "an error event definition has an errorRef and an expression only"
    ref = (definition.get("errorRef") or "").strip()
    errors = [e.get("id") for e in definition.getroottree().getroot().iter(f"{{{BPMN_NS}}}error")]
    if ref not in errors:
        there = f" (there is {', '.join(repr(e) for e in errors)})" if errors else ""
        return (
            f"errorRef={ref!r} names no <bpmn:error> of this file{there}: declare it with "
            "the errorCode its boundary event catches, or name the one meant"
        )
    expression = definition.get("expression") or ""
    body = _JUEL.match(expression)
    if body is None:
        return f"expression={expression!r}: write the condition as JUEL, ${{…}}"
    reason = juel.untranslated(expression.strip())
    return (
        f"expression={expression!r} does not run: {reason or 'write it in the JUEL Dialflow runs'}"
    )


def error_checks(task: Any) -> str:
    """The post-script lines that throw the first error whose expression holds, each read
    over the worker's variables (``_job``) and the instance's data."""
    lines = []
    for extensions in task.findall(_EXTENSIONS):
        for definition in extensions.findall(f"{_CAMUNDA}errorEventDefinition"):
            thrown = error_thrown(definition)
            if thrown is None:
                continue  # refused on its line (``error_hint``)
            code, message, python = thrown
            lines.append(f"if {over_job(python)}:\n    fail({code!r}, {message!r})")
    return "\n".join(lines)


def default_result(task: Any) -> str:
    """The variable SpiffWorkflow keeps a service task's result in when it names none."""
    return f"spiff__{task.get('id', '').replace('-', '_')}_result"


def checks_keeping_result(result: str, checks: str) -> str:
    """The post-script throwing ``checks`` over the worker's variables (``result``, a dict's
    keys, else the one variable ``result``), leaving ``result`` in the data as it was: what an
    external task without an input/output mapping hands the process (Camunda 7 sets what
    the worker completes it with on the execution)."""
    return "\n".join(
        [
            f"_job = {result} if isinstance({result}, dict) else {{'result': {result}}}",
            checks,
            "del _job",
        ]
    )


def uncomputed_reason(parameter: Any) -> str | None:
    """Why the JUEL of an input or output parameter, shaped as one ``adopt`` runs, cannot be
    computed (``.getOwner(…) calls a Java method``), or None."""
    name = (parameter.get("name") or "").strip()
    if not name.isidentifier() or set(parameter.attrib) != {"name"}:
        return None
    if _parameter(parameter) is not None:
        return None
    if len(parameter):  # a JavaScript script, a resource: what io_mappings says of it
        from engine.io_mappings import value_python

        refused = value_python(parameter)
        return None if refused is None or isinstance(refused, str) else refused.why
    text = (parameter.text or "").strip()
    body = juel.whole_body(text)
    names = juel.engine_names(body) if body is not None else []
    if names:
        return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} the Java engines' own"
    return juel.untranslated(text)


def uncomputed(parameter: Any) -> str | None:
    """What to say of an external task's parameter whose JUEL alone keeps the task from
    running as its operator, on the parameter's line; None for any other element. (Without
    it the task was refused on its ``camunda:type``, ``topic`` and ``inputOutput`` as if
    Dialflow ran no external task, none of them naming the value.)"""
    if not isinstance(parameter.tag, str) or etree.QName(parameter).localname not in (
        "inputParameter",
        "outputParameter",
    ):
        return None
    holder = parameter.getparent()
    extensions = holder.getparent() if holder is not None else None
    task = extensions.getparent() if extensions is not None else None
    if task is None or holder.tag != f"{_CAMUNDA}inputOutput":
        return None
    said = external_operator(task, lenient=True)
    reason = uncomputed_reason(parameter)
    if said is None or reason is None:
        return None
    name = parameter.get("name", "").strip()
    inner = next((c for c in parameter if isinstance(c.tag, str)), None)
    written = (parameter.text or "").strip() or (
        f"<{inner.prefix or 'camunda'}:{etree.QName(inner).localname}>" if inner is not None else ""
    )
    if etree.QName(parameter).localname == "outputParameter":
        instead = f"set {name} in a script task after the task, in Python"
    else:
        instead = (
            f"compute it in a script task before the task, in Python ({name} = …), "
            f"and write ${{{name}}} here"
        )
    return (
        f"{parameter.get('name')!r} = {written} of external task {task.get('id')!r}: Dialflow "
        f"runs the task as its operator {said[0]!r} but cannot compute this value ({reason}); "
        f"{instead}"
    )


def adopt(tree: Any) -> None:
    """Write each adoptable external task as the operator it names (see the module)."""
    for task in tree.iter(_SERVICE_TASK):
        said = external_operator(task, lenient=True)  # refused on a value it cannot compute
        if said is None:
            continue
        operator, parameters, outputs = said
        extensions = extension_elements(task)
        called = etree.SubElement(extensions, f"{_SPIFF}serviceTaskOperator", id=operator)
        throws = task.find(f"{_EXTENSIONS}/{_CAMUNDA}errorEventDefinition") is not None
        if outputs or task.find(f"{_EXTENSIONS}/{_CAMUNDA}inputOutput") is not None:
            # with an input/output mapping Camunda 7 keeps only what the outputs set: the
            # worker's variables stay local (kept as ``spiff__<task>_result`` without this)
            called.set("resultVariable", JOB_RESULT)
            script = etree.SubElement(extensions, f"{_SPIFF}postScript")
            script.text = outputs_script(JOB_RESULT, outputs, error_checks(task))
        elif throws:
            # without one the worker's variables reach the process, error definitions or not
            script = etree.SubElement(extensions, f"{_SPIFF}postScript")
            script.text = checks_keeping_result(default_result(task), error_checks(task))
        listed = etree.SubElement(called, f"{_SPIFF}parameters")
        for name, python in parameters:
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)


def _parameter(parameter: Any) -> tuple[str, str] | None:
    """An input or output parameter's (name, Python of its value), when its value is text or
    JUEL that becomes Python."""
    name = (parameter.get("name") or "").strip()
    if not name.isidentifier() or set(parameter.attrib) != {"name"}:
        return None
    if len(parameter):
        return _structured(name, parameter)
    text = (parameter.text or "").strip()
    body = juel.whole_body(text)
    if body is None and ("${" in text or "#{" in text):
        composite = juel.translate_composite(text)  # text around JUEL: EL's composite
        return (name, composite) if composite else None
    if body is None:
        return name, repr(text)
    if juel.engine_names(body):
        return None
    # EL's operators and coercions, as a JUEL condition runs (``'5' + 1`` is 6)
    python = juel.value_python(body)
    return (name, python) if python else None


def _structured(name: str, parameter: Any) -> tuple[str, str] | None:
    """A parameter whose value is a ``camunda:list``, ``map`` or Python ``script``, as the
    Python building it (``io_mappings`` reads those of a task's input/output mapping alike);
    a worker gets such values as any other. Anything else inside a parameter (a JavaScript
    script, a resource) is None: refused as before."""
    from engine.io_mappings import value_python  # it imports what imports this module

    python = value_python(parameter)
    return (name, python) if isinstance(python, str) else None
