"""Pre- and post-scripts of script tasks.

SpiffArena's modeler offers ``spiffworkflow:preScript`` and ``spiffworkflow:postScript`` on a
script task as on any task, and SpiffWorkflow 3.2's spec class runs them, but its script task
parser never reads them: such a diagram deployed and the scripts silently never ran (a
post-script that set the variable a gateway tests left the gateway failing on an unknown
name). This parser reads them as the parsers of the other tasks do, so they run (the
pre-script before the script, the post-script after it) and the deploy checks compile them.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.parser.task_spec import ScriptTaskParser


class ScriptTaskWithScriptsParser(ScriptTaskParser):
    def create_task(self) -> Any:
        task = super().create_task()
        extensions = self.parse_extensions()
        task.prescript = extensions.get("preScript")
        task.postscript = extensions.get("postScript")
        return task
