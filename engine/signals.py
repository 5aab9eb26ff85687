"""Signals broadcast to every instance waiting for them, and to the processes they start.

BPMN signals are broadcasts (Camunda and Flowable deliver them so): a signal reaches every
catch of its name waiting in any instance (intermediate catch events, boundary events,
event-based gateways, event subprocess starts) and starts one instance of the latest version
of each process with a signal start event of that name. SpiffWorkflow 3.2 delivers a thrown
signal only within its own instance; that stays as it is (the throwing step's own catches
take it at once), and the signal also goes to the other instances:

- ``POST /api/v1/signals`` (``broadcast``) stores a ``SignalBroadcast`` and delivers it in
  the request, page after page of waiting instances;
- a signal an instance throws (``thrown_in`` hears the throw, ``queue_thrown`` writes it in
  the thrower's step transaction, an outbox row) is delivered afterwards by the background
  pass (``deliver_pending``: the ``TimerLoop`` of ``dialflow serve``, or Celery workers the
  scheduler hands the broadcast to), never to the thrower again.

Either way each instance is stepped in a transaction of its own, under its row lock, and
records a ``SignalDelivery`` in it: a broadcast reaches an instance, or starts a process,
once, whoever runs it and however often. Only ``PAGE`` ids are listed at a time, from
``event_waits`` (the instances waiting for a signal of the name, in id order after the last
one offered, ``offered_up_to``); no transaction ever holds more than one instance's lock.
An instance that stopped waiting between the listing and its lock is passed by. A runner
that dies leaves the broadcast ``pending`` with its claim running out (``LEASE``); the next
background pass claims it and goes on after the last page it finished, skipping the
instances already reached.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from crm import audit
from crm.models import User
from dialflow.db import Database, lock_failure, log_failure, retryable_failure
from dialflow.errors import InvalidInput
from engine import stepper
from engine.errors import InstanceNotFound
from engine.feel_builtins import stored_json
from engine.models import (
    EventWait,
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    SignalBroadcast,
    SignalDelivery,
)
from engine.service import ProcessEngine
from engine.state_limit import StateTooLarge

log = logging.getLogger(__name__)
PAGE = 100  # waiting instances listed at a time (each then stepped in its own transaction)
LEASE = timedelta(seconds=60)  # a runner's hold on a broadcast, renewed after every page
CLAIM_BATCH = 20  # broadcasts a background pass claims at once
# An instance in error still waits in its other branches, as for messages.
_RECEIVING = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)
MAX_LENGTHS = {"name": 200, "signal_id": 200}


@dataclass(frozen=True)
class Broadcast:
    """What a broadcast did: the instances it reached and those it started, in order."""

    broadcast_id: int
    signal_id: str | None
    delivered_to: list[int]
    started: list[int]
    duplicate: bool = False
    pending: bool = False  # another runner is still delivering it (a concurrent repeat)

    def to_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "signal_id": self.signal_id,
            "delivered_to": self.delivered_to,
            "started": self.started,
            "duplicate": self.duplicate,
        }
        if self.pending:
            answer["pending"] = True
        return answer


class DuplicateSignal(Exception):
    """Another request stored the same ``signal_id`` at this moment."""


# -- the API's broadcast -----------------------------------------------------------------


def parse_signal(body: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "payload"?, "signal_id"?}``, or 422 naming each field that is wrong."""
    problems = []
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append({"field": "name", "message": "a signal name is required"})
    elif len(name.strip()) > MAX_LENGTHS["name"]:
        problems.append({"field": "name", "message": "at most 200 characters"})
    payload = body.get("payload")
    if payload is not None and not isinstance(payload, dict):
        problems.append({"field": "payload", "message": "the payload must be a JSON object"})
    signal_id = body.get("signal_id")
    if signal_id is not None and (not isinstance(signal_id, str) or not signal_id.strip()):
        problems.append({"field": "signal_id", "message": "a signal_id must be a non-empty string"})
    elif isinstance(signal_id, str) and len(signal_id) > MAX_LENGTHS["signal_id"]:
        problems.append({"field": "signal_id", "message": "at most 200 characters"})
    unknown = sorted(set(body) - {"name", "payload", "signal_id"})
    for field in unknown:
        problems.append({"field": field, "message": "unknown field"})
    if problems:
        raise InvalidInput("The signal is not valid.", details=problems)
    return {"name": name.strip(), "payload": payload or {}, "signal_id": signal_id}


def broadcast(
    engine: ProcessEngine, database: Database, signal: dict[str, Any], *, actor: User | None
) -> Broadcast:
    """Store the signal (audited) and deliver it to every instance waiting for it, each in
    its own transaction, then start the processes it starts. A ``signal_id`` seen before
    answers as its first broadcast did, delivering nothing."""
    if signal["signal_id"]:
        seen = previous_broadcast(database, signal["signal_id"])
        if seen is not None:
            return seen
    signal_id = signal["signal_id"] or uuid.uuid4().hex
    now = engine.clock.now()
    try:
        with database.unit_of_work() as session:
            row = SignalBroadcast(
                signal_id=signal_id,
                name=signal["name"],
                payload=signal["payload"],
                status="pending",
                offered_up_to=0,
                claimed_until=now + LEASE,  # this request runs it; a dead one's is taken over
                created_at=now,
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="broadcast",
                entity_type="signal",
                entity_id=row.id,
                after={
                    "name": row.name,
                    "signal_id": signal_id,
                    "payload_fields": sorted(signal["payload"]),
                },
                source="api",
            )
            broadcast_id = row.id
    except IntegrityError:
        seen = previous_broadcast(database, signal_id)
        if seen is None:
            raise
        return seen
    try:
        run(engine, database, broadcast_id, actor=actor)
    except Exception as exc:
        if not lock_failure(exc):
            raise
        # Stored and delivered in part: the scheduler's next pass goes on with it. Told
        # "busy, send it again", a client sent a second broadcast and the instances and
        # processes the first reached later got the signal twice.
        log.warning("signal broadcast %s left to the scheduler: %s", broadcast_id, exc)
        _leave_to_scheduler(database, broadcast_id)
    with database.unit_of_work(read_only=True) as session:
        return _outcome(session, session.get(SignalBroadcast, broadcast_id))


def _leave_to_scheduler(database: Database, broadcast_id: int) -> None:
    """End this request's claim on a pending broadcast, for the scheduler's next pass (if
    the database is still too busy for that, the claim runs out after ``LEASE``)."""
    try:
        with database.unit_of_work() as session:
            session.execute(
                update(SignalBroadcast)
                .where(SignalBroadcast.id == broadcast_id, SignalBroadcast.status == "pending")
                .values(claimed_until=None)
            )
    except Exception as exc:
        if not lock_failure(exc):
            raise


def previous_broadcast(database: Database, signal_id: str) -> Broadcast | None:
    with database.unit_of_work(read_only=True) as session:
        row = session.scalar(select(SignalBroadcast).where(SignalBroadcast.signal_id == signal_id))
        if row is None:
            return None
        return _outcome(session, row, duplicate=True)


def _outcome(session: Session, row: SignalBroadcast, *, duplicate: bool = False) -> Broadcast:
    delivered: list[int] = []
    started: list[int] = []
    for instance_id, process_id in session.execute(
        select(SignalDelivery.instance_id, SignalDelivery.process_id)
        .where(SignalDelivery.broadcast_id == row.id)
        .order_by(SignalDelivery.id)
    ):
        (started if process_id is not None else delivered).append(instance_id)
    return Broadcast(
        row.id,
        row.signal_id,
        delivered,
        started,
        duplicate=duplicate,
        pending=row.status == "pending",
    )


# -- thrown by an instance: the outbox -----------------------------------------------------


class thrown_in:  # lower case: called as the function it was, ``with thrown_in(...):``
    """Hear the signals ``workflow`` throws while the block runs (into ``thrown``), whether a
    catch of the instance takes them or not: SpiffWorkflow hands every throw to the top
    workflow's ``catch``, and keeps only those nothing inside caught for ``get_events``. A
    class, not a generator: every step enters it."""

    __slots__ = ("_thrown", "_workflow")

    def __init__(self, workflow: Any, thrown: list[Any]) -> None:
        self._workflow, self._thrown = workflow, thrown

    def __enter__(self) -> None:
        workflow, thrown = self._workflow, self._thrown
        catch = workflow.catch

        def hearing(event: Any) -> Any:
            if isinstance(event.event_definition, SignalEventDefinition):
                thrown.append(event)
            return catch(event)

        workflow.catch = hearing

    def __exit__(self, *_: object) -> None:
        self._workflow.__dict__.pop("catch", None)


def queue_thrown(session: Session, step: Any, thrown: list[Any]) -> None:
    """Write the signals the step threw as pending broadcasts, in the step's transaction (they
    commit or roll back with it); the background pass delivers them to the other instances."""
    for event in thrown:
        name = event.event_definition.name
        if not name or len(name) > MAX_LENGTHS["name"]:
            # No catch of another instance could name it (``event_waits.name`` holds 200).
            log.warning("instance %s threw a signal without a usable name", step.row.id)
            continue
        session.add(
            SignalBroadcast(
                name=name,
                payload=stored_json(event.payload),
                source_instance_id=step.row.id,
                status="pending",
                offered_up_to=0,
                created_at=step.context.now,
            )
        )


def claim_pending(session: Session, now: Any, limit: int = CLAIM_BATCH) -> list[int]:
    """Claim pending broadcasts nobody runs (never claimed, or their runner's lease ran out)
    for ``LEASE``; their ids, oldest first."""
    query = (
        select(SignalBroadcast.id)
        .where(
            SignalBroadcast.status == "pending",
            (SignalBroadcast.claimed_until.is_(None)) | (SignalBroadcast.claimed_until < now),
        )
        .order_by(SignalBroadcast.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(SignalBroadcast)
            .where(SignalBroadcast.id.in_(ids))
            .values(claimed_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    return ids


def deliver_pending(engine: ProcessEngine, database: Database, limit: int = CLAIM_BATCH) -> int:
    """One embedded pass: claim pending broadcasts and run them here; how many were run."""
    with database.unit_of_work() as session:
        ids = claim_pending(session, engine.clock.now(), limit)
    return run_batch(engine, database, ids)


def run_batch(engine: ProcessEngine, database: Database, broadcast_ids: list[int]) -> int:
    """Run each claimed broadcast (a Celery worker's task and the embedded pass); a failure
    leaves it pending for the next claim once its lease ends."""
    done = 0
    for broadcast_id in broadcast_ids:
        try:
            done += run(engine, database, broadcast_id)
        except Exception as exc:
            what = f"signal broadcast {broadcast_id} stopped; it will be claimed again"
            log_failure(log, what, exc)
    return done


# -- running a broadcast ---------------------------------------------------------------------


def run(
    engine: ProcessEngine, database: Database, broadcast_id: int, *, actor: User | None = None
) -> bool:
    """Offer the broadcast to the waiting instances after those already offered, page by
    page, then start the processes it starts, and mark it delivered. False if it is not
    pending (another runner finished it)."""
    with database.unit_of_work(read_only=True) as session:
        row = session.get(SignalBroadcast, broadcast_id)
        if row is None or row.status != "pending":
            return False
        name, payload, source, after = (
            row.name,
            row.payload,
            row.source_instance_id,
            row.offered_up_to,
        )
    while True:
        with database.unit_of_work(read_only=True) as session:
            ids = _waiting(session, name, source, after)
        for instance_id in ids:
            _deliver_once(engine, database, broadcast_id, instance_id, name, payload, actor)
        if ids:
            after = ids[-1]
        with database.unit_of_work() as session:  # progress kept, the claim renewed
            session.execute(
                update(SignalBroadcast)
                .where(SignalBroadcast.id == broadcast_id)
                .values(offered_up_to=after, claimed_until=engine.clock.now() + LEASE)
            )
        if len(ids) < PAGE:
            break
    starter = actor if actor is not None or source is None else _starter_of(database, source)
    for version_id, process_id in _started_by(database, name):
        _start_once(engine, database, broadcast_id, version_id, process_id, name, payload, starter)
    with database.unit_of_work() as session:
        session.execute(
            update(SignalBroadcast)
            .where(SignalBroadcast.id == broadcast_id, SignalBroadcast.status == "pending")
            .values(status="delivered", claimed_until=None, finished_at=engine.clock.now())
        )
    return True


def _starter_of(database: Database, instance_id: int) -> User | None:
    """Who started the instance that threw a signal: the instances its signal starts are
    theirs too, so that a task in no lane (or in a lane naming nobody) reaches their inbox
    as it would had they started the process themselves."""
    with database.unit_of_work(read_only=True) as session:
        starter_id = session.scalar(
            select(ProcessInstance.started_by_id).where(ProcessInstance.id == instance_id)
        )
        return session.get(User, starter_id) if starter_id is not None else None


def _waiting(session: Session, name: str, source: int | None, after: int) -> list[int]:
    """The next page of instances waiting for a signal of ``name``, in id order."""
    query = (
        select(EventWait.instance_id)
        .where(EventWait.kind == "signal", EventWait.name == name, EventWait.instance_id > after)
        .group_by(EventWait.instance_id)
        .order_by(EventWait.instance_id)
        .limit(PAGE)
    )
    if source is not None:
        query = query.where(EventWait.instance_id != source)
    return list(session.scalars(query))


def _deliver_once(
    engine: ProcessEngine,
    database: Database,
    broadcast_id: int,
    instance_id: int,
    name: str,
    payload: Any,
    actor: User | None,
) -> bool:
    """Offer the signal to one instance in a transaction of its own; skipped when it no
    longer waits, when this broadcast reached it before, or when its step fails (logged:
    the others still get the signal). Errors of the database itself stop the broadcast,
    which the next claim resumes."""
    try:
        with database.unit_of_work() as session:
            return _offer(engine, session, broadcast_id, instance_id, name, payload, actor)
    except IntegrityError:
        return False  # another runner of this broadcast reached it first
    except DBAPIError:
        raise
    except StateTooLarge as error:  # refused by the instance, which still waits
        log.warning("signal %r refused by instance %s: %s", name, instance_id, error.message)
        return False
    except Exception as exc:
        if retryable_failure(exc):  # the database's, though a task reported it: claimed again
            raise
        log.exception("signal %r to instance %s failed; passed by", name, instance_id)
        return False


def _offer(
    engine: ProcessEngine,
    session: Session,
    broadcast_id: int,
    instance_id: int,
    name: str,
    payload: Any,
    actor: User | None,
) -> bool:
    try:
        row = stepper.lock_instance(session, instance_id)
    except InstanceNotFound:
        return False  # deleted since it was listed
    if row.status not in _RECEIVING or _reached(session, broadcast_id, instance_id):
        return False
    step = stepper.load(engine, session, row, actor)
    definition = _definition(step.workflow, name)
    if definition is None:
        return False  # it stopped waiting between the listing and the lock
    event = BpmnEvent(definition, payload=payload)
    caught = False

    def send(workflow: Any) -> None:
        nonlocal caught
        try:
            workflow.send_event(event)
        except WorkflowException:
            return
        caught = True
        _merge_payload(workflow, event)

    step.refuses = True  # a step that would grow past the limit leaves the instance as it was
    stepper.run(engine, session, step, send)
    if step.kept_out is not None:  # it caught the signal and grew past the limit: refused
        raise step.kept_out
    if caught:
        session.add(SignalDelivery(broadcast_id=broadcast_id, instance_id=instance_id))
    return caught


def _reached(session: Session, broadcast_id: int, instance_id: int) -> bool:
    return (
        session.scalar(
            select(SignalDelivery.id).where(
                SignalDelivery.broadcast_id == broadcast_id,
                SignalDelivery.instance_id == instance_id,
            )
        )
        is not None
    )


def _started_by(database: Database, name: str) -> list[tuple[int, str]]:
    """(version id, process id) of the latest version of each process a signal of ``name``
    starts."""
    with database.unit_of_work(read_only=True) as session:
        latest = (
            select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
            .group_by(ProcessVersion.process_id)
            .subquery()
        )
        rows = session.execute(
            select(ProcessVersion.id, ProcessVersion.process_id, ProcessVersion.start_signals)
            .join(
                latest,
                and_(
                    ProcessVersion.process_id == latest.c.process_id,
                    ProcessVersion.version == latest.c.version,
                ),
            )
            .order_by(ProcessVersion.process_id)
        ).all()
    return [(vid, pid) for vid, pid, names in rows if name in (names or [])]


def _start_once(
    engine: ProcessEngine,
    database: Database,
    broadcast_id: int,
    version_id: int,
    process_id: str,
    name: str,
    payload: Any,
    actor: User | None,
) -> int | None:
    """Start one instance of the version by its signal start event, once per broadcast."""
    try:
        with database.unit_of_work() as session:
            done = session.scalar(
                select(SignalDelivery.id).where(
                    SignalDelivery.broadcast_id == broadcast_id,
                    SignalDelivery.process_id == process_id,
                )
            )
            if done is not None:
                return None
            version = session.get(ProcessVersion, version_id)
            instance_id = _start(engine, session, version, name, payload, actor)
            session.add(
                SignalDelivery(
                    broadcast_id=broadcast_id, instance_id=instance_id, process_id=process_id
                )
            )
            return instance_id
    except IntegrityError:
        return None  # another runner of this broadcast started it first
    except DBAPIError:
        raise
    except Exception as exc:
        if retryable_failure(exc):  # the database's, though a task reported it: claimed again
            raise
        log.exception("signal %r could not start %s; passed by", name, process_id)
        return None


def _start(
    engine: ProcessEngine,
    session: Session,
    version: ProcessVersion,
    name: str,
    payload: Any,
    actor: User | None,
) -> int:
    step = stepper.begin(engine, session, version, None, {}, actor)

    def send(workflow: Any) -> None:
        workflow.do_engine_steps()  # the start event now waits for its signal
        event = BpmnEvent(_definition(workflow, name), payload=payload)
        workflow.send_event(event)
        _merge_payload(workflow, event)

    stepper.run(engine, session, step, send)
    return step.context.instance_id


def _definition(workflow: Any, name: str) -> Any:
    """The signal definition of a waiting catch of ``name`` (its class decides equality)."""
    for task in workflow.event_manager.tasks.values():
        definition = getattr(task.task_spec, "event_definition", None)
        for candidate in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(candidate, SignalEventDefinition) and candidate.name == name:
                return candidate
    return None


def _merge_payload(workflow: Any, event: Any) -> None:
    """As a message's: without a ``spiffworkflow:variableName`` on the catch, the payload's
    fields join the data of the tasks that caught it (with one, SpiffWorkflow puts the whole
    payload in that variable)."""
    if not isinstance(event.payload, dict) or not event.payload:
        return
    name = event.event_definition.name
    for task in workflow.get_tasks(state=TaskState.READY):
        definition = getattr(task.task_spec, "event_definition", None)
        parts = getattr(definition, "event_definitions", None) or [definition]
        catch = next(
            (d for d in parts if isinstance(d, SignalEventDefinition) and d.name == name), None
        )
        if catch is None or getattr(catch, "variable", None) is not None:
            continue
        seen = task.internal_data.get("seen_events", [])  # an event-based gateway's
        if task.internal_data.get(name) is event.payload or event in seen:
            task.data.update(event.payload)
