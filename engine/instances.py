"""Instance use cases: start, read, list, retry after an incident, terminate."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.util import BpmnEvent
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.models import User
from crm.webhooks import outbox
from dialflow.db import fetch
from dialflow.errors import InvalidInput
from engine import stepper
from engine.business_keys import filter_key, normal_key
from engine.deployments import latest_version
from engine.errors import InstanceConflict, InstanceNotFound, RetryCannotHelp
from engine.event_subprocesses import closest_catchers
from engine.models import (
    Incident,
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
)
from engine.service import ProcessEngine

MAX_BUSINESS_KEY = 120


class Started(NamedTuple):
    """A new instance and its open tasks as the API shows them (``ready_tasks``)."""

    row: ProcessInstance
    ready_tasks: list[dict[str, Any]]


def start_instance(
    engine: ProcessEngine,
    session: Session,
    process_id: str,
    *,
    version: int | None = None,
    business_key: str | None = None,
    data: dict[str, Any] | None = None,
    actor: User | None,
) -> ProcessInstance:
    """Start an instance of ``process_id`` (its latest version unless ``version``)."""
    return start(
        engine,
        session,
        process_id,
        version=version,
        business_key=business_key,
        data=data,
        actor=actor,
    ).row


def start(
    engine: ProcessEngine,
    session: Session,
    process_id: str,
    *,
    version: int | None = None,
    business_key: str | None = None,
    data: dict[str, Any] | None = None,
    actor: User | None,
) -> Started:
    """:func:`start_instance`, with the new instance's open tasks: the work items its first
    step inserted, which are all it has, so no read is needed for the answer (on PostgreSQL
    the step's writes then travel with the COMMIT: a round trip less)."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput(
            "'data' must be a JSON object.",
            details=[{"field": "data", "message": "expected an object"}],
        )
    key = None if business_key is None else _checked_key(business_key)
    found, instance_id, subscribed = _version_and_id(session, process_id, version)
    step = stepper.begin(
        engine,
        session,
        found,
        key,
        data or {},
        actor,
        instance_id=instance_id,
    )
    step.webhooks = subscribed
    key, number = step.row.business_key, found.version
    step.audit.append(
        lambda row: audit.entry_values(
            actor=actor,
            action="start",
            entity_type="process_instance",
            entity_id=row.id,
            after={"process_id": process_id, "version": number, "business_key": key},
        )
    )
    stepper.run(engine, session, step)
    from engine.tasks import open_tasks, opened_to_dict

    if step.took_kept:  # the take's steps completed or opened tasks after the first save
        return Started(step.row, open_tasks(session, step.row.id, step.row.data))
    return Started(step.row, [opened_to_dict(item, step.row.data) for item in step.opened])


def _version_and_id(
    session: Session, process_id: str, version: int | None
) -> tuple[Any, int | None, bool]:
    """The version to start (its ``id``, ``process_id``, ``bundle_id`` and ``version``),
    whether any webhook subscription exists (``crm.webhooks.outbox.SUBSCRIBED``; true when not
    read) and, on PostgreSQL, the new instance's id from its sequence, in the same round trip:
    the instance's INSERT then joins the step's other writes.

    The common case reads a plain row, run by the driver (``dialflow.db.fetch``): an ORM
    object, or even SQLAlchemy's result machinery, would cost more than the query costs to
    run, and nothing here changes the version.
    """
    if version is not None:  # rarer: the shared lookup, the id from the INSERT
        return latest_version(session, process_id, version), None, True
    postgres = session.connection().dialect.name == "postgresql"
    found = fetch(
        session,
        _LATEST_AND_ID if postgres else _LATEST,
        {"process_id": process_id},
        may_precede_begin=True,  # committed rows only; nextval is outside transactions anyway
    )
    if not found:  # the same answer as any other lookup: ProcessNotFound
        return latest_version(session, process_id, version), None, True
    row = found[0]
    return _Version(*row[:4]), row[5] if postgres else None, bool(row[4])


class _Version(NamedTuple):
    id: int
    process_id: str
    bundle_id: int
    version: int


# Built once: constructing a statement costs more than running it from SQLAlchemy's cache.
_VERSIONS = ProcessVersion.__table__
_LATEST = (
    select(
        _VERSIONS.c.id,
        _VERSIONS.c.process_id,
        _VERSIONS.c.bundle_id,
        _VERSIONS.c.version,
        outbox.SUBSCRIBED,
    )
    .where(_VERSIONS.c.process_id == bindparam("process_id"))
    .order_by(_VERSIONS.c.version.desc())
    .limit(1)
)
_LATEST_AND_ID = _LATEST.add_columns(
    func.nextval(func.pg_get_serial_sequence(ProcessInstance.__tablename__, "id"))
)


def get_instance(session: Session, instance_id: int) -> ProcessInstance:
    row = session.get(ProcessInstance, instance_id)
    if row is None:
        raise InstanceNotFound(f"No process instance #{instance_id}.")
    return row


def _checked_key(value: Any) -> str:
    """The business key as stored (``engine.business_keys``), or a 422."""
    key = (
        normal_key(value)
        if isinstance(value, str | int) and not isinstance(value, bool)  # true is no key
        else None
    )
    if key is None or len(key) > MAX_BUSINESS_KEY:
        raise InvalidInput(
            "'business_key' must be a string of at most 120 characters.",
            details=[{"field": "business_key", "message": "invalid"}],
        )
    return key


def list_instances(
    session: Session,
    *,
    process_id: str | None = None,
    status: str | None = None,
    business_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ProcessInstance], int]:
    query = select(ProcessInstance)
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if status:
        try:
            query = query.where(ProcessInstance.status == InstanceStatus(status))
        except ValueError:
            allowed = ", ".join(s.value for s in InstanceStatus)
            raise InvalidInput(
                f"Unknown status {status!r}; use one of: {allowed}.", code="invalid_status"
            ) from None
    if business_key:
        query = query.where(ProcessInstance.business_key == filter_key(business_key))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ProcessInstance.id.desc())
        .limit(max(1, min(limit, 200)))
        .offset(max(0, offset))
    ).all()
    return list(rows), total


def retry(
    engine: ProcessEngine,
    session: Session,
    instance_id: int,
    *,
    actor: User | None,
    locked: ProcessInstance | None = None,
    data: dict[str, Any] | None = None,
) -> ProcessInstance:
    """Re-run the failed task(s) of an instance in error: by hand after the cause was fixed,
    or automatically (``locked`` given by the scheduler) when the diagram asks for retries.
    ``data`` by hand: the fix itself, merged into each failed task's data before it runs again
    (a gateway's variables: the instance's data changes nowhere else).

    By hand, every failed task runs again. The scheduler re-runs only the tasks whose
    automatic retry is due: a failure beside them that waits for a person keeps its incident
    (and its attempts) until someone retries it."""
    if data is not None and not isinstance(data, dict):
        raise InvalidInput(
            "'data' must be a JSON object.",
            details=[{"field": "data", "message": "expected an object"}],
        )
    row = locked or stepper.lock_instance(session, instance_id)
    open_incidents = [i for i in row.incidents if i.resolved_at is None]
    if row.status != InstanceStatus.ERROR or not open_incidents:
        raise InstanceConflict(
            f"Instance #{instance_id} has no incident to retry (status {row.status.value})."
        )
    step = stepper.load(engine, session, row, actor)
    now = step.context.now
    retried = open_incidents if locked is None else _due_retries(open_incidents, now)
    hopeless = _thrown_by_diagram(step, retried)
    if hopeless and len(hopeless) == len(retried):
        raise RetryCannotHelp(_cannot_help(hopeless[0]))
    retried = [i for i in retried if i not in hopeless]  # they stay open
    for incident in retried:
        incident.resolved_at = now
    step.attempts = {i.task_id: i.attempts + 1 for i in retried if i.task_id}
    kept = [i for i in open_incidents if i.resolved_at is None]
    step.open_incident = bool(kept)
    # the retry is this step; a new failure, or one left waiting, schedules the next one
    step.retry_at = min((i.retry_at for i in kept if i.retry_at), default=None)
    only = None if locked is None and not hopeless else set(step.attempts)

    def rerun(workflow: Any) -> None:
        stepper.rerun_failed(step, only, data)
        # Timers of other branches that came due meanwhile fire in this step, as the
        # scheduler's would: SpiffWorkflow refreshes them only after its last pass, which
        # left them READY and no longer waiting (no ``next_due_at``), never to run.
        workflow.refresh_timers()

    resolved = [i.id for i in retried]
    step.audit.append(
        lambda saved: audit.entry_values(
            actor=actor,
            action="retry" if locked is None else "automatic_retry",
            entity_type="process_instance",
            entity_id=saved.id,
            after={"resolved": resolved, **({"data": sorted(data)} if data else {})},
        )
    )
    stepper.run(engine, session, step, rerun)
    return row


def _thrown_by_diagram(step: stepper.Step, incidents: list[Incident]) -> list[Incident]:
    """The incidents that no retry can help: an error end event nothing catches (still:
    after a move to a version that catches it, the retry throws it there)."""
    failed = {str(task.id): task for task in stepper.failed_tasks(step.workflow)}
    hopeless = []
    for incident in incidents:
        task = failed.get(incident.task_id or "")
        if stepper.thrown_by_diagram(task) and not closest_catchers(
            task, BpmnEvent(task.task_spec.event_definition)
        ):
            hopeless.append(incident)
    return hopeless


def _cannot_help(incident: Incident) -> str:
    return (
        f"The error at '{incident.element_id}' is thrown by the diagram itself and nothing in "
        "this version catches it: a retry would throw it again. Deploy a version that catches "
        "it (a boundary error event or an error event subprocess) and migrate the instance, or "
        "terminate it."
    )


def _due_retries(incidents: list[Incident], now: datetime) -> list[Incident]:
    """The incidents whose automatic retry is due (the scheduler claims it once past)."""
    return [i for i in incidents if i.retry_at is not None and i.retry_at <= now]


def terminate(
    engine: ProcessEngine, session: Session, instance_id: int, *, actor: User | None
) -> ProcessInstance:
    row = stepper.lock_instance(session, instance_id)
    if row.status.is_final:
        raise InstanceConflict(f"Instance #{instance_id} is already {row.status.value}.")
    step = stepper.load(engine, session, row, actor)
    step.open_incident = False
    step.workflow.cancel()
    row.status = InstanceStatus.TERMINATED
    row.ended_at = step.context.now
    for incident in row.incidents:
        incident.resolved_at = incident.resolved_at or step.context.now
    stepper.save(engine, session, step)
    audit.record(
        session, actor=actor, action="terminate", entity_type="process_instance", entity_id=row.id
    )
    return row


def instance_to_dict(
    session: Session, row: ProcessInstance, *, ready_tasks: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The API's view of an instance; ``ready_tasks`` if the caller knows them (a start)."""
    from engine.tasks import open_tasks

    if ready_tasks is None:
        ready_tasks = open_tasks(session, row.id, row.data)
    incidents = session.scalars(
        select(Incident).where(Incident.instance_id == row.id, Incident.resolved_at.is_(None))
    ).all()
    return {
        "id": row.id,
        "process_id": row.process_id,
        "version": row.version.version,
        "business_key": row.business_key,
        "status": row.status.value,
        "data": row.data,
        "ready_tasks": ready_tasks,
        "waiting": row.waiting,
        "incidents": [incident_to_dict(i) for i in incidents],
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }


def incident_to_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "task_id": incident.task_id,
        "element_id": incident.element_id,
        "kind": incident.kind,
        "message": incident.message,
        "line": incident.line,
        "attempts": incident.attempts,
        "retry_at": incident.retry_at.isoformat() if incident.retry_at else None,
        "created_at": incident.created_at.isoformat(),
    }
