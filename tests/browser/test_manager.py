"""A manager's and an agent's day in Chromium: approve a discount inline on /approvals, find the
deal in negotiation on /pipeline; claim a lead from the public pool."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from crm.models import Customer, User
from crm.pool import release
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, password_hash
from tests.processes.conftest import Team, team  # noqa: F401
from tests.web.sales_pages import opportunity, quote

pytestmark = pytest.mark.browser


@pytest.fixture
def app(team: Team) -> Flask:  # noqa: F811  the live server serves the team's app
    with team.db() as db:
        for user in db.scalars(select(User)):
            user.password_hash = password_hash(PASSWORD)
    return team.app


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))


def test_manager_approves_a_discount_and_finds_the_deal_in_negotiation(page, team: Team) -> None:  # noqa: F811
    customer_id, deal_id, agent = opportunity(team, "13500009001", name="杭州云帆科技")
    quote(team, agent, deal_id, 15)  # the agent's quote, through the API
    _other_id, other_deal, other_agent = opportunity(team, "13500009002", name="宁波海曙贸易")
    quote(team, other_agent, other_deal, 18)

    sign_in(page, "m_east")
    page.click('nav.mainnav a[href="/approvals"]')
    page.wait_for_url(re.compile(r"/approvals$"))
    rows = page.locator("table.approvals tbody tr")
    assert rows.count() == 2
    row = page.locator("tr", has_text="杭州云帆科技")
    assert "15" in row.locator(".discount").inner_text()
    screenshot(page, "approvals")

    row.locator("textarea").fill("老客户，同意")
    row.locator("button[value=approve]").click()
    page.wait_for_url(re.compile(r"/approvals$"))
    assert page.locator("tr", has_text="杭州云帆科技").count() == 0
    assert page.locator("table.approvals tbody tr").count() == 1
    assert page.locator(".flash.ok").count() == 1

    # Send back without a comment: refused beside the field, the row stays.
    page.locator("tr", has_text="宁波海曙贸易").locator("button[value=send_back]").click()
    assert page.locator("[data-error=comment]").count() == 1
    screenshot(page, "approvals-comment-required")

    page.goto("/pipeline")
    negotiation = page.locator('[data-stage="negotiation"]')
    card = negotiation.locator(f'[data-deal="{deal_id}"]')
    assert card.count() == 1
    assert "杭州云帆科技" in card.inner_text()
    assert page.locator(f'[data-stage="approval"] [data-deal="{other_deal}"]').count() == 1
    screenshot(page, "pipeline")
    card.locator("a", has_text="杭州云帆科技").click()
    page.wait_for_url(re.compile(rf"/customers/{customer_id}$"))

    page.goto("/team")
    assert page.locator("table.team-board tbody tr").count() == 3
    screenshot(page, "team")
    page.goto("/settings")
    screenshot(page, "settings")


def test_agent_claims_a_lead_from_the_pool(page, team: Team) -> None:  # noqa: F811
    ids = []
    for n, name in enumerate(["公海客户甲", "公海客户乙", "公海客户丙"]):
        ids.append(team.lead(name=name, phone=f"1580009{n:04d}", region="上海")["customer_id"])
    with team.db() as db:
        for customer_id in ids:
            release(
                db,
                db.get(Customer, customer_id),
                reason="no follow-up",
                now=team.clock.now(),
                actor=None,
                respect_protection=False,
            )
    sign_in(page, "a4")
    page.goto("/pool")
    assert page.locator("table.pool tbody tr").count() == 3
    assert "0 / 5" in page.locator("[data-caps]").inner_text()
    screenshot(page, "pool")
    page.locator(f'tr[data-customer="{ids[0]}"] button').click()
    page.wait_for_url(re.compile(r"/pool$"))
    assert page.locator(".flash.ok").count() == 1
    assert "1 / 5" in page.locator("[data-caps]").inner_text()
    assert page.locator("table.pool tbody tr").count() == 2
    screenshot(page, "pool-claimed")
    page.locator(".flash.ok a").click()
    page.wait_for_url(re.compile(r"/tasks/"))
    assert "公海客户甲" in page.locator(".customer-panel").inner_text()

    page.goto("/leads/new")
    page.fill("#lead-name", "刘洋")
    page.fill("#lead-phone", "12")
    page.click("button[type=submit].primary")
    page.wait_for_selector("[data-error=phone]")  # the click only starts the navigation
    assert page.locator("[data-error=phone]").count() == 1
    screenshot(page, "lead-form")
