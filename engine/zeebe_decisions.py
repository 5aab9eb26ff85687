"""Camunda 8 business rule tasks (``<zeebe:calledDecision decisionId resultVariable>``) run as
drawn: the decision's result lands in ``resultVariable``, shaped as Camunda 8 shapes it.

Camunda 8 writes a business rule task's decision only in ``<zeebe:calledDecision>``, and its
result goes to ``resultVariable`` alone: a single-hit table's one output is the value itself,
several outputs a dict by output name, no match null; a COLLECT table's one output a list of
values, several a list of dicts, an aggregation (SUM, MIN, MAX, COUNT) its number. It was
refused, with the hint to name the decision in ``spiffworkflow:calledDecisionId`` and drop
``resultVariable``, which set the outputs under their own names: a process reading ``grade``
from a table whose output is ``tier`` then failed, and a table of two outputs gave two
variables where the diagram reads a dict.

``adopt`` writes the decision as the task's ``spiffworkflow:calledDecisionId`` and the variable
as its property ``zeebeResultVariable``; ``ResultVariableDecision`` (a mixin of Dialflow's
business rule task class) then sets that variable from the decision's outputs, leaving the
data's variables of the outputs' names as they were. A ``versionTag`` binding calls the
decision of the newest deploy carrying the tag (resolved when deployed, ``engine.version_tags``).
A decision id written in FEEL, a tag that is no text, or a result variable that names no
variable stays refused (``engine.zeebe_hints``).
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import version_tags, zeebe_hints
from engine.bpmn_xml import BPMN_NS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_ZEEBE = f"{{{zeebe_hints.ZEEBE_NS}}}"
_SPIFF = f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
RESULT_PROPERTY = "zeebeResultVariable"
# Camunda 7's ``mapDecisionResult`` of a result variable (``engine.camunda_decisions``); a task
# without it shapes the result as Camunda 8 does.
MAPPING_PROPERTY = "camundaMapDecisionResult"
_ATTRIBUTES = {"decisionId", "resultVariable", "bindingType"}


def adopted(element: Any) -> bool:
    """True for a ``zeebe:calledDecision`` that ``adopt`` runs as drawn (see the module)."""
    if element.tag != f"{_ZEEBE}calledDecision" or len(element):
        return False
    task = _task_of(element)
    decision = (element.get("decisionId") or "").strip()
    variable = (element.get("resultVariable") or "").strip()
    # by version tag: the decision of the newest deploy carrying it (``engine.version_tags``)
    tagged = version_tags.zeebe_binding(element) is not None
    return (
        task is not None
        and set(element.attrib) <= (_ATTRIBUTES | ({"versionTag"} if tagged else set()))
        and bool(decision)
        and not zeebe_hints.is_feel(decision)
        and variable.isidentifier()
        and (tagged or (element.get("bindingType") or "latest").strip() in zeebe_hints.BINDINGS)
        and not any(True for _ in task.iter(f"{_SPIFF}calledDecisionId"))
        and len([e for e in task.iter(f"{_ZEEBE}calledDecision")]) == 1
    )


def adopt(tree: Any) -> None:
    """Give each business rule task whose ``zeebe:calledDecision`` is adopted the
    ``spiffworkflow:calledDecisionId`` and the result variable it says."""
    for element in list(tree.iter(f"{_ZEEBE}calledDecision")):
        if not adopted(element):
            continue
        extensions = element.getparent()
        called = etree.SubElement(extensions, f"{_SPIFF}calledDecisionId")
        called.text = element.get("decisionId").strip()
        holder = extensions.find(f"{_SPIFF}properties")
        if holder is None:
            holder = etree.SubElement(extensions, f"{_SPIFF}properties")
        etree.SubElement(
            holder,
            f"{_SPIFF}property",
            name=RESULT_PROPERTY,
            value=element.get("resultVariable").strip(),
        )


class ResultVariableDecision:
    """A business rule task that, given a result variable (``adopt``), sets the decision's
    result there as Camunda 8 does instead of merging its outputs into the data."""

    def _run_hook(self, my_task: Any) -> Any:
        properties = (getattr(self, "extensions", None) or {}).get("properties", {})
        variable = properties.get(RESULT_PROPERTY)
        if not variable:
            try:
                return super()._run_hook(my_task)  # type: ignore[misc]
            except SpiffWorkflowException as exc:
                # SpiffWorkflow's note names the task by its name: 'None' for one without
                unnamed = "Business Rule Task 'None'."
                exc.notes = [self._note() if n == unnamed else n for n in exc.notes]
                raise
        engine = self.dmnEngine  # type: ignore[attr-defined]
        try:
            for required in getattr(engine, "required", []):  # a DRD's inputs, as before
                my_task.data.update(required.result(my_task))
            decide = getattr(engine, "decided", engine.result)
            found = decide(my_task)
            mapping = properties.get(MAPPING_PROPERTY)
            if mapping:
                result = camunda7_result(engine.decision_table, found, mapping)
            else:
                result = camunda_result(engine.decision_table, found)
            my_task.data[variable] = result
        except SpiffWorkflowException as exc:
            exc.add_note(self._note())
            raise
        except Exception as exc:
            error = WorkflowTaskException(str(exc), task=my_task)
            error.add_note(self._note())
            raise error from exc
        return super(BusinessRuleTaskMixin, self)._run_hook(my_task)  # type: ignore[misc]

    def _note(self) -> str:
        """The note naming the task in a decision's failure: its name, else its id."""
        name = getattr(self, "bpmn_name", None) or getattr(self, "bpmn_id", None)
        return f"Business Rule Task '{name}'."


def camunda_result(table: Any, found: dict[str, Any]) -> Any:
    """The decision's outputs ``found`` (by output name) as Camunda 8's decision result."""
    names = [output.name for output in table.outputs if output.name]
    if (table.hit_policy or "").upper() != "COLLECT":
        if not found or all(found.get(name) is None for name in names):
            return None
        return found.get(names[0]) if len(names) == 1 else {n: found.get(n) for n in names}
    if len(names) == 1:
        return found.get(names[0], [])
    if getattr(table, "aggregation", None):
        return {name: found.get(name) for name in names}
    columns = [found.get(name) or [] for name in names]
    return [dict(zip(names, row, strict=False)) for row in zip(*columns, strict=False)]


def camunda7_result(table: Any, found: dict[str, Any], mapping: str) -> Any:
    """The decision's outputs ``found`` as Camunda 7's ``mapDecisionResult`` maps them
    (``engine.camunda_decisions``); a result its mapping cannot hold raises ``ValueError``."""
    names = [output.name for output in table.outputs if output.name]
    rows = _matched_rows(table, names, found)
    if mapping == "resultList":
        return rows
    if mapping == "collectEntries":
        if len(names) != 1:
            raise ValueError(
                f"collectEntries needs a decision of one output; this one has {len(names)} "
                f"({', '.join(names)}): use resultList"
            )
        return [row[names[0]] for row in rows if row.get(names[0]) is not None]
    if len(rows) > 1:
        raise ValueError(
            f"{mapping} needs at most one matched rule; {len(rows)} matched: use resultList "
            "or collectEntries, or a single-hit policy"
        )
    if not rows:
        return None
    if mapping == "singleResult":
        return rows[0]
    if len(names) != 1:
        raise ValueError(
            f"singleEntry needs a decision of one output; this one has {len(names)} "
            f"({', '.join(names)}): use singleResult"
        )
    return rows[0][names[0]]


def _matched_rows(table: Any, names: list[str], found: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict of outputs per matched rule (an aggregation's one result as one row)."""
    if (table.hit_policy or "").upper() != "COLLECT" or getattr(table, "aggregation", None):
        if not found or all(found.get(name) is None for name in names):
            return []
        return [{name: found.get(name) for name in names}]
    columns = [found.get(name) or [] for name in names]
    return [dict(zip(names, row, strict=False)) for row in zip(*columns, strict=False)]


def _task_of(element: Any) -> Any:
    parent = element.getparent()
    if parent is None or parent.tag != _EXTENSIONS:
        return None
    task = parent.getparent()
    return task if task is not None and task.tag == f"{{{BPMN_NS}}}businessRuleTask" else None
