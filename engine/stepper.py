"""One step of an instance: lock its row, load it, run, capture failures as incidents, save.

Everything happens in the caller's unit of work, so the new state, the work items and the
CRM writes of the handlers that ran commit together or not at all. A process killed mid-step
commits nothing: the instance stays at its previous state and the step can run again.
"""

from __future__ import annotations

import ast
import builtins
import logging
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util import PendingBpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError

from crm import audit
from crm.models import User
from dialflow.db import (
    Batch,
    add_loaded,
    as_new,
    connection_lost,
    inserted_id,
    lock_failure,
    make_loaded,
    mark_saved,
    pending_update,
    pipelined,
)
from engine import juel, log_records, message_buffer, signals, webhook_events, zeebe_expressions
from engine.boundaries import CheckedEndEvent
from engine.caught_failures import audit_entry, catch_failure
from engine.errors import InstanceNotFound
from engine.feel_builtins import pattern_timed_out, stored_json
from engine.first_event import FirstEvent
from engine.io_mappings import hide_carried
from engine.juel_runtime import VARIABLES as JUEL_VARIABLES
from engine.juel_runtime import ELValueError
from engine.listeners import drawn_for
from engine.models import (
    Incident,
    InstanceStatus,
    ProcessInstance,
    ReceivedMessage,
    WorkItem,
)
from engine.one_catch import new_step
from engine.pruning import RunawayLoop, Trail, prune_history, run_engine_steps
from engine.quiet_workflow import InstanceWorkflow
from engine.script_text import expression_text
from engine.script_time import ScriptTimedOut, timed_out
from engine.scripting import FEEL_VARIABLES, ServiceTaskFailed, StepContext, StepScriptEngine
from engine.service import ProcessEngine
from engine.specs import LoadedBundle
from engine.state_limit import StateTooLarge, keep_out, too_large
from engine.task_ids import id_text
from engine.task_scripts import (
    failures_heard,
    inherits_again,
    mark_pre_script_failure,
    post_script_failed,
    pre_script_failed,
    rerun_pre_script,
)
from engine.thrown_codes import ComputedCodeError
from engine.timekeeping import step_time
from engine.wait_keys import expected
from engine.waits import sync_event_waits
from engine.work_items import (
    OpenedItem,
    Write,
    manual_ready_ids,
    manual_ready_tasks,
    opened_items,
    sync_work_items,
)

log = logging.getLogger(__name__)
log_records.install()  # SpiffWorkflow's task records only when someone listens
MAX_BACKOFF_SECONDS = 6 * 3600


@dataclass
class Step:
    """An instance row with its live workflow, inside one transaction."""

    row: ProcessInstance
    workflow: BpmnWorkflow
    bundle: LoadedBundle
    context: StepContext
    open_incident: bool = False  # known without loading the incidents collection
    # Which attempt at each failed task (by task id) this step is; a task not named here
    # runs for the first time. A retry counts each task's own attempts, not its neighbours'.
    attempts: dict[str, int] = field(default_factory=dict)
    # An automatic retry is due then: loaded from an instance in error (its pending retry,
    # which a step of another branch keeps); ``save`` sets it from the incidents left open.
    retry_at: datetime | None = None
    failed: bool = False  # this step opened an incident
    incidents: list[Incident] = field(default_factory=list)  # the ones it opened
    # Failed tasks held out of ERROR while the step runs (``_failures_held``), by task id,
    # and those of them an interrupting event or the process's end cancelled meanwhile.
    held: dict[str, Any] = field(default_factory=dict)
    cancelled_failures: set[str] = field(default_factory=set)
    failed_before: set[str] = field(default_factory=set)  # all it held: not this failure's
    # Failures of tasks the step's action ran itself (``run_in_place``): incidents of the step,
    # which goes on beside them.
    failed_in_action: list[Exception] = field(default_factory=list)
    allow_async: bool = False  # a background continuation: run tasks marked async
    deferred: bool = False  # stopped before an async task; a worker continues it
    fresh: bool = False  # a new instance: it has no work items yet
    respec: bool = False  # migrated: open work items follow the new version's elements
    # When loaded: the ids of READY user tasks (= the instance's open work items, which every
    # save brings in line with them) and of all tasks. ``None``: unknown, ask the database.
    open_before: set[str] | None = None
    tasks_before: set[str] | None = None
    # Audit entries the use case wants stored with the step's own writes (one round trip);
    # each gets the saved instance row and returns ``audit.entry_values(...)``.
    audit: list[Callable[[ProcessInstance], dict[str, Any]]] = field(default_factory=list)
    # Writes of the use case (a work item's completion) to send with the step's own.
    writes: list[Write] = field(default_factory=list)
    # False when the step's first read found no webhook subscription at all
    # (``crm.webhooks.outbox.SUBSCRIBED``): its events then need no outbox statement.
    webhooks: bool = True
    # After a new instance's first save: the work items it opened, as inserted (``OpenedItem``),
    # which are all the instance's open items. Its start answers with them without a read.
    opened: list[OpenedItem] = field(default_factory=list)
    # Set when the step grew the state past the limit and was kept out (``state_limit``).
    kept_out: Exception | None = None
    # The caller refuses what the step took if it is kept out (a message, a signal, a move):
    # the instance is left as it was, without an incident, and the caller raises ``kept_out``.
    refuses: bool = False
    # The message waits the last save opened: kept messages they take are given after it
    # (``message_buffer.take``).
    opened_waits: list[dict[str, Any]] = field(default_factory=list)
    # True once a kept message was taken after the save: ``opened`` is then out of date.
    took_kept: bool = False


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    """The instance row, locked until the transaction ends (SQLite's write lock does the same)."""
    row = session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise InstanceNotFound(f"No process instance #{instance_id}.")
    return row


def _context(
    engine: ProcessEngine,
    session: Session,
    row: ProcessInstance,
    actor: User | None,
    business_key: str | None,
) -> StepContext:
    return StepContext(
        session=session,
        registry=engine.registry,
        now=engine.clock.now(),
        actor=actor,
        instance_id_source=lambda: _persisted_id(session, row),
        starter_source=lambda: _starter(session, row, actor),
        business_key=business_key,
        codec=engine.codec,
        script_time_limit=engine.script_time_limit,
        max_state=engine.max_state,
    )


def _persisted_id(session: Session, row: ProcessInstance) -> int:
    if instance_state(row).transient:
        _insert(session, row)
    return row.id


_TABLE = ProcessInstance.__table__
_COLUMNS = [column.key for column in _TABLE.columns if column.key != "id"]
_INSERT = insert(_TABLE).inline()
_INSERT_RETURNING_ID = insert(_TABLE).returning(_TABLE.c.id)
# Every column but the key, from the row as it is: one statement for every step.
_UPDATE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("_id"), _TABLE.c.lock_version == bindparam("_version"))
    .values({key: bindparam(key) for key in _COLUMNS})
)


def _insert(session: Session, row: ProcessInstance, batch: Batch | None = None) -> None:
    """INSERT the new instance without the unit of work; the row becomes a loaded object.

    With its id known (reserved with the version's lookup) the INSERT can join ``batch``.
    """
    values = _row_values(row)
    values["lock_version"] = 1  # as the ORM's version counter starts
    values["step_count"] = values["step_count"] or 0
    new_id = row.id
    if new_id is None:
        new_id = inserted_id(session, _INSERT, _INSERT_RETURNING_ID, values)
    elif batch is not None:
        batch.execute(_INSERT, {"id": new_id, **values})
    else:
        session.connection().execute(_INSERT, {"id": new_id, **values})
    # Every column loaded (reading one never queries), as the row now stores them: put in
    # without change events, which making it detached would forget at once.
    instance_state(row).dict.update(values, id=new_id)
    make_loaded(row)
    add_loaded(session, row)


def _row_values(row: ProcessInstance) -> dict[str, Any]:
    """Every column but the key, as the row's attributes give them: from the loaded values
    themselves (the attributes' instrumentation costs more than the dictionary), a column not
    loaded through its attribute."""
    loaded = instance_state(row).dict
    return {key: loaded[key] if key in loaded else getattr(row, key) for key in _COLUMNS}


def begin(
    engine: ProcessEngine,
    session: Session,
    version: Any,
    business_key: str | None,
    data: dict[str, Any],
    actor: User | None,
    *,
    instance_id: int | None = None,
) -> Step:
    """A new instance of ``version`` (a ``ProcessVersion``, or a row with its ``id``,
    ``process_id`` and ``bundle_id``) with ``data`` on its start; ``instance_id`` if one was
    reserved, else the row's INSERT gives it."""
    bundle = engine.specs.get(session, version.bundle_id)
    spec, subprocess_specs = bundle.spec(version.process_id)
    now = engine.clock.now()
    row = as_new(
        ProcessInstance,
        {
            "id": instance_id,
            "process_id": version.process_id,
            "version_id": version.id,
            "business_key": business_key,
            "status": InstanceStatus.RUNNING,
            "state": "{}",
            "data": {},
            "waiting": [],
            "started_by_id": actor.id if actor else None,
            "started_at": now,
            "updated_at": now,
            # What reading them unset gives, set: the step reads them (its first INSERT
            # stores these, the counters its own), and an unset attribute costs a lookup.
            "trail": None,
            "ended_at": None,
            "step_count": None,
            "lock_version": None,
        },
    )
    context = _context(engine, session, row, actor, business_key)
    with step_time(context.now):
        workflow = InstanceWorkflow(spec, subprocess_specs, script_engine=StepScriptEngine(context))
    new_step(workflow)
    for task in workflow.tasks.values():  # a new workflow: its start events, no subprocesses
        if task.state == TaskState.READY:
            task.data.update(data)
    return Step(row, workflow, bundle, context, fresh=True)


def load(engine: ProcessEngine, session: Session, row: ProcessInstance, actor: User | None) -> Step:
    bundle = engine.specs.for_version(session, row.version_id)
    spec, subprocess_specs = bundle.spec(row.process_id)
    context = _context(engine, session, row, actor, row.business_key)
    workflow = engine.kept.take(row.id, row.version_id, row.state)
    if workflow is None:
        workflow = engine.codec.decode(row.state, spec, subprocess_specs)
    workflow.script_engine = StepScriptEngine(context)
    new_step(workflow)  # the waits this step begins are younger than those waiting now
    return Step(
        row,
        workflow,
        bundle,
        context,
        open_incident=row.status == InstanceStatus.ERROR,
        retry_at=pending_retry_at(row),
        open_before=manual_ready_ids(workflow),
        tasks_before=_task_ids(workflow),
    )


def pending_retry_at(row: ProcessInstance) -> datetime | None:
    """When the automatic retry of an instance in error is due: the earliest of its open
    incidents' retries; ``None`` if it is not in error or waits for a person."""
    if row.status != InstanceStatus.ERROR:
        return None
    due = [i.retry_at for i in row.incidents if i.resolved_at is None and i.retry_at]
    return min(due) if due else None


def _task_ids(workflow: BpmnWorkflow) -> set[str]:
    ids = {id_text(task_id) for task_id in workflow.tasks}
    for subprocess in workflow.subprocesses.values():
        ids.update(id_text(task_id) for task_id in subprocess.tasks)
    return ids


def run(
    engine: ProcessEngine,
    session: Session,
    step: Step,
    action: Callable[[BpmnWorkflow], None] | None = None,
) -> list[Incident]:
    """Apply ``action`` (complete a task, deliver a message…), run engine steps, save.

    A failing script, handler or gateway becomes an incident; the state up to the failure is
    kept, the failed task waits in ERROR for ``retry``, and the instance's other branches go
    on as far as they can (each further failure is an incident of its own).
    """
    failures: list[Exception] = []
    thrown: list[Any] = []  # signals: also broadcast to other instances, after the step
    pending_before = set(session.new)  # what the step adds is dropped if it is kept out
    try:
        with (
            step_time(step.context.now),
            _failures_held(step),
            signals.thrown_in(step.workflow, thrown),
            failures_heard() as heard,  # tasks whose pre-script failed, left in ERROR
        ):
            if action is not None:
                action(step.workflow)
                failures += step.failed_in_action
            trail = Trail(step.row.trail)
            try:
                _run_branches(step, trail, failures)
            finally:
                if trail.changed:
                    step.row.trail = trail.to_json()
    except _Deferred:
        step.deferred = True  # the task stays READY; the state up to it is saved
    except Exception as exc:
        if lock_failure(exc) or connection_lost(exc):  # no incident: the database lost the
            raise  # step's transaction
        failures.append(exc)
    failures += heard
    incidents = [_open_incident(session, step, exc) for exc in failures]
    _queue_thrown_messages(session, step)
    try:
        save(engine, session, step)
    except StateTooLarge as error:
        if step.fresh:  # a new instance has no state to stay at: its start is refused
            raise
        kept_out = keep_out(engine, session, step, error, pending_before)
        return [] if kept_out is None else [kept_out]
    signals.queue_thrown(session, step, thrown)
    for incident in incidents:  # saved, so it has its id; rare, so a statement of its own
        if incident.resolved_at is None:  # not one the step's own end closed at once
            webhook_events.incident_opened(session, step.row, incident)
    if step.opened_waits:  # a message kept for it may be there already: taken in this transaction
        step.took_kept = message_buffer.take(engine, session, step.row, step.opened_waits)
    return incidents


def _run_branches(step: Step, trail: Trail, failures: list[Exception]) -> None:
    """Run engine steps; after a task that failed in place (left in ERROR), run the rest.

    A failure stops only its own path: a parallel branch's user task still opens, its timer
    still waits. Anything else that stops a pass (a runaway loop, an async task held for a
    worker, an error outside a task) ends the step there. Each failure leaves one READY task
    in ERROR, so the passes end."""
    while True:
        try:
            run_engine_steps(step.workflow, lambda task: _hold(step, task), trail)
            return
        except _Deferred:
            raise
        except Exception as exc:
            task = getattr(exc, "task", None)
            if (
                isinstance(exc, RunawayLoop)
                or task is None
                or task.state != TaskState.ERROR
                or lock_failure(exc)
                or connection_lost(exc)
            ):
                raise
            _hold_failures(step)  # the next pass goes on beside it
            # the step's time is up: nothing more runs in it, the failure is an incident
            stop = _retries_left(step, exc) or timed_out(exc) is not None
            caught = None if stop else catch_failure(exc)
            if caught is None:
                failures.append(exc)
            else:  # the catch's path runs next pass
                step.audit.append(audit_entry(caught, step.context.actor))


class _failures_held:  # lower case: entered as the function it was
    """Hold the failed tasks out of ERROR while the step runs, and put them back after.

    SpiffWorkflow counts a task in ERROR as finished: an inclusive join would stop waiting
    for the failed branch and go on without it (that branch, retried, then arrives at a join
    already passed, and what follows the join never runs), a terminate end event or an
    interrupting boundary event would leave it in ERROR. Held as STARTED, a failed task is
    still under way, as it is for the process: joins wait for it, and what ends it cancels
    it. Only an instance in error has failed tasks when its step begins. (A class, not a
    generator: every step enters it.)"""

    __slots__ = ("_step",)

    def __init__(self, step: Step) -> None:
        self._step = step

    def __enter__(self) -> None:
        if self._step.row.status == InstanceStatus.ERROR:
            _hold_failures(self._step)

    def __exit__(self, *_: object) -> None:
        step = self._step
        for task_id, task in step.held.items():
            if task.state == TaskState.STARTED:
                task._set_state(TaskState.ERROR)
            elif task.state == TaskState.CANCELLED:
                step.cancelled_failures.add(task_id)
        step.failed_before.update(step.held)
        step.held.clear()


def _hold_failures(step: Step) -> None:
    for task in failed_tasks(step.workflow):
        task._set_state(TaskState.STARTED)
        step.held[str(task.id)] = task


def rerun_failed(
    step: Step, only: set[str] | None = None, data: dict[str, Any] | None = None
) -> None:
    """For a retry: put the failed tasks (all, or those whose ids are in ``only``) back to
    READY, so that the step runs them again; call it in the step's action. ``data`` joins
    each one's data first; a join (an inclusive gateway), and an activity whose pre-script
    failed before it created its instances, takes its data from the task before it when it
    runs, so that task's data takes it too. A user or manual task whose
    post-script failed is completed again here, its submitted data kept (``task_scripts``);
    an instance whose pre-script failed runs it again, then becomes ready
    (``instance_scripts``).
    """
    submitted, unready = [], []
    for task_id, task in list(step.held.items()):
        if only is None or task_id in only:
            del step.held[task_id]
            if data:
                task.data.update(data)
                if task.parent is not None and (
                    isinstance(task.task_spec, UnstructuredJoin) or inherits_again(task)
                ):
                    task.parent.data.update(data)
            if pre_script_failed(task):
                unready.append(task)
                continue
            task._set_state(TaskState.READY)
            if task.task_spec.manual and post_script_failed(task):
                submitted.append(task)
    for task in unready:  # it never became ready: its pre-script runs again first
        _in_place(step, task, lambda task: rerun_pre_script(task, data))
    for task in submitted:  # its form was submitted: only its post-script runs again
        run_in_place(step, task)


def run_in_place(step: Step, task: Any) -> None:
    """Run ``task`` in the step's action; if it fails in place (left in ERROR) it is an
    incident of the step, which goes on beside it as after any failed task."""
    _in_place(step, task, lambda task: task.run())


def _in_place(step: Step, task: Any, run: Callable[[Any], Any]) -> None:
    try:
        run(task)
    except Exception as exc:
        if (
            getattr(exc, "task", None) is None
            or task.state != TaskState.ERROR
            or lock_failure(exc)
            or connection_lost(exc)
        ):
            raise
        _hold_failures(step)
        step.failed_in_action.append(exc)


def _open_incident(session: Session, step: Step, exc: Exception) -> Incident:
    mark_pre_script_failure(exc)  # its retry runs the pre-script again
    incident = _incident(step, exc)
    if "\x00" in incident.message:  # a script's or handler's own words; PostgreSQL's text
        incident.message = incident.message.replace("\x00", "\\x00")  # holds no NUL
    incident.attempts = step.attempts.get(incident.task_id or "", 1)
    incident.retry_at = _automatic_retry_at(exc, incident.attempts, step.context.now)
    session.add(incident)
    step.incidents.append(incident)
    step.open_incident = step.failed = True
    log.info("instance %s: incident at %s: %s", step.row.id, incident.element_id, incident.message)
    return incident


def save(engine: ProcessEngine, session: Session, step: Step) -> None:
    row, workflow, now = step.row, step.workflow, step.context.now
    trail = Trail(row.trail)
    prune_history(workflow, trail)
    if trail.changed:
        row.trail = trail.to_json()
    if step.open_incident:
        _settle_incidents(row, step, now)
    waiting_before = None if step.fresh else row.waiting
    waiting = _waiting(workflow)
    due = [w["due_at"] for w in waiting if w.get("due_at")]
    next_due_at = min(datetime.fromisoformat(d) for d in due) if due else None
    if step.deferred:  # due now: the scheduler hands it to a worker, in error or not
        next_due_at = now
    elif step.open_incident:  # in error: its other branches' timers still fire, and its retry
        next_due_at = min((d for d in (next_due_at, step.retry_at) if d), default=None)
    ready = manual_ready_tasks(workflow)  # used twice
    status_before = status = row.status
    state = engine.codec.encode(workflow)
    if len(state) > engine.max_state:  # the length of what is stored anyway: no second pass
        raise too_large(workflow, len(state), engine.max_state)
    if step.context.savepoint is not None:  # the handlers' writes are the step's
        step.context.savepoint.commit()
        step.context.savepoint = None
    # Every column the step sets; the row's INSERT or UPDATE below stores them all, so they
    # go in without the attributes' change events (see ``_put``).
    values: dict[str, Any] = {
        "state": state,
        "waiting": waiting,
        "next_due_at": next_due_at,
        "data": _data_snapshot(workflow),
        "step_count": (row.step_count or 0) + 1,
        "fire_claimed_until": None,  # this step settled the timers; the scheduler looks afresh
        "updated_at": now,
    }
    if status == InstanceStatus.TERMINATED:
        pass
    elif step.open_incident:
        status = InstanceStatus.ERROR
    elif workflow.is_completed():
        status = InstanceStatus.COMPLETED
        values["ended_at"] = now
    elif ready:
        status = InstanceStatus.RUNNING
    else:
        status = InstanceStatus.WAITING if waiting else InstanceStatus.RUNNING
    values["status"] = status
    _put(row, values)
    # A new instance: one INSERT, with its first state. Its id is reserved on PostgreSQL, and
    # the INSERT joins the other writes; elsewhere the id comes back from it first.
    new_row = instance_state(row).transient
    stored = False  # the INSERT below stored every column: no UPDATE follows
    if new_row and row.id is None:
        _insert(session, row)
        new_row, stored = False, True
    if step.webhooks:
        step.writes += webhook_events.step_events(session, row, status_before, now)
    writes, step.writes = step.writes, []
    # The row's and work items' changes (a completion) go with the other writes; anything else
    # pending (incidents, handlers' CRM rows) is flushed first, keeping the order of writes.
    for item in [o for o in session.dirty if isinstance(o, WorkItem)]:
        item_change = pending_update(item)
        if item_change is not None:
            writes.append((item_change[0], None))
            mark_saved(item, item_change[1])
    change = None if new_row or stored else _row_update(row)
    if change is not None:
        mark_saved(row, change[1])
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        session.flush()
    item_writes = sync_work_items(
        session,
        row,
        workflow,
        step.bundle,
        lambda: _starter(session, row, step.context.actor),
        now,
        fresh=step.fresh,
        respec=step.respec,
        open_before=step.open_before,
        tasks_before=step.tasks_before,
        ready_tasks=ready,
    )
    if step.fresh:
        step.opened = opened_items(item_writes)
    writes += item_writes
    writes += sync_event_waits(row, waiting_before, row.waiting, fresh=step.fresh)
    step.opened_waits = message_buffer.opened(waiting_before, row.waiting)
    entries = [entry(row) for entry in step.audit]
    step.audit.clear()
    with pipelined(session) as batch:
        if new_row:
            _insert(session, row, batch)
        for statement, params in writes:
            batch.execute(statement, params)
        if change is not None:
            updated = batch.execute(_UPDATE, change[0])
            batch.check(lambda: _check_version(row, batch.rowcount(updated)))
        audit.append(batch, entries)
    # The workflow as stored, for the instance's next step here; the row's text decides.
    if row.status in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED):
        engine.kept.forget(row.id)  # no step follows
    else:
        engine.kept.keep(row.id, row.version_id, row.state, workflow)
    step.fresh = False
    step.open_before = step.tasks_before = None  # a second save asks the database


def failed_tasks(workflow: BpmnWorkflow) -> list[Any]:
    """The tasks in ERROR, in the workflow and its subprocesses. SpiffWorkflow's
    ``get_tasks(state=ERROR)`` does not look below an unfinished task, so it misses the failed
    instances of a parallel multi-instance task (which stays STARTED while they run)."""
    found = [t for t in workflow.tasks.values() if t.state == TaskState.ERROR]
    for subprocess in workflow.subprocesses.values():
        found += [t for t in subprocess.tasks.values() if t.state == TaskState.ERROR]
    return found


def _settle_incidents(row: ProcessInstance, step: Step, now: datetime) -> None:
    """Close the incidents whose failed task is over, and say whether the instance is still in
    error and when its next automatic retry is due.

    With no failed task left and no new incident, every incident closes. Otherwise only those
    of tasks that are over: a failure beside them keeps the instance in error and its own retry
    pending. A process that has ended (a terminate end event in another branch) leaves
    nothing to retry: all its incidents close, and it ends like any other."""
    left, over = _failed_tasks_left(step.workflow)
    over |= step.cancelled_failures
    # Loaded by any step of an instance that was in error; otherwise it had none open.
    earlier = row.incidents if "incidents" in instance_state(row).dict else []
    open_ = {id(i): i for i in (*earlier, *step.incidents) if i.resolved_at is None}
    ended = step.workflow.completed
    for incident in open_.values():
        if ended or incident.task_id in over or not (left or step.failed):
            incident.resolved_at = now
    still = [i for i in open_.values() if i.resolved_at is None]
    step.open_incident = bool(still)
    step.retry_at = min((i.retry_at for i in still if i.retry_at), default=None)


def _failed_tasks_left(workflow: BpmnWorkflow) -> tuple[set[str], set[str]]:
    """The ids of the tasks left in ERROR for a retry, and of those that are over.

    A failed task is over when an interrupting boundary event has fired since (a cancellation
    message, a deadline) or when its process has ended since (a terminate end event, its
    subprocess cancelled): SpiffWorkflow leaves it in ERROR, where a retry would run it
    again; it is cancelled here."""
    left: set[str] = set()
    over: set[str] = set()
    for task in failed_tasks(workflow):
        if _taken_over(task) or _process_ended(task):
            task._set_state(TaskState.CANCELLED)
            over.add(str(task.id))
        else:
            left.add(str(task.id))
    return left, over


def _taken_over(task: Any) -> bool:
    parent = task.parent
    return parent is not None and any(
        sibling is not task
        and sibling.state == TaskState.COMPLETED
        and getattr(sibling.task_spec, "cancel_activity", False)
        for sibling in parent.children
    )


def _process_ended(task: Any) -> bool:
    workflow = task.workflow
    while workflow is not None:
        if workflow.completed:
            return True
        workflow = getattr(workflow, "parent_workflow", None)
    return False


def _check_version(row: ProcessInstance, rowcount: int) -> None:
    if rowcount == 0:  # as the ORM's version check would
        raise StaleDataError(f"process instance {row.id} was changed by someone else")


def _put(row: ProcessInstance, values: dict[str, Any]) -> None:
    """Set the row's columns to ``values`` without the attributes' change events, which cost
    more than the rest of the save's bookkeeping: a new row's INSERT stores them as they are,
    and a loaded row's UPDATE (``_row_update``) stores every column, after which
    ``mark_saved`` records them as stored."""
    instance_state(row).dict.update(values)


def _row_update(row: ProcessInstance) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parameters for ``_UPDATE`` and the values it stores (every column, as the row holds
    them), bumping ``lock_version`` like the ORM's versioning. A save always changes the row
    (its step count at least), so there is always an UPDATE."""
    values = _row_values(row)
    values["lock_version"] = row.lock_version + 1
    return {"_id": row.id, "_version": row.lock_version, **values}, values


def _starter(session: Session, row: ProcessInstance, actor: User | None) -> str | None:
    """The username of the user who started the instance ``row``; ``None``: nobody did."""
    if row.started_by_id is None:
        return None
    if actor is not None and actor.id == row.started_by_id:  # e.g. the start itself
        return actor.username
    return session.scalar(select(User.username).where(User.id == row.started_by_id))


def _incident(step: Step, exc: Exception) -> Incident:
    task = getattr(exc, "task", None)
    if task is None:
        # a failure without its task: one that failed in this pass, not an earlier one
        errored = [t for t in failed_tasks(step.workflow) if str(t.id) not in step.failed_before]
        task = errored[0] if errored else None
    if isinstance(exc, ServiceTaskFailed):
        kind, message = "handler_error", str(exc)
    elif isinstance(exc, RunawayLoop):
        kind, message = "runaway_loop", str(exc)
    elif (timeout := timed_out(exc)) is not None:
        kind, message = "script_timeout", _timeout_message(timeout, exc)
    elif pattern_timed_out(exc) is not None:  # FEEL's matches/replace/split, said with the FEEL
        kind, message = "pattern_timeout", str(exc).strip()
    elif thrown_by_diagram(task):
        kind, message = "uncaught_error", str(exc).strip()
    elif _is_gateway(task) and isinstance(exc, WorkflowException):
        kind, message = "gateway_error", gateway_message(task, exc)
    elif isinstance(exc, WorkflowTaskException):
        kind = "script_error"
        message = str(exc).strip()  # SpiffWorkflow's text already starts with the error type
        if isinstance(exc.__context__, ELValueError):  # a JUEL timer or count: not the Python
            message = f"{type(exc.__context__).__name__}: {exc.__context__}"
    elif isinstance(exc, WorkflowException):
        kind, message = "engine_error", str(exc)
    else:
        kind, message = "engine_error", f"{type(exc).__name__}: {exc}"
    line = getattr(exc, "line_number", None)
    return Incident(
        instance_id=step.context.instance_id,
        task_id=str(task.id) if task is not None else None,
        element_id=_element_of(task) if task is not None else None,
        kind=kind,
        message=message[:4000],
        line=line if isinstance(line, int) and line > 0 else None,
        created_at=step.context.now,
    )


def _element_of(task: Any) -> str:
    """The diagram's element the failed ``task`` is: a task drawn beside an event for its
    listeners or mappings is that event (the incident named ``Event_late_mappings_after``)."""
    element = task.task_spec.bpmn_id or task.task_spec.name
    return drawn_for(element, task.workflow.spec.task_specs)


def _timeout_message(timeout: ScriptTimedOut, exc: Exception) -> str:
    """The limit, and the loop it stopped in: its line, or the expression it is in."""
    line, shown = getattr(exc, "line_number", None), getattr(exc, "error_line", None) or ""
    if isinstance(line, int) and line > 0:
        where = f"it was stopped in the loop on line {line}"
        where += f": {shown.strip()!r}" if shown.strip() else ""
    elif exc is not timeout:
        where = f"it was stopped in a loop ({str(exc).strip()})"
    else:
        where = "it was stopped in a loop"
    return (
        f"{timeout}; {where}. The loop did not end with this data: fix the data or the "
        "script, then retry"
    )


def _queue_thrown_messages(session: Session, step: Step) -> None:
    """Messages the workflow threw that nothing inside it caught go to other instances: they
    are queued (in this transaction) and delivered by the scheduler's next pass."""
    for event in step.workflow.get_events():
        definition = event.event_definition
        if not isinstance(definition, MessageEventDefinition):
            continue
        correlation = {
            prop: value
            for values in (event.correlations or {}).values()
            for prop, value in values.items()
        }
        payload = event.payload if isinstance(event.payload, dict) else {"value": event.payload}
        session.add(
            ReceivedMessage(
                name=definition.name,
                status="queued",
                correlation=correlation or None,
                business_key=None if correlation else step.row.business_key,
                payload=stored_json(payload),
                delivered_to=[],
                received_at=step.context.now,
            )
        )


class _Deferred(Exception):
    """Raised before an async task runs in the foreground: the rest belongs to a worker."""


def is_async(task_spec: Any) -> bool:
    """Whether the task's ``async`` property is set. Asked before every task a step runs;
    a spec's properties never change once parsed, so the answer is kept on the spec."""
    found = task_spec.__dict__.get(_IS_ASYNC)
    if found is None:
        properties = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
        found = str(properties.get("async", "")).strip().lower() in ("true", "1", "yes")
        task_spec.__dict__[_IS_ASYNC] = found
    return found


_IS_ASYNC = "_dialflow_is_async"


def _hold(step: Step, task: Any) -> None:
    if not step.allow_async and is_async(task.task_spec):
        raise _Deferred()


def _retries_left(step: Step, exc: Exception) -> bool:
    """Whether the failed task of ``exc`` has an automatic retry to come (this attempt's)."""
    attempt = step.attempts.get(str(exc.task.id), 1)  # type: ignore[attr-defined]
    return _automatic_retry_at(exc, attempt, step.context.now) is not None


def _automatic_retry_at(exc: Exception, attempt: int, now: datetime) -> datetime | None:
    """``<spiffworkflow:retry retries="N" backoff_base="B"/>``: attempt k+1 after B**k s."""
    if not isinstance(exc, ServiceTaskFailed):
        return None
    retries = getattr(exc.task.task_spec, "retries", None) or 0
    if attempt > retries:
        return None
    base = getattr(exc.task.task_spec, "retry_backoff_base", None) or 2
    return now + timedelta(seconds=min(base**attempt, MAX_BACKOFF_SECONDS))


def gateway_message(task: Any, exc: Exception) -> str:
    """What a process owner needs to fix a gateway's data: SpiffWorkflow says only "No
    conditions satisfied on gateway", or quotes a failed expression without its flow."""
    spec = task.task_spec
    element = spec.bpmn_id or spec.name
    named = f" ({element})" if spec.bpmn_name and spec.bpmn_name != element else ""
    gateway = f"Gateway '{spec.bpmn_name or element}'{named}"
    conditions = []
    failed = None
    for condition, target_name in spec.cond_task_specs:
        if condition is None:
            continue
        target = task.workflow.spec.task_specs[target_name]
        expression = str(condition.args[0]).strip()
        flow = f"to '{target.bpmn_name or target.bpmn_id or target_name}'"
        environment = getattr(task.workflow.script_engine, "environment", None)
        read = _values_read(expression, task.data, getattr(environment, "globals", {}))
        # a JUEL or FEEL condition as written
        drawn = juel.original(expression) or zeebe_expressions.original(expression) or expression
        conditions.append(f"{flow}: {drawn}{read}")
        if isinstance(exc, WorkflowTaskException) and f"'{expression}'" in str(exc):
            failed = f"{flow} ({drawn}{read})"
    if failed is not None:
        cause = exc.__context__ if exc.__context__ is not None else exc
        detail = f"{type(cause).__name__}: {cause}"
        notes = " ".join(getattr(exc, "notes", []))
        return f"{gateway}: the condition of the flow {failed} failed: {detail}. {notes}".strip()
    if "No conditions satisfied" not in str(exc):
        return str(exc).strip()
    listed = "; ".join(conditions) or "none"
    return (
        f"{gateway}: no outgoing condition held and the gateway has no default flow. "
        f"Conditions evaluated: {listed}. Fix the data and retry, or add a default flow."
    )


def _values_read(expression: str, data: dict[str, Any], helpers: dict[str, Any]) -> str:
    """`` (score = 50, region = 'East')``: the task data the expression reads."""
    try:
        tree = ast.parse(expression_text(expression), mode="eval")
    except SyntaxError:
        return ""
    read = (_name_read(node) for node in ast.walk(tree))
    names = dict.fromkeys(name for name in read if name is not None)
    values = [
        f"{name} = {reprlib.repr(data[name])}" if name in data else f"{name} not set"
        for name in names
        if name in data or (name not in _BUILTIN_NAMES and name not in helpers)
    ]
    return f" ({', '.join(values)})" if values else ""


def _name_read(node: ast.AST) -> str | None:
    """The name of the data ``node`` reads: a Python name, or the variable a translated JUEL
    condition reads (``_el_vars.get("x")``); not EL's operators (``_el_gt``)."""
    if isinstance(node, ast.Name):
        return None if node.id.startswith(("_el_", "_feel_")) else node.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in (JUEL_VARIABLES, FEEL_VARIABLES)
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.args[0].value)
    return None


_BUILTIN_NAMES = set(dir(builtins)) | {"True", "False", "None"}


def thrown_by_diagram(task: Any) -> bool:
    """An error end event whose error nothing catches (``boundaries.CheckedEndEvent``): its
    failure is the version's own, and a retry would throw the error again. Not one whose
    code is computed from the data (``thrown_codes``): a retry with other data may help."""
    return (
        task is not None
        and isinstance(task.task_spec, CheckedEndEvent)
        and isinstance(task.task_spec.event_definition, ErrorEventDefinition)
        and not isinstance(task.task_spec.event_definition, ComputedCodeError)
    )


def _is_gateway(task: Any) -> bool:
    """Exclusive and inclusive gateways: the ones that evaluate conditions."""
    return task is not None and isinstance(task.task_spec, MultiChoice)


def waiting_events(workflow: BpmnWorkflow) -> list[PendingBpmnEvent]:
    """What the workflow waits for, one entry per event.

    SpiffWorkflow's ``waiting_events()`` reports an event-based gateway (reply *or* timeout)
    or a multiple event as one nameless event: neither its message could be matched nor its
    timer scheduled. Their parts are listed here, minus those already seen.
    """
    return [event for task in workflow.event_manager.tasks.values() for event in _events(task)]


def _events(task: Any) -> list[PendingBpmnEvent]:
    """What one waiting task waits for (see ``waiting_events``)."""
    definition = task.task_spec.event_definition
    if isinstance(definition, FirstEvent):  # an event-based gateway: timers of their own
        return definition.waiting(task)
    if isinstance(definition, MultipleEventDefinition):
        seen = [e.event_definition for e in task.internal_data.get("seen_events", [])]
        return [d.details(task) for d in definition.event_definitions if d not in seen]
    return [definition.details(task)]


def _waiting(workflow: BpmnWorkflow) -> list[dict[str, Any]]:
    """The instance's waits as stored (``waiting``, ``event_waits``): a message wait whose
    catch takes one correlation value only has it as ``correlation`` (``engine.wait_keys``).
    An error or escalation catch whose error has no name is named by the code it takes, else
    by its element id (it was listed with ``"name": null``, where the API's schema says
    text)."""
    waiting = []
    for task in workflow.event_manager.tasks.values():
        keys = expected(task)
        for event in _events(task):
            is_timer = "Timer" in event.event_type or "TimeDate" in event.event_type
            entry: dict[str, Any] = {
                "kind": "timer" if is_timer else _kind(event.event_type),
                "name": event.name,
            }
            if entry["name"] is None and entry["kind"] in _THROWN_INSIDE:
                entry["name"] = event.value or task.task_spec.bpmn_id or task.task_spec.name
            if is_timer and isinstance(event.value, str):
                entry["due_at"] = _due_at(event.value)
            elif entry["kind"] == "message" and event.name in keys:
                entry["correlation"] = keys[event.name]
            waiting.append(entry)
    return waiting


def _due_at(value: str) -> str | None:
    """The due time with its offset, read as SpiffWorkflow reads it when it checks the timer:
    a date or a time without offset is in the installation's zone; ISO week dates work too."""
    try:
        moment = TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # SpiffWorkflow fails the step on it; nothing to schedule
        return None
    return moment.isoformat() if isinstance(moment, datetime) else None


# What only the instance itself throws, named by its code where the diagram gives no name.
_THROWN_INSIDE = frozenset({"error", "escalation"})


def _kind(event_type: str) -> str:
    lowered = event_type.lower()
    for kind in ("message", "signal", "escalation", "error", "conditional"):
        if kind in lowered:
            return kind
    return "event"


def _data_snapshot(workflow: BpmnWorkflow) -> dict[str, Any]:
    data = dict(workflow.data)
    if workflow.is_completed():
        pass
    elif (latest := _latest_task(workflow)) is not None:
        data.update(latest.data)
        for failed in workflow.get_tasks(state=TaskState.ERROR):
            hide_carried(failed, data)  # a catch's carried data, its outputs in an incident
    else:  # e.g. right after a migration reset the tasks it was at
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            data.update(task.data)
    try:
        return _json_copy(data)
    except (_NotPlain, RecursionError):
        return stored_json(data)


def _latest_task(workflow: BpmnWorkflow) -> Any:
    """The task completed last in the instance's own scope, inside its embedded subprocesses
    too: the process's own last task is the one before a subprocess it is inside, so the data
    of an instance waiting there (a callback loop counting its attempts inside a subprocess)
    showed none of what the subprocess had done. A called process's data stays its own (it
    gets only what its call activity passes), as do the subprocesses inside it."""
    last = [
        scope.last_task
        for scope in (workflow, *workflow.subprocesses.values())
        if scope.last_task is not None and _own_scope(workflow, scope)
    ]
    return max(last, key=lambda task: task.last_state_change, default=None)


def _own_scope(workflow: BpmnWorkflow, scope: Any) -> bool:
    """Whether ``scope`` is the instance's process or a subprocess embedded in it (at any
    depth), not a called process or anything inside one, nor one instance (or turn) of a
    multi-instance or looping subprocess, whose item is that instance's alone."""
    while scope is not workflow:
        parent = workflow.get_task_from_id(scope.parent_task_id)
        if (
            parent is None
            or isinstance(parent.task_spec, CallActivity)
            or (parent.parent is not None and isinstance(parent.parent.task_spec, LoopTask))
        ):
            return False
        scope = parent.workflow
    return True


class _NotPlain(Exception):
    """A value that JSON would store as something else (a tuple, a date, a number key...)."""


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_copy(value: Any) -> Any:
    """``json.loads(json.dumps(value))`` for a value made of dicts with text keys, lists,
    text, numbers, booleans and None, which JSON stores as they are: a deep copy, without
    writing and reading the text (an encoder built for every call, for a handful of values).
    Raises ``_NotPlain`` on anything else."""
    kind = type(value)
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            copied[key] = _json_copy(item)
        return copied
    if kind is list:
        return [_json_copy(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    raise _NotPlain
