"""``/api/v1/analytics/{funnel,agents,processes,trend}`` and their CSV exports.

Filters (query string): ``from`` and ``to`` (``YYYY-MM-DD``, inclusive whole local days of
the selection's time zone: the chosen team's, else the installation's; default the last 30
days), ``team_id``, ``agent_id``. Agents get
their own figures, managers their team's, directors, process owners and admins everyone's;
a team or agent outside that is 403 ``outside_scope``. The figures' definitions are in the
docstrings of ``processes/analytics/``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from processes.analytics import agents, funnel, steps, trend
from processes.analytics.export import export_report
from processes.analytics.filters import Scope, resolve_scope
from web.api import api_bp
from web.api.auth import api_user, token_required
from web.api.imports import csv_download
from web.api.openapi import documented
from web.api.schemas import INT, STR, obj
from web.context import runtime, settings, unit_of_work

FILTERS = {
    "from": "first local day, YYYY-MM-DD (default: 29 days before `to`); days are those of "
    "the selection's time zone (`period.zone`): the team's when the figures are one team's, "
    "else the installation's",
    "to": "last local day, YYYY-MM-DD, inclusive (default: today in `period.zone`)",
    "team_id": "only this team's people",
    "agent_id": "only this person",
}
RATE = {"type": "number", "nullable": True, "description": "a fraction: 0.25 is 25 %"}
SECONDS = {"type": "number", "nullable": True, "description": "seconds"}
MONEY = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "per currency, never added across currencies: ISO code → amount as decimal "
    'text, e.g. {"CNY": "18800.00", "USD": "950.00"}; a currency without amounts is left out',
}
PERIOD = obj(
    {
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "zone": {
            "type": "string",
            "description": "the IANA time zone of the days and hours (the team's, else the "
            "installation's)",
        },
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "team_id": {"type": "integer", "nullable": True},
        "agent_id": {"type": "integer", "nullable": True},
    }
)
STEP = obj({"step": STR, "count": INT, "from_previous": RATE, "from_first": RATE})
FUNNEL = obj(
    {
        "period": PERIOD,
        "stages": {"type": "array", "items": STEP},
        "leads": {"type": "array", "items": STEP},
        "deals": INT,
        "won": INT,
        "lost": INT,
        "open": INT,
        "win_rate": RATE,
        "won_amount": MONEY,
    }
)
AGENT = obj(
    {
        "user_id": {"type": "integer", "nullable": True},
        "username": {"type": "string", "nullable": True},
        "display_name": STR,
        "team": {"type": "string", "nullable": True},
        **{name: INT for name in agents.COUNTED},
        "connect_rate": RATE,
        "avg_talk_s": SECONDS,
        "calls_per_hour": {
            "type": "number",
            "nullable": True,
            "description": "calls / calling_hours, the local clock hours of `period.zone` "
            "in which the agent called",
        },
        "callback_keep_rate": RATE,
        "revenue": MONEY,
    }
)
AGENTS = obj({"period": PERIOD, "agents": {"type": "array", "items": AGENT}, "totals": AGENT})
STEP_KPIS = obj(
    {
        "process_id": {"type": "string", "nullable": True},
        "element_id": {"type": "string", "nullable": True},
        "name": {"type": "string", "nullable": True},
        "process_name": {"type": "string", "nullable": True},
        "completed": INT,
        "avg_cycle_s": SECONDS,
        "median_cycle_s": SECONDS,
        "p90_cycle_s": SECONDS,
        "due": INT,
        "breached": INT,
        "breach_rate": RATE,
        "open": INT,
        "open_avg_age_s": SECONDS,
        "open_max_age_s": SECONDS,
        "open_overdue": INT,
    }
)
PROCESSES = obj(
    {"period": PERIOD, "steps": {"type": "array", "items": STEP_KPIS}, "totals": STEP_KPIS}
)
TREND_FIGURES = {
    **{name: INT for name in trend.COUNTED},
    "connect_rate": RATE,
    "revenue": MONEY,
}
TREND = obj(
    {
        "period": PERIOD,
        "days": {
            "type": "array",
            "items": obj(
                {"day": {"type": "string", "format": "date", "description": "local day"}}
                | TREND_FIGURES
            ),
            "description": "every local day of the period, in order, zeros included",
        },
        "totals": obj(TREND_FIGURES),
        "currencies": {
            "type": "array",
            "items": STR,
            "description": "the currencies with revenue in the period",
        },
    }
)


def scope_of(db: Session, viewer: Any, args: Any) -> Scope:
    """The request's filters, checked against the viewer's scope (the page uses it too)."""
    return resolve_scope(
        db,
        viewer,
        args,
        now=runtime().clock.now(),
        default_zone=settings().default_timezone,
    )


def period(scope: Scope) -> dict[str, Any]:
    return {
        "from": scope.first_day.isoformat(),
        "to": scope.last_day.isoformat(),
        "zone": scope.zone,
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
        "team_id": scope.team_id,
        "agent_id": scope.agent_id,
    }


@api_bp.get("/analytics/funnel")
@documented(
    "Deal funnel (deals created in the period: stages reached, conversion) and lead funnel "
    "(customers created in the period: called, connected, opportunity, won)",
    tag="analytics",
    errors=(401, 403, 422),
    response=FUNNEL,
    query=FILTERS,
)
@token_required
def get_funnel() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        scope = scope_of(db, api_user(), request.args)
        body = {"period": period(scope), **funnel.funnel(db, scope).as_dict()}
    return jsonify(body)


@api_bp.get("/analytics/agents")
@documented(
    "Agent KPIs for the period: calls, connect rate, talk time, calls per calling hour, "
    "callbacks kept, deals won and revenue, per agent and in total",
    tag="analytics",
    errors=(401, 403, 422),
    response=AGENTS,
    query=FILTERS,
)
@token_required
def get_agent_kpis() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        scope = scope_of(db, api_user(), request.args)
        body = {"period": period(scope), **agents.agent_kpis(db, scope).as_dict()}
    return jsonify(body)


@api_bp.get("/analytics/processes")
@documented(
    "Process KPIs per step: cycle time (average, median, p90) of the work completed in the "
    "period, SLA breaches of the work due in it, and the age of the work open now",
    tag="analytics",
    errors=(401, 403, 422),
    response=PROCESSES,
    query=FILTERS,
)
@token_required
def get_process_kpis() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        scope = scope_of(db, api_user(), request.args)
        report = steps.process_kpis(db, scope, specs=runtime().engine.specs)
        body = {"period": period(scope), **report.as_dict()}
    return jsonify(body)


@api_bp.get("/analytics/trend")
@documented(
    "Daily trend: per local day of the period, calls, dialed, connected calls, deals won and "
    "revenue per currency, with the same filters and scoping as the other reports",
    tag="analytics",
    errors=(401, 403, 422),
    response=TREND,
    query=FILTERS,
)
@token_required
def get_daily_trend() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        scope = scope_of(db, api_user(), request.args)
        body = {"period": period(scope), **trend.daily_trend(db, scope).as_dict()}
    return jsonify(body)


EXPORT = {
    "tag": "analytics",
    "errors": (401, 403, 422),
    "response_type": "text/csv",
    "response": {"type": "string", "format": "binary"},
    "query": FILTERS,
}
EXPORTED = "as CSV (UTF-8 with BOM), same filters; managers, directors and admins; audited"


@api_bp.get("/analytics/funnel/export")
@documented(f"The funnel {EXPORTED}", **EXPORT)
@token_required
def export_funnel() -> ResponseReturnValue:
    return _export("funnel")


@api_bp.get("/analytics/agents/export")
@documented(f"The agent KPIs {EXPORTED}", **EXPORT)
@token_required
def export_agent_kpis() -> ResponseReturnValue:
    return _export("agents")


@api_bp.get("/analytics/processes/export")
@documented(f"The process KPIs {EXPORTED}", **EXPORT)
@token_required
def export_process_kpis() -> ResponseReturnValue:
    return _export("processes")


@api_bp.get("/analytics/trend/export")
@documented(f"The daily trend {EXPORTED}", **EXPORT)
@token_required
def export_daily_trend() -> ResponseReturnValue:
    return _export("trend")


def _export(report: str) -> ResponseReturnValue:
    with unit_of_work() as db:
        scope = scope_of(db, api_user(), request.args)
        result = export_report(
            db, report, scope, viewer=api_user(), specs=runtime().engine.specs, source="api"
        )
    return csv_download(result.content, result.file_name)
