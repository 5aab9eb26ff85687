"""The decision-table page in Chromium: a process owner raises the automatic discount threshold
of deal_approval from 10 % to 15 % by typing into the table, deploys, and sees version 2."""

from __future__ import annotations

from tests.browser.modeler.test_modeler import sign_in
from tests.conftest import PASSWORD


def test_change_a_threshold_and_deploy(live_server, page, screenshot, runtime, make_user):
    runtime.deploy_shipped_models()
    make_user("process_owner", username="owner_tables", password=PASSWORD)
    sign_in(page, live_server, "owner_tables")

    page.goto(f"{live_server}/process-models/deal_approval")
    page.click("#versions tr[data-version='1'] a.decision-link:has-text('discount_approval.dmn')")
    page.wait_for_selector("body[data-dmn-ready='1']")
    cell = page.locator("td[data-element-id='rule_auto_in']")
    assert cell.inner_text().strip() == "<= 10"
    cell.locator("[contenteditable]").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("<= 15")
    page.locator("td[data-element-id='rule_auto_out']").click()  # leave the cell
    page.wait_for_selector("body[data-draft-saved]")
    assert page.locator("td[data-element-id='rule_auto_in']").inner_text().strip() == "<= 15"
    screenshot("10-decision-table-edited")

    page.click("#validate")
    page.wait_for_selector("#status.ok")
    page.click("#deploy")
    page.wait_for_url("**/process-models/deal_approval?deployed=2")
    assert page.locator("#versions tr[data-version='2']").count() == 1
    assert page.locator("#deployed-flash").is_visible()
    screenshot("11-decision-table-deployed")

    page.click("#versions tr[data-version='2'] a.decision-link:has-text('discount_approval.dmn')")
    page.wait_for_selector("body[data-dmn-ready='1']")
    assert page.locator("td[data-element-id='rule_auto_in']").inner_text().strip() == "<= 15"
    assert page.locator("#draft-notice").is_hidden()
