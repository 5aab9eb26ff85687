"""The modeler with a collaboration (each pool edits its own process) and a draft made from
an older version than the one opened."""

from __future__ import annotations

from pathlib import Path

from tests.browser.modeler.test_modeler import sign_in
from tests.conftest import PASSWORD
from tests.engine.conftest import DIAGRAMS, actor_factory

HERE = Path(__file__).parent


def click_pool_label(page, pool: str) -> None:
    """A pool is picked by its label band on the left, as a person would."""
    box = page.locator(f"g.djs-element[data-element-id='{pool}']").bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + box["height"] / 2)


def test_a_selected_pool_edits_its_own_process(live_server, page, client, db, make_user):
    api = actor_factory(client, db)("process_owner")
    xml = (HERE / "two_pools.bpmn").read_text()
    deployed = api.post("/api/v1/process-models", json={"bpmn": {"two_pools.bpmn": xml}})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["process_ids"] == ["quote_request"]  # the customer is drawn only
    make_user("process_owner", username="owner_pools", password=PASSWORD)
    sign_in(page, live_server, "owner_pools")
    page.goto(f"{live_server}/process-models/quote_request/versions/1/edit")
    page.wait_for_selector("body[data-modeler-ready='1']")

    click_pool_label(page, "pool_customer")
    name = page.locator("#properties input[data-prop='process_name']")
    assert page.locator("#properties input[data-prop='process_id']").input_value() == (
        "customer_side"
    )
    name.fill("The customer")
    name.press("Tab")
    click_pool_label(page, "pool_sales")
    assert page.locator("#properties input[data-prop='process_id']").input_value() == (
        "quote_request"
    )
    assert page.locator("#properties input[data-prop='process_name']").input_value() == (
        "Quote request"
    )
    # no pool executable: each process's problem is marked on its pool
    page.locator("#properties input[name='executable']").uncheck()
    page.click("#validate")
    page.wait_for_selector("g.djs-element.df-problem[data-element-id='pool_sales']")
    assert page.locator("g.djs-element.df-problem[data-element-id='pool_customer']").count() == 1
    click_pool_label(page, "pool_sales")
    page.locator("#properties input[name='executable']").check()
    page.click("#validate")
    page.wait_for_selector("#status.ok")
    page.click("#deploy")
    page.wait_for_url("**/process-models/quote_request?deployed=2")
    saved = api.get("/api/v1/process-models/quote_request/versions/2/bpmn").text
    assert 'id="customer_side" name="The customer"' in saved
    assert 'id="quote_request" name="Quote request"' in saved


def test_a_draft_from_another_version_says_so(live_server, page, client, db, make_user):
    api = actor_factory(client, db)("process_owner")
    api.deploy("call_note.bpmn", "call-form.json")
    api.deploy("call_note_v2.bpmn", "call-form.json")
    assert (DIAGRAMS / "call_note_v2.bpmn").exists()
    make_user("process_owner", username="owner_drafts", password=PASSWORD)
    sign_in(page, live_server, "owner_drafts")

    page.goto(f"{live_server}/process-models/call_note/versions/1/edit")
    page.wait_for_selector("body[data-modeler-ready='1']")
    page.click("g.djs-element[data-element-id='call']")
    name = page.locator("#properties input[data-prop='name']")
    name.fill("Call the lead today")
    name.press("Tab")
    page.wait_for_function("document.getElementById('draft-state').textContent.length > 0")

    page.goto(f"{live_server}/process-models/call_note/versions/2/edit")
    page.wait_for_selector("body[data-modeler-ready='1']")
    notice = page.locator("#draft-notice")
    assert notice.is_visible()
    assert notice.get_attribute("data-other-version") == "1"
    assert "version 1, not version 2" in notice.inner_text()

    # the same version's draft carries no such warning
    page.goto(f"{live_server}/process-models/call_note/versions/1/edit")
    page.wait_for_selector("body[data-modeler-ready='1']")
    assert page.locator("#draft-notice").is_visible()
    assert page.locator("#draft-notice").get_attribute("data-other-version") is None
