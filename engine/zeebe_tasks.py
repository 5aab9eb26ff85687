"""Camunda 8 (Zeebe) call activities and job workers that say what Dialflow does, run as drawn.

A plain Camunda 8 export names a call activity's process only in ``<zeebe:calledElement
processId="x"/>`` (no ``calledElement`` attribute), and a service task's work only in
``<zeebe:taskDefinition type="…"/>`` with its ``<zeebe:ioMapping>`` inputs. When the
``processId`` is a plain id and the called process's data all comes back, the call activity
calls ``x`` as ``calledElement="x"`` would; when the task definition names only a ``type`` and
every input is a FEEL expression with a Python equivalent (``zeebe_hints``), the task runs the
operator ``type`` with those inputs as its parameters, as a
``<spiffworkflow:serviceTaskOperator>`` would. ``adopt`` writes that into the parsed tree, so
the parser, the deploy checks (``engine.checks``: an unknown operator, a missing or unknown
parameter, a literal of the wrong type) and the run treat them as Dialflow's own. Output
mappings are not adopted: they read the job's variables, which an operator does not return
(``zeebe_hints`` says what to write instead); nothing of such a task is adopted.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine import zeebe_hints
from engine.bpmn_xml import BPMN_NS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_ZEEBE = f"{{{zeebe_hints.ZEEBE_NS}}}"
_SPIFF = f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"


def _zeebe(node: Any, local: str) -> list[Any]:
    """The ``<zeebe:local>`` elements of ``node``'s own extensionElements."""
    return [
        found
        for extensions in node.findall(_EXTENSIONS)
        for found in extensions.findall(f"{_ZEEBE}{local}")
    ]


def called_process(call: Any) -> str | None:
    """The process ``call`` calls: its ``calledElement``, or the ``processId`` of a
    ``zeebe:calledElement`` that says what Dialflow does (``zeebe_hints.as_dialflow``)."""
    named = (call.get("calledElement") or "").strip()
    if named or etree.QName(call).localname != "callActivity":
        return named or None
    zeebe = _zeebe(call, "calledElement")
    if len(zeebe) == 1 and zeebe_hints.as_dialflow(zeebe[0]):
        return zeebe[0].get("processId").strip()
    return None


def service_operator(task: Any) -> tuple[str, list[tuple[str, str]]] | None:
    """The operator and its parameters (name, Python expression) a Zeebe service task's
    ``taskDefinition`` and input mappings say, or ``None`` when they say more than that."""
    operator = _operator(task)
    mappings = _zeebe(task, "ioMapping")
    if operator is None or len(mappings) > 1:
        return None
    parameters: list[tuple[str, str]] = []
    for mapping in mappings:
        if mapping.attrib:
            return None
        for entry in mapping:
            if not isinstance(entry.tag, str) or entry.tag != f"{_ZEEBE}input" or len(entry):
                return None  # an output, or something else
            target = (entry.get("target") or "").strip()
            python = zeebe_hints.python_of(entry.get("source"))
            if not target or python is None or set(entry.attrib) != {"source", "target"}:
                return None
            parameters.append((target, python))
    return operator, parameters


def _operator(task: Any) -> str | None:
    """The operator a service task's ``<zeebe:taskDefinition type>`` names, when that is all
    it says (no retries, headers, or FEEL type) and no operator of Dialflow's is also there."""
    if etree.QName(task).localname != "serviceTask":
        return None
    definitions = _zeebe(task, "taskDefinition")
    if len(definitions) != 1 or len(definitions[0]) > 0:
        return None
    operator = (definitions[0].get("type") or "").strip()
    if set(definitions[0].attrib) != {"type"} or not operator or zeebe_hints.is_feel(operator):
        return None
    if any(True for _ in task.iter(f"{_SPIFF}serviceTaskOperator")):
        return None  # said twice: the foreign check names the Zeebe one
    return operator


def adopted(element: Any) -> bool:
    """True for a ``zeebe:`` element that says what ``adopt`` runs: a task definition naming
    only its operator (its mapping, when that is not adopted, is refused on its own), or an
    input mapping ``adopt`` takes."""
    owner = element.getparent()
    owner = owner.getparent() if owner is not None and owner.tag == _EXTENSIONS else None
    local = etree.QName(element).localname
    if owner is None or local not in ("taskDefinition", "ioMapping"):
        return False
    if local == "taskDefinition":
        return _operator(owner) is not None
    return service_operator(owner) is not None


def adopt(tree: Any) -> None:
    """Give each call activity the ``calledElement`` and each service task the
    ``spiffworkflow:serviceTaskOperator`` its Zeebe settings say (see the module)."""
    for call in tree.iter(f"{{{BPMN_NS}}}callActivity"):
        process = called_process(call)
        if process and not call.get("calledElement"):
            call.set("calledElement", process)
    for task in tree.iter(f"{{{BPMN_NS}}}serviceTask"):
        found = service_operator(task)
        if found is None:
            continue
        operator, parameters = found
        extensions = task.find(_EXTENSIONS)
        said = etree.SubElement(extensions, f"{_SPIFF}serviceTaskOperator", id=operator)
        listed = etree.SubElement(said, f"{_SPIFF}parameters")
        for name, python in parameters:
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)


def mapping_hint(element: Any) -> str | None:
    """For a ``zeebe:ioMapping`` with outputs on a task whose ``taskDefinition`` names only its
    operator: the task as Dialflow's own, its result kept whole and read after it."""
    owner = element.getparent()
    owner = owner.getparent() if owner is not None and owner.tag == _EXTENSIONS else None
    if etree.QName(element).localname != "ioMapping" or owner is None:
        return None
    operator = _operator(owner)
    outputs = list(element.iter(f"{_ZEEBE}output"))
    if operator is None or not outputs:
        return None
    inputs = [
        f"{entry.get('target')} = {zeebe_hints.python_of(entry.get('source')) or '…'}"
        for entry in element.iter(f"{_ZEEBE}input")
    ]
    reads = []
    for entry in outputs:
        source = (entry.get("source") or "").strip().lstrip("=").strip()
        read = f"result[{source!r}]" if source.isidentifier() else "<read it from result>"
        reads.append(f"{entry.get('target')} = {read}")
    given = f" with the parameters {'; '.join(inputs)}" if inputs else ""
    return (
        "its outputs read a job's variables, and an operator returns one result, kept whole "
        "in a resultVariable: write the task as Dialflow's own, <spiffworkflow:"
        f"serviceTaskOperator id={operator!r} resultVariable='result'>{given}, and read the "
        f"result in a script task after it: {'; '.join(reads)}"
    )
