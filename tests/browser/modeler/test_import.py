"""Diagrams from other tools opened in the modeler: a Camunda 7 file shows what Dialflow
cannot execute on its elements; a bpmn.io file in the default namespace, dropped on the
canvas, is made executable in the properties form and deployed."""

from __future__ import annotations

from tests.browser.modeler.test_modeler import sign_in
from tests.conftest import PASSWORD
from tests.engine.conftest import DIAGRAMS, actor_factory

DROP = """([name, text]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([text], name, { type: 'application/xml' }));
  const zone = document.querySelector('.modeler-layout');
  const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
  zone.dispatchEvent(new DragEvent('dragover', init));
  zone.dispatchEvent(new DragEvent('drop', init));
}"""


def default_namespace(xml: str) -> str:
    """The same diagram as Signavio and others write it: BPMN as the default namespace."""
    return xml.replace("xmlns:bpmn=", "xmlns=").replace("<bpmn:", "<").replace("</bpmn:", "</")


def test_open_a_camunda_file_see_its_problems_then_deploy_an_executable_one(
    live_server, page, screenshot, client, db, make_user
):
    make_user("process_owner", username="owner_import", password=PASSWORD)
    sign_in(page, live_server, "owner_import")
    page.goto(f"{live_server}/process-models/new")
    page.wait_for_selector("body[data-modeler-ready='1']")

    page.set_input_files("#open-file", str(DIAGRAMS / "camunda7_discount.bpmn"))
    page.wait_for_selector("body[data-opened-file='camunda7_discount.bpmn']")
    page.wait_for_selector("g.djs-element[data-element-id='review']")
    assert "camunda7_discount.bpmn" in page.locator("#status").inner_text()

    page.click("#validate")
    page.wait_for_selector("g.djs-element.df-problem[data-element-id='review']")
    assert page.locator("g.djs-element.df-problem[data-element-id='notify']").count() == 1
    # its JUEL condition ${amount > 100} runs as drawn
    assert page.locator("g.djs-element.df-problem[data-element-id='Flow_big']").count() == 0
    # the requester who started it works the review outside every lane: as Dialflow does
    assert page.locator("g.djs-element.df-problem[data-element-id='StartEvent_1']").count() == 0
    review = page.locator("#problem-list li[data-element-id='review']").all_inner_texts()
    # its camunda:assignee and candidateGroups decide who works it, as in Camunda; its
    # embedded HTML form is what Dialflow cannot show
    assert any("camunda:formKey" in text for text in review)
    assert not any("candidateGroups" in text for text in review)
    screenshot("20-imported-camunda-problems")

    # the imported diagram is the draft: a reload keeps it
    page.reload()
    page.wait_for_selector("body[data-modeler-ready='1']")
    assert page.locator("#draft-notice").is_visible()
    assert page.locator("g.djs-element[data-element-id='notify']").count() == 1

    # a bpmn.io diagram without the bpmn: prefix, dropped on the canvas
    plain = default_namespace((DIAGRAMS / "bpmnio_plain.bpmn").read_text())
    assert "<bpmn:process" not in plain
    page.evaluate(DROP, ["call_back.bpmn", plain])
    page.wait_for_selector("body[data-opened-file='call_back.bpmn']")
    page.wait_for_selector("g.djs-element[data-element-id='Activity_call']")
    page.click("#validate")
    page.wait_for_selector("#problem-list li[data-element-id='Process_call_back']")
    assert 'isExecutable="false"' in page.locator("#problem-list").inner_text()

    page.locator("#properties input[name='executable']").check()
    page.click("#validate")
    page.wait_for_selector("#status.ok")
    page.click("#deploy")
    page.wait_for_url("**/process-models/Process_call_back?deployed=1")
    screenshot("21-imported-and-deployed")

    api = actor_factory(client, db)("process_owner")
    models = {m["process_id"]: m for m in api.models()}
    assert "Process_call_back" in models and "discount_request" not in models
    xml = api.get("/api/v1/process-models/Process_call_back/versions/1/bpmn").text
    assert 'isExecutable="true"' in xml


def test_upload_a_decision_table_with_the_diagram_and_deploy(
    live_server, page, screenshot, client, db, make_user
):
    make_user("process_owner", username="owner_dmn", password=PASSWORD)
    sign_in(page, live_server, "owner_dmn")
    page.goto(f"{live_server}/process-models/new")
    page.wait_for_selector("body[data-modeler-ready='1']")
    assert page.locator("#dmn-empty").is_visible()

    page.set_input_files("#open-file", str(DIAGRAMS / "deal_pricing.bpmn"))
    page.wait_for_selector("body[data-opened-file='deal_pricing.bpmn']")
    page.click("#validate")
    problem = page.locator("#problem-list li[data-element-id='pick_discount']")
    assert "discount_tier" in problem.inner_text()

    page.set_input_files("#open-dmn", str(DIAGRAMS / "discount.dmn"))
    page.wait_for_selector("#dmn-list li[data-file='discount.dmn']")
    # kept in the draft with the diagram
    page.reload()
    page.wait_for_selector("body[data-modeler-ready='1']")
    page.wait_for_selector("#dmn-list li[data-file='discount.dmn']")
    page.click("#validate")
    page.wait_for_selector("#status.ok")
    screenshot("22-decision-table-uploaded")
    page.click("#deploy")
    page.wait_for_url("**/process-models/deal_pricing?deployed=1")
    assert page.locator("#versions tr[data-version='1'] a.decision-link").inner_text() == (
        "discount.dmn"
    )
