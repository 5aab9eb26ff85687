"""Materialize READY human tasks as work items after every step, and who may take them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from crm.models import Role, Team, User
from crm.usernames import normalise_username
from dialflow.db import fetch, mark_saved
from engine.assignment_attributes import ASSIGNMENT, who_works, with_values
from engine.assignment_attributes import read as read_assignment
from engine.bpmn_xml import BPMN_NS, element_problem, executable_processes, readable_trees
from engine.camunda_forms import CAMUNDA_FORM_BINDING, CAMUNDA_FORM_ID, CAMUNDA_FORM_TAG
from engine.diagram_forms import form_of
from engine.feel_builtins import stored_json
from engine.form_tags import forms_when_opened as forms_tagged
from engine.forms import form_fields, item_values
from engine.instructions import instructions_of
from engine.io_mappings import own_values
from engine.latest_forms import LATEST, forms_when_opened
from engine.models import ProcessInstance, WorkItem, WorkItemCandidate, WorkItemStatus
from engine.specs import LoadedBundle
from engine.subprocess_lanes import own_lanes
from engine.task_ids import id_text
from engine.timekeeping import in_installation_zone

log = logging.getLogger(__name__)
ROLE_NAMES = {role.value for role in Role}
# The work item's integer column holds priorities in this range on every database.
PRIORITY_RANGE = (-(2**31), 2**31 - 1)
# Due times every time zone can show (a "9999-12-31T23:59:59Z" meaning "never" broke every inbox
# listing it: Shanghai's time of it is past the calendar's end).
DUE_RANGE = (
    datetime.min.replace(tzinfo=UTC) + timedelta(days=1),
    datetime.max.replace(tzinfo=UTC) - timedelta(days=1),
)
CANDIDATE_LIMIT = 160  # the candidates' name column; no user or team name is that long
_UNCLAIMED = {
    "claimed_at": None,
    "claimed_by_id": None,
    "completed_at": None,
    "completed_by_id": None,
}
Write = tuple[Any, Any]  # a statement and its parameters (None, a dict or a list of dicts)
# A work item as its INSERT stores it: its column values and its candidates' names.
OpenedItem = tuple[dict[str, Any], list[str]]
_INSERT_ITEMS = insert(WorkItem.__table__).inline()
_INSERT_CANDIDATES = insert(WorkItemCandidate.__table__).inline()
_USERS = User.__table__
# run by the driver itself (``dialflow.db.fetch``): in a step's pipeline on PostgreSQL
_ACTIVE_USER = select(_USERS.c.id).where(_USERS.c.username == bindparam("name"), _USERS.c.active)
_CLOSE = (
    update(WorkItem.__table__)
    .where(WorkItem.__table__.c.id == bindparam("_id"))
    .values(
        status=bindparam("status"),
        completed_at=bindparam("completed_at"),
        completed_by_id=bindparam("completed_by_id"),
        assignee_id=bindparam("assignee_id"),
    )
)


def user_groups(user: User) -> set[str]:
    """The candidate names a user answers to: themselves, their role and their team."""
    groups = {f"user:{user.username}", f"group:{user.role.value}"}
    if user.team is not None:
        groups.add(f"group:{user.team.name}")
    return groups


def lane_group(lane: str) -> str:
    name = lane.strip()
    return f"group:{name.lower()}" if name.lower() in ROLE_NAMES else f"group:{name}"


def offered_to_nobody(session: Session) -> ColumnElement[bool]:
    """Open, unassigned work items no one may claim: none of their candidates is an active
    user, a role or an existing team (a lane nobody matches, see :func:`unmatched_lanes`, or
    ``lane_owners`` naming only people who do not exist or have left). The team board lists
    them to every manager, who can give them to an agent."""
    candidates = WorkItemCandidate.__table__.c
    claimable = exists().where(
        candidates.work_item_id == WorkItem.id, _claimable(session, candidates.name)
    )
    return and_(WorkItem.status == WorkItemStatus.OPEN, WorkItem.assignee_id.is_(None), ~claimable)


def offered_to_group_or_nobody(session: Session, group: str) -> ColumnElement[bool]:
    """Open, unassigned work items offered to ``group`` (``group:<team>``) or to no one who
    may claim them (:func:`offered_to_nobody`), told by one seek of each such item's
    candidates by its id: the team board's unassigned tasks. (The group's items read by the
    candidates' name were every item ever offered to it, done ones too.)"""
    candidates = WorkItemCandidate.__table__.c
    # 2: offered to the group; 1: to someone else who may claim it; 0 or none: to no one
    offered = (
        select(
            func.max(
                case(
                    (candidates.name == group, 2),
                    (_claimable(session, candidates.name), 1),
                    else_=0,
                )
            )
        )
        .where(candidates.work_item_id == WorkItem.id)
        .scalar_subquery()
    )
    return and_(
        WorkItem.status == WorkItemStatus.OPEN,
        WorkItem.assignee_id.is_(None),
        func.coalesce(offered, 0) != 1,
    )


def _claimable(session: Session, name: Any) -> ColumnElement[bool]:
    """Whether a candidate's ``name`` is one who may claim: an active user, a role or an
    existing team."""
    known = [f"group:{role}" for role in sorted(ROLE_NAMES)]
    known += [f"group:{name}" for name in session.scalars(select(Team.name))]
    people = select(literal("user:") + User.username).where(User.active)
    return or_(name.in_(people), name.in_(known))


# Elements whose lane decides who works on them: user and manual tasks, and subprocesses,
# whose tasks take the subprocess's lane.
_HUMAN = ("userTask", "manualTask")
_SCOPES = ("subProcess", "transaction", "adHocSubProcess")


def unmatched_lanes(session: Session, bpmn: Mapping[str, str]) -> list[dict[str, Any]]:
    """One warning per lane of an executable process whose tasks nobody is a candidate for:
    its name is no role and no existing team.

    Such a deploy goes through (the team may be created later, or the task data's
    ``lane_owners`` name the owners), but until then its tasks appear in no inbox; managers
    and administrators still list them (``all=1``), see them on the team board
    (:func:`offered_to_nobody`) and assign them. A lane counts when it is the lane of a user
    or manual task, as SpiffWorkflow reads lanes: the last lane (the innermost of nested ones)
    listing the element, the subprocess's for what it holds."""
    return [
        element_problem(
            file,
            lane,
            f"names no role and no team, so its tasks are offered to nobody until a team "
            f"{name!r} exists (or the task data's lane_owners names their owners); managers "
            "and administrators still see them among all tasks and can assign them",
            sep=" ",
        )
        for file, lane, name in _unmatched(session, bpmn)
    ] + _unknown_owners(session, bpmn)


def _unknown_owners(session: Session, bpmn: Mapping[str, str]) -> list[dict[str, Any]]:
    """One warning per user task whose assignment attributes name, as written, a user who is
    no active user or a group that is no role and no team: its tasks would reach nobody named
    until they exist (``engine.assignment_attributes``)."""
    named: list[tuple[str, Any, str, str]] = []  # (file, task, kind, name)
    for file, tree in readable_trees(bpmn):
        for process in executable_processes(tree):
            for task in process.iter(f"{{{BPMN_NS}}}userTask"):
                said = read_assignment(task) or {}
                named += [
                    (file, task, kind, entry["text"])
                    for kind, entries in said.items()
                    for entry in entries
                    if "text" in entry
                ]
    if not named:
        return []
    users = {normalise_username(name) for _, _, kind, name in named if kind != "candidateGroups"}
    groups = {name for _, _, kind, name in named if kind == "candidateGroups"}
    active = set(
        session.scalars(select(User.username).where(User.username.in_(users), User.active))
    )
    teams = set(session.scalars(select(Team.name).where(Team.name.in_(groups))))
    found = []
    for file, task, kind, name in named:
        if kind == "candidateGroups" and name.lower() not in ROLE_NAMES and name not in teams:
            said = f"names the group {name!r} in {kind}, which is no role and no team"
        elif kind != "candidateGroups" and normalise_username(name) not in active:
            said = f"names {name!r} in {kind}, who is no active user"
        else:
            continue
        found.append(
            element_problem(
                file,
                task,
                f"{said}: until {'it exists' if kind == 'candidateGroups' else 'they do'}, "
                "the task is offered to the others it names (else to its lane), and managers "
                "see it on the team board when no one may claim it",
                sep=" ",
            )
        )
    return found


def unmatched_lane_names(session: Session, bpmn: Mapping[str, str]) -> list[str]:
    """The names of the lanes :func:`unmatched_lanes` warns about, once each, in file order."""
    return list(dict.fromkeys(name for _, _, name in _unmatched(session, bpmn)))


def _unmatched(session: Session, bpmn: Mapping[str, str]) -> list[tuple[str, Any, str]]:
    found: list[tuple[str, Any, str]] = []
    for file, tree in readable_trees(bpmn):
        for process in executable_processes(tree):
            found += [(file, lane, name) for lane, name in _lanes_in_use(process)]
    if not found:
        return []
    names = {name for _, _, name in found if name.lower() not in ROLE_NAMES}
    teams = set(session.scalars(select(Team.name).where(Team.name.in_(names)))) if names else set()
    return [
        (file, lane, name)
        for file, lane, name in found
        if name.lower() not in ROLE_NAMES and name not in teams
    ]


def _lanes_in_use(process: Any) -> list[tuple[Any, str]]:
    """The named lanes of ``process`` that some user or manual task runs in: the last lane
    listing it, the lane of a subprocess's own lane set for what that lists, else a lane of
    the process listing it, else the subprocess's (``engine.subprocess_lanes``). A user task
    whose assignment attributes say who works it (``engine.assignment_attributes``) is in its
    lane for the drawing only."""
    lane_of: dict[str, Any] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                lane_of[ref.text.strip()] = lane  # the last one listing it wins
    used: list[Any] = []

    def walk(scope: Any, inherited: Any) -> None:
        inside = own_lanes(scope) if inherited is not None else {}
        for element in scope:
            kind = etree.QName(element).localname if isinstance(element.tag, str) else ""
            key = element.get("id") or ""
            listed = lane_of.get(key)
            if inherited is None:
                lane = listed
            else:  # a subprocess's own lanes, else the process's lane listing it, else its own
                named = listed is not None and (listed.get("name") or "").strip()
                lane = inside.get(key, listed if named else inherited)
            if kind in _SCOPES:
                walk(element, lane)
            elif kind in _HUMAN and lane is not None and lane not in used:
                if kind == "userTask" and read_assignment(element) is not None:
                    continue  # its assignment attributes decide: the lane is the drawing
                used.append(lane)

    walk(process, None)
    return [(lane, name) for lane in used if (name := (lane.get("name") or "").strip())]


def candidates_for(task: Any, starter: str | None) -> list[str]:
    """Lane → role or team; ``lane_owners`` in the task data overrides; no lane → the starter."""
    lane = task.task_spec.lane
    owners = task.data.get("lane_owners")
    if lane and isinstance(owners, dict) and isinstance(owners.get(lane), list | str):
        entries = owners[lane] if isinstance(owners[lane], list) else [owners[lane]]
        names = {_candidate(str(e)) for e in entries if str(e).strip()}
        return sorted(name for name in names if len(name) <= CANDIDATE_LIMIT)
    if lane:
        return [lane_group(lane)]
    return [f"user:{starter}"] if starter else []


def _candidate(entry: str) -> str:
    entry = entry.strip()
    if entry.startswith("group:"):  # a role as a lane names it: "group:Manager" is managers
        return lane_group(entry[6:])
    # a person as inboxes know them: ``user:`` and the name as stored (NFKC, as typed)
    return f"user:{normalise_username(entry.removeprefix('user:'))}"


def close_item(
    item: WorkItem, status: WorkItemStatus, at: datetime, by: int | None, assignee: int | None
) -> Write:
    """The UPDATE that closes ``item``, for the step's writes; the object shows it already."""
    values = {
        "status": status,
        "completed_at": at,
        "completed_by_id": by,
        "assignee_id": assignee,
    }
    mark_saved(item, values)
    return _CLOSE, {"_id": item.id, **values}


def manual_ready_tasks(workflow: BpmnWorkflow) -> list[Any]:
    """READY user tasks, as ``workflow.get_tasks(state=READY, manual=True)`` lists them.

    Read from the task maps of the workflow and its subprocesses instead of walking the tree,
    a tenth of the time; only an order among several needs the walk (the tree's order, which
    the maps' order of creation need not follow)."""
    found = _manual_ready_in_maps(workflow)
    if len(found) > 1:
        return workflow.get_tasks(state=TaskState.READY, manual=True)
    return found


def manual_ready_ids(workflow: BpmnWorkflow) -> set[str]:
    return {id_text(task.id) for task in _manual_ready_in_maps(workflow)}


def _manual_ready_in_maps(workflow: BpmnWorkflow) -> list[Any]:
    return [
        task
        for tasks in (workflow.tasks, *(sub.tasks for sub in workflow.subprocesses.values()))
        for task in tasks.values()
        if task._state == _READY and task.task_spec.manual  # ``state``, without its property
    ]


_READY = TaskState.READY


def sync_work_items(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    bundle: LoadedBundle,
    starter: Callable[[], str | None],
    now: datetime,
    *,
    fresh: bool = False,
    respec: bool = False,
    open_before: set[str] | None = None,
    tasks_before: set[str] | None = None,
    ready_tasks: list[Any] | None = None,
) -> list[Write]:
    """Open items for READY user tasks, cancel items whose task is gone.

    Returns the INSERTs and UPDATEs to run (the caller sends them in one round trip). The open
    items are known without a query when the step says which user tasks were READY when it
    was loaded (``open_before``, with the ids of all its tasks then, ``tasks_before``): every
    save leaves exactly those open. A task READY again after it had an item (a user task
    retried after an error) or a migration reads the items from the database instead.
    ``starter`` is called only when a task without a lane needs the instance's starter.
    """
    if ready_tasks is None:  # the caller may have walked the tree for them already
        ready_tasks = manual_ready_tasks(workflow)
    ready = {id_text(t.id): t for t in ready_tasks}
    if fresh:
        return _insert_items(session, ready.values(), instance, workflow, bundle, starter, now)
    if respec or open_before is None or tasks_before is None:
        return _sync_from_database(
            session, ready, instance, workflow, bundle, starter, now, respec=respec
        )
    again = [i for i in ready if i not in open_before and i in tasks_before]
    if again:
        return _sync_from_database(session, ready, instance, workflow, bundle, starter, now)
    writes: list[Write] = []
    gone = {i for i in open_before if i not in ready and _still_open(session, i)}
    if gone:
        table = WorkItem.__table__
        writes.append(
            (
                update(table)
                .where(
                    table.c.instance_id == instance.id,
                    table.c.status == WorkItemStatus.OPEN,
                    table.c.id.not_in(list(ready)),
                )
                .values(status=WorkItemStatus.CANCELLED, completed_at=now),
                None,
            )
        )
        for item_id in gone:  # keep loaded objects in step with the rows
            item = session.identity_map.get(identity_key(WorkItem, item_id))
            if item is not None:
                mark_saved(item, {"status": WorkItemStatus.CANCELLED, "completed_at": now})
    new = [task for task_id, task in ready.items() if task_id not in open_before]
    writes += _insert_items(session, new, instance, workflow, bundle, starter, now)
    return writes


def opened_items(writes: list[Write]) -> list[OpenedItem]:
    """The work items that ``writes`` (from :func:`sync_work_items`) insert, with their
    candidates, in the order the inbox lists them (``created_at``, ``seq``, then id)."""
    items: list[dict[str, Any]] = []
    names: dict[str, list[str]] = {}
    for statement, params in writes:
        if statement is _INSERT_ITEMS:
            items += params
        elif statement is _INSERT_CANDIDATES:
            for candidate in params:
                names.setdefault(candidate["work_item_id"], []).append(candidate["name"])
    items.sort(key=lambda item: (item["created_at"], item["seq"], item["id"]))
    return [(item, sorted(names.get(item["id"], []))) for item in items]


def _still_open(session: Session, item_id: str) -> bool:
    """False if this transaction already closed the item (a completion)."""
    item = session.identity_map.get(identity_key(WorkItem, item_id))
    return item is None or item.status == WorkItemStatus.OPEN


def _insert_items(
    session: Session,
    tasks: Iterable[Any],
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    bundle: LoadedBundle,
    starter: Callable[[], str | None],
    now: datetime,
) -> list[Write]:
    """New items as plain INSERTs (no ORM objects: the inbox reads them from the table)."""
    items, candidates = [], []
    for seq, task in enumerate(tasks):
        item_id = id_text(task.id)
        values, names = _item_values(session, task, instance, workflow, bundle, starter, now)
        items.append({**_UNCLAIMED, **values, "id": item_id, "seq": seq})
        candidates += [{"work_item_id": item_id, "name": name} for name in names]
    writes: list[Write] = []
    if items:
        writes.append((_INSERT_ITEMS, items))
    if candidates:
        writes.append((_INSERT_CANDIDATES, candidates))
    return writes


def _sync_from_database(
    session: Session,
    ready: dict[str, Any],
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    bundle: LoadedBundle,
    starter: Callable[[], str | None],
    now: datetime,
    *,
    respec: bool = False,
) -> list[Write]:
    """The general case, through the ORM: one query for the instance's open items and those
    of the READY tasks."""
    known = {
        item.id: item
        for item in session.scalars(
            select(WorkItem).where(
                WorkItem.instance_id == instance.id,
                or_(WorkItem.status == WorkItemStatus.OPEN, WorkItem.id.in_(list(ready))),
            )
        )
    }
    for item_id, item in known.items():
        if item_id not in ready and item.status == WorkItemStatus.OPEN:
            item.status = WorkItemStatus.CANCELLED
            item.completed_at = now
    for task_id, task in ready.items():
        item = known.get(task_id)
        if item is not None and item.status == WorkItemStatus.OPEN:
            if respec:  # the task now follows another version's element: show that one
                _refill_keeping_claim(session, item, task, instance, workflow, bundle, starter)
            continue
        item = item or WorkItem(id=task_id)
        _fill(session, item, task, instance, workflow, bundle, starter, now)
        session.add(item)
    session.flush()
    return []


def _refill_keeping_claim(
    session: Session,
    item: WorkItem,
    task: Any,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    bundle: LoadedBundle,
    starter: Callable[[], str | None],
) -> None:
    """An open item refilled from the element of the version its instance moved to. Its claim
    stays with whoever the new element still offers it to: a task the new version put in
    another lane is no longer held by someone that lane does not name."""
    assignee, claimed = item.assignee_id, (item.claimed_at, item.claimed_by_id)
    _fill(session, item, task, instance, workflow, bundle, starter, item.created_at)
    holder = session.get(User, assignee) if assignee is not None else None
    if holder is not None and (
        holder.role == Role.ADMIN or user_groups(holder) & set(item.candidate_names)
    ):
        item.assignee_id = assignee
        item.claimed_at, item.claimed_by_id = claimed
    elif item.assignee_id is None:
        item.claimed_at = item.claimed_by_id = None


def _fill(
    session: Session,
    item: WorkItem,
    task: Any,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    bundle: LoadedBundle,
    starter: Callable[[], str | None],
    now: datetime,
) -> None:
    values, candidates = _item_values(session, task, instance, workflow, bundle, starter, now)
    for key, value in values.items():
        setattr(item, key, value)
    item.candidates = [WorkItemCandidate(name=name) for name in candidates]


def _forms_of(session: Session, spec: Any, bundle: LoadedBundle) -> Mapping[str, Any]:
    """The forms the task opens with: its version's, and for a Camunda Form named with the
    ``latest`` binding the newest ``.form`` file of that id deployed so far
    (``engine.latest_forms``), for one named by ``versionTag`` the newest carrying the tag
    deployed up to the version's deploy (``engine.form_tags``)."""
    extensions = spec.extensions or {}
    form_id = extensions.get(CAMUNDA_FORM_ID)
    tag = extensions.get(CAMUNDA_FORM_TAG)
    if form_id and tag and extensions.get(CAMUNDA_FORM_BINDING) == "versionTag":
        return forms_tagged(session, bundle.bundle_id, form_id, tag, bundle.forms)
    if not form_id or extensions.get(CAMUNDA_FORM_BINDING, LATEST) != LATEST:
        return bundle.forms
    return forms_when_opened(session, form_id, bundle.forms)


def _item_values(
    session: Session,
    task: Any,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    bundle: LoadedBundle,
    starter: Callable[[], str | None],
    now: datetime,
) -> tuple[dict[str, Any], list[str]]:
    """The work item's columns (all but id and the claim/completion ones) and candidates."""
    spec = task.task_spec
    properties = (spec.extensions or {}).get("properties", {})
    form_name, form_schema = form_of(spec, _forms_of(session, spec, bundle))
    said = (spec.extensions or {}).get(ASSIGNMENT)
    if said:  # the task's assignment attributes decide; its lane is the drawing
        candidates, assignee_id = who_works(
            with_values(said, lambda python: _evaluate(workflow, task, python)),
            task.data,
            starter,
            lambda: candidates_for(task, None if spec.lane else starter()),
            lane_group,
            lambda name: _active_user(session, name),
        )
    else:
        candidates = candidates_for(task, None if spec.lane else starter())
        single_user = [c for c in candidates if c.startswith("user:")]
        assignee_id = None
        if len(candidates) == 1 and single_user:
            assignee_id = _active_user(session, single_user[0][5:])
    values = {
        "instance_id": instance.id,
        "process_id": instance.process_id,
        "element_id": spec.bpmn_id or spec.name,
        "title": str(
            _evaluate(workflow, task, properties.get("title"))
            or spec.bpmn_name
            or spec.bpmn_id
            or spec.name
        )[:300],
        "lane": spec.lane,
        "business_key": instance.business_key,
        "status": WorkItemStatus.OPEN,
        "created_at": now,
        "due_at": _due_at(workflow, task, properties, now),
        "follow_up_at": _due_at(workflow, task, properties, now, "followUpAt", "followUpIn"),
        "priority": _priority(workflow, task, properties),
        "kind": _kind(workflow, task, properties),
        "form_name": form_name,
        "form_schema": form_schema,
        "instructions": instructions_of(spec.extensions or {}, task.data),
        "item_values": _own_values(task, form_schema),
        "assignee_id": assignee_id,
    }
    return values, candidates


def _active_user(session: Session, username: str) -> int | None:
    found = fetch(session, _ACTIVE_USER, {"name": normalise_username(username)})
    return found[0][0] if found else None


def _own_values(task: Any, form_schema: Any) -> dict[str, Any] | None:
    """The values of the form's fields the task holds and the instance's data does not: its
    multi-instance item's, and its element's input mappings (``engine.io_mappings``, local to
    the task: the customer's name a call task's input gives its form), stored as the data
    shows them (an input of a duration or a date failed the task's opening, a 500)."""
    values = _multi_instance_values(task, form_schema)
    fields = set(form_fields(form_schema))
    inputs = {k: v for k, v in own_values(task).items() if k in fields}
    return {**(values or {}), **stored_json(inputs)} if inputs else values


def _multi_instance_values(task: Any, form_schema: Any) -> dict[str, Any] | None:
    """The values of the form's fields from the item of the multi-instance activity the task
    is an instance of (the user task itself, or the embedded subprocess or call activity it
    is in): the item is in the task's data, never in the instance's."""
    if not form_fields(form_schema):
        return None
    current = task
    for _level in range(_NESTED_LEVELS):
        spec = getattr(current.parent, "task_spec", None)
        if isinstance(spec, MultiInstanceTask):
            item = spec.input_item
            if item is None or item.bpmn_id not in task.data:
                return None
            return item_values(form_schema, item.bpmn_id, task.data[item.bpmn_id])
        parent_id = getattr(current.workflow, "parent_task_id", None)
        if parent_id is None:  # the top process: no activity around it
            return None
        current = current.workflow.top_workflow.get_task_from_id(parent_id)
        if current is None:
            return None
    return None


# How many subprocesses out a user task's multi-instance activity is looked for.
_NESTED_LEVELS = 4


def _evaluate(workflow: BpmnWorkflow, task: Any, expression: str | None) -> Any:
    if not expression:
        return None
    try:
        return workflow.script_engine.evaluate(task, expression)
    except Exception as exc:  # a bad title/due expression must not stop the process
        log.warning("task %s: cannot evaluate %r: %s", task.task_spec.bpmn_id, expression, exc)
        return None


def _due_at(
    workflow: BpmnWorkflow,
    task: Any,
    properties: dict[str, str],
    now: datetime,
    at: str = "dueAt",
    within: str = "dueIn",
) -> datetime | None:
    """The instant the property ``within`` (a duration from now) or ``at`` (an expression)
    says: the due time, or with ``followUpAt``/``followUpIn`` the follow-up date."""
    if properties.get(within):
        value = _after(properties[within], now)
    else:
        value = _evaluate(workflow, task, properties.get(at))
    if isinstance(value, str) and value.strip().startswith("P"):
        # a variable holding a duration (``"P2D"``): from now, as the Java engines' due-date
        # calendar reads one (``camunda:dueDate="${sla}"``); such a task had no due time
        value = _after(value.strip(), now)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    # Without an offset (a form's datetime-local field), a time of the installation's zone,
    # as a timer reads it: such a due time was dropped, and the task had none.
    value = in_installation_zone(value)
    try:  # stored in UTC: a time at the calendar's edge may have no UTC time
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    # Every page shows it in its reader's zone: a day off the calendar's ends has no local time
    return value if DUE_RANGE[0] <= value <= DUE_RANGE[1] else None


def _after(duration: str, now: datetime) -> datetime | None:
    """``now`` plus the ISO 8601 ``duration``, or None when it is none or too long."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(duration)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    except Exception:  # SpiffWorkflow raises a bare Exception; OverflowError past year 9999
        return None


def _kind(workflow: BpmnWorkflow, task: Any, properties: dict[str, str]) -> str | None:
    """The task's ``kind`` property evaluated; one bare word naming no variable of the data
    is that word, as spiff-arena's and Zeebe's properties are text (``value="callback"``
    gave no kind, with a warning only in the log)."""
    written = (properties.get("kind") or "").strip()
    if written.isidentifier() and written not in task.data and written not in _NAMES:
        return written[:40]
    kind = _evaluate(workflow, task, written)
    return str(kind)[:40] if kind else None


_NAMES = {"True", "False", "None"}


def _priority(workflow: BpmnWorkflow, task: Any, properties: dict[str, str]) -> int:
    value = _evaluate(workflow, task, properties.get("priority"))
    try:
        number = int(value) if value is not None else 0
    except (TypeError, ValueError, OverflowError):  # not a number, NaN, infinity
        return 0
    low, high = PRIORITY_RANGE
    return max(low, min(high, number))
