"""Input and output mappings on tasks, subprocesses and events, run as Camunda 7 and 8 run them.

Camunda 7 writes ``<camunda:inputOutput>`` (``<camunda:inputParameter name="x">`` holding text,
JUEL ``${…}``, text around JUEL, ``<camunda:list>``, ``<camunda:map>`` or a
``<camunda:script>``; ``<camunda:outputParameter>`` alike), Camunda 8 ``<zeebe:ioMapping>``
(``<zeebe:input source="=expr" target="x"/>``, ``<zeebe:output …/>``), on user, manual, script,
send, receive, business rule and plain tasks, embedded subprocesses and intermediate and end
events. Service tasks and call activities map their own way (``external_tasks``,
``zeebe_tasks``, ``call_mappings``). They were refused ("map data with a script task").

What the two engines do, and what runs here:

- Inputs are evaluated, in order (each sees the ones before it), when the element is entered,
  and are the element's own variables: its form's values, its scripts, conditions and
  properties see them; once it ends they are gone, and a variable of the same name in the
  enclosing scope is as it was (a task setting it sets its own).
- Outputs are evaluated, in order, when the element completes, over its variables (its inputs,
  what it set), and set in the enclosing scope.
- What the element sets itself reaches the enclosing scope as without mappings (a name an
  input gave it excepted: that one is its own), except where the engine keeps it local:
  Camunda 8 with outputs on a task (a job's, a form's, a message's variables are local then;
  the outputs alone leave it). A Camunda 8 subprocess's inner work reaches the process either
  way, as Zeebe propagates it when it is set. Camunda 7 sets what a task is completed with
  (``TaskService#complete``, a submitted form) "at the highest possible point in the hierarchy
  of variable scopes", the process instance unless a scope between holds the name (its user
  guide, Process Variables), outputs or not: the submitted form reaches the process, its
  fields named as inputs excepted.

Values become Python as Dialflow's other foreign expressions do: JUEL by ``engine.juel`` (a
variable path, EL's operators, a composite text), FEEL by ``zeebe_hints.python_of``, text as
text, an empty parameter as null, a list or map built of such values, and a ``camunda:script``
in Python as the expression it is. An activity's mappings run in its spec (``IoMapped``, wired
by ``with_io``) around its pre- and post-scripts, so a mapping that cannot be read is an
incident on the element, retried as a failed pre- or post-script is; a multi-instance
activity's inputs on each instance, as Camunda 7 applies them (its user guide: "the mapping is
applied for every instance"); an event's, which runs no script, on a task drawn beside it
(``adopt``: before a throw or end event, after a catch) that does nothing else.

Events run theirs on a task drawn beside them (``adopt``): a Camunda 8 start or boundary
event's outputs on a task after it, where what a message, signal, error or escalation carried
stays out of the data the outputs are set in (Camunda 8 keeps it local to an event with
outputs; ``caught``: the data before the event is the data handed on, with the outputs), as
for a Camunda 8 message catch with outputs; a message throw or end event is drawn as the send
task it is, so its message is sent with its inputs and they are gone after it (Camunda runs a
message throw's implementation with them). A Camunda 8 multi-instance activity's outputs run
on each instance and reach the process (``multi_instance`` sets them from each sequential
instance, where SpiffWorkflow merged only the output item); a standard loop's mappings run on
each turn, its ``loopCondition`` reading the outputs.

What does not run as drawn stays refused on the mapping's line (read by ``read``, said by
``foreign.py``): a script in another language, a script from a resource, JUEL calling Java, a
FEEL function with no Python, a target that is no variable name; on the element, what Camunda
refuses itself: Camunda 7 mappings on a start or boundary event ("camunda:inputOutput mapping
unsupported for element type") and outputs on a multi-instance activity, Camunda 8 inputs on a
start or boundary event; outputs on a signal throw (its inputs are what its signal carries,
``signal_inputs``), mappings on a compensation throw, on an event subprocess, and one element
mapped both as Camunda 7 and as Camunda 8.
"""

from __future__ import annotations

import ast
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

from engine import juel, listener_locals, zeebe_expressions, zeebe_hints
from engine.bpmn_xml import BPMN_NS
from engine.call_mappings import feel_path, value_at

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = zeebe_hints.ZEEBE_NS
_CAMUNDA = f"{{{CAMUNDA_NS}}}"
_ZEEBE = f"{{{ZEEBE_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_LOOPS = (
    f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics",
    f"{{{BPMN_NS}}}standardLoopCharacteristics",
)
# Activities whose spec runs the mappings (``IoMapped``); service tasks and call activities
# map their own way.
ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "subProcess",
        "transaction",
    }
)
THROWS = frozenset({"endEvent", "intermediateThrowEvent"})
CATCHES = frozenset({"intermediateCatchEvent"})
# Event definitions whose events run mappings: what the event does is untouched by them.
_THROW_KINDS = frozenset(
    {"", "terminateEventDefinition", "errorEventDefinition", "escalationEventDefinition"}
)
_CATCH_KINDS = frozenset({"timerEventDefinition", "messageEventDefinition"})
# Internal data an activity keeps between its entry and its completion.
SHADOWED = "io_shadowed"  # {input: [it was there before, its value then]}
APPLIED = "io_applied"  # {input: the value given}, to tell a retry from a new entry
BEFORE = "io_before"  # the data before the inputs, where what the element sets is local
# Pre- and post-scripts given to an activity that has none, so its inputs and outputs run
# where SpiffWorkflow runs them (with their failures heard, ``engine.task_scripts``).
NO_PRESCRIPT = "pass  # the element's input mappings"
NO_POSTSCRIPT = "pass  # the element's output mappings"


@dataclass(frozen=True)
class Parameter:
    """One mapping: ``target`` set to ``python`` evaluated (``None``: null), as the mapping on
    ``line`` says (``said``)."""

    target: str
    python: str | None
    line: int | None
    said: str
    path: tuple[str, ...] | None = None  # a FEEL source that only reads a variable path

    @property
    def root(self) -> str:
        """The variable the target sets (``deal`` of Camunda 8's ``deal.commission``)."""
        return self.target.split(".")[0]


@dataclass(frozen=True)
class IoMappings:
    """An element's inputs and outputs, and whether what it sets itself stays local
    (``local_work``: only the outputs leave it)."""

    inputs: tuple[Parameter, ...]
    outputs: tuple[Parameter, ...]
    local_work: bool
    # A task drawn after a Camunda 8 catch with outputs (``adopt``): the data before the event
    # caught, not what it caught, is what the outputs are set in.
    caught: bool = False


def _own(element: Any, namespace: str, local: str) -> list[Any]:
    return [
        found
        for extensions in element.findall(_EXTENSIONS)
        for found in extensions.findall(f"{{{namespace}}}{local}")
    ]


def mapping_elements(element: Any) -> list[Any]:
    """The ``camunda:inputOutput`` and ``zeebe:ioMapping`` elements of ``element``."""
    return _own(element, CAMUNDA_NS, "inputOutput") + _own(element, ZEEBE_NS, "ioMapping")


def _definition_kind(event: Any) -> str:
    kinds = [
        etree.QName(child).localname
        for child in event
        if isinstance(child.tag, str) and etree.QName(child).localname.endswith("EventDefinition")
    ]
    return kinds[0] if len(kinds) == 1 else ("" if not kinds else "several")


def _kind(element: Any) -> str:
    return etree.QName(element).localname if etree.QName(element).namespace == BPMN_NS else ""


# Events whose Camunda 8 outputs run on a task drawn after them (Camunda 7 maps none there).
_STARTS_AND_BOUNDARIES = frozenset({"startEvent", "boundaryEvent"})
# Their definitions whose event carries variables (a message's, an error's), local to the
# event in Camunda 8 when it has outputs; a timer's and a plain start's carry none.
_CARRYING = frozenset(
    {
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
    }
)
_CAUGHT_KINDS = _CARRYING | {"", "timerEventDefinition"}
# The attribute ``adopt`` marks a task drawn after such an event with: what the event carried
# stays out of the data its outputs hand on.
CAUGHT = "{https://dialflow.dev/io}caught"


def handles(element: Any) -> bool:
    """Whether the mappings of ``element`` (a flow node) are this module's to run or refuse."""
    kind = _kind(element)
    return kind in ACTIVITIES or kind in THROWS or kind in CATCHES or kind in _STARTS_AND_BOUNDARIES


def read(element: Any) -> tuple[IoMappings | None, list[tuple[Any, str]]]:
    """The mappings of ``element`` (``None`` when it has none) and the problems of those that
    cannot run as drawn, each with the element to say it on."""
    camunda = _own(element, CAMUNDA_NS, "inputOutput")
    zeebe = _own(element, ZEEBE_NS, "ioMapping")
    if not camunda and not zeebe:
        return None, []
    if camunda and zeebe:
        return None, [
            (zeebe[0], "the element maps variables both as Camunda 7 and as Camunda 8: keep one")
        ]
    problems = _element_problems(element, camunda or zeebe, bool(zeebe))
    if problems:
        return None, problems
    found: dict[str, list[Parameter]] = {"input": [], "output": []}
    holders = camunda or zeebe
    if len(holders) > 1:
        return None, [(holders[1], "an element has one mapping element: merge them")]
    for entry in holders[0]:
        if not isinstance(entry.tag, str):
            continue
        said = _zeebe_entry(entry) if zeebe else _camunda_entry(entry)
        if isinstance(said, str):
            problems.append((entry, said))
        else:
            found[said[0]].append(said[1])
    if problems:
        return None, problems
    kind = _kind(element)
    outputs = tuple(found["output"])
    local_work = bool(outputs) and bool(zeebe) and kind not in ("subProcess", "transaction")
    caught = local_work and element.get(CAUGHT) == "true"
    return IoMappings(tuple(found["input"]), outputs, local_work, caught), []


def _sides(holders: list[Any]) -> set[str]:
    """``input`` and ``output``: the sides the mapping elements ``holders`` map."""
    sides = set()
    for holder in holders:
        for entry in holder:
            if isinstance(entry.tag, str):
                local = etree.QName(entry).localname
                sides.add("output" if local in ("output", "outputParameter") else "input")
    return sides


def _element_problems(element: Any, holders: list[Any], zeebe: bool) -> list[tuple[Any, str]]:
    """What keeps an element's mappings from running at all, said on its first mapping."""
    kind = _kind(element)
    at = holders[0]
    if kind in ACTIVITIES:
        if element.find(_LOOPS[0]) is not None and not zeebe and "output" in _sides(holders):
            return [
                (
                    at,
                    "a multi-instance activity maps inputs for each instance, no outputs "
                    "(Camunda 7 supports none there: each instance would overwrite the last): "
                    "collect each instance's result in the output collection "
                    "(loopDataOutputRef and outputDataItem, camunda:collection's "
                    "counterpart) and read it after the activity",
                )
            ]
        if element.get("triggeredByEvent") == "true":
            return [(at, "an event subprocess maps no variables: map them in its first task")]
        return []
    definition = _definition_kind(element)
    if kind in _STARTS_AND_BOUNDARIES:
        what = "a start event" if kind == "startEvent" else "a boundary event"
        if not zeebe:
            return [
                (
                    at,
                    f"Camunda 7 maps no variables on {what} either (inputOutput is for tasks, "
                    "subprocesses and the other events): set them in a script task after it",
                )
            ]
        if "input" in _sides(holders):
            return [
                (
                    at,
                    f"Camunda 8 maps only outputs on {what} (nothing runs in it to read "
                    "inputs): remove the inputs, or compute the values in the outputs",
                )
            ]
        if definition not in _CAUGHT_KINDS:
            return [
                (
                    at,
                    f"Dialflow maps outputs on a plain, timer, message, signal, error or "
                    f"escalation {what}, not on a {definition or 'plain'} one: set the values "
                    "in a script task after it",
                )
            ]
        return []
    if kind in THROWS and definition in _THROW_KINDS:
        return []
    if kind in THROWS and definition == "messageEventDefinition":
        return []  # run as the send task it is drawn as (``adopt``)
    if kind in THROWS and definition == "signalEventDefinition":
        if "output" in _sides(holders):
            return [
                (
                    at,
                    "a signal throw maps inputs only, the variables its signal carries "
                    "(Camunda 8's signal variables); nothing runs in it to hand outputs on: "
                    "remove the outputs, or set the values in a script task before it",
                )
            ]
        return []  # its inputs are what its signal carries (``signal_inputs``)
    if kind in CATCHES and definition in _CATCH_KINDS:
        return []
    what = definition.replace("EventDefinition", "") or "plain"
    return [
        (
            at,
            f"Dialflow maps variables on tasks, subprocesses and plain, timer and message "
            f"intermediate and end events, not on a {what} {kind}: compute them in a script "
            "task beside it",
        )
    ]


def _written(entry: Any) -> str:
    attributes = " ".join(f'{etree.QName(k).localname}="{v}"' for k, v in entry.attrib.items())
    prefix = entry.prefix or ("zeebe" if etree.QName(entry).namespace == ZEEBE_NS else "camunda")
    return f"<{prefix}:{etree.QName(entry).localname}{' ' if attributes else ''}{attributes}>"


def _zeebe_entry(entry: Any) -> tuple[str, Parameter] | str:
    local = etree.QName(entry).localname
    where = f"<zeebe:{local}> on line {entry.sourceline}"
    if entry.tag != f"{_ZEEBE}{local}" or local not in ("input", "output") or len(entry):
        return (
            f"{where} is no mapping: an ioMapping holds <zeebe:input> and <zeebe:output> "
            "elements, each with a source and a target"
        )
    target = (entry.get("target") or "").strip()
    source = entry.get("source")
    others = sorted(set(entry.attrib) - {"source", "target"})
    if not target:
        return f"{where} has no target: name the variable it sets"
    if not all(part.isidentifier() for part in target.split(".")):
        return (
            f"{where} sets {target!r}: a target names a variable or a field of one "
            "(deal.commission)"
        )
    if others:
        return f"{where}: a mapping has a source and a target only, not {', '.join(others)}"
    if source is None or not source.strip() or source.strip() == "=":
        python = None  # Camunda 8 maps a mapping without a source to null
    else:
        python = zeebe_expressions.value_python(source.strip())
        if python is None:
            return (
                f"{where}: its source {source!r} has no Python Dialflow evaluates: it holds "
                f"{zeebe_expressions.untranslated(source)}; compute the value in a script task "
                "before the element"
            )
    said = f'<zeebe:{local} source="{source or ""}" target="{target}"/>'
    path = feel_path(source)  # FEEL reads a missing variable or field as null
    return local, Parameter(target, python, entry.sourceline, said, path)


def _camunda_entry(entry: Any) -> tuple[str, Parameter] | str:
    local = etree.QName(entry).localname
    written = _written(entry)
    if entry.tag not in (f"{_CAMUNDA}inputParameter", f"{_CAMUNDA}outputParameter"):
        return (
            f"{written} (line {entry.sourceline}) is no parameter: an inputOutput holds "
            "<camunda:inputParameter> and <camunda:outputParameter> elements"
        )
    name = (entry.get("name") or "").strip()
    if not name.isidentifier():
        return (
            f"{written} on line {entry.sourceline}: name the variable it sets in name (letters, "
            "digits, _)"
        )
    python = value_python(entry)
    if isinstance(python, _Refused):
        return f"{written} on line {python.line or entry.sourceline}: {python.why}"
    side = "input" if local == "inputParameter" else "output"
    return side, Parameter(name, python, entry.sourceline, f"{written} ({name})")


@dataclass(frozen=True)
class _Refused:
    why: str
    line: int | None


def value_python(node: Any) -> str | _Refused | None:
    """The Python of a Camunda 7 parameter's or map entry's value: its text (``None`` for
    none: null), or its one ``camunda:list``, ``camunda:map`` or ``camunda:script``."""
    inner = [child for child in node if isinstance(child.tag, str)]
    if not inner:
        return text_python(node.text or "", node.sourceline)
    if len(inner) > 1 or (node.text or "").strip():
        return _Refused("a value is its text, or one list, map or script", node.sourceline)
    return _structure_python(inner[0])


_STRUCTURES = (f"{_CAMUNDA}list", f"{_CAMUNDA}map", f"{_CAMUNDA}script")


def _structure_python(value: Any) -> str | _Refused:
    """A ``camunda:list`` (its items are any child elements' texts, or nested lists, maps and
    scripts), ``camunda:map`` (``camunda:entry`` elements, their keys text or JUEL) or
    ``camunda:script`` as Python."""
    if value.tag == f"{_CAMUNDA}script":
        return _script_python(value)
    children = [child for child in value if isinstance(child.tag, str)]
    if value.tag == f"{_CAMUNDA}list":
        items = []
        for item in children:
            python = _structure_python(item) if item.tag in _STRUCTURES else value_python(item)
            if isinstance(python, _Refused):
                return python
            items.append(python or "None")
        return f"[{', '.join(items)}]"
    if value.tag == f"{_CAMUNDA}map":
        entries = []
        for item in children:
            key = item.get("key")
            if item.tag != f"{_CAMUNDA}entry" or key is None:
                return _Refused(
                    'a <camunda:map> holds <camunda:entry key="…"> elements', item.sourceline
                )
            key_python = text_python(key, item.sourceline)
            python = value_python(item)
            for said in (key_python, python):
                if isinstance(said, _Refused):
                    return said
            entries.append(f"{key_python or 'None'}: {python or 'None'}")
        return f"{{{', '.join(entries)}}}"
    local = etree.QName(value).localname
    return _Refused(
        f"<{value.prefix or 'camunda'}:{local}> is no value Dialflow reads (text, JUEL, "
        "<camunda:list>, <camunda:map>, <camunda:script>)",
        value.sourceline,
    )


def _script_python(script: Any) -> str | _Refused:
    from engine.foreign import is_python  # foreign imports this module

    language = script.get("scriptFormat")
    if script.get("resource") is not None:
        return _Refused(
            "a script read from a resource is not in the diagram: write its Python in "
            '<camunda:script scriptFormat="python">',
            script.sourceline,
        )
    if not is_python(language):
        return _Refused(
            f"its value is a {language!r} script; Dialflow evaluates Python: write it as "
            'a Python expression in <camunda:script scriptFormat="python">, or as ${…}',
            script.sourceline,
        )
    text = (script.text or "").strip()
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):  # too deep to parse: no translation
        return _Refused(
            "a Python script giving a value is one expression (its value is the "
            "parameter's): write the expression, or compute it in a script task",
            script.sourceline,
        )
    return f"({text})"


def text_python(text: str, line: int | None = None) -> str | _Refused | None:
    """A Camunda 7 value written as text: JUEL ``${…}`` as its Python, text around JUEL as the
    string EL's composite expression builds, plain text as that text; none as null."""
    text = text.strip()
    if not text:
        return None
    body = juel.whole_body(text)  # ``${a} with ${b}`` is a composite, not one expression
    if body is None and ("${" in text or "#{" in text):
        composite = juel.translate_composite(text)
        if composite is None:
            return _Refused(_why_not(text), line)
        return composite
    if body is None:
        return repr(text)
    if juel.engine_names(body):
        return _Refused(_why_not(text), line)
    # EL's operators and coercions ("12" + 1 is 13, "12" == 12), as listeners compute a
    # value: a variable the data lacks fails, as Camunda 7's "Cannot resolve identifier"
    python = juel.value_python(body)
    return python if python else _Refused(_why_not(text), line)


def _why_not(text: str) -> str:
    reason = juel.untranslated(text) or "outside the JUEL Dialflow runs"
    return (
        f"{text} cannot be computed ({reason}); compute it in Python in a script task before "
        "the element"
    )


# --- the run -------------------------------------------------------------------------------


def _evaluate(task: Any, mapping: Parameter, scope: dict[str, Any], side: str) -> Any:
    if mapping.python is None:
        return None
    try:
        if mapping.path is not None:
            return value_at(scope, mapping.path)
        return task.workflow.script_engine.environment.evaluate(mapping.python, scope)
    except Exception as exc:
        raise WorkflowTaskException(
            f"the {side} mapping {mapping.said} (line {mapping.line}) of "
            f"{_element_of(task)!r} cannot be read: {type(exc).__name__}: {exc}",
            task=task,
            exception=exc,
        ) from exc


def _element_of(task: Any) -> str:
    """The diagram's element whose mappings ``task`` runs (an event's, on a task drawn for
    them, ``adopt``)."""
    from engine.listeners import drawn_for

    return drawn_for(task.task_spec.bpmn_id or "", task.workflow.spec.task_specs)


def _put(values: dict[str, Any], mapping: Parameter, value: Any, base: Any) -> None:
    """Set ``mapping``'s target in ``values``: a variable, or a field of one (Camunda 8's
    ``deal.commission``), set in a copy of ``base``, the variable as it was (an object made
    where it was none)."""
    fields = mapping.target.split(".")
    if len(fields) == 1:
        values[mapping.target] = value
        return
    root = deepcopy(base) if isinstance(base, dict) else {}
    holder = root
    for field in fields[1:-1]:
        if not isinstance(holder.get(field), dict):
            holder[field] = {}
        holder = holder[field]
    holder[fields[-1]] = value
    values[fields[0]] = root


def evaluate_input(task: Any, mapping: Parameter, values: dict[str, Any]) -> None:
    """Set one input's value in ``values`` (the inputs so far, over ``task``'s data)."""
    value = deepcopy(_evaluate(task, mapping, {**task.data, **values}, "input"))
    _put(values, mapping, value, values.get(mapping.root))


def apply_inputs(task: Any, mappings: IoMappings) -> None:
    """Give ``task`` its inputs as its own variables, remembering what they cover."""
    data = task.data
    values: dict[str, Any] = {}
    for mapping in mappings.inputs:
        value = deepcopy(_evaluate(task, mapping, {**data, **values}, "input"))
        _put(values, mapping, value, values.get(mapping.root))  # a new variable of its own
    internal = task.internal_data
    applied = internal.get(APPLIED)
    again = applied is not None and all(
        name in data and data[name] == value for name, value in applied.items()
    )
    if not again:  # entered now (a waiting receive task takes its parent's data again)
        internal[SHADOWED] = {name: [name in data, deepcopy(data.get(name))] for name in values}
        if mappings.local_work:
            internal[BEFORE] = deepcopy(_before_catch(task) if mappings.caught else data)
    internal[APPLIED] = deepcopy(values)
    data.update(values)


def _before_catch(task: Any) -> dict[str, Any]:
    """The data as it was before the event ``task`` is drawn after caught what it carried:
    the data of the task before that event (a boundary event's activity's split, a start
    event's instance start, the task before an intermediate catch; an event subprocess's
    start event's, the scope's data before its event, which its run started with)."""
    from engine.event_subprocesses import keep_event_local  # it imports the specs here

    event = task.parent
    before = event.parent if event is not None else None
    if before is not None and before.parent is None:  # the start of a run of a (sub)process
        scope = keep_event_local(task.workflow)  # an event subprocess's: its event's data out
        if scope is not None:
            return scope
    return listener_locals.outside(before) if before is not None else {}


def apply_outputs(task: Any, mappings: IoMappings) -> None:
    """Set ``task``'s outputs in what it hands on, its own variables taken out."""
    data = task.data
    internal = task.internal_data
    before = internal.get(BEFORE) if mappings.local_work else None
    shadowed = internal.get(SHADOWED, {})

    def outside(name: str) -> Any:  # the variable as the enclosing scope has it
        if before is not None:
            return before.get(name)
        if name in shadowed:
            existed, value = shadowed[name]
            return value if existed else None
        return data.get(name)

    values: dict[str, Any] = {}
    for mapping in mappings.outputs:
        value = deepcopy(_evaluate(task, mapping, {**data, **values}, "output"))
        base = values[mapping.root] if mapping.root in values else outside(mapping.root)
        _put(values, mapping, value, base)
    if before is not None:
        data.clear()
        data.update(before)
    else:
        for name, (existed, value) in shadowed.items():
            if existed:
                data[name] = value
            else:
                data.pop(name, None)
    for key in (BEFORE, SHADOWED, APPLIED):
        internal.pop(key, None)
    data.update(values)


def hide_carried(task: Any, shown: dict[str, Any]) -> None:
    """Take out of ``shown``, the data an instance shows, what the event before ``task`` carried
    when ``task`` runs that Camunda 8 catch's outputs (``caught``) and is in an incident: the
    message's (signal's, error's, escalation's) variables are the event's own until its
    outputs are set, and a retry hands on the outputs only, but they showed in the instance's
    data while the outputs were in the incident."""
    io = getattr(task.task_spec, "io", None)
    before = task.internal_data.get(BEFORE)
    if task.state != TaskState.ERROR or io is None or not io.caught or before is None:
        return
    for name, value in task.data.items():
        if name not in shown or shown[name] != value:
            continue  # not the carried value the instance shows
        if name not in before:
            del shown[name]
        elif before[name] != value:
            shown[name] = deepcopy(before[name])


class IoMapped:
    """A task spec running its element's ``io`` mappings (``None``: it has none): the inputs
    before its pre-script, the outputs after its post-script (see the module)."""

    io: IoMappings | None = None

    def execute_script(self, my_task: Any, script: str) -> None:
        io = self.io
        pre = script is getattr(self, "prescript", None) and my_task.state != TaskState.COMPLETED
        post = script is getattr(self, "postscript", None) and my_task.state == TaskState.COMPLETED
        if io is not None and pre:
            try:
                apply_inputs(my_task, io)
            except Exception:
                my_task._set_state(TaskState.ERROR)
                raise
        if script is not NO_PRESCRIPT and script is not NO_POSTSCRIPT:
            super().execute_script(my_task, script)  # type: ignore[misc]
        if io is not None and post:
            try:
                apply_outputs(my_task, io)
            except Exception:
                my_task._set_state(TaskState.ERROR)
                raise


def with_io(parser_class: type) -> type:
    """``parser_class`` giving each spec its element's mappings (``io``), and the pre- or
    post-script they run beside where it has none."""

    class Parser(parser_class):  # type: ignore[misc, valid-type]
        def create_task(self) -> Any:
            task = super().create_task()
            io = read(self.node)[0]
            if io is None or not isinstance(task, IoMapped):
                return task
            task.io = io
            if (io.inputs or io.local_work) and getattr(task, "prescript", None) is None:
                task.prescript = NO_PRESCRIPT
            if getattr(task, "postscript", None) is None:
                task.postscript = NO_POSTSCRIPT  # the inputs are taken out even without outputs
            return task

        def _copy_task_attrs(self, original: Any, loop_characteristics: Any = None) -> None:
            # A multi-instance activity: SpiffWorkflow gives the activity its element's pre-
            # and post-script; the mappings run on each instance (Camunda's), with theirs.
            super()._copy_task_attrs(original, loop_characteristics)
            if getattr(original, "io", None) is None:
                return
            for name, marker in (("prescript", NO_PRESCRIPT), ("postscript", NO_POSTSCRIPT)):
                if getattr(self.task, name, None) is marker:
                    setattr(self.task, name, None)
                if getattr(original, name, None) is None:
                    setattr(original, name, marker)

    Parser.__name__ = parser_class.__name__
    return Parser


def own_values(task: Any) -> dict[str, Any]:
    """The inputs of ``task``'s element as they are in its data: values its form shows that
    the instance's data does not hold."""
    io = getattr(task.task_spec, "io", None)
    if io is None:
        return {}
    return {m.root: task.data[m.root] for m in io.inputs if m.root in task.data}


# --- events: a task beside them -----------------------------------------------------------


def adopt(tree: Any) -> None:
    """Each intermediate or end event's mappings that run, moved onto a script task drawn
    beside it (before a throw or end event, after a catch) that does nothing else: its spec
    runs them as an activity's (``IoMapped``), the event's inputs local to it."""
    from engine.bpmn_xml import extension_elements
    from engine.listeners import script_task

    for kind in sorted(THROWS | CATCHES | _STARTS_AND_BOUNDARIES):
        for event in list(tree.iter(f"{{{BPMN_NS}}}{kind}")):
            mappings, problems = read(event)
            if mappings is None or problems or not event.get("id"):
                continue  # an event without an id: wiring says so, with its line
            definition = _definition_kind(event)
            if kind in THROWS and definition == "messageEventDefinition":
                _as_send_task(event)
                continue
            if kind in THROWS and definition == "signalEventDefinition":
                continue  # its spec sends its inputs with its signal (``signal_inputs``)
            side = "before" if kind in THROWS else "after"
            script_task(event, side, "pass", kind="mappings")
            task_id = f"{event.get('id')}_mappings_{side}"
            task = next(e for e in event.getparent() if e.get("id") == task_id)
            if side == "after" and definition in _CARRYING:
                task.set(CAUGHT, "true")
            extensions = extension_elements(task)
            for holder in mapping_elements(event):
                extensions.append(holder)


def _as_send_task(event: Any) -> None:
    """A message throw or end event with mappings drawn as the send task it is (same id,
    message, mappings), so its inputs are there when its message takes the data and gone
    after, as Camunda runs a message throw's implementation with them; an end event's path
    then ends at a plain end event after it."""
    definition = event.find(f"{{{BPMN_NS}}}messageEventDefinition")
    task = etree.Element(f"{{{BPMN_NS}}}sendTask", dict(event.attrib))
    if definition is not None and definition.get("messageRef"):
        task.set("messageRef", definition.get("messageRef"))
    for child in list(event):
        if child is definition:
            for inner in list(definition):  # a payload or a job worker's settings
                task.append(inner)
            continue
        if isinstance(child.tag, str) and etree.QName(child).localname == "outgoing":
            continue
        task.append(child)
    event.addprevious(task)
    event.getparent().remove(event)
    if _kind(event) != "endEvent":
        for child in event:
            if isinstance(child.tag, str) and etree.QName(child).localname == "outgoing":
                task.append(child)
        return
    end_id = f"{event.get('id')}_end"
    flow_id = f"{end_id}_flow"
    etree.SubElement(task, f"{{{BPMN_NS}}}outgoing").text = flow_id
    end = etree.Element(f"{{{BPMN_NS}}}endEvent", id=end_id)
    etree.SubElement(end, f"{{{BPMN_NS}}}incoming").text = flow_id
    task.addnext(end)
    end.addnext(
        etree.Element(
            f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=task.get("id"), targetRef=end_id
        )
    )


# --- deploy checks (``foreign.py``) -------------------------------------------------------


def _owner(element: Any) -> Any:
    holder = element.getparent()
    holder = holder.getparent() if holder is not None and holder.tag == _EXTENSIONS else None
    return holder


def runs(element: Any) -> bool:
    """True for a ``camunda:inputOutput`` or ``zeebe:ioMapping`` this module runs as drawn."""
    if etree.QName(element).localname not in ("inputOutput", "ioMapping"):
        return False
    owner = _owner(element)
    if owner is None or not handles(owner):
        return False
    mappings, problems = read(owner)
    return mappings is not None and not problems


def hint(element: Any) -> str | None:
    """What to write instead, for a mapping element this module does not run."""
    owner = _owner(element)
    if owner is None or not handles(owner):
        return None
    said = [message for at, message in read(owner)[1] if _inside(at, element)]
    return "; ".join(said) if said else None


def problem_at(element: Any) -> Any:
    """The first entry of the mapping ``element`` that cannot run (its line is the one to
    say), else ``element``."""
    owner = _owner(element)
    if owner is None or not handles(owner):
        return element
    return next((at for at, _ in read(owner)[1] if _inside(at, element)), element)


def _inside(node: Any, ancestor: Any) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False
