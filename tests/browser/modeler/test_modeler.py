"""The modeler in Chromium: edit a gateway condition and a timer through the properties form,
see a validation error on its element, fix it, deploy, and watch an instance of the new version."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import PASSWORD
from tests.engine.conftest import DIAGRAMS, actor_factory

HERE = Path(__file__).parent


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox**")


def test_edit_validate_fix_deploy_and_watch(live_server, page, screenshot, client, db, make_user):
    api = actor_factory(client, db)("process_owner")
    bundle = {
        "bpmn": {"follow_up.bpmn": (HERE / "follow_up.bpmn").read_text()},
        "forms": {"call-form.json": json.loads((DIAGRAMS / "call-form.json").read_text())},
    }
    assert api.post("/api/v1/process-models", json=bundle).status_code == 201
    make_user("process_owner", username="owner_browser", password=PASSWORD)
    sign_in(page, live_server, "owner_browser")

    page.click("nav >> text=Process models")
    page.click("text=Follow up an interested lead")
    page.click("text=Edit the latest version")
    page.wait_for_selector("body[data-modeler-ready='1']")

    # the gateway's outgoing condition, made invalid on purpose
    page.click("g.djs-element[data-element-id='gw']")
    condition = page.locator("#properties input[data-prop='condition']")
    assert condition.input_value() == "outcome == 'interested'"
    condition.fill("outcome ==")
    condition.press("Tab")
    # the timer: a cycle, then back to a duration of two hours
    page.click("g.djs-element[data-element-id='wait']")
    page.select_option("#properties select[data-prop='timer_type']", "timeCycle")
    page.select_option("#properties select[data-prop='timer_type']", "timeDuration")
    timer = page.locator("#properties input[data-prop='timer_expression']")
    timer.fill("'PT2H'")
    timer.press("Tab")
    screenshot("01-modeler-editing")

    page.click("#validate")
    # marked on the sequence flow that holds the condition
    page.wait_for_selector("g.djs-element.df-problem[data-element-id='f_yes']", state="attached")
    problem = page.locator("#problem-list li[data-element-id='f_yes']")
    assert "not a valid Python expression" in problem.inner_text()
    assert page.locator(".df-problem-badge").count() >= 1
    screenshot("02-validation-error-marked")

    # a reload keeps the draft
    page.reload()
    page.wait_for_selector("body[data-modeler-ready='1']")
    assert page.locator("#draft-notice").is_visible()

    problem_again = page.locator("#validate")
    problem_again.click()
    page.locator("#problem-list li[data-element-id='f_yes']").click()
    condition = page.locator("#properties input[data-prop='condition']")
    condition.fill("outcome == 'very interested'")
    condition.press("Tab")
    page.click("#validate")
    page.wait_for_selector("#status.ok")
    assert page.locator("g.djs-element.df-problem").count() == 0

    page.click("#deploy")
    page.wait_for_url("**/process-models/lead_follow_up?deployed=2")
    assert page.locator("#versions tr[data-version='2']").count() == 1
    page.wait_for_selector("#diff-list li[data-element-id='f_yes']")
    assert page.locator("#diff-list li[data-element-id='wait']").count() == 1
    screenshot("03-versions-and-diff")

    xml = api.get("/api/v1/process-models/lead_follow_up/versions/2/bpmn").text
    assert "outcome == 'very interested'" in xml
    assert ">'PT2H'</bpmn:timeDuration>" in xml
    assert "formJsonSchemaFilename" in xml  # extension elements survive the round trip

    started = api.start("lead_follow_up", version=2)
    assert started["version"] == 2
    page.goto(f"{live_server}/process-instances/{started['id']}")
    page.wait_for_selector("body[data-viewer-ready='1']")
    assert "df-ready" in page.locator("g.djs-element[data-element-id='call']").get_attribute(
        "class"
    )
    assert "df-done" in page.locator("g.djs-element[data-element-id='start']").get_attribute(
        "class"
    )
    screenshot("04-instance-current-task")


def test_diagrams_without_layout_and_the_shipped_ones_are_drawn(
    live_server, page, screenshot, client, db, make_user, runtime
):
    """A diagram exported without DI is laid out in the browser; shipped ones keep theirs."""
    runtime.deploy_shipped_models()
    api = actor_factory(client, db)("process_owner")
    plain = {"bpmn": {"callback_timers.bpmn": (DIAGRAMS / "callback_timers.bpmn").read_text()}}
    assert "BPMNShape" not in plain["bpmn"]["callback_timers.bpmn"]
    assert api.post("/api/v1/process-models", json=plain).status_code == 201
    make_user("process_owner", username="owner_layout", password=PASSWORD)
    sign_in(page, live_server, "owner_layout")
    for process_id, element in (("callback_escalation", "esc_call"), ("call_cadence", "gate")):
        page.goto(f"{live_server}/process-models/{process_id}/versions/1/edit")
        page.wait_for_selector("body[data-modeler-ready='1']")
        shape = page.locator(f"g.djs-element[data-element-id='{element}']")
        box = shape.bounding_box()
        assert box is not None and box["width"] > 20 and box["height"] > 20, process_id
        screenshot(f"10-drawn-{process_id}")
