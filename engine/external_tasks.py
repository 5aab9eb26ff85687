"""Camunda 7 external service tasks whose topic is a Dialflow operator, run as drawn.

Camunda 7 leaves a service task marked ``camunda:type="external" camunda:topic="…"`` to a
worker that fetches tasks by topic, with the task's ``<camunda:inputParameter>``s as its
local variables; what the worker completes it with, and the task's
``<camunda:outputParameter>``s over it, go back to the process. Dialflow is its own worker:
when the topic names an operator of the handler registry (``crm.log_call``), ``adopt`` writes
the task as a ``<spiffworkflow:serviceTaskOperator>`` with the input parameters as the
operator's parameters (a JUEL value as its Python, ``engine.juel.to_python``, or with EL's
operators where Python has none, ``a ? b : c``; text with JUEL inside, ``Quote refused:
${comment}``, as the string EL's composite expression builds,
``engine.juel.translate_composite``; plain text as that text) and the output parameters as a
post-script over the operator's result (``zeebe_tasks.outputs_script``: a dict's keys are the
worker's variables, anything else the one variable ``result``), as a Camunda 8 job worker
naming an operator runs (``zeebe_tasks``). The deploy's checks then treat it as Dialflow's
own: an unknown operator or parameter is refused on the task with the operators there are.

What does not become that (a topic written as an expression, a ``camunda:list``, ``map`` or
``script`` parameter, JUEL with a Java method, an error event definition of the external task,
a task that also names an operator of its own) stays refused on the task (``foreign.py``).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import juel
from engine.bpmn_xml import BPMN_NS, extension_elements
from engine.zeebe_tasks import JOB_RESULT, outputs_script

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
    return local in _ATTRIBUTES and external_operator(element) is not None


def adopted(element: Any) -> bool:
    """True for the ``<camunda:inputOutput>`` of an external task ``adopt`` runs."""
    parent = element.getparent()
    task = parent.getparent() if parent is not None and parent.tag == _EXTENSIONS else None
    return (
        element.tag == f"{_CAMUNDA}inputOutput"
        and task is not None
        and external_operator(task) is not None
    )


def external_operator(
    task: Any,
) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]] | None:
    """The operator, its parameters (name, Python) and outputs (target, Python) of an external
    service task that says only those, else ``None`` (see the module)."""
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
            if element.tag != f"{_CAMUNDA}inputOutput":
                return None  # an error event definition, a field
            for parameter in element:
                if not isinstance(parameter.tag, str):
                    continue
                local = etree.QName(parameter).localname
                said = _parameter(parameter)
                if local not in found or said is None:
                    return None
                found[local].append(said)
    return topic, found["inputParameter"], found["outputParameter"]


def adopt(tree: Any) -> None:
    """Write each adoptable external task as the operator it names (see the module)."""
    for task in tree.iter(_SERVICE_TASK):
        said = external_operator(task)
        if said is None:
            continue
        operator, parameters, outputs = said
        extensions = extension_elements(task)
        called = etree.SubElement(extensions, f"{_SPIFF}serviceTaskOperator", id=operator)
        if outputs:
            called.set("resultVariable", JOB_RESULT)
            script = etree.SubElement(extensions, f"{_SPIFF}postScript")
            script.text = outputs_script(JOB_RESULT, outputs)
        listed = etree.SubElement(called, f"{_SPIFF}parameters")
        for name, python in parameters:
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)


def _parameter(parameter: Any) -> tuple[str, str] | None:
    """An input or output parameter's (name, Python of its value), when its value is text or
    JUEL that becomes Python."""
    name = (parameter.get("name") or "").strip()
    if not name.isidentifier() or len(parameter) or set(parameter.attrib) != {"name"}:
        return None
    text = (parameter.text or "").strip()
    body = _JUEL.match(text)
    if body is None and ("${" in text or "#{" in text):
        composite = juel.translate_composite(text)  # text around JUEL: EL's composite
        return (name, composite) if composite else None
    if body is None:
        return name, repr(text)
    if juel.engine_names(body.group(1)):
        return None
    # plain Python where it reads so, else EL's operators (``a ? b : c``, ``empty``)
    python = juel.to_python(body.group(1)) or juel.translate_expression(text)
    return (name, python) if python else None
