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
deploy's checks say the operator is unknown, with the operators there are. BPMN's own values
(``##WebService``, ``##unspecified``), URIs, and a task that says more (a Java delegate, an
external topic, a Zeebe task definition, an operator of its own) are left to what reads them.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, extension_elements
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
