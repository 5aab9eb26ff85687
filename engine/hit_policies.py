"""DMN hit policies SpiffWorkflow 3.2 does not know, written as the ones it decides right.

SpiffWorkflow 3.2 answers every table with its first matching rule, except COLLECT (a list per
output, the matches in rule order); Dialflow's engines add UNIQUE, ANY and FIRST as DMN says
(``_SingleHitEngine`` below, set on every parsed spec by :func:`decide_by_hit_policy`). The
other policies DMN defines are orderings of the same matches, so before the parser sees a DMN
file each such table is rewritten:

- RULE ORDER (every match, in rule order) becomes COLLECT;
- PRIORITY (the match whose outputs come first in their ``outputValues``) becomes FIRST over
  the rules sorted by that priority, ties kept in rule order;
- OUTPUT ORDER (every match, by that priority) becomes COLLECT over the sorted rules.

An output's priority is the place of the rule's value in the output's ``outputValues`` list
(DMN: "in decreasing order of priority"); with several such outputs the first decides, then
the next. A PRIORITY or OUTPUT ORDER table without ``outputValues``, or a rule whose value is
not among them, has no order to go by: ``priority_problems`` names it at deploy. The stored
file stays as uploaded.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.dmn.specs.model import HitPolicy, OutputEntry
from SpiffWorkflow.util.deep_merge import DeepMerge

from engine.feel import _alternatives, literal

RANKED = {"PRIORITY": "FIRST", "OUTPUT ORDER": "COLLECT"}
REWRITTEN = {"RULE ORDER": "COLLECT", **RANKED}


def policy_of(table: Any) -> str:
    return " ".join((table.get("hitPolicy") or "UNIQUE").split()).upper()


def rewrite_tree(tree: Any) -> None:
    """Rewrite the tables of a parsed DMN file in place (see the module's text); a table
    ``priority_problems`` refuses is left as it is."""
    for table in _tables(tree):
        policy = policy_of(table)
        if policy not in REWRITTEN:
            continue
        if policy in RANKED:
            ranks, problems = _ranks(table)
            if problems:
                continue
            rules = [child for child in table if _local(child) == "rule"]
            order = sorted(range(len(rules)), key=lambda index: ranks[index])
            for rule in rules:
                table.remove(rule)
            for index in order:
                table.append(rules[index])
        table.set("hitPolicy", REWRITTEN[policy])


def priority_problems(table: Any) -> list[tuple[Any, str]]:
    """``(element, message)`` for a PRIORITY or OUTPUT ORDER table that gives no priority."""
    if policy_of(table) not in RANKED:
        return []
    return _ranks(table)[1]


def _ranks(table: Any) -> tuple[list[tuple[int, ...]], list[tuple[Any, str]]]:
    """Each rule's priority (in rule order; lower first), and the problems that leave none."""
    outputs = [child for child in table if _local(child) == "output"]
    ordered = [
        (index, [_value(v) for v in _alternatives(_text(values))])
        for index, output in enumerate(outputs)
        for values in output
        if _local(values) == "outputValues" and _text(values).strip()
    ]
    policy = policy_of(table)
    if not ordered:
        return [], [
            (
                table,
                f"hit policy {policy} picks rules by the order of their outputs' values, and "
                "no output lists its values (<outputValues>, highest priority first): list "
                "them, or use hit policy FIRST with the rules in the order to try",
            )
        ]
    ranks: list[tuple[int, ...]] = []
    problems: list[tuple[Any, str]] = []
    for rule in (child for child in table if _local(child) == "rule"):
        entries = [child for child in rule if _local(child) == "outputEntry"]
        rank = []
        for index, values in ordered:
            if index >= len(entries):
                continue
            value = _value(_text(entries[index]))
            if value not in values:
                problems.append(
                    (
                        entries[index],
                        f"output {_text(entries[index]).strip()!r} of rule {rule.get('id')!r} "
                        f"is not one of the output's values ({', '.join(map(repr, values))}), "
                        f"by whose order hit policy {policy} ranks the rules: use one of them",
                    )
                )
                continue
            rank.append(values.index(value))
        ranks.append(tuple(rank))
    return ranks, problems


def _value(text: str) -> Any:
    """A cell's value, so ``"gold"`` and ``'gold'`` (or ``10`` and ``10.0``) are one."""
    text = literal(text).strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _tables(tree: Any) -> list[Any]:
    return [e for e in tree.iter() if isinstance(e.tag, str) and _local(e) == "decisionTable"]


def _text(element: Any) -> str:
    for child in element:
        if isinstance(child.tag, str) and _local(child) == "text":
            return child.text or ""
    return ""


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")


class DefaultsDMNParser(DMNParser):
    """SpiffWorkflow's DMN parser, keeping what it drops: a COLLECT table's ``aggregation``
    (C+, C<, C>, C#) and an output's ``<defaultOutputEntry>`` (the value when no rule
    matches), which the engines below answer with."""

    def _parse_decision_tables(self, decision: Any, element: Any) -> None:
        super()._parse_decision_tables(decision, element)
        tables = element.findall("dmn:decisionTable", namespaces=self.nsmap)
        for table, table_element in zip(decision.decisionTables, tables, strict=False):
            aggregation = (table_element.get("aggregation") or "").strip().upper()
            table.aggregation = aggregation or None

    def _parse_input_output_element(
        self, decision_table: Any, element: Any, cls: type, idx: int
    ) -> Any:
        """An empty output cell is null, as DMN (and Camunda) has it: SpiffWorkflow 3.2
        answered ``""``, text under a number column, and the gateway after the task that
        compared it with a number failed."""
        entry = super()._parse_input_output_element(decision_table, element, cls, idx)
        if cls is OutputEntry and not (entry.text or "").strip():
            entry.text = "None"
        return entry

    def _parse_output(self, element: Any) -> Any:
        output = super()._parse_output(element)
        default = element.find("dmn:defaultOutputEntry/dmn:text", namespaces=self.nsmap)
        text = (default.text or "").strip() if default is not None else ""
        output.default = literal(text) if text else None
        return output


def _defaults(table: Any, task: Any) -> dict[str, Any]:
    """Each output's value when no rule matches: its default, else null."""
    engine = task.workflow.script_engine
    return {
        output.name: (
            engine.evaluate(task, output.default) if getattr(output, "default", None) else None
        )
        for output in table.outputs
        if output.name
    }


class _ReplacingEngine(DMNEngine):
    """A decision's outputs replace what the task data held under their names, as each run of
    a decision answers afresh. SpiffWorkflow 3.2 deep-merges the answer into the data: a list
    from an earlier run (a COLLECT decided again in a loop, or a list the instance started
    with) kept its first items and was cut to the new length (``["sms"]`` then ``["email",
    "visit"]`` gave ``["sms", "email"]``), and a dict output kept the keys it no longer has.
    The outputs are dropped from the data here, just before the task merges the answer."""

    required: list[DMNEngine] = []

    def result(self, task: Any) -> dict[str, Any]:
        for engine in self.required:  # the decisions this one requires, their outputs first
            task.data.update(engine.result(task))
        found = self.decided(task)
        for name in found:
            task.data.pop(name, None)
        return found

    def decided(self, task: Any) -> dict[str, Any]:
        _inputs_there(self.decision_table, task)
        matched = self.decide(task)
        if self.decision_table.hit_policy == HitPolicy.COLLECT.value:
            found: dict[str, Any] = {}
            for rule in matched:
                for key, value in outputs(rule, task).items():
                    found.setdefault(key, []).append(value)
            return found
        return outputs(matched[0], task) if matched else {}

    def evaluate(self, input_expr: Any, match_expr: Any, task: Any) -> Any:
        """A test that cannot compare a null input (``>= 60`` on a score no rule of a COLLECT
        SUM table gave) does not match, as FEEL's comparison with null is null: the decision
        failed with "Error evaluating expression 'score>= 60'" instead of going on to the
        rules that match anything."""
        try:
            return super().evaluate(input_expr, match_expr, task)
        except Exception as failure:
            causes = (failure, failure.__cause__, failure.__context__)
            if any(isinstance(c, TypeError) for c in causes) and _is_null(input_expr, task):
                return False
            raise


def outputs(rule: Any, task: Any) -> dict[str, Any]:
    """``rule``'s outputs (``Rule.output_as_dict``), an output computed from a null value
    (``score * 2`` when no score is known, ``name + " call"``) null, as FEEL computes it: it
    failed the decision with "Error evaluating expression 'score * 2'"."""
    engine = task.workflow.script_engine
    found: dict[str, Any] = {}
    for entry in rule.outputEntries:
        key = entry.output.name or entry.output.label
        value: Any = ""
        if getattr(entry, "text", None):
            try:
                value = engine.evaluate(task, entry.text)
            except Exception as failure:
                if not _null_operand(failure):
                    raise
                value = None
        *owners, name = key.split(".")  # a dotted name sets a value inside a dict
        for owner in reversed(owners[1:]):
            value, name = {name: value}, owner
        if owners:
            found[owners[0]] = DeepMerge.merge(found.get(owners[0], {}), {name: value})
        else:
            found[key] = value
    return found


def _null_operand(failure: BaseException) -> bool:
    """Whether ``failure`` is Python's refusal of a null operand (``None * 2``, ``None[0]``,
    ``"a" + None``), FEEL's null."""
    seen: BaseException | None = failure
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, TypeError) and "NoneType" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_null(input_expr: Any, task: Any) -> bool:
    """Whether an input expression is null for the task's data."""
    try:
        return task.workflow.script_engine.evaluate(task, input_expr) is None
    except Exception:
        return False


def _inputs_there(table: Any, task: Any) -> None:
    """Fail with the input's name when an input expression reads data the instance does not
    have (SpiffWorkflow said "Error evaluating expression 'x>= 0'. . Rule failed on row 1.
    Business Rule Task 'None'.", naming neither the input nor what was missing)."""
    known = getattr(task.workflow.script_engine.environment, "globals", {})
    for column in table.inputs:
        try:
            nodes = list(ast.walk(ast.parse((column.expression or "").strip(), mode="eval")))
        except SyntaxError:
            continue
        bound = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        bound |= {n.arg for n in nodes if isinstance(n, ast.arg)}  # a lambda's, a loop's
        names = {n.id for n in nodes if isinstance(n, ast.Name)} - bound
        missing = sorted(
            n for n in names if n not in task.data and n not in known and not hasattr(builtins, n)
        )
        if missing:
            label = column.label or column.name or column.id
            have = ", ".join(sorted(k for k in task.data if not k.startswith("_"))) or "nothing"
            raise ValueError(
                f"decision table {table.id!r}: input {label!r} reads "
                f"{column.expression.strip()!r}, and the instance's data has no "
                f"{', '.join(map(repr, missing))} (it has {have}); start the instance with "
                "it, or set it in a task before the decision"
            )


class _SingleHitEngine(_ReplacingEngine):
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
            answers = [outputs(rule, task) for rule in matched]
            if any(answer != answers[0] for answer in answers[1:]):
                raise ValueError(
                    f"decision table {table.id!r} has hit policy ANY but rules {ids} match "
                    "with different outputs; make them agree or use hit policy FIRST"
                )
        return matched

    def decided(self, task: Any) -> dict[str, Any]:
        found = super().decided(task)
        if not found:
            found = _defaults(self.decision_table, task)
        return found


class _CollectEngine(_ReplacingEngine):
    """COLLECT answers a list per output even when no rule matches (an empty one), as DMN
    says; SpiffWorkflow 3.2 then leaves the outputs unset, and the next script that reads
    them fails with a NameError."""

    def decided(self, task: Any) -> dict[str, Any]:
        found = super().decided(task)
        if not found and any(getattr(o, "default", None) for o in self.decision_table.outputs):
            found = {name: [value] for name, value in _defaults(self.decision_table, task).items()}
        for output in self.decision_table.outputs:
            if output.name:
                found.setdefault(output.name, [])
        aggregation = getattr(self.decision_table, "aggregation", None)
        if aggregation in AGGREGATIONS:
            found = {name: _aggregate(aggregation, values) for name, values in found.items()}
        return found


def _aggregate(aggregation: str, values: list[Any]) -> Any:
    """A COLLECT table's list of one output's values aggregated as DMN says (C+, C<, C>, C#);
    null values are left out, and a sum, minimum or maximum of nothing is null."""
    present = [value for value in values if value is not None]
    if aggregation == "COUNT":
        return len(present)
    if not present:
        return None
    try:
        if aggregation == "SUM":
            return sum(present)
        return min(present) if aggregation == "MIN" else max(present)
    except TypeError:
        kinds = ", ".join(sorted({type(value).__name__ for value in present}))
        raise ValueError(
            f"COLLECT with aggregation {aggregation} needs numbers (or values of one kind) "
            f"from the matching rules, and they gave {kinds}: {present!r}"
        ) from None


SINGLE_HIT = {HitPolicy.UNIQUE.value, "ANY", "FIRST"}


def engine_for(table: Any, required: list[Any] | tuple[Any, ...] = ()) -> DMNEngine:
    """The engine that decides ``table`` as its hit policy says (see the engines above), after
    the ``required`` engines of the decisions it requires (a decision requirements graph)."""
    policy = table.hit_policy
    if policy == HitPolicy.COLLECT.value:
        engine: DMNEngine = _CollectEngine(table)
    elif policy in SINGLE_HIT:
        engine = _SingleHitEngine(table)
    else:
        engine = _ReplacingEngine(table)
    engine.required = list(required)
    return engine


def decide_by_hit_policy(spec: BpmnProcessSpec) -> None:
    """Decision tables decide as their hit policy says (see the engines above)."""
    for task_spec in spec.task_specs.values():
        engine = getattr(task_spec, "dmnEngine", None)
        if type(engine) is DMNEngine:
            task_spec.dmnEngine = engine_for(engine.decision_table)
