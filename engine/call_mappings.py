"""Call activities' variable mappings as Camunda 7, Activiti, Flowable and Camunda 8 write
them, run as those engines run them.

A call activity without mappings hands the called process all of the caller's data and
takes all of its data back (SpiffWorkflow's way, kept). With mappings (one side's
``variables="all"`` or ``inheritVariables`` alone is one: it took all of the called process's
data back, where Camunda and Flowable bring back only what an ``out`` names):

- Camunda 7, Activiti, Flowable (``<camunda:in source="lead_id" target="customer_id"/>``,
  ``sourceExpression="${lead.id}"``, ``variables="all"``, ``flowable:inheritVariables="true"``,
  ``<camunda:out …/>``): the called process gets only what the ``in`` mappings give it (all of
  the caller's data with ``variables="all"`` or ``inheritVariables``, the mappings over it),
  and the caller gets back only what the ``out`` mappings return (all of the called
  process's data with ``variables="all"``). A ``source`` the data lacks maps to null, as
  those engines map it.
- Camunda 8 (``<zeebe:ioMapping>`` with ``<zeebe:calledElement
  propagateAllParentVariables propagateAllChildVariables>``): the called process gets the
  caller's data (none with ``propagateAllParentVariables="false"``) with the inputs over it,
  the inputs staying out of the caller's data; with outputs, the caller gets only them (each
  source read over the called process's data on top of the caller's), else all of the called
  process's data (none with ``propagateAllChildVariables="false"``).

Sources are Python as Dialflow's other expressions: a JUEL ``${…}`` that is a variable or a
field path (``${lead.id}`` is ``lead["id"]``), any other JUEL computed with EL's operators
(``${attempt + 1}``, ``engine.juel.translate_expression``), FEEL as ``zeebe_hints`` turns it
into Python.
An ``in`` with ``local="true"`` reads the call activity's own variables, as Camunda reads
them: in a multi-instance call activity each instance's element variable (``loopCounter``,
which Dialflow does not set, is not among them); elsewhere none, so a source is null and
``variables="all"`` gives nothing.
What does not run as drawn (a JUEL expression outside the subset that runs (a Java method),
an ``out`` with ``local="true"`` (Camunda drops such a variable when the call activity
ends), a target that is no variable name, a FEEL function with no Python) is refused at
deploy on the call activity with the mapping's line (``problems``, from ``foreign.py``). An
input that cannot be read is an incident on the call activity before the called process
starts (retried like a failed pre-script); an output that cannot be read is one once it
ended, whose retry reads the outputs again without running the called process twice.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from engine import juel, zeebe_expressions, zeebe_hints
from engine.bpmn_xml import BPMN_NS

CAMUNDA_LIKE = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://activiti.org/bpmn": "activiti",
    "http://flowable.org/bpmn": "flowable",
}
ZEEBE_NS = zeebe_hints.ZEEBE_NS
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
# A name starts with a letter of any script or _ (JUEL and FEEL take 客户.编号 as customer.id).
_NAME = r"[^\W\d]\w*"
_PATH = re.compile(rf"^\s*[$#]\{{\s*({_NAME}(?:\.{_NAME})*)\s*\}}\s*$")
# A call activity's internal data between the called process's end and the outputs read.
CALL_RESULT = "called_process_data"
# SpiffWorkflow's note that marks a failure before the task was ready (``task_scripts``).
_BEFORE_READY = "Error occurred in the Pre-Script"


@dataclass(frozen=True)
class Mapping:
    """One variable mapping: ``target`` set to ``python`` evaluated, or to the value at
    ``path`` (a variable, then fields of it: a field the data lacks is null, as JUEL and FEEL
    read a map; a variable it lacks too unless ``root_needed``, as JUEL's expressions need
    it), as the mapping on ``line`` says (``said``)."""

    target: str
    python: str | None
    path: tuple[str, ...] | None
    line: int | None
    said: str
    root_needed: bool = False
    local: bool = False  # read from the call activity's own variables (``local="true"``)


@dataclass(frozen=True)
class CallMappings:
    """What a call activity passes in and takes back (see the module)."""

    all_in: bool
    inputs: tuple[Mapping, ...]
    all_out: bool
    outputs: tuple[Mapping, ...]
    zeebe: bool
    # The call activity's own variables, as Camunda keeps them on its execution: a
    # multi-instance call activity's element variable (each instance's item).
    local_names: tuple[str, ...] = ()
    all_local: bool = False  # ``<camunda:in variables="all" local="true"/>``

    def child_data(self, task: Any) -> dict[str, Any]:
        """The data the called process starts with."""
        given: dict[str, Any] = deepcopy(task.data) if self.all_in else {}
        local = {name: task.data[name] for name in self.local_names if name in task.data}
        if self.all_local:
            given.update(deepcopy(local))
        inputs: dict[str, Any] = {}
        for mapping in self.inputs:
            scope = {**task.data, **inputs} if self.zeebe else task.data
            scope = local if mapping.local else scope
            inputs[mapping.target] = deepcopy(_read(task, mapping, scope, "input"))
        given.update(inputs)
        return given

    def returned(self, task: Any, child: dict[str, Any]) -> dict[str, Any]:
        """What the caller takes back from the called process's data ``child``."""
        back: dict[str, Any] = dict(child) if self.all_out else {}
        scope = {**task.data, **child} if self.zeebe else child
        for mapping in self.outputs:
            back[mapping.target] = _read(task, mapping, scope, "output")
        return deepcopy(back)


def _read(task: Any, mapping: Mapping, scope: dict[str, Any], side: str) -> Any:
    try:
        if mapping.path is None:
            return task.workflow.script_engine.environment.evaluate(mapping.python, scope)
        return _at(scope, mapping.path, mapping.root_needed)
    except Exception as exc:
        raise WorkflowTaskException(
            f"the {side} mapping {mapping.said} (line {mapping.line}) of call activity "
            f"{task.task_spec.bpmn_id!r} cannot be read: {type(exc).__name__}: {exc}",
            task=task,
            exception=exc,
        ) from exc


class MappedCall:
    """A call activity that passes and takes back what its mappings say (``mappings``;
    ``None``: all of the data both ways, as SpiffWorkflow does)."""

    mappings: CallMappings | None = None

    def execute_script(self, my_task: Any, script: Any) -> None:
        if script is not None:  # a retry of a failed input has no pre-script to run
            super().execute_script(my_task, script)  # type: ignore[misc]

    def start_workflow(self, my_task: Any) -> None:
        if self.mappings is None:
            super().start_workflow(my_task)  # type: ignore[misc]
            return
        try:
            given = self.mappings.child_data(my_task)
        except WorkflowTaskException as exc:
            my_task._set_state(TaskState.ERROR)
            exc.add_note(_BEFORE_READY)  # heard as an incident on the call activity
            raise
        top = my_task.workflow.top_workflow
        if self.spec not in top.subprocess_specs:  # type: ignore[attr-defined]
            super().start_workflow(my_task)  # type: ignore[misc]
            return
        subworkflow = top.create_subprocess(my_task, self.spec)  # type: ignore[attr-defined]
        subworkflow.completed_event.connect(self._on_subworkflow_completed, my_task)  # type: ignore[attr-defined]
        start = subworkflow.get_next_task(
            subworkflow.task_tree, skip_subprocesses=True, spec_name="Start"
        )
        start.set_data(**given)
        start.run()

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        if self.mappings is None:
            super().update_data(my_task, subworkflow)  # type: ignore[misc]
            return
        my_task.internal_data[CALL_RESULT] = deepcopy(subworkflow.last_task.data)

    def _run_hook(self, my_task: Any) -> Any:
        child = my_task.internal_data.get(CALL_RESULT)
        if self.mappings is not None and child is not None:
            my_task.data.update(self.mappings.returned(my_task, child))
            del my_task.internal_data[CALL_RESULT]
        return super()._run_hook(my_task)  # type: ignore[misc]


def _own(call: Any, namespaces: set[str]) -> list[Any]:
    return [
        entry
        for extensions in call.findall(_EXTENSIONS)
        for entry in extensions
        if isinstance(entry.tag, str) and etree.QName(entry).namespace in namespaces
    ]


def read(call: Any) -> tuple[CallMappings | None, list[tuple[Any, str]]]:
    """The mappings of the call activity element ``call`` (``None``: it maps no variable,
    all of the data goes both ways) and the problems of those that cannot run as drawn,
    each with the element it is on."""
    camunda = [e for e in _own(call, set(CAMUNDA_LIKE)) if etree.QName(e).localname in _SIDES]
    zeebe = _own(call, {ZEEBE_NS})
    mapping = [e for e in zeebe if etree.QName(e).localname == "ioMapping"]
    called = [e for e in zeebe if etree.QName(e).localname == "calledElement"]
    flags = {
        name: (called[0].get(name) or "true").strip().lower() if called else "true"
        for name in ("propagateAllParentVariables", "propagateAllChildVariables")
    }
    zeebe_maps = bool(mapping) or any(value != "true" for value in flags.values())
    if camunda and zeebe_maps:
        return None, [
            (
                mapping[0] if mapping else camunda[0],
                "the call activity maps variables both as Camunda 7 and as Camunda 8: keep one",
            )
        ]
    if zeebe_maps:
        return _zeebe(called[0] if called else call, mapping, flags)
    return _camunda(call, camunda)


_SIDES = ("in", "out")


def _camunda(call: Any, entries: list[Any]) -> tuple[CallMappings | None, list[tuple[Any, str]]]:
    problems: list[tuple[Any, str]] = []
    found: dict[str, list[Mapping]] = {"in": [], "out": []}
    every = {"in": False, "out": False, "local": False}
    for attribute, value in call.attrib.items():
        qname = etree.QName(attribute)
        if qname.namespace in CAMUNDA_LIKE and qname.localname == "inheritVariables":
            every["in"] = value.strip().lower() == "true"
    for entry in entries:
        side = etree.QName(entry).localname
        keys = set(entry.attrib)
        written = _written(entry)
        local = (entry.get("local") or "false").strip().lower()
        if local not in ("false", "true") or (local == "true" and side == "out"):
            problems.append((entry, _local_hint(written, side)))
            continue
        keys.discard("local")
        if side == "in" and keys == {"businessKey"}:
            continue  # the called process has the caller's business key anyway
        if keys == {"variables"}:
            if entry.get("variables", "").strip() != "all":
                problems.append((entry, f'{written}: variables takes "all" only'))
            every["local" if local == "true" else side] = True
            continue
        said = _mapping(entry, side, keys, written, problems)
        if said is not None:
            found[side].append(replace(said, local=local == "true"))
    if problems:
        return None, problems
    if not (found["in"] or found["out"] or every["local"]) and every["in"] == every["out"]:
        return None, []  # all both ways (or no variable named): all of the data both ways
    mappings = CallMappings(
        every["in"],
        tuple(found["in"]),
        every["out"],
        tuple(found["out"]),
        False,
        _element_variables(call),
        every["local"],
    )
    return mappings, []


def _element_variables(call: Any) -> tuple[str, ...]:
    """The variables local to each instance of the multi-instance call activity ``call``:
    its element variable, as Camunda 7, Activiti and Flowable name it or as
    ``foreign_loops.adopt`` wrote it (``inputDataItem``)."""
    names: list[str] = []
    for loop in call.iterfind(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        for attribute, value in loop.attrib.items():
            qname = etree.QName(attribute)
            if qname.namespace in CAMUNDA_LIKE and qname.localname == "elementVariable":
                names.append(value.strip())
        for item in loop.iterfind(f"{{{BPMN_NS}}}inputDataItem"):
            names.append((item.get("name") or item.get("id") or "").strip())
    return tuple(dict.fromkeys(name for name in names if name))


def _written(entry: Any) -> str:
    attributes = " ".join(f'{etree.QName(k).localname}="{v}"' for k, v in entry.attrib.items())
    return f"<{entry.prefix or 'camunda'}:{etree.QName(entry).localname} {attributes}/>"


def _local_hint(written: str, side: str) -> str:
    if side == "in":
        return f'{written}: local takes "true" or "false"'
    return (
        f"{written}: a value local to the call activity would be dropped when it ends, and "
        'Dialflow keeps none: remove local="true" to set it in the caller\'s data'
    )


def _mapping(
    entry: Any, side: str, keys: set[str], written: str, problems: list[tuple[Any, str]]
) -> Mapping | None:
    target = (entry.get("target") or "").strip()
    if "target" not in keys or not target.isidentifier():
        problems.append(
            (
                entry,
                f"{written}: name the variable it sets in target (a name such as customer_id)"
                if not target
                else f"{written}: target {target!r} is no variable name (letters, digits, _)",
            )
        )
        return None
    others = keys - {"target", "source", "sourceExpression"}
    if others or ("source" in keys) == ("sourceExpression" in keys):
        problems.append(
            (
                entry,
                f"{written}: a mapping has a target and either a source (a variable) or a "
                "sourceExpression (${variable.field})"
                + (f", not {', '.join(sorted(others))}" if others else ""),
            )
        )
        return None
    line = entry.sourceline
    if "source" in keys:
        source = entry.get("source", "").strip()
        if not source.isidentifier():
            problems.append(
                (entry, f"{written}: source {source!r} is no variable name (letters, digits, _)")
            )
            return None
        return Mapping(target, None, (source,), line, written)
    expression = entry.get("sourceExpression", "")
    path = _PATH.match(expression)
    computed = juel.translate_expression(expression) if path is None else None
    if computed is not None:  # ${attempt + 1}: EL computes it, as Camunda 7 does
        return Mapping(target, computed, None, line, written)
    if path is None:
        python = _juel_python(expression)
        where = "the caller's" if side == "in" else "the called process's"
        compute = f"{target} = {python}" if python else f"{target} = <the Python of it>"
        problems.append(
            (
                entry,
                f"{written}: Dialflow reads a variable or a field path there (${{lead.id}}), "
                f"not an expression: compute it in a script task at the end of {where} "
                f'path ({compute}) and map it with source="{target}"',
            )
        )
        return None
    return Mapping(target, None, tuple(path.group(1).split(".")), line, written, True)


_FEEL_PATH = re.compile(rf"^\s*=\s*({_NAME}(?:\.{_NAME})*)\s*$")
_FEEL_WORDS = {"null", "true", "false", "not"}


def feel_path(source: str | None) -> tuple[str, ...] | None:
    """The variable path a FEEL source only reads (``=lead.id``: ``("lead", "id")``), read as
    FEEL reads it, null where the data lacks it (``value_at``); ``None`` for anything else."""
    feel = _FEEL_PATH.match(source or "")
    if feel is None or feel.group(1) in _FEEL_WORDS:
        return None
    return tuple(feel.group(1).split("."))


def value_at(scope: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in ``scope``, null where a variable or field is missing."""
    return _at(scope, path, False)


def _at(scope: dict[str, Any], path: tuple[str, ...], root_needed: bool) -> Any:
    """The value at ``path`` in ``scope``; null where a map lacks a field (see ``Mapping``)."""
    if root_needed and path[0] not in scope:
        raise NameError(f"name {path[0]!r} is not defined")
    value: Any = scope.get(path[0])
    for field in path[1:]:
        value = value.get(field) if isinstance(value, dict) else None
    return value


_JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)


def _juel_python(expression: str) -> str | None:
    body = _JUEL.match(expression or "")
    return juel.to_python(body.group(1)) if body else None


def _zeebe(
    called: Any, mappings: list[Any], flags: dict[str, str]
) -> tuple[CallMappings | None, list[tuple[Any, str]]]:
    problems: list[tuple[Any, str]] = []
    for name, value in flags.items():
        if value not in ("true", "false"):
            problems.append((called, f'{name}="{value}" takes "true" or "false"'))
    if len(mappings) > 1:
        problems.append((mappings[1], "a call activity has one <zeebe:ioMapping>: merge them"))
    found: dict[str, list[Mapping]] = {"input": [], "output": []}
    for mapping in mappings[:1]:
        for entry in mapping:
            if not isinstance(entry.tag, str):
                continue
            local = etree.QName(entry).localname
            where = f"<zeebe:{local}> on line {entry.sourceline}"
            if entry.tag != f"{{{ZEEBE_NS}}}{local}" or local not in found or len(entry):
                problems.append(
                    (
                        entry,
                        f"{where} is no mapping: an ioMapping holds <zeebe:input> and "
                        "<zeebe:output> elements, each with a source and a target",
                    )
                )
                continue
            target = (entry.get("target") or "").strip()
            source = entry.get("source")
            python = zeebe_expressions.value_python(source)
            if not target:
                problems.append((entry, f"{where} has no target: name the variable it sets"))
            elif not target.isidentifier():
                problems.append(
                    (
                        entry,
                        f"{where} sets {target!r}: a target names one variable (set a field of "
                        "an object in a script task)",
                    )
                )
            elif python is None:
                problems.append(
                    (
                        entry,
                        f"{where}: its source {source!r} has no Python Dialflow evaluates: "
                        f"it holds {zeebe_expressions.untranslated(source)}; compute the "
                        "value in a script task",
                    )
                )
            elif set(entry.attrib) != {"source", "target"}:
                others = sorted(set(entry.attrib) - {"source", "target"})
                problems.append(
                    (entry, f"{where}: a mapping has a source and a target only, not {others}")
                )
            else:
                said = f'<zeebe:{local} source="{source}" target="{target}"/>'
                feel = _FEEL_PATH.match(source or "")
                plain = feel is not None and feel.group(1) not in _FEEL_WORDS
                path = tuple(feel.group(1).split(".")) if plain else None
                found[local].append(Mapping(target, python, path, entry.sourceline, said))
    if problems:
        return None, problems
    outputs = tuple(found["output"])
    return (
        CallMappings(
            flags["propagateAllParentVariables"] == "true",
            tuple(found["input"]),
            flags["propagateAllChildVariables"] == "true" and not outputs,
            outputs,
            True,
        ),
        [],
    )


def call_activity(element: Any) -> Any:
    """The call activity whose extension ``element`` is, or ``None``."""
    holder = element.getparent()
    holder = holder.getparent() if holder is not None and holder.tag == _EXTENSIONS else None
    if holder is None or holder.tag != f"{{{BPMN_NS}}}callActivity":
        return None
    return holder


def runs(element: Any) -> bool:
    """True for a mapping element (``<camunda:in>``, ``<zeebe:ioMapping>`` …) of a call
    activity whose mappings all run as drawn."""
    call = call_activity(element)
    if call is None:
        return False
    local = etree.QName(element).localname
    namespace = etree.QName(element).namespace
    if not (
        (namespace in CAMUNDA_LIKE and local in _SIDES)
        or (namespace == ZEEBE_NS and local == "ioMapping")
    ):
        return False
    return not any(_inside(at, element) for at, _ in read(call)[1])


def hint(element: Any) -> str | None:
    """What to write instead, for a mapping element of a call activity that does not run."""
    call = call_activity(element)
    if call is None:
        return None
    said = [message for at, message in read(call)[1] if _inside(at, element)]
    return "; ".join(said) if said else None


def _inside(node: Any, ancestor: Any) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def problem_at(element: Any) -> Any:
    """The first mapping inside ``element`` that cannot run as drawn (its line is the one to
    say), else ``element``."""
    call = call_activity(element)
    if call is None:
        return element
    return next((at for at, _ in read(call)[1] if _inside(at, element)), element)


def maps_variables(call: Any) -> bool:
    """Whether the call activity ``call`` passes and takes back what its mappings say (an
    ``inheritVariables="false"`` beside them says the same)."""
    return read(call)[0] is not None


def with_mappings(parser_class: type) -> type:
    """``parser_class`` (the call activity's) giving each spec its ``mappings``."""

    class Parser(parser_class):  # type: ignore[misc, valid-type]
        def create_task(self) -> Any:
            task = super().create_task()
            task.mappings = read(self.node)[0]
            return task

    Parser.__name__ = parser_class.__name__
    return Parser
