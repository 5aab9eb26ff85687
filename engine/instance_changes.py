"""What an instance of a parallel multi-instance activity changed, applied onto the activity's
shared data as the instance completes, its post-script run there.

A countersign (会签) counts its sign-offs with a task listener or post-script on each instance:
``${execution.setVariable('signed', signed + 1)}`` (``engine.listeners``), ``signed = signed
+ 1``, ``approvals.append(approver)``. In Flowable and Camunda the variable lives on the
process and every completion adds to it. SpiffWorkflow 3.2 gives each parallel instance a copy
of the activity's data when the activity starts and merges each whole copy back as it
completes: every post-script counted from the same stale 0, so two sign-offs gave 1, and an
instance completing later put back the values an earlier one had changed.

Here the activity keeps the data its instances were created from (``BASE``, dropped when it
ends). As an instance completes, its data is taken again from the activity's data as it is
now, with what the instance itself changed since it was created over it (its form, its item
variables, what its pre-script set: a dict changed key by key, a list that grew at its end
appended to the shared list, any other change replacing the value); its post-script runs on
that, and what differs then from the activity's data is set there, in the same step (the
instance row is locked while a step runs, so no other completion comes between). With an
output collection, only what the post-script changed reaches the activity beside the output
item, as before only the output item did. A post-script that fails, or an instance that ends
without its output item, leaves the activity's data untouched and the instance's data as it
was, so its retry counts once.

A script inside a parallel multi-instance subprocess (a script task counting ``count = count +
1``, a task's pre- or post-script there) runs the same way, as the Java engines set a process
variable from inside the subprocess: it reads the process's variables (the activity's data) as
they are now with what the instance changed over them, and what it changed of them is set on
the activity's data at once; the variables it creates stay the instance's until it completes,
as before (a lead's grade computed in each instance is no other instance's). The instance
remembers the values the script left (``_SYNCED``), so what it carries from there is not taken
for its own change when it completes: N instances count N, in any order. Scripts of a
subprocess nested inside the instance, or of a called process, still run on their own copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState

# The activity task's internal data: its data when its instances were created.
BASE = "instance_base"
# An instance's internal data: its post-script ran (``engine.task_scripts``).
_POST_SCRIPT_RAN = "post_script_ran"
_POST_SCRIPT_NOTE = "Error occurred in the Post-Script"

# An instance's internal data: its data as its last inner script left it, the activity's data
# then with what the instance had not yet put there.
_SYNCED = "instance_synced"

_running: ContextVar[Any] = ContextVar("shared_post_script", default=None)


def remember_base(activity: Any) -> None:
    """Before the first instance of ``activity`` is created: the data they start from."""
    if BASE not in activity.internal_data:
        activity.internal_data[BASE] = deepcopy(activity.data)


def forget_base(activity: Any) -> None:
    activity.internal_data.pop(BASE, None)


def deferred(task: Any, script: str) -> bool:
    """Whether ``script``, run as ``task`` completes, is the post-script of an instance of a
    parallel activity that its activity runs on the shared data instead (``merge``)."""
    spec = task.task_spec
    if script is not getattr(spec, "postscript", None) or task.state != TaskState.COMPLETED:
        return False
    return _running.get() is not task and _base_of(task) is not None


def _base_of(task: Any) -> dict[str, Any] | None:
    parent = task.parent
    if parent is None or getattr(parent.task_spec, "task_spec", None) != task.task_spec.name:
        return None
    if not getattr(parent.task_spec, "SHARES_CHANGES", False):
        return None
    return parent.internal_data.get(BASE)


@contextmanager
def on_shared_data(child: Any, own_names: set[str], has_output: bool) -> Iterator[None]:
    """Around the merge of ``child``, a finished instance: its data taken again from its
    activity's with its own changes over it, its post-script run on that, and what differs
    then set in the activity's data (``own_names``, its item variables, stay its own); the
    merge that follows has nothing left to overwrite."""
    base = _base_of(child)
    if base is None:
        yield
        return
    base = child.internal_data.get(_SYNCED, base)
    activity = child.parent
    before = child.data
    rebased = deepcopy(activity.data)
    _apply(rebased, before, base)
    child.data = rebased
    ready = deepcopy(rebased) if has_output else rebased  # what the post-script found
    try:
        _run_post_script(child)
    except Exception:
        child.data = before  # the retry starts again from the instance's own data
        raise
    output_item = activity.task_spec.output_item
    if not has_output or output_item.exists(child):  # else the merge fails on the instance
        reference = ready if has_output else activity.data
        skipped = own_names | ({activity.task_spec.data_output.bpmn_id} if has_output else set())
        for key, value in child.data.items():
            if key not in skipped and (key not in reference or reference[key] != value):
                activity.data[key] = deepcopy(value)
    try:
        yield
    except Exception:
        child.data = before
        child.internal_data.pop(_POST_SCRIPT_RAN, None)  # its retry runs it again
        raise


def _instance_around(task: Any) -> Any | None:
    """The instance of a parallel multi-instance subprocess whose own sub-workflow ``task`` is
    in (not a subprocess nested deeper), or None. A called process is not the caller's
    scope: its scripts set its own data, which its outputs map back as it ends."""
    if _base_of(task) is not None:
        return None  # an instance's own post-script: ``on_shared_data`` runs it
    parent_id = getattr(task.workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    instance = task.workflow.top_workflow.get_task_from_id(parent_id)
    if instance is None or isinstance(instance.task_spec, CallActivity):
        return None
    return instance if _base_of(instance) is not None else None


@contextmanager
def on_shared_data_inside(task: Any) -> Iterator[None]:
    """Around a script run on ``task``: inside a parallel multi-instance subprocess, run it
    with the process's variables (the activity's data) as they are now, the instance's own
    changes over them, and set what it changed of them on the activity's data (see the
    module); elsewhere, as it is. A variable the process does not have stays the instance's
    until it completes, as a script's temporary values stay out of the other instances."""
    instance = _instance_around(task)
    if instance is None:
        yield
        return
    activity = instance.parent
    base = instance.internal_data.get(_SYNCED, _base_of(instance)) or {}
    own_names = getattr(activity.task_spec, "_own_names", lambda _: set())(instance)
    shared = [key for key in activity.data if key not in own_names]
    before = task.data
    view = {key: deepcopy(activity.data[key]) for key in shared}
    _apply(view, {key: before[key] for key in shared if key in before}, base)
    ready = deepcopy(view)
    task.data = {**before, **view}
    try:
        yield
    except Exception:
        task.data = before  # a retry runs it again on the instance's own data
        raise
    synced = deepcopy(base)
    for key in shared:
        value = task.data.get(key, _MISSING)
        if value is _MISSING:
            continue
        if value != ready[key]:
            activity.data[key] = deepcopy(value)
        elif key in before and base.get(key, _MISSING) != before[key]:
            continue  # its own change, not the script's: put there as the instance completes
        synced[key] = deepcopy(value)
    instance.internal_data[_SYNCED] = synced


def _run_post_script(child: Any) -> None:
    spec = child.task_spec
    script = getattr(spec, "postscript", None)
    if not script or child.internal_data.get(_POST_SCRIPT_RAN):
        return
    token = _running.set(child)
    try:
        spec.execute_script(child, script)
    except Exception as exc:
        if _POST_SCRIPT_NOTE not in getattr(exc, "__notes__", []):
            exc.add_note(_POST_SCRIPT_NOTE)
        raise
    finally:
        _running.reset(token)


_MISSING = object()


def _apply(target: dict[str, Any], data: dict[str, Any], base: dict[str, Any]) -> None:
    """Put into ``target`` what ``data`` changed since ``base``: a dict key by key, a list
    that grew at its end by appending what it grew by, any other change by its value."""
    for key, value in data.items():
        old = base.get(key, _MISSING)
        if old is not _MISSING and old == value:
            continue
        current = target.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(old, dict) and isinstance(current, dict):
            _apply(current, value, old)
        elif (
            isinstance(value, list)
            and isinstance(old, list)
            and isinstance(current, list)
            and value[: len(old)] == old
        ):
            current.extend(deepcopy(value[len(old) :]))
        else:
            target[key] = deepcopy(value)
