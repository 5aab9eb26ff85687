"""DMN files checked at deploy: one problem per construct SpiffWorkflow 3.2 would refuse late
or decide wrongly, all listed before the parser runs.

A file that is no DMN or holds no decision, several decisions in one file (SpiffWorkflow 3.2
reads one), decisions that are no decision table, hit policies other than UNIQUE, FIRST, ANY,
COLLECT without aggregation and RULE ORDER, PRIORITY, OUTPUT ORDER (``engine.hit_policies``),
outputs without a name and rules whose cells do not match the table's columns, and rule
cells that are neither Python nor FEEL ``engine.feel`` can rewrite; and one decision
id in two DMN files of a deploy (the parser would keep one of the two without a word). It
lives apart from ``engine.constructs`` because DMN tables share nothing with the BPMN
pre-pass but the shape of a problem.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lxml import etree

from engine.bpmn_xml import SAFE_XML, element_problem
from engine.dmn_juel import juel_cell_problem
from engine.dmn_schema import dmn_xsd_problems
from engine.errors import problem
from engine.feel import column_expression, literal, own_column_test, unary_test
from engine.feel_temporal import temporal_problem
from engine.file_kinds import upload_hint
from engine.hit_policies import REWRITTEN, priority_problems

# What SpiffWorkflow 3.2's DMN engine does with each hit policy: UNIQUE, FIRST and ANY return
# the first matching rule (right for FIRST, and for UNIQUE and ANY tables that are correct),
# COLLECT a list per output; RULE ORDER, PRIORITY and OUTPUT ORDER are rewritten into those
# (``engine.hit_policies``). A COLLECT aggregation (SUM, COUNT, MIN, MAX) would be ignored.
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


def decision_problems(dmn: dict[str, str]) -> list[dict[str, Any]]:
    """One problem per DMN construct SpiffWorkflow 3.2 would refuse late or decide wrongly:
    several decisions in one file, decisions that are no table, hit policies and aggregations
    it does not implement, and cells that are not the Python its rules are evaluated as."""
    found: list[dict[str, Any]] = []
    for name, text in dmn.items():
        try:
            tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation

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
                    line=tree.sourceline,
                    file=name,
                )
            )
            continue
        before = len(found)
        _duplicate_ids(tree, report)
        decisions = [e for e in tree if isinstance(e.tag, str) and _local(e) == "decision"]
        if not decisions:
            found.append(
                problem(
                    f"{name}: holds no decision; a DMN file needs one decision table",
                    line=tree.sourceline,
                    file=name,
                )
            )
        for extra in decisions[1:]:
            report(
                extra,
                f"is the {_ordinal(decisions.index(extra) + 1)} decision of this file; Dialflow "
                "reads one decision per DMN file (SpiffWorkflow 3.2): put it in a file of its own",
            )
        for decision in decisions:
            tables = [
                e for e in decision if isinstance(e.tag, str) and _local(e) == "decisionTable"
            ]
            if not tables:
                report(decision, "is not a decision table; only decision tables are supported")
            for table in tables:
                _table_problems(table, report)
        found[before:before] = _schema_problems(name, tree, found[before:])
    return found


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


def _table_problems(table: Any, report: Any) -> None:
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
    for element, message in priority_problems(table):
        report(element, message)
    if policy == "COLLECT" and table.get("aggregation"):
        report(
            table,
            f"COLLECT with aggregation {table.get('aggregation')} is not supported (the list of "
            "values would come back unaggregated); drop the aggregation and sum, count or pick "
            "in a script task after the decision",
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
            continue
        juel_text = juel_cell_problem(element, text) if local in _CELLS else None
        if juel_text:
            report(element, juel_text)
        elif temporal_problem(local, text):
            report(element, temporal_problem(local, text))
        elif local == "inputExpression":
            problem_text = _python_problem(text, "eval")
            if problem_text:
                report(element, f"input expression {text!r} is not Python: {problem_text}")
        elif local == "inputEntry" and text != "-":
            # as the run reads it: a condition on its own column (``not (amount > 10)``)
            # is one on ``?``, no FEEL negation
            cell = own_column_test(text, column_expression(element)) or unary_test(text)
            message = _unary_test_problem(cell)
            if message:
                report(element, message)
        elif local == "outputEntry":
            problem_text = _python_problem(literal(text), "eval")
            if problem_text:
                report(element, f"output {text!r} is not a Python expression: {problem_text}")


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


def _ordinal(number: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(number, f"{number}th")
