"""A signal throw's input mappings as the variables its signal carries, as Camunda 8 sends them.

Camunda 8 broadcasts a signal from an intermediate throw or end event with the variables of
the event's scope, its inputs: ``<zeebe:input source="=lead.phone" target="phone"/>`` sends
``{"phone": …}`` and leaves the thrower's data as it was. SpiffWorkflow 3.2's signal carries
a payload (the ``spiffworkflow:payloadExpression`` of the ``<bpmn:signal>``, else nothing),
so such a throw was refused; here its definition is a ``SignalWithInputs``, whose payload is
its inputs (over the payload expression's object, if any), evaluated as an activity's are
(``io_mappings``) and never written to the thrower's data. An input that cannot be read fails
the event, an incident on it that a retry runs again, and so do inputs more than an instance
may hold (every catching instance refused them and still waited; the thrower went on).
Outputs on a signal throw stay refused (``io_mappings``): nothing runs in it to hand them on.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition

from engine.io_mappings import Parameter, evaluate_input, read


class SignalWithInputs(SignalEventDefinition):
    """A thrown signal carrying its event's inputs."""

    def __init__(self, *args: Any, inputs: tuple[Parameter, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inputs = inputs

    def throw(self, my_task: Any) -> None:
        base = None
        if self.expression is not None:
            base = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        payload: dict[str, Any] = deepcopy(base) if isinstance(base, dict) else {}
        values: dict[str, Any] = {}
        for mapping in self.inputs:
            evaluate_input(my_task, mapping, values)
        payload.update(values)
        _check_size(my_task, payload)
        my_task.workflow.top_workflow.catch(BpmnEvent(self, payload=payload))

    def __eq__(self, other: Any) -> bool:
        # a catch's definition is SpiffWorkflow's class: a signal matches by its name
        return isinstance(other, SignalEventDefinition) and self.name == other.name


def _check_size(my_task: Any, payload: dict[str, Any]) -> None:
    """Fail the throw (an incident on it, which a retry runs again) when its variables alone
    are more than an instance may hold: every catching instance refused them, each still
    waiting, and the thrower went on as if it had been heard."""
    context = getattr(my_task.workflow.script_engine, "context", None)
    limit = getattr(context, "max_state", None)
    if limit is None:
        return
    size = len(json.dumps(payload, default=str, ensure_ascii=False))
    if size > limit:
        raise WorkflowTaskException(
            f"the signal {_signal_name(my_task)!r} thrown by {my_task.task_spec.bpmn_id!r} would "
            f"carry {size:,} characters of variables, more than an instance may hold "
            f"({limit:,}): no instance could take it. Map less into the signal's inputs",
            task=my_task,
        )


def _signal_name(my_task: Any) -> str:
    return str(getattr(my_task.task_spec.event_definition, "name", ""))


def with_signal_inputs(parser_class: type) -> type:
    """``parser_class`` (a throw or end event's) giving a signal throw with inputs a
    ``SignalWithInputs``."""

    class Parser(parser_class):  # type: ignore[misc, valid-type]
        def create_task(self) -> Any:
            task = super().create_task()
            definition = getattr(task, "event_definition", None)
            if type(definition) is not SignalEventDefinition:
                return task
            io = read(self.node)[0]
            if io is None or not io.inputs:
                return task
            task.event_definition = SignalWithInputs(
                definition.name,
                expression=definition.expression,
                variable=definition.variable,
                description=definition.description,
                inputs=io.inputs,
            )
            return task

    Parser.__name__ = parser_class.__name__
    return Parser
