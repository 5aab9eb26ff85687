"""The diff of two diagram versions: elements added, removed and changed, layout ignored."""

from __future__ import annotations

import pytest

from engine.errors import InvalidBpmn
from engine.model_diff import diff_models
from tests.engine.conftest import DIAGRAMS


def model(body: str, extra_ns: str = "") -> str:
    return f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
      xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
      xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
      xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" {extra_ns} id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"""


BASE = """
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:exclusiveGateway id="gw" default="f3"><bpmn:incoming>f1</bpmn:incoming>
  </bpmn:exclusiveGateway>
  <bpmn:userTask id="call" name="Call"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
  <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="call">
    <bpmn:conditionExpression>amount &gt; 100</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="td">
    <bpmn:timeDuration>'PT1H'</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
"""


def test_identical_models_have_no_diff():
    assert diff_models(model(BASE), model(BASE)).to_dict() == {
        "added": [],
        "removed": [],
        "changed": [],
    }


def test_condition_and_timer_changes_are_named():
    after = BASE.replace("amount &gt; 100", "amount &gt; 200").replace("'PT1H'", "'PT2H'")
    changed = {
        c["element_id"]: c["changes"] for c in diff_models(model(BASE), model(after)).changed
    }
    assert changed["f2"] == [
        {"what": "conditionExpression", "before": "amount > 100", "after": "amount > 200"}
    ]
    assert changed["wait"] == [
        {"what": "timerEventDefinition/timeDuration", "before": "'PT1H'", "after": "'PT2H'"}
    ]
    assert set(changed) == {"f2", "wait"}  # the timer definition belongs to its event


def test_added_and_removed_elements_with_types_and_names():
    after = BASE.replace('<bpmn:userTask id="call" name="Call"/>', "") + (
        '<bpmn:scriptTask id="score" name="Score"><bpmn:script>s = 1</bpmn:script>'
        "</bpmn:scriptTask>"
    )
    diff = diff_models(model(BASE), model(after))
    assert diff.added == [{"element_id": "score", "type": "scriptTask", "name": "Score"}]
    assert diff.removed == [{"element_id": "call", "type": "userTask", "name": "Call"}]


def test_type_change_and_attribute_change():
    after = BASE.replace(
        '<bpmn:userTask id="call" name="Call"/>', '<bpmn:manualTask id="call" name="Ring"/>'
    )
    (changed,) = diff_models(model(BASE), model(after)).changed
    assert changed["element_id"] == "call"
    assert {"what": "type", "before": "userTask", "after": "manualTask"} in changed["changes"]
    assert {"what": "name", "before": "Call", "after": "Ring"} in changed["changes"]


def test_layout_and_incoming_outgoing_are_not_changes():
    layout = (
        '<bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="pl" bpmnElement="p">'
        '<bpmndi:BPMNShape id="s_di" bpmnElement="start"><dc:Bounds x="{x}" y="1" width="36" '
        'height="36"/></bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>'
    )
    before = model(BASE).replace("</bpmn:definitions>", layout.format(x=1) + "</bpmn:definitions>")
    after = model(BASE.replace("<bpmn:outgoing>f1</bpmn:outgoing>", "")).replace(
        "</bpmn:definitions>", layout.format(x=500) + "</bpmn:definitions>"
    )
    assert diff_models(before, after).changed == []


def test_service_parameters_are_keyed_by_id():
    before = (DIAGRAMS / "call_note.bpmn").read_text()
    after = (DIAGRAMS / "call_note_v2.bpmn").read_text()
    changed = {c["element_id"]: c["changes"] for c in diff_models(before, after).changed}
    assert changed["note"] == [
        {
            "what": "serviceTaskOperator/parameters/parameter[text]@value",
            "before": "'Outcome: ' + outcome",
            "after": "'Result: ' + outcome",
        }
    ]


def test_unreadable_xml_is_invalid_bpmn():
    with pytest.raises(InvalidBpmn):
        diff_models("<nope", model(BASE))
