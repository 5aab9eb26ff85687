"""Materialize READY human tasks as work items after every step, and who may take them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.models import Role, User
from engine.models import ProcessInstance, WorkItem, WorkItemCandidate, WorkItemStatus
from engine.specs import LoadedBundle

log = logging.getLogger(__name__)
ROLE_NAMES = {role.value for role in Role}


def user_groups(user: User) -> set[str]:
    """The candidate names a user answers to: themselves, their role and their team."""
    groups = {f"user:{user.username}", f"group:{user.role.value}"}
    if user.team is not None:
        groups.add(f"group:{user.team.name}")
    return groups


def lane_group(lane: str) -> str:
    name = lane.strip()
    return f"group:{name.lower()}" if name.lower() in ROLE_NAMES else f"group:{name}"


def candidates_for(task: Any, starter: str | None) -> list[str]:
    """Lane → role or team; ``lane_owners`` in the task data overrides; no lane → the starter."""
    lane = task.task_spec.lane
    owners = task.data.get("lane_owners")
    if lane and isinstance(owners, dict) and isinstance(owners.get(lane), list | str):
        entries = owners[lane] if isinstance(owners[lane], list) else [owners[lane]]
        return sorted({_candidate(str(e)) for e in entries if str(e).strip()})
    if lane:
        return [lane_group(lane)]
    return [f"user:{starter}"] if starter else []


def _candidate(entry: str) -> str:
    entry = entry.strip()
    if entry.startswith(("user:", "group:")):
        return entry
    return f"user:{entry}"


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
) -> None:
    """Open items for READY user tasks, cancel items whose task is gone; one query at most.

    ``starter`` is called only when a task without a lane needs the instance's starter.
    """
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    known: dict[str, WorkItem] = {}
    if not fresh:
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
                assignee, claimed = item.assignee_id, (item.claimed_at, item.claimed_by_id)
                _fill(session, item, task, instance, workflow, bundle, starter, item.created_at)
                item.assignee_id = assignee or item.assignee_id
                item.claimed_at, item.claimed_by_id = claimed
            continue
        item = item or WorkItem(id=task_id)
        _fill(session, item, task, instance, workflow, bundle, starter, now)
        session.add(item)


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
    spec = task.task_spec
    properties = (spec.extensions or {}).get("properties", {})
    form_name = properties.get("formJsonSchemaFilename")
    candidates = candidates_for(task, None if spec.lane else starter())
    item.instance_id = instance.id
    item.process_id = instance.process_id
    item.element_id = spec.bpmn_id or spec.name
    item.title = str(
        _evaluate(workflow, task, properties.get("title"))
        or spec.bpmn_name
        or spec.bpmn_id
        or spec.name
    )[:300]
    item.lane = spec.lane
    item.business_key = instance.business_key
    item.status = WorkItemStatus.OPEN
    item.created_at = now
    item.due_at = _due_at(workflow, task, properties, now)
    item.priority = _priority(workflow, task, properties)
    kind = _evaluate(workflow, task, properties.get("kind"))
    item.kind = str(kind)[:40] if kind else None
    item.form_name = form_name
    item.form_schema = bundle.forms.get(form_name) if form_name else None
    item.instructions = properties.get("instructionsForEndUser") or None
    item.candidates = [WorkItemCandidate(name=name) for name in candidates]
    single_user = [c for c in candidates if c.startswith("user:")]
    item.assignee_id = None
    if len(candidates) == 1 and single_user:
        item.assignee_id = session.scalar(
            select(User.id).where(User.username == single_user[0][5:], User.active)
        )


def _evaluate(workflow: BpmnWorkflow, task: Any, expression: str | None) -> Any:
    if not expression:
        return None
    try:
        return workflow.script_engine.evaluate(task, expression)
    except Exception as exc:  # a bad title/due expression must not stop the process
        log.warning("task %s: cannot evaluate %r: %s", task.task_spec.bpmn_id, expression, exc)
        return None


def _due_at(
    workflow: BpmnWorkflow, task: Any, properties: dict[str, str], now: datetime
) -> datetime | None:
    if properties.get("dueIn"):
        try:
            parsed = TimerEventDefinition.parse_iso_duration(properties["dueIn"])
            return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
        except Exception:  # checked at deploy; stay tolerant of older versions
            return None
    value = _evaluate(workflow, task, properties.get("dueAt"))
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    return None


def _priority(workflow: BpmnWorkflow, task: Any, properties: dict[str, str]) -> int:
    value = _evaluate(workflow, task, properties.get("priority"))
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0
