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
retry computes it again). Escalation codes and catches stay as written.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition

from engine.bpmn_xml import BPMN_NS
from engine.zeebe_hints import is_feel, python_of

_THROWS = ("endEvent", "intermediateThrowEvent")


class ComputedCodeError(ErrorEventDefinition):
    """An error whose code ``code_expression`` (Python) computes when it is thrown."""

    code_expression: str = ""

    def throw(self, my_task: Any) -> None:
        engine = my_task.workflow.script_engine
        try:
            code = engine.evaluate(my_task, self.code_expression)
        except Exception as exc:
            raise WorkflowTaskException(
                f"the errorCode of error {self.name or '(unnamed)'!r} cannot be computed: "
                f"{type(exc).__name__}: {exc}",
                task=my_task,
                exception=exc,
            ) from exc
        if code is None:
            raise WorkflowTaskException(
                f"the errorCode of error {self.name or '(unnamed)'!r} computes to null "
                f"({self.code_expression}); it must give the code a catch names",
                task=my_task,
            )
        # The class the parser gives error events: a catch matches by class and code.
        thrown = ErrorEventDefinition(
            self.name, expression=self.expression, variable=self.variable, code=str(code)
        )
        thrown.computed_from = self  # type: ignore[attr-defined]  # the throw's own
        payload = engine.evaluate(my_task, self.expression) if self.expression else None
        my_task.workflow.top_workflow.catch(BpmnEvent(thrown, payload=payload))


def thrown_by(event: Any, definition: Any) -> bool:
    """Whether ``event`` is the one ``definition`` threw (a computed code's is a copy)."""
    thrown = event.event_definition
    return thrown is definition or getattr(thrown, "computed_from", None) is definition


def runs(error: Any) -> bool:
    """Whether ``error``, a ``<bpmn:error>`` with a FEEL ``errorCode``, is computed at its
    throws: its FEEL has Python, and only error end and throw events name it."""
    code = (error.get("errorCode") or "").strip()
    if not is_feel(code) or python_of(code) is None or not error.get("id"):
        return False
    users = [
        definition.getparent()
        for definition in error.getroottree().iter(f"{{{BPMN_NS}}}errorEventDefinition")
        if (definition.get("errorRef") or "").rsplit(":", 1)[-1] == error.get("id")
    ]
    return all(etree.QName(user).localname in _THROWS for user in users)


def mark_specs(process_node: Any, specs: dict[str, Any]) -> None:
    """Make the definitions of the error throws of ``process_node`` that name a computed
    code ``ComputedCodeError``s (``specs``: a process's task specs by name)."""
    for definition in process_node.iter(f"{{{BPMN_NS}}}errorEventDefinition"):
        event = definition.getparent()
        spec = specs.get(event.get("id", ""))
        error = _error(definition)
        if spec is None or error is None or not runs(error):
            continue
        event_definition = getattr(spec, "event_definition", None)
        if type(event_definition) is ErrorEventDefinition:
            event_definition.__class__ = ComputedCodeError
            event_definition.code_expression = python_of(error.get("errorCode").strip())


def _error(definition: Any) -> Any:
    ref = (definition.get("errorRef") or "").rsplit(":", 1)[-1].strip()
    if not ref:
        return None
    for error in definition.getroottree().iter(f"{{{BPMN_NS}}}error"):
        if error.get("id") == ref:
            return error
    return None
