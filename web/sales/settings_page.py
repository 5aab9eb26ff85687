"""``/settings``: the telesales settings as forms: default, inherited, this scope's value and
the value in force, saved through ``processes.settings.save`` (validated, audited).

A field left blank is not stored at this scope: the team inherits the global value (and the
global scope the default). Lists of durations are typed comma-separated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Role, Team
from dialflow.errors import Forbidden, InvalidInput, NotFound
from processes import settings as process_settings
from processes.settings import CLOCK_TIME
from web.context import runtime, unit_of_work
from web.sales import MANAGERS, roles_required, sales_bp

TITLES = {
    "calling_window": _l("Calling window"),
    "compliance": _l("Compliance"),
    "assignment": _l("Lead assignment"),
    "cadence": _l("Call cadence"),
    "pool": _l("Public pool"),
    "approval": _l("Discount approval"),
    "after_sale": _l("After-sale follow-up"),
}
DESCRIPTIONS = {
    "calling_window": _l("Local hours in which customers may be called (never 22:00-08:00)."),
    "compliance": _l("Per-customer limits applied before every call."),
    "assignment": _l("Lead assignment: first-call SLA and the default daily cap per agent."),
    "cadence": _l(
        "Retries after no answer or busy: backoff per attempt, caps per day and in total."
    ),
    "pool": _l("Public pool: reclaim after days without follow-up, claim caps, protection."),
    "approval": _l("Deal approval: how long an approver has before the task escalates."),
    "after_sale": _l("After-sale follow-up calls after a won deal, and the score that alerts."),
}
LABELS = {
    "start": _l("Calls start at"),
    "end": _l("Calls end at"),
    "daily_attempt_cap": _l("Call attempts per customer per day"),
    "first_call_sla": _l("First call within"),
    "default_daily_cap": _l("Leads per agent per day"),
    "retry_backoff": _l("Wait before each retry"),
    "max_attempts_per_day": _l("Attempts per day"),
    "max_attempts_total": _l("Attempts in total"),
    "reclaim_after_days": _l("Back to the pool after days without follow-up"),
    "warning_days_before": _l("Warn the owner days before"),
    "daily_claim_cap": _l("Claims per agent per day"),
    "holding_cap": _l("Open leads an agent may hold"),
    "protection_days": _l("Days a claimed lead is protected"),
    "escalate_after": _l("Escalate after"),
    "visits": _l("Follow-up calls after the win"),
    "low_score_at_most": _l("Alert the manager at a score of at most"),
}
WINDOW_MESSAGES = {
    "calls may not start before 08:00": _l("Calls may not start before 08:00."),
    "calls may not end after 22:00": _l("Calls may not end after 22:00."),
    "the window must end after it starts": _l("The window must end after it starts."),
}


@dataclass
class SettingField:
    name: str
    label: str
    kind: str  # integer, duration, durations, clock
    value: str  # what this scope stores (the input's value)
    inherited: str  # what applies when the field is blank
    default: str
    effective: str
    error: str | None = None
    minimum: int | None = None
    maximum: int | None = None


def _kind(prop: dict[str, Any]) -> str:
    if prop.get("type") == "integer":
        return "integer"
    if prop.get("type") == "array":
        return "durations"
    return "clock" if prop.get("pattern") == CLOCK_TIME else "duration"


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _hint(prop: dict[str, Any], kind: str) -> str:
    if kind == "integer":
        return _(
            "Enter a whole number from %(min)s to %(max)s.",
            min=prop.get("minimum", 0),
            max=prop.get("maximum", 0),
        )
    if kind == "clock":
        return _("Enter a time of day as HH:MM, for example 09:00.")
    if kind == "durations":
        return _("Enter ISO 8601 durations separated by commas, for example PT1H, PT3H, P1D.")
    return _("Enter an ISO 8601 duration, for example PT2H or P3D.")


def _fields(
    db: Session,
    key: str,
    team_id: int | None,
    *,
    submitted: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> list[SettingField]:
    definition = process_settings.definition(key)
    stored = process_settings.stored(db, key, team_id) or {}
    parent = (
        process_settings.effective(db, key, None) if team_id is not None else definition.default
    )
    effective = process_settings.effective(db, key, team_id)
    fields = []
    for name, prop in definition.schema["properties"].items():
        kind = _kind(prop)
        value = submitted.get(name, "") if submitted is not None else _show(stored.get(name))
        fields.append(
            SettingField(
                name=name,
                label=str(LABELS.get(name, name)),
                kind=kind,
                value=value,
                inherited=_show(parent.get(name)),
                default=_show(definition.default.get(name)),
                effective=_show(effective.get(name)),
                error=(errors or {}).get(name),
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
            )
        )
    return fields


def _parse(key: str, form: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The form → (value to store, errors by field, raw inputs)."""
    schema = process_settings.definition(key).schema["properties"]
    value: dict[str, Any] = {}
    errors: dict[str, str] = {}
    raw: dict[str, str] = {}
    for name, prop in schema.items():
        text = str(form.get(name, "")).strip()[:500]
        raw[name] = text
        if not text:
            continue
        kind = _kind(prop)
        if kind == "integer":
            if not (text.isascii() and text.lstrip("-").isdigit()):
                errors[name] = _hint(prop, kind)
                continue
            value[name] = int(text)
        elif kind == "durations":
            value[name] = [part.strip().upper() for part in text.split(",") if part.strip()]
        elif kind == "duration":
            value[name] = text.upper()
        else:
            value[name] = text
    return value, errors, raw


def _scope(db: Session, raw: str | None) -> tuple[int | None, list[Team]]:
    """The scope shown and saved: managers their team; directors, admins and process owners
    any team (or global)."""
    if current_user.role in (Role.DIRECTOR, Role.ADMIN, Role.PROCESS_OWNER):
        teams = list(db.scalars(select(Team).order_by(Team.name)))
        if raw in (None, "", "global"):
            return None, teams
        if raw.isascii() and raw.isdigit() and any(t.id == int(raw) for t in teams):
            return int(raw), teams
        raise NotFound("No such team.", code="team_not_found")
    if current_user.team_id is None:
        raise Forbidden("You have no team whose settings you could change.")
    if raw not in (None, "", str(current_user.team_id)):
        raise NotFound("No such team.", code="team_not_found")
    return current_user.team_id, [current_user.team]


def _render(
    db: Session,
    team_id: int | None,
    teams: list[Team],
    *,
    failed: tuple[str, dict[str, str], dict[str, str]] | None = None,
) -> str:
    sections = []
    for key, definition in process_settings.DEFINITIONS.items():
        submitted = errors = None
        if failed is not None and failed[0] == key:
            submitted, errors = failed[2], failed[1]
        fields = _fields(db, key, team_id, submitted=submitted, errors=errors)
        sections.append(
            {
                "key": key,
                "title": TITLES.get(key, key),
                "description": DESCRIPTIONS.get(key, definition.description),
                "fields": fields,
                "hints": {
                    f.name: _hint(
                        process_settings.definition(key).schema["properties"][f.name], f.kind
                    )
                    for f in fields
                },
                "failed": bool(errors),
            }
        )
    team = next((t for t in teams if t.id == team_id), None)
    return render_template(
        "sales/settings.html", sections=sections, team=team, teams=teams, team_id=team_id
    )


@sales_bp.get("/settings")
@roles_required(*MANAGERS, "process_owner")
def settings_page() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        team_id, teams = _scope(db, request.args.get("team"))
        return _render(db, team_id, teams)


@sales_bp.post("/settings/<key>")
@roles_required(*MANAGERS, "process_owner")
def save_setting(key: str) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        process_settings.definition(key)  # 404 for an unknown key
        team_id, teams = _scope(db, request.form.get("team"))
    value, errors, raw = _parse(key, request.form)
    if not errors:
        try:
            with unit_of_work() as db:
                process_settings.save(
                    db,
                    key,
                    value,
                    team_id=team_id,
                    actor=current_user,
                    now=runtime().clock.now(),
                    merge=False,  # the form holds every key; an empty one inherits
                )
            flash(_("%(setting)s saved.", setting=TITLES.get(key, key)), "ok")
            return redirect(url_for("sales.settings_page", team=team_id or "global") + f"#{key}")
        except InvalidInput as exc:
            errors = _errors_by_field(key, exc.details)
    with unit_of_work(read_only=True) as db:
        return _render(db, team_id, teams, failed=(key, errors, raw)), 422


def _errors_by_field(key: str, details: list[dict[str, Any]]) -> dict[str, str]:
    props = process_settings.definition(key).schema["properties"]
    errors: dict[str, str] = {}
    for detail in details:
        parts = str(detail.get("field", "")).split(".")
        name = parts[1] if len(parts) > 1 and parts[0] == "value" else ""
        message = str(detail.get("message", ""))
        if message in WINDOW_MESSAGES:
            errors.setdefault(name or "end", str(WINDOW_MESSAGES[message]))
        elif name in props:
            errors.setdefault(name, _hint(props[name], _kind(props[name])))
        else:
            errors.setdefault("_form", message)
    return errors
