"""A manager on /analytics in Chromium: the charts draw on their canvases, the tables hold the
figures, a filter narrows them, and the CSV export downloads (and is audited)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from crm.models import AuditEntry, User
from dialflow.clock import ManualClock
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, password_hash
from tests.processes.analytics_data import (
    FIRST_DAY,
    LAST_DAY,
    NOW,
    Books,
    add_call,
    add_won_deal,
    at,
    build,
)
from web import create_app

pytestmark = pytest.mark.browser


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


def test_manager_reads_filters_and_exports_the_analytics(page, books, db) -> None:
    page.goto("/login")
    page.fill("#username", "m1")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.click('nav.mainnav a[href="/analytics"]')
    page.wait_for_url(re.compile(r"/analytics$"))

    page.fill("#f-from", FIRST_DAY)
    page.fill("#f-to", LAST_DAY)
    page.click("#analytics-filters button[type=submit]")
    page.wait_for_url(re.compile(r"from=2026-03-02"))
    for chart in ("chart-funnel", "chart-agents", "chart-trend", "chart-steps"):
        page.wait_for_selector(f'#{chart}[data-rendered="chart"] canvas')
        box = page.locator(f"#{chart} canvas").first.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 200
    # The canvas holds a drawing, not a blank surface.
    painted = page.evaluate(
        """() => {
            const canvas = document.querySelector('#chart-agents canvas');
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            let coloured = 0;
            for (let i = 0; i < data.length; i += 4) {
                const white = data[i] > 240 && data[i + 1] > 240 && data[i + 2] > 240;
                if (data[i + 3] > 0 && !white) coloured++;
            }
            return coloured;
        }"""
    )
    assert painted > 1000
    rows = page.locator("table.analytics-agents tbody tr")
    assert rows.count() == 2
    a1 = page.locator('tr[data-agent="a1"]')
    assert a1.locator('[data-kpi="calls"]').inner_text() == "5"
    assert a1.locator('[data-kpi="deals_won"]').inner_text() == "2"
    won = page.locator('table.analytics-funnel tr[data-stage="won"] .count-cell')
    assert won.inner_text() == "1"
    screenshot(page, "analytics")

    page.select_option('select[name="agent_id"]', str(books.id("a2")))
    page.click("#analytics-filters button[type=submit]")
    page.wait_for_url(re.compile(rf"agent_id={books.id('a2')}"))
    assert page.locator("table.analytics-agents tbody tr").count() == 1
    assert page.locator('tr[data-agent="a2"] [data-kpi="calls"]').inner_text() == "2"
    assert (
        page.locator(
            'table.analytics-funnel tr[data-stage="qualification"] .count-cell'
        ).inner_text()
        == "2"
    )

    with page.expect_download() as download_info:
        page.click('a.export-csv[data-report="agents"]')
    download = download_info.value
    assert download.suggested_filename == "analytics-agents-2026-03-02-2026-03-08.csv"
    content = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert content[0].startswith("user_id,username,display_name,team,calls")
    assert content[1].split(",")[1:2] == ["a2"]
    with db() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "analytics"))
    assert entry is not None and entry.source == "web"
    assert entry.after["filters"]["agent_id"] == books.id("a2")


def test_the_daily_trend_draws_a_line_per_figure_and_currency(page, books, db) -> None:
    with db() as session:
        add_won_deal(session, books, "a1", at(6, 3), "500", "USD")
        # 23:50 on 03-03 in Shanghai, 15:50 UTC: the trend puts it on 03-03, not 03-04.
        add_call(session, books, "a2", at(3, 15, 50))
    page.goto("/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))
    page.goto(f"/analytics?from={FIRST_DAY}&to={LAST_DAY}")
    page.wait_for_selector('#chart-trend[data-rendered="chart"] canvas')
    box = page.locator("#chart-trend canvas").first.bounding_box()
    assert box and box["width"] > 600 and box["height"] > 200
    option = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('chart-trend'));
            const option = chart.getOption();
            return {
                days: option.xAxis[0].data,
                series: option.series.map(s => ({axis: s.yAxisIndex || 0, data: s.data})),
            };
        }"""
    )
    assert option["days"][0] == "2026-03-02" and len(option["days"]) == 7
    # Calls, connected, deals won on the left axis; revenue in CNY and in USD on the right.
    assert [s["axis"] for s in option["series"]] == [0, 0, 0, 1, 1]
    assert option["series"][0]["data"] == [4, 2, 2, 1, 0, 0, 0]
    assert option["series"][3]["data"][4] == 9000 and option["series"][4]["data"][4] == 500

    page.click("details.trend-days summary")
    day = page.locator('table.analytics-trend tr[data-day="2026-03-06"]')
    assert day.locator('[data-revenue="USD"]').inner_text().endswith("500.00")
    assert day.locator('[data-revenue="CNY"]').inner_text().endswith("9,000.00")
    screenshot(page, "analytics-trend")

    with page.expect_download() as download_info:
        page.click('a.export-csv[data-report="trend"]')
    download = download_info.value
    assert download.suggested_filename == "analytics-trend-2026-03-02-2026-03-08.csv"
    content = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert content[0] == (
        "day,calls,dialed,connected,connect_rate,deals_won,revenue_CNY,revenue_USD"
    )
    assert content[-1].startswith("total,9,")
    with db() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_type == "analytics"))
    assert entry is not None and entry.after["report"] == "trend"
