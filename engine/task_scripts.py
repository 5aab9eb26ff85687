"""Pre- and post-scripts of script tasks.

SpiffArena's modeler offers ``spiffworkflow:preScript`` and ``spiffworkflow:postScript`` on a
script task as on any task, and SpiffWorkflow 3.2's spec class runs them, but its script task
parser never reads them: such a diagram deployed and the scripts silently never ran (a
post-script that set the variable a gateway tests left the gateway failing on an unknown
name). This parser reads them as the parsers of the other tasks do, so they run (the
pre-script before the script, the post-script after it) and the deploy checks compile them.

A service task's post-script runs once its handler has done its work (a note written, a
message sent), as the task completes. SpiffWorkflow 3.2 puts the task in ERROR when it fails,
so a retry ran the whole task again and the handler's work was done twice (two notes). Here
the task remembers that its handler ran; retried, it runs only the post-script again.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.parser.task_spec import ScriptTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

# A service task's internal data: its handler ran, its post-script failed.
HANDLER_RAN = "handler_ran"


class ScriptTaskWithScriptsParser(ScriptTaskParser):
    def create_task(self) -> Any:
        task = super().create_task()
        extensions = self.parse_extensions()
        task.prescript = extensions.get("preScript")
        task.postscript = extensions.get("postScript")
        return task


class PostScriptRetryingServiceTask(ServiceTask):
    """A service task whose retry after a failed post-script does not call its handler again."""

    def _run_hook(self, my_task: Any) -> bool:
        if my_task.internal_data.pop(HANDLER_RAN, False):
            return True  # its result is in the data already; completing runs the post-script
        return super()._run_hook(my_task)

    def _on_complete_hook(self, my_task: Any) -> None:
        try:
            super()._on_complete_hook(my_task)
        except Exception:
            my_task.internal_data[HANDLER_RAN] = True
            raise
