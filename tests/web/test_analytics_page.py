"""The ``/analytics`` page: figures in the tables, chart containers, filters, scoping, errors
and the CSV exports with their permission and audit entries."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from crm.models import AuditEntry, User
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.conftest import PASSWORD, password_hash, sign_in
from tests.processes.analytics_data import NOW, PERIOD, Books, add_won_deal, at, build
from tests.web.test_pages import EN
from web import create_app


@pytest.fixture
def app(runtime: Runtime, settings: Settings) -> Iterator[Flask]:
    rt = Runtime.build(settings, clock=ManualClock(NOW))
    yield create_app({"TESTING": True}, runtime=rt)
    rt.close()


@pytest.fixture
def books(db: Callable[..., Any]) -> Books:
    books = build(db)
    with db() as session:
        for user in session.scalars(select(User)):
            user.password_hash = password_hash(PASSWORD)
    return books


def browser(app: Flask, username: str) -> Any:
    client = app.test_client()
    client.environ_base.update({"HTTP_ACCEPT_LANGUAGE": EN["Accept-Language"]})
    response = sign_in(client, username)
    assert response.status_code == 302
    return client


def cell(html: str, row: str, kpi: str) -> str:
    found = re.search(rf'data-agent="{row}".*?data-kpi="{kpi}">(.*?)</td>', html, re.S)
    assert found, (row, kpi)
    return re.sub(r"<[^>]+>", " ", found.group(1)).split()[0]


def test_a_manager_sees_the_team_figures_charts_and_exports(app, books) -> None:
    client = browser(app, "m1")
    response = client.get("/analytics", query_string=PERIOD)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/analytics"' in html  # in the navigation
    for chart in ("chart-funnel", "chart-agents", "chart-trend", "chart-steps"):
        assert f'id="{chart}"' in html
    assert "vendor/echarts/6.1.0/echarts.min.js" in html
    assert re.findall(r'data-agent="(\w+)"', html) == ["a1", "a2"]
    assert cell(html, "a1", "calls") == "5"
    assert cell(html, "a1", "connect_rate") == "75.0%"
    assert cell(html, "a1", "callbacks") == "1/3"
    assert re.search(r'data-stage="won"><td>Won</td><td class="num count-cell">1<', html)
    assert html.count('class="button small export-csv"') == 4


def test_an_agent_sees_only_their_own_row_and_no_export(app, books) -> None:
    client = browser(app, "a2")
    html = client.get("/analytics", query_string=PERIOD).get_data(as_text=True)
    assert re.findall(r'data-agent="(\w+)"', html) == ["a2"]
    assert "export-csv" not in html
    assert 'name="agent_id"' not in html
    assert client.get("/analytics/export/agents", query_string=PERIOD).status_code == 403
    refused = client.get("/analytics", query_string={**PERIOD, "agent_id": books.id("a1")})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert 'data-error="filters"' in html
    assert re.findall(r'data-agent="(\w+)"', html) == ["a2"]  # the default view, own figures


def test_bad_dates_show_the_page_with_an_error(app, books) -> None:
    client = browser(app, "admin")
    response = client.get("/analytics", query_string={"from": "2026-03-09", "to": "2026-03-01"})
    assert response.status_code == 422
    assert "the end date is not before the start date" in response.get_data(as_text=True)


def test_an_id_of_other_digits_shows_the_page_with_an_error(app, books) -> None:
    client = browser(app, "admin")
    for raw in ("²", "①"):
        response = client.get("/analytics", query_string={"agent_id": raw})
        assert response.status_code == 422
        assert 'data-error="filters"' in response.get_data(as_text=True)


def test_a_filter_narrows_the_tables(app, books) -> None:
    client = browser(app, "admin")
    html = client.get("/analytics", query_string={**PERIOD, "agent_id": books.id("a3")}).get_data(
        as_text=True
    )
    assert re.findall(r'data-agent="(\w+)"', html) == ["a3"]
    assert f'<option value="{books.id("a3")}" selected>' in html


def test_revenue_and_the_daily_trend_show_each_currency_apart(app, books, db) -> None:
    with db() as session:
        add_won_deal(session, books, "a1", at(6, 3), "500", "USD")
    client = browser(app, "admin")
    html = client.get("/analytics", query_string=PERIOD).get_data(as_text=True)
    revenue = re.search(r'data-agent="a1".*?data-kpi="revenue">(.*?)</td>', html, re.S)
    assert revenue is not None
    assert re.findall(r"<div>(.*?)</div>", revenue.group(1)) == ["CN¥14,000.00", "$500.00"]
    a2 = re.search(r'data-agent="a2".*?data-kpi="revenue">(.*?)</td>', html, re.S)
    assert a2 is not None and a2.group(1) == "—"  # no revenue: no currency made up
    day = re.search(r'<tr data-day="2026-03-06">(.*?)</tr>', html, re.S)
    assert day is not None
    assert re.findall(r'data-revenue="(\w+)">(.*?)</td>', day.group(1)) == [
        ("CNY", "CN¥9,000.00"),
        ("USD", "$500.00"),
    ]
    assert "Revenue (USD)" in html
    data = re.search(r'id="analytics-data">(.*?)</script>', html, re.S)
    assert data is not None
    trend = json.loads(data.group(1))["trend"]
    assert trend["days"][0] == "2026-03-02" and trend["calls"][0] == 4
    assert [(m["currency"], m["values"][4]) for m in trend["revenue"]] == [
        ("CNY", 9000.0),
        ("USD", 500.0),
    ]


def test_page_export_of_the_trend(app, books, db) -> None:
    client = browser(app, "m1")
    response = client.get("/analytics/export/trend", query_string=PERIOD)
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines()[0].startswith("\ufeffday,calls,")
    with db() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "analytics"))
    assert entry is not None and (entry.source, entry.after["report"]) == ("web", "trend")
    assert browser(app, "a1").get("/analytics/export/trend", query_string=PERIOD).status_code == 403


def test_page_export_is_audited(app, books, db) -> None:
    client = browser(app, "admin")
    response = client.get("/analytics/export/processes", query_string=PERIOD)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.get_data(as_text=True).splitlines()[0].startswith("\ufeffprocess_id,")
    unknown = client.get("/analytics/export/customers", query_string=PERIOD)
    assert unknown.status_code == 422
    with db() as session:
        entries = list(
            session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "analytics"))
        )
    assert [(e.action, e.source, e.after["report"]) for e in entries] == [
        ("export", "web", "processes")
    ]


def test_chinese_page(app, books) -> None:
    client = app.test_client()
    sign_in(client, "m1")
    html = client.get(
        "/analytics", query_string=PERIOD, headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert "数据分析" in html
    assert "销售漏斗" in html
