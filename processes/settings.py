"""The telesales processes' settings: what a manager may change without touching a diagram.

Each setting is a JSON object with a JSON Schema and a default. A value is stored for the whole
organisation (scope ``global``) or for one team (``team:<id>``); reading merges default ←
global ← team, key by key, so a team overrides only what it sets. The service tasks of the
shipped diagrams read settings when they run, so a change applies to the next step of every
running instance without a new deploy. Thresholds that decide *who* (discount tiers, lead
routing) live in the DMN tables next to the diagrams instead.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import jsonschema
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit, compliance
from crm.models import GLOBAL_SCOPE, Customer, Setting, Team, User
from dialflow.db import inserted_first
from dialflow.errors import Forbidden, InvalidInput, NotFound

ISO_DURATION = r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"
CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
# The longest wait a duration setting may give: SpiffWorkflow counts a duration's years and
# months out one month at a time, and a date past year 9999 does not exist, so P99999999Y
# would hold a request (and its step) busy for good.
MAX_DURATION_DAYS = 5 * 366
_DURATION_PARTS = re.compile(ISO_DURATION)
_DAYS_PER = (366, 31, 7, 1, None, 1 / 24, 1 / 1440, 1 / 86400)  # Y M W D (T) H M S


def duration_days(iso_duration: str) -> float | None:
    """About how many days an ISO 8601 duration of ``ISO_DURATION``'s form lasts (at most:
    years of 366 days, months of 31), or None when it is not of that form."""
    match = _DURATION_PARTS.match(iso_duration)
    if match is None:
        return None
    total = 0.0
    for part, days in zip(match.groups(), _DAYS_PER, strict=True):
        if part and days is not None:
            total += int(part[:-1]) * days
    return total


def duration_problem(iso_duration: str) -> str | None:
    days = duration_days(iso_duration)
    if days is not None and days > MAX_DURATION_DAYS:
        return "at most 5 years (P5Y)"
    return None


@dataclass(frozen=True)
class Definition:
    key: str
    description: str
    default: dict[str, Any]
    schema: dict[str, Any]


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _count(minimum: int = 0, maximum: int = 100_000) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


DEFINITIONS: dict[str, Definition] = {
    d.key: d
    for d in [
        Definition(
            "calling_window",
            "Local hours in which customers may be called (never 22:00-08:00).",
            {"start": "09:00", "end": "21:00"},
            _object(
                {
                    "start": {"type": "string", "pattern": CLOCK_TIME},
                    "end": {"type": "string", "pattern": CLOCK_TIME},
                }
            ),
        ),
        Definition(
            "compliance",
            "Per-customer limits applied before every call.",
            {"daily_attempt_cap": 3},
            _object({"daily_attempt_cap": _count(1, 50)}),
        ),
        Definition(
            "assignment",
            "Lead assignment: first-call SLA and the default daily cap per agent.",
            {"first_call_sla": "PT2H", "default_daily_cap": 30},
            _object(
                {
                    "first_call_sla": {"type": "string", "pattern": ISO_DURATION},
                    "default_daily_cap": _count(0, 10_000),
                }
            ),
        ),
        Definition(
            "cadence",
            "Retries after no answer or busy: backoff per attempt, caps per day and in total.",
            {
                "retry_backoff": ["PT1H", "PT3H"],
                "max_attempts_per_day": 3,
                "max_attempts_total": 6,
            },
            _object(
                {
                    "retry_backoff": {
                        "type": "array",
                        "items": {"type": "string", "pattern": ISO_DURATION},
                        "minItems": 1,
                        "maxItems": 20,
                    },
                    "max_attempts_per_day": _count(1, 50),
                    "max_attempts_total": _count(1, 500),
                }
            ),
        ),
        Definition(
            "pool",
            "Public pool: reclaim after days without follow-up, claim caps, protection.",
            {
                "reclaim_after_days": 7,
                "warning_days_before": 1,
                "daily_claim_cap": 5,
                "holding_cap": 200,
                "protection_days": 3,
            },
            _object(
                {
                    "reclaim_after_days": _count(1, 365),
                    "warning_days_before": _count(0, 30),
                    "daily_claim_cap": _count(0, 1000),
                    "holding_cap": _count(0, 100_000),
                    "protection_days": _count(0, 365),
                }
            ),
        ),
        Definition(
            "approval",
            "Deal approval: how long an approver has before the task escalates.",
            {"escalate_after": "PT24H"},
            _object({"escalate_after": {"type": "string", "pattern": ISO_DURATION}}),
        ),
        Definition(
            "after_sale",
            "After-sale follow-up calls (回访) after a won deal, and the score that alerts.",
            {"visits": ["P3D", "P30D"], "low_score_at_most": 2},
            _object(
                {
                    "visits": {
                        "type": "array",
                        "items": {"type": "string", "pattern": ISO_DURATION},
                        "minItems": 1,
                        "maxItems": 12,
                    },
                    "low_score_at_most": _count(1, 5),
                }
            ),
        ),
    ]
}

EARLIEST_CALL = time(8, 0)  # the hard limits: no calls 22:00-08:00 whatever a team sets
LATEST_CALL = time(22, 0)


def team_scope(team_id: int | None) -> str:
    return GLOBAL_SCOPE if team_id is None else f"team:{team_id}"


def definition(key: str) -> Definition:
    found = DEFINITIONS.get(key)
    if found is None:
        raise NotFound(f"No setting {key!r}.", code="setting_not_found")
    return found


def effective(session: Session, key: str, team_id: int | None = None) -> dict[str, Any]:
    """The value in force for a team: default ← global ← team, merged key by key."""
    value = copy.deepcopy(definition(key).default)
    if team_id is not None and not isinstance(team_id, int):
        team_id = None
    scopes = [GLOBAL_SCOPE] + ([team_scope(team_id)] if team_id is not None else [])
    rows = {
        row.scope: row.value
        for row in session.scalars(
            select(Setting).where(Setting.key == key, Setting.scope.in_(scopes))
        )
    }
    for scope in scopes:
        if isinstance(rows.get(scope), dict):
            value.update(rows[scope])
    return value


def customer_team_id(session: Session, customer: Customer) -> int | None:
    """The team whose settings apply to a customer: theirs, else their owner's."""
    if customer.team_id is not None:
        return customer.team_id
    if customer.owner_id is not None:
        owner = session.get(User, customer.owner_id)
        return owner.team_id if owner else None
    return None


def calling_rules(session: Session, customer: Customer) -> tuple[compliance.Window, int]:
    """The calling window and the daily attempt cap in force for a customer."""
    team_id = customer_team_id(session, customer)
    window = compliance.Window.from_setting(effective(session, "calling_window", team_id))
    return window, int(effective(session, "compliance", team_id)["daily_attempt_cap"])


def stored(session: Session, key: str, team_id: int | None) -> dict[str, Any] | None:
    definition(key)
    row = session.scalar(
        select(Setting).where(Setting.key == key, Setting.scope == team_scope(team_id))
    )
    return row.value if row is not None else None


def validate(key: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a (partial) value against the setting's schema, and the value it makes effective
    (``base``, default: the setting's default, with ``value`` over it) against the rules across
    keys; 422 with one detail per problem."""
    found = definition(key)
    if not isinstance(value, dict):
        raise InvalidInput(
            f"Setting {key!r} must be a JSON object.",
            details=[{"field": "value", "message": "expected an object"}],
        )
    validator = jsonschema.Draft202012Validator(found.schema)
    problems = [
        {
            "field": ".".join(str(p) for p in ("value", *error.absolute_path)),
            "message": error.message,
        }
        for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]
    if key == "calling_window" and not problems:
        problems += _window_problems({**(found.default if base is None else base), **value})
    if not problems:
        problems += _duration_problems(value)
    if problems:
        raise InvalidInput(f"The value of {key!r} is not valid.", details=problems)
    return value


def _duration_problems(value: Any, path: tuple[Any, ...] = ("value",)) -> list[dict[str, str]]:
    if isinstance(value, str):
        problem = duration_problem(value)
        return [] if problem is None else [{"field": ".".join(map(str, path)), "message": problem}]
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    return [found for k, v in items for found in _duration_problems(v, (*path, k))]


def _window_problems(window: dict[str, str]) -> list[dict[str, str]]:
    start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
    problems = []
    if start < EARLIEST_CALL:
        problems.append({"field": "value.start", "message": "calls may not start before 08:00"})
    if end > LATEST_CALL:
        problems.append({"field": "value.end", "message": "calls may not end after 22:00"})
    if start >= end:
        problems.append({"field": "value.end", "message": "the window must end after it starts"})
    return problems


def require_team(session: Session, team_id: int | None) -> None:
    """404 ``team_not_found`` for a team id no team has (None: the global scope)."""
    if team_id is not None and session.get(Team, team_id) is None:
        raise NotFound(f"No team #{team_id}.", code="team_not_found")


def may_change(user: User, team_id: int | None) -> bool:
    """Managers change their own team's settings; directors, admins and process owners (who
    own how the processes behave) change any scope."""
    if user.role.value in ("admin", "director", "process_owner"):
        return True
    return user.role.value == "manager" and team_id is not None and team_id == user.team_id


def save(
    session: Session,
    key: str,
    value: Any,
    *,
    team_id: int | None,
    actor: User,
    now: datetime,
    merge: bool = True,
) -> dict[str, Any]:
    """Store a team's (or the global) value, audited; returns the new effective value.

    With ``merge`` (the API's partial update) the keys left out keep their stored value;
    without it (a page's whole form) the value replaces what the scope stored, and the keys
    left out fall back to the global value or the default. Either way the value then in force
    is checked as a whole (a window must end after it starts)."""
    validate(key, value)
    require_team(session, team_id)
    if not may_change(actor, team_id):
        raise Forbidden("You may not change this setting.")
    sent = value
    scope = team_scope(team_id)
    row = session.scalar(select(Setting).where(Setting.key == key, Setting.scope == scope))
    before = row.value if row is not None else None
    if merge and isinstance(before, dict):
        value = {**before, **value}
    inherited = effective(session, key, None) if team_id is not None else definition(key).default
    validate(key, value, base=inherited)
    if row is None:
        row = Setting(key=key, scope=scope, value=value, updated_by_id=actor.id, updated_at=now)
        if not inserted_first(session, row):
            # Another request stored this scope's first value meanwhile: change that one.
            return save(session, key, sent, team_id=team_id, actor=actor, now=now, merge=merge)
    else:
        row.value, row.updated_by_id, row.updated_at = value, actor.id, now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="setting",
        entity_id=f"{key}@{scope}",
        before={"value": before},
        after={"value": value},
    )
    return effective(session, key, team_id)
