"""Semantic checks on parsed specs: what the XSD cannot see but would fail at run time."""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ScriptTask, ServiceTask, UserTask

from engine import camunda_forms, form_conditions, juel, sandbox
from engine.bpmn_xml import BPMN_NS
from engine.cron_timers import cron_problem
from engine.diagram_forms import form_of
from engine.elvis import as_python
from engine.errors import problem
from engine.foreign import is_juel, is_python
from engine.form_checks import form_problems, unknown_draft
from engine.forms import ref_problem
from engine.iso_timers import meant_as_iso, timer_definitions
from engine.script_text import expression_text, script_text
from engine.script_time import endless_loops
from engine.timekeeping import TooLong, check_duration
from engine.too_complex import TOO_DEEP, too_deep
from handlers.registry import HandlerRegistry

if TYPE_CHECKING:
    from engine.validation import ParsedBundle

ISO_LIKE = re.compile(r"^(R\d*/|P(\d|T)|\d{4}-\d{2}-\d{2}T)", re.IGNORECASE)
CLOCK_LIKE = re.compile(r"^\d{1,2}:\d{2}$")


def check_specs(
    parsed: ParsedBundle,
    forms: dict[str, Any],
    registry: HandlerRegistry,
    lines: dict[str, dict[str, int]],
    conditions: dict[str, dict[str, list[tuple[str, str, str]]]] | None = None,
    scripts: dict[str, dict[str, int]] | None = None,
    foreign_scripts: dict[str, set[str]] | None = None,
) -> list[dict[str, Any]]:
    """Problems of the parsed specs, each with the file and line of its element. ``lines``
    and ``conditions`` (from ``conditions_by_gateway``, which lets a bad condition point at
    the sequence flow that holds it rather than at its gateway) are per file name: the files
    of one deploy often share element ids (``StartEvent_1``, ``Task_1``), as are ``scripts``
    (``script_lines``: where each script task's script begins, to name the file's line of a
    script's syntax error). ``foreign_scripts`` (``foreign_script_ids``, per file): script tasks
    whose script is in another language, which ``foreign.py`` refuses with the Python to write;
    they are not compiled as Python too."""
    conditions = conditions or {}
    scripts = scripts or {}
    foreign_scripts = foreign_scripts or {}
    problems: list[dict[str, Any]] = []
    lanes = {lane for spec, _ in _all_task_specs(parsed) if (lane := getattr(spec, "lane", None))}
    for spec, file in _all_task_specs(parsed):
        element_id = getattr(spec, "bpmn_id", None) or spec.name
        here, flows_here = lines.get(file, {}), conditions.get(file, {})

        def report(
            message: str,
            element_id: str = element_id,
            file: str = file,
            here: Any = here,
            line: int | None = None,
        ) -> None:
            where = line or here.get(element_id)
            problems.append(problem(message, element_id, where, file or None))

        if isinstance(spec, ServiceTask):
            literals = _literal_parameters(spec.operation_params, report)
            # a literal None leaves an optional parameter to its default, as if not given
            given = {name for name in spec.operation_params if literals.get(name, 0) is not None}
            for message in registry.check_call(spec.operation_name, given):
                report(message)
            for name, param in spec.operation_params.items():
                _check_expression(param.get("value", ""), f"parameter {name!r}", report)
            for message in registry.check_values(spec.operation_name, literals):
                report(message)
        if isinstance(spec, ScriptTask) and element_id not in foreign_scripts.get(file, ()):
            _check_script(spec.script or "", report, scripts.get(file, {}).get(element_id))
        if isinstance(spec, UserTask):
            _check_user_task(spec, forms, report)
            _check_completion_check(spec, registry, report)
        if isinstance(spec, UserTask | ManualTask):
            _check_lane_owners(spec, lanes, report)
        if isinstance(spec, EventBasedGateway):
            # It holds its events' definitions, in the order of its outputs (SpiffWorkflow
            # moves them there): a timer's problem is reported on its own event.
            for event, held in zip(
                spec.outputs, spec.event_definition.event_definitions, strict=False
            ):
                event_id = getattr(event, "bpmn_id", None) or event.name
                for definition in timer_definitions(held):
                    if isinstance(definition, CycleTimerEventDefinition):
                        report(_GATEWAY_CYCLE, element_id=event_id)
                        continue
                    _check_timer(definition, partial(report, element_id=event_id))
                _check_message(held, partial(report, element_id=event_id))
        elif isinstance(spec, CatchingEvent):
            for definition in timer_definitions(spec.event_definition):
                _check_timer(definition, report)
        if not isinstance(spec, EventBasedGateway):
            _check_message(getattr(spec, "event_definition", None), report)
        if isinstance(spec, MultiInstanceTask | StandardLoopTask):
            _check_loop(spec, report)
        elif getattr(spec, "io_specification", None) is not None:
            _check_io(spec.io_specification, report)
        for condition, target in getattr(spec, "cond_task_specs", None) or []:
            expression = _condition_text(condition)
            if expression is not None:
                flow = _flow_of(flows_here.get(element_id, []), expression, target)

                def report_flow(
                    message: str,
                    where: str = flow or element_id,
                    file: str = file,
                    here: Any = here,
                ) -> None:
                    problems.append(problem(message, where, here.get(where), file or None))

                _check_expression(
                    expression,
                    f"condition of sequence flow {flow!r}" if flow else "gateway condition",
                    report_flow,
                    test=True,
                )
        for name, said in (("prescript", "pre-script"), ("postscript", "post-script")):
            script = getattr(spec, name, None)
            if script:
                _check_script(script, report, said=said)
    return problems + _check_process_io(parsed, lines)


def _check_process_io(
    parsed: ParsedBundle, lines: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    """A process whose own ``ioSpecification`` declares data inputs or outputs is refused.

    They are what a call activity passes in and out, and SpiffWorkflow runs them only while
    nothing is missing: a missing input left the called process created without data, and the
    retry of its incident ran it so, failing inside it; a missing output left the call
    activity under way, where no retry reached it. Inputs without outputs handed the caller
    the called process's data instead of its own, and each item is read under its ``id``, not
    its ``name`` ("missing a required Data Input" while the caller held it). Any executable
    process may be called by a later deploy, so each is checked."""
    found: list[dict[str, Any]] = []
    for process_id, spec in parsed.specs.items():
        io = spec.io_specification
        items = [*io.data_inputs, *io.data_outputs] if io is not None else []
        if not items:
            continue  # an empty ioSpecification changes nothing
        names = ", ".join(repr(item.bpmn_name or item.bpmn_id) for item in items)
        message = (
            f"the process's ioSpecification declares data inputs or outputs ({names}): "
            "SpiffWorkflow would pass only those between a calling process and this one, and "
            "an input or output missing at run time would stop the instance where no retry "
            "helps; leave them out (a call activity passes the caller's data in and this "
            "process's data back)"
        )
        file = parsed.files.get(process_id, "")
        found.append(problem(message, process_id, lines.get(file, {}).get(process_id), file))
    return found


def _check_io(io: Any, report: Any) -> None:
    """A task with data inputs or outputs of its own (``ioSpecification``) is refused.

    SpiffWorkflow gives such a task only its inputs, read from the task data under each
    input's ``id``, and hands on only its outputs: everything else the instance held was gone
    after the task. An Enterprise Architect task with ``dataInput id="EAID_…" name="contacts"``
    stopped every instance with "Missing data input." although ``contacts`` was there; with
    ids as names, the instance lost its customer and the next script failed on a NameError.
    """
    items = [*io.data_inputs, *io.data_outputs]
    if not items:
        return  # an empty ioSpecification, as many tools write one, changes nothing
    names = ", ".join(repr(getattr(item, "bpmn_name", None) or item.bpmn_id) for item in items)
    report(
        f"its ioSpecification declares data inputs or outputs ({names}): SpiffWorkflow would "
        "give the task only those inputs and hand on only its outputs, so the rest of the "
        "instance's data would be lost after it; leave them out (forms, scripts and service "
        "parameters read the instance's data directly)"
    )


def _literal_parameters(params: dict[str, Any], report: Any) -> dict[str, Any]:
    """The parameters whose value is a Python literal (``2``, ``'10:00'``, ``['PT1H']``), known
    before run time; an unquoted duration (``PT2H``, a variable name to Python) gets a hint."""
    literals = {}
    for name, param in params.items():
        expression = (param.get("value") or "").strip()
        try:
            literals[name] = ast.literal_eval(expression)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if (ISO_LIKE.match(expression) and expression.isidentifier()) or CLOCK_LIKE.match(
                expression
            ):
                report(
                    f"parameter {name!r} is a Python expression: write {expression!r} "
                    f"in quotes, e.g. \"'{expression}'\""
                )
    return literals


def conditions_by_gateway(tree: Any) -> dict[str, list[tuple[str, str, str]]]:
    """Source element id → (sequence flow id, target id, condition text) of its conditional
    outgoing flows, from one BPMN file's XML."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for condition in flow.iter(f"{{{BPMN_NS}}}conditionExpression"):
            found.setdefault(flow.get("sourceRef"), []).append(
                (flow.get("id"), flow.get("targetRef"), (condition.text or "").strip())
            )
    return found


def flow_condition_problems(
    process: Any, lines: dict[str, int], file: str | None = None
) -> list[dict[str, Any]]:
    """The conditions of the flows out of the exclusive and inclusive gateways of a process
    the parser could not build (``check_specs`` finds them on the gateways' specs); one in
    another language is ``engine.foreign``'s."""
    gateways = {
        element.get("id")
        for local in ("exclusiveGateway", "inclusiveGateway")
        for element in process.iter(f"{{{BPMN_NS}}}{local}")
    }
    problems: list[dict[str, Any]] = []
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        flow_id = flow.get("id")

        def report(message: str, flow_id: str = flow_id) -> None:
            problems.append(problem(message, flow_id, lines.get(flow_id), file))

        for condition in flow.iter(f"{{{BPMN_NS}}}conditionExpression"):
            language = (condition.get("language") or "").strip().lower()
            if flow.get("sourceRef") in gateways and is_python(language):
                expression = (condition.text or "").strip()
                if not expression:
                    continue  # the parser's "without condition", said in plain words
                _check_expression(
                    expression, f"condition of sequence flow {flow_id!r}", report, test=True
                )
    return problems


def _flow_of(flows: list[tuple[str, str, str]], expression: str, target: str) -> str | None:
    """The sequence flow that holds ``expression``: by its text, else by its target."""
    by_text = [flow for flow, _target, text in flows if text == expression.strip()]
    if len(by_text) == 1:
        return by_text[0]
    by_target = [flow for flow, flow_target, _text in flows if flow_target == target]
    return by_target[0] if len(by_target) == 1 else None


def _all_task_specs(parsed: ParsedBundle) -> Iterator[tuple[TaskSpec, str]]:
    """Every task spec once, with the name of the file its process is in: the built ones,
    and those read one by one (of a process not built, or elements no path reaches)."""
    seen: set[int] = set()
    specs = [*parsed.specs.values(), *parsed.unbuilt.values(), *parsed.unreached.values()]
    for subprocesses in parsed.subprocess_specs.values():
        specs += list(subprocesses.values())
    for process_spec in specs:
        for task_spec in process_spec.task_specs.values():
            if id(task_spec) not in seen:
                seen.add(id(task_spec))
                yield task_spec, getattr(process_spec, "file", None) or ""


def _condition_text(condition: Any) -> str | None:
    """The expression of a gateway condition (SpiffWorkflow wraps it in a ``_BpmnCondition``)."""
    args = getattr(condition, "args", None)
    if args and isinstance(args[0], str):
        return args[0]
    return None


def _check_expression(expression: str, what: str, report: Any, *, test: bool = False) -> None:
    """``expression`` compiles as Python; with ``test`` (a condition) it assigns nothing."""
    expression = expression_text(expression)
    if is_juel(expression):
        return  # reported element by element by engine.foreign
    if not expression.strip():
        report(
            f"{what} is empty: write the condition, or leave the <conditionExpression> out "
            "and make the flow its gateway's default"
        )
        return
    if too_deep(expression, "eval"):
        report(f"{what} is {TOO_DEEP}")
        return
    try:
        compile(expression, "<expression>", "eval")
    except SyntaxError as exc:
        report(
            f"{what} is not a valid Python expression: {expression!r} ({exc.msg})"
            f"{_comparison_hint(expression)}"
        )
        return
    for _line, message in sandbox.problems_of(ast.parse(expression, mode="eval")):
        report(f"{what} {message} ({expression!r})")
    if test:
        _check_no_assignment(expression, what, report)
        _check_other_literals(expression, what, report)


# How JSON, JavaScript, Java and FEEL spell Python's True, False and None: a condition
# written with them (``approved == true``, as chat assistants and those languages write it)
# deployed and failed at run time on a name no instance has.
_OTHER_LITERALS = {
    "true": "True",
    "false": "False",
    "null": "None",
    "nil": "None",
    "undefined": "None",
}


def _check_other_literals(expression: str, what: str, report: Any) -> None:
    for node in ast.walk(ast.parse(expression, mode="eval")):
        if isinstance(node, ast.Name) and node.id in _OTHER_LITERALS:
            python = _OTHER_LITERALS[node.id]
            try:
                written = f" ({_with_literal(expression, node.id, python)!r})"
            except RecursionError:
                # ``ast.unparse`` recurses as deep as the expression, on this stack: one the
                # script engine runs (``too_deep``) was answered "too deeply nested" with no
                # element
                written = ""
            report(
                f"{what} uses {node.id!r} ({expression!r}), which is no Python name: Python "
                f"writes it {python!r}{written}"
            )
            return


def _with_literal(expression: str, name: str, python: str) -> str:
    """``expression`` with the names ``name`` written as Python's ``python``."""

    class Literal(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            return ast.Name(id=python, ctx=node.ctx) if node.id == name else node

    return ast.unparse(Literal().visit(ast.parse(expression, mode="eval")))


def _check_no_assignment(expression: str, what: str, report: Any) -> None:
    """A condition with ``:=`` compiles, but what it assigns lasts only while the condition
    is evaluated (the path taken is decided by the value assigned, and the data keeps the
    old value): a modeller who wrote it meant to set a variable."""
    for node in ast.walk(ast.parse(expression, mode="eval")):
        if isinstance(node, ast.NamedExpr):
            target = ast.unparse(node.target)
            report(
                f"{what} assigns {target!r} with ':=' ({expression!r}); a condition only "
                f"tests, and the value would be lost after it: set {target!r} in a script "
                "task before the gateway, and test it here"
                f"{_walrus_hint(node)}"
            )
            return


def _walrus_hint(node: ast.NamedExpr) -> str:
    """To compare, ``==``: ``(plan := 'team')`` was mostly meant as ``plan == 'team'``."""
    if not isinstance(node.value, ast.Constant):
        return ""
    compared = f"{ast.unparse(node.target)} == {ast.unparse(node.value)}"
    return f" (to compare, write {compared!r})"


def _comparison_hint(expression: str) -> str:
    """A comparison written with one ``=`` (as XPath, FEEL and spreadsheets write it, and
    Signavio files declare XPath), said with the ``==`` that compiles."""
    if re.search(r"&&|\|\||===|!==", expression):
        # JavaScript's and Java's operators, as assistants write a Python condition with them
        python = juel.to_python(expression.replace("===", "==").replace("!==", "!="))
        return f"; in Python, write {python!r}" if python else ""
    compared = re.sub(r"(?<![<>=!])=(?!=)", "==", expression)
    if compared == expression:
        return ""
    try:
        compile(compared, "<expression>", "eval")
    except SyntaxError:
        return ""
    return f"; to compare, write {compared!r}"


def _check_loop(spec: MultiInstanceTask | StandardLoopTask, report: Any) -> None:
    """A loop's expressions compile, its cap is positive, and its data items are named by
    their id.

    A syntax error in ``loopCardinality``, ``completionCondition`` or ``loopCondition`` was
    found only when an instance reached the task (or finished its first pass), as an incident.
    SpiffWorkflow names a multi-instance item's task data by the item's ``id`` and ignores its
    ``name``: an ``inputDataItem id="DataInput_1" name="phone"`` (as Signavio or Trisotech
    write them) gave each instance ``DataInput_1``, and a form or script reading ``phone``
    failed or, for an output item, the whole task did ("Expected an output item").
    """
    if isinstance(spec, StandardLoopTask):
        if spec.condition:
            _check_expression(spec.condition, "loopCondition", report, test=True)
        if spec.maximum is not None and spec.maximum < 1:
            # the first pass runs before SpiffWorkflow compares: 0 or -3 ran the task once
            report(
                f"loopMaximum is {spec.maximum}; it caps the passes of the loop and must be a "
                "positive whole number (leave it out to loop until loopCondition is false)"
            )
        return
    if spec.cardinality:
        _check_expression(spec.cardinality, "loopCardinality", report)
    if spec.condition:
        _check_expression(spec.condition, "completionCondition", report, test=True)
    if spec.data_input is not None and spec.input_item is None:
        report(_itemless_problem(spec.data_input))
    for kind, item in (("inputDataItem", spec.input_item), ("outputDataItem", spec.output_item)):
        name = getattr(item, "bpmn_name", None)
        if item is not None and name and name != item.bpmn_id:
            report(
                f"{kind} {item.bpmn_id!r} is named {name!r}, but each instance's task data "
                f"would be named by its id, {item.bpmn_id!r}: give it id and name {name!r}"
            )


def _itemless_problem(collection: Any) -> str:
    """A multi-instance activity over a collection whose instances are given no item: neither
    SpiffWorkflow nor Dialflow (which sets no ``loopCounter``) gives an instance anything of
    its element, so every instance ran alike (a countersign's approvers each got the same
    task, none told which approver it was for). The item's name suggested is the collection's
    last name in the singular (``deal.approvers``: ``approver``)."""
    written = str(getattr(collection, "bpmn_name", None) or collection.bpmn_id)
    last = written.split(".")[-1]
    item = last[:-1] if len(last) > 1 and last.endswith("s") and not last.endswith("ss") else ""
    item = item if item.isidentifier() else "item"
    return (
        f"loops over {written!r} (loopDataInputRef) without an inputDataItem, so no instance "
        "would see which item it is for: every instance would run alike. Name the item each "
        f'instance gets: <bpmn:inputDataItem id="{item}" name="{item}"/> (Camunda 7, Flowable, '
        f'Activiti: camunda:elementVariable="{item}"; Camunda 8: inputElement="{item}"), or, '
        "if the instances need no item, give a loopCardinality instead of the collection"
    )


def _check_script(
    script: str, report: Any, first_line: int | None = None, said: str = "script"
) -> None:
    """``first_line``: the file's line on which the script begins, if known. ``said`` names
    which of the task's scripts it is: a script task may hold a pre-script, its script and a
    post-script, and "script has a syntax error on line 1" named none."""
    script = script_text(script)  # as it runs: without the XML's indentation
    if too_deep(script, "exec"):
        report(f"{said} is {TOO_DEEP}")
        return
    try:
        compile(script, "<script>", "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}"
        if first_line and exc.lineno:
            where = f"line {exc.lineno} (line {first_line + exc.lineno - 1} of the file)"
        shown = script.splitlines()[exc.lineno - 1].strip() if exc.lineno else ""
        report(
            f"{said} has a syntax error on {where}: {exc.msg}"
            + (f": {shown!r}" if shown else "")
            + _script_hint(exc.msg)
        )
        return
    exits = _exits(script)
    for call, lineno in exits:
        where = f"line {lineno}"
        if first_line:
            where = f"line {lineno} (line {first_line + lineno - 1} of the file)"
        report(
            f"{said} calls {call}() on {where}; that would stop the server's Python process, not "
            "the script: to stop early, put the rest of the script under an if; to fail the "
            "task with a code an error boundary event catches, call fail('CODE', 'message')"
        )
    for line, message in _engine_variable_calls(script):
        where = f"line {line}"
        if first_line:
            where = f"line {line} (line {first_line + line - 1} of the file)"
        report(f"{said} on {where} {message}")
    exit_lines = {lineno for _call, lineno in exits}
    tree = ast.parse(script, mode="exec")
    for line, message in endless_loops(tree):
        where = f"line {line}"
        if first_line:
            where = f"line {line} (line {first_line + line - 1} of the file)"
        report(f"{said} on {where} {message}")
    for line, message in sandbox.problems_of(tree):
        if line in exit_lines:
            continue  # said above, as the exit it is
        where = f" on line {line}" if line else ""
        if first_line and line:
            where = f" on line {line} (line {first_line + line - 1} of the file)"
        report(f"{said}{where} {message}")


# What Camunda's, Activiti's and jBPM's scripts call to read and set process variables, as
# assistants write them in a Python script too; Dialflow's scripts read and assign names.
_ENGINE_OBJECTS = {"execution", "kcontext", "delegateTask"}
_VARIABLE_METHODS = {"setVariable", "setVariableLocal", "getVariable", "getVariableLocal"}


def _engine_variable_calls(script: str) -> list[tuple[int, str]]:
    """``execution.setVariable("attempts", attempts + 1)`` (``getVariable``, jBPM's
    ``kcontext``) in a Python script: it deployed, and the script failed with a NameError on
    ``execution`` at run time. Each with its line and the Python that does it."""
    tree = ast.parse(script, mode="exec")
    assigned = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in _ENGINE_OBJECTS - assigned
            and node.func.attr in _VARIABLE_METHODS
        ):
            continue
        written = ast.get_source_segment(script, node) or node.func.attr
        name = node.args[0] if node.args else None
        variable = name.value if isinstance(name, ast.Constant) else None
        if not isinstance(variable, str) or not variable.isidentifier():
            instead = "read a variable by its name and set it by assigning it"
        elif node.func.attr.startswith("set") and len(node.args) == 2:
            value = ast.get_source_segment(script, node.args[1]) or "…"
            instead = f"write {variable} = {value}"
        else:
            instead = f"write {variable}"
        found.append(
            (
                node.lineno,
                f"calls {written}: {node.func.value.id} is the Java engines' object, which "
                f"Dialflow's Python scripts do not have (the data's variables are plain "
                f"names): {instead}",
            )
        )
    return sorted(found)


_EXITS = {"exit", "quit", "sys.exit", "os._exit", "os.abort"}


def _exits(script: str) -> list[tuple[str, int]]:
    """The calls of a script that end Python itself (``exit()``, ``sys.exit(1)``), as chat
    assistants write them to stop a script early; each with its line in the script."""
    found = []
    for node in ast.walk(ast.parse(script)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func
        called = (
            name.id
            if isinstance(name, ast.Name)
            else f"{name.value.id}.{name.attr}"
            if isinstance(name, ast.Attribute) and isinstance(name.value, ast.Name)
            else None
        )
        if called in _EXITS:
            found.append((called, node.lineno))
    return sorted(found, key=lambda pair: pair[1])


def _script_hint(message: str) -> str:
    """What a script does instead of what its syntax error tried."""
    if message.startswith("'return' outside function"):
        return (
            "; a script is no function: it returns nothing, and every variable it sets is "
            "kept in the instance's data, so set the value instead of returning it"
        )
    return ""


def script_lines(tree: Any) -> dict[str, int]:
    """Script task id → the line of its ``<script>`` (where the script's first line is)."""
    return {
        task.get("id"): script.sourceline
        for task in tree.iter(f"{{{BPMN_NS}}}scriptTask")
        for script in task.iterfind(f"{{{BPMN_NS}}}script")
        if task.get("id")
    }


def foreign_script_ids(tree: Any) -> set[str]:
    """The ids of script tasks whose ``scriptFormat`` names a language other than Python."""
    return {
        task.get("id")
        for task in tree.iter(f"{{{BPMN_NS}}}scriptTask")
        if task.get("id") and not is_python(task.get("scriptFormat"))
    }


def _check_user_task(spec: UserTask, forms: dict[str, Any], report: Any) -> None:
    properties = (spec.extensions or {}).get("properties", {})
    camunda = camunda_forms.task_problems(spec, forms)  # a Camunda 8 task's .form file
    form_name, schema = form_of(spec, forms)
    if camunda:  # said on the line of the task's <zeebe:formDefinition>
        for said in camunda:
            report(said, line=(spec.extensions or {}).get(camunda_forms.CAMUNDA_FORM_LINE))
    elif form_name and schema is None:
        report(_missing_form(form_name, forms))
    elif schema is not None:
        _check_form(
            f"form {form_name!r}" if form_name else "the form drawn in the diagram", schema, report
        )
    for within in ("dueIn", "followUpIn"):
        due_in = properties.get(within)
        if not due_in:
            continue
        try:
            check_duration(TimerEventDefinition.parse_iso_duration(due_in))
        except TooLong as exc:
            report(f"{within} {due_in!r}: {exc}")
        except Exception:  # SpiffWorkflow raises a bare Exception
            report(f"{within} {due_in!r} is not an ISO 8601 duration such as PT4H")
    for name in ("dueAt", "followUpAt", "priority", "title"):
        if properties.get(name):
            _check_expression(properties[name], name, report)


def _check_lane_owners(spec: Any, lanes: set[str], report: Any) -> None:
    """A person's task whose own pre-script gives ``lane_owners`` only for lanes no process of
    the deploy has (a task in no lane given ``{"manager": [...]}``, as assistants write it
    for SpiffWorkflow): ``lane_owners`` names who works a lane's tasks, so it never applied
    and the task went to the instance's starter (outside every lane) or its own lane."""
    try:
        tree = ast.parse(script_text(spec.prescript or ""))
    except SyntaxError:
        return  # said by the pre-script's own check
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "lane_owners" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            continue
        keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
        if (
            not keys
            or len(keys) != len(node.value.keys)
            or not all(isinstance(key, str) for key in keys)
        ):
            continue
        if any(key in lanes for key in keys):
            continue
        named = ", ".join(repr(key) for key in keys)
        where = f"the task is in lane {spec.lane!r}" if spec.lane else "the task is in no lane"
        runs = (
            "its lane's role or team works it"
            if spec.lane
            else "outside every lane the instance's starter works it"
        )
        report(
            f"its pre-script sets lane_owners for {named}, which no lane of the deploy is "
            f"named, and {where}: lane_owners names who works the tasks of a lane, so it "
            f"never applies and {runs}; put the task in a lane named {keys[0]!r} (a lane "
            "named as a role or team needs no lane_owners)"
        )
        return


def _check_form(label: str, schema: dict[str, Any], report: Any) -> None:
    """What keeps the task's form ``schema`` (said as ``label``) from being filled in."""
    if draft := unknown_draft(schema):
        report(f"{label}: {draft}")
        return
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        report(f"{label} is not a valid JSON Schema: {exc.message}")
        return
    if found := ref_problem(schema):
        report(f"{label}: {found}")
    for found in form_problems(schema):
        report(f"{label}: {found}")
    for found in form_conditions.cycle_problems(schema):
        report(f"{label}: {found}")


def _missing_form(form_name: str, forms: dict[str, Any]) -> str:
    """A form that is not in the deploy; one named by a path (``forms/call.json``,
    ``../../etc/passwd``) is said to be named wrong: forms are the deploy's own .json files,
    named by their file name alone, and nothing is read from any path."""
    if not re.search(r"[/\\]", form_name):
        return f"form {form_name!r} is not part of the deploy; add the .json file"
    base = re.split(r"[/\\]", form_name)[-1]
    hint = (
        f": write {base!r}, the name it has in this deploy"
        if base in forms
        else "; add the .json file and name it by its file name"
    )
    return (
        f"form {form_name!r} is a path; a form is one of the deploy's .json files, named by "
        f"its file name alone (Dialflow reads no file from a path){hint}"
    )


def _check_completion_check(spec: UserTask, registry: HandlerRegistry, report: Any) -> None:
    operator_id = (
        (spec.extensions or {}).get("properties", {}).get("completionCheck") or ""
    ).strip()
    if operator_id and operator_id not in registry:
        report(f"completionCheck names an unknown operator {operator_id!r}")


# SpiffWorkflow 3.2 never fires a cycle timer an event-based gateway waits for (the gateway
# checks each timer as a date or duration): the instance waited for good at it.
_GATEWAY_CYCLE = (
    "a cycle timer (timeCycle) after an event-based gateway never fires: the gateway takes "
    "one event, so write when that is as a duration (timeDuration, such as \"'PT1H'\") or a "
    "date (timeDate)"
)


def _check_message(definition: Any, report: Any) -> None:
    """SpiffArena's message extensions: ``spiffworkflow:messagePayload`` is a Python
    expression (one that did not compile deployed and failed each throw), and
    ``spiffworkflow:messageVariable`` the name a caught message is stored under (one that is no
    Python name deployed, and no script or condition could read the message)."""
    definitions = (
        definition.event_definitions
        if isinstance(definition, MultipleEventDefinition)
        else [definition]
    )
    for held in definitions:
        if isinstance(held, TimerEventDefinition):
            continue  # its expression is the timer's, checked as such
        expression = getattr(held, "expression", None)
        if isinstance(expression, str) and expression.strip():
            what = (
                "spiffworkflow:messagePayload"
                if isinstance(held, MessageEventDefinition)
                else "spiffworkflow:payloadExpression"
            )
            _check_expression(expression, what, report)
        variable = getattr(held, "message_var", None)
        if isinstance(variable, str) and not (
            variable.isidentifier() and not keyword.iskeyword(variable)
        ):
            report(
                f"spiffworkflow:messageVariable {variable!r} is no Python name, so no script "
                "or condition could read the message stored under it; write a name such as "
                "'signature'"
            )


def _check_timer(definition: TimerEventDefinition, report: Any) -> None:
    expression = (definition.expression or "").strip()
    if not expression:
        report(f"timer has no expression; a timer holds an ISO 8601 {_timer_example(definition)}")
        return
    if is_juel(expression):
        return  # reported by engine.foreign
    cron = cron_problem(expression)
    if cron:
        report(cron)
        return
    expression = meant_as_iso(expression) or expression
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        iso = duration_in_words(expression)
        if iso is not None and isinstance(definition, DurationTimerEventDefinition):
            report(
                f"timer expression {expression!r} is a duration in words, which a timer does "
                f"not read; ISO 8601 writes it {iso}: write {iso}"
            )
            return
        elvis = as_python(expression)
        if elvis is not None:
            report(
                f"timer expression {expression!r} uses Groovy's ?: (its left side unless "
                f"empty), which Python does not have: write {elvis}"
            )
            return
        # "24 hours", "tomorrow at 9am": what a timer holds, said with the part's own example
        report(
            f"timer expression is not valid Python: {expression!r} ({exc.msg}); a timer holds an "
            f"ISO 8601 {_timer_example(definition)}, or a Python expression that gives one, "
            "such as the name of a variable a script set"
        )
        return
    if not isinstance(tree.body, ast.Constant) or not isinstance(tree.body.value, str):
        return  # computed at run time from task data
    value = tree.body.value
    try:
        if isinstance(definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(definition, DurationTimerEventDefinition):
            check_duration(TimerEventDefinition.parse_iso_duration(value))
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except TooLong as exc:
        report(f"timer value {value!r}: {exc}")
    except Exception:  # SpiffWorkflow raises bare Exceptions for bad values
        report(f"timer value {value!r} is not a valid ISO 8601 {_timer_example(definition)}")


_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)\.?\s*(?:,|and)?\s*", re.IGNORECASE)
_DURATION_UNITS = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "W"),
    **dict.fromkeys(("d", "day", "days"), "D"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "H"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "M"),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "S"),
}


def duration_in_words(expression: str) -> str | None:
    """The ISO 8601 duration a duration written in words or short units means ('24h',
    '1 day', '2 hours 30 min', as assistants write timers), or None for anything else."""
    text, at, amounts = expression.strip().strip("'\""), 0, {}
    while at < len(text):
        part = _DURATION_PART.match(text, at)
        unit = _DURATION_UNITS.get(part.group(2).lower()) if part else None
        if part is None or unit is None or unit in amounts:
            return None
        amounts[unit], at = int(part.group(1)), part.end()
    if not amounts:
        return None
    if "W" in amounts and len(amounts) > 1:  # ISO 8601 writes weeks alone
        amounts["D"] = amounts.get("D", 0) + 7 * amounts.pop("W")
    date = "".join(f"{amounts[u]}{u}" for u in "WD" if u in amounts)
    time = "".join(f"{amounts[u]}{u}" for u in "HMS" if u in amounts)
    return f"P{date}" + (f"T{time}" if time else "")


def _timer_example(definition: TimerEventDefinition) -> str:
    """What the timer's part (timeCycle, timeDuration, timeDate) takes, with an example."""
    if isinstance(definition, CycleTimerEventDefinition):
        return (
            "cycle (timeCycle): write repetitions and a duration, such as 'R3/PT1H' (three "
            "times an hour apart) or 'R/P1D' (every day)"
        )
    if isinstance(definition, DurationTimerEventDefinition):
        return (
            "duration (timeDuration): write such as 'PT1H' (an hour), 'PT30M' or 'P2D'; hours, "
            "minutes and seconds come after a T"
        )
    return (
        "date (timeDate): write a date and time with its offset, such as "
        "'2026-06-01T09:00:00+08:00'"
    )
