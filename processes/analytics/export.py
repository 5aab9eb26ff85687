"""A report as CSV (UTF-8 with a BOM, for Excel), like the customer export: it needs the export
permission (managers, directors, administrators: ``crm.exports.may_export``) and each export
is an audit entry (``export`` of ``analytics``) with the report, its row count and filters.

Columns are the API's field names; rates are fractions (0.25 = 25 %), durations seconds,
money per currency (never added across currencies) in columns named ``revenue_<CUR>`` or
rows named ``won_amount_<CUR>``. The trend has one row per local day and a ``total`` row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from crm import audit
from crm.exports import may_export
from crm.models import User
from crm.spreadsheets import excel_safe
from dialflow.errors import Forbidden, InvalidInput
from engine.specs import SpecCache
from processes.analytics.agents import agent_kpis
from processes.analytics.filters import Scope
from processes.analytics.funnel import funnel
from processes.analytics.steps import process_kpis
from processes.analytics.trend import daily_trend

REPORTS = ("funnel", "agents", "processes", "trend")
TREND_COLUMNS = ("day", "calls", "dialed", "connected", "connect_rate", "deals_won")
AGENT_COLUMNS = (
    "user_id",
    "username",
    "display_name",
    "team",
    "calls",
    "dialed",
    "connected",
    "connect_rate",
    "answered",
    "talk_time_s",
    "avg_talk_s",
    "calling_hours",
    "calls_per_hour",
    "callbacks_due",
    "callbacks_kept",
    "callback_keep_rate",
    "deals_won",
)
STEP_COLUMNS = (
    "process_id",
    "process_name",
    "element_id",
    "name",
    "completed",
    "avg_cycle_s",
    "median_cycle_s",
    "p90_cycle_s",
    "due",
    "breached",
    "breach_rate",
    "open",
    "open_avg_age_s",
    "open_max_age_s",
    "open_overdue",
)


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    file_name: str
    rows: int


def export_report(
    session: Session,
    report: str,
    scope: Scope,
    *,
    viewer: User,
    specs: SpecCache | None = None,
    source: str | None = None,
) -> ReportFile:
    """``report`` (funnel, agents, processes or trend) for ``scope`` as CSV; audited in the
    caller's transaction."""
    if report not in REPORTS:
        raise InvalidInput(
            "The report is funnel, agents, processes or trend.",
            code="unknown_report",
            details=[{"field": "report", "message": "use funnel, agents, processes or trend"}],
        )
    if not may_export(viewer):
        raise Forbidden("Exporting needs the manager, director or admin role.")
    builders: dict[str, Callable[[], list[list[Any]]]] = {
        "funnel": lambda: _funnel_rows(session, scope),
        "agents": lambda: _agent_rows(session, scope),
        "processes": lambda: _step_rows(session, scope, specs),
        "trend": lambda: _trend_rows(session, scope),
    }
    rows = builders[report]()
    audit.record(
        session,
        actor=viewer,
        action="export",
        entity_type="analytics",
        after={"report": report, "rows": len(rows) - 1, "filters": scope.filters()},
        source=source,
    )
    name = f"analytics-{report}-{scope.first_day.isoformat()}-{scope.last_day.isoformat()}.csv"
    return ReportFile(_csv(rows), name, len(rows) - 1)


def _funnel_rows(session: Session, scope: Scope) -> list[list[Any]]:
    report = funnel(session, scope)
    rows: list[list[Any]] = [["funnel", "step", "count", "from_previous", "from_first"]]
    rows += [["deals", s.step, s.count, s.from_previous, s.from_first] for s in report.stages]
    rows += [["leads", s.step, s.count, s.from_previous, s.from_first] for s in report.leads]
    rows += [
        ["deals", "outcome_won", report.won, report.win_rate, None],
        ["deals", "outcome_lost", report.lost, None, None],
        ["deals", "outcome_open", report.open, None, None],
    ]
    rows += [
        ["deals", f"won_amount_{currency}", str(amount), None, None]
        for currency, amount in sorted(report.won_amount.items())
    ]
    return rows


def _agent_rows(session: Session, scope: Scope) -> list[list[Any]]:
    report = agent_kpis(session, scope)
    everyone = [*report.agents, report.totals]
    currencies = sorted({c for a in everyone for c in a.revenue})
    rows: list[list[Any]] = [[*AGENT_COLUMNS, *(f"revenue_{c}" for c in currencies)]]
    for agent in everyone:
        values = agent.as_dict()
        if agent is report.totals:
            values["display_name"] = "total"
        rows.append(
            [values[c] for c in AGENT_COLUMNS]
            + [values["revenue"].get(c, "0.00") for c in currencies]
        )
    return rows


def _step_rows(session: Session, scope: Scope, specs: SpecCache | None) -> list[list[Any]]:
    report = process_kpis(session, scope, specs=specs)
    rows: list[list[Any]] = [list(STEP_COLUMNS)]
    for step in [*report.steps, report.totals]:
        values = step.as_dict()
        if step is report.totals:
            values["name"] = "total"
        rows.append([values[c] for c in STEP_COLUMNS])
    return rows


def _trend_rows(session: Session, scope: Scope) -> list[list[Any]]:
    report = daily_trend(session, scope)
    currencies = report.currencies
    rows: list[list[Any]] = [[*TREND_COLUMNS, *(f"revenue_{c}" for c in currencies)]]
    for entry in [*report.days, report.totals]:
        values = entry.as_dict()
        values.setdefault("day", "total")
        rows.append(
            [values[c] for c in TREND_COLUMNS]
            + [values["revenue"].get(c, "0.00") for c in currencies]
        )
    return rows


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(
            ["" if v is None else excel_safe(v) if isinstance(v, str) else v for v in row]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
