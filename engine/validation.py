"""The deploy pipeline: parse a bundle with the spiff parser and XSD validation, then check
what will run.

Every problem becomes one ``{"element_id", "line", "message"}`` detail of an ``InvalidBpmn``
(422 ``invalid_bpmn``). Malformed XML is reported the same way; nothing here raises anything
else for bad input. The checks themselves live in their own modules: the XML reader's and the
XSD's problems in ``engine.xsd_problems``, references and structure in ``engine.references``,
recursive calls in ``engine.call_cycles``, constructs in ``engine.constructs`` and
``engine.event_checks``, DMN files in ``engine.dmn_checks``, the parser's words in
``engine.parser_messages``; here they run in order, and each problem is said once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine.activiti_connectors import adopt as adopt_activiti_connectors
from engine.activiti_connectors import mapping_problems as connector_mappings
from engine.activiti_connectors import task_mappings
from engine.aps_decisions import adopt as adopt_aps_decisions
from engine.boundaries import DialflowParser
from engine.bpmn_xml import BPMN_NS, drop_comments, readable_trees
from engine.call_cycles import call_cycle_problems
from engine.camunda_decisions import adopt as adopt_camunda_decisions
from engine.checks import (
    check_specs,
    conditions_by_gateway,
    flow_condition_problems,
    foreign_script_ids,
    script_lines,
)
from engine.collaboration import message_flow_problems
from engine.collection_paths import read_paths
from engine.constructs import unsupported_problems
from engine.correlations import correlation_problems
from engine.data_object_values import adopt as adopt_values
from engine.data_objects import name_data_objects, unwritable_data_objects
from engine.dmn_checks import decision_problems, duplicate_decisions, has_decision, is_dmn
from engine.dmn_schema import dmn_xsd_problems
from engine.element_specs import read_elements
from engine.error_code_refs import declare_code_refs
from engine.errors import InvalidBpmn, problem
from engine.event_definition_refs import inline_event_definitions
from engine.event_payloads import carry_payloads
from engine.event_registry import adopt as adopt_registry_starts
from engine.external_tasks import adopt as adopt_external_tasks
from engine.feel import translate_tree
from engine.first_event import first_event_wins
from engine.foreign import foreign_problems, is_reported
from engine.foreign_loops import adopt as adopt_loops
from engine.foreign_properties import adopt as adopt_properties
from engine.hit_policies import decide_by_hit_policy, rewrite_tree
from engine.io_mappings import adopt as adopt_event_mappings
from engine.iso_timers import quote_iso_timers
from engine.java_async import adopt as adopt_async
from engine.java_schedule import adopt as adopt_java_schedules
from engine.juel import translate_tree as translate_juel
from engine.links import join_links, link_problems
from engine.listeners import adopt as adopt_listeners
from engine.parser_messages import UNRESOLVED_ASSOCIATION, rewrite_parser_message
from engine.qname_refs import unprefix_references
from engine.references import declared_elsewhere, reference_problems, untriggered_catches
from engine.reserved_ids import name_shared_scope_id
from engine.skip_expressions import adopt as adopt_skips
from engine.spiff_extensions import property_problems, text_values
from engine.too_complex import MESSAGE as TOO_COMPLEX_SAID
from engine.too_complex import TOO_COMPLEX, too_complex_problems
from engine.unnamed_elements import PARSER_WORDS as UNNAMED_WORDS
from engine.unnamed_elements import drop_unnamed_decisions, unnamed_bpmn_problems
from engine.wiring import reached_elements
from engine.xsd_problems import bpmn_root, read_xml, xsd_valid
from engine.zeebe_decisions import adopt as adopt_decisions
from engine.zeebe_expressions import adopt as adopt_feel
from engine.zeebe_hints import binding_problems
from engine.zeebe_jobs import adopt as adopt_job_listeners
from engine.zeebe_jobs import retries_problems, said_as_jobs, unknown_types
from engine.zeebe_schedule import adopt as adopt_schedules
from engine.zeebe_tasks import adopt
from handlers.registry import HandlerRegistry

Lines = dict[str, dict[str, int]]  # file name → element id → line, one index per file
PROCESS = f"{{{BPMN_NS}}}process"


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
    earlier: dict[str, str] | None = None,
    forms: Mapping[str, Any] | None = None,
) -> ParsedBundle:
    """Parse BPMN and DMN texts (``forms``: the bundle's JSON files, for the Activiti 7
    extensions files that map connectors, ``engine.activiti_connectors.task_mappings``).
    With ``validate``, XSD errors, the XML passes' problems and the parser's are collected
    into ``problems``, and every process is built (or read element by element) even when
    another one has problems, so that a deploy lists them all at once.
    Problems carry private marks for ``validate_bundle``: ``_xsd`` (the schema's), ``_added``
    (the parser's on a file), ``_built`` (on a process), ``_element`` (on one element).
    ``earlier`` are the files of processes deployed before that the deploy's pools name: they
    are known, and their messages checked against the message flows, but not parsed."""
    problems = [] if problems is None else problems
    connector_maps = task_mappings(forms)  # Activiti 7's extensions files
    parser = DialflowParser()
    lines: Lines = {}  # per file: two files of a deploy often share ids such as StartEvent_1
    decisions: dict[str, str] = {}  # decision id -> the DMN file that has it
    unread: set[str] = set()  # process and decision ids in files that are no readable XML
    for name, text in dmn.items():
        tree = read_xml(name, text, problems, refuse_doctype=validate)
        if tree is None:
            unread |= _ids_in_text(_DECISION_TAG, text)
            continue
        if validate and duplicate_decisions(name, tree, decisions, problems):
            continue
        if not (is_dmn(tree) and has_decision(tree)):
            unread |= _ids_in_text(_PROCESS_TAG, text)  # a BPMN file named .dmn
            continue  # named by dmn_checks.decision_problems; the parser fails on it garbled
        if validate and dmn_xsd_problems(name, tree):
            # named by dmn_checks on their elements; the parser's words would say it garbled
            if not _guard([], name, lambda tree=tree, name=name: parser.add_dmn_xml(tree, name)):
                unread |= _ids_in_text(_DECISION_TAG, text)
            continue
        drop_comments(tree)  # the parser reads every child as an element
        if not drop_unnamed_decisions(tree):  # said by dmn_checks; the parser failed on them
            continue  # no decision left to parse
        rewrite_tree(tree)  # RULE ORDER, PRIORITY, OUTPUT ORDER as policies it decides
        translate_tree(tree)  # FEEL rule cells as the Python SpiffWorkflow evaluates
        _guard(problems, name, lambda tree=tree, name=name: parser.add_dmn_xml(tree, name))
    process_files: dict[str, str] = {}
    trees: dict[str, Any] = {}
    schema_invalid: set[str] = set()  # files the XSD refuses: their later passes are guarded
    unnamed: list[dict[str, Any]] = []  # a file's elements without the id the parser needs
    for name, text in bpmn.items():
        tree = read_xml(name, text, problems, refuse_doctype=validate)
        if tree is None or (validate and not bpmn_root(name, tree, problems)):
            # a DMN file named .bpmn: its decisions are said to be there, misnamed
            unread |= _ids_in_text(_PROCESS_TAG, text) | _ids_in_text(_DECISION_TAG, text)
            continue  # nothing more can be said of it
        trees[name] = tree
        lines[name] = _line_index(tree)
        if validate and not xsd_valid(name, tree, problems, lines[name]):
            schema_invalid.add(name)
        drop_comments(tree)  # the parser reads every child as an element
        _xml_pass(name in schema_invalid, unprefix_references, tree)  # errorRef="tns:x"
        _xml_pass(name in schema_invalid, inline_event_definitions, tree)  # global timers …
        _xml_pass(name in schema_invalid, declare_code_refs, tree)  # Flowable's errorRef="DNC"
        _xml_pass(name in schema_invalid, adopt, tree)  # Camunda 8 calls and job workers
        _xml_pass(name in schema_invalid, adopt_job_listeners, tree)  # their listeners' jobs
        _xml_pass(name in schema_invalid, adopt_registry_starts, tree)  # Flowable's events
        _xml_pass(name in schema_invalid, adopt_schedules, tree)  # due dates, priorities
        _xml_pass(name in schema_invalid, adopt_java_schedules, tree)  # the same, Camunda 7
        _xml_pass(name in schema_invalid, adopt_decisions, tree)  # decisions' result variables
        _xml_pass(name in schema_invalid, adopt_camunda_decisions, tree)  # the same, Camunda 7
        _xml_pass(name in schema_invalid, adopt_aps_decisions, tree)  # APS decision tasks
        _xml_pass(name in schema_invalid, adopt_async, tree)  # camunda:asyncBefore on services
        _xml_pass(name in schema_invalid, adopt_properties, tree)  # zeebe:/camunda:properties
        _xml_pass(name in schema_invalid, adopt_external_tasks, tree)  # topics of operators
        _xml_pass(name in schema_invalid, adopt_activiti_connectors, tree, connector_maps)
        _xml_pass(name in schema_invalid, adopt_loops, tree)  # multi-instance collections
        _xml_pass(name in schema_invalid, adopt_values, tree)  # data objects' values
        _xml_pass(name in schema_invalid, adopt_event_mappings, tree)  # events' io mappings
        _xml_pass(name in schema_invalid, adopt_listeners, tree)  # listeners setting variables
        _xml_pass(name in schema_invalid, adopt_skips, tree)  # skipExpression: a gateway
        _xml_pass(name in schema_invalid, adopt_feel, tree)  # FEEL scripts, conditions, timers
        if validate:
            problems += _xml_pass(name in schema_invalid, link_problems, name, tree)
            problems += _xml_pass(name in schema_invalid, untriggered_catches, name, tree)
            problems += _xml_pass(name in schema_invalid, property_problems, name, tree)
            unnamed = _xml_pass(name in schema_invalid, unnamed_bpmn_problems, name, tree)
            problems += unnamed
        _xml_pass(name in schema_invalid, join_links, tree)  # the parser knows no link events
        _xml_pass(name in schema_invalid, name_data_objects, tree)  # bpmn.io's generated ids
        if validate:  # a data object no task can write
            problems += _xml_pass(name in schema_invalid, unwritable_data_objects, name, tree)
        _xml_pass(name in schema_invalid, translate_juel, tree)  # JUEL conditions as Python
        _xml_pass(name in schema_invalid, text_values, tree)  # <property>PT4H</property>
        before = set(parser.process_parsers)
        add = lambda tree=tree, name=name: parser.add_bpmn_xml(tree, name)  # noqa: E731
        if _guard(problems, name, add, {name: _line_index(tree)}, mark="_added"):
            process_files.update({pid: name for pid in set(parser.process_parsers) - before})
        elif validate and unnamed and UNNAMED_WORDS.match(problems[-1]["message"]):
            problems.pop()  # "Message identifier is missing": said on its line
        else:
            _name_first_file(problems[-1], process_files)
    if validate:
        # a called process counts as there when its file has it, even if the parser did not
        # take that file (its problems are listed)
        known = (
            set(parser.process_parsers)
            | {process.get("id") for tree in trees.values() for process in tree.iter(PROCESS)}
            | unread
        )
        earlier_trees = _earlier_trees(earlier or {})
        known |= {p.get("id") for t in earlier_trees.values() for p in t.iter(PROCESS)}
        for name, tree in trees.items():
            problems += _xml_pass(name in schema_invalid, reference_problems, name, tree, known)
        declared_elsewhere(problems, trees)
        # across the deploy's files (and the processes deployed before its pools name)
        problems += _xml_pass(bool(schema_invalid), message_flow_problems, trees, earlier_trees)
        problems += _xml_pass(bool(schema_invalid), correlation_problems, trees)
        problems += _xml_pass(bool(schema_invalid), call_cycle_problems, list(trees.items()))
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
                decide_by_hit_policy(spec)
                carry_payloads(spec)
                quote_iso_timers(spec)
                read_paths(spec)  # multi-instance collections such as deal.approvers
                first_event_wins(spec)

        file = process_files.get(process_id, "")
        process_parser = parser.process_parsers[process_id]
        built = _guard(problems, file, load, lines, mark="_built")
        if not built:
            name_shared_scope_id(problems[-1], parser.process_parsers)
        if not built and validate:
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
    if unread:
        # the parser's "The process 'x' was not found" and "calls decision 'x', which no DMN
        # file of this deploy has" of what such a file holds: its own problem says it
        problems[:] = [p for p in problems if not _calls_unread(p, unread)]
    _locate_by_name(problems, trees)
    return parsed


def _locate_missing_calls(problems: list[dict[str, Any]], bpmn: dict[str, str]) -> None:
    """The parser's "The process 'x' was not found" that is left (no call activity's own
    problem says it) put on the call activity calling 'x' (in the problem's file first), with
    its line: in a file drawing a process twice, whose elements only the schema speaks of, it
    was said on no element and no line, with a "did you mean" naming the process drawn twice.
    The files are read again only when there is such a problem (every deploy read them, a
    deploy without a problem too)."""
    unplaced = [
        (item, found)
        for item in problems
        if not item.get("element_id")
        and (found := _NOT_FOUND.match(item.get("message", ""))) is not None
    ]
    if not unplaced:
        return
    trees = dict(readable_trees(bpmn))
    for item, found in unplaced:
        called = found.group(1)
        files = sorted(trees, key=lambda name: name != item.get("file"))
        call = next(
            (
                (name, el)
                for name in files
                for el in trees[name].iter(f"{{{BPMN_NS}}}callActivity")
                if _called_process(el) == called and el.get("id")
            ),
            None,
        )
        if call is None:
            continue
        name, element = call
        item.update(element_id=element.get("id"), line=element.sourceline, file=name)
        item["message"] = (
            f"{name}: call activity calls process {called!r}, which is neither in this deploy "
            "nor deployed before"
        )


_CALLED = re.compile(r"The process '([^']+)' was not found|calls decision '([^']+)', which no DMN")


def _earlier_trees(earlier: dict[str, str]) -> dict[str, Any]:
    return dict(readable_trees(earlier))


def _calls_unread(found: dict[str, Any], unread: set[str]) -> bool:
    called = _CALLED.search(found.get("message", ""))
    return bool(called and (called.group(1) or called.group(2)) in unread)


_PROCESS_TAG = re.compile(r"""<(?:[\w.-]+:)?process\b[^>]*?\sid\s*=\s*["']([^"'<>]+)["']""")
_DECISION_TAG = re.compile(r"""<(?:[\w.-]+:)?decision\b[^>]*?\sid\s*=\s*["']([^"'<>]+)["']""")


def _ids_in_text(tag: re.Pattern[str], text: str) -> set[str]:
    """The ids of the processes (or decisions) a file that could not be read as XML (cut off,
    malformed) still shows: a call activity or business rule task calling one of them is not
    also calling something "neither in this deploy nor deployed before" (the file's own problem
    says what is wrong)."""
    return set(tag.findall(text))


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


# A parser failure said as the Python exception it raised (``_parse``): "ValueError: …"
_RAW_EXCEPTION = re.compile(r"^[A-Z]\w*(Error|Exception): ")


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
            if not name or not name.strip() or not el.get("id"):
                continue  # a name of line breaks alone (`&#10;`) names nothing
            # the whole name with its spacing tidied, and its first line: messages keep only
            # their first line, and names from some modelers hold line breaks
            for form in {" ".join(name.split()), name.strip().splitlines()[0].strip()}:
                if len(form) >= 3:
                    for key in (file, None):
                        named.setdefault(key, {}).setdefault(form, (el.get("id"), el.sourceline))
    for item in problems:
        if item.get("element_id") or _RAW_EXCEPTION.match(item.get("message", "")):
            continue  # Python's words, not the parser's: "ValueError" names no element "Error"
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
    bpmn: dict[str, str],
    dmn: dict[str, str],
    forms: dict[str, Any],
    registry: HandlerRegistry,
    earlier: dict[str, str] | None = None,
    *,
    first: list[dict[str, Any]] | None = None,
) -> ParsedBundle:
    """Parse with XSD validation and run the semantic checks; raise ``InvalidBpmn`` listing
    every problem found if any. One problem does not hide another: the checks run on what the
    parser built, and on a process it could not build element by element. ``first``: problems
    the deploy found before (its version tags, ``engine.version_tags``), listed first; what the
    checks say again of the target a tag could not find is left out (``_said_by_the_tags``).
    A script or expression too deep for Python to compile is said alone, on its element
    (``too_complex``), after ``first``: the checks cannot read it."""
    try:
        return _validate_bundle(bpmn, dmn, forms, registry, earlier, first=first)
    except TOO_COMPLEX as exc:
        found = too_complex_problems(bpmn, dmn)
        if not found:
            if not isinstance(exc, RecursionError):
                raise
            # a text the script engine prepares (``too_deep``) that a check, standing deeper
            # than ``engine.fixed_depth``, could not read: said, not answered with a 500
            found = [problem(f"The model {TOO_COMPLEX_SAID}")]
        found = [*(first or []), *found]
        count = len(found)
        raise InvalidBpmn(
            f"The model has {count} problem{'s' if count > 1 else ''}.", details=found
        ) from None


def _validate_bundle(
    bpmn: dict[str, str],
    dmn: dict[str, str],
    forms: dict[str, Any],
    registry: HandlerRegistry,
    earlier: dict[str, str] | None,
    *,
    first: list[dict[str, Any]] | None = None,
) -> ParsedBundle:
    if not bpmn:
        raise InvalidBpmn(
            "Nothing to deploy: no .bpmn file.",
            details=[problem("a deploy needs at least one .bpmn file")],
        )
    foreign: list[dict[str, Any]] = []
    for name, text in bpmn.items():
        foreign += foreign_problems(name, text)
    foreign += binding_problems(bpmn)
    jobs = unknown_types(bpmn, registry)
    foreign += jobs + retries_problems(bpmn)
    foreign += connector_mappings(bpmn, forms)  # Activiti 7's mappings that cannot run
    # every construct the parser would refuse one at a time, listed at once
    unsupported = unsupported_problems(bpmn) + decision_problems(dmn, bpmn)
    problems: list[dict[str, Any]] = []
    parsed = parse_bundle(bpmn, dmn, problems=problems, earlier=earlier, forms=forms)
    lines: Lines = {}
    conditions: dict[str, dict[str, list[tuple[str, str, str]]]] = {}  # per file
    scripts: dict[str, dict[str, int]] = {}  # per file: where each script begins
    foreign_scripts: dict[str, set[str]] = {}  # per file: scripts in another language
    unbuilt: list[tuple[str, Any]] = []  # the XML of the processes read element by element
    for name, tree in readable_trees(bpmn):
        lines[name] = _line_index(tree)
        conditions[name] = conditions_by_gateway(tree)
        scripts[name] = script_lines(tree)
        foreign_scripts[name] = foreign_script_ids(tree)
        unbuilt += [
            (name, p)
            for p in tree.iter(PROCESS)
            if p.get("id") in parsed.unbuilt and parsed.files.get(p.get("id")) in (name, "")
        ]
    checked = check_specs(parsed, forms, registry, lines, conditions, scripts, foreign_scripts)
    checked = said_as_jobs(checked, jobs)
    for name, process in unbuilt:
        checked += flow_condition_problems(process, lines[name], name)
    problems = _said_by_the_caller(_first_sayings(foreign, unsupported, problems) + checked)
    _locate_missing_calls(problems, bpmn)
    problems = [*(first or []), *_said_by_the_tags(problems, first or [])]
    if problems:
        count = len(problems)
        raise InvalidBpmn(
            f"The model has {count} problem{'s' if count > 1 else ''}.", details=_dedupe(problems)
        )
    return parsed


_NOT_FOUND = re.compile(r"^The process '([^']+)' was not found")
_ZEEBE_CALLED = "{http://camunda.org/schema/zeebe/1.0}calledElement"


def _called_process(call: Any) -> str:
    """The process id a call activity (as uploaded) calls: ``calledElement``, or Camunda 8's
    ``<zeebe:calledElement processId>``."""
    written = call.get("calledElement")
    if not written:
        zeebe = next(call.iter(_ZEEBE_CALLED), None)
        written = zeebe.get("processId") if zeebe is not None else None
    return (written or "").strip()


def _said_by_the_tags(
    problems: list[dict[str, Any]], tags: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The problems without those on an element a tag problem is on (or on no element) that
    name the process or decision the tag problem says it calls: with the tag unanswered the
    called target was not added to the deploy, and "calls decision 'x', which no DMN file of
    this deploy has" said again what the tag problem says."""
    called = {
        (p.get("file"), p.get("element_id"), found.group(1))
        for p in tags
        if (found := re.search(r" calls (?:decision )?'([^']+)' by version tag", p["message"]))
    }
    targets = {target for _file, _element, target in called}

    def repeats(p: dict[str, Any]) -> bool:
        message = p.get("message", "")
        if p.get("element_id") is None:
            return any(f"'{target}'" in message for target in targets)
        return any(
            f"'{target}'" in message
            for file, element, target in called
            if element == p.get("element_id") and p.get("file") in (file, None)
        )

    return [p for p in problems if not repeats(p)]


def _said_by_the_caller(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The problems without the parser's "The process 'x' was not found" where a call
    activity's own problem says it calls 'x', on its element and line: the parser said it
    again on no element and no line, in the file of the process that called the caller."""
    called = {
        found.group(1)
        for p in problems
        if (found := re.search(r"calls process '([^']+)'", p.get("message", "")))
    }
    return [
        p
        for p in problems
        if not ((found := _NOT_FOUND.match(p.get("message", ""))) and found.group(1) in called)
    ]


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
    parser's words as before, and its "to no data object" on an element they named (a data
    association to a process property, which they name with what to write)."""
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
            p.get("_source", file) in files_said
            or said(elements_said, file, element_id)
            or (UNRESOLVED_ASSOCIATION in p["message"] and said(named_before, file, element_id))
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


def _name_first_file(found: dict[str, Any], process_files: dict[str, str]) -> None:
    """The parser's "Duplicate process ID" names the second file only: add the first."""
    first = process_files.get(found.get("element_id") or "")
    if first and found["message"].startswith("Duplicate process ID"):
        found["message"] = (
            f"{found['message'].rstrip('.')}, also in {first}: a process id is defined once "
            "in a deploy; give one of them another id, or leave one of the files out"
        )


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
