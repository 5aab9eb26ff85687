"""Delivering messages to waiting instances, correlated by business key or properties.

Candidates come from ``event_waits`` (indexed by kind, name, and business key or the
correlation value a wait expects, ``engine.wait_keys``: a message carrying a value loads the
instances waiting for it and those whose value is not known, not every instance waiting for
its name); each is locked and
offered the message in id order, so two messages to one instance apply one after the other.
A ``message_id`` seen before returns the first delivery's result without applying it again.
Unmatched messages are recorded, never dropped silently. Each instance that takes a message
moves one of its waiting catches (``engine.one_catch``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import String, and_, cast, func, not_, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from crm.models import User
from dialflow.db import Database, lock_failure, log_failure, retryable_failure, statement_cancelled
from dialflow.errors import InvalidInput
from engine import message_buffer, one_catch, stepper
from engine.business_keys import normal_key
from engine.event_subprocesses import EventSubprocessStart, scope_data
from engine.feel_builtins import stored_json
from engine.models import (
    EventWait,
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    ReceivedMessage,
)
from engine.service import ProcessEngine
from engine.wait_keys import carried
from engine.zeebe_messages import KEY_FIELD, SubscribedMessage, as_text, carried_key

log = logging.getLogger(__name__)
MAX_CANDIDATES = 1000
_RECEIVING = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)


@dataclass(frozen=True)
class Delivery:
    record_id: int
    delivered_to: list[int]
    duplicate: bool = False
    # Instances that wait for the message but whose correlation properties it does not
    # carry: ``{"instance_id", "message"}`` each (others took it).
    refused: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # Taken by none, kept until then for an instance to come (``time_to_live``).
    buffered_until: datetime | None = None


class DuplicateMessage(Exception):
    """Another request is storing the same ``message_id`` right now."""


# The lengths of ``received_messages.business_key`` and ``message_id`` (the instances' business
# keys are as long as this one).
MAX_LENGTHS = {"business_key": 120, "message_id": 200}


def parse_message(body: dict[str, Any], *, ttl_max: int = 0) -> dict[str, Any]:
    """The message a request sends, checked; ``time_to_live`` (``message_buffer.parse_ttl``)
    at most ``ttl_max`` seconds."""
    name = body.get("name")
    problems = []
    ttl, wrong = message_buffer.parse_ttl(body.get(message_buffer.FIELD), ttl_max)
    if wrong is not None:
        problems.append({"field": message_buffer.FIELD, "message": wrong})
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append({"field": "name", "message": "a message name is required"})
    business_key = body.get("business_key")
    if isinstance(business_key, str | int) and not isinstance(business_key, bool):
        business_key = normal_key(business_key)  # the same visible key: engine.business_keys
    for field, kinds in (
        ("business_key", (str, int)),
        ("message_id", (str,)),
        ("correlation", (dict,)),
        ("payload", (dict,)),
    ):
        value = business_key if field == "business_key" else body.get(field)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            problems.append({"field": field, "message": f"invalid {field}"})
        elif field in MAX_LENGTHS and value is not None and len(str(value)) > MAX_LENGTHS[field]:
            # the columns of received_messages (PostgreSQL refuses a longer value: a 500)
            problems.append({"field": field, "message": f"at most {MAX_LENGTHS[field]} characters"})
    if problems:
        only_ttl = all(p["field"] == message_buffer.FIELD for p in problems)
        code = "invalid_time_to_live" if only_ttl else None
        raise InvalidInput("The message is not valid.", code=code, details=problems)
    return {
        "name": name.strip(),
        "business_key": business_key,
        "message_id": body.get("message_id"),
        "correlation": body.get("correlation") or {},
        "payload": body.get("payload") or {},
        "time_to_live": ttl,
    }


def deliver(
    engine: ProcessEngine, session: Session, message: dict[str, Any], *, actor: User | None
) -> Delivery:
    if message["message_id"]:
        seen = _seen(session, message["message_id"], engine.clock.now())
        if seen is not None:
            return seen
    record = ReceivedMessage(
        message_id=message["message_id"],
        name=message["name"],
        business_key=message["business_key"],
        correlation=message["correlation"] or None,
        payload=message["payload"],
        delivered_to=[],
        status="unmatched",
        received_at=engine.clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        raise DuplicateMessage(message["message_id"]) from None
    offered: set[int] = set()
    delivered, refusals = _offer_all(engine, session, message, actor, offered)
    ttl = message.get("time_to_live")
    if not delivered and not refusals and ttl is not None:
        # Kept for an instance to come, unless one began to wait meanwhile (PostgreSQL: seen
        # now that the name's lock is held, ``message_buffer``).
        message_buffer.hold_name(session, message["name"])
        delivered, refusals = _offer_all(engine, session, message, actor, offered, starts=False)
        if not delivered and not refusals:
            message_buffer.keep(record, message, engine.clock.now() + ttl)
    if refusals and not delivered:
        raise refusals[0][1]  # the sender learns what the message lacks; nothing is stored
    _record_outcome(record, delivered, refusals, status="delivered" if delivered else "unmatched")
    return Delivery(
        record.id,
        delivered,
        refused=list(record.refused or []),
        buffered_until=record.buffered_until,
    )


def _offer_all(
    engine: ProcessEngine,
    session: Session,
    message: dict[str, Any],
    actor: User | None,
    offered: set[int] | None = None,
    *,
    starts: bool = True,
) -> tuple[list[int], list[tuple[int, InvalidInput]]]:
    """Offer the message to every waiting instance (but those in ``offered``, which it then
    holds too) and start the processes it starts: the instances that took it, and those that
    refused it (their correlation properties could not be read from it), each refusal raised
    before that instance's step wrote anything."""
    offered = set() if offered is None else offered
    delivered: list[int] = []
    refusals: list[tuple[int, InvalidInput]] = []
    for instance_id in _candidates(session, message):
        if instance_id in offered:
            continue
        offered.add(instance_id)
        try:
            if offer(engine, session, instance_id, message, actor):
                delivered.append(instance_id)
        except InvalidInput as exc:
            refusals.append((instance_id, exc))
    for version in _started_by(session, message["name"]) if starts else []:
        delivered.append(_start(engine, session, version, message, actor))
    return delivered, refusals


def _record_outcome(
    record: ReceivedMessage,
    delivered: list[int],
    refusals: list[tuple[int, InvalidInput]],
    *,
    status: str,
) -> None:
    record.delivered_to = delivered
    record.status = status
    record.refused = [{"instance_id": i, "message": exc.message} for i, exc in refusals] or None
    text = "; ".join(f"instance {i}: {exc.message}" for i, exc in refusals)
    record.error = text[:4000] or None


def previous_delivery(session: Session, message_id: str, now: datetime) -> Delivery | None:
    return _seen(session, message_id, now)


def _seen(session: Session, message_id: str, now: datetime) -> Delivery | None:
    """The first delivery of ``message_id``: a repeat answers as it did, naming the instances
    it did not reach (the sender learns to send them a new message, not the same again).
    While the first is kept for an instance to come (its time to live), the repeat is
    refused: ``message_buffer.DuplicateBufferedMessage``."""
    record = session.scalar(select(ReceivedMessage).where(ReceivedMessage.message_id == message_id))
    if record is None:
        return None
    refusal = message_buffer.duplicate_of(record, now)
    if refusal is not None:
        raise refusal
    refused = list(record.refused or [])
    return Delivery(record.id, list(record.delivered_to or []), duplicate=True, refused=refused)


def _candidates(session: Session, message: dict[str, Any]) -> list[int]:
    """The ids of the instances to offer the message, at most ``MAX_CANDIDATES``, in id order.

    A message carrying correlation values (``wait_keys.carried``) goes first to the instances
    whose wait expects one of them, then to those whose wait expects no value or a value of a
    property the message does not name; those expecting another value of a property it names
    would not take it. The limit never cuts the first for the second. Without values, every
    wait of the name, as before. Each part is one seek in the index ``(kind, name,
    correlation_property, correlation_key)``, so a message costs what it matches, not what
    waits for its name; none is ordered, which would make SQLite walk every wait of the name
    in instance id order instead. The waits expecting no value are read by the variables the
    message names (``_by_variables``): those parts read each such wait's instance's data.
    """
    query = select(EventWait.instance_id).where(
        EventWait.kind == "message", EventWait.name == message["name"]
    )
    if message["business_key"] is not None:
        query = query.where(EventWait.business_key == message["business_key"])
    values = carried(message)
    if not values:
        parts = [query]
    else:
        prop_ = EventWait.correlation_property
        expecting = or_(
            *(and_(prop_ == prop, EventWait.correlation_key == key) for prop, key in values.items())
        )
        if len(values) == 1:  # the others: below or above it
            (named,) = values
            others = [query.where(prop_ < named), query.where(prop_ > named)]
        else:
            others = [query.where(prop_.is_not(None), prop_.not_in(list(values)))]
        unkeyed = query.where(prop_.is_(None))
        parts = [query.where(expecting), *_by_variables(unkeyed, message), *others]
    found: set[int] = set()
    for part in parts:
        if len(found) >= MAX_CANDIDATES:
            break
        if isinstance(part, _UnlessFound):
            if found:
                continue
            part = part.query
        found.update(session.scalars(part.limit(MAX_CANDIDATES - len(found))))
    return sorted(found)


@dataclass(frozen=True)
class _UnlessFound:
    """A part of ``_candidates`` read only when the parts before it found no instance."""

    query: Any


def _by_variables(unkeyed: Any, message: dict[str, Any]) -> list[Any]:
    """The waits without a correlation value (``unkeyed``) in the order they may take a
    message whose ``correlation`` names variables (``_held_otherwise``), read from each
    instance's latest data (``process_instances.data``): those holding the values named and
    none other first, then those holding none of them, then (``_UnlessFound``: only when nothing
    else was found) those holding another value, which would pass the message over after
    being read. Such a message was offered to every instance waiting for its name, at most
    ``MAX_CANDIDATES`` of them: among 10,000 waiting contracts, the one it named was not
    reached when it was not among the first 1,000 (404), and each message read 1,000."""
    named = {name: as_text(value) for name, value in message["correlation"].items()}
    texts = {name: text for name, text in named.items() if text is not None}
    if not texts:
        return [unkeyed]
    data = ProcessInstance.data
    held = {name: data[name].as_string() for name in texts}
    differs = or_(
        *(and_(held[n].is_not(None), cast(held[n], String) != text) for n, text in texts.items())
    )
    joined = unkeyed.join(ProcessInstance, ProcessInstance.id == EventWait.instance_id)
    return [
        joined.where(not_(differs), or_(*(held[n].is_not(None) for n in texts))),
        joined.where(*(held[n].is_(None) for n in texts)),
        _UnlessFound(joined.where(differs)),
    ]


def offer(
    engine: ProcessEngine,
    session: Session,
    instance_id: int,
    message: dict[str, Any],
    actor: User | None,
) -> bool:
    """Offer the message to one instance, locked, in a step of its own: True when a waiting
    catch took it; ``InvalidInput`` when the instance waits for it but cannot take it (the
    correlation properties it lacks), before the step wrote anything."""
    row = stepper.lock_instance(session, instance_id)
    # An instance in error still waits in its other branches: the message is taken there
    # (not lost as unmatched) and the instance stays in error until its incident is retried.
    if row.status not in _RECEIVING:
        return False
    step = stepper.load(engine, session, row, actor)
    waiting = [t for t in stepper.waiting_events(step.workflow) if t.name == message["name"]]
    definition = _definition(step.workflow, message["name"])
    if not waiting or definition is None:
        return False
    payload = dict(message["payload"])
    # SpiffWorkflow reads the correlation properties from the payload of the message it
    # catches; the values named in ``correlation`` are part of the message too.
    carried = by_retrieval(definition, {**message["correlation"], **payload}, message)
    if isinstance(definition, SubscribedMessage) and carried_key(carried) is None:
        raise InvalidInput(
            f"Message {message['name']!r} is awaited by a subscription matched by its "
            f"correlation key: send the key as 'correlation': {{{KEY_FIELD!r}: \"…\"}} "
            "(text or a number).",
            details=[{"field": "correlation", "message": f"{KEY_FIELD} is required"}],
        )
    correlations = _as_own(
        step.workflow, _correlations(step.workflow, definition, carried, message)
    )
    if _keyed_otherwise(step.workflow, definition, correlations, message["name"]):
        return False
    ruled_out = _held_otherwise(step.workflow, definition, message)
    if ruled_out is None:
        return False
    event = BpmnEvent(definition, payload=carried, correlations=correlations)
    matched = False

    def send(workflow: Any) -> None:
        nonlocal matched
        try:
            workflow.send_event(event)
        except WorkflowException:
            return  # waits for this name, but correlation says another instance
        matched = True
        # Without a spiffworkflow:messageVariable, the payload's fields join the task data.
        if getattr(definition, "message_var", None) is None:
            for task in workflow.get_tasks(state=TaskState.READY):
                seen = task.internal_data.get("seen_events", [])  # an event-based gateway's
                if task.internal_data.get(message["name"]) is carried or event in seen:
                    task.data.update(payload)

    step.refuses = True  # a step that would grow past the limit leaves the instance as it was
    with one_catch.ruling_out(message["name"], ruled_out):
        stepper.run(engine, session, step, send)
    if step.kept_out is not None:  # it took the message and grew past the limit: refused
        raise step.kept_out
    return matched


def _started_by(session: Session, name: str) -> list[ProcessVersion]:
    """The latest version of each process that a message of this name starts."""
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    versions = session.scalars(
        select(ProcessVersion)
        .join(
            latest,
            and_(
                ProcessVersion.process_id == latest.c.process_id,
                ProcessVersion.version == latest.c.version,
            ),
        )
        .order_by(ProcessVersion.process_id)
    )
    return [v for v in versions if name in (v.start_messages or [])]


def _start(
    engine: ProcessEngine,
    session: Session,
    version: ProcessVersion,
    message: dict[str, Any],
    actor: User | None,
) -> int:
    """A new instance whose message start event catches this message."""
    step = stepper.begin(engine, session, version, message["business_key"], {}, actor)
    payload = {**message["correlation"], **message["payload"]}

    def send(workflow: Any) -> None:
        workflow.do_engine_steps()  # the start event now waits for its message
        definition = _definition(workflow, message["name"])
        workflow.send_event(BpmnEvent(definition, payload=payload))
        if getattr(definition, "message_var", None) is None:
            for task in workflow.get_tasks(state=TaskState.READY):
                if task.internal_data.get(message["name"]) is payload:
                    task.data.update(payload)

    stepper.run(engine, session, step, send)
    return step.context.instance_id


def _definition(workflow: Any, name: str) -> Any:
    """The message definition of a waiting catch event (its class decides equality)."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        for candidate in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(candidate, MessageEventDefinition) and candidate.name == name:
                return candidate
    return None


def _keyed_otherwise(
    workflow: Any, definition: Any, correlations: dict[str, dict[str, Any]], name: str
) -> bool:
    """Whether the instance's own data gives a correlation property of the message another
    value, so the message is not for it.

    Standard BPMN (as Enterprise Architect, Signavio or Trisotech write it) defines a
    correlation property by its retrieval expression on the message alone; SpiffWorkflow 3.2
    lets the first message of a conversation key it, so a message for booking B-2 went to
    every waiting instance, B-1's too, and keyed it B-2. The same expression read on the
    waiting task's data is the instance's own value when it has one (not ``None``); an
    instance without one takes the message and is keyed by it, as BPMN says. Once keyed (or
    with ``spiffworkflow:processVariableCorrelation``), SpiffWorkflow compares itself.
    """
    properties = getattr(definition, "correlation_properties", None) or []
    if not properties or not correlations:
        return False
    for task in workflow.event_manager.tasks.values():
        if task.workflow.correlations or not _waits_for(task, name):
            continue
        for prop in properties:
            try:
                own = workflow.script_engine.environment.evaluate(
                    prop.retrieval_expression, dict(task.data)
                )
            except Exception:  # the instance does not know it (yet): the message keys it
                continue
            given = [correlations.get(key, {}).get(prop.name) for key in prop.correlation_keys]
            if own is not None and any(not _same(value, own) for value in given):
                return True
    return False


def _held_otherwise(
    workflow: Any, definition: Any, message: dict[str, Any]
) -> frozenset[Any] | None:
    """The ids of the instance's catches of the message that hold another value of a variable
    its ``correlation`` names, which the message passes over; None when every catch of it
    does, so the message is not for the instance.

    Camunda 7 and Activiti diagrams declare no correlation property: their engines correlate a
    message by the business key or by the instance's variables, given with the message
    (``processInstanceVariableEquals``, the REST API's ``correlationKeys``). A message for
    contract C-2 sent as ``"correlation": {"contract_no": "C-2"}`` went to every instance
    waiting for its name, C-1's too, which opened a deal for the wrong customer. Each catch is
    judged by the data its path runs with (``_variables``): the items of a multi-instance
    receive task each wait for their own contract's message. A variable the catch does not
    hold (or holds as null) says nothing: the message is taken, as before. A Camunda 8
    subscription compares its own key (``zeebe_messages``).
    """
    given = message["correlation"]
    if (
        not given
        or getattr(definition, "correlation_properties", None)
        or isinstance(definition, SubscribedMessage)
    ):
        return frozenset()
    waiting = [t for t in workflow.event_manager.tasks.values() if _waits_for(t, message["name"])]
    ruled_out = frozenset(
        task.id
        for task in waiting
        if any(
            (own := _variables(task).get(name)) is not None and not _same(value, own)
            for name, value in given.items()
        )
    )
    return None if waiting and len(ruled_out) == len(waiting) else ruled_out


def _variables(task: Any) -> dict[str, Any]:
    """The data a waiting catch's path runs with once it takes a message: an event
    subprocess's start reads its scope's data as it is then (``scope_data``; its own is the
    scope's when it began to wait, so a contract renumbered since was compared as it was)."""
    if isinstance(task.task_spec, EventSubprocessStart):
        return scope_data(task)
    return task.data


def _as_own(workflow: Any, correlations: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The message's correlation values, each written as the instance's own value it names
    (``"7"`` from a JSON client names ``7``, as a business key's digits and a Camunda 8 key
    do): SpiffWorkflow compares a keyed conversation's values as they are, so an instance
    keyed by its ``order_ref`` 7 never took a message for ``"7"``."""
    keyed = [task.workflow.correlations for task in workflow.event_manager.tasks.values()]
    keyed.append(workflow.correlations)
    aligned: dict[str, dict[str, Any]] = {}
    for key, values in correlations.items():
        aligned[key] = dict(values)
        for name, value in values.items():
            owns = [own.get(key, {}).get(name) for own in keyed if own]
            for own in owns:
                if own is not None and value is not None and own != value and _same(value, own):
                    aligned[key][name] = own
                    break
    return aligned


def _same(value: Any, own: Any) -> bool:
    """A message's value names the instance's own (``None``: it names none); ``"5"`` from a
    JSON client names ``5`` and ``5.0`` (as ``wait_keys`` stores a key); an ISO 8601 text
    names the date or date-time a script set (JSON has no dates)."""
    if value is None or value == own:
        return True
    if isinstance(own, date) and isinstance(value, str):
        try:
            read = (datetime if isinstance(own, datetime) else date).fromisoformat(value)
        except ValueError:
            return False
        return read == own
    text = as_text(value)
    return text is not None and text == as_text(own)


def _waits_for(task: Any, name: str) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return any(
        isinstance(candidate, MessageEventDefinition) and candidate.name == name
        for candidate in getattr(definition, "event_definitions", None) or [definition]
    )


def by_retrieval(
    definition: Any, carried: dict[str, Any], message: dict[str, Any]
) -> dict[str, Any]:
    """``carried`` with each correlation property the message's ``correlation`` names by the
    property's own name also under the field its retrieval expression reads, when that is one
    name the message lacks: spiff-arena names a property (``request_ref``) apart from the
    payload field it reads (``<messagePath>ref</messagePath>``), and a message giving
    ``{"correlation": {"request_ref": "CB-7"}}`` was matched to its instance by that value, then
    refused there because ``ref`` was not defined."""
    given = message["correlation"]
    for prop in getattr(definition, "correlation_properties", None) or []:
        path = (prop.retrieval_expression or "").strip()
        if prop.name in given and path.isidentifier() and path not in carried:
            carried = {**carried, path: given[prop.name]}
    return carried


def _correlations(
    workflow: Any, definition: Any, carried: dict[str, Any], message: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The message's correlation keys, read by the catch event's correlation properties from
    the message (``correlation`` values, then the payload), as SpiffWorkflow reads them again
    when it catches the message.

    A message they cannot be read from, or that reads other values than its ``correlation``
    names, is refused: catching it would stop the instance with an incident (the retrieval
    expression's NameError) or re-key the instance's conversation.
    """
    properties = getattr(definition, "correlation_properties", None) or []
    if not properties:
        return {}
    try:
        found = definition.calculate_correlations(workflow.script_engine, properties, carried)
    except Exception as exc:
        names = ", ".join(sorted({p.name for p in properties}))
        raise InvalidInput(
            f"Message {message['name']!r} must carry its correlation properties ({names}) "
            f"in 'correlation' or 'payload': {exc}.",
            details=[{"field": "correlation", "message": str(exc)}],
        ) from None
    given = message["correlation"]
    for values in found.values():
        for name, value in values.items():
            if name in given and given[name] != value:
                raise InvalidInput(
                    f"The payload gives {name!r} = {value!r}, the correlation {given[name]!r}.",
                    details=[{"field": "payload", "message": f"contradicts correlation {name!r}"}],
                )
    return found


def deliver_queued(engine: ProcessEngine, database: Database, limit: int = 100) -> int:
    """Deliver messages thrown by instances, one transaction each; returns how many.

    A message that cannot be delivered to a waiting instance (its correlation properties
    cannot be read from it) is not delivered there; one that fails otherwise is marked
    ``failed`` with the error, its transaction rolled back. Either way the queue goes on: a
    message nobody can correct never holds up the ones behind it. Errors of the database
    itself leave the message queued for the next pass; one that waited too long for a lock
    or a statement (its instance held by a long transaction) is passed by until then, with
    the messages of its keys (for the same instance: not waited for again), the queue going
    on behind them (it stopped the pass, pass after pass).
    """
    handled = 0
    passed_by: list[int] = []
    held: set[tuple[str | None, str]] = set()  # the keys of the messages passed by
    for _ in range(limit):
        record_id = None
        try:
            with database.unit_of_work() as session:
                queued = select(ReceivedMessage).where(ReceivedMessage.status == "queued")
                if passed_by:
                    queued = queued.where(ReceivedMessage.id.not_in(passed_by))
                record = session.scalar(
                    queued.order_by(ReceivedMessage.id).limit(1).with_for_update(skip_locked=True)
                )
                if record is None:
                    return handled
                record_id = record.id
                keys = (record.business_key, json.dumps(record.correlation, sort_keys=True))
                if keys in held:
                    passed_by.append(record_id)
                    continue
                _deliver_record(engine, session, record)
        except Exception as exc:
            if record_id is not None and (lock_failure(exc) or statement_cancelled(exc)):
                log_failure(log, f"queued message {record_id} kept for the next pass", exc)
                passed_by.append(record_id)
                held.add(keys)
                continue
            if isinstance(exc, DBAPIError):
                raise
            # a lock failure that reached here as a task's failure (a handler reporting it
            # as its own) is the database's too: the message stays queued for the next pass
            if record_id is None or retryable_failure(exc):
                raise
            log.exception("queued message %s failed; marked failed", record_id)
            _mark_failed(database, record_id, f"{type(exc).__name__}: {exc}")
        handled += 1
    return handled


def _deliver_record(engine: ProcessEngine, session: Session, record: ReceivedMessage) -> None:
    message = {
        "name": record.name,
        "business_key": record.business_key,
        "message_id": None,
        "correlation": record.correlation or {},
        "payload": record.payload or {},
        "time_to_live": None,
    }
    delivered, refusals = _offer_all(engine, session, message, None)
    status = "delivered" if delivered else "failed" if refusals else "unmatched"
    _record_outcome(record, delivered, refusals, status=status)


def _mark_failed(database: Database, record_id: int, error: str) -> None:
    with database.unit_of_work() as session:
        session.execute(
            update(ReceivedMessage)
            .where(ReceivedMessage.id == record_id, ReceivedMessage.status == "queued")
            .values(status="failed", error=error[:4000])
        )


def queue_message(
    session: Session,
    *,
    name: str,
    business_key: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> ReceivedMessage:
    """Queue a message in the caller's transaction; the scheduler's next pass delivers it to
    waiting instances or message start events, like a message an instance throws."""
    record = ReceivedMessage(
        name=name,
        status="queued",
        business_key=None if business_key is None else normal_key(business_key),
        payload=stored_json(payload),
        delivered_to=[],
        received_at=now,
    )
    session.add(record)
    return record
