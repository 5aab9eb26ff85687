"""Parse a bundle with the spiff parser and XSD validation, then check what will run.

Every problem becomes one ``{"element_id", "line", "message"}`` detail of an ``InvalidBpmn``
(422 ``invalid_bpmn``). Malformed XML is reported the same way; nothing here raises anything
else for bad input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import HitPolicy
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.boundaries import DialflowParser
from engine.bpmn_xml import ACTIVITIES, BPMN_NS, SAFE_XML, drawn_only, element_problem
from engine.checks import check_specs, conditions_by_gateway, flow_condition_problems
from engine.constructs import (
    decision_problems,
    has_decision,
    is_dmn,
    rewrite_parser_message,
    unsupported_problems,
)
from engine.data_objects import name_data_objects
from engine.element_specs import read_elements
from engine.errors import InvalidBpmn, problem
from engine.event_payloads import carry_payloads
from engine.feel import translate_tree
from engine.foreign import foreign_problems, is_reported
from engine.hit_policies import rewrite_tree
from engine.links import join_links, link_problems
from engine.loops import endless_loop_problems
from engine.wiring import reached_elements, wiring_problems
from handlers.registry import HandlerRegistry

Lines = dict[str, dict[str, int]]  # file name → element id → line, one index per file
MAX_DEPTH = 256  # libxml2's limit without huge_tree
PROCESS = f"{{{BPMN_NS}}}process"
_NS = re.compile(r"\{http://www\.omg\.org/spec/(BPMN|DD)/20100524/[A-Z-]+\}")


@dataclass
class ParsedBundle:
    """Specs per executable process id, ready for ``BpmnWorkflow(spec, subprocess_specs)``."""

    specs: dict[str, BpmnProcessSpec] = field(default_factory=dict)
    subprocess_specs: dict[str, dict[str, BpmnProcessSpec]] = field(default_factory=dict)
    names: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # process id -> BPMN file name
    # A refused deploy's processes the parser could not build, read element by element
    # (``element_specs``) for the semantic checks; never run.
    unbuilt: dict[str, BpmnProcessSpec] = field(default_factory=dict)
    # Per built process, its elements no path reaches (the parser left them out), read the
    # same way for the same checks: a refused deploy names their own problems too.
    unreached: dict[str, BpmnProcessSpec] = field(default_factory=dict)


def parse_bundle(
    bpmn: dict[str, str],
    dmn: dict[str, str],
    *,
    validate: bool = True,
    problems: list[dict[str, Any]] | None = None,
) -> ParsedBundle:
    """Parse BPMN and DMN texts. With ``validate``, XSD errors, the XML passes' problems and
    the parser's are collected into ``problems``, and every process is built (or read element
    by element) even when another one has problems, so that a deploy lists them all at once.
    Problems carry private marks for ``validate_bundle``: ``_xsd`` (the schema's), ``_added``
    (the parser's on a file), ``_built`` (on a process), ``_element`` (on one element)."""
    problems = [] if problems is None else problems
    parser = DialflowParser()
    lines: Lines = {}  # per file: two files of a deploy often share ids such as StartEvent_1
    decisions: dict[str, str] = {}  # decision id -> the DMN file that has it
    for name, text in dmn.items():
        tree = _xml(name, text, problems, refuse_doctype=validate)
        if tree is None:
            continue
        if validate and _duplicate_decisions(name, tree, decisions, problems):
            continue
        if not (is_dmn(tree) and has_decision(tree)):
            continue  # named by constructs.decision_problems; the parser fails on it garbled
        rewrite_tree(tree)  # RULE ORDER, PRIORITY, OUTPUT ORDER as policies it decides
        translate_tree(tree)  # FEEL rule cells as the Python SpiffWorkflow evaluates
        _guard(problems, name, lambda tree=tree, name=name: parser.add_dmn_xml(tree, name))
    process_files: dict[str, str] = {}
    trees: dict[str, Any] = {}
    schema_invalid: set[str] = set()  # files the XSD refuses: their later passes are guarded
    for name, text in bpmn.items():
        tree = _xml(name, text, problems, refuse_doctype=validate)
        if tree is None or (validate and not _bpmn_root(name, tree, problems)):
            continue  # nothing more can be said of it
        trees[name] = tree
        lines[name] = _line_index(tree)
        if validate and not _xsd_valid(name, tree, problems, lines[name]):
            schema_invalid.add(name)
        if validate:
            problems += _xml_pass(name in schema_invalid, link_problems, name, tree)
            problems += _xml_pass(name in schema_invalid, _untriggered_catches, name, tree)
        _xml_pass(name in schema_invalid, join_links, tree)  # the parser knows no link events
        _xml_pass(name in schema_invalid, name_data_objects, tree)  # bpmn.io's generated ids
        before = set(parser.process_parsers)
        add = lambda tree=tree, name=name: parser.add_bpmn_xml(tree, name)  # noqa: E731
        if _guard(problems, name, add, {name: _line_index(tree)}, mark="_added"):
            process_files.update({pid: name for pid in set(parser.process_parsers) - before})
    if validate:
        # a called process counts as there when its file has it, even if the parser did not
        # take that file (its problems are listed)
        known = set(parser.process_parsers) | {
            process.get("id") for tree in trees.values() for process in tree.iter(PROCESS)
        }
        for name, tree in trees.items():
            problems += _xml_pass(name in schema_invalid, _reference_problems, name, tree, known)
        problems += _xml_pass(bool(schema_invalid), _call_cycle_problems, list(trees.items()))
    parsed = ParsedBundle()
    if problems and not validate:
        return parsed
    process_ids = parser.get_process_ids() or list(parser.process_parsers)
    if not process_ids and not problems:
        problems.append(problem("no process found: a BPMN file needs a <bpmn:process>"))
    seen: set[tuple[str, str]] = set()  # (file, element id) of the elements read one by one
    for process_id in process_ids:

        def load(process_id: str = process_id) -> None:
            parsed.specs[process_id] = parser.get_spec(process_id)
            parsed.subprocess_specs[process_id] = parser.get_subprocess_specs(process_id)
            for spec in [parsed.specs[process_id], *parsed.subprocess_specs[process_id].values()]:
                _collect_into_lists(spec)
                carry_payloads(spec)

        file = process_files.get(process_id, "")
        process_parser = parser.process_parsers[process_id]
        if not _guard(problems, file, load, lines, mark="_built") and validate:
            parsed.specs.pop(process_id, None)
            parsed.subprocess_specs.pop(process_id, None)
            unbuilt = _read_unbuilt(process_parser, problems, file, lines, seen)
            if unbuilt is not None:
                parsed.unbuilt[process_id] = unbuilt
        elif validate:
            unreached = _read_unreached(process_parser, problems, file, lines, seen)
            if unreached is not None:
                parsed.unreached[process_id] = unreached
        parsed.names[process_id] = parser.process_parsers[process_id].get_name()
        parsed.files[process_id] = file
    _locate_by_name(problems, trees)
    return parsed


def _read_unbuilt(
    process_parser: Any,
    problems: list[dict[str, Any]],
    file: str,
    lines: Lines,
    seen: set[tuple[str, str]],
) -> BpmnProcessSpec | None:
    """A process the parser could not build, read element by element (``element_specs``),
    each element's failure a problem marked ``_element``; None if even that fails (the
    parser's problem with the process is listed)."""

    def read(action: Callable[[], None]) -> bool:
        return _guard(problems, file, action, lines, mark="_element")

    try:
        return read_elements(process_parser, read, seen)
    except Exception:  # outside any element: the process's own reading
        return None


def _read_unreached(
    process_parser: Any,
    problems: list[dict[str, Any]],
    file: str,
    lines: Lines,
    seen: set[tuple[str, str]],
) -> BpmnProcessSpec | None:
    """The elements of a built process that no path reaches (``wiring.reached_elements``),
    which the parser, following the flows, left out of the spec: read element by element
    (``element_specs``) so the semantic checks see them too; an element that cannot be read
    is a problem marked ``_unreached``. None when every element is reached."""
    node = process_parser.node
    reached = reached_elements(node)
    everything = [e for e in node.iter() if isinstance(e.tag, str) and e.get("id")]
    if all(element in reached for element in everything):
        return None
    where = process_parser.filename or ""
    skip = {(where, e.get("id")) for e in everything if e in reached} | seen

    def read(action: Callable[[], None]) -> bool:
        return _guard(problems, file, action, lines, mark="_unreached")

    try:
        return read_elements(process_parser, read, skip)
    except Exception:  # outside any element: nothing more to say than wiring does
        return None
    finally:
        seen |= {key for key in skip if key[0] == where}


def _xml_pass(guarded: bool, action: Callable[..., Any], *args: Any) -> Any:
    """Run a pass over a file's XML. On a file the XSD refused it may meet what no valid file
    holds (an attribute missing, an element out of place): it then finds nothing, and the
    XSD's problems say what is wrong."""
    if not guarded:
        return action(*args)
    try:
        return action(*args)
    except Exception:  # anything, on XML the schema refused
        return []


class _SingleHitEngine(DMNEngine):
    """UNIQUE answers the one matching rule and ANY the output all matching rules agree on;
    SpiffWorkflow 3.2 answers with the first match for both, so a table whose rules overlap
    decided silently by their order. Several matches of a UNIQUE table, or matches of an ANY
    table with different outputs, fail the task (an incident naming the rules) instead.

    A single-hit table (UNIQUE, ANY, FIRST) none of whose rules match answers null for each
    output, as DMN says: SpiffWorkflow 3.2 left the outputs unset, and the gateway after the
    task failed on an unknown name instead of taking its default flow."""

    def decide(self, task: Any) -> list[Any]:
        table = self.decision_table
        matched = [rule for rule in table.rules if self._DMNEngine__check_rule(rule, task)]
        if len(matched) > 1 and table.hit_policy != "FIRST":
            ids = ", ".join(repr(rule.id) for rule in matched)
            if table.hit_policy == HitPolicy.UNIQUE.value:
                raise ValueError(
                    f"decision table {table.id!r} has hit policy UNIQUE but rules {ids} all "
                    "match; make the rules exclusive or use hit policy FIRST"
                )
            outputs = [rule.output_as_dict(task) for rule in matched]
            if any(output != outputs[0] for output in outputs[1:]):
                raise ValueError(
                    f"decision table {table.id!r} has hit policy ANY but rules {ids} match "
                    "with different outputs; make them agree or use hit policy FIRST"
                )
        return matched

    def result(self, task: Any) -> dict[str, Any]:
        found = super().result(task)
        if not found:
            found = {output.name: None for output in self.decision_table.outputs if output.name}
        return found


class _CollectEngine(DMNEngine):
    """COLLECT answers a list per output even when no rule matches (an empty one), as DMN
    says; SpiffWorkflow 3.2 then leaves the outputs unset, and the next script that reads
    them fails with a NameError."""

    def result(self, task: Any) -> dict[str, Any]:
        found = super().result(task)
        for output in self.decision_table.outputs:
            if output.name:
                found.setdefault(output.name, [])
        return found


SINGLE_HIT = {HitPolicy.UNIQUE.value, "ANY", "FIRST"}


def _collect_into_lists(spec: BpmnProcessSpec) -> None:
    """Decision tables decide as their hit policy says (see the engines above)."""
    for task_spec in spec.task_specs.values():
        engine = getattr(task_spec, "dmnEngine", None)
        if type(engine) is not DMNEngine:
            continue
        policy = engine.decision_table.hit_policy
        if policy == HitPolicy.COLLECT.value:
            task_spec.dmnEngine = _CollectEngine(engine.decision_table)
        elif policy in SINGLE_HIT:
            task_spec.dmnEngine = _SingleHitEngine(engine.decision_table)


def _locate_by_name(problems: list[dict[str, Any]], trees: dict[str, Any]) -> None:
    """Some parser errors name the element but carry no id ("Data Store with name Bank System
    has no implementation"): point them at the element of that name, the longest that the
    message mentions, so the modeler can mark it. Only the problem's own file is searched,
    and not its name at the head of the message (a malformed "Hand over.bpmn" was put on a
    task "Hand over" of another file)."""
    named: dict[str | None, dict[str, tuple[str, int | None]]] = {}
    for file, tree in trees.items():
        for el in tree.iter():
            name = el.get("name") if isinstance(el.tag, str) else None
            if not name or not el.get("id"):
                continue
            # the whole name with its spacing tidied, and its first line: messages keep only
            # their first line, and names from some modelers hold line breaks
            for form in {" ".join(name.split()), name.strip().splitlines()[0].strip()}:
                if len(form) >= 3:
                    for key in (file, None):
                        named.setdefault(key, {}).setdefault(form, (el.get("id"), el.sourceline))
    for item in problems:
        if item.get("element_id"):
            continue
        file = item.get("file")
        message = item.get("message", "")
        if file and message.startswith(f"{file}: "):
            message = message[len(file) + 2 :]
        candidates = named.get(file if file in trees else None, {})
        mentioned = [n for n in candidates if n in message]
        if mentioned:
            element_id, line = candidates[max(mentioned, key=len)]
            item["element_id"], item["line"] = element_id, item.get("line") or line


def validate_bundle(
    bpmn: dict[str, str], dmn: dict[str, str], forms: dict[str, Any], registry: HandlerRegistry
) -> ParsedBundle:
    """Parse with XSD validation and run the semantic checks; raise ``InvalidBpmn`` listing
    every problem found if any. One problem does not hide another: the checks run on what the
    parser built, and on a process it could not build element by element."""
    if not bpmn:
        raise InvalidBpmn(
            "Nothing to deploy: no .bpmn file.",
            details=[problem("a deploy needs at least one .bpmn file")],
        )
    foreign: list[dict[str, Any]] = []
    for name, text in bpmn.items():
        foreign += foreign_problems(name, text)
    # every construct the parser would refuse one at a time, listed at once
    unsupported = unsupported_problems(bpmn) + decision_problems(dmn)
    problems: list[dict[str, Any]] = []
    parsed = parse_bundle(bpmn, dmn, problems=problems)
    lines: Lines = {}
    conditions: dict[str, dict[str, list[tuple[str, str, str]]]] = {}  # per file
    unbuilt: list[tuple[str, Any]] = []  # the XML of the processes read element by element
    for name, text in bpmn.items():
        try:
            tree = etree.fromstring(text.encode(), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # said by parse_bundle
        lines[name] = _line_index(tree)
        conditions[name] = conditions_by_gateway(tree)
        unbuilt += [
            (name, p)
            for p in tree.iter(PROCESS)
            if p.get("id") in parsed.unbuilt and parsed.files.get(p.get("id")) in (name, "")
        ]
    checked = check_specs(parsed, forms, registry, lines, conditions)
    for name, process in unbuilt:
        checked += flow_condition_problems(process, lines[name], name)
    problems = _first_sayings(foreign, unsupported, problems) + checked
    if problems:
        count = len(problems)
        raise InvalidBpmn(
            f"The model has {count} problem{'s' if count > 1 else ''}.", details=_dedupe(problems)
        )
    return parsed


def _first_sayings(
    foreign: list[dict[str, Any]], unsupported: list[dict[str, Any]], found: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The problems of all layers, each said once, by the first layer that can say it well.

    The XSD and the passes on the XML name elements with their file and line; the parser's
    words on the same thing (often without a line, on the file that used it, or garbled: a
    missing flow target is "two items with the same ID" on the flow's source) say it again.
    So a process the parser could not build (``_built``) counts only when those found nothing in
    the file of the element it stopped at, as when it was built only for a bundle without such
    problems; an element it could not read on its own (``_element``) only when no layer said
    anything of that element (a Camunda ``decisionRef`` is not also "needs the decision it
    calls"), an element no path reaches that it could not read (``_unreached``) only when no
    layer said more of it than that nothing reaches it (``_reach``); and after the XSD refused a
    file, only the schema speaks of the elements it named and of what names them, and the parser
    not of the file. What the pre-passes (``foreign``, ``unsupported``) say leaves out the
    parser's words as before."""
    earlier = [
        p for p in found if not (p.get("_built") or p.get("_element") or p.get("_unreached"))
    ]
    files_said = {p.get("file") for p in earlier}
    # elements by (file, id): two files of a deploy often share ids such as Task_1
    elements_said = {(p.get("file"), p["element_id"]) for p in earlier if p.get("element_id")}
    # what was said of an element besides that nothing reaches it (``wiring``)
    own_said = {
        (p.get("file"), p["element_id"])
        for p in earlier
        if p.get("element_id") and not p.get("_reach")
    }
    refused = {(p.get("file"), p.get("element_id")) for p in found if p.get("_xsd")}
    refused_files = {file for file, _element in refused}
    named = {p["element_id"] for p in unsupported if p.get("element_id")}
    named_before = {
        (p.get("file"), p["element_id"]) for p in [*unsupported, *foreign] if p.get("element_id")
    }

    def said(where: set[tuple[Any, Any]], file: Any, element_id: Any) -> bool:
        return (file, element_id) in where or (None, element_id) in where

    kept: list[dict[str, Any]] = []
    hidden: set[tuple[Any, Any, str]] = set()  # a called process's failure, said by its caller
    for p in found:
        file, element_id = p.get("file"), p.get("element_id")
        if is_reported(p, foreign) or (unsupported and p.get("_construct")):
            continue
        if p.get("line") is None and element_id in named:
            continue
        if not p.get("_xsd") and file in refused_files and _names_refused(p, file, refused):
            continue
        if p.get("_added") and file in refused_files:
            continue
        if p.get("_built") and (
            p.get("_source", file) in files_said or said(elements_said, file, element_id)
        ):
            hidden.add((file, element_id, p["message"]))
            continue
        if p.get("_element") and (
            not element_id
            or said(elements_said, file, element_id)
            or said(named_before, file, element_id)
        ):
            continue
        if p.get("_unreached") and (
            not element_id
            or said(own_said, file, element_id)
            or said(named_before, file, element_id)
        ):
            continue
        kept.append(p)
        if p.get("_built"):
            elements_said.add((file, element_id))
    kept = [
        p
        for p in kept
        if not (p.get("_built") and (p.get("file"), p["element_id"], p["message"]) in hidden)
    ]
    for p in kept:
        marks = ("_construct", "_xsd", "_added", "_built", "_element", "_unreached", "_reach")
        for mark in (*marks, "_source"):
            p.pop(mark, None)
    return foreign + unsupported + kept


def _names_refused(found: dict[str, Any], file: str, refused: set[tuple[Any, Any]]) -> bool:
    """Whether a later layer's problem in ``file`` is on an element the XSD refused, or names
    one (a flow without ``targetRef`` "enters None")."""
    ids = {element for where, element in refused if where == file and element}
    return found.get("element_id") in ids or any(repr(i) in found["message"] for i in ids)


def _xml(name: str, text: str, problems: list[dict[str, Any]], *, refuse_doctype: bool) -> Any:
    """The file's tree, or None with its problem said: no well-formed XML, or (at deploy) a
    DOCTYPE. No modeler writes a DOCTYPE, and what it could declare (entities, an external
    DTD) is only a way to attack XML readers or to make the diagram read otherwise than the
    modeler shows it (libxml2 expands internal entities in attributes, bpmn-js does not). A
    version stored before deploys refused them still loads."""
    try:
        tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
    except etree.XMLSyntaxError as exc:
        message = f"malformed XML: {exc.msg}"
        if "Excessive depth" in exc.msg:  # libxml2's own words name a parser option
            message = (
                f"elements are nested more than {MAX_DEPTH} levels deep, which no diagram needs"
            )
        elif "amplification" in exc.msg:  # "see xmlCtxtSetMaxAmplification"
            message = (
                "its entities would expand to far more text than the file holds (entity "
                "amplification, as in a 'billion laughs' attack); a BPMN or DMN file needs no "
                "<!DOCTYPE> and no entities"
            )
        problems.append(problem(f"{name}: {message}", line=exc.lineno, file=name))
        return None
    except ValueError as exc:
        problems.append(problem(f"{name}: {exc}", file=name))
        return None
    if refuse_doctype and tree.getroottree().docinfo.doctype:
        problems.append(
            problem(
                f"{name}: has a <!DOCTYPE> declaration; BPMN and DMN files need none, and "
                "Dialflow reads no DTD and no entities: remove it",
                line=text.count("\n", 0, max(text.find("<!DOCTYPE"), 0)) + 1,
                file=name,
            )
        )
        return None
    return tree


def _bpmn_root(name: str, tree: Any, problems: list[dict[str, Any]]) -> bool:
    """A file whose root is no BPMN ``<definitions>`` is said so once; nothing else is."""
    root = etree.QName(tree)
    if (root.namespace, root.localname) == (BPMN_NS, "definitions"):
        return True
    # libxml2: "No matching global declaration available for the validation root."
    problems.append(
        problem(
            f"{name}: is no BPMN 2.0 file: its root is <{root.localname}>"
            + (f" of {root.namespace!r}" if root.namespace else " without a namespace")
            + f", where a BPMN file has the <definitions> of {BPMN_NS!r}",
            line=tree.sourceline,
            file=name,
        )
    )
    return False


def _xsd_valid(name: str, tree: Any, problems: list[dict[str, Any]], lines: dict[str, int]) -> bool:
    """Every XSD error of the file (marked ``_xsd``), on its element."""
    VALIDATOR.preprocess(tree)
    schema = VALIDATOR.validator
    if schema.validate(tree):
        return True
    by_line = {line: element_id for element_id, line in lines.items()}
    by_path = _ids_by_path(tree)
    for error in schema.error_log:
        message = _id_message(_NS.sub("bpmn:", error.message), tree)
        message = _order_message(message, tree, error.path)
        element_id = by_path.get(error.path or "") or by_line.get(error.line)
        found = problem(f"{name}: {message}", element_id=element_id, line=error.line, file=name)
        found["_xsd"] = True
        problems.append(found)
    return False


_BAD_ID = re.compile(r"attribute 'id': '(.*)' is not a valid value of the atomic type 'xs:ID'")


def _id_message(message: str, tree: Any) -> str:
    """libxml2 says "… is not a valid value of the atomic type 'xs:ID'" both of an id given
    twice in a file and of one that is no XML name: say which it is."""
    bad = _BAD_ID.search(message)
    if bad is None:
        return message
    value = bad.group(1)
    lines = [e.sourceline for e in tree.iter() if isinstance(e.tag, str) and e.get("id") == value]
    if len(lines) > 1:
        where = ", ".join(str(line) for line in lines)
        return (
            f"id {value!r} is given to {len(lines)} elements of this file (lines {where}); "
            "each element needs an id of its own"
        )
    return (
        f"id {value!r} is no valid XML id: it must start with a letter or '_' and hold no "
        "spaces or ':'"
    )


_BAD_REF = re.compile(
    r"attribute '(\w+)': '(.*)' is not a valid value of the atomic type 'xs:IDREF'"
)
_UNEXPECTED = re.compile(r"^Element 'bpmn:(\w+)': This element is not expected\.")
# Where BPMN's schema wants the children every element may have: first documentation, then
# extensionElements, then a flow node's incoming and outgoing flows, then what is the
# element's own (a script, event definitions, a condition, loop characteristics …).
_CHILD_RANK = {"documentation": 0, "extensionElements": 1, "incoming": 2, "outgoing": 3}
_OWN_CONTENT = re.compile(
    r"^(script|conditionExpression|\w+EventDefinition|eventDefinitionRef|"
    r"(standard|multiInstance)LoopCharacteristics|laneSet|flowNodeRef|childLaneSet)$"
)
_TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")


def _child_rank(local: str) -> int | None:
    """A child's place in BPMN's order, or None for a child the order says nothing of."""
    return _CHILD_RANK.get(local, 4 if _OWN_CONTENT.match(local) else None)


def _order_message(message: str, tree: Any, path: str | None) -> str:
    """libxml2's "This element is not expected" said as what a hand-written file most often
    means by it: a child out of BPMN's fixed order, two of a timer's parts, documentation
    directly in <definitions>; a reference holding what is no single id. Otherwise as said."""
    bad_ref = _BAD_REF.search(message)
    if bad_ref:
        attribute, value = bad_ref.groups()
        more = (
            "; a gateway has one default flow"
            if attribute == "default" and len(value.split()) > 1
            else ""
        )
        return (
            f"attribute {attribute!r} names {value!r}, which is no single id: it must name one "
            f"element by its id{more}"
        )
    unexpected = _UNEXPECTED.match(message)
    if unexpected is None or not path:
        return message
    try:
        found = tree.getroottree().xpath(path)
    except etree.XPathError:
        return message
    if not found or not isinstance(found[0].tag, str):
        return message
    element, local = found[0], unexpected.group(1)
    parent = element.getparent()
    if parent is None:
        return message
    parent_local = etree.QName(parent).localname
    where = f"<{parent_local}>" + (f" {parent.get('id')!r}" if parent.get("id") else "")
    if parent_local == "definitions":
        return (
            f"{message} <{local}> cannot stand directly in <definitions>: put it inside the "
            "process or the element it belongs to"
        )
    if parent_local == "timerEventDefinition" and local in _TIMER_PARTS:
        return (
            f"{message} A timer has one of timeDate, timeDuration or timeCycle, and {where} "
            "has several: keep the one it waits for"
        )
    rank = _child_rank(local)
    if rank is None:
        return message
    # The earliest preceding sibling that BPMN's order puts after this element.
    later = [
        sibling
        for sibling in element.itersiblings(preceding=True)
        if isinstance(sibling.tag, str)
        and (sibling_rank := _child_rank(etree.QName(sibling).localname)) is not None
        and sibling_rank > rank
    ]
    if later:
        first = later[-1]
        return (
            f"{message} <{local}> is out of order in {where}: BPMN's schema wants "
            "documentation first, then extensionElements, incoming, outgoing, then the "
            f"element's own content; move it before <{etree.QName(first).localname}> "
            f"(line {first.sourceline})"
        )
    return message


def _ids_by_path(tree: Any) -> dict[str, str]:
    """Each element's XPath (as libxml2 writes it in an error) → its id, or its nearest
    ancestor's. A line holds several elements in a file written on one line (minified
    exports): by line alone, every problem was put on the line's last element."""
    root = tree.getroottree()
    found: dict[str, str] = {}
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        owner = element
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        if owner is not None:
            found[root.getpath(element)] = owner.get("id")
    return found


def _reference_problems(name: str, tree: Any, process_ids: set[str]) -> list[dict[str, Any]]:
    """Sequence flows to or from nothing, and call activities to unknown processes.

    SpiffWorkflow finds both only when building the spec, and names them poorly: a missing
    target shows up as a duplicate-id message on the flow's source, a missing called process
    without any element.
    """
    found = []
    ids = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        for attribute in ("sourceRef", "targetRef"):
            ref = flow.get(attribute)
            if ref not in ids:
                found.append(
                    problem(
                        f"{name}: sequence flow {flow.get('id')!r} has {attribute} {ref!r}, "
                        "which is no element of the model",
                        element_id=flow.get("id"),
                        line=flow.sourceline,
                        file=name,
                    )
                )
    found += _scope_problems(name, tree, ids)
    for call in tree.iter(f"{{{BPMN_NS}}}callActivity"):
        called = call.get("calledElement")
        if called and called not in process_ids:
            found.append(
                problem(
                    f"{name}: call activity calls process {called!r}, which is neither in "
                    "this deploy nor deployed before",
                    element_id=call.get("id"),
                    line=call.sourceline,
                    file=name,
                )
            )
    found += _structure_problems(name, tree, ids) + wiring_problems(name, tree)
    return found + endless_loop_problems(name, tree)


def _scope_problems(name: str, tree: Any, ids: set[str]) -> list[dict[str, Any]]:
    """Sequence flows that leave their process or subprocess, lanes listing elements that do
    not exist, boundary events on what is no activity. SpiffWorkflow reports the first as a
    duplicate id on the flow's source ("perhaps a form has the same ID?") and stops; the
    others it ignores, or fails on when the instance runs."""
    found = []

    def report(element: Any, message: str) -> None:
        found.append(element_problem(name, element, message, sep=" "))

    by_id = {el.get("id"): el for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        scope = flow.getparent()
        for attribute in ("sourceRef", "targetRef"):
            end = by_id.get(flow.get(attribute))
            if end is None or end.getparent() is scope:
                continue
            where = end.getparent()
            kind = etree.QName(scope).localname
            place = (
                f"outside {kind} {scope.get('id')!r}"
                if where in scope.iterancestors()
                else f"inside {etree.QName(where).localname} {where.get('id')!r}"
            )
            report(
                flow,
                f"has {attribute} {end.get('id')!r}, which is {place}; a sequence flow stays "
                f"within its {kind}: leave a subprocess through its end event and a flow from "
                "the subprocess itself",
            )
    for lane in tree.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            target = (ref.text or "").strip()
            if target and target not in ids:
                report(lane, f"lists flowNodeRef {target!r}, which is no element of the model")
    for lane_set in [*tree.iter(f"{{{BPMN_NS}}}laneSet"), *tree.iter(f"{{{BPMN_NS}}}childLaneSet")]:
        # BPMN puts a flow node in one lane of a lane set; SpiffWorkflow 3.2 silently gave a
        # node two sibling lanes list to the last of them
        first_lane: dict[str, Any] = {}
        for lane in lane_set.iterfind(f"{{{BPMN_NS}}}lane"):
            for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
                target = (ref.text or "").strip()
                other = first_lane.setdefault(target, lane)
                if target in ids and other is not lane:
                    report(
                        lane,
                        f"lists flowNodeRef {target!r}, which lane {other.get('id')!r} "
                        f"({other.get('name') or 'no name'}) of the same lane set lists too; "
                        "an element sits in one lane: list it in one of them (a lane inside "
                        "another goes in its childLaneSet)",
                    )
    for event in tree.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        host = by_id.get(event.get("attachedToRef"))
        if host is None:
            continue
        if etree.QName(host).localname not in ACTIVITIES:
            report(
                event,
                f"is attached to {etree.QName(host).localname} {host.get('id')!r}; a boundary "
                "event belongs on a task, subprocess or call activity",
            )
        elif host.getparent() is not event.getparent():
            # SpiffWorkflow 3.2 leaves such an event out: its timer never fires, its error
            # is never caught
            where = host.getparent()
            report(
                event,
                f"is attached to {host.get('id')!r}, which is inside "
                f"{etree.QName(where).localname} {where.get('id')!r} while the event is not; "
                "draw the boundary event in the same (sub)process as its activity",
            )
    return found


def _call_cycle_problems(added: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Call activities that lead back to their own process, directly or through others, with
    nothing that could stop them: every call on the way is reached from its process's start
    through automatic elements only, no choice and no wait (:func:`_certain_calls`). Such a
    step would only ever nest deeper (the step's guard stops it at ``MAX_CALL_DEPTH``); a
    recursion behind a gateway, a user task or an event may end, and deploys."""
    calls: dict[str, list[tuple[str, Any, str]]] = {}  # process -> (called, element, file)
    for name, tree in added:
        for process in tree.iter(f"{{{BPMN_NS}}}process"):
            for call in _certain_calls(process):
                if call.get("calledElement"):
                    calls.setdefault(process.get("id"), []).append(
                        (call.get("calledElement"), call, name)
                    )

    def path(start: str, goal: str) -> list[str] | None:
        """The processes from ``start`` to ``goal`` along call activities, or None."""
        seen, todo = {start}, [[start]]
        while todo:
            trail = todo.pop()
            if trail[-1] == goal:
                return trail
            for called, _call, _name in calls.get(trail[-1], []):
                if called not in seen:
                    seen.add(called)
                    todo.append([*trail, called])
        return None

    found = []
    for process_id, targets in calls.items():
        for called, call, name in targets:
            back = path(called, process_id)
            if back is None:
                continue
            found.append(
                problem(
                    f"{name}: callActivity {call.get('id')!r} calls {called!r}, which leads "
                    f"back to {process_id!r} ({' → '.join([process_id, *back])}); called "
                    "processes may not call themselves again: SpiffWorkflow 3.2 would start "
                    "them without end. Repeat work with a sequence flow back through a gateway",
                    element_id=call.get("id"),
                    line=call.sourceline,
                    file=name,
                )
            )
    return found


# Elements a step runs through on its own, whatever the data: the next ones are certain too.
_AUTOMATIC = {
    "startEvent",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "intermediateThrowEvent",
    "parallelGateway",
}
_CHOICES = {"exclusiveGateway", "inclusiveGateway"}  # automatic only with one way out
_SCOPES = {"subProcess", "transaction"}  # entered at their start events


def _certain_calls(process: Any) -> list[Any]:
    """The call activities of ``process`` that every instance reaches in its first step: from
    the start events along sequence flows without a condition, through automatic elements
    (gateways only with one outgoing flow) and into embedded subprocesses."""
    flows: dict[str, list[Any]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        flows.setdefault(flow.get("sourceRef"), []).append(flow)
    by_id = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str)}

    def starts(scope: Any) -> list[Any]:
        return [child for child in scope if _local(child) == "startEvent"]

    found, seen, todo = [], set(), starts(process)
    while todo:
        element = todo.pop()
        if element is None or element.get("id") in seen:
            continue
        seen.add(element.get("id"))
        kind, outgoing = _local(element), flows.get(element.get("id"), [])
        if kind == "callActivity":
            found.append(element)
            continue
        if kind in _SCOPES:
            todo += starts(element)
            continue
        if kind not in _AUTOMATIC and not (kind in _CHOICES and len(outgoing) == 1):
            continue  # a choice, a wait, or a start that needs an event
        if kind == "startEvent" and any(
            _local(child).endswith("EventDefinition") for child in element
        ):
            continue
        todo += [
            by_id.get(flow.get("targetRef"))
            for flow in outgoing
            if flow.find(f"{{{BPMN_NS}}}conditionExpression") is None
        ]
    return found


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _duplicate_decisions(
    name: str, tree: Any, decisions: dict[str, str], problems: list[dict[str, Any]]
) -> bool:
    """Record the decisions of a DMN file; a decision id another file of the deploy already
    has is a problem (the parser would keep one of the two without a word)."""
    duplicate = False
    for element in tree.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != "decision":
            continue
        decision_id = element.get("id")
        if decision_id in decisions:
            duplicate = True
            problems.append(
                problem(
                    f"{name}: decision {decision_id!r} is also in {decisions[decision_id]}; "
                    "a decision id may appear once in a deploy",
                    element_id=decision_id,
                    line=element.sourceline,
                    file=name,
                )
            )
        elif decision_id:
            decisions[decision_id] = name
    return duplicate


# Event definitions and the root element each one refers to (SpiffWorkflow 3.2 fails on an
# unknown one with "raise_validation_exception() got an unexpected keyword argument").
EVENT_REFERENCES = {
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}
MESSAGE_TASKS = {"sendTask", "receiveTask"}


# Catch events that need the event they wait for. SpiffWorkflow 3.2 runs an intermediate catch
# event without one as a plain event: the path went straight through, the wait drawn was lost.
CATCHES_OF_SOMETHING = {
    "intermediateCatchEvent": (
        "has no event definition, so it would wait for nothing and the path would go straight "
        "through it: give it the timer, message or signal it waits for (a milestone without "
        "a trigger is an intermediate throw event)"
    ),
    "boundaryEvent": (
        "has no event definition, so it would never be triggered: give it the timer, error, "
        "escalation, message or signal it catches"
    ),
}


def _untriggered_catches(name: str, tree: Any) -> list[dict[str, Any]]:
    """Catch events without the event they wait for (read before links become plain)."""
    drawn = drawn_only(tree)
    return [
        element_problem(name, element, message)
        for local, message in CATCHES_OF_SOMETHING.items()
        for element in tree.iter(f"{{{BPMN_NS}}}{local}")
        if element not in drawn and not _triggers(element)
    ]


def _triggers(event: Any) -> list[Any]:
    """The event definitions (or references to them) of a catch event."""
    return [
        child
        for child in event
        if isinstance(child.tag, str)
        and etree.QName(child).namespace == BPMN_NS
        and (
            etree.QName(child).localname.endswith("EventDefinition")
            or etree.QName(child).localname == "eventDefinitionRef"
        )
    ]


def _structure_problems(name: str, tree: Any, ids: set[str]) -> list[dict[str, Any]]:
    """What the parser accepts but would run wrongly or fail on late, element by element:
    references to nothing (boundary hosts, default flows, errors, messages …), gateways with
    no way out, script tasks without a script."""
    found = []

    def report(element: Any, message: str) -> None:
        found.append(element_problem(name, element, message))

    roots = {
        local: {el.get("id") for el in tree.iterfind(f"{{{BPMN_NS}}}{local}") if el.get("id")}
        for _attribute, local in EVENT_REFERENCES.values()
    }
    outgoing: dict[str, list[str]] = {}
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow.get("id"))
    drawn = drawn_only(tree)  # a collaboration's pools that do not run: only drawn
    for element in tree.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
            continue
        local = etree.QName(element).localname
        element_id = element.get("id")
        if local == "boundaryEvent":
            host = element.get("attachedToRef")
            if host not in ids:
                report(element, f"is attached to {host!r}, which is no element of the model")
        if local in EVENT_REFERENCES:
            attribute, root = EVENT_REFERENCES[local]
            ref = element.get(attribute)
            if ref and ref not in roots[root]:
                owner = element.getparent()
                report(
                    owner,
                    f"{attribute} {ref!r} names no <bpmn:{root}> of this file; declare it "
                    f"(<bpmn:{root} id={ref!r} …/>) next to the process",
                )
        if (local in MESSAGE_TASKS or local == "messageEventDefinition") and element not in drawn:
            _message_problem(element, local, roots["message"], report)
        if local in GATEWAYS and not outgoing.get(element_id):
            report(element, "has no outgoing sequence flow; a gateway must lead somewhere")
        default = element.get("default")
        if default and default not in outgoing.get(element_id, []):
            report(
                element,
                f"its default flow {default!r} is not one of its outgoing sequence flows",
            )
        if local == "scriptTask":
            script = element.find(f"{{{BPMN_NS}}}script")
            if script is None or not (script.text or "").strip():
                report(
                    element,
                    "has no script; write the Python it runs, or make it a plain task",
                )
    _flow_problems(tree, drawn, report)
    return found


# Where SpiffWorkflow 3.2 evaluates a sequence flow's condition: the others were ignored and the
# flow was always taken.
CONDITIONAL_SOURCES = {"exclusiveGateway", "inclusiveGateway"}
# What an event-based gateway may lead to (each waits for its event).
EVENT_GATEWAY_TARGETS = {"intermediateCatchEvent", "receiveTask"}


def _flow_problems(tree: Any, drawn: set[Any], report: Any) -> None:
    """Conditions that would never be evaluated, and event-based gateways that lead to
    something other than an event: the first deployed and ran as if the condition were not
    there, the second failed in the parser with an ``AttributeError``. Pools that are only
    drawn (``drawn``) run nothing and are left alone."""
    nodes = {
        element.get("id"): element
        for element in tree.iter()
        if isinstance(element.tag, str) and element.get("id")
    }
    for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = nodes.get(flow.get("sourceRef")), nodes.get(flow.get("targetRef"))
        if source is None or target is None or flow in drawn:
            continue  # reported as a reference to nothing, or never run
        kind = etree.QName(source).localname
        if flow.find(f"{{{BPMN_NS}}}conditionExpression") is not None:
            if kind not in CONDITIONAL_SOURCES:
                report(
                    flow,
                    f"has a condition, but it leaves {kind} {source.get('id')!r}, which takes "
                    "every outgoing flow whatever the condition says: put an exclusive gateway "
                    "(one way) or an inclusive gateway (every true way) before the condition",
                )
            elif source.get("default") == flow.get("id"):
                report(
                    flow,
                    f"is the default flow of {source.get('id')!r} and has a condition; a "
                    "default flow is taken when no condition holds, whatever its own says: "
                    "remove its condition or make it an ordinary flow",
                )
        target_kind = etree.QName(target).localname
        if kind == "eventBasedGateway" and target_kind not in EVENT_GATEWAY_TARGETS:
            report(
                source,
                f"leads to {target_kind} {target.get('id')!r}; an event-based gateway can "
                "only lead to catch events (message, timer, signal) or receive tasks, the "
                "first of which to happen decides the way",
            )


def _message_problem(element: Any, local: str, messages: set[str], report: Any) -> None:
    """A message event, send task or receive task must name its message. Without one,
    SpiffWorkflow 3.2 waits for a message named ``None`` that nothing can send, passes a
    receive task by at once, sends nothing from a send task, and a throw event failed the
    step that reached it."""
    if local == "messageEventDefinition":
        owner, ref = element.getparent(), element.get("messageRef")
        if not ref:
            report(owner, "its message event definition has no messageRef; name the message")
        return
    ref = element.get("messageRef")
    if not ref:
        verb = "sends" if local == "sendTask" else "waits for"
        report(element, f"has no messageRef; name the message it {verb}")
    elif ref not in messages:
        report(
            element,
            f"messageRef {ref!r} names no <bpmn:message> of this file; declare it "
            f"(<bpmn:message id={ref!r} …/>) next to the process",
        )


def _guard(
    problems: list[dict[str, Any]],
    file: str,
    action: Any,
    lines: Lines | None = None,
    *,
    mark: str | None = None,
) -> bool:
    """Run a parser ``action``; its failure becomes a problem (marked ``mark``)."""
    before = len(problems)
    _parse(problems, file, action, lines)
    for found in problems[before:]:
        if mark:
            found[mark] = True
    return len(problems) == before


def _parse(problems: list[dict[str, Any]], file: str, action: Any, lines: Lines | None) -> None:
    """``lines`` are per file: an element's line is looked up in the file it is in (the
    exception's, else ``file``), never in another file that has the same id."""
    lines = lines or {}
    try:
        action()
    except ValidationException as exc:
        element_id = getattr(exc, "id", None) or None
        source = getattr(exc, "file_name", None) or file
        line = getattr(exc, "line_number", None) or lines.get(source, {}).get(element_id or "")
        raw = _first_line(exc)
        message, known = rewrite_parser_message(raw)
        if message != raw and element_id:
            message = f"{getattr(exc, 'tag', None) or 'element'} {element_id!r}: {message}"
        found = problem(
            message,
            element_id=element_id,
            line=line if isinstance(line, int) else None,
            file=source or None,
        )
        if known:
            found["_construct"] = True  # said again, in more words, by engine.constructs
        if getattr(exc, "file_name", None):
            found["_source"] = exc.file_name  # the file of the element, not of its caller
        problems.append(found)
    except Exception as exc:  # the parser raises many kinds for bad models
        message, known = rewrite_parser_message(_first_line(exc))
        if known:
            # NotImplementedError('Unsupported Catch Event: %r', b'<bpmn:boundaryEvent … id="b"')
            match = re.search(r"""\bid=\\?["']([^"'\\]+)""", str(exc))
            element_id = match.group(1) if match else None
            line = lines.get(file, {}).get(element_id or "")
            found = problem(
                f"element {element_id!r}: {message}" if element_id else message,
                element_id=element_id,
                line=line,
                file=file or None,
            )
            found["_construct"] = True
            problems.append(found)
        else:
            problems.append(problem(f"{type(exc).__name__}: {_first_line(exc)}", file=file or None))


def _line_index(tree: Any) -> dict[str, int]:
    """Element id → line, of one file."""
    return {
        el.get("id"): el.sourceline
        for el in tree.iter()
        if isinstance(el.tag, str) and el.get("id")
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0][:500]
    # ValidationException adds a full stop to messages that already end with one
    return line[:-1] if line.endswith("..") else line


def _dedupe(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, unique = set(), []
    for item in problems:
        key = (item.get("element_id"), item.get("line"), item.get("message"))
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
