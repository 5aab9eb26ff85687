"""Pre- and post-scripts of tasks, and the retry of a pre- or post-script that failed.

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

A pre-script runs as the task is reached, before it is ready. SpiffWorkflow 3.2 raised its
failure through the completion of the task before, which left that task's other outgoing
paths unreached (a parallel branch beside it never opened); here the failed task is left in
ERROR and the step hears the failure (``PreScriptHeard``). SpiffWorkflow 3.2's retry put
a task whose pre-script failed straight to READY: a user task opened without what its
pre-script computes (its ``lane_owners``: offered to the whole lane), and a multi-instance
activity whose pre-script builds its input collection ended at once with no instance (an
approval skipped). Here the retry runs the pre-script again, with the retry's data, and
then the task becomes ready (an activity creates its instances, a subprocess starts).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.parser.task_spec import (
    BusinessRuleTaskParser,
    ScriptTaskParser,
    UserTaskParser,
)
from SpiffWorkflow.spiff.specs.defaults import (
    BusinessRuleTask,
    CallActivity,
    ManualTask,
    NoneTask,
    ReceiveTask,
    ScriptTask,
    SendTask,
    ServiceTask,
    TransactionSubprocess,
    UserTask,
)
from SpiffWorkflow.spiff.specs.defaults import SubWorkflowTask as SubprocessTask
from SpiffWorkflow.util.task import TaskState

from engine import assignment_attributes, camunda_forms
from engine.call_mappings import MappedCall
from engine.diagram_forms import DIAGRAM_FORM, diagram_form
from engine.instance_changes import deferred
from engine.io_mappings import IoMapped
from engine.job_variables import JobVariablesMerged
from engine.service_parameters import ParametersNamed
from engine.zeebe_decisions import ResultVariableDecision

# A task's internal data: its own work is done, its post-script failed.
POST_SCRIPT_FAILED = "post_script_failed"
# What a service task's internal data said for the same before user and script tasks had it.
HANDLER_RAN = "handler_ran"
# A user task's internal data while it completes: its post-script ran.
POST_SCRIPT_RAN = "post_script_ran"
# A task's internal data: its pre-script failed, it never became ready.
PRE_SCRIPT_FAILED = "pre_script_failed"
# A waiting catch's internal data: the fix its retry brought to its failed pre-script.
RETRY_FIX = "pre_script_retry_fix"
# SpiffWorkflow's note on an error raised by a pre-script.
PRE_SCRIPT_NOTE = "Error occurred in the Pre-Script"

_heard: ContextVar[list[Exception] | None] = ContextVar("pre_script_failures", default=None)


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
    JSON Schema in its extensions (``engine.diagram_forms``; a Camunda Form embedded in a
    Camunda 8 diagram, or the id of its ``.form`` file, ``engine.camunda_forms``), and who
    its Camunda, Activiti, Flowable or Zeebe assignment attributes name
    (``engine.assignment_attributes``)."""

    def create_task(self) -> Any:
        task = super().create_task()
        task.__class__ = self.spec_class  # a subclass with no state of its own
        return task

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        form = diagram_form(self.node) if node is None else None
        if form is not None:
            extensions[DIAGRAM_FORM] = form
        camunda = camunda_forms.read(self.node) if node is None else None
        if camunda is not None:  # a Camunda 8 form: embedded (converted) or a .form file's id
            extensions.update(camunda)
        said = assignment_attributes.read(self.node) if node is None else None
        if said is not None:
            extensions[assignment_attributes.ASSIGNMENT] = said
        return extensions


class BuildingBusinessRuleTaskParser(BusinessRuleTaskParser):
    """SpiffWorkflow's business-rule task parser, building the spec class it is given (it
    builds its own ``BusinessRuleTask`` whatever the class)."""

    def create_task(self) -> Any:
        task = super().create_task()
        task.__class__ = self.spec_class  # a subclass with no state of its own
        return task


def post_script_failed(task: Any) -> bool:
    """Whether ``task`` (in ERROR) failed in its post-script, its own work done."""
    return bool(task.internal_data.get(POST_SCRIPT_FAILED) or task.internal_data.get(HANDLER_RAN))


def mark_pre_script_failure(exc: Exception) -> bool:
    """Remember on its task that ``exc`` is its pre-script's failure; whether it is."""
    task = getattr(exc, "task", None)
    notes = [*getattr(exc, "notes", []), *getattr(exc, "__notes__", [])]
    if task is None or PRE_SCRIPT_NOTE not in notes:
        return False
    task.internal_data[PRE_SCRIPT_FAILED] = True
    return True


class failures_heard:  # lower case: called as the function it was, ``with failures_heard():``
    """Collect the pre-script failures heard while the block runs (a step); ``as`` gives
    the list. A class, not a generator: every step enters it."""

    __slots__ = ("_heard", "_token")

    def __enter__(self) -> list[Exception]:
        self._heard: list[Exception] = []
        self._token = _heard.set(self._heard)
        return self._heard

    def __exit__(self, *_: object) -> None:
        _heard.reset(self._token)


def heard_instead(exc: Exception) -> bool:
    """Whether ``exc``, a pre-script's failure, was marked on its task and heard by the step
    (``failures_heard``) instead of being raised; outside a step it must be raised."""
    heard = _heard.get()
    if heard is None or not mark_pre_script_failure(exc):
        return False
    heard.append(exc)
    return True


class PreScriptHeard:
    """A task whose pre-script fails stays in ERROR, not ready, and the step hears the
    failure (an incident on the task). SpiffWorkflow 3.2 raised it through the completion of
    the task before, which then left the rest of its outgoing paths unreached: a parallel
    branch beside the failed task never opened, and its join waited for good."""

    def _update_hook(self, my_task: Any) -> Any:
        try:
            return super()._update_hook(my_task)  # type: ignore[misc]
        except Exception as exc:
            if getattr(exc, "task", None) is not my_task or not heard_instead(exc):
                raise
            return None

    def execute_script(self, my_task: Any, script: str) -> None:
        # A waiting catch (a receive task) takes its parent's data again and runs its
        # pre-script at every update while it waits (SpiffWorkflow): the fix its retry
        # brought stays over that data, or the pre-script failed again on the message.
        if deferred(my_task, script):
            return  # its activity runs it on the shared data (engine.instance_changes)
        fix = my_task.internal_data.get(RETRY_FIX)
        if fix and script is self.prescript:  # type: ignore[attr-defined]
            my_task.data.update(fix)
        super().execute_script(my_task, script)  # type: ignore[misc]


def pre_script_failed(task: Any) -> bool:
    """Whether ``task`` (in ERROR) failed in its pre-script, before it was ready."""
    return bool(task.internal_data.get(PRE_SCRIPT_FAILED))


def inherits_again(task: Any) -> bool:
    """Whether retrying ``task`` takes its data from the task before it again (an activity
    that loops, whose becoming ready creates its instances), so the retry's fix goes there
    too."""
    return pre_script_failed(task) and isinstance(task.task_spec, LoopTask)


def rerun_pre_script(task: Any, fix: dict[str, Any] | None = None) -> None:
    """For a retry of ``task`` whose pre-script failed: run it again with the task's data as
    it is now (the retry's ``fix`` in it), then what becoming ready does after it (a receive
    task waits for its message, keeping ``fix`` over what it takes from the task before it
    while it waits). Failing again, the task stays in ERROR, marked, and the error is
    raised."""
    spec = task.task_spec
    del task.internal_data[PRE_SCRIPT_FAILED]
    if fix and isinstance(spec, CatchingEvent):
        task.internal_data[RETRY_FIX] = {**task.internal_data.get(RETRY_FIX, {}), **fix}
    task._set_state(TaskState.WAITING)
    if isinstance(spec, LoopTask):  # creating its instances follows its pre-script
        _marking(lambda: spec._update(task))
        return
    try:
        if hasattr(spec, "execute_script"):  # a timer's catch has none: its timer failed
            spec.execute_script(task, spec.prescript)
        elif isinstance(spec, CatchingEvent):
            spec.event_definition.has_fired(task)  # read again, failing as it failed first
    except Exception as exc:
        exc.add_note(PRE_SCRIPT_NOTE)
        mark_pre_script_failure(exc)
        raise
    if isinstance(spec, SubWorkflowTask):  # its subprocess starts after its pre-script
        spec.start_workflow(task)
        task._set_state(TaskState.STARTED)
    elif isinstance(spec, CatchingEvent) and not spec.event_definition.has_fired(task):
        # a receive task waits for its message after its pre-script (``CatchingEvent``)
        task.workflow.top_workflow.event_manager.add_task(task)
        spec.event_definition.update_task(task)
    else:
        task._ready()


def _marking(update: Any) -> None:
    try:
        update()
    except Exception as exc:
        mark_pre_script_failure(exc)
        raise


class _WorkDone:
    """A task retried after its work was done runs no more than its completion again, and a
    post-script that ran before what failed after it (a data output association, a
    multi-instance output item) is not run again: it had set what it sets (a counter counted
    once, a list appended to once)."""

    def _run_hook(self, my_task: Any) -> bool:
        done = my_task.internal_data.pop(POST_SCRIPT_FAILED, False)
        if my_task.internal_data.pop(HANDLER_RAN, False) or done:
            return True  # its work is in the data already; completing runs the post-script
        return super()._run_hook(my_task)  # type: ignore[misc]

    def execute_script(self, my_task: Any, script: str) -> None:
        # the post-script runs while the task completes (COMPLETED), the pre-script before
        post = script is self.postscript and my_task.state == TaskState.COMPLETED  # type: ignore[attr-defined]
        if post and my_task.internal_data.get(POST_SCRIPT_RAN):
            return  # it ran before what failed after it
        try:
            super().execute_script(my_task, script)  # type: ignore[misc]
        except Exception:
            if post:
                my_task.internal_data[POST_SCRIPT_FAILED] = True
            raise
        if post:
            my_task.internal_data[POST_SCRIPT_RAN] = True

    def _on_complete_hook(self, my_task: Any) -> None:
        try:
            super()._on_complete_hook(my_task)  # type: ignore[misc]
        except Exception as exc:
            if getattr(exc, "task", None) is my_task:  # not its loop's failing condition
                my_task.internal_data[POST_SCRIPT_FAILED] = True
                my_task._set_state(TaskState.ERROR)  # the task failed, not what follows it
            raise
        my_task.internal_data.pop(POST_SCRIPT_RAN, None)


class PostScriptRetry(_WorkDone):
    """A script or service task whose completion failed after its script ran or its handler
    did its work (its post-script, or what it hands on after it: a data output association
    whose variable its work did not set): the task fails in place; retried, it completes
    again only, the post-script not run again if it had run. SpiffWorkflow 3.2 ran the
    post-script again, and left a task whose data output failed COMPLETED with nothing after
    it (the retry had nothing to run, the instance stayed running for good)."""


class SubmittedPostScriptRetry(_WorkDone):
    """A user or manual task whose completion failed once its form was submitted: its
    post-script, or what completing hands on after it (a data output association whose
    variable the form did not give, a multi-instance output item missing from the form).
    The task fails in place, its work item completed by whoever submitted it; retried, it
    completes with the submitted form and the retry's fix, the post-script not run again
    if it had run. SpiffWorkflow 3.2 left such a task COMPLETED with nothing after it (the
    instance stuck, a retry had nothing to run), or opened it again for its form to be
    filled in once more."""


class PostScriptRetryingScriptTask(PreScriptHeard, PostScriptRetry, IoMapped, ScriptTask):
    """A script task whose retry after a failed post-script does not run its script again."""


class PostScriptRetryingServiceTask(
    PreScriptHeard, PostScriptRetry, JobVariablesMerged, ParametersNamed, ServiceTask
):
    """A service task whose retry after a failed post-script does not call its handler again
    (a Camunda 8 listener's sets its job's variables, ``engine.job_variables``; a parameter
    reading data the instance lacks is said as that, ``engine.service_parameters``)."""


class PostScriptRetryingUserTask(PreScriptHeard, SubmittedPostScriptRetry, IoMapped, UserTask):
    """A user task whose retry after a failed post-script keeps the submitted form."""


class PostScriptRetryingManualTask(PreScriptHeard, SubmittedPostScriptRetry, IoMapped, ManualTask):
    """A manual task whose retry after a failed post-script keeps its completion."""


class PreScriptHeardSubprocess(PreScriptHeard, IoMapped, SubprocessTask):
    """An embedded subprocess whose failed pre-script is an incident on it alone."""


class PreScriptHeardTransaction(PreScriptHeard, IoMapped, TransactionSubprocess):
    """A transaction subprocess whose failed pre-script is an incident on it alone."""


class PreScriptHeardCallActivity(PreScriptHeard, MappedCall, CallActivity):
    """A call activity whose failed pre-script is an incident on it alone, passing and
    taking back what its variable mappings say (``engine.call_mappings``)."""


class PreScriptHeardBusinessRuleTask(
    PreScriptHeard, ResultVariableDecision, IoMapped, BusinessRuleTask
):
    """A business-rule task whose failed pre-script is an incident on it alone; a Camunda 8
    one sets its decision's result in its result variable (``engine.zeebe_decisions``)."""


class PreScriptHeardSendTask(PreScriptHeard, IoMapped, SendTask):
    """A send task whose failed pre-script is an incident on it alone."""


class PreScriptHeardReceiveTask(PreScriptHeard, IoMapped, ReceiveTask):
    """A receive task whose failed pre-script is an incident on it alone; retried, it runs
    the pre-script again and then waits for its message."""


class PreScriptHeardTask(PreScriptHeard, IoMapped, NoneTask):
    """A task of no kind (``<bpmn:task>``) whose failed pre-script is an incident on it alone."""


# SpiffWorkflow's spec class → the one whose pre-script failure the step hears
PRE_SCRIPT_HEARD = {
    SubprocessTask: PreScriptHeardSubprocess,
    TransactionSubprocess: PreScriptHeardTransaction,
    CallActivity: PreScriptHeardCallActivity,
    BusinessRuleTask: PreScriptHeardBusinessRuleTask,
    SendTask: PreScriptHeardSendTask,
    ReceiveTask: PreScriptHeardReceiveTask,
    NoneTask: PreScriptHeardTask,
}
