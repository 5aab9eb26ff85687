"""A shipped process edited in Chromium, as a process owner would: deal_approval's routing
condition and its manager's escalation timer are changed, a mistake is marked on its sequence
flow, fixed, deployed; the next quote runs on the new version and its instance page shows
where it stands."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from crm.models import User
from tests.browser.modeler.test_modeler import sign_in
from tests.conftest import PASSWORD, password_hash
from tests.processes.conftest import Team, team  # noqa: F401 (the fixture)
from tests.processes.test_deal_approval import opportunity, quote


@pytest.fixture
def team_server(team: Team) -> Iterator[str]:  # noqa: F811
    """The team's app (shipped processes deployed, a test clock) on a free port."""
    server = make_server("127.0.0.1", 0, team.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_change_a_shipped_process_deploy_and_watch_the_next_quote(
    team: Team,  # noqa: F811
    team_server,
    page,
    screenshot,
):
    with team.db() as db:
        owner = db.scalar(select(User).where(User.username == "flow_owner"))
        owner.password_hash = password_hash(PASSWORD)
    sign_in(page, team_server, "flow_owner")
    page.goto(f"{team_server}/process-models/deal_approval")
    page.click("text=Edit the latest version")
    page.wait_for_selector("body[data-modeler-ready='1']")

    # the routing condition, with a typing mistake
    page.click("g.djs-element[data-element-id='manager_or_director']")
    condition = page.locator("#properties input[data-prop='condition']")
    assert condition.input_value() == "tier == 'manager'"
    condition.fill("tier == 'manager' and")
    condition.press("Tab")
    # the manager's escalation: two days after the task opens instead of the computed time
    page.click("g.djs-element[data-element-id='manager_silent']")
    page.select_option("#properties select[data-prop='timer_type']", "timeDuration")
    timer = page.locator("#properties input[data-prop='timer_expression']")
    timer.fill("'P2D'")
    timer.press("Tab")

    page.click("#validate")
    page.wait_for_selector(
        "g.djs-element.df-problem[data-element-id='f_to_manager']", state="attached"
    )
    problem = page.locator("#problem-list li[data-element-id='f_to_manager']")
    assert "not a valid Python expression" in problem.inner_text()
    gateway = "g.djs-element.df-problem[data-element-id='manager_or_director']"
    assert page.locator(gateway).count() == 0
    screenshot("30-shipped-process-problem-on-flow")

    problem.click()  # selects the flow: its condition is in the properties form
    condition = page.locator("#properties input[data-prop='condition']")
    condition.fill("tier == 'manager' and quote['discount_pct'] <= 20")
    condition.press("Tab")
    page.click("#validate")
    page.wait_for_selector("#status.ok")
    page.click("#deploy")
    page.wait_for_url("**/process-models/deal_approval?deployed=2")
    page.wait_for_selector("#diff-list li[data-element-id='f_to_manager']")
    assert page.locator("#diff-list li[data-element-id='manager_silent']").count() == 1
    screenshot("31-shipped-process-deployed")

    # the next quote follows version 2
    customer_id, deal_id, agent = opportunity(team, "13500000077")
    response = quote(team, agent, deal_id, 15)
    assert response.status_code == 201, response.get_json()
    instance = response.get_json()["instance"]
    assert instance["process_id"] == "deal_approval" and instance["version"] == 2
    task = team.one_task("m_east", customer_id, "approve_manager")
    assert task["lane"] == "Manager"

    page.goto(f"{team_server}/process-instances/{instance['id']}")
    page.wait_for_selector("body[data-viewer-ready='1']")
    ready = page.locator("g.djs-element[data-element-id='approve_manager']")
    assert "df-ready" in ready.get_attribute("class")
    timer = page.locator("g.djs-element[data-element-id='manager_silent']")
    assert "df-waiting" in timer.get_attribute("class")
    # the path taken so far: the start, the decision table and the flow into it
    for element in ("start", "decide_tier", "f_start", "f_tiered"):
        done = page.locator(f"g.djs-element[data-element-id='{element}']")
        assert "df-done" in done.get_attribute("class"), element
    auto = page.locator("g.djs-element[data-element-id='auto_approve']")
    assert "df-done" not in auto.get_attribute("class")
    screenshot("32-shipped-process-instance")
