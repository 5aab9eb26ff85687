"""The telesales day in Chromium, on the shipped processes: an agent works a call task from
the inbox to an opportunity, and a manager imports a CSV with bad rows through the wizard."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.models import Customer, Deal
from crm.users import create_token
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, midday_zone

pytestmark = pytest.mark.browser


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))


@pytest.fixture
def sales_team(runtime, db, make_user):
    runtime.deploy_shipped_models()
    make_user("manager", username="wang", team="华东一组", password=PASSWORD)
    make_user("agent", username="zhang", team="华东一组", manager="wang", password=PASSWORD)
    with db() as session:
        from crm.models import User

        token = create_token(session, session.scalar(select(User).where(User.username == "wang")))
    return {"Authorization": f"Bearer {token}"}


def test_agent_works_a_call_to_an_opportunity(page, client, db, sales_team):
    lead = client.post(
        "/api/v1/leads",
        headers=sales_team,
        json={
            "name": "陈女士",
            "phone": "13700001234",
            "region": "上海",
            "source": "展会",
            # about noon for her whenever the test runs: the call is inside the calling window
            "timezone": midday_zone(),
        },
    )
    assert lead.status_code == 201 and lead.get_json()["owner"] == "zhang"
    sign_in(page, "zhang")
    row = page.locator("tr", has_text="陈女士")
    row.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/tasks/"))
    page.select_option("select[name='field:disposition']", "connected_interested")
    page.fill("input[name='field:amount']", "36000")
    page.fill("input[name='field:duration_s']", "240")
    page.fill("textarea[name='field:notes']", "想要年度套餐，下周报价")
    screenshot(page, "telesales-call-task")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox"))
    with db() as session:
        customer = session.get(Customer, lead.get_json()["customer_id"])
        deal = session.scalar(select(Deal).where(Deal.customer_id == customer.id))
        assert deal is not None and float(deal.amount) == 36000
        assert customer.last_contact_at is not None
    page.goto(f"/customers/{customer.id}")
    assert (
        page.locator("text=Opportunity: 陈女士").count() >= 1
        or page.locator("text=商机").count() >= 1
    )
    screenshot(page, "telesales-customer-after-call")


def test_manager_imports_a_csv_with_bad_rows(page, sales_team, tmp_path):
    csv = tmp_path / "线索.csv"
    csv.write_bytes(
        (
            "姓名,手机,邮箱,地区\n"
            "刘一,13600000001,,上海\n"
            ",13600000002,,上海\n"  # no name
            "王三,12345,,杭州\n"  # not a phone number
            "赵四,13600000004,not-an-email,北京\n"
            "刘一,136 0000 0001,,上海\n"  # repeats the first row
        ).encode("gbk")
    )
    sign_in(page, "wang")
    page.goto("/customers/import")
    page.set_input_files("input[type=file]", str(csv))
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/mapping$"))
    page.click("button[type=submit].primary")  # the guessed mapping
    page.wait_for_url(re.compile(r"/preview$"))
    screenshot(page, "import-preview")
    page.uncheck("input[name=route_leads]")
    page.click("form.actions button[type=submit].primary")
    page.wait_for_selector(
        "#job[data-finished='true'], #job-status:has-text('Done'), #job-status:has-text('完成')",
        timeout=20_000,
    )
    page.wait_for_function("document.getElementById('job-processed').textContent.trim() === '5'")
    assert page.locator("#job-created").inner_text() == "1"
    assert page.locator("#job-duplicates").inner_text() == "1"
    assert page.locator("#job-errors").inner_text() == "3"
    screenshot(page, "import-done-with-errors")


def test_import_progress_stops_polling_when_the_session_ends(page, sales_team, tmp_path):
    csv = tmp_path / "线索.csv"
    csv.write_bytes("姓名,手机\n刘一,13600000001\n".encode())
    sign_in(page, "wang")
    page.goto("/customers/import")
    page.set_input_files("input[type=file]", str(csv))
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/mapping$"))
    job_id = re.search(r"/import/(\d+)/mapping", page.url).group(1)
    page.goto(f"/jobs/{job_id}")  # a job still being set up: the page keeps polling
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "status.json" in r.url else None)
    page.context.clear_cookies()  # signed out (another tab, an expired session)
    page.wait_for_selector("#job-gone:not([hidden])", timeout=10_000)
    assert "重新登录" in page.locator("#job-gone").inner_text()
    seen = len(polls)
    page.wait_for_timeout(3_500)
    assert len(polls) == seen  # it stopped asking
    screenshot(page, "import-progress-signed-out")
