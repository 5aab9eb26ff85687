"""A service task's parameter reading data the instance does not have, said as that.

SpiffWorkflow 3.2 evaluates a service task's parameters before it calls the operator; one
reading a variable the data lacks failed the task with "Error evaluating expression 'text'.
Did you mean one of '['interested', 'customer_id']'?", naming neither the parameter nor the
operator (an Activiti 7 connector, ``engine.activiti_connectors``, reads its parameters from
the variables of their names, so that is how its missing variable was told). The incident now
says which parameter of which operator reads which names the data lacks, and what it has.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException


class ParametersNamed:
    """A service task whose parameter failing on a missing variable says so (see the module)."""

    operation_name: str
    operation_params: dict[str, dict[str, Any]]

    def evaluate_params(self, task: Any) -> dict[str, dict[str, Any]]:
        evaluated = {}
        engine = task.workflow.script_engine
        for name, param in self.operation_params.items():
            try:
                value = engine.evaluate(task=task, expression=param["value"])
            except WorkflowTaskException as exc:
                missing = _missing(param["value"], task) if exc.error_type == "NameError" else []
                if not missing:
                    raise
                have = ", ".join(sorted(k for k in task.data if not k.startswith("_")))
                failure = WorkflowTaskException(
                    f"parameter {name!r} of {self.operation_name} reads "
                    f"{str(param['value']).strip()!r}, and the instance's data has no "
                    f"{', '.join(map(repr, missing))} (it has {have or 'nothing'}); start the "
                    "instance with it, or set it in a task before this one",
                    task=task,
                )
            else:
                evaluated[name] = {"value": value, "type": param["type"]}
                continue
            # Raised outside the ``except``, with no cause: an error catch around the task
            # reads its message from a failure's cause (``caught_failures``), which would be
            # SpiffWorkflow's "Error evaluating expression" said again.
            raise failure
        return evaluated


def _missing(expression: Any, task: Any) -> list[str]:
    """The names ``expression`` reads that neither the task's data nor the script
    environment has (a comprehension's or lambda's own names left out)."""
    try:
        nodes = list(ast.walk(ast.parse(str(expression).strip(), mode="eval")))
    except SyntaxError:
        return []
    known = getattr(task.workflow.script_engine.environment, "globals", {})
    bound = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {n.arg for n in nodes if isinstance(n, ast.arg)}
    names = {n.id for n in nodes if isinstance(n, ast.Name)} - bound
    return sorted(
        n
        for n in names
        if n not in task.data
        and n not in known
        and not n.startswith("_")
        and not hasattr(builtins, n)
    )
