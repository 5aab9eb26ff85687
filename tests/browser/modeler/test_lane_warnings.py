"""A lane that names no role and no team: the modeler's validate lists and marks it as a
warning (the diagram can still be deployed), and the versions page it lands on says it again."""

from __future__ import annotations

from pathlib import Path

from tests.browser.modeler.test_modeler import sign_in
from tests.conftest import PASSWORD

FIELD_VISIT = Path(__file__).with_name("field_visit.bpmn")


def test_validate_warns_of_a_lane_no_one_matches_and_deploy_goes_through(
    live_server, page, screenshot, make_user
):
    make_user("process_owner", username="owner_lanes", password=PASSWORD)
    sign_in(page, live_server, "owner_lanes")
    page.goto(f"{live_server}/process-models/new")
    page.wait_for_selector("body[data-modeler-ready='1']")
    page.set_input_files("#open-file", str(FIELD_VISIT))
    page.wait_for_selector("body[data-opened-file='field_visit.bpmn']")
    page.wait_for_selector("g.djs-element[data-element-id='lane_field']")

    page.click("#validate")
    page.wait_for_selector("#status.ok")
    warning = page.locator("#problem-list li.warning[data-element-id='lane_field']")
    assert "The lane Field Sales names no role and no team" in warning.inner_text()
    assert page.locator("g.djs-element.df-warning[data-element-id='lane_field']").count() == 1
    assert "read the warnings" in page.locator("#status").inner_text()
    screenshot("23-lane-warning")

    page.click("#deploy")
    page.wait_for_url("**/process-models/field_visit?deployed=1")
    assert "The lane Field Sales names no role and no team" in (
        page.locator("[data-lane-of-nobody='Field Sales']").inner_text()
    )
