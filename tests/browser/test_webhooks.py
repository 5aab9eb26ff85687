"""An administrator in Chromium: Settings → Webhooks, create a subscription, copy its secret,
send a test event, and see it delivered to a real receiver by the in-process sender."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from dialflow.background import WebhookSender
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

# The receiver listens on 127.0.0.1, an address refused by default.
pytestmark = [pytest.mark.browser, pytest.mark.webhook_targets("127.0.0.1")]


def test_admin_creates_a_webhook_and_sees_its_test_event_delivered(
    page, runtime, make_user, receiver
):
    make_user("admin", username="root", team=None, password=PASSWORD)
    sender = WebhookSender(runtime, interval=0.2)  # as `dialflow serve` runs it
    sender.start_thread()
    try:
        page.goto("/login")
        page.fill("#username", "root")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(re.compile(r"/inbox$"))

        page.click('nav.mainnav a[href="/settings"]')
        page.click('a[data-tab="webhooks"]')
        page.wait_for_url(re.compile(r"/settings/webhooks$"))
        page.fill("#f-url", receiver.url)
        page.fill("#f-description", "ERP 同步")
        page.check('input[name=event_types][value="customer.created"]')
        page.check('input[name=event_types][value="deal.won"]')
        page.click("form.task-form button[type=submit]")

        secret = page.locator("#webhook-secret").inner_text().strip()
        assert secret.startswith("whsec_")
        page.click('button[data-action="test"]')
        page.wait_for_url(re.compile(r"/settings/webhooks/\d+$"))
        assert page.locator("#webhook-secret").count() == 0  # shown once only

        [request] = receiver.wait_for(1)
        assert request.json["type"] == "webhook.test"
        timestamp = request.headers["X-Dialflow-Timestamp"]
        digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
        assert request.headers["X-Dialflow-Signature"] == "sha256=" + digest.hexdigest()

        for _ in range(50):  # the answer is recorded just after the receiver got it
            page.reload()
            if page.locator('tr[data-status="delivered"]').count():
                break
            page.wait_for_timeout(100)
        row = page.locator('tr[data-status="delivered"]')
        assert row.count() == 1
        assert "HTTP 200" in row.inner_text()
        screenshot(page, "webhooks")

        page.click('a.tab[data-tab="webhooks"]')
        page.wait_for_url(re.compile(r"/settings/webhooks$"))
        page.wait_for_selector("table.webhooks tbody tr")  # the click only starts the navigation
        listed = page.locator("table.webhooks tbody tr")
        assert listed.count() == 1 and "ERP 同步" in listed.inner_text()
    finally:
        sender.stop()
