"""DMN files checked at deploy: one problem per construct SpiffWorkflow 3.2 would refuse late
or decide wrongly, all listed before the parser runs.

A file that is no DMN or holds no decision, decisions that are no decision table, a
decision requiring one the deploy does not have (or itself, through others) or a business
knowledge model, hit policies other than UNIQUE, FIRST, ANY,
COLLECT (with or without an aggregation) and RULE ORDER, PRIORITY, OUTPUT ORDER
(``engine.hit_policies``), outputs without a name and rules whose cells do not match the
table's columns, and rule cells that are neither Python nor FEEL ``engine.feel`` can
rewrite; and one decision id in two DMN files of a deploy (the parser would keep one of the
two without a word). It lives apart from ``engine.constructs`` because DMN tables share
nothing with the BPMN pre-pass but the shape of a problem.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from engine import dmn_thousands
from engine.bpmn_xml import element_problem, readable_trees
from engine.dmn_juel import juel_cell_problem
from engine.dmn_schema import dmn_xsd_problems, has_schema
from engine.dmn_types import type_ref_problems
from engine.errors import problem
from engine.feel import (
    _NOT,
    _OPERATOR,
    _RANGE,
    _alternatives,
    column_expression,
    expression,
    literal,
    own_column_test,
    unary_test,
)
from engine.feel_temporal import literal_problem, temporal_problem
from engine.file_kinds import upload_hint
from engine.hit_policies import AGGREGATIONS, REWRITTEN, priority_problems
from engine.script_text import script_text
from engine.unnamed_elements import unnamed_decision_problems

# What SpiffWorkflow 3.2's DMN engine does with each hit policy: UNIQUE, FIRST and ANY return
# the first matching rule (right for FIRST, and for UNIQUE and ANY tables that are correct),
# COLLECT a list per output; RULE ORDER, PRIORITY and OUTPUT ORDER are rewritten into those
# (``engine.hit_policies``), which also aggregates COLLECT's lists (SUM, MIN, MAX, COUNT).
HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "COLLECT", *REWRITTEN}
_CELLS = {"inputExpression", "inputEntry", "outputEntry"}


# The model namespaces of DMN 1.1 to 1.5 all lie under this address.
DMN_NAMESPACE = re.compile(r"^https?://www\.omg\.org/spec/DMN/\d{8}/")


def is_dmn(tree: Any) -> bool:
    """Whether ``tree`` is the ``<definitions>`` of a DMN version (what the parser can read:
    anything else failed in it with "XPathEvalError: Undefined namespace prefix")."""
    namespace = etree.QName(tree).namespace or ""
    return _local(tree) == "definitions" and bool(DMN_NAMESPACE.match(namespace))


def has_decision(tree: Any) -> bool:
    return any(isinstance(e.tag, str) and _local(e) == "decision" for e in tree)


def duplicate_decisions(
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


def _duplicate_ids(tree: Any, report: Any) -> None:
    """An id given to two elements of a DMN file (a rule copied by hand with its id): DMN's
    schema refuses it as BPMN's does, and the decision editor tells the two apart by id.
    Said on each element after the first."""
    first: dict[str, Any] = {}
    for element in tree.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if not element_id:
            continue
        if element_id not in first:
            first[element_id] = element
            continue
        other = first[element_id]
        report(
            element,
            f"has the id of the {_local(other)} on line {other.sourceline}; each element of a "
            "DMN file needs an id of its own: give this one another id",
        )


def decision_problems(
    dmn: dict[str, str], bpmn: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One problem per DMN construct SpiffWorkflow 3.2 would refuse late or decide wrongly:
    decisions that are no table, requirements that cannot be met, hit policies and
    aggregations it does not implement, values not of their column's typeRef, and cells that
    are not the Python its rules are evaluated as. ``bpmn``: the deploy's process files,
    whose scripts name the variables a cell may read by a bare name."""
    found: list[dict[str, Any]] = []
    every_decision = _decision_ids(dmn)
    variables = script_variables(bpmn or {})
    for name, tree in readable_trees(dmn):

        def report(element: Any, message: str, name: str = name) -> None:
            found.append(element_problem(name, element, message))

        if not is_dmn(tree):
            namespace = etree.QName(tree).namespace
            found.append(
                problem(
                    f"{name}: is no DMN file: its root is <{_local(tree)}>"
                    + (f" of {namespace!r}" if namespace else " without a namespace")
                    + ", where a DMN file has the <definitions> of a DMN version "
                    "(such as https://www.omg.org/spec/DMN/20191111/MODEL/)"
                    + upload_hint(tree, "dmn"),
                    element_id=tree.get("id"),
                    line=tree.sourceline,
                    file=name,
                )
            )
            continue
        before = len(found)
        _duplicate_ids(tree, report)
        found.extend(unnamed_decision_problems(name, tree))
        decisions = [e for e in tree if isinstance(e.tag, str) and _local(e) == "decision"]
        if not decisions:
            found.append(
                problem(
                    f"{name}: holds no decision; a DMN file needs one decision table",
                    line=tree.sourceline,
                    file=name,
                )
            )
        _requirement_problems(tree, every_decision, report)
        type_ref_problems(tree, report)
        for decision in decisions:
            tables = [
                e for e in decision if isinstance(e.tag, str) and _local(e) == "decisionTable"
            ]
            if not tables:
                report(decision, "is not a decision table; only decision tables are supported")
            for table in tables:
                _table_problems(table, report, variables)
        found[before:before] = _schema_problems(name, tree, found[before:])
    return found


def _decision_ids(dmn: dict[str, str]) -> set[str]:
    """The ids of the decisions of every DMN file of the deploy (what a requirement names)."""
    ids: set[str] = set()
    for _, tree in readable_trees(dmn):
        ids |= {e.get("id") for e in tree if isinstance(e.tag, str) and _local(e) == "decision"}
    return ids


def required_ids(decision: Any, kind: str = "requiredDecision") -> list[tuple[Any, str]]:
    """``(requirement element, id)`` for each decision (or, with ``kind``
    ``requiredKnowledge``, business knowledge model) ``decision`` requires: its ``href``
    (``#id``, or ``file.dmn#id``) without what comes before the ``#``."""
    found = []
    for requirement in decision:
        if not isinstance(requirement.tag, str) or not _local(requirement).endswith("Requirement"):
            continue
        for required in requirement:
            if isinstance(required.tag, str) and _local(required) == kind:
                href = (required.get("href") or "").strip()
                found.append((requirement, href.rsplit("#", 1)[-1]))
    return found


def _requirement_problems(tree: Any, every_decision: set[str], report: Any) -> None:
    """A decision requirements graph runs when its decisions are decision tables: a decision
    requiring another is decided after it, with its outputs in the data. What it requires must
    be a decision of the deploy, and no decision may require itself through others; a business
    knowledge model a decision requires is not evaluated (decision tables only)."""
    decisions = {e.get("id"): e for e in tree if isinstance(e.tag, str) and _local(e) == "decision"}
    for decision_id, decision in decisions.items():
        for requirement, required in required_ids(decision):
            if required not in every_decision:
                report(
                    requirement if requirement.get("id") else decision,
                    f"requires decision {required!r}, which no DMN file of this deploy has: "
                    "add its file, or correct the requirement's href ('#' and the decision's id)",
                )
            elif _requires(decisions, required, decision_id, set()):
                report(
                    requirement if requirement.get("id") else decision,
                    f"requires decision {required!r}, which requires {decision_id!r} in turn: "
                    "a decision requirements graph may not go round in a circle",
                )
    for knowledge in tree:
        if not isinstance(knowledge.tag, str) or _local(knowledge) != "businessKnowledgeModel":
            continue
        users = [
            decision_id
            for decision_id, decision in decisions.items()
            if any(
                ref == knowledge.get("id") for _, ref in required_ids(decision, "requiredKnowledge")
            )
        ]
        if users:
            report(
                knowledge,
                f"is a business knowledge model, which Dialflow does not evaluate (decision "
                f"tables only), and decision {users[0]!r} requires it: write its logic into "
                "that decision's table, or as a decision table of its own the decision requires "
                "(<requiredDecision>)",
            )


def _requires(decisions: dict[str, Any], start: str, target: str, seen: set[str]) -> bool:
    """Whether decision ``start`` requires ``target`` (in this file), directly or not."""
    if start in seen or start not in decisions:
        return False
    seen.add(start)
    for _, required in required_ids(decisions[start]):
        if required == target or _requires(decisions, required, target, seen):
            return True
    return False


def _schema_problems(name: str, tree: Any, said: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The schema's problems of the file (``engine.dmn_schema``), but on the elements the
    checks above already named (a hit policy, a rule without its output cell), in words that
    say what runs: one problem per element."""
    named = {p["element_id"] for p in said if p.get("element_id")}
    return [p for p in dmn_xsd_problems(name, tree) if p["element_id"] not in named]


def _shape_problems(table: Any, report: Any) -> None:
    """Outputs without a name and rules whose cells do not match the table's columns.

    SpiffWorkflow 3.2 pairs a rule's cells with the table's inputs and outputs by position: a
    rule with a cell too few was matched against the first inputs only (the cells after a
    missing one tested the wrong column), one with a cell too many failed the parser with an
    ``IndexError``. An output without a name set a variable named after its label
    (``Approval``, ``Discount %``), so the condition reading ``approval`` failed at run time.
    """
    columns: dict[str, list[Any]] = {"inputEntry": [], "outputEntry": []}
    for child in table:
        if isinstance(child.tag, str) and _local(child) in ("input", "output"):
            columns[f"{_local(child)}Entry"].append(child)
    if not columns["outputEntry"]:
        report(
            table,
            "has no <output>: a decision table needs at least one output column (the "
            'variable the decision sets, <output name="…">), after its inputs and before its '
            "rules",
        )
    for output in columns["outputEntry"]:
        if not (output.get("name") or "").strip():
            label = output.get("label")
            stored = f"under its label {label!r}" if label else "under no usable name"
            report(
                output,
                f"has no name: the decision would set its value {stored}; add "
                'name="…", the variable the gateways and scripts after the task read',
            )
    for rule in table:
        if not isinstance(rule.tag, str) or _local(rule) != "rule":
            continue
        for entry, kind in (("inputEntry", "input"), ("outputEntry", "output")):
            have = sum(1 for c in rule if isinstance(c.tag, str) and _local(c) == entry)
            want = len(columns[entry])
            if have != want and want:
                report(
                    rule,
                    f"has {have} {kind} entr{'y' if have == 1 else 'ies'} for the table's "
                    f"{want} {kind}s: a rule has one cell per {kind} column, in order ('-' "
                    "for any value in an input column)",
                )


def _table_problems(table: Any, report: Any, variables: set[str] = frozenset()) -> None:
    policy = " ".join((table.get("hitPolicy") or "UNIQUE").split()).upper()
    written = table.get("hitPolicy")
    if policy in HIT_POLICIES and written is not None and written != policy:
        # SpiffWorkflow compares the text as written: "Collect" answered one rule's outputs,
        # not a list, and "Unique" let several rules match
        report(
            table,
            f"hit policy {written!r} is not spelled as DMN spells it (in capitals, one space "
            f"between words): write {policy!r}",
        )
    elif policy not in HIT_POLICIES:
        report(
            table,
            f"hit policy {policy} is not supported (SpiffWorkflow 3.2 would answer with the "
            "first matching rule); use UNIQUE, FIRST, ANY, COLLECT, RULE ORDER, PRIORITY or "
            "OUTPUT ORDER",
        )
    _shape_problems(table, report)
    _type_problems(table, report, variables)
    for element, message in priority_problems(table):
        report(element, message)
    aggregation = (table.get("aggregation") or "").strip()
    if aggregation and aggregation not in AGGREGATIONS:
        if not has_schema(table.getroottree().getroot()):  # else its schema says so
            report(
                table,
                f"aggregation {aggregation!r} is none of DMN's: write SUM, MIN, MAX or COUNT "
                "(in capitals)",
            )
    elif aggregation and policy != "COLLECT":
        report(
            table,
            f"aggregation {aggregation} applies to hit policy COLLECT only (this table's is "
            f"{policy}): drop it, or make the hit policy COLLECT",
        )

    for element in table.iter():
        if not isinstance(element.tag, str):
            continue
        local = _local(element)
        text_node = next(
            (c for c in element if isinstance(c.tag, str) and _local(c) == "text"), None
        )
        text = (text_node.text or "").strip() if text_node is not None else ""
        if not text:
            if local == "inputExpression":
                _empty_input_problem(element, report)
            continue
        juel_text = juel_cell_problem(element, text) if local in _CELLS else None
        grouped = dmn_thousands.problem(local, text)
        if juel_text:
            report(element, juel_text)
        elif grouped:
            report(element, grouped)
        elif local in ("inputEntry", "inputExpression") and literal_problem(text, local):
            report(element, literal_problem(text, local) or "")
        elif temporal_problem(local, text) and not (
            local == "inputEntry" and "_feel_" in unary_test(text)
        ):
            report(element, temporal_problem(local, text))
        elif local == "inputExpression":
            problem_text = _python_problem(expression(text), "eval")
            if problem_text:
                report(element, f"input expression {text!r} is not Python: {problem_text}")
            else:
                _unknown_calls(element, "input expression", text, expression(text), report)
        elif local == "inputEntry" and text != "-":
            # as the run reads it: a condition on its own column (``not (amount > 10)``)
            # is one on ``?``, no FEEL negation
            cell = own_column_test(text, column_expression(element)) or unary_test(text)
            message = _unary_test_problem(cell)
            if message:
                report(element, message)
            else:
                _unknown_calls(element, "rule cell", text, unary_test(text), report)
        elif local == "outputEntry":
            problem_text = _python_problem(expression(literal(text)), "eval")
            if problem_text:
                report(element, f"output {text!r} is not a Python expression: {problem_text}")
            else:
                _unknown_calls(element, "output", text, expression(literal(text)), report)


def _empty_input_problem(expression: Any, report: Any) -> None:
    """An input whose ``inputExpression`` is empty while a rule tests its column: it deployed,
    and the first instance to reach such a rule failed with SpiffWorkflow's bare
    ``'Label'`` (it looked the column's label up in the data)."""
    column = expression.getparent()
    table = column.getparent() if column is not None else None
    if table is None:
        return
    inputs = [c for c in table if isinstance(c.tag, str) and _local(c) == "input"]
    place = inputs.index(column)
    for rule in (c for c in table if isinstance(c.tag, str) and _local(c) == "rule"):
        cells = [c for c in rule if isinstance(c.tag, str) and _local(c) == "inputEntry"]
        if place < len(cells) and _text(cells[place]).strip() not in ("", "-"):
            label = (column.get("label") or "").strip()
            named = f"input {label!r}" if label else f"input {place + 1}"
            guess = re.sub(r"\W+", "_", label.lower()).strip("_")
            example = f", such as {guess}" if guess.isidentifier() else ""
            report(
                expression,
                f"{named} has an empty inputExpression, and rule cells test its column: write "
                f"in its <text> the variable (or Python expression) the column reads{example}",
            )
            return


def _unknown_calls(element: Any, part: str, text: str, python: str, report: Any) -> None:
    """A cell or expression calling a function that is neither Python's nor a script helper
    (FEEL's ``matches(?, "^1")``, ``round up(…)``, ``day of week(…)``): it compiled, so it
    deployed, and the decision failed when it ran with "name 'matches' is not defined"."""
    from engine.scripting import script_helpers  # the helpers a decision's cells may call

    candidate = _INPUT_MARK.sub("v", python)
    try:
        tree = ast.parse(candidate.strip(), mode="eval")
    except SyntaxError:
        try:
            tree = ast.parse(f"v {candidate.strip()}", mode="eval")
        except SyntaxError:
            return
    from engine.sandbox import REMOVED  # builtins a cell has not

    known = set(script_helpers(datetime.now(UTC))) | (set(dir(builtins)) - REMOVED)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name not in known:
                report(
                    element,
                    f"{part} {text!r} calls {name}(…), which Dialflow does not know (of FEEL's "
                    "functions it reads count, string length, starts with, ends with, contains, "
                    "date and date and time): use Python's (len, str, min, max, sum, abs, "
                    "round), or work the value out in a script task before the decision",
                )
                return


# A column's typeRef (FEEL's, XML Schema's or Camunda 7's names) → the Python kinds its
# literal values may have; a typeRef not here (date, dateTime, a custom type) is not checked.
_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    **dict.fromkeys(
        ("number", "integer", "int", "long", "double", "decimal", "float"),
        ("a number", (int, float)),
    ),
    "string": ("text in quotes", (str,)),
    "boolean": ("true or false", (bool,)),
}
_KIND_NAMES = {str: "text", bool: "a boolean", int: "a number", float: "a number"}
# Camunda 7's whole-number typeRefs: its DMN engine takes a number there only when it is whole
# (``IntegerDataTypeTransformer``, ``LongDataTypeTransformer``) and fails on 5.5.
_WHOLE = {"integer", "int", "long"}


def _type_problems(table: Any, report: Any, variables: set[str] = frozenset()) -> None:
    """Literal values that are not of their column's typeRef: an output of ``"big"`` under
    ``typeRef="number"`` set text where the gateway after the task compared numbers (and
    failed there), and a rule cell ``"high"`` in a number column never matched."""
    columns: dict[str, list[tuple[str, str]]] = {"inputEntry": [], "outputEntry": []}
    inputs = {
        _text(expression).strip()
        for child in table
        if isinstance(child.tag, str) and _local(child) == "input"
        for expression in child
        if isinstance(expression.tag, str) and _local(expression) == "inputExpression"
    } | variables
    for child in table:
        local = _local(child) if isinstance(child.tag, str) else ""
        if local == "input":
            expression = next((c for c in child if _local(c) == "inputExpression"), None)
            type_ref = expression.get("typeRef", "") if expression is not None else ""
            columns["inputEntry"].append((child.get("label") or _text(expression), type_ref))
        elif local == "output":
            columns["outputEntry"].append((child.get("name") or "", child.get("typeRef", "")))
            for default in (c for c in child if _local(c) == "defaultOutputEntry"):
                _type_problem(default, _text(default), columns["outputEntry"][-1], report, inputs)
    for rule in (c for c in table if isinstance(c.tag, str) and _local(c) == "rule"):
        for entry in ("inputEntry", "outputEntry"):
            cells = [c for c in rule if isinstance(c.tag, str) and _local(c) == entry]
            for cell, column in zip(cells, columns[entry], strict=False):
                _type_problem(cell, _text(cell), column, report, inputs)


_BARE_NAME = re.compile(r"^[A-Za-z_]\w*$")
_NOT_NAMES = {"true", "false", "null", "True", "False", "None"}


def _type_problem(
    cell: Any, text: str, column: tuple[str, str], report: Any, inputs: set[str] = frozenset()
) -> None:
    name, type_ref = column
    wanted = _TYPES.get(type_ref.split(":")[-1].strip().lower())
    if wanted is None or not text.strip() or text.strip() == "-":
        return
    if wanted[1] == (str,) and _unquoted_text(text, inputs):
        _unquoted_problem(cell, text.strip(), name, report)
        return
    described, kinds = wanted
    output = _local(cell) != "inputEntry"
    for value in _literals(text, output):
        if value is None or (
            isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
        ):
            continue
        part = "output" if output else "rule cell"
        report(
            cell,
            f"{part} {text.strip()!r} is {_KIND_NAMES.get(type(value), type(value).__name__)} "
            f"where its column {name!r} has typeRef {type_ref!r}: write {described}, or "
            "change the column's typeRef",
        )
        return
    if type_ref.split(":")[-1].strip().lower() in _WHOLE:
        _fraction_problem(cell, text, column, report)


def _fraction_problem(cell: Any, text: str, column: tuple[str, str], report: Any) -> None:
    """A number that is not whole in a column of a whole-number typeRef: an output Camunda's
    engine fails on (Dialflow set 5.5), or a rule cell that compares the column's whole value
    for equality with it and so never matches."""
    output = _local(cell) != "inputEntry"
    values = _literals(text, True) if output else _compared_equal(text)
    if not any(isinstance(v, float) and not v.is_integer() for v in values):
        return
    name, type_ref = column
    if output:
        said = (
            f"output {text.strip()!r} is not a whole number where its column {name!r} has "
            f"typeRef {type_ref!r}, which takes whole numbers only (Camunda's DMN engine fails "
            "on it): write a whole number, or change the column's typeRef to double"
        )
    else:
        said = (
            f"rule cell {text.strip()!r} is not a whole number where its column {name!r} has "
            f"typeRef {type_ref!r}: the column's whole value never equals it, so the rule never "
            "matches; write a whole number, a comparison (> 2500.5), or change the typeRef"
        )
    report(cell, said)


def _compared_equal(text: str) -> list[Any]:
    """The literal values a rule cell compares its input with for equality (a value, or a
    list of them); none for ranges, comparisons and negations."""
    text = literal(text.strip())
    parts = _alternatives(text)
    if len(parts) > 1:
        return [value for part in parts for value in _compared_equal(part)]
    if _NOT.match(text) or _RANGE.match(text) or _OPERATOR.match(text):
        return []
    try:
        return [ast.literal_eval(text)]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return []


def script_variables(bpmn: dict[str, str]) -> set[str]:
    """The names the Python scripts of ``bpmn``'s files (script tasks, pre- and
    post-scripts) assign: variables of the instance's data, which a cell may name bare
    (``tier`` in a string column, set by ``tier = "gold"`` in a script before the task)."""
    names: set[str] = set()
    for _, tree in readable_trees(bpmn):
        for element in tree.iter():
            if not isinstance(element.tag, str) or _local(element) not in _SCRIPTS:
                continue
            try:
                script = ast.parse(script_text(element.text or ""))
            except (SyntaxError, ValueError):
                continue  # said by the script's own check, or not Python
            names |= {
                node.id
                for node in ast.walk(script)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
            }
    return names


_SCRIPTS = {"script", "preScript", "postScript"}


def _unquoted_text(text: str, inputs: set[str]) -> bool:
    """Whether a cell of a string column is one bare word naming none of the table's inputs
    (``referral`` for ``"referral"``) nor a variable a script of the deploy sets: a name,
    read from the instance's data when it runs."""
    word = text.strip()
    return (
        bool(_BARE_NAME.match(word))
        and word not in _NOT_NAMES
        and not keyword.iskeyword(word)
        and word not in inputs
    )


def _unquoted_problem(cell: Any, word: str, column: str, report: Any) -> None:
    """A string column's cell written as a bare word, as assistants write text in a table:
    it deployed, and the decision failed on the first instance with a NameError."""
    output = _local(cell) != "inputEntry"
    part = "output" if output else "rule cell"
    other = f"str({word})" if output else f"? == {word}"
    report(
        cell,
        f"{part} {word!r} in column {column!r} (typeRef 'string') is a bare name, which the "
        f'decision reads as a variable of the instance\'s data, not as text: write "{word}" '
        f"in double quotes (to use the variable {word!r}, write {other})",
    )


def _literals(text: str, output: bool) -> list[Any]:
    """The literal values a cell compares with (or an output cell is), as Python values;
    none for what is an expression of names."""
    text = literal(text.strip())
    if not output:
        negated = _NOT.match(text)
        if negated:
            return _literals(negated.group(1), output)
        parts = _alternatives(text)
        if len(parts) > 1:
            return [value for part in parts for value in _literals(part, output)]
        bounds = _RANGE.match(text)
        compared = _OPERATOR.match(text)
        if bounds:
            return _literals(bounds.group(2), True) + _literals(bounds.group(3), True)
        if compared:
            return _literals(compared.group(2), True)
    try:
        return [ast.literal_eval(text)]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return []


def _text(element: Any) -> str:
    if element is None:
        return ""
    for child in element:
        if isinstance(child.tag, str) and _local(child) == "text":
            return child.text or ""
    return ""


_INPUT_MARK = re.compile(r"""\?(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def _unary_test_problem(text: str) -> str | None:
    """SpiffWorkflow compares ``input == (cell)``, or appends the cell to the input when it
    starts with an operator (``>= 10``, ``in (…)``); ``?`` stands for the input."""
    if "?" in text:
        candidate = re.sub(r"""\?(?=(?:[^'"]|['"][^'"]*['"])*$)""", "v", text)
        error = _python_problem(candidate, "eval")
        return f"rule cell {text!r} is not Python: {error}" if error else None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        error = _python_problem(f"v {text}", "eval")
        shift = re.match(r"^\s*(>>|<<)\s*(.*)$", text)
        if error is None and shift:  # '>> 20': a '>' typed twice, no comparison at all
            meant = f"{shift.group(1)[0]} {shift.group(2).strip()}"
            return (
                f"rule cell {text!r} shifts the input's bits in Python and compares nothing "
                f"(FEEL has no {shift.group(1)!r}): write {meant!r}"
            )
        if error is None:
            return None
        if re.match(r"^\s*[\[(].*\.\..*[\])]\s*$", text):
            return (
                f"rule cell {text!r} is a FEEL range; SpiffWorkflow evaluates Python: write "
                "e.g. '1 <= ? <= 5' or '>= 1'"
            )
        return f"rule cell {text!r} is not Python: {error}"
    body = tree.body
    if isinstance(body, ast.Tuple):
        return (
            f"rule cell {text!r} is a FEEL list of alternatives, which Python would compare as "
            f"one tuple and never match: write 'in ({text})'"
        )
    if isinstance(body, ast.UnaryOp) and isinstance(body.op, ast.Not):
        return (
            f"rule cell {text!r} is a FEEL negation, which Python reads as a boolean: write "
            'e.g. \'!= "East"\' or \'not in ("East", "West")\''
        )
    return None


def _python_problem(text: str, mode: str) -> str | None:
    try:
        compile(text, "<dmn>", mode)
    except SyntaxError as exc:
        return exc.msg
    return None


def _local(element: Any) -> str:
    return etree.QName(element).localname
