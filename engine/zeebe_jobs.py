"""Camunda 8 job types Dialflow's handler registry runs, and those it cannot.

Camunda 8 (8.6+, task listeners 8.8) names a job type in ``<zeebe:executionListener>`` and
``<zeebe:taskListener>`` as it does in a service task's ``<zeebe:taskDefinition>``; a job
worker of that type does the work, with the instance's variables. Dialflow is its own worker:
a listener whose type is an operator of the handler registry (``crm.add_note``) runs as a
service task of that operator drawn beside its element (``adopt``, on the parsed tree): a
start listener (or a task listener on ``creating``) before the element, an end listener (or
``completing``) after it, in the order written, each with the operator's parameters read
from the element's input mappings or the instance's data under their own names (as a job
worker reads variables; an optional one only when the data has it, ``listener_parameters``)
and ``retries`` as a job's; the operator's result is the job's variables, set in the data
(``engine.job_variables``). Listeners it cannot place so (another event type, an element
that is a gateway, no flow in or out, a conditional flow out, a type that is FEEL) stay
refused with what to draw (``zeebe_hints``), and so does a type no operator has, said with
the handler to register (``listener_hint``).

A service task whose ``<zeebe:taskDefinition type>`` names no operator (a Camunda connector
such as ``io.camunda:http-json:1`` from a modeler template, a job worker of the team's own)
is refused on the task naming the type and the handler to register (``unknown_types``): the
task's other settings were refused one by one and the type itself was never named (the
deploy's checks no longer also call it an unknown operator, ``said_as_jobs``). A ``retries``
that is no whole number of at least 1 is refused on its line (``retries_problems``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lxml import etree

from engine import zeebe_expressions
from engine.bpmn_xml import BPMN_NS, chain_beside, element_problem, readable_trees
from engine.job_variables import JOB_VARIABLES
from engine.zeebe_hints import ZEEBE_NS, is_feel
from handlers.registry import HandlerRegistry

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_ZEEBE, _BPMN, _SPIFF = f"{{{ZEEBE_NS}}}", f"{{{BPMN_NS}}}", f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{_BPMN}extensionElements"
# where each listener runs: before (its element's incoming flows) or after (its outgoing)
_PLACES = {
    "executionListener": {"start": "before", "end": "after"},
    "taskListener": {"creating": "before", "completing": "after"},
}
# the data as a mapping, in an expression that names it (``engine.scripting.FEEL_VARIABLES``)
_DATA = "_feel_vars"
_NOT_PLACED = ("exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")


@cache
def registry() -> HandlerRegistry:
    """The shipped operators (``engine.service`` builds the same registry)."""
    from handlers import build_registry

    return build_registry()


def _listeners(holder: Any) -> list[Any]:
    return [item for item in holder if isinstance(item.tag, str)]


def _owner(holder: Any) -> Any:
    extensions = holder.getparent()
    return extensions.getparent() if extensions is not None else None


def _flows(owner: Any, side: str) -> list[Any]:
    scope = owner.getparent()
    return [
        flow for flow in scope.findall(f"{_BPMN}sequenceFlow") if flow.get(side) == owner.get("id")
    ]


def placement_problem(holder: Any) -> str | None:
    """Why the listeners of ``holder`` (``<zeebe:executionListeners>`` or
    ``<zeebe:taskListeners>``) cannot run as service tasks, or ``None`` when they can."""
    kind = etree.QName(holder).localname[:-1]  # executionListener, taskListener
    owner = _owner(holder)
    if owner is None or kind not in _PLACES or holder.attrib:
        return "a listener list holds its listeners only"
    local = etree.QName(owner).localname
    if local in _NOT_PLACED:
        return "Dialflow runs no listener on a gateway"
    for listener in _listeners(holder):
        if listener.tag != f"{_ZEEBE}{kind}":
            return f"<{etree.QName(listener).localname}> is no {kind}"
        job = (listener.get("type") or "").strip()
        place = _PLACES[kind].get((listener.get("eventType") or "").strip())
        if place is None:
            return (
                f"the {kind} on {listener.get('eventType')!r} has no place in the flow: "
                f"Dialflow runs {' and '.join(repr(e) for e in _PLACES[kind])} listeners"
            )
        if not job or is_feel(job):
            return "a listener's type names one operator"
        if set(listener.attrib) - {"type", "eventType", "retries"}:
            return "a listener has a type, an eventType and retries only"
        if job not in registry():
            where = "the user task" if kind == "taskListener" else "it"
            return listener_hint(job, f"{place} {where}")
        side = "targetRef" if place == "before" else "sourceRef"
        flows = _flows(owner, side)
        if not flows:
            return f"{local} {owner.get('id')!r} has no flow {place} it to run the listener on"
        if place == "after" and any(
            flow.find(f"{_BPMN}conditionExpression") is not None for flow in flows
        ):
            return "its flows out have conditions: draw the listener's work on each path"
    return None


def listener_problem(element: Any) -> str | None:
    """For a listener list that does not run, why, with what to do (``None`` for other
    elements)."""
    if element.tag not in (f"{_ZEEBE}executionListeners", f"{_ZEEBE}taskListeners"):
        return None
    said = placement_problem(element)
    if said is None or "handler registry" in said:
        return said
    return (
        f"{said}; draw the listener's work as a service task (an operator of the handler registry)"
    )


def listener_hint(job: str, where: str) -> str:
    """What to do about a listener whose job type no operator of the registry has; ``where``
    its work would be drawn (``after the user task``)."""
    return (
        f"the handler registry has no operator {job!r} to run the listener's job: register a "
        f"handler named {job!r} (registry.register({job!r}, …) in a module of handlers/, "
        f"listed in build_registry()), or draw what the listener {job!r} does as a service "
        f"task {where}"
    )


def adopted(element: Any) -> bool:
    """True for a listener list ``adopt`` runs as service tasks."""
    return (
        element.tag in (f"{_ZEEBE}executionListeners", f"{_ZEEBE}taskListeners")
        and _owner(element) is not None
        and placement_problem(element) is None
    )


def job_retries(element: Any) -> int | None:
    """Camunda 8's ``retries`` (attempts, the modeler's default 3) as Dialflow's automatic
    retries after the first attempt; ``None`` when it is no whole number of at least 1."""
    written = (element.get("retries") or "1").strip()
    if not written.isdigit() or int(written) < 1:
        return None
    return int(written) - 1


def operator_element(
    parent: Any, operator: str, retries: int, params: list[tuple[str, str]]
) -> Any:
    """``<spiffworkflow:serviceTaskOperator>`` of ``operator`` under ``parent`` with ``params``
    (name, Python of its value), its result the job's variables (``engine.job_variables``)."""
    said = etree.SubElement(
        parent, f"{_SPIFF}serviceTaskOperator", id=operator, resultVariable=JOB_VARIABLES
    )
    listed = etree.SubElement(said, f"{_SPIFF}parameters")
    for name, python in params:
        etree.SubElement(listed, f"{_SPIFF}parameter", id=name, type="any", value=python)
    if retries:
        etree.SubElement(said, f"{_SPIFF}retry", retries=str(retries))
    return said


def adopt(tree: Any) -> None:
    """Draw each listener list that can run (``placement_problem``) as service tasks beside
    its element, and take the list out."""
    for holder in list(tree.iter(f"{_ZEEBE}executionListeners", f"{_ZEEBE}taskListeners")):
        if not adopted(holder):
            continue
        owner = _owner(holder)
        kind = etree.QName(holder).localname[:-1]
        befores, afters = [], []
        for listener in _listeners(holder):
            place = _PLACES[kind][listener.get("eventType").strip()]
            (befores if place == "before" else afters).append(listener)
        holder.getparent().remove(holder)
        if befores:
            _insert(owner, befores, before=True)
        if afters:
            _insert(owner, afters, before=False)


def _insert(owner: Any, listeners: list[Any], before: bool) -> None:
    """Service tasks for ``listeners`` chained before (or after) ``owner``."""
    own = owner.get("id")
    tasks = []
    for index, listener in enumerate(listeners, 1):
        job = listener.get("type").strip()
        task_id = f"{own}__{listener.get('eventType').strip()}_listener_{index}"
        task = etree.Element(f"{_BPMN}serviceTask", id=task_id, name=f"{job} ({own})")
        params = listener_parameters(job, owner)
        operator_element(
            etree.SubElement(task, _EXTENSIONS), job, job_retries(listener) or 0, params
        )
        tasks.append(task)
    chain_beside(owner, tasks, before=before)


def listener_parameters(job: str, owner: Any) -> list[tuple[str, str]]:
    """The operator's parameters (name, Python of the value) for a listener of ``owner``, as a
    job worker reads the variables it sees: an input mapping of the element that sets the
    name (Camunda runs a start listener after the inputs, an end listener sees them too),
    else the data's variable of that name; an optional parameter the data lacks is left to
    its default (``engine.scripting.given_arguments``), as a worker reads what it finds."""
    handler = registry().get(job)
    if handler is None:
        return []
    inputs = element_inputs(owner)
    found = []
    for parameter in handler.parameters.values():
        name = parameter.name
        if name in inputs:
            found.append((name, inputs[name]))
        elif parameter.required:
            found.append((name, name))
        else:
            found.append((name, f"{_DATA}.get({name!r})"))
    return found


def element_inputs(owner: Any) -> dict[str, str]:
    """The ``<zeebe:input>`` mappings of ``owner`` whose source becomes Python: target →
    Python of the source."""
    found = {}
    for extensions in owner.findall(_EXTENSIONS):
        for entry in extensions.iterfind(f"{_ZEEBE}ioMapping/{_ZEEBE}input"):
            target = (entry.get("target") or "").strip()
            python = zeebe_expressions.value_python(entry.get("source"))
            if target.isidentifier() and python is not None:
                found[target] = python
    return found


def unknown_types(bpmn: dict[str, str], known: HandlerRegistry) -> list[dict[str, Any]]:
    """A service task whose ``<zeebe:taskDefinition type>`` names no operator of ``known``:
    one problem on the task, naming the type (a connector's template too) and the handler to
    register."""
    found = []
    for name, tree in readable_trees(bpmn):
        for definition in tree.iter(f"{_ZEEBE}taskDefinition"):
            task = _owner(definition)
            job = (definition.get("type") or "").strip()
            if task is None or not job or is_feel(job) or job in known:
                continue
            if task.find(f"{_EXTENSIONS}/{_SPIFF}serviceTaskOperator") is not None:
                continue  # said twice: the foreign check names it
            template = task.get(f"{_ZEEBE}modelerTemplate")
            what = (
                f"the Camunda connector {job!r} (modeler template {template!r})"
                if template or job.startswith("io.camunda:")
                else f"job type {job!r}"
            )
            found.append(
                element_problem(
                    name,
                    task,
                    f"runs {what}, and the handler registry has no operator {job!r}: Dialflow "
                    f"runs no Camunda connector or outside job worker; register a handler named "
                    f"{job!r} (registry.register({job!r}, …) in a module of handlers/, listed "
                    "in build_registry()), or name an operator there is: "
                    + ", ".join(sorted(h["id"] for h in known.describe())),
                )
            )
    return found


def said_as_jobs(checked: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``checked`` without the checks' "unknown service operator" on a task ``unknown_types``
    named (a job worker whose mappings ran as that operator's parameters)."""
    named = {(p.get("file"), p.get("element_id")) for p in jobs}
    return [
        p
        for p in checked
        if not (
            (p.get("file"), p.get("element_id")) in named
            and p.get("message", "").startswith("unknown service operator")
        )
    ]


def retries_problems(bpmn: dict[str, str]) -> list[dict[str, Any]]:
    """A job's ``retries`` (a task definition's or a listener's) that is no whole number of at
    least 1, on its line: the task ran with none before, or was refused as no operator."""
    found = []
    for name, tree in readable_trees(bpmn):
        jobs = tree.iter(f"{_ZEEBE}taskDefinition", f"{_ZEEBE}executionListener")
        for job in [*jobs, *tree.iter(f"{_ZEEBE}taskListener")]:
            owner = job
            while owner is not None and etree.QName(owner).namespace != BPMN_NS:
                owner = owner.getparent()
            owner = owner.getparent() if owner is not None and owner.tag == _EXTENSIONS else owner
            if owner is None or job_retries(job) is not None:
                continue
            problem = element_problem(
                name,
                owner,
                f"<zeebe:{etree.QName(job).localname}> retries={job.get('retries')!r}: "
                "Camunda 8 counts a job's attempts as a whole number of at least 1 (the "
                'modeler writes retries="3"), and Dialflow runs the operator at most that '
                "many times",
            )
            problem["line"] = job.sourceline
            found.append(problem)
    return found
