"""Pre- and post-scripts of a multi-instance activity that run once per instance.

SpiffWorkflow 3.2 (and SpiffArena's modeler, whose "Run scripts on instances" box writes
``spiffworkflow:scriptsOnInstances="true"`` on the loop characteristics) runs an activity's
``preScript`` and ``postScript`` once for the whole activity unless that attribute says
otherwise. A script that reads or sets the instance's item variable (the ``inputDataItem``
or ``outputDataItem``) cannot run there: the activity never holds the item, so a countersign's
pre-script ``lane_owners = {"manager": [approver]}`` failed with a ``NameError`` and no
approver got a work item of their own. Such a script runs for each instance here, as the
modeller wrote it: the pre-script with that instance's item in scope before the instance
becomes ready (its work item's candidates, assignee and due time are read from the data it
leaves), the post-script as each instance completes. A script that does not name the item
stays with the activity (a pre-script building the input collection), and the attribute,
when written, decides for both scripts as in SpiffWorkflow.

An instance whose pre-script fails is an incident on that instance's task; its siblings are
still created (a parallel activity's other approvers get their work items). Retried, the
pre-script runs again with the retry's data and the instance becomes ready
(``task_scripts.rerun_pre_script``).
"""

from __future__ import annotations

import symtable
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.script_text import script_text
from engine.task_scripts import heard_instead

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def scripts_to_instances(activity: Any, instance: Any, characteristics: Any) -> None:
    """At parse time: move the scripts of multi-instance ``activity`` that name its item
    variables to the spec of its instances (``instance``)."""
    if not isinstance(activity, MultiInstanceTask):
        return
    if characteristics is None or characteristics.get(f"{{{SPIFF_NS}}}scriptsOnInstances"):
        return  # the diagram says where they run (SpiffWorkflow has placed them)
    items = {i.bpmn_id for i in (activity.input_item, activity.output_item) if i is not None}
    for name in ("prescript", "postscript"):
        script = getattr(activity, name, None)
        if script and module_names(script) & items:
            setattr(instance, name, script)
            setattr(activity, name, None)


def module_names(script: str) -> set[str]:
    """The names ``script`` reads or sets in the task data (not a comprehension's or a
    function's own variables); none for a script that does not compile (the deploy checks
    say why)."""
    try:
        top = symtable.symtable(script_text(script), "<script>", "exec")
    except (SyntaxError, ValueError):
        return set()
    names = {s.get_name() for s in top.get_symbols() if s.is_referenced() or s.is_assigned()}
    pending = list(top.get_children())
    while pending:
        table = pending.pop()
        names.update(s.get_name() for s in table.get_symbols() if s.is_global())
        pending.extend(table.get_children())
    return names


def create_instance(create: Any, my_task: Any, *args: Any) -> None:
    """``create(my_task, *args)``, SpiffWorkflow's creation of one instance of the activity
    ``my_task``. An instance whose pre-script fails is left in ERROR, marked for its retry,
    and the failure is heard by the step (``failures_heard``) instead of stopping the
    creation of its siblings; outside a step it is raised as before."""
    try:
        create(my_task, *args)
    except SpiffWorkflowException as exc:
        child = getattr(exc, "task", None)
        if child is None or child.parent is not my_task or not heard_instead(exc):
            raise
