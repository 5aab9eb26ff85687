"""``/analytics`` (数据分析): the funnel, agent KPIs, the daily trend and process KPIs with
charts, filters and CSV exports. Everyone signed in may open it; the figures follow
``processes.analytics``'s scope (agents their own, managers their team's, directors, process
owners and admins everyone's).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_percent, lazy_pgettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Role, Team, User
from crm.scoping import SEES_ALL
from dialflow.errors import DialflowError
from processes.analytics.agents import AgentReport, agent_kpis
from processes.analytics.export import export_report
from processes.analytics.filters import Scope
from processes.analytics.funnel import Funnel, funnel
from processes.analytics.steps import ProcessReport, process_kpis
from processes.analytics.trend import Trend, daily_trend
from web.api.analytics import scope_of
from web.api.imports import csv_download
from web.context import runtime, unit_of_work
from web.labels import deal_stage_label
from web.sales import sales_bp
from web.service_messages import task_title

LEAD_STEP_LABELS = {
    "leads": _l("New leads"),
    "called": _l("Called"),
    "connected": _l("Reached"),
    "opportunity": lazy_pgettext("lead funnel", "Opportunity"),
    "won": lazy_pgettext("lead funnel", "Won"),
}
FILTER_ERRORS = {
    "invalid_filter": _l(
        "Check the filters: dates look like 2026-05-01 and the end date is "
        "not before the start date."
    ),
    "period_too_long": _l("Choose a period of at most 366 days."),
    "unknown_team": _l("This team does not exist."),
    "unknown_agent": _l("This person does not exist."),
    "outside_scope": _l("You may only see your own figures, or your team's if you manage it."),
}


def _choices(db: Session) -> tuple[list[Team], list[User]]:
    """The teams and people the viewer may filter by."""
    if current_user.role in SEES_ALL:
        teams = list(db.scalars(select(Team).order_by(Team.name)))
        people = select(User).where(User.role == Role.AGENT)
    elif current_user.role == Role.MANAGER and current_user.team_id is not None:
        teams = [db.get(Team, current_user.team_id)]
        people = select(User).where(User.team_id == current_user.team_id, User.role == Role.AGENT)
    else:
        return [], []
    agents = db.scalars(people.where(User.active.is_(True)).order_by(User.display_name))
    return teams, list(agents)


def seconds_label(value: float | None) -> str:
    """A duration for people: 45 s, 8 min 20 s, 3 h 05 min, 2 d 4 h."""
    if value is None:
        return "—"
    seconds = round(value)
    if seconds < 60:
        return _("%(s)s s", s=seconds)
    if seconds < 3600:
        return _("%(m)s min %(s)s s", m=seconds // 60, s=seconds % 60)
    if seconds < 86400:
        return _("%(h)s h %(m)02d min", h=seconds // 3600, m=seconds % 3600 // 60)
    return _("%(d)s d %(h)s h", d=seconds // 86400, h=seconds % 86400 // 3600)


def percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, "#,##0.0%")


def _chart_data(
    deals: Funnel, people: AgentReport, steps: ProcessReport, days: Trend
) -> dict[str, Any]:
    """What the charts draw; the tables below them show the same figures. Money is one series
    per currency: amounts in different currencies are never added up."""
    named = [step for step in steps.steps if step.completed]
    return {
        "funnel": [
            {"name": deal_stage_label(s.step), "value": s.count, "stage": s.step}
            for s in deals.stages
        ],
        "agents": {
            "names": [a.display_name for a in people.agents],
            "calls": [a.calls for a in people.agents],
            "connect_rate": [
                None if a.connect_rate is None else round(a.connect_rate * 100, 1)
                for a in people.agents
            ],
        },
        "trend": {
            "days": [d.day.isoformat() for d in days.days if d.day is not None],
            "calls": [d.calls for d in days.days],
            "connected": [d.connected for d in days.days],
            "deals_won": [d.deals_won for d in days.days],
            "revenue": [
                {
                    "currency": currency,
                    "name": _("Revenue (%(currency)s)", currency=currency),
                    "values": [float(d.revenue.get(currency, Decimal(0))) for d in days.days],
                }
                for currency in days.currencies
            ],
        },
        "steps": {
            "names": [step_label(s) for s in named],
            "avg_h": [round((s.avg_cycle_s or 0) / 3600, 2) for s in named],
            "p90_h": [round((s.p90_cycle_s or 0) / 3600, 2) for s in named],
        },
    }


def step_label(step: Any) -> str:
    """The step's name in the diagram, in the reader's language for the shipped processes."""
    name = step.name or step.element_id or ""
    return task_title({"title": name, "process_id": step.process_id, "element_id": step.element_id})


@sales_bp.get("/analytics")
@login_required
def analytics_page() -> ResponseReturnValue:
    status, error = 200, None
    with unit_of_work(read_only=True) as db:
        teams, agents = _choices(db)
        try:
            scope = scope_of(db, current_user, request.args)
        except DialflowError as exc:
            status, error = exc.status, str(FILTER_ERRORS.get(exc.code, exc.message))
            scope = scope_of(db, current_user, {})
        deals = funnel(db, scope)
        people = agent_kpis(db, scope)
        days = daily_trend(db, scope)
        steps = process_kpis(db, scope, specs=runtime().engine.specs)
        body = render_template(
            "sales/analytics.html",
            scope=scope,
            filters=_links(scope),
            error=error,
            teams=teams,
            agents=agents,
            funnel=deals,
            people=people,
            steps=steps,
            trend=days,
            charts=_chart_data(deals, people, steps, days),
            lead_step_label=lambda v: str(LEAD_STEP_LABELS.get(v, v)),
            deal_stage_label=deal_stage_label,
            seconds_label=seconds_label,
            percent=percent,
            step_label=step_label,
        )
    return body, status


def _links(scope: Scope) -> dict[str, Any]:
    """The filters shown, as query-string values for the export links."""
    return {k: v for k, v in scope.filters().items() if v is not None}


@sales_bp.get("/analytics/export/<report>")
@login_required
def analytics_export(report: str) -> ResponseReturnValue:
    with unit_of_work() as db:
        scope = scope_of(db, current_user, request.args)
        result = export_report(
            db, report, scope, viewer=current_user, specs=runtime().engine.specs, source="web"
        )
    return csv_download(result.content, result.file_name)
