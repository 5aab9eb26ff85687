"""A customer's timeline: calls, notes, deal stage changes and recorded changes, newest first.

The timeline merges several sources, each already sorted by time in the database. A page at
``offset`` needs at most ``offset + limit`` rows from each source, merged in memory; the total
is the sum of the sources' counts. Other layers (the engine's work items and processes) add
their own sources through ``merge_page``, so the domain never imports them.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.calls import call_to_dict
from crm.models import Activity, AuditEntry, Call, Deal, DealStageChange
from crm.phones import mask_phone
from dialflow.errors import InvalidInput

MAX_DEPTH = 5_000  # offset + limit; deeper pages of one customer's history are not offered
# Recorded changes that already appear as their own entries, or that are not changes.
NOT_CHANGES = ("view", "add_note", "log_call", "export")
BOOKKEEPING = frozenset({"updated_at"})  # changes with every edit; not worth a line


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # call, note, deal_stage, change, task, process
    id: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # The entry's own fields last: a call's data carries its integer "id", which would
        # otherwise replace the entry's string id (the documented type).
        return {**self.data, "kind": self.kind, "id": self.id, "at": self.at.isoformat()}


@dataclass(frozen=True)
class TimelineSource:
    """``fetch(n)`` returns the newest ``n`` entries, newest first; ``count()`` all of them."""

    fetch: Callable[[int], list[TimelineEntry]]
    count: Callable[[], int]


def business_keys(customer_id: int) -> list[str]:
    """Business keys that tie process instances to a customer: ``customer-<id>`` (canonical)
    and the bare id."""
    return [f"customer-{customer_id}", str(customer_id)]


def merge_page(
    sources: Sequence[TimelineSource], *, limit: int, offset: int
) -> tuple[list[TimelineEntry], int]:
    if offset + limit > MAX_DEPTH:
        raise InvalidInput(
            f"The timeline is paged up to {MAX_DEPTH} entries deep.", code="invalid_paging"
        )
    depth = offset + limit
    merged = heapq.merge(
        *(source.fetch(depth) for source in sources), key=lambda e: e.at, reverse=True
    )
    entries = list(itertools.islice(merged, offset, depth))
    return entries, sum(source.count() for source in sources)


def crm_sources(session: Session, customer_id: int, *, reveal_phone: bool) -> list[TimelineSource]:
    return [
        _calls(session, customer_id, reveal_phone),
        _notes(session, customer_id),
        _deal_stages(session, customer_id),
        _changes(session, customer_id, reveal_phone),
    ]


def count_of(session: Session, query: Any) -> Callable[[], int]:
    """A source's ``count``: the rows ``query`` selects."""
    return lambda: session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _calls(session: Session, customer_id: int, reveal_phone: bool) -> TimelineSource:
    query = select(Call).where(Call.customer_id == customer_id)

    def fetch(n: int) -> list[TimelineEntry]:
        rows = session.scalars(query.order_by(Call.started_at.desc(), Call.id.desc()).limit(n))
        return [
            TimelineEntry(
                c.started_at, "call", str(c.id), call_to_dict(c, reveal_phone=reveal_phone)
            )
            for c in rows
        ]

    return TimelineSource(fetch, count_of(session, query))


def _notes(session: Session, customer_id: int) -> TimelineSource:
    query = select(Activity).where(Activity.customer_id == customer_id)

    def fetch(n: int) -> list[TimelineEntry]:
        rows = session.scalars(
            query.order_by(Activity.created_at.desc(), Activity.id.desc()).limit(n)
        )
        return [
            TimelineEntry(
                a.created_at,
                "note",
                str(a.id),
                {
                    "note_kind": a.kind.value,
                    "text": a.body,
                    "author_id": a.author_id,
                    "deal_id": a.deal_id,
                },
            )
            for a in rows
        ]

    return TimelineSource(fetch, count_of(session, query))


def _deal_stages(session: Session, customer_id: int) -> TimelineSource:
    query = (
        select(DealStageChange, Deal.title)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(Deal.customer_id == customer_id)
    )

    def fetch(n: int) -> list[TimelineEntry]:
        rows = session.execute(
            query.order_by(DealStageChange.changed_at.desc(), DealStageChange.id.desc()).limit(n)
        )
        return [
            TimelineEntry(
                change.changed_at,
                "deal_stage",
                str(change.id),
                {
                    "deal_id": change.deal_id,
                    "deal_title": title,
                    "from_stage": change.from_stage.value if change.from_stage else None,
                    "to_stage": change.to_stage.value,
                    "changed_by_id": change.changed_by_id,
                    "comment": change.comment,
                },
            )
            for change, title in rows
        ]

    return TimelineSource(fetch, count_of(session, query))


def _changes(session: Session, customer_id: int, reveal_phone: bool) -> TimelineSource:
    query = select(AuditEntry).where(
        AuditEntry.entity_type == "customer",
        AuditEntry.entity_id == str(customer_id),
        AuditEntry.action.notin_(NOT_CHANGES),
    )

    def fetch(n: int) -> list[TimelineEntry]:
        rows = session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(n))
        return [_change_entry(entry, reveal_phone) for entry in rows]

    return TimelineSource(fetch, count_of(session, query))


def _change_entry(entry: AuditEntry, reveal_phone: bool) -> TimelineEntry:
    data: dict[str, Any] = {"action": entry.action, "actor_id": entry.actor_id}
    if entry.action != "create":  # a creation's "after" is the whole record, not a change
        before = {k: v for k, v in (entry.before or {}).items() if k not in BOOKKEEPING}
        after = {k: v for k, v in (entry.after or {}).items() if k not in BOOKKEEPING}
        data["fields"] = sorted(set(before) | set(after))
        data["before"] = _masked(before, reveal_phone)
        data["after"] = _masked(after, reveal_phone)
    return TimelineEntry(entry.at, "change", str(entry.id), data)


def _masked(values: dict[str, Any], reveal_phone: bool) -> dict[str, Any]:
    if reveal_phone or not isinstance(values.get("phones"), list):
        return values
    return {**values, "phones": [mask_phone(str(p)) for p in values["phones"]]}
