"""Process KPIs: per step (a user task of a process: ``process_id`` + ``element_id``), how
long its work items took, how many missed their due time, and how old the open ones are.

A work item belongs to whoever completed it, else its assignee; withdrawn (cancelled) items
never count. Durations are seconds.

- **Cycle time**: items completed in ``[start, end)``; ``cycle = completed_at − created_at``
  (from the task's creation to its completion, waiting in the queue included).
  ``completed``: their number; ``avg_cycle_s``: the mean; ``median_cycle_s`` and
  ``p90_cycle_s``: nearest-rank percentiles (the ⌈p·n⌉-th smallest cycle, a value that
  occurred, the same on SQLite and PostgreSQL).
- **SLA breaches**: items with a due time in ``[start, min(end, now))``; ``due``: their
  number; ``breached``: those completed after their due time, or still open (so now past
  it); ``breach_rate`` = breached / due.
- **Open task age** (a snapshot at ``now``, whatever the period): items still open, by their
  assignee (unassigned items only when nobody is filtered out); ``open``: their number;
  ``open_avg_age_s`` and ``open_max_age_s``: ``now − created_at``; ``open_overdue``: those
  past their due time.

The totals cover every step together (their percentiles over all cycles, not an average of
the steps' percentiles).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from dialflow.db import UTCDateTime
from engine.models import ProcessVersion, WorkItem, WorkItemStatus
from engine.specs import SpecCache
from processes.analytics.filters import Scope
from processes.analytics.funnel import ratio
from processes.analytics.sql import nearest_rank, seconds_between

MAX_STEPS = 200
LIVE = (WorkItemStatus.OPEN, WorkItemStatus.COMPLETED)  # not withdrawn


@dataclass
class StepKpis:
    process_id: str | None
    element_id: str | None
    name: str | None = None
    process_name: str | None = None
    completed: int = 0
    avg_cycle_s: float | None = None
    median_cycle_s: float | None = None
    p90_cycle_s: float | None = None
    due: int = 0
    breached: int = 0
    breach_rate: float | None = None
    open: int = 0
    open_avg_age_s: float | None = None
    open_max_age_s: float | None = None
    open_overdue: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProcessReport:
    steps: list[StepKpis]
    totals: StepKpis

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [s.as_dict() for s in self.steps], "totals": self.totals.as_dict()}


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def process_kpis(
    session: Session, scope: Scope, *, specs: SpecCache | None = None
) -> ProcessReport:
    """Per-step and total KPIs of ``scope`` (see the module's definitions); step names come
    from the latest deployed version's diagram when ``specs`` is given."""
    steps: dict[tuple[str, str], StepKpis] = {}

    def step(process_id: str, element_id: str) -> StepKpis:
        key = (process_id, element_id)
        if key not in steps:
            steps[key] = StepKpis(process_id, element_id)
        return steps[key]

    totals = StepKpis(None, None)
    by_step = (WorkItem.process_id, WorkItem.element_id)
    for *key, figures in _cycles(session, scope, by_step):
        _set(step(*key), figures)
    for (figures,) in _cycles(session, scope, ()):
        _set(totals, figures)
    for *key, figures in _breaches(session, scope, by_step):
        _set(step(*key), figures)
    for (figures,) in _breaches(session, scope, ()):
        _set(totals, figures)
    for *key, figures in _open(session, scope, by_step):
        _set(step(*key), figures)
    for (figures,) in _open(session, scope, ()):
        _set(totals, figures)
    for kpis in steps.values():
        kpis.breach_rate = ratio(kpis.breached, kpis.due)
    totals.breach_rate = ratio(totals.breached, totals.due)
    _names(session, specs, steps)
    ordered = sorted(
        steps.values(), key=lambda s: (s.process_id or "", s.name or "", s.element_id or "")
    )
    return ProcessReport(ordered[:MAX_STEPS], totals)


def _set(kpis: StepKpis, figures: dict[str, Any]) -> None:
    for name, value in figures.items():
        setattr(kpis, name, value)


def _person() -> Any:
    return func.coalesce(WorkItem.completed_by_id, WorkItem.assignee_id)


def _cycles(session: Session, scope: Scope, keys: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cycle = seconds_between(WorkItem.created_at, WorkItem.completed_at)
    partition = list(keys) or None
    ranked = (
        select(
            *[key.label(key.key) for key in keys],
            cycle.label("cycle"),
            func.row_number().over(partition_by=partition, order_by=cycle).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(
            WorkItem.status == WorkItemStatus.COMPLETED,
            WorkItem.completed_at >= scope.start,
            WorkItem.completed_at < scope.end,
            scope.people(_person()),
        )
        .subquery()
    )
    columns = [ranked.c[key.key] for key in keys]
    rows = session.execute(
        select(
            *columns,
            func.count(),
            func.avg(ranked.c.cycle),
            func.max(case((ranked.c.rn == nearest_rank(ranked.c.n, 50), ranked.c.cycle))),
            func.max(case((ranked.c.rn == nearest_rank(ranked.c.n, 90), ranked.c.cycle))),
        ).group_by(*columns)
    ).all()
    out = []
    for row in rows:
        *key, completed, avg, median, p90 = row
        if not completed:
            continue
        figures = {
            "completed": int(completed),
            "avg_cycle_s": _seconds(avg),
            "median_cycle_s": _seconds(median),
            "p90_cycle_s": _seconds(p90),
        }
        out.append((*key, figures))
    return out


def _breaches(session: Session, scope: Scope, keys: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    until: datetime = min(scope.end, scope.now)
    if until <= scope.start:
        return []
    late = or_(
        and_(
            WorkItem.status == WorkItemStatus.COMPLETED,
            WorkItem.completed_at > WorkItem.due_at,
        ),
        WorkItem.status == WorkItemStatus.OPEN,
    )
    rows = session.execute(
        select(*keys, func.count(WorkItem.id), _count_if(late))
        .where(
            WorkItem.status.in_(LIVE),  # (status, due_at) index: two ranges
            WorkItem.due_at >= scope.start,
            WorkItem.due_at < literal(until, UTCDateTime),
            scope.people(_person()),
        )
        .group_by(*keys)
    ).all()
    return [
        (*key, {"due": int(due), "breached": int(breached)}) for *key, due, breached in rows if due
    ]


def _open(session: Session, scope: Scope, keys: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    now = literal(scope.now, UTCDateTime)
    age = seconds_between(WorkItem.created_at, now)
    overdue = and_(WorkItem.due_at.is_not(None), WorkItem.due_at < now)
    rows = session.execute(
        select(*keys, func.count(WorkItem.id), func.avg(age), func.max(age), _count_if(overdue))
        .where(WorkItem.status == WorkItemStatus.OPEN, scope.people(WorkItem.assignee_id))
        .group_by(*keys)
    ).all()
    return [
        (
            *key,
            {
                "open": int(number),
                "open_avg_age_s": _seconds(avg),
                "open_max_age_s": _seconds(oldest),
                "open_overdue": int(late),
            },
        )
        for *key, number, avg, oldest, late in rows
        if number
    ]


def _names(
    session: Session, specs: SpecCache | None, steps: dict[tuple[str, str], StepKpis]
) -> None:
    """Each step's element name and its process's name, from the latest deployed version."""
    process_ids = {process_id for process_id, _element in steps}
    if not process_ids:
        return
    latest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
        .where(ProcessVersion.process_id.in_(process_ids))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    versions = {
        process_id: (version_id, name)
        for process_id, version_id, name in session.execute(
            select(ProcessVersion.process_id, ProcessVersion.id, ProcessVersion.name).join(
                latest,
                and_(
                    latest.c.process_id == ProcessVersion.process_id,
                    latest.c.version == ProcessVersion.version,
                ),
            )
        )
    }
    for (process_id, element_id), kpis in steps.items():
        version_id, process_name = versions.get(process_id, (None, None))
        kpis.process_name = process_name
        if specs is not None and version_id is not None:
            try:
                names = specs.for_version(session, version_id).element_names(process_id)
            except LookupError:
                names = {}
            kpis.name = names.get(element_id)
