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
the bundle's forms) is read as Activiti 7's ``ExtensionsVariablesMappingProvider`` reads it,
keyed by process as 7.1 and later write it (``extensions.<process>.mappings``), or as 7.0 wrote
it (``extensions.mappings``, for the process of the file's ``id`` only): a mapped task's
``inputs`` (``{"text": {"type": "variable", "value": "reason"}}``, or ``"type": "value"`` for
a literal; the type read ignoring case) and its ``constants`` (over the inputs) are the
operator's only parameters (an optional one not given, or a variable not set, keeps its
default), its ``outputs`` (``{"note": {"type": "variable", "value": "note_id"}}``) the only
variables set from what it answers (a post-script; a variable the connector did not answer is
not set; none when it maps none). A ``mappingType`` of ``MAP_ALL_INPUTS`` hands the task every
variable over its constants, ``MAP_ALL_OUTPUTS`` sets all it answers, ``MAP_ALL`` both. A task
the file only hands constants gets those constants alone and sets nothing (Activiti 7.1 and
later, since 7.1.0-M10); in a file as 7.0 wrote it, every variable with the constants over
them, and it sets all it answers. It was refused on the task, and before that kept and
silently not run (the operator read other variables than the mapping named).
``task_mappings`` reads the files for ``validation.parse_bundle``, at deploy and whenever a
bundle is parsed again; what cannot run so (a ``mappingType`` that is none of the three, an
input the operator has no parameter for, a required parameter left out, a variable that is no
name, a value with a ``${…}`` Activiti would resolve, a mapping filed under a process the
deploy does not have) stays refused on the task
(``mapping_problems``). BPMN's own values
(``##WebService``, ``##unspecified``), URIs, and a task that says more (a Java delegate, an
external topic, a Zeebe task definition, an operator of its own) are left to what reads them.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, element_problem, extension_elements, readable_trees
from engine.job_variables import JOB_VARIABLES
from engine.zeebe_jobs import _DATA, listener_parameters, registry
from engine.zeebe_tasks import JOB_RESULT

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


# (process id, task id) → (file, mapping). The process is the key a file of Activiti 7.1 and
# later files the extensions under, or the ``id`` of a file as Activiti 7.0 wrote it (its
# ``ProcessExtensionService`` read a file's extensions for the process of that id only).
TaskMappings = dict[tuple[str | None, str], tuple[str, dict[str, Any]]]
# Marks set in a task's mapping: ``_MAPPED`` when the file maps the task (not only hands it
# constants), ``_KEYED`` when the file keys its extensions by process (Activiti 7.1 and later).
_MAPPED = "_mapped"
_KEYED = "_keyed"
_OWN = {"inputs", "outputs", "constants", "mappingType", _MAPPED, _KEYED}
# Activiti's ``ProcessVariablesMapping.MappingType`` (read ignoring case): (all inputs, all
# outputs). Any other value is no value of the enum: Activiti cannot read the file.
_MAPPING_TYPES = {
    "MAP_ALL": (True, True),
    "MAP_ALL_INPUTS": (True, False),
    "MAP_ALL_OUTPUTS": (False, True),
}
_PLACEHOLDER = re.compile(r"[$#]\{")


def task_mappings(forms: Mapping[str, Any] | None) -> TaskMappings:
    """What the deploy's extensions files map per connector task: its ``inputs``,
    ``outputs``, ``mappingType`` and ``constants`` (see the module)."""
    found: TaskMappings = {}
    for form_name, content in (forms or {}).items():
        for process, extension, keyed in _extensions(content):
            mappings = extension.get("mappings")
            for task_id, mapping in mappings.items() if isinstance(mappings, dict) else ():
                entry = found.setdefault((process, str(task_id)), (form_name, {}))[1]
                entry.update({_MAPPED: True, _KEYED: keyed})
                if isinstance(mapping, dict):
                    entry.update({k: v for k, v in mapping.items() if k != "constants"})
                else:
                    entry["unreadable"] = mapping
            constants = extension.get("constants")
            for task_id, given in constants.items() if isinstance(constants, dict) else ():
                if given:
                    entry = found.setdefault((process, str(task_id)), (form_name, {}))[1]
                    entry.update({"constants": given, _KEYED: keyed})
    return found


def _process_of(task: Any) -> str | None:
    process = task
    while process is not None and etree.QName(process).localname != "process":
        process = process.getparent()
    return process.get("id") if process is not None else None


def _mapping_of(task: Any, mapped: TaskMappings) -> tuple[str, dict[str, Any]] | None:
    return mapped.get((_process_of(task), task.get("id") or ""))


def adopt(tree: Any, mapped: TaskMappings | None = None) -> None:
    """Write each service task whose ``implementation`` names an operator as that operator's
    service task (see the module), with what ``mapped`` (``task_mappings``) maps of it."""
    for task in list(tree.iter(_SERVICE)):
        operator = connector(task)
        if operator is None:
            continue
        found = _mapping_of(task, mapped or {})
        mapping = found[1] if found and not _unrunnable(operator, found[1]) else {}
        sets_all = _sets_all(mapping)
        extensions = extension_elements(task)
        called = etree.SubElement(
            extensions,
            f"{_SPIFF}serviceTaskOperator",
            id=operator,
            resultVariable=JOB_VARIABLES if sets_all else JOB_RESULT,
        )
        listed = etree.SubElement(called, f"{_SPIFF}parameters")
        for name, python in _parameters(operator, task, mapping):
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)
        if not sets_all:  # only the outputs mapped are set: none, when it maps none
            script = etree.SubElement(extensions, f"{_SPIFF}postScript")
            script.text = _outputs_script(mapping)


def _all(mapping: dict[str, Any]) -> tuple[bool, bool]:
    """Whether a mapped task's ``mappingType`` hands it every variable, and sets all it
    answers."""
    kind = mapping.get("mappingType")
    return _MAPPING_TYPES.get(str(kind).upper(), (False, False)) if kind else (False, False)


def _sets_all(mapping: dict[str, Any]) -> bool:
    """Whether the task sets every variable the connector answers: a task the file does not
    name, a mapping of type ``MAP_ALL``/``MAP_ALL_OUTPUTS``, or a task a file as Activiti 7.0
    wrote it only hands constants (Activiti 7.1 and later set nothing of such a task)."""
    if not mapping:
        return True
    if mapping.get(_MAPPED):
        return _all(mapping)[1]
    return not mapping.get(_KEYED)


def _only_given(mapping: dict[str, Any]) -> bool:
    """Whether the connector gets only what the file gives it (its inputs and constants):
    a mapped task not of type ``MAP_ALL``/``MAP_ALL_INPUTS``, or one a file of Activiti 7.1
    and later only hands constants (Activiti 7.0 handed it every variable too)."""
    if mapping.get(_MAPPED):
        return not _all(mapping)[0]
    return bool(mapping.get(_KEYED))


def _given(mapping: dict[str, Any]) -> dict[str, Any]:
    """What a mapping gives the connector by name: its ``inputs`` (not read when it maps all
    inputs), then its ``constants`` over them."""
    given = dict(mapping.get("inputs") or {}) if _only_given(mapping) else {}
    for name, constant in (mapping.get("constants") or {}).items():
        given[name] = {"type": "value", "value": (constant or {}).get("value")}
    return given


def _kind(entry: dict[str, Any]) -> str:
    """A mapping's ``type``, read ignoring case as Activiti reads it."""
    return str(entry.get("type") or "").lower()


def _python(entry: dict[str, Any]) -> str:
    """The Python of one mapped value: a variable's name, or a literal's text."""
    if _kind(entry) == "variable":
        return str(entry["value"])
    return repr(entry.get("value"))


def _parameters(operator: str, task: Any, mapping: dict[str, Any]) -> list[tuple[str, str]]:
    """The operator's parameters (name, Python) as the mapping hands them (see the module)."""
    handler = registry().get(operator)
    by_name = listener_parameters(operator, task)
    constants = {
        str(name): repr((constant or {}).get("value"))
        for name, constant in (mapping.get("constants") or {}).items()
    }
    if handler is None or not mapping:
        return by_name
    if not _only_given(mapping):
        if mapping.get(_MAPPED):  # MAP_ALL: Activiti puts the variables over the constants
            return [
                (name, f"{_DATA}.get({name!r}, {constants[name]})" if name in constants else p)
                for name, p in by_name
            ]
        return [(name, constants.get(name, p)) for name, p in by_name]  # the constants over
    given = _given(mapping)
    found = []
    for parameter in handler.parameters.values():
        entry = given.get(parameter.name)
        if entry is None:
            continue  # an optional one (a required one left out is refused): its default
        python = _python(entry)
        if _kind(entry) == "variable" and not parameter.required:
            python = f"{_DATA}.get({python!r})"  # a variable not set: left out, as Activiti
        found.append((parameter.name, python))
    return found


def _outputs_script(mapping: dict[str, Any]) -> str:
    """The post-script setting what the mapping's ``outputs`` map: a ``variable`` one from
    the connector's answer only, and only when the answer holds it (Activiti sets nothing
    for a variable its connector did not answer), a ``value`` one as written."""
    lines = [
        f"_job = {JOB_RESULT} if isinstance({JOB_RESULT}, dict) else {{'result': {JOB_RESULT}}}"
    ]
    for target, entry in (mapping.get("outputs") or {}).items():
        if _kind(entry) == "variable":
            source = str(entry.get("value"))
            lines += [f"if _job.get({source!r}) is not None:", f"    {target} = _job[{source!r}]"]
        else:
            lines.append(f"{target} = {entry.get('value')!r}")
    lines.append(f"del _job, {JOB_RESULT}")
    return "\n".join(lines)


def _unrunnable(operator: str, mapping: dict[str, Any]) -> str | None:
    """Why a task's mapping cannot run as Activiti runs it, or None."""
    if "unreadable" in mapping:
        return f"its mapping is {json.dumps(mapping['unreadable'])}, no object"
    other = sorted(set(mapping) - _OWN)
    if other:
        return f"it says {', '.join(other)}, which Dialflow does not read"
    kind = mapping.get("mappingType")
    if kind is not None and str(kind).upper() not in _MAPPING_TYPES:
        return (
            f"its mappingType {kind!r} is none of Activiti's ({', '.join(_MAPPING_TYPES)}), "
            "so Activiti cannot read the file"
        )
    sides = {"inputs": mapping.get("inputs"), "outputs": mapping.get("outputs")}
    for side, entries in sides.items():
        if entries is not None and not isinstance(entries, dict):
            return f"its {side} are no object"
        for name, entry in (entries or {}).items():
            said = f"its {side[:-1]} {name!r}"
            if not isinstance(entry, dict) or _kind(entry) not in ("variable", "value"):
                return f'{said} is not {{"type": "variable" or "value", "value"}}'
            if _kind(entry) == "variable" and not _name(entry.get("value")):
                return f"{said} names {entry.get('value')!r}, no variable"
            if _kind(entry) == "value" and _PLACEHOLDER.search(json.dumps(entry.get("value"))):
                return (
                    f"{said} is the value {json.dumps(entry.get('value'), ensure_ascii=False)}, "
                    "whose ${…} Activiti resolves as an expression and Dialflow would hand on "
                    'as text: map the variable itself ({"type": "variable"})'
                )
            if side == "outputs" and not _name(name):
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
    if missing and _only_given(mapping):
        if not mapping.get(_MAPPED):
            return (
                f"it only hands the connector constants, and Activiti 7.1 and later hand a "
                f"task the file does not map nothing else: {', '.join(missing)}, which "
                f"{operator} needs, would be missing; map the task's inputs too"
            )
        return (
            f"it does not map {', '.join(missing)}, which {operator} needs (Activiti hands a "
            "mapped connector only the inputs mapped and the constants): map it too"
        )
    return None


def _name(value: Any) -> bool:
    """Whether ``value`` can be a variable's name in a script (``class``, ``None`` cannot)."""
    return str(value).isidentifier() and not keyword.iskeyword(str(value))


def mapping_problems(bpmn: dict[str, str], forms: dict[str, Any]) -> list[dict[str, Any]]:
    """A connector task whose mapping in an Activiti 7 extensions file of the deploy cannot
    run as Activiti runs it (``_unrunnable``), or that a file maps under a process the deploy
    does not have (Activiti reads it for that process only, so the task ran unmapped): one
    problem on the task, naming the file."""
    mapped = task_mappings(forms)
    trees = list(readable_trees(bpmn))
    processes = {
        process.get("id") for _, tree in trees for process in tree.iter(f"{{{BPMN_NS}}}process")
    }
    found = []
    for name, tree in trees:
        for task in tree.iter(_SERVICE):
            operator = connector(task)
            if operator is None:
                continue
            mapping = _mapping_of(task, mapped)
            if mapping is None:
                why = _elsewhere(task, mapped, processes)
                if why is not None:
                    found.append(element_problem(name, task, why))
                continue
            why = _unrunnable(operator, mapping[1])
            if why is None:
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


def _elsewhere(task: Any, mapped: TaskMappings, processes: set[Any]) -> str | None:
    """Why a task a file maps under a process the deploy does not have is refused, or None."""
    task_id = task.get("id") or ""
    for (process, mapped_id), (file, mapping) in mapped.items():
        if mapped_id != task_id or process in processes:
            continue
        where = (
            f'under the process {process!r}, its key in "extensions"'
            if mapping.get(_KEYED)
            else f'under its "id" {process!r}'
            if process
            else 'without an "id"'
        )
        fix = (
            f"key the extensions by {_process_of(task)!r}"
            if mapping.get(_KEYED)
            else f'give the file "id": "{_process_of(task)}"'
        )
        return (
            f"{file} maps a task of this id {where}, but this task's process is "
            f"{_process_of(task)!r}: Activiti reads a file's mappings for the process they are "
            f"filed under only, so the connector would run unmapped; {fix}"
        )
    return None


def _extensions(content: Any) -> list[tuple[str | None, dict[str, Any], bool]]:
    """The extensions an Activiti 7 extensions file gives, each with the process it belongs
    to and whether the file keys them by process: ``{"id": "Process_1", "extensions":
    {"mappings": …}}`` as Activiti 7.0 wrote it (for the process of the file's ``id``), or
    keyed by the process, as 7.1 and later write them (``{"extensions": {"Process_1":
    {"mappings": …, "constants": …}}}``)."""
    extensions = content.get("extensions") if isinstance(content, dict) else None
    if not isinstance(extensions, dict):
        return []
    if any(key in extensions for key in ("mappings", "constants", "properties")):
        named = content.get("id")
        return [(named if isinstance(named, str) else None, extensions, False)]
    return [(str(key), value, True) for key, value in extensions.items() if isinstance(value, dict)]
