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
extensions file (``<process id>-extensions.json``, deployed beside as a JSON file, kept with
the bundle's forms) is read as Activiti 7's ``VariablesMappingProvider`` reads it, in the file
as Activiti 7.0 wrote it (``extensions.mappings``) or keyed by process as 7.1 and later write
it (``extensions.<process>.mappings``): a mapped task's ``inputs`` (``{"text": {"type":
"variable", "value": "reason"}}``, or ``"type": "value"`` for a literal) and its ``constants``
are the operator's only parameters (an optional one not given keeps its default), its
``outputs`` (``{"note": {"type": "variable", "value": "note_id"}}``) the only variables set
from what it answers (a post-script, ``engine.zeebe_tasks.outputs_script``; none when it maps
none); a task the file only hands constants gets every variable, the constants over them, and
sets all it answers. It was refused on the task, and before that kept and silently not run (the
operator read other variables than the mapping named). ``task_mappings`` reads the files for
``validation.parse_bundle``, at deploy and whenever a bundle is parsed again; what cannot run
so (a ``mappingType``, an input the operator has no parameter for, a required parameter
the mapping leaves out, a variable that is no name) stays refused on the task
(``mapping_problems``). BPMN's own values
(``##WebService``, ``##unspecified``), URIs, and a task that says more (a Java delegate, an
external topic, a Zeebe task definition, an operator of its own) are left to what reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem, extension_elements, readable_trees
from engine.job_variables import JOB_VARIABLES
from engine.zeebe_jobs import _DATA, listener_parameters, registry
from engine.zeebe_tasks import JOB_RESULT, outputs_script

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


# (process id, or None for a file of Activiti 7.0 naming none; task id) → (file, mapping)
TaskMappings = dict[tuple[str | None, str], tuple[str, dict[str, Any]]]
# Set in a task's mapping when the file maps the task (not only hands it constants): Activiti
# then hands the connector only the inputs mapped and sets only the outputs mapped (none when
# a side is empty); a task it only hands constants gets every variable, the constants over them.
_MAPPED = "_mapped"


def task_mappings(forms: Mapping[str, Any] | None) -> TaskMappings:
    """What the deploy's extensions files map per connector task: its ``inputs``,
    ``outputs`` and ``constants`` (see the module)."""
    found: TaskMappings = {}
    for form_name, content in (forms or {}).items():
        for process, extension in _extensions(content):
            mappings = extension.get("mappings")
            for task_id, mapping in mappings.items() if isinstance(mappings, dict) else ():
                entry = found.setdefault((process, str(task_id)), (form_name, {}))[1]
                entry[_MAPPED] = True
                if isinstance(mapping, dict):
                    entry.update({k: v for k, v in mapping.items() if k != "constants"})
                else:
                    entry["unreadable"] = mapping
            constants = extension.get("constants")
            for task_id, given in constants.items() if isinstance(constants, dict) else ():
                if given:
                    entry = found.setdefault((process, str(task_id)), (form_name, {}))[1]
                    entry["constants"] = given
    return found


def _mapping_of(task: Any, mapped: TaskMappings) -> tuple[str, dict[str, Any]] | None:
    process = task
    while process is not None and etree.QName(process).localname != "process":
        process = process.getparent()
    process_id = process.get("id") if process is not None else None
    task_id = task.get("id") or ""
    return mapped.get((process_id, task_id)) or mapped.get((None, task_id))


def adopt(tree: Any, mapped: TaskMappings | None = None) -> None:
    """Write each service task whose ``implementation`` names an operator as that operator's
    service task (see the module), with what ``mapped`` (``task_mappings``) maps of it."""
    for task in list(tree.iter(_SERVICE)):
        operator = connector(task)
        if operator is None:
            continue
        found = _mapping_of(task, mapped or {})
        mapping = found[1] if found and not _unrunnable(operator, found[1]) else {}
        parameters = _mapped_parameters(operator, mapping)
        if parameters is None:
            constants = dict(_constant_parameters(mapping))
            parameters = [
                (name, constants.get(name, python))
                for name, python in listener_parameters(operator, task)
            ]
        extensions = extension_elements(task)
        called = etree.SubElement(
            extensions,
            f"{_SPIFF}serviceTaskOperator",
            id=operator,
            resultVariable=JOB_RESULT if mapping.get(_MAPPED) else JOB_VARIABLES,
        )
        listed = etree.SubElement(called, f"{_SPIFF}parameters")
        for name, python in parameters:
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)
        if mapping.get(_MAPPED):  # only the outputs mapped are set: none, when it maps none
            script = etree.SubElement(extensions, f"{_SPIFF}postScript")
            script.text = outputs_script(JOB_RESULT, _outputs(mapping))


def _given(mapping: dict[str, Any]) -> dict[str, Any]:
    """The inputs a mapping gives the connector: its ``inputs``, then its ``constants``."""
    given = dict(mapping.get("inputs") or {})
    for name, constant in (mapping.get("constants") or {}).items():
        given[name] = {"type": "value", "value": (constant or {}).get("value")}
    return given


def _constant_parameters(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    """(parameter, Python literal) per constant the file hands the task."""
    return [
        (str(name), repr((constant or {}).get("value")))
        for name, constant in (mapping.get("constants") or {}).items()
    ]


def _python(entry: dict[str, Any]) -> str:
    """The Python of one mapped value: a variable's name, or a literal's text."""
    if entry.get("type") == "variable":
        return str(entry["value"])
    return repr(entry.get("value"))


def _mapped_parameters(operator: str, mapping: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The operator's parameters as the mapping gives them; None when the file does not map
    the task (the connector then gets every variable, and the constants)."""
    given = _given(mapping)
    handler = registry().get(operator)
    if not mapping.get(_MAPPED) or handler is None:
        return None
    found = []
    for parameter in handler.parameters.values():
        entry = given.get(parameter.name)
        if entry is None:
            continue  # an optional one (a required one left out is refused): its default
        python = _python(entry)
        if entry.get("type") == "variable" and not parameter.required:
            python = f"{_DATA}.get({python!r})"  # a variable not set: as Activiti, null
        found.append((parameter.name, python))
    return found


def _outputs(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    """(process variable, Python over the connector's answer) per mapped output."""
    return [
        (str(target), _python(entry)) for target, entry in (mapping.get("outputs") or {}).items()
    ]


def _unrunnable(operator: str, mapping: dict[str, Any]) -> str | None:
    """Why a task's mapping cannot run as Activiti runs it, or None."""
    if "unreadable" in mapping:
        return f"its mapping is {json.dumps(mapping['unreadable'])}, no object"
    other = sorted(set(mapping) - {"inputs", "outputs", "constants", _MAPPED})
    if other:
        return f"it says {', '.join(other)}, which Dialflow does not read"
    sides = {"inputs": mapping.get("inputs"), "outputs": mapping.get("outputs")}
    for side, entries in sides.items():
        if entries is not None and not isinstance(entries, dict):
            return f"its {side} are no object"
        for name, entry in (entries or {}).items():
            if not isinstance(entry, dict) or entry.get("type") not in ("variable", "value"):
                return f'its {side[:-1]} {name!r} is not {{"type": "variable" or "value", "value"}}'
            if entry.get("type") == "variable" and not str(entry.get("value")).isidentifier():
                return f"its {side[:-1]} {name!r} names {entry.get('value')!r}, no variable"
            if side == "outputs" and not str(name).isidentifier():
                return f"its output {name!r} is no variable name"
    constants = mapping.get("constants") or {}
    if not isinstance(constants, dict) or not all(
        isinstance(c, dict) and "value" in c for c in constants.values()
    ):
        return 'its constants are not {"name": {"value": …}}'
    handler = registry().get(operator)
    given = _given(mapping)
    if handler is None:
        return None  # an unknown operator is said by the checks
    unknown = sorted(set(given) - set(handler.parameters))
    if unknown:
        have = ", ".join(handler.parameters) or "none"
        return f"it gives {', '.join(unknown)}, which {operator} has no parameter for ({have})"
    missing = [p.name for p in handler.parameters.values() if p.required and p.name not in given]
    if missing and mapping.get(_MAPPED):
        return (
            f"it does not map {', '.join(missing)}, which {operator} needs (Activiti hands a "
            "mapped connector only the inputs mapped and the constants): map it too"
        )
    return None


def mapping_problems(bpmn: dict[str, str], forms: dict[str, Any]) -> list[dict[str, Any]]:
    """A connector task whose mapping in an Activiti 7 extensions file of the deploy cannot
    run as Activiti runs it (``_unrunnable``): one problem on the task, naming the file."""
    mapped = task_mappings(forms)
    found = []
    for name, tree in readable_trees(bpmn):
        for task in tree.iter(_SERVICE):
            operator = connector(task)
            mapping = _mapping_of(task, mapped) if operator is not None else None
            why = _unrunnable(operator, mapping[1]) if operator and mapping else None
            if operator is None or mapping is None or why is None:
                continue
            found.append(
                element_problem(
                    name,
                    task,
                    f"{mapping[0]} maps this Activiti 7 connector ({operator}), but {why}: "
                    'map each input as {"type": "variable", "value": "<variable>"} or '
                    '{"type": "value", "value": …} keyed by the operator\'s parameter, each '
                    "output keyed by the variable to set, or write the task's "
                    f'<spiffworkflow:serviceTaskOperator id="{operator}"> parameters instead',
                )
            )
    return found


def _extensions(content: Any) -> list[tuple[str | None, dict[str, Any]]]:
    """The extensions an Activiti 7 extensions file gives, each with the process it belongs
    to: ``{"extensions": {"mappings": …}}`` as Activiti 7.0 wrote it (no process named), or
    keyed by the process, as 7.1 and later write them (``{"extensions": {"Process_1":
    {"mappings": …, "constants": …}}}``)."""
    extensions = content.get("extensions") if isinstance(content, dict) else None
    if not isinstance(extensions, dict):
        return []
    if any(key in extensions for key in ("mappings", "constants", "properties")):
        return [(None, extensions)]
    return [(str(key), value) for key, value in extensions.items() if isinstance(value, dict)]
