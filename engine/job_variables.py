"""A Camunda 8 listener's job variables, set in the data as Camunda sets them.

Camunda 8 completes a listener's job with variables: a start listener's become the element's
own (``engine.listener_locals`` takes them out when it ends), an end listener's go to the
scope around it, as output mappings' do. ``engine.zeebe_jobs`` runs a listener as a service task of
its operator whose result variable is ``JOB_VARIABLES``: the operator's result is the job's
variables (a dict's keys; any other result the one variable ``result``, as
``engine.zeebe_tasks`` reads a job worker's), set in the task's data once the operator ran.
It was kept under the drawn task's own name (``spiff__Activity_x__end_listener_1_result``),
which no diagram reads.
"""

from __future__ import annotations

from typing import Any

from engine.listener_locals import remember

JOB_VARIABLES = "_zeebe_listener_job"


def job_variables(result: Any) -> dict[str, Any]:
    """The variables a job completed with ``result`` sets (none for a null result)."""
    if result is None:
        return {}
    return dict(result) if isinstance(result, dict) else {"result": result}


class JobVariablesMerged:
    """A service task whose result variable is ``JOB_VARIABLES`` sets the job's variables."""

    result_variable: str

    def _execute(self, my_task: Any) -> bool:
        done = super()._execute(my_task)  # type: ignore[misc]
        if self.result_variable == JOB_VARIABLES:
            variables = job_variables(my_task.data.pop(JOB_VARIABLES, None))
            remember(my_task, variables)  # a start listener's stay its element's
            my_task.data.update(variables)
        return done
