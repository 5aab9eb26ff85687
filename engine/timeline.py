"""The customer timeline with the engine's part: process instances and work items whose
business key is the customer (see ``crm.timeline.business_keys``). A work item's entry names
its element as the diagram does, read from the parsed spec of its version (``engine.specs``'
cache), never from the workflow."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.customers import get_customer
from crm.models import User
from crm.scoping import may_see_full_phone
from crm.timeline import (
    TimelineEntry,
    TimelineSource,
    business_keys,
    count_of,
    crm_sources,
    merge_page,
)
from engine.models import ProcessInstance, WorkItem
from engine.service import ProcessEngine
from engine.specs import SpecCache


def customer_timeline(
    engine: ProcessEngine,
    session: Session,
    customer_id: int,
    *,
    viewer: User,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[TimelineEntry], int]:
    """One page of the timeline, newest first, and the number of entries; 404 (not found)
    for customers ``viewer`` may not see."""
    customer = get_customer(session, customer_id, viewer=viewer)
    keys = business_keys(customer.id)
    sources = crm_sources(session, customer.id, reveal_phone=may_see_full_phone(viewer, customer))
    versions: dict[str, int] = {}  # work item id → its instance's version, filled by fetch
    sources += [_work_items(session, keys, versions), _instances(session, keys)]
    entries, total = merge_page(sources, limit=limit, offset=offset)
    return _with_element_names(session, engine.specs, entries, versions), total


def _with_element_names(
    session: Session, specs: SpecCache, entries: list[TimelineEntry], versions: dict[str, int]
) -> list[TimelineEntry]:
    """The page's task entries with ``element_name``: the element's name in the diagram of
    the instance's version (``None`` when it has none), from the spec cache; only versions on
    this page are looked up."""
    named = []
    for entry in entries:
        if entry.kind == "task":
            names = specs.for_version(session, versions[entry.id]).element_names(
                entry.data["process_id"]
            )
            data = {**entry.data, "element_name": names.get(entry.data["element_id"])}
            entry = replace(entry, data=data)
        named.append(entry)
    return named


def _work_items(session: Session, keys: list[str], versions: dict[str, int]) -> TimelineSource:
    """A completed work item is a process step done (at its completion); an open or cancelled
    one is a task (at its creation). Each fetched item's version goes into ``versions``."""
    query = select(WorkItem).where(WorkItem.business_key.in_(keys))
    at = func.coalesce(WorkItem.completed_at, WorkItem.created_at)
    with_version = query.join(ProcessInstance, ProcessInstance.id == WorkItem.instance_id)

    def fetch(n: int) -> list[TimelineEntry]:
        rows = session.execute(
            with_version.add_columns(ProcessInstance.version_id)
            .order_by(at.desc(), WorkItem.id.desc())
            .limit(n)
        ).all()
        versions.update((item.id, version_id) for item, version_id in rows)
        return [
            TimelineEntry(
                item.completed_at or item.created_at,
                "task",
                item.id,
                {
                    "title": item.title,
                    "status": item.status.value,
                    "element_id": item.element_id,
                    "element_name": None,  # see _with_element_names
                    "process_id": item.process_id,
                    "process_instance_id": item.instance_id,
                    "assignee_id": item.assignee_id,
                    "due_at": item.due_at.isoformat() if item.due_at else None,
                    "completed_by_id": item.completed_by_id,
                },
            )
            for item, _version_id in rows
        ]

    return TimelineSource(fetch, count_of(session, query))


def _instances(session: Session, keys: list[str]) -> TimelineSource:
    # Columns only: an instance row also holds its serialized state, which is not needed here.
    query = select(
        ProcessInstance.id,
        ProcessInstance.process_id,
        ProcessInstance.status,
        ProcessInstance.started_at,
        ProcessInstance.ended_at,
    ).where(ProcessInstance.business_key.in_(keys))

    def fetch(n: int) -> list[TimelineEntry]:
        rows = session.execute(
            query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).limit(n)
        )
        return [
            TimelineEntry(
                row.started_at,
                "process",
                str(row.id),
                {
                    "process_id": row.process_id,
                    "status": row.status.value,
                    "ended_at": row.ended_at.isoformat() if row.ended_at else None,
                },
            )
            for row in rows
        ]

    return TimelineSource(fetch, count_of(session, query))
