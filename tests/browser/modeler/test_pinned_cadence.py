"""A process owner pins the call cadence's retry limit and callback window in Chromium: the
operator form lists the optional rules with what they replace, a half-given window is marked on
its task, fixed, deployed; new leads follow version 2."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Customer, User
from tests.browser.modeler.test_modeler import sign_in
from tests.browser.modeler.test_shipped_process import team_server  # noqa: F401 (fixture)
from tests.conftest import PASSWORD, password_hash
from tests.processes.conftest import Team, team  # noqa: F401 (the fixture)
from tests.processes.test_versioned_cadence import call, new_lead


def set_parameter(page, element_id: str, name: str, value: str) -> None:
    if page.locator(f"#properties input[readonly][value='{element_id}']").count() == 0:
        page.click(f"g.djs-element[data-element-id='{element_id}']")
    field = page.locator(f"#properties input[data-prop='param-{name}']")
    field.fill(value)
    field.press("Tab")


def test_pin_the_retry_limit_and_callback_window_in_the_modeler(
    team: Team,  # noqa: F811
    team_server,  # noqa: F811
    page,
    screenshot,
):
    with team.db() as db:
        owner = db.scalar(select(User).where(User.username == "flow_owner"))
        owner.password_hash = password_hash(PASSWORD)
    sign_in(page, team_server, "flow_owner")
    page.goto(f"{team_server}/process-models/call_cadence")
    page.click("text=Edit the latest version")
    page.wait_for_selector("body[data-modeler-ready='1']")

    page.click("g.djs-element[data-element-id='plan_retry']")
    limit = page.locator("#properties input[data-prop='param-max_attempts_total']")
    assert limit.input_value() == ""  # the shipped diagram leaves it to the settings
    hint = limit.locator("xpath=following-sibling::div[contains(@class, 'hint')]")
    assert "cadence.max_attempts_total setting" in hint.inner_text()
    set_parameter(page, "plan_retry", "max_attempts_total", "2")
    set_parameter(page, "callback_slot", "window_start", "'10:00'")

    page.click("#validate")
    page.wait_for_selector(
        "g.djs-element.df-problem[data-element-id='callback_slot']", state="attached"
    )
    problem = page.locator("#problem-list li[data-element-id='callback_slot']")
    assert "together" in problem.inner_text()
    screenshot("40-pinned-window-half-given")

    set_parameter(page, "callback_slot", "window_end", "'18:00'")
    page.click("#validate")
    page.wait_for_selector("#status.ok")
    page.click("#deploy")
    page.wait_for_url("**/process-models/call_cadence?deployed=2")
    page.wait_for_selector("#diff-list li[data-element-id='plan_retry']")
    assert page.locator("#diff-list li[data-element-id='callback_slot']").count() == 1

    # new leads follow version 2: two unanswered calls and the lead is in the pool
    customer_id, agent = new_lead(team, "13800008001")
    call(team, agent, customer_id, disposition="no_answer")
    team.advance(hours=1)
    instance = call(team, agent, customer_id, disposition="no_answer")
    assert instance["version"] == 2 and instance["data"]["retry"]["action"] == "pool"
    with team.db() as db:
        assert db.get(Customer, customer_id).pool_status.value == "pool"
    # and a callback after 18:00 moves to the next morning's 10:00
    other, agent = new_lead(team, "13800008002")
    at = "2026-05-04T19:30:00+08:00"
    instance = call(team, agent, other, disposition="callback_requested", callback_at=at)
    assert instance["data"]["callback"] == {"at": "2026-05-05T02:00:00+00:00", "shifted": True}
