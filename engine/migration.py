"""Moving running instances to another version of their process, with SpiffWorkflow's diff.

An instance may move when every task it has not finished still exists in the new version
(and every active call activity's process too), a failed one included. Otherwise the move is
refused with the elements that block it; nothing is changed. Moves are audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.models import User
from dialflow.db import Database
from dialflow.errors import InvalidInput
from engine import reserved_ids, stepper
from engine.deployments import latest_version
from engine.errors import InstanceConflict
from engine.event_subprocesses import arm_new_listeners
from engine.migrated_tasks import (
    boundary_blockers,
    dropped_on_move,
    migrate_tree,
    removed_boundary_blockers,
)
from engine.models import InstanceStatus, ProcessInstance, ProcessVersion
from engine.service import ProcessEngine
from engine.state_limit import StateTooLarge
from engine.timekeeping import step_time

# An instance in error moves with its incidents open: the fix of a failing script or of an
# error nothing caught is a new version, then a retry runs the failed task there.
MIGRATABLE = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)
MAX_VERSION = 2**31 - 1  # process_versions.version is a PostgreSQL INTEGER


@dataclass
class BulkResult:
    migrated: list[int] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)


def migrate(
    engine: ProcessEngine,
    session: Session,
    instance_id: int,
    to_version: Any,
    *,
    actor: User | None,
) -> ProcessInstance:
    to_version = version_number(to_version)
    row = stepper.lock_instance(session, instance_id)
    if row.status not in MIGRATABLE:
        raise InstanceConflict(
            f"Instance #{instance_id} is {row.status.value}; only running, waiting or "
            "failed instances can move.",
            code="migration_refused",
        )
    target = latest_version(session, row.process_id, to_version)
    before = session.get(ProcessVersion, row.version_id)
    if target.id == row.version_id:
        raise InstanceConflict(
            f"Instance #{instance_id} already runs version {to_version}.", code="migration_refused"
        )
    step = stepper.load(engine, session, row, actor)
    new_bundle = engine.specs.for_version(session, target.id)
    spec, dependencies = new_bundle.spec(row.process_id)
    workflow = step.workflow
    top_diff, sub_diffs = reserved_ids.diff_by_element(
        engine.codec.registry, workflow, spec, dependencies
    )
    blockers = _blockers(workflow, top_diff, sub_diffs)
    if blockers:
        raise InstanceConflict(
            f"Instance #{instance_id} cannot move to version {to_version}: "
            f"{len(blockers)} element(s) it is at do not exist there.",
            code="migration_refused",
            details=blockers,
        )
    with step_time(step.context.now):  # timers that start again read the step's clock
        migrate_tree(top_diff, workflow, spec)
        for subprocess_id, diff in sub_diffs.items():
            subprocess = workflow.subprocesses[subprocess_id]
            migrate_tree(diff, subprocess, dependencies[subprocess.spec.name])
        workflow.subprocess_specs = dependencies
        arm_new_listeners(workflow)
    row.version_id = target.id
    step.bundle = new_bundle
    step.respec = True
    # A timer that came due before the move fires in its step, as the scheduler would fire it.
    step.refuses = True  # a step that would grow past the limit leaves the instance as it was
    stepper.run(engine, session, step, lambda workflow: workflow.refresh_timers())
    if step.kept_out is not None:  # the move's step grew past the limit: it stays where it was
        raise step.kept_out
    audit.record(
        session,
        actor=actor,
        action="migrate",
        entity_type="process_instance",
        entity_id=row.id,
        before={"version": before.version if before else None},
        after={"version": target.version},
    )
    return row


def check(
    engine: ProcessEngine, session: Session, row: ProcessInstance, to_version: int
) -> list[dict[str, Any]]:
    """Dry run of ``migrate``: what would block ``row`` from moving (empty: it can move).

    Reads only; the instance may change before the real move, which checks again under lock.
    """
    if row.status not in MIGRATABLE:
        return [{"element_id": None, "line": None, "message": f"instance is {row.status.value}"}]
    target = latest_version(session, row.process_id, to_version)
    if target.id == row.version_id:
        return [{"element_id": None, "line": None, "message": "already on that version"}]
    step = stepper.load(engine, session, row, None)
    spec, dependencies = engine.specs.for_version(session, target.id).spec(row.process_id)
    top_diff, sub_diffs = reserved_ids.diff_by_element(
        engine.codec.registry, step.workflow, spec, dependencies
    )
    return _blockers(step.workflow, top_diff, sub_diffs)


def migration_report(
    engine: ProcessEngine, session: Session, process_id: str, version: int, to_version: int
) -> list[dict[str, Any]]:
    """``check`` for every running instance of one version (404 if either version is unknown)."""
    source = latest_version(session, process_id, version)
    latest_version(session, process_id, to_version)
    rows = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.version_id == source.id, ProcessInstance.status.in_(MIGRATABLE))
        .order_by(ProcessInstance.id)
        .limit(1000)
    )
    report = []
    for row in rows:
        blockers = check(engine, session, row, to_version)
        report.append({"id": row.id, "can_move": not blockers, "blockers": blockers})
    return report


def version_number(value: Any, field: str = "to_version") -> int:
    """A version number from a request body, or a 422 naming the field (also for a number no
    version can have: versions count from 1 in a PostgreSQL INTEGER)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_VERSION:
        raise InvalidInput(
            f"'{field}' must be a version number (a whole number from 1).",
            details=[{"field": field, "message": "expected a version number"}],
        )
    return value


def migrate_all(
    engine: ProcessEngine,
    database: Database,
    process_id: str,
    from_version: int,
    to_version: int,
    *,
    actor: User | None,
    limit: int = 10_000,
) -> BulkResult:
    """Move every running instance of ``from_version``, each in its own transaction."""
    with database.unit_of_work(read_only=True) as session:
        source = latest_version(session, process_id, from_version)
        latest_version(session, process_id, to_version)  # 404 before doing anything
        ids = list(
            session.scalars(
                select(ProcessInstance.id)
                .where(
                    ProcessInstance.version_id == source.id, ProcessInstance.status.in_(MIGRATABLE)
                )
                .order_by(ProcessInstance.id)
                .limit(limit)
            )
        )
    result = BulkResult()
    for instance_id in ids:
        try:
            with database.unit_of_work() as session:
                migrate(engine, session, instance_id, to_version, actor=actor)
            result.migrated.append(instance_id)
        except (InstanceConflict, StateTooLarge) as exc:
            result.refused.append(
                {"id": instance_id, "reason": exc.message, "details": exc.details}
            )
    return result


def _blockers(workflow: Any, top_diff: Any, sub_diffs: dict[Any, Any]) -> list[dict[str, Any]]:
    blockers = _blockers_in(workflow, top_diff)
    for subprocess_id, diff in sub_diffs.items():
        subprocess = workflow.subprocesses[subprocess_id]
        if diff is None:
            if not subprocess.completed:
                blockers.append(
                    {
                        "element_id": subprocess.spec.name,
                        "line": None,
                        "message": "the called process is not in the new version",
                    }
                )
            continue
        blockers += _blockers_in(subprocess, diff)
    return blockers


def _blockers_in(workflow: Any, diff: Any) -> list[dict[str, Any]]:
    """What blocks one (sub)workflow: unfinished tasks the new version lacks, but for the
    boundary events it no longer draws, which stop waiting on the move."""
    dropped = dropped_on_move(workflow, diff)
    kept = {event.id for _activity, event in removed_boundary_blockers(workflow, diff)}
    blockers = [
        _blocker(task)
        for task in diff.removed
        if _unfinished(task) and task.id not in dropped | kept
    ]
    blockers += [_looping_blocker(task) for task in boundary_blockers(workflow, diff)]
    blockers += [
        _kept_waiting_blocker(activity, event)
        for activity, event in removed_boundary_blockers(workflow, diff)
    ]
    return blockers


def _unfinished(task: Any) -> bool:
    return not task.has_state(TaskState.FINISHED_MASK) and task.has_state(
        TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
    )


def _blocker(task: Any) -> dict[str, Any]:
    element_id = task.task_spec.bpmn_id or task.task_spec.name
    state = TaskState.get_name(task.state).lower()
    return {
        "element_id": element_id,
        "line": None,
        "message": f"{element_id} ({state}) has no counterpart in the new version",
    }


def _looping_blocker(task: Any) -> dict[str, Any]:
    element_id = task.task_spec.bpmn_id or task.task_spec.name
    return {
        "element_id": element_id,
        "line": None,
        "message": f"{element_id} (started) gets boundary events in the new version, which "
        "a multi-instance or loop activity under way cannot begin to wait for; move the "
        "instance once the activity is over",
    }


def _kept_waiting_blocker(activity: Any, event: Any) -> dict[str, Any]:
    element_id = event.task_spec.bpmn_id or event.task_spec.name
    activity_id = activity.task_spec.bpmn_id or activity.task_spec.name
    return {
        "element_id": element_id,
        "line": None,
        "message": f"{element_id} is not on {activity_id} in the new version, and a "
        "multi-instance or loop activity under way cannot stop waiting for a boundary event; "
        "move the instance once the activity is over",
    }
