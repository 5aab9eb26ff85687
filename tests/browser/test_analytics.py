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
from tests.processes.analytics_data import FIRST_DAY, LAST_DAY, NOW, Books, build
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
    for chart in ("chart-funnel", "chart-agents", "chart-steps"):
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
