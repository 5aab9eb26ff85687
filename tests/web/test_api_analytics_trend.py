"""``/api/v1/analytics/...`` in the business's time zone, with money per currency, and the daily
trend (``/api/v1/analytics/trend`` and its CSV export). Rows: ``tests/processes/analytics_data``;
the extra calls and deals each test adds are worked out where they are added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.processes.analytics_data import (
    NOW,
    Books,
    add_call,
    add_won_deal,
    at,
    build,
    move_team,
)
from tests.web.crm_api_helpers import error_of
from tests.web.test_api_analytics import exports, get, rows_of
from web import create_app


@pytest.fixture
def app(runtime: Runtime, settings: Settings) -> Iterator[Flask]:
    rt = Runtime.build(settings, clock=ManualClock(NOW))
    yield create_app({"TESTING": True}, runtime=rt)
    rt.close()


@pytest.fixture
def books(db: Callable[..., Any]) -> Books:
    return build(db)


def by_day(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["day"]: d for d in body["days"]}


def test_daily_trend(client, db, books) -> None:
    body = get(client, db, books, "admin", "trend").get_json()
    assert body["period"]["zone"] == "Asia/Shanghai"
    days = by_day(body)
    assert list(days) == [f"2026-03-0{n}" for n in range(2, 9)]  # every day, in order
    figures = {
        day: (d["calls"], d["dialed"], d["connected"], d["deals_won"], d["revenue"])
        for day, d in days.items()
    }
    # Shanghai days (UTC+8): a1's four calls of 03-02, its PBX call of 03-03 13:00, a2's two
    # of 03-04 09:00, a3's of 03-05; D5 closed 03-04, D1 03-06, D6 03-07 (net of discount).
    assert figures == {
        "2026-03-02": (4, 3, 2, 0, {}),
        "2026-03-03": (1, 1, 1, 0, {}),
        "2026-03-04": (2, 2, 1, 1, {"CNY": "5000.00"}),
        "2026-03-05": (1, 1, 1, 0, {}),
        "2026-03-06": (0, 0, 0, 1, {"CNY": "9000.00"}),
        "2026-03-07": (0, 0, 0, 1, {"CNY": "15000.00"}),
        "2026-03-08": (0, 0, 0, 0, {}),
    }
    assert days["2026-03-02"]["connect_rate"] == pytest.approx(0.6667)
    assert days["2026-03-08"]["connect_rate"] is None
    totals = body["totals"]
    assert "day" not in totals and body["currencies"] == ["CNY"]
    # The same rows as the agent report: its totals for the same filters.
    agents = get(client, db, books, "admin", "agents").get_json()["totals"]
    for name in ("calls", "dialed", "connected", "deals_won", "revenue"):
        assert totals[name] == agents[name], name


def test_trend_follows_the_scope(client, db, books) -> None:
    body = get(client, db, books, "a2", "trend").get_json()
    assert body["period"]["agent_id"] == books.id("a2")
    assert [d["calls"] for d in body["days"]] == [0, 0, 2, 0, 0, 0, 0]
    body = get(client, db, books, "m1", "trend").get_json()  # East: a1 and a2
    assert body["totals"]["calls"] == 7 and body["totals"]["revenue"] == {"CNY": "14000.00"}
    error_of(get(client, db, books, "m1", "trend", agent_id=books.id("a3")), 403, "outside_scope")
    body = get(client, db, books, "admin", "trend", **{"from": "2026-03-05", "to": "2026-03-05"})
    assert [d["day"] for d in body.get_json()["days"]] == ["2026-03-05"]


def test_calls_around_local_midnight_fall_on_their_local_days(client, db, books) -> None:
    with db() as session:
        # 15:50 and 16:10 UTC of 03-03, one UTC day: 23:50 of 03-03 and 00:10 of 03-04 in
        # Shanghai. A deal won at 23:59 local on 03-06 is still 03-06's.
        add_call(session, books, "a2", at(3, 15, 50))
        add_call(session, books, "a2", at(3, 16, 10))
        add_won_deal(session, books, "a3", at(6, 15, 59), "100", "CNY")
    days = by_day(get(client, db, books, "admin", "trend").get_json())
    assert (days["2026-03-03"]["calls"], days["2026-03-04"]["calls"]) == (2, 3)
    assert days["2026-03-06"]["revenue"] == {"CNY": "9100.00"}

    def a2_calls(day: str) -> int:
        body = get(client, db, books, "admin", "agents", **{"from": day, "to": day}).get_json()
        return {a["username"]: a for a in body["agents"]}["a2"]["calls"]

    assert (a2_calls("2026-03-03"), a2_calls("2026-03-04")) == (1, 3)
    rows = {
        a["username"]: a for a in get(client, db, books, "admin", "agents").get_json()["agents"]
    }
    # a2 called in the local hours 23:00 (03-03), 00:00 and 09:00 (03-04): 4 calls / 3 hours.
    assert (rows["a2"]["calling_hours"], rows["a2"]["calls_per_hour"]) == (3, 1.33)


def test_a_team_in_a_half_hour_zone_counts_its_own_hours_and_days(client, db, books) -> None:
    with db() as session:
        east = move_team(session, "a1", "Asia/Kolkata")  # UTC+5:30
    body = get(client, db, books, "admin", "agents", team_id=east).get_json()
    assert body["period"]["zone"] == "Asia/Kolkata"
    assert body["period"]["start"] == "2026-03-01T18:30:00+00:00"
    assert body["period"]["end"] == "2026-03-08T18:30:00+00:00"
    rows = {a["username"]: a for a in body["agents"]}
    # a1 in Kolkata: 07:40, 08:10, 08:35, 09:20 (03-02), 10:30 (03-03) and 21:30 (03-08, the
    # call at 16:00 UTC that is 03-09 in Shanghai): 6 calls in 5 local hours. UTC hours
    # would be 4 (02, 03, 05, 16).
    assert (rows["a1"]["calls"], rows["a1"]["calling_hours"]) == (6, 5)
    assert rows["a1"]["calls_per_hour"] == 1.2
    # a2: 06:30 and 07:00 on 03-04, two local hours (one UTC hour, 01).
    assert (rows["a2"]["calling_hours"], rows["a2"]["calls_per_hour"]) == (2, 1.0)
    # The team's manager gets the team's zone without asking; everyone's figures stay in the
    # installation's zone.
    assert get(client, db, books, "m1", "trend").get_json()["period"]["zone"] == "Asia/Kolkata"
    assert get(client, db, books, "admin", "trend").get_json()["period"]["zone"] == (
        "Asia/Shanghai"
    )
    days = by_day(get(client, db, books, "admin", "trend", team_id=east).get_json())
    assert days["2026-03-08"]["calls"] == 1


def test_days_across_a_daylight_saving_change(client, db, books) -> None:
    with db() as session:
        south = move_team(session, "a3", "Europe/Berlin")
        # 2026-03-29 has 23 hours in Berlin (02:00 CET → 03:00 CEST): 01:30, 03:30 and 23:50
        # that day, 00:10 the next.
        for started in (at(29, 0, 30), at(29, 1, 30), at(29, 21, 50), at(29, 22, 10)):
            add_call(session, books, "a3", started, customer="C4")
    args = {"team_id": south, "from": "2026-03-29", "to": "2026-03-30"}
    body = get(client, db, books, "admin", "trend", **args).get_json()
    assert body["period"]["start"] == "2026-03-28T23:00:00+00:00"
    assert body["period"]["end"] == "2026-03-30T22:00:00+00:00"
    assert [(d["day"], d["calls"]) for d in body["days"]] == [
        ("2026-03-29", 3),
        ("2026-03-30", 1),
    ]
    a3 = get(client, db, books, "admin", "agents", **args).get_json()["agents"][0]
    assert (a3["calls"], a3["calling_hours"]) == (4, 4)


def test_revenue_adds_each_deal_as_its_quote_rounds_it(client, db, books) -> None:
    """2.01 at 50 % off is 1.005, quoted as 1.01: three such deals made 3.03, where adding the
    unrounded amounts gives 3.015 and SQLite's floats 3.0149999999999997 (so 3.01)."""
    with db() as session:
        for hour in (2, 3, 4):
            add_won_deal(session, books, "a2", at(6, hour), "2.01", "USD", discount="50")
    agents = get(client, db, books, "admin", "agents").get_json()
    rows = {a["username"]: a for a in agents["agents"]}
    assert rows["a2"]["revenue"] == {"USD": "3.03"}
    assert agents["totals"]["revenue"]["USD"] == "3.03"
    funnel = get(client, db, books, "admin", "funnel").get_json()
    assert funnel["won_amount"]["USD"] == "3.03"
    trend = get(client, db, books, "admin", "trend").get_json()
    [day] = [d for d in trend["days"] if d["revenue"].get("USD")]
    assert day["revenue"]["USD"] == "3.03"


def test_revenue_is_never_added_across_currencies(client, db, books) -> None:
    with db() as session:
        add_won_deal(session, books, "a1", at(6, 3), "500", "USD")
        add_won_deal(session, books, "a3", at(7, 2), "250.50", "USD")
        add_won_deal(session, books, "a3", at(7, 3), "120000", "JPY")
    agents = get(client, db, books, "admin", "agents").get_json()
    rows = {a["username"]: a for a in agents["agents"]}
    assert rows["a1"]["revenue"] == {"CNY": "14000.00", "USD": "500.00"}
    assert rows["a3"]["revenue"] == {"CNY": "15000.00", "JPY": "120000.00", "USD": "250.50"}
    assert rows["a2"]["revenue"] == {}
    assert (rows["a1"]["deals_won"], rows["a3"]["deals_won"]) == (3, 3)
    assert agents["totals"]["revenue"] == {"CNY": "29000.00", "JPY": "120000.00", "USD": "750.50"}
    funnel = get(client, db, books, "admin", "funnel").get_json()
    assert funnel["won_amount"] == {"CNY": "24000.00", "JPY": "120000.00", "USD": "750.50"}
    trend = get(client, db, books, "admin", "trend").get_json()
    assert trend["currencies"] == ["CNY", "JPY", "USD"]
    days = by_day(trend)
    assert days["2026-03-06"]["revenue"] == {"CNY": "9000.00", "USD": "500.00"}
    assert days["2026-03-07"]["revenue"] == {
        "CNY": "15000.00",
        "JPY": "120000.00",
        "USD": "250.50",
    }
    assert trend["totals"]["revenue"] == agents["totals"]["revenue"]

    exported = rows_of(get(client, db, books, "admin", "agents/export"))
    assert [k for k in exported[0] if k.startswith("revenue_")] == [
        "revenue_CNY",
        "revenue_JPY",
        "revenue_USD",
    ]
    by_user = {r["username"]: r for r in exported}
    assert (by_user["a1"]["revenue_CNY"], by_user["a1"]["revenue_USD"]) == ("14000.00", "500.00")
    assert by_user["a2"]["revenue_JPY"] == "0.00"
    assert exported[-1]["revenue_USD"] == "750.50"
    funnel_rows = rows_of(get(client, db, books, "admin", "funnel/export"))
    amounts = {r["step"]: r["count"] for r in funnel_rows if r["step"].startswith("won_amount")}
    assert amounts == {
        "won_amount_CNY": "24000.00",
        "won_amount_JPY": "120000.00",
        "won_amount_USD": "750.50",
    }


def test_trend_export_is_csv_audited_and_needs_the_export_permission(client, db, books) -> None:
    with db() as session:
        add_won_deal(session, books, "a1", at(6, 3), "500", "USD")
    response = get(client, db, books, "m1", "trend/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "analytics-trend-2026-03-02-2026-03-08.csv" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert list(rows[0]) == [
        "day",
        "calls",
        "dialed",
        "connected",
        "connect_rate",
        "deals_won",
        "revenue_CNY",
        "revenue_USD",
    ]
    assert [r["day"] for r in rows] == [f"2026-03-0{n}" for n in range(2, 9)] + ["total"]
    assert (rows[0]["calls"], rows[0]["connected"], rows[0]["connect_rate"]) == ("4", "2", "0.6667")
    assert (rows[4]["revenue_CNY"], rows[4]["revenue_USD"]) == ("9000.00", "500.00")  # 03-06
    assert (rows[-1]["calls"], rows[-1]["deals_won"], rows[-1]["revenue_CNY"]) == (
        "7",
        "3",
        "14000.00",
    )
    (entry,) = exports(db)
    assert (entry.action, entry.actor_id, entry.source) == ("export", books.id("m1"), "api")
    assert entry.after["report"] == "trend" and entry.after["rows"] == 8
    assert entry.after["filters"]["team_id"] == books.users["m1"].team_id

    error_of(get(client, db, books, "a1", "trend/export"), 403, "forbidden")
    assert len(exports(db)) == 1


def test_the_trend_is_in_the_openapi_document(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    trend = document["paths"]["/api/v1/analytics/trend"]["get"]
    assert {p["name"] for p in trend["parameters"]} >= {"from", "to", "team_id", "agent_id"}
    text = str(trend)
    assert "never added across currencies" in text and "currencies" in text
    export = document["paths"]["/api/v1/analytics/trend/export"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    agents = str(document["paths"]["/api/v1/analytics/agents"]["get"])
    assert "local clock hours" in agents
