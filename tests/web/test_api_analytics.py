"""``/api/v1/analytics/...``: figures over HTTP, filters, scoping, bad input, CSV exports with
their permission and audit entries. Rows and expected figures: ``tests/processes/analytics_data``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crm.models import AuditEntry
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.processes.analytics_data import NOW, PERIOD, Books, build
from tests.web.crm_api_helpers import bearer, error_of
from web import create_app


@pytest.fixture
def app(runtime: Runtime, settings: Settings) -> Iterator[Flask]:
    """The app on a clock stopped at ``NOW`` (``runtime`` has emptied the database)."""
    rt = Runtime.build(settings, clock=ManualClock(NOW))
    yield create_app({"TESTING": True}, runtime=rt)
    rt.close()


@pytest.fixture
def books(db: Callable[..., Any]) -> Books:
    return build(db)


def get(client: FlaskClient, db: Any, books: Books, user: str, path: str, **args: Any) -> Any:
    query = {**PERIOD, **args}
    return client.get(
        f"/api/v1/analytics/{path}", query_string=query, headers=bearer(db, books.users[user])
    )


def rows_of(response: Any) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def exports(db: Any) -> list[AuditEntry]:
    with db() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity_type == "analytics")
                .order_by(AuditEntry.id)
            )
        )


def test_funnel(client, db, books) -> None:
    response = get(client, db, books, "admin", "funnel")
    assert response.status_code == 200
    body = response.get_json()
    assert body["period"]["from"] == "2026-03-02" and body["period"]["to"] == "2026-03-08"
    assert body["period"]["start"] == "2026-03-01T16:00:00+00:00"
    assert [(s["step"], s["count"]) for s in body["stages"]] == [
        ("qualification", 6),
        ("proposal", 5),
        ("negotiation", 3),
        ("approval", 3),
        ("won", 2),
    ]
    assert body["won_amount"] == {"CNY": "24000.00"}
    assert body["win_rate"] == pytest.approx(0.6667)
    assert [s["count"] for s in body["leads"]] == [4, 3, 2, 3, 2]


def test_agent_kpis(client, db, books) -> None:
    body = get(client, db, books, "admin", "agents").get_json()
    rows = {a["username"]: a for a in body["agents"]}
    assert set(rows) == {"a1", "a2", "a3"}
    a1 = rows["a1"]
    assert (a1["calls"], a1["connected"], a1["dialed"], a1["talk_time_s"]) == (5, 3, 4, 520)
    assert (a1["connect_rate"], a1["calls_per_hour"]) == (0.75, 1.67)
    assert (a1["callbacks_due"], a1["callbacks_kept"], a1["deals_won"]) == (3, 1, 2)
    assert a1["revenue"] == {"CNY": "14000.00"}
    assert body["totals"]["calls"] == 8 and body["totals"]["revenue"] == {"CNY": "29000.00"}


def test_process_kpis(client, db, books) -> None:
    body = get(client, db, books, "admin", "processes").get_json()
    steps = {s["element_id"]: s for s in body["steps"]}
    assert steps["call"]["name"] == "Call back"  # from the deployed diagram
    assert (steps["call"]["completed"], steps["call"]["p90_cycle_s"]) == (2, 7200)
    assert (steps["approve"]["due"], steps["approve"]["breached"]) == (2, 1)
    totals = body["totals"]
    assert (totals["open"], totals["open_max_age_s"], totals["open_overdue"]) == (4, 439200, 3)


def test_filters_narrow_the_figures(client, db, books) -> None:
    east = books.users["a1"].team_id
    body = get(client, db, books, "admin", "agents", team_id=east).get_json()
    assert {a["username"] for a in body["agents"]} == {"a1", "a2"}
    assert body["period"]["team_id"] == east
    body = get(client, db, books, "admin", "agents", agent_id=books.id("a3")).get_json()
    assert [a["username"] for a in body["agents"]] == ["a3"]
    # One day only: 2026-03-02 local holds a1's first four calls and nothing of a2's.
    body = get(client, db, books, "admin", "agents", **{"from": "2026-03-02", "to": "2026-03-02"})
    rows = {a["username"]: a for a in body.get_json()["agents"]}
    assert (rows["a1"]["calls"], rows["a2"]["calls"]) == (4, 0)


def test_default_period_is_the_last_30_days(client, db, books) -> None:
    response = client.get("/api/v1/analytics/funnel", headers=bearer(db, books.users["admin"]))
    period = response.get_json()["period"]
    assert (period["from"], period["to"]) == ("2026-02-09", "2026-03-10")


def test_an_agent_sees_only_their_own_figures(client, db, books) -> None:
    body = get(client, db, books, "a2", "agents").get_json()
    assert [a["username"] for a in body["agents"]] == ["a2"]
    assert body["period"]["agent_id"] == books.id("a2")
    funnel = get(client, db, books, "a2", "funnel").get_json()
    assert [s["count"] for s in funnel["stages"]] == [2, 1, 1, 1, 0]
    refused = get(client, db, books, "a2", "agents", agent_id=books.id("a1"))
    error = error_of(refused, 403, "outside_scope")
    assert error["details"][0]["field"] == "agent_id"
    south = books.users["a3"].team_id
    error_of(get(client, db, books, "a2", "funnel", team_id=south), 403, "outside_scope")


def test_a_manager_sees_their_team(client, db, books) -> None:
    body = get(client, db, books, "m1", "agents").get_json()
    assert {a["username"] for a in body["agents"]} == {"a1", "a2"}
    south = books.users["a3"].team_id
    error_of(get(client, db, books, "m1", "agents", team_id=south), 403, "outside_scope")
    error_of(get(client, db, books, "m1", "processes", agent_id=books.id("a3")), 403)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"from": "03/02/2026"}, "invalid_filter"),
        ({"to": "2026-02-30"}, "invalid_filter"),
        ({"from": "2026-03-09", "to": "2026-03-02"}, "invalid_filter"),
        ({"from": "2020-01-01", "to": "2026-03-02"}, "period_too_long"),
        ({"to": "9999-12-31"}, "invalid_filter"),
        ({"team_id": "east"}, "invalid_filter"),
        ({"agent_id": "1e9"}, "invalid_filter"),
        ({"agent_id": "4294967296"}, "invalid_filter"),
        ({"agent_id": "²"}, "invalid_filter"),  # a digit to str.isdigit, not to int()
        ({"team_id": "①"}, "invalid_filter"),
        ({"team_id": "٣"}, "invalid_filter"),  # ids are ASCII digits
        ({"team_id": "777777"}, "unknown_team"),
        ({"agent_id": "777777"}, "unknown_agent"),
    ],
)
@pytest.mark.parametrize(
    "report", ["funnel", "agents", "processes", "trend", "agents/export", "trend/export"]
)
def test_bad_filters_are_422(client, db, books, report, args, code) -> None:
    error_of(get(client, db, books, "admin", report, **args), 422, code)


def test_a_token_is_required(client, books) -> None:
    for path in ("funnel", "agents", "processes", "trend", "funnel/export", "trend/export"):
        error_of(client.get(f"/api/v1/analytics/{path}"), 401, "missing_token")


def test_export_is_csv_and_audited(client, db, books) -> None:
    response = get(client, db, books, "m1", "agents/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "analytics-agents-2026-03-02-2026-03-08.csv" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert [r["username"] for r in rows] == ["a1", "a2", ""]  # the team, then the totals
    assert rows[0]["calls"] == "5" and rows[0]["revenue_CNY"] == "14000.00"
    assert rows[-1]["display_name"] == "total" and rows[-1]["calls"] == "7"
    (entry,) = exports(db)
    assert entry.action == "export" and entry.actor_id == books.id("m1")
    assert entry.source == "api"
    assert entry.after == {
        "report": "agents",
        "rows": 3,
        "filters": {
            "from": "2026-03-02",
            "to": "2026-03-08",
            "team_id": books.users["m1"].team_id,
            "agent_id": None,
        },
    }


def test_funnel_and_process_exports(client, db, books) -> None:
    funnel = rows_of(get(client, db, books, "admin", "funnel/export"))
    counts = {(r["funnel"], r["step"]): r["count"] for r in funnel}
    assert counts[("deals", "won")] == "2" and counts[("leads", "leads")] == "4"
    assert counts[("deals", "won_amount_CNY")] == "24000.00"
    steps = rows_of(get(client, db, books, "admin", "processes/export"))
    by_element = {r["element_id"]: r for r in steps}
    assert by_element["approve"]["p90_cycle_s"] == "10800.0"
    assert steps[-1]["name"] == "total" and steps[-1]["completed"] == "5"
    assert [e.after["report"] for e in exports(db)] == ["funnel", "processes"]


def test_agents_may_not_export(client, db, books) -> None:
    error_of(get(client, db, books, "a1", "agents/export"), 403, "forbidden")
    assert exports(db) == []


def test_the_reports_are_in_the_openapi_document(client) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for report in ("funnel", "agents", "processes", "trend"):
        assert "get" in paths[f"/api/v1/analytics/{report}"]
        export = paths[f"/api/v1/analytics/{report}/export"]["get"]
        assert "text/csv" in export["responses"]["200"]["content"]
        assert {p["name"] for p in export["parameters"]} >= {"from", "to", "team_id", "agent_id"}
