"""Camunda 8 (Zeebe) call activities and job workers that say what Dialflow does, run as drawn.

A plain Camunda 8 export names a call activity's process only in ``<zeebe:calledElement
processId="x"/>`` (no ``calledElement`` attribute), and a service task's work only in
``<zeebe:taskDefinition type="…"/>`` with its ``<zeebe:ioMapping>`` inputs. When the
``processId`` is a plain id, the call activity calls ``x`` as ``calledElement="x"`` would
(what data goes in and comes back: ``engine.call_mappings``); when the task definition
names only a ``type`` and every input is a FEEL expression with a Python equivalent
(``zeebe_hints``), the task runs the operator ``type`` with those inputs as its parameters, as a
``<spiffworkflow:serviceTaskOperator>`` would. ``adopt`` writes that into the parsed tree, so
the parser, the deploy checks (``engine.checks``: an unknown operator, a missing or unknown
parameter, a literal of the wrong type) and the run treat them as Dialflow's own.

Output mappings run as Camunda 8 runs them on a job's variables: the operator's result is
the job's variables (a dict's keys; any other result is the one variable ``result``), each
``source`` is evaluated over them on top of the instance's data, its value set under its
``target``, and the job's variables themselves are not kept (Camunda 8 merges only the
outputs when a task has any). ``adopt`` writes that as the task's post-script
(``outputs_script``), so a source that fails is an incident on the task, whose retry reads
the outputs again without running the operator twice. A mapping that does not become Python
(a FEEL function with no Python here, no target, a target that is a field ``a.b``) leaves the
task unadopted, and ``mapping_hint`` says which mapping on which line.
"""

from __future__ import annotations

import ast
from typing import Any

from lxml import etree

from engine import zeebe_expressions, zeebe_hints
from engine.bpmn_xml import BPMN_NS
from engine.zeebe_jobs import job_retries

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_ZEEBE = f"{{{zeebe_hints.ZEEBE_NS}}}"
_SPIFF = f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
JOB_RESULT = "_zeebe_job_result"  # the operator's result, until the outputs are read from it


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
    found = service_mappings(task)
    return None if found is None else (found[0], found[1])


def service_mappings(
    task: Any,
) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]] | None:
    """The operator, its parameters and its outputs (target, Python of the source) a Zeebe
    service task says, or ``None`` when it says more than that or a mapping does not become
    Python (``mapping_hint`` says which)."""
    operator = _operator(task)
    mappings = _zeebe(task, "ioMapping")
    if operator is None or len(mappings) > 1:
        return None
    found: dict[str, list[tuple[str, str]]] = {"input": [], "output": []}
    for mapping in mappings:
        if mapping.attrib:
            return None
        for entry in mapping:
            side = _side(entry)
            if side is None or _mapped(entry) is None:
                return None
            found[side].append(_mapped(entry))  # type: ignore[arg-type]
    if found["output"] and any(True for _ in task.iter(f"{_SPIFF}postScript")):
        return None  # the outputs would be a post-script beside the task's own
    return operator, found["input"], found["output"]


def _side(entry: Any) -> str | None:
    if not isinstance(entry.tag, str) or len(entry):
        return None
    local = etree.QName(entry).localname
    return local if entry.tag == f"{_ZEEBE}{local}" and local in ("input", "output") else None


def _mapped(entry: Any) -> tuple[str, str] | None:
    """A mapping's (target, Python of its source), when its target names a variable and its
    source becomes Python."""
    target = (entry.get("target") or "").strip()
    python = zeebe_expressions.value_python(entry.get("source"))
    if not target.isidentifier() or python is None or set(entry.attrib) != {"source", "target"}:
        return None
    return target, python


def outputs_script(result: str, outputs: list[tuple[str, str]], before: str = "") -> str:
    """The post-script that does what Camunda 8 does with a job's outputs: each source
    evaluated over the job's variables (the operator's result: the keys of a dict, else the
    one variable ``result``) on top of the instance's data, its value set under the target;
    the job's variables themselves are not kept. Each name a source reads is looked up in the
    job's variables first (``over_job``): scripts have no ``eval`` or ``globals()``
    (``engine.sandbox``)."""
    lines = [f"_job = {result} if isinstance({result}, dict) else {{'result': {result}}}"]
    if before:  # what is checked over the job's variables first (a Camunda 7 error's throw)
        lines.append(before)
    for target, python in outputs:
        shown = zeebe_expressions.original(python) or python  # FEEL as the diagram has it
        said = f"the output {target!r} ({shown}) cannot be read: "
        try:
            value = over_job(python)
        except SyntaxError as exc:
            lines.append(f"raise ValueError({said + 'SyntaxError: ' + str(exc.msg)!r})")
            continue
        lines += [
            "try:",
            f"    {target} = {value}",
            "except Exception as _failure:",
            f"    raise ValueError({said!r} + type(_failure).__name__ + ': ' + str(_failure))",
        ]
    lines.append(f"del _job, {result}")
    return "\n".join(lines)


def over_job(python: str) -> str:
    """``python`` with each name it reads taken from ``_job`` when the job has it, else from
    the instance's data: ``(_job['x'] if 'x' in _job else x)``. Names a comprehension or
    lambda inside binds are its own."""
    tree = ast.parse(python.strip(), mode="eval")
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            own.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Lambda):
            own.update(arg.arg for arg in ast.walk(node.args) if isinstance(arg, ast.arg))

    class OverJob(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if not isinstance(node.ctx, ast.Load) or node.id in own:
                return node
            if node.id == "_feel_vars":  # FEEL's variables: the job's over the data's
                return ast.Dict([None, None], [node, ast.Name("_job", ast.Load())])
            if node.id.startswith(("_feel_", "_el_")):
                return node  # a helper, never the job's
            key = ast.Constant(node.id)
            job = ast.Name("_job", ast.Load())
            return ast.IfExp(
                test=ast.Compare(key, [ast.In()], [job]),
                body=ast.Subscript(job, key, ast.Load()),
                orelse=node,
            )

    return ast.unparse(OverJob().visit(tree))


def _operator(task: Any) -> str | None:
    """The operator a service task's ``<zeebe:taskDefinition type>`` names, when that is all
    it says (its retries at most, no headers or FEEL type) and no operator of Dialflow's is
    also there."""
    if etree.QName(task).localname != "serviceTask":
        return None
    definitions = _zeebe(task, "taskDefinition")
    if len(definitions) != 1 or len(definitions[0]) > 0:
        return None
    operator = (definitions[0].get("type") or "").strip()
    if set(definitions[0].attrib) - {"retries"} != {"type"} or not operator:
        return None
    if zeebe_hints.is_feel(operator):
        return None  # a retries that is no number is said by zeebe_jobs.retries_problems
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
    ``spiffworkflow:serviceTaskOperator`` its Zeebe settings say (see the module), and a
    service task with output mappings the post-script that sets them."""
    for call in tree.iter(f"{{{BPMN_NS}}}callActivity"):
        process = called_process(call)
        if process and not call.get("calledElement"):
            call.set("calledElement", process)
    for task in tree.iter(f"{{{BPMN_NS}}}serviceTask"):
        found = service_mappings(task)
        if found is None:
            continue
        operator, parameters, outputs = found
        extensions = task.find(_EXTENSIONS)
        said = etree.SubElement(extensions, f"{_SPIFF}serviceTaskOperator", id=operator)
        retries = job_retries(_zeebe(task, "taskDefinition")[0])
        if outputs:
            said.set("resultVariable", JOB_RESULT)
            script = etree.SubElement(extensions, f"{_SPIFF}postScript")
            script.text = outputs_script(JOB_RESULT, outputs)
        listed = etree.SubElement(said, f"{_SPIFF}parameters")
        for name, python in parameters:
            etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)
        if retries:
            etree.SubElement(said, f"{_SPIFF}retry", retries=str(retries))


def mapping_hint(element: Any) -> str | None:
    """For a ``zeebe:ioMapping`` on a task whose ``taskDefinition`` names only its operator,
    the mapping ``service_mappings`` does not take: what to write instead."""
    owner = element.getparent()
    owner = owner.getparent() if owner is not None and owner.tag == _EXTENSIONS else None
    if etree.QName(element).localname != "ioMapping" or owner is None:
        return None
    if _operator(owner) is None:
        return None
    if element.attrib:
        return "an ioMapping holds only its <zeebe:input> and <zeebe:output> mappings"
    for entry in element:
        side = _side(entry)
        if not isinstance(entry.tag, str):
            continue
        if side is None:
            return (
                f"<{entry.prefix or 'zeebe'}:{etree.QName(entry).localname}> (line "
                f"{entry.sourceline}) is no mapping: an ioMapping holds <zeebe:input> and "
                "<zeebe:output> elements, each with a source and a target"
            )
        if _mapped(entry) is not None:
            continue
        target = (entry.get("target") or "").strip()
        source = entry.get("source")
        where = f"<zeebe:{side}> on line {entry.sourceline}"
        if not target:
            return f"{where} has no target: name the variable its value is set under"
        if not target.isidentifier():
            return (
                f"{where} sets {target!r}: a target names one variable (set a field of an "
                "object in a script task after the task)"
            )
        if zeebe_expressions.value_python(source) is None:
            return (
                f"{where}: its source {source!r} has no Python Dialflow evaluates: it holds "
                f"{zeebe_expressions.untranslated(source)}; compute the value in a script "
                "task"
            )
        others = sorted(set(entry.attrib) - {"source", "target"})
        return f"{where}: a mapping has a source and a target only (not {', '.join(others)})"
    if any(True for _ in owner.iter(f"{_SPIFF}postScript")):
        return (
            "its outputs would run as the task's post-script, which it has: set them in "
            "its spiffworkflow:postScript"
        )
    return None
