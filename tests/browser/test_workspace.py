"""An agent's day in Chromium: sign in, inbox, a task form with several kinds of fields,
browser and server validation, completion, and switching the language."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from crm.calls import log_call
from crm.deals import create_deal
from crm.models import User
from crm.notes import add_note
from tests.browser.conftest import screenshot
from tests.web.workspace import set_up_desk
from web.inbox import end_of_day, user_zone

pytestmark = pytest.mark.browser


@pytest.fixture
def day(client, db, make_user, make_customer):
    """An agent with a call task about their customer and two group tasks (one overdue)."""
    desk = set_up_desk(client, db, make_user)
    customer = make_customer(
        actor=desk.agent, name="王芳", phone="13800138000", company="杭州云帆科技"
    )
    with db() as session:
        agent = session.get(User, desk.agent.id)
        for disposition, note in [
            ("no_answer", "未接通"),
            ("callback_requested", "客户说下午再打"),
        ]:
            log_call(
                session,
                customer.id,
                {"disposition": disposition, "notes": note, "duration_s": 42},
                actor=agent,
            )
        add_note(session, customer.id, "对年度套餐感兴趣，预算约两万。", actor=agent)
        create_deal(session, customer.id, {"title": "年度套餐", "amount": "19800"}, actor=agent)
    now = datetime.now(UTC)
    with db() as session:
        # Before the agent's day ends (the inbox shows callbacks due today), and before the
        # call task, due in two hours.
        end = end_of_day(now, user_zone(session.get(User, desk.agent.id)))
    desk.start_queue(
        review_due=(now - timedelta(hours=3)).isoformat(),
        callback_due=(now + min(timedelta(minutes=30), (end - now) / 2)).isoformat(),
    )
    task = desk.start_call(customer.id)["ready_tasks"][0]["id"]
    return {"desk": desk, "customer": customer, "task": task}


def sign_in(page, username: str = "li", password: str = "correct-horse-42") -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/inbox$"))


def test_agent_completes_a_task_from_the_inbox(page, day):
    sign_in(page)
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 3
    assert page.locator("tr.overdue").count() == 1
    # The overdue task first, then the call (priority 3) before the callback (0) due sooner.
    assert "王芳" in rows.nth(1).inner_text()
    assert page.locator('[data-task] [data-priority="3"]').count() == 1
    assert page.locator('[data-task] [data-priority="0"]').count() == 2
    screenshot(page, "inbox")
    page.click('a[data-sort="due"]')
    page.wait_for_url(re.compile(r"/inbox\?sort=due$"))
    assert "王芳" in rows.nth(2).inner_text()  # due in two hours: after the other two
    page.goto("/inbox")

    page.click(f'tr[data-task="{day["task"]}"] a.task-title')
    page.wait_for_url(re.compile(r"/tasks/"))
    assert page.locator(".customer-panel h2").inner_text() == "王芳"
    assert page.locator("a.call").get_attribute("href") == "tel:+8613800138000"
    assert "客户说下午再打" in page.locator(".customer-panel").inner_text()

    # Everything but the required outcome: the browser refuses to send the form.
    page.fill('[name="field:interest"]', "4")
    page.fill('[name="field:budget"]', "19800")
    page.fill('[name="field:callback_at"]', "2026-05-06T14:30")
    page.fill('[name="field:visit_on"]', "2026-05-08")
    page.select_option('[name="field:channel"]', "wechat")
    page.check('[name="field:wants_brochure"]')
    page.fill('[name="field:contact_name"]', "王经理")
    page.fill('[name="field:notes"]', "客户想先看资料，周三下午回电。")
    page.click("#task-form button[type=submit]")
    assert page.eval_on_selector('[name="field:outcome"]', "e => e.validity.valueMissing")
    assert "/tasks/" in page.url

    # A browser that does not validate sends it anyway: the server answers beside the field.
    page.eval_on_selector("#task-form", "f => { f.noValidate = true; }")
    page.click("#task-form button[type=submit]")
    page.wait_for_load_state()
    error = page.locator('[data-field="outcome"] .field-error')
    assert error.is_visible()
    assert page.input_value('[name="field:contact_name"]') == "王经理"
    assert page.is_checked('[name="field:wants_brochure"]')
    screenshot(page, "task-form-error")

    page.select_option('[name="field:outcome"]', "interested")
    page.click("#task-form button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox$"))
    assert page.locator(".flash.ok").is_visible()
    assert page.locator("table.inbox tbody tr").count() == 2
    screenshot(page, "inbox-after-complete")


def test_task_page_layout(page, day):
    sign_in(page)
    page.goto(f"/tasks/{day['task']}")
    form = page.locator("#task-form").bounding_box()
    panel = page.locator(".customer-panel").bounding_box()
    assert form and panel and panel["x"] > form["x"] + form["width"] - 1  # panel on the right
    assert "¥19,800.00" in page.locator(".customer-panel").inner_text()
    screenshot(page, "task-page")


def test_switching_the_language(page, day):
    sign_in(page)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "退出" in page.locator(".topbar").inner_text()
    screenshot(page, "inbox-zh")
    page.click(".topbar .lang-switch button[value=en]")
    page.wait_for_url(re.compile(r"/inbox$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Sign out" in page.locator(".topbar").inner_text()
    assert "Inbox" in page.locator("h1").inner_text()
    screenshot(page, "inbox-en")
    page.goto("/account")
    assert page.is_checked("input[name=locale][value=en]")
    page.check("input[name=locale][value=zh_CN]")
    page.click("form.task-form button[type=submit]")
    page.wait_for_selector("html[lang=zh-CN]")  # the click only starts the navigation
    assert "退出" in page.locator(".topbar").inner_text()
    screenshot(page, "account-zh")
