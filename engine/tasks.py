"""Human-task use cases: list (the inbox), claim, unclaim, assign, complete.

Reads use the work-item table only; only completion loads and advances the workflow.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from crm import audit
from crm.models import Role, User
from crm.usernames import normalise_username
from crm.webhooks import outbox
from dialflow.db import add_loaded, as_loaded, fetch, lock_failure
from dialflow.errors import DialflowError, Forbidden, InvalidInput
from engine import form_conditions, stepper, webhook_events
from engine.business_keys import filter_key
from engine.errors import TaskConflict, TaskNotFound
from engine.forms import (
    form_fields,
    form_values,
    read_only,
    validate_form_data,
    with_form_defaults,
    with_kept_fields,
    with_stored_cells,
)
from engine.models import (
    InstanceStatus,
    ProcessInstance,
    WorkItem,
    WorkItemCandidate,
    WorkItemStatus,
)
from engine.service import ProcessEngine
from engine.task_order import DEFAULT_ORDER, TaskOrder, order_by
from engine.work_items import OpenedItem, close_item, user_groups
from handlers.registry import HandlerContext, HandlerError

SUPERVISORS = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ADMIN, Role.PROCESS_OWNER})


def list_tasks(
    session: Session,
    viewer: User,
    *,
    mine: bool = False,
    candidate: bool = False,
    all_tasks: bool = False,
    process_id: str | None = None,
    business_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
    order: TaskOrder = DEFAULT_ORDER,
    now: datetime,
) -> tuple[list[WorkItem], int]:
    """Open work items in ``order`` at ``now`` (``engine.task_order``: by default the late
    first, then by priority, due time and age)."""
    query = select(WorkItem).where(WorkItem.status == WorkItemStatus.OPEN)
    claimable = claimable_by(viewer)
    if all_tasks:
        if viewer.role not in SUPERVISORS:
            raise Forbidden("Only managers and administrators may list all tasks.")
    elif mine and not candidate:
        query = query.where(WorkItem.assignee_id == viewer.id)
    elif candidate and not mine:
        query = query.where(claimable)
    else:
        query = query.where(mine_or_claimable(viewer))
    if process_id:
        query = query.where(WorkItem.process_id == process_id)
    if business_key:
        query = query.where(WorkItem.business_key == filter_key(business_key))
    # The total comes with the page (a window count): the matching items are found once.
    rows = session.execute(
        query.add_columns(func.count().over())
        .order_by(*order_by(order, now=now))
        .limit(max(1, min(limit, 200)))
        .offset(max(0, offset))
        .options(selectinload(WorkItem.candidates))
    ).all()
    if rows:
        return [item for item, _total in rows], rows[0][1]
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return [], total  # a page past the end: the total still says how many there are


def claimable_by(viewer: User) -> Any:
    """A WHERE clause: unassigned items one of the viewer's groups is a candidate for."""
    return WorkItem.assignee_id.is_(None) & WorkItem.id.in_(_candidate_ids(viewer))


def mine_or_claimable(viewer: User) -> Any:
    """A WHERE clause: items assigned to the viewer, or unassigned with one of the viewer's
    groups as a candidate.

    Both sets of ids come from indexes (the assignee index, the candidates' name index) and
    are united before any work item is read; ``assigned OR claimable`` written as one
    condition makes PostgreSQL read every work item.
    """
    mine_ids = select(WorkItem.id).where(
        WorkItem.assignee_id == viewer.id, WorkItem.status == WorkItemStatus.OPEN
    )
    return WorkItem.id.in_(union_all(mine_ids, _candidate_ids(viewer))) & or_(
        WorkItem.assignee_id == viewer.id, WorkItem.assignee_id.is_(None)
    )


def _candidate_ids(viewer: User) -> Select[tuple[str]]:
    return select(WorkItemCandidate.work_item_id).where(
        WorkItemCandidate.name.in_(user_groups(viewer))
    )


def get_work_item(session: Session, task_id: str, *, lock: bool = False) -> WorkItem:
    """The work item; with ``lock``, freshly read and locked until the transaction ends."""
    query = select(WorkItem).where(WorkItem.id == task_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = session.scalar(query)
    if item is None:
        raise TaskNotFound(f"No task {task_id!r}.")
    return item


def may_work_on(user: User, item: WorkItem) -> bool:
    if item.assignee_id == user.id or user.role == Role.ADMIN:
        return True
    return bool(user_groups(user) & set(item.candidate_names))


def claim(session: Session, task_id: str, *, actor: User, now: datetime) -> WorkItem:
    item = _open_item(session, task_id)
    if item.assignee_id == actor.id:
        return item
    if item.assignee_id is not None:
        raise TaskConflict("The task is already assigned to someone else.", code="task_assigned")
    if not may_work_on(actor, item):
        raise Forbidden("You are not a candidate for this task.", code="not_a_candidate")
    item.assignee_id = actor.id
    item.claimed_at = now
    item.claimed_by_id = actor.id
    audit.record(session, actor=actor, action="claim", entity_type="task", entity_id=item.id)
    return item


def unclaim(session: Session, task_id: str, *, actor: User) -> WorkItem:
    item = _open_item(session, task_id)
    if item.assignee_id is None:
        return item
    if item.assignee_id != actor.id and actor.role not in SUPERVISORS:
        raise Forbidden("Only the assignee or a manager may release this task.")
    before, item.assignee_id = item.assignee_id, None
    audit.record(  # a manager's release says whose claim it ended
        session,
        actor=actor,
        action="unclaim",
        entity_type="task",
        entity_id=item.id,
        before={"assignee_id": before},
        after={"assignee_id": None},
    )
    return item


def assign(
    session: Session, task_id: str, username: Any, *, actor: User, now: datetime
) -> WorkItem:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput(
            "Give the username to assign the task to.",
            details=[{"field": "user", "message": "required"}],
        )
    item = _open_item(session, task_id)
    if actor.role not in SUPERVISORS and item.assignee_id != actor.id:
        raise Forbidden("Only the assignee (to delegate) or a manager may assign this task.")
    name = normalise_username(username)
    target = session.scalar(select(User).where(User.username == name, User.active))
    if target is None:
        raise InvalidInput(
            f"No active user {username!r}.", details=[{"field": "user", "message": "unknown user"}]
        )
    if actor.role not in SUPERVISORS and not may_work_on(target, item):
        # an agent hands on what they hold only to someone it is offered to; managers reassign
        raise InvalidInput(
            f"The task is not offered to {username.strip()!r}: delegate it to one of its "
            "candidates, or ask a manager to reassign it.",
            code="not_a_candidate",
            details=[{"field": "user", "message": "not a candidate for this task"}],
        )
    before = item.assignee_id
    item.assignee_id = target.id
    item.claimed_at = now
    item.claimed_by_id = actor.id
    audit.record(
        session,
        actor=actor,
        action="assign",
        entity_type="task",
        entity_id=item.id,
        before={"assignee_id": before},
        after={"assignee_id": target.id},
    )
    return item


def complete(
    engine: ProcessEngine, session: Session, task_id: str, data: Any, *, actor: User
) -> ProcessInstance:
    """Validate against the form, then advance the instance; one transaction, one winner."""
    item, row, subscribed = _lock_item_and_instance(session, task_id)
    _check_can_complete(item, actor)
    # the hide conditions read the instance's values too (a read-only field's, not submitted)
    instance = {**(row.data or {}), **(item.item_values or {})}
    seen = form_conditions.context_of(item.form_schema, instance)
    data = with_stored_cells(item.form_schema, data, instance, seen)  # items sent back as they were
    validate_form_data(item.form_schema, data, seen, instance)
    shown = form_conditions.shown_schema(item.form_schema, data, seen)
    data = form_conditions.without_hidden(item.form_schema, data, seen)  # hidden: not submitted
    if row.status in (InstanceStatus.TERMINATED, InstanceStatus.COMPLETED):
        raise TaskConflict(f"The process instance is {row.status.value}.")
    step = stepper.load(engine, session, row, actor)
    task = step.workflow.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY:
        raise TaskConflict("The task is no longer waiting for input.")
    data = with_kept_fields(item.form_schema, task.data, data)  # a group's other keys stay
    data = with_form_defaults(shown, data)
    _run_completion_check(step, task, data)
    step.writes.append(
        close_item(
            item,
            WorkItemStatus.COMPLETED,
            step.context.now,
            actor.id,
            item.assignee_id or actor.id,
        )
    )

    def finish(_workflow: Any) -> None:
        task.data.update(data)
        task.run()

    entry = audit.entry_values(
        actor=actor,
        action="complete",
        entity_type="task",
        entity_id=item.id,
        after={"instance_id": row.id, "element_id": item.element_id, "fields": sorted(data)},
    )
    step.audit.append(lambda _row: entry)
    step.webhooks = subscribed
    if subscribed:
        step.writes.append(
            webhook_events.task_completed(session, item, row, actor, step.context.now)
        )
    stepper.run(engine, session, step, finish)
    return row


def _run_completion_check(step: stepper.Step, task: Any, data: dict[str, Any]) -> None:
    """A user task's ``completionCheck`` property names an operator that may refuse the
    completion before anything runs (the compliance gate in front of logging a call). It gets
    the parameters its signature names from the task's data with the submitted data over it;
    a ``DialflowError`` it raises refuses the completion as it is (its code and status), any
    other refusal is a 409 ``completion_refused``. Nothing of the step is stored then."""
    properties = (task.task_spec.extensions or {}).get("properties", {})
    operator_id = str(properties.get("completionCheck") or "").strip()
    if not operator_id:
        return
    ctx = step.context
    handler = ctx.registry.get(operator_id)
    if handler is None:
        raise TaskConflict(
            f"The task's completion check {operator_id!r} is unknown.", code="completion_refused"
        )
    merged = {**task.data, **data}
    arguments = {name: merged[name] for name in handler.parameters if name in merged}
    context = HandlerContext(
        session=ctx.session,
        actor=ctx.actor,
        instance_id=ctx.instance_id,
        business_key=ctx.business_key,
        now=ctx.now,
    )
    try:
        ctx.registry.call(operator_id, context, arguments)
    except DialflowError:
        raise
    except HandlerError as exc:
        if lock_failure(exc):  # the database's, though the check reported it: 503, not 409
            raise
        raise TaskConflict(str(exc), code="completion_refused") from exc


def _lock_item_and_instance(
    session: Session, task_id: str
) -> tuple[WorkItem, ProcessInstance, bool]:
    """One round trip: the work item with its candidates, and its instance, both locked, and
    whether any webhook subscription exists (``crm.webhooks.outbox.SUBSCRIBED``).

    The instance comes first in FROM so PostgreSQL locks it before the work item, the same
    order as every other step (instance, then its work items): no deadlock between them.
    Every completion runs it, so the driver runs it (``dialflow.db.fetch``) and the objects
    are built from its row as a query would load them; if the session already holds any of
    them (or a candidate), the ORM reads them afresh instead.
    """
    rows = fetch(session, _LOCK_ROWS, {"task_id": task_id})
    if not rows:
        raise TaskNotFound(f"No task {task_id!r}.")
    first = rows[0]
    instance = dict(zip(_INSTANCE_KEYS, first, strict=False))
    item = dict(zip(_ITEM_KEYS, first[len(_INSTANCE_KEYS) :], strict=False))
    subscribed = bool(first[-2])
    names = [row[-1] for row in rows if row[-1] is not None]
    held = session.identity_map
    if len(held) and any(  # a session that holds nothing yet (most) holds none of them
        held.get(key) is not None
        for key in (
            identity_key(ProcessInstance, instance["id"]),
            identity_key(WorkItem, item["id"]),
            *(identity_key(WorkItemCandidate, (item["id"], name)) for name in names),
        )
    ):
        found = session.execute(_LOCK_ITEM_AND_INSTANCE, {"task_id": task_id}).unique().first()
        if found is None:
            raise TaskNotFound(f"No task {task_id!r}.")
        return found[1], found[0], subscribed
    work_item = as_loaded(WorkItem, item)
    candidates = [
        as_loaded(WorkItemCandidate, {"work_item_id": item["id"], "name": n}) for n in names
    ]
    set_committed_value(work_item, "candidates", candidates)
    row = as_loaded(ProcessInstance, instance)
    add_loaded(session, row)
    add_loaded(session, work_item, candidates)
    return work_item, row, subscribed


_INSTANCES, _ITEMS = ProcessInstance.__table__, WorkItem.__table__
_CANDIDATES = WorkItemCandidate.__table__
_INSTANCE_KEYS = [ProcessInstance.__mapper__.get_property_by_column(c).key for c in _INSTANCES.c]
_ITEM_KEYS = [WorkItem.__mapper__.get_property_by_column(c).key for c in _ITEMS.c]
# Built once: constructing the statement costs more than running it.
_LOCK_ROWS = (
    select(*_INSTANCES.c, *_ITEMS.c, outbox.SUBSCRIBED, _CANDIDATES.c.name)
    .select_from(
        _INSTANCES.join(_ITEMS, _ITEMS.c.instance_id == _INSTANCES.c.id).outerjoin(
            _CANDIDATES, _CANDIDATES.c.work_item_id == _ITEMS.c.id
        )
    )
    .where(_ITEMS.c.id == bindparam("task_id"))
    .with_for_update(of=[_INSTANCES, _ITEMS])
)
_LOCK_ITEM_AND_INSTANCE = (
    select(ProcessInstance, WorkItem)
    .join(WorkItem, WorkItem.instance_id == ProcessInstance.id)
    .where(WorkItem.id == bindparam("task_id"))
    .options(joinedload(WorkItem.candidates))
    .with_for_update(of=[ProcessInstance.__table__, WorkItem.__table__])
    .execution_options(populate_existing=True)
)


def open_tasks(session: Session, instance_id: int, data: Any = None) -> list[dict[str, Any]]:
    """The instance's open work items as the API shows them (``ready_tasks``), oldest first,
    their ``values`` read from the instance's ``data`` (one more read, of the fields its
    completed tasks asked for, when an open item has a form).

    Every start and completion answers with them: one read, run by the driver
    (``dialflow.db.fetch``), with the candidates joined, and no ORM objects built.
    """
    items: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for row in fetch(session, _OPEN_ITEMS, {"instance_id": instance_id}):
        values = dict(zip(_ITEM_KEYS, row, strict=False))
        _values, names = items.setdefault(values["id"], (values, []))
        if row[-1] is not None:
            names.append(row[-1])
    opened = [
        SimpleNamespace(**values, candidate_names=sorted(names)) for values, names in items.values()
    ]
    sources: FormSources = {}
    if any(form_fields(item.form_schema) for item in opened):
        sources[instance_id] = (
            data,
            frozenset(_answered(session, {instance_id}).get(instance_id, ())),
        )
    return [work_item_to_dict(item, sources) for item in opened]


_OPEN_ITEMS = (
    select(*_ITEMS.c, _CANDIDATES.c.name)
    .select_from(_ITEMS.outerjoin(_CANDIDATES, _CANDIDATES.c.work_item_id == _ITEMS.c.id))
    .where(
        _ITEMS.c.instance_id == bindparam("instance_id"),
        _ITEMS.c.status == WorkItemStatus.OPEN,
    )
    .order_by(_ITEMS.c.created_at, _ITEMS.c.seq, _ITEMS.c.id)
)


def opened_to_dict(item: OpenedItem, data: Any = None) -> dict[str, Any]:
    """A work item just inserted (``Step.opened``, by a start: no task of the instance was
    completed before) as :func:`open_tasks` would read it back: times in UTC, the stored
    JSON's own copy of the form, ``values`` from the instance's ``data``."""
    values, names = item
    due_at, follow_up_at = values["due_at"], values["follow_up_at"]
    return work_item_to_dict(
        SimpleNamespace(
            **{
                **values,
                "created_at": values["created_at"].astimezone(UTC),
                "due_at": due_at.astimezone(UTC) if due_at is not None else None,
                "follow_up_at": follow_up_at.astimezone(UTC) if follow_up_at else None,
                "form_schema": copy.deepcopy(values["form_schema"]),
            },
            candidate_names=names,
        ),
        {values["instance_id"]: (data, frozenset())},
    )


FormSources = dict[int, tuple[Any, frozenset[str]]]


def form_sources(session: Session, items: list[Any]) -> FormSources:
    """What the items' forms offer (:func:`work_item_to_dict`'s ``values``), by instance id:
    the instance's data and the fields its completed tasks asked for (a person's answers,
    ``engine.forms.form_values``). Two reads for any number of items; none for items
    without form fields."""
    ids = {item.instance_id for item in items if form_fields(item.form_schema)}
    if not ids:
        return {}
    data = dict(
        session.execute(
            select(ProcessInstance.id, ProcessInstance.data).where(ProcessInstance.id.in_(ids))
        ).all()
    )
    answered = _answered(session, ids)
    return {i: (data.get(i), frozenset(answered.get(i, ()))) for i in ids}


def _answered(session: Session, ids: set[int]) -> dict[int, set[str]]:
    answered: dict[int, set[str]] = {}
    rows = session.execute(
        select(WorkItem.instance_id, WorkItem.form_schema).where(
            WorkItem.instance_id.in_(ids), WorkItem.status == WorkItemStatus.COMPLETED
        )
    )
    for instance_id, schema in rows:
        # a read-only field was shown, not answered: completing its task does not take it
        shown = read_only(schema) if isinstance(schema, dict) else []
        answered.setdefault(instance_id, set()).update(set(form_fields(schema)) - set(shown))
    return answered


def work_item_to_dict(
    item: WorkItem | SimpleNamespace,
    sources: FormSources | None = None,
    *,
    with_values: bool = True,
) -> dict[str, Any]:
    """The API's view of a task; ``values`` are the instance's values of its form's fields
    that the fields start with (``engine.forms.form_values``; ``sources`` from
    :func:`form_sources`). A list of tasks leaves them out unless asked (``with_values``):
    the inbox reads the work items alone."""
    task = {
        "id": item.id,
        "name": item.element_id,
        "title": item.title,
        "lane": item.lane,
        "process_instance_id": item.instance_id,
        "process_id": item.process_id,
        "business_key": item.business_key,
        "assignee": item.assignee_id,
        "candidates": item.candidate_names,
        "due_at": item.due_at.isoformat() if item.due_at else None,
        "follow_up_at": item.follow_up_at.isoformat() if item.follow_up_at else None,
        "priority": item.priority,
        "kind": item.kind,
        "form_schema": item.form_schema,
        "instructions": item.instructions,
        "status": item.status.value,
        "created_at": item.created_at.isoformat(),
    }
    if with_values:
        data, answered = (sources or {}).get(item.instance_id, (None, frozenset()))
        task["values"] = form_values(
            item.form_schema, data, answered, getattr(item, "item_values", None)
        )
    return task


def _open_item(session: Session, task_id: str) -> WorkItem:
    # Locked: two people claiming at once must not both be told the task is theirs.
    item = get_work_item(session, task_id, lock=True)
    if item.status != WorkItemStatus.OPEN:
        raise TaskConflict(f"The task is {item.status.value}.", code="task_closed")
    return item


def _check_can_complete(item: WorkItem, actor: User) -> None:
    if item.status != WorkItemStatus.OPEN:
        raise TaskConflict(f"The task is already {item.status.value}.", code="task_closed")
    if item.assignee_id is not None and item.assignee_id != actor.id and actor.role != Role.ADMIN:
        raise TaskConflict("The task is assigned to someone else.", code="task_assigned")
    if not may_work_on(actor, item):
        raise Forbidden("You are not a candidate for this task.", code="not_a_candidate")
