"""Activiti 7 service tasks whose ``implementation`` names a Dialflow operator, run as drawn.

Activiti 7's modeler writes a service task as ``<serviceTask implementation="crm.add_note"/>``
and nothing else: the ``implementation`` is the connector that does the work (a Cloud
Connector's destination), and without a mapping in the project's extensions file every
process variable is handed to it and every variable it answers is set back in the process.
Dialflow is its own connector: when the name is an operator's of the handler registry,
``adopt`` (a pass of ``validation.parse_bundle``) writes the task as a
``<spiffworkflow:serviceTaskOperator>`` of that operator whose parameters are read from the
variables of their names (an optional one only when the data has it, as a worker reads what
it finds: ``engine.zeebe_jobs.listener_parameters``) and whose result is set in the data as a
connector's variables (``engine.job_variables``: a dict's keys, anything else the one
variable ``result``). It was refused as a service task without an operator, the message
naming ``implementation`` as something Dialflow does not run.

A dotted name no operator has (``crm.add_nte``, a Java class) is written the same way, so the
deploy's checks say the operator is unknown, with the operators there are. The project's
extensions file (``<process id>-extensions.json``, deployed beside as a JSON file) is not
read: a mapping it gives such a task's inputs or outputs, or a constant it hands the task,
is refused on the task (``mapping_problems``), where it was kept and silently not run (the
operator read other variables than the mapping named); in the file as Activiti 7.0 wrote it
(``extensions.mappings``) or keyed by process as 7.1 and later write it
(``extensions.<process>.mappings``). BPMN's own values
(``##WebService``, ``##unspecified``), URIs, and a task that says more (a Java delegate, an
external topic, a Zeebe task definition, an operator of its own) are left to what reads them.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem, extension_elements, readable_trees
from engine.job_variables import JOB_VARIABLES
from engine.zeebe_jobs import listener_parameters

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SPIFF = f"{{{SPIFF_NS}}}"
_SERVICE = f"{{{BPMN_NS}}}serviceTask"
_OPERATOR = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def connector(task: Any) -> str | None:
    """The operator a service task's ``implementation`` names, when that is all it says."""
    if task.tag != _SERVICE:
        return None
    name = (task.get("implementation") or "").strip()
    if not _OPERATOR.match(name):
        return None
    if any(etree.QName(attribute).namespace for attribute in task.attrib):
        return None  # a Java delegate, an external topic …: said by what reads them
    extensions = task.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is not None and any(isinstance(child.tag, str) for child in extensions):
        return None  # an operator of its own, a task definition, fields …
    return name


def adopt(tree: Any) -> None:
    """Write each service task whose ``implementation`` names an operator as that operator's
    service task (see the module)."""
    for task in list(tree.iter(_SERVICE)):
        operator = connector(task)
        if operator is None:
            continue
        called = etree.SubElement(
            extension_elements(task),
            f"{_SPIFF}serviceTaskOperator",
            id=operator,
            resultVariable=JOB_VARIABLES,
        )
        listed = etree.SubElement(called, f"{_SPIFF}parameters")
        for name, python in listener_parameters(operator, task):
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)


def mapping_problems(bpmn: dict[str, str], forms: dict[str, Any]) -> list[dict[str, Any]]:
    """A connector task whose inputs or outputs an Activiti 7 extensions file of the deploy
    maps, or to which it hands constants: one problem on the task, naming the file, since
    Dialflow does not read it."""
    mapped: dict[str, tuple[str, str]] = {}  # task id → the file mapping it, and what it maps
    for form_name, content in forms.items():
        for extension in _extensions(content):
            mappings = extension.get("mappings")
            for task_id, mapping in mappings.items() if isinstance(mappings, dict) else ():
                if isinstance(mapping, dict) and (mapping.get("inputs") or mapping.get("outputs")):
                    mapped.setdefault(str(task_id), (form_name, "inputs or outputs"))
            constants = extension.get("constants")  # values handed to the connector too
            for task_id, given in constants.items() if isinstance(constants, dict) else ():
                if given:
                    mapped.setdefault(str(task_id), (form_name, "inputs (its constants)"))
    found = []
    for name, tree in readable_trees(bpmn):
        for task in tree.iter(_SERVICE):
            operator = connector(task)
            if operator is None or task.get("id") not in mapped:
                continue
            said = ", ".join(n for n, _ in listener_parameters(operator, task)) or "none"
            file, what = mapped[task.get("id")]
            found.append(
                element_problem(
                    name,
                    task,
                    f"{file} maps the {what} of this Activiti 7 "
                    f"connector ({operator}), which Dialflow does not read: the operator gets "
                    f"the variables of its parameters' names ({said}) and sets what it "
                    "answers; write the mapping as its <spiffworkflow:serviceTaskOperator "
                    f'id="{operator}"> parameters in the task instead, or leave it out of the '
                    "extensions file",
                )
            )
    return found


def _extensions(content: Any) -> list[dict[str, Any]]:
    """The extensions an Activiti 7 extensions file gives: ``{"extensions": {"mappings": …}}``
    as Activiti 7.0 wrote it, or keyed by the process they belong to, as 7.1 and later write
    them (``{"extensions": {"Process_1": {"mappings": …, "constants": …}}}``)."""
    extensions = content.get("extensions") if isinstance(content, dict) else None
    if not isinstance(extensions, dict):
        return []
    if any(key in extensions for key in ("mappings", "constants", "properties")):
        return [extensions]
    return [value for value in extensions.values() if isinstance(value, dict)]
