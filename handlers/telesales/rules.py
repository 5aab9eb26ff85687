"""What the telesales operators share: the rules in force for a customer (settings, or values
pinned in the diagram through ``OVERRIDES``), time helpers and notifications."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import jsonschema
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import compliance
from crm.models import (
    Customer,
    Disposition,
    Notification,
    User,
)
from handlers.registry import HandlerContext
from processes import settings

UNANSWERED = (Disposition.NO_ANSWER, Disposition.BUSY, Disposition.VOICEMAIL)
CLOSING = {"wrong_number": "wrong number", "not_interested": "not interested"}


def after(start: datetime, iso_duration: str) -> datetime:
    """``start`` plus the duration; one longer than settings allow (a value pinned in a
    diagram) fails the task instead of counting its months out for ever."""
    problem = settings.duration_problem(iso_duration)
    if problem is not None:
        raise ValueError(f"The duration {iso_duration!r} is too long: {problem}.")
    parsed = TimerEventDefinition.parse_iso_duration(iso_duration)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def window_for(
    session: Session,
    customer: Customer,
    window_start: str | None = None,
    window_end: str | None = None,
) -> compliance.Window:
    team_id = settings.customer_team_id(session, customer)
    given = {"window_start": window_start, "window_end": window_end}
    return compliance.Window.from_setting(rules_in_force(session, "calling_window", team_id, given))


# Optional operator parameters that stand in for one field of a setting: (setting, field).
OVERRIDES: dict[str, tuple[str, str]] = {
    "window_start": ("calling_window", "start"),
    "window_end": ("calling_window", "end"),
    "daily_attempt_cap": ("compliance", "daily_attempt_cap"),
    "first_call_sla": ("assignment", "first_call_sla"),
    "reclaim_after_days": ("pool", "reclaim_after_days"),
    "warning_days_before": ("pool", "warning_days_before"),
    "retry_backoff": ("cadence", "retry_backoff"),
    "max_attempts_per_day": ("cadence", "max_attempts_per_day"),
    "max_attempts_total": ("cadence", "max_attempts_total"),
}
WINDOW = ("window_start", "window_end")


def rules_in_force(
    session: Session, key: str, team_id: int | None, given: dict[str, Any]
) -> dict[str, Any]:
    """The setting ``key`` in force for the team, with the fields the diagram gives replaced."""
    value = settings.effective(session, key, team_id)
    for name, given_value in given.items():
        setting_key, field_name = OVERRIDES[name]
        if setting_key == key and given_value is not None:
            if name == "retry_backoff":
                given_value = _backoff_list(given_value)
            value[field_name] = given_value
    return value


def _backoff_list(value: Any) -> Any:
    """``"PT30M, PT2H"`` → ``["PT30M", "PT2H"]``: a list is easier typed as text."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def describe_override(name: str, what: str) -> str:
    key, field_name = OVERRIDES[name]
    return f"{what} Empty: the {key}.{field_name} setting of the customer's team."


def check_overrides(values: dict[str, Any]) -> list[str]:
    """Problems of pinned rule values: the setting's own schema, and for a calling window the
    hours 08:00-22:00 and an end after the start."""
    problems = []
    for name, value in values.items():
        if name not in OVERRIDES or value is None:
            continue
        key, field_name = OVERRIDES[name]
        schema = settings.definition(key).schema["properties"][field_name]
        value = _backoff_list(value) if name == "retry_backoff" else value
        for error in jsonschema.Draft202012Validator(schema).iter_errors(value):
            problems.append(f"{name} {value!r}: {error.message}")
    start, end = values.get("window_start"), values.get("window_end")
    if problems or start is None or end is None:  # the registry asks for both or neither
        return problems
    if time.fromisoformat(start) < settings.EARLIEST_CALL:
        problems.append(f"window_start {start!r}: calls may not start before 08:00")
    if time.fromisoformat(end) > settings.LATEST_CALL:
        problems.append(f"window_end {end!r}: calls may not end after 22:00")
    if start >= end:
        problems.append(f"window_end {end!r} must be after window_start {start!r}")
    return problems


WINDOW_HELP = {
    "window_start": describe_override(
        "window_start", "Start of the customer's local calling window, e.g. '10:00'."
    ),
    "window_end": describe_override(
        "window_end", "End of the customer's local calling window, e.g. '18:00'."
    ),
}


def notify(session: Session, user_id: int | None, message: str, ctx: HandlerContext) -> None:
    if user_id is None:
        return
    session.add(
        Notification(
            user_id=user_id, message=message[:2000], instance_id=ctx.instance_id, created_at=ctx.now
        )
    )


def username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def manager_of(session: Session, user: User | None) -> User | None:
    if user is None or user.manager_id is None:
        return None
    return session.get(User, user.manager_id)


def candidate(user: User | None, fallback_role: str) -> str:
    return f"user:{user.username}" if user is not None else f"group:{fallback_role}"
