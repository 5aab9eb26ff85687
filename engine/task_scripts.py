"""Pre- and post-scripts of tasks, and the retry of a post-script that failed.

SpiffArena's modeler offers ``spiffworkflow:preScript`` and ``spiffworkflow:postScript`` on a
script task as on any task, and SpiffWorkflow 3.2's spec class runs them, but its script task
parser never reads them: such a diagram deployed and the scripts silently never ran (a
post-script that set the variable a gateway tests left the gateway failing on an unknown
name). This parser reads them as the parsers of the other tasks do, so they run (the
pre-script before the script, the post-script after it) and the deploy checks compile them.

A post-script runs once the task's own work is done, as the task completes: a script task's
script ran, a service task's handler did its work (a note written, a message sent), a person
submitted a user task's form. SpiffWorkflow 3.2 puts the task in ERROR when it fails, so a
retry ran the whole task again: the script a second time (a counter counted twice), the
handler's work twice (two notes), and a user task opened again in the inbox for its form to
be filled in once more. Here the task remembers that its work was done; retried, it runs
only the post-script again, with the task's data as its work left it (and the retry's fix).
A user task is completed by the retry itself (``stepper.rerun_failed``): its work item stays
completed by whoever submitted it, when they did.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.parser.task_spec import ScriptTaskParser, UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, ScriptTask, ServiceTask, UserTask
from SpiffWorkflow.util.task import TaskState

from engine.diagram_forms import DIAGRAM_FORM, diagram_form

# A task's internal data: its own work is done, its post-script failed.
POST_SCRIPT_FAILED = "post_script_failed"
# What a service task's internal data said for the same before user and script tasks had it.
HANDLER_RAN = "handler_ran"


class ScriptTaskWithScriptsParser(ScriptTaskParser):
    def create_task(self) -> Any:
        task = super().create_task()
        extensions = self.parse_extensions()
        task.prescript = extensions.get("preScript")
        task.postscript = extensions.get("postScript")
        return task


class RetryingUserTaskParser(UserTaskParser):
    """SpiffWorkflow's user task parser, building the spec class it is given (it builds its
    own ``UserTask`` whatever the class), with the form drawn in the diagram, if any, as a
    JSON Schema in its extensions (``engine.diagram_forms``)."""

    def create_task(self) -> Any:
        task = super().create_task()
        task.__class__ = self.spec_class  # a subclass with no state of its own
        return task

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        form = diagram_form(self.node) if node is None else None
        if form is not None:
            extensions[DIAGRAM_FORM] = form
        return extensions


def post_script_failed(task: Any) -> bool:
    """Whether ``task`` (in ERROR) failed in its post-script, its own work done."""
    return bool(task.internal_data.get(POST_SCRIPT_FAILED) or task.internal_data.get(HANDLER_RAN))


class _WorkDone:
    """A task retried after its work was done runs no more than its completion again."""

    def _run_hook(self, my_task: Any) -> bool:
        done = my_task.internal_data.pop(POST_SCRIPT_FAILED, False)
        if my_task.internal_data.pop(HANDLER_RAN, False) or done:
            return True  # its work is in the data already; completing runs the post-script
        return super()._run_hook(my_task)  # type: ignore[misc]


class PostScriptRetry(_WorkDone):
    """A script or service task whose completion failed after its script ran or its handler
    did its work (its post-script, or what it hands on): retried, it completes again only."""

    def _on_complete_hook(self, my_task: Any) -> None:
        try:
            super()._on_complete_hook(my_task)  # type: ignore[misc]
        except Exception:
            my_task.internal_data[POST_SCRIPT_FAILED] = True
            raise


class SubmittedPostScriptRetry(_WorkDone):
    """A user or manual task whose post-script failed once its form was submitted: retried,
    it runs the post-script on the submitted form. Another failure of its completion (an
    output item a multi-instance task's form did not give) opens the task again, as before:
    what was submitted is what needs mending."""

    def execute_script(self, my_task: Any, script: str) -> None:
        # the post-script runs while the task completes (COMPLETED), the pre-script before
        post = script is self.postscript and my_task.state == TaskState.COMPLETED  # type: ignore[attr-defined]
        try:
            super().execute_script(my_task, script)  # type: ignore[misc]
        except Exception:
            if post:
                my_task.internal_data[POST_SCRIPT_FAILED] = True
            raise


class PostScriptRetryingScriptTask(PostScriptRetry, ScriptTask):
    """A script task whose retry after a failed post-script does not run its script again."""


class PostScriptRetryingServiceTask(PostScriptRetry, ServiceTask):
    """A service task whose retry after a failed post-script does not call its handler again."""


class PostScriptRetryingUserTask(SubmittedPostScriptRetry, UserTask):
    """A user task whose retry after a failed post-script keeps the submitted form."""


class PostScriptRetryingManualTask(SubmittedPostScriptRetry, ManualTask):
    """A manual task whose retry after a failed post-script keeps its completion."""
