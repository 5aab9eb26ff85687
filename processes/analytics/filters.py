"""The reports' filters: a date range of whole local days, a team, an agent, and the row scope
the viewer is allowed (agents: themselves; managers: their team; directors, process owners and
administrators: everyone).

The days (and the hours the reports count or group by) are those of the business's time zone:
the installation's (``DIALFLOW_DEFAULT_TIMEZONE``, Asia/Shanghai by default and in the demo)
for figures across teams, and a team's own ``teams.timezone`` when the figures are one team's
(a team filter, an agent's figures: their team; a manager's or agent's own scope), the zone
that team's daily lead caps count in (``crm.assignment``). So one selection has the same days
whoever looks at it.

The query string is parsed here, not in the web layer, so the API and the page refuse the
same values with the same codes: a malformed value is ``422 invalid_filter``, an unknown team
or agent ``422 unknown_team`` / ``unknown_agent``, a period over a year ``422 period_too_long``,
and a team or agent outside the viewer's scope ``403 outside_scope``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from crm.models import Role, Team, User
from crm.scoping import SEES_ALL
from dialflow.errors import Forbidden, InvalidInput

DEFAULT_DAYS = 30
MAX_DAYS = 366
MAX_ID = 2**31 - 1  # PostgreSQL INTEGER
FIRST_YEAR, LAST_YEAR = 1900, 2999


@dataclass(frozen=True)
class Scope:
    """What a report covers: ``[start, end)`` in UTC (the local days ``first_day`` to
    ``last_day`` inclusive, in ``zone``), whose figures (``team_id``, ``agent_id``: the
    effective restriction, the viewer's own scope included), and ``now`` for open work."""

    first_day: date
    last_day: date
    zone: str
    start: datetime
    end: datetime
    now: datetime
    team_id: int | None = None
    agent_id: int | None = None

    def people(self, column: Any) -> ColumnElement[bool]:
        """A condition on a column holding a user id: the people whose figures are shown.
        Unrestricted, it is true, so rows without a person (an unowned deal) count too."""
        if self.agent_id is not None:
            return column == self.agent_id
        if self.team_id is not None:
            return column.in_(select(User.id).where(User.team_id == self.team_id))
        return true()

    @property
    def zone_range(self) -> tuple[str, datetime, datetime]:
        """``(zone, start, end)``, what ``sql.local_hour`` and ``sql.local_day`` take."""
        return self.zone, self.start, self.end

    @property
    def restricted(self) -> bool:
        return self.agent_id is not None or self.team_id is not None

    def filters(self) -> dict[str, Any]:
        """The filters as the query string takes them (for links, exports and the audit log)."""
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "team_id": self.team_id,
            "agent_id": self.agent_id,
        }


def zone_of(team: Team | None, default: str) -> str:
    """A team's time zone (the day it works), else the installation's; an unknown name in the
    team's row falls back to the installation's."""
    name = team.timezone if team is not None and team.timezone else default
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return default
    return name


def resolve_scope(
    session: Session,
    viewer: User,
    raw: Mapping[str, Any],
    *,
    now: datetime,
    default_zone: str = "Asia/Shanghai",
) -> Scope:
    """Parse ``from``/``to`` (``YYYY-MM-DD``, whole local days, inclusive; default the last 30
    days up to today), ``team_id`` and ``agent_id``, and narrow them to what ``viewer`` may
    see; the days are those of the selection's zone (see the module)."""
    if not viewer.active:
        raise Forbidden("This account is disabled.", code="outside_scope")
    given_last, given_first = _date(raw, "to"), _date(raw, "from")
    team_id, agent_id = _id(raw, "team_id"), _id(raw, "agent_id")
    team = _team(session, team_id) if team_id is not None else None
    agent = _agent(session, agent_id) if agent_id is not None else None
    if agent is not None and team is not None and agent.team_id != team.id:
        raise _invalid("agent_id", "This agent is not a member of the chosen team.")
    team_id, agent_id = _narrow(viewer, team, agent)
    zone = _zone(session, team_id, agent_id, default_zone)
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    last_day = given_last or today
    first_day = given_first or last_day - timedelta(days=DEFAULT_DAYS - 1)
    if first_day > last_day:
        raise _invalid("to", "The end date is before the start date.")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise InvalidInput(
            f"Choose a period of at most {MAX_DAYS} days.",
            code="period_too_long",
            details=[{"field": "from", "message": f"at most {MAX_DAYS} days"}],
        )
    start = datetime.combine(first_day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    return Scope(first_day, last_day, zone, start, end, now, team_id, agent_id)


def _zone(session: Session, team_id: int | None, agent_id: int | None, default: str) -> str:
    """The zone of the selection: the one team its figures are (an agent's: their team), else
    the installation's."""
    if agent_id is not None:
        agent = session.get(User, agent_id)
        team = agent.team if agent is not None else None
    else:
        team = session.get(Team, team_id) if team_id is not None else None
    return zone_of(team, default)


def _narrow(viewer: User, team: Team | None, agent: User | None) -> tuple[int | None, int | None]:
    """The effective (team_id, agent_id) for ``viewer``, or 403 for a team or agent outside
    their scope."""
    if viewer.role in SEES_ALL:
        return (team.id if team else None), (agent.id if agent else None)
    if viewer.role == Role.MANAGER and viewer.team_id is not None:
        if team is not None and team.id != viewer.team_id:
            raise _outside("team_id", "You may only see your own team's figures.")
        if agent is not None and agent.id != viewer.id and agent.team_id != viewer.team_id:
            raise _outside("agent_id", "You may only see the figures of your team's members.")
        return viewer.team_id, (agent.id if agent else None)
    # Agents (and managers without a team) see their own figures only.
    if team is not None and team.id != viewer.team_id:
        raise _outside("team_id", "You may only see your own figures.")
    if agent is not None and agent.id != viewer.id:
        raise _outside("agent_id", "You may only see your own figures.")
    return None, viewer.id


def _date(raw: Mapping[str, Any], name: str) -> date | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if not isinstance(value, str) or len(value.strip()) != 10:
            raise ValueError
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise _invalid(name, f"{name} must be a date such as 2026-05-01.") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # far dates would overflow the arithmetic
        raise _invalid(name, f"{name} must be a date between {FIRST_YEAR} and {LAST_YEAR}.")
    return day


def _id(raw: Mapping[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    # ASCII only: str.isdigit() also takes "²" and "①", which int() refuses.
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise _invalid(name, f"{name} must be a positive whole number (an id).")
    return int(text)


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise InvalidInput(
            "No such team.",
            code="unknown_team",
            details=[{"field": "team_id", "message": "no such team"}],
        )
    return team


def _agent(session: Session, agent_id: int) -> User:
    agent = session.get(User, agent_id)
    if agent is None:
        raise InvalidInput(
            "No such user.",
            code="unknown_agent",
            details=[{"field": "agent_id", "message": "no such user"}],
        )
    return agent


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        message, code="invalid_filter", details=[{"field": field, "message": message}]
    )


def _outside(field: str, message: str) -> Forbidden:
    return Forbidden(message, code="outside_scope", details=[{"field": field, "message": message}])
