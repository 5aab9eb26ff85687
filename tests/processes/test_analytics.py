"""Analytics figures on hand-built rows whose expected values are worked out in
``tests/processes/analytics_data.py``; filters and scoping of ``resolve_scope``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from crm.models import User
from dialflow.errors import Forbidden, InvalidInput
from engine.specs import SpecCache
from processes.analytics.agents import agent_kpis
from processes.analytics.filters import resolve_scope
from processes.analytics.funnel import funnel
from processes.analytics.steps import process_kpis
from tests.processes.analytics_data import NOW, PERIOD, Books, build


@pytest.fixture
def books(db: Callable[..., Any]) -> Books:
    return build(db)


def scope_for(session: Any, books: Books, viewer: str, **raw: Any) -> Any:
    user = session.get(User, books.id(viewer))
    return resolve_scope(session, user, {**PERIOD, **raw}, now=NOW)


def test_period_is_the_local_days_inclusive(db, books) -> None:
    with db() as session:
        scope = scope_for(session, books, "admin")
    assert scope.start == datetime(2026, 3, 1, 16, tzinfo=UTC)
    assert scope.end == datetime(2026, 3, 8, 16, tzinfo=UTC)
    assert scope.zone == "Asia/Shanghai"


def test_default_period_is_the_last_30_days_up_to_today(db, books) -> None:
    with db() as session:
        user = session.get(User, books.id("admin"))
        scope = resolve_scope(session, user, {}, now=NOW)
    # 2026-03-10 04:00 UTC is 12:00 in Shanghai: today is 03-10.
    assert (scope.first_day, scope.last_day) == (date(2026, 2, 9), date(2026, 3, 10))


def test_deal_funnel_counts_stages_reached_or_passed(db, books) -> None:
    with db() as session:
        report = funnel(session, scope_for(session, books, "admin"))
    counts = {s.step: s.count for s in report.stages}
    assert counts == {"qualification": 6, "proposal": 5, "negotiation": 3, "approval": 3, "won": 2}
    by_step = {s.step: s for s in report.stages}
    assert by_step["qualification"].from_previous is None
    assert by_step["proposal"].from_previous == pytest.approx(0.8333)
    assert by_step["negotiation"].from_previous == pytest.approx(0.6)
    assert by_step["approval"].from_previous == pytest.approx(1.0)
    assert by_step["won"].from_previous == pytest.approx(0.6667)
    assert by_step["won"].from_first == pytest.approx(0.3333)
    assert (report.deals, report.won, report.lost, report.open) == (6, 2, 1, 3)
    assert report.win_rate == pytest.approx(0.6667)
    assert report.won_amount == {"CNY": Decimal("24000.00")}


def test_lead_funnel(db, books) -> None:
    with db() as session:
        report = funnel(session, scope_for(session, books, "admin"))
    assert [(s.step, s.count) for s in report.leads] == [
        ("leads", 4),
        ("called", 3),
        ("connected", 2),
        ("opportunity", 3),
        ("won", 2),
    ]


def test_funnel_of_a_team_and_of_an_agent(db, books) -> None:
    with db() as session:
        team_id = books.users["a1"].team_id
        east = funnel(session, scope_for(session, books, "admin", team_id=team_id))
        a2 = funnel(session, scope_for(session, books, "admin", agent_id=books.id("a2")))
    assert [s.count for s in east.stages] == [5, 4, 2, 2, 1]
    assert east.won_amount == {"CNY": Decimal("9000.00")}
    assert [s.count for s in a2.stages] == [2, 1, 1, 1, 0]
    assert a2.win_rate is None  # nothing closed yet


def test_agent_kpis(db, books) -> None:
    with db() as session:
        report = agent_kpis(session, scope_for(session, books, "admin"))
    rows = {a.username: a for a in report.agents}
    assert set(rows) == {"a1", "a2", "a3"}  # managers have no figures in the period
    a1 = rows["a1"]
    assert (a1.calls, a1.dialed, a1.connected, a1.answered) == (5, 4, 3, 4)
    assert a1.connect_rate == pytest.approx(0.75)
    assert (a1.talk_time_s, a1.avg_talk_s) == (520, 130.0)
    assert (a1.calling_hours, a1.calls_per_hour) == (3, 1.67)
    assert (a1.callbacks_due, a1.callbacks_kept) == (3, 1)
    assert a1.callback_keep_rate == pytest.approx(0.3333)
    assert (a1.deals_won, a1.revenue) == (2, {"CNY": Decimal("14000.00")})
    a2 = rows["a2"]
    assert (a2.calls, a2.connected, a2.connect_rate, a2.talk_time_s) == (2, 1, 0.5, 20)
    assert (a2.callbacks_due, a2.callback_keep_rate) == (0, None)  # the cancelled one
    a3 = rows["a3"]
    assert (a3.deals_won, a3.revenue) == (1, {"CNY": Decimal("15000.00")})
    totals = report.totals
    assert (totals.calls, totals.dialed, totals.connected) == (8, 7, 5)
    assert totals.calling_hours == 5
    assert totals.calls_per_hour == pytest.approx(1.6)
    assert totals.revenue == {"CNY": Decimal("29000.00")}


def test_process_kpis_per_step_and_totals(db, books) -> None:
    with db() as session:
        report = process_kpis(session, scope_for(session, books, "admin"), specs=SpecCache())
    steps = {s.element_id: s for s in report.steps}
    call, approve = steps["call"], steps["approve"]
    assert (call.name, call.process_name) == ("Call back", "Follow-up")
    assert call.completed == 2
    assert (call.avg_cycle_s, call.median_cycle_s, call.p90_cycle_s) == (4500, 1800, 7200)
    assert (call.due, call.breached, call.breach_rate) == (3, 3, 1.0)
    assert (call.open, call.open_max_age_s, call.open_overdue) == (2, 439200, 2)
    assert call.open_avg_age_s == pytest.approx((439200 + 93600) / 2)
    assert (approve.completed, approve.avg_cycle_s) == (3, 7200)
    assert (approve.median_cycle_s, approve.p90_cycle_s) == (7200, 10800)
    assert (approve.due, approve.breached, approve.breach_rate) == (2, 1, 0.5)
    assert (approve.open, approve.open_overdue, approve.open_max_age_s) == (2, 1, 86400)
    totals = report.totals
    assert (totals.completed, totals.avg_cycle_s) == (5, 6120)
    assert (totals.median_cycle_s, totals.p90_cycle_s) == (7200, 10800)
    assert (totals.due, totals.breached, totals.open, totals.open_overdue) == (5, 4, 4, 3)


def test_process_kpis_of_a_team_leave_out_unassigned_work(db, books) -> None:
    with db() as session:
        report = process_kpis(session, scope_for(session, books, "m1"))
    approve = {s.element_id: s for s in report.steps}["approve"]
    assert (approve.open, approve.open_max_age_s) == (1, 86400)


def test_agents_see_only_their_own_figures(db, books) -> None:
    with db() as session:
        scope = scope_for(session, books, "a2")
        agents = agent_kpis(session, scope)
        steps = process_kpis(session, scope)
        deals = funnel(session, scope)
    assert [a.username for a in agents.agents] == ["a2"]
    assert steps.steps == []  # a2's only work item was withdrawn
    assert [s.count for s in deals.stages] == [2, 1, 1, 1, 0]


def test_managers_see_their_team(db, books) -> None:
    with db() as session:
        report = agent_kpis(session, scope_for(session, books, "m1"))
        south = agent_kpis(session, scope_for(session, books, "m2"))
    assert {a.username for a in report.agents} == {"a1", "a2"}
    assert [a.username for a in south.agents] == ["a3"]


@pytest.mark.parametrize(
    ("viewer", "raw", "code"),
    [
        ("a1", {"agent_id": "a2"}, "outside_scope"),
        ("a1", {"team_id": "South"}, "outside_scope"),
        ("m1", {"team_id": "South"}, "outside_scope"),
        ("m1", {"agent_id": "a3"}, "outside_scope"),
    ],
)
def test_filters_outside_the_scope_are_forbidden(db, books, viewer, raw, code) -> None:
    with db() as session:
        values = _ids(session, books, raw)
        with pytest.raises(Forbidden) as caught:
            scope_for(session, books, viewer, **values)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        ({"from": "2026-13-01"}, "invalid_filter", "from"),
        ({"to": "yesterday"}, "invalid_filter", "to"),
        ({"from": "2026-03-09", "to": "2026-03-01"}, "invalid_filter", "to"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, "period_too_long", "from"),
        ({"from": "9999-12-31"}, "invalid_filter", "from"),
        ({"to": "0001-01-01"}, "invalid_filter", "to"),
        ({"team_id": "x"}, "invalid_filter", "team_id"),
        ({"agent_id": "-3"}, "invalid_filter", "agent_id"),
        ({"agent_id": "99999999999"}, "invalid_filter", "agent_id"),
        ({"team_id": "999999"}, "unknown_team", "team_id"),
        ({"agent_id": "999999"}, "unknown_agent", "agent_id"),
        ({"team_id": "South", "agent_id": "a1"}, "invalid_filter", "agent_id"),
    ],
)
def test_bad_filters_are_refused(db, books, raw, code, field) -> None:
    with db() as session, pytest.raises(InvalidInput) as caught:
        scope_for(session, books, "admin", **_ids(session, books, raw))
    assert caught.value.code == code
    assert caught.value.details[0]["field"] == field


def _ids(session: Any, books: Books, raw: dict[str, str]) -> dict[str, str]:
    """Names of people and teams in ``raw`` as their ids."""
    out = dict(raw)
    if out.get("agent_id") in books.users:
        out["agent_id"] = str(books.id(out["agent_id"]))
    if out.get("team_id") in ("East", "South"):
        owner = "a1" if out["team_id"] == "East" else "a3"
        out["team_id"] = str(session.get(User, books.id(owner)).team_id)
    return out
