"""An error code computed when the error is thrown, as Camunda 8 lets a throw write it.

Camunda 8 (8.2+) reads a throwing error event's ``errorCode="=…"`` as a FEEL expression
evaluated when the event is reached (``=rejectionCode``, ``=if score < 3 then "LOW" else
"HIGH"``); catches compare with the code it gives, and a catch's own code is never an
expression. Such a diagram was refused at deploy ("Dialflow evaluates no expression
there"). An ``<bpmn:error>`` whose FEEL code has Python (``zeebe_hints.python_of``) and that
only error end and throw events name now deploys (``runs``, from ``engine.foreign``): at
parse time ``mark_specs`` makes each throw's definition a ``ComputedCodeError`` holding that
Python, which evaluates it over the throw's data and throws an error of the code it gives. A
code that cannot be computed, or computes to null, fails the throw (an incident on it whose
retry computes it again). An ``<bpmn:escalation escalationCode="=…">`` thrown by
escalation end and throw events is computed the same way (``ComputedCodeEscalation``), as
Camunda 8 computes it. Catches' codes stay as written.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import (
    ErrorEventDefinition,
    EscalationEventDefinition,
)

from engine.bpmn_xml import BPMN_NS
from engine.zeebe_expressions import original
from engine.zeebe_expressions import python as python_of
from engine.zeebe_hints import is_feel

_THROWS = ("endEvent", "intermediateThrowEvent")


class _ComputedCode:
    """A thrown code ``code_expression`` (Python) computes when it is thrown; the event
    thrown is of ``thrown_class``, the class the parser gives such events, since a catch
    matches by class and code."""

    code_expression: str = ""
    thrown_class: type = ErrorEventDefinition
    kind = "error"

    def throw(self, my_task: Any) -> None:
        engine = my_task.workflow.script_engine
        said = f"the {self.kind}Code of {self.kind} {self.name or '(unnamed)'!r}"  # type: ignore[attr-defined]
        try:
            code = engine.evaluate(my_task, self.code_expression)
        except Exception as exc:
            raise WorkflowTaskException(
                f"{said} cannot be computed: {type(exc).__name__}: {exc}",
                task=my_task,
                exception=exc,
            ) from exc
        if code is None:
            written = original(self.code_expression) or f"={self.code_expression}"
            raise WorkflowTaskException(
                f"{said} computes to null ({written[1:]}); it must give the code a catch names",
                task=my_task,
            )
        expression = self.expression  # type: ignore[attr-defined]
        thrown = self.thrown_class(
            self.name,  # type: ignore[attr-defined]
            expression=expression,
            variable=self.variable,  # type: ignore[attr-defined]
            code=str(code),
        )
        thrown.computed_from = self  # type: ignore[attr-defined]  # the throw's own
        payload = engine.evaluate(my_task, expression) if expression else None
        my_task.workflow.top_workflow.catch(BpmnEvent(thrown, payload=payload))


class ComputedCodeError(_ComputedCode, ErrorEventDefinition):
    """An error whose code ``code_expression`` (Python) computes when it is thrown."""


class ComputedCodeEscalation(_ComputedCode, EscalationEventDefinition):
    """An escalation whose code ``code_expression`` (Python) computes when it is thrown."""

    thrown_class = EscalationEventDefinition
    kind = "escalation"


def thrown_by(event: Any, definition: Any) -> bool:
    """Whether ``event`` is the one ``definition`` threw (a computed code's is a copy)."""
    thrown = event.event_definition
    return thrown is definition or getattr(thrown, "computed_from", None) is definition


def runs(declared: Any) -> bool:
    """Whether ``declared``, a ``<bpmn:error>`` or ``<bpmn:escalation>`` with a FEEL code, is
    computed at its throws: its FEEL has Python, and only end and throw events name it."""
    kind = etree.QName(declared).localname
    code = (declared.get(f"{kind}Code") or "").strip()
    if kind not in _KINDS or not is_feel(code) or python_of(code) is None:
        return False
    if not declared.get("id"):
        return False
    users = [
        definition.getparent()
        for definition in declared.getroottree().iter(f"{{{BPMN_NS}}}{kind}EventDefinition")
        if (definition.get(f"{kind}Ref") or "").rsplit(":", 1)[-1] == declared.get("id")
    ]
    return all(etree.QName(user).localname in _THROWS for user in users)


def mark_specs(process_node: Any, specs: dict[str, Any]) -> None:
    """Make the definitions of the error and escalation throws of ``process_node`` that name
    a computed code ``ComputedCode…``s (``specs``: a process's task specs by name)."""
    for kind, (plain, computed) in _KINDS.items():
        for definition in process_node.iter(f"{{{BPMN_NS}}}{kind}EventDefinition"):
            event = definition.getparent()
            spec = specs.get(event.get("id", ""))
            declared = _declared(definition, kind)
            if spec is None or declared is None or not runs(declared):
                continue
            event_definition = getattr(spec, "event_definition", None)
            if type(event_definition) is plain:
                event_definition.__class__ = computed
                event_definition.code_expression = python_of(declared.get(f"{kind}Code").strip())


_KINDS = {
    "error": (ErrorEventDefinition, ComputedCodeError),
    "escalation": (EscalationEventDefinition, ComputedCodeEscalation),
}


def _declared(definition: Any, kind: str) -> Any:
    ref = (definition.get(f"{kind}Ref") or "").rsplit(":", 1)[-1].strip()
    if not ref:
        return None
    for declared in definition.getroottree().iter(f"{{{BPMN_NS}}}{kind}"):
        if declared.get("id") == ref:
            return declared
    return None
