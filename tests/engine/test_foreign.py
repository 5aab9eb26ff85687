"""Diagrams from other tools: what Dialflow cannot execute is reported element by element."""

from __future__ import annotations

import pytest

from engine.errors import InvalidBpmn
from engine.foreign import foreign_problems
from engine.validation import validate_bundle
from handlers import build_registry
from tests.engine.conftest import DIAGRAMS


def problems_of(name: str, text: str | None = None) -> list[dict]:
    text = text if text is not None else (DIAGRAMS / name).read_text()
    with pytest.raises(InvalidBpmn) as caught:
        validate_bundle({name: text}, {}, {}, build_registry())
    return caught.value.details


def by_element(details: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for detail in details:
        found.setdefault(detail["element_id"], []).append(detail["message"])
    return found


def test_camunda_7_diagram_is_reported_element_by_element():
    found = by_element(problems_of("camunda7_discount.bpmn"))
    review = " ".join(found["review"])
    # who works it (the requester in the data, the group "managers") runs as drawn
    assert "camunda:assignee" not in review
    assert "camunda:candidateGroups" not in review
    assert "camunda:formKey" in review
    notify = " ".join(found["notify"])
    assert "camunda:class" in notify and "operator" in notify
    # asyncBefore leaves a service task to a worker (engine.java_async): not reported
    assert "camunda:asyncBefore" not in notify and "<camunda:inputOutput>" in notify
    assert "Flow_big" not in found  # its JUEL condition runs (engine.juel)
    assert "StartEvent_1" not in found  # its initiator is read by that assignee only
    # harmless tool settings pass; the JUEL condition is not reported as bad Python
    assert not any("historyTimeToLive" in m for ms in found.values() for m in ms)
    assert not any("not a valid Python" in m for ms in found.values() for m in ms)


def test_every_problem_has_a_line():
    assert all(d["line"] for d in problems_of("camunda7_discount.bpmn"))


def test_plain_bpmn_io_diagram_needs_only_to_be_executable():
    (only,) = problems_of("bpmnio_plain.bpmn")
    assert only["element_id"] == "Process_call_back"
    assert 'isExecutable="false"' in only["message"]
    fixed = (
        (DIAGRAMS / "bpmnio_plain.bpmn")
        .read_text()
        .replace('isExecutable="false"', 'isExecutable="true"')
    )
    parsed = validate_bundle({"p.bpmn": fixed}, {}, {}, build_registry())
    assert list(parsed.specs) == ["Process_call_back"]


@pytest.mark.parametrize(
    ("namespace", "prefix", "construct", "element"),
    [
        ("http://camunda.org/schema/zeebe/1.0", "zeebe", '<zeebe:taskDefinition type="x"/>', "ext"),
        # who works a task runs when it names people or variables; a method call cannot
        ("http://activiti.org/bpmn", "activiti", 'activiti:assignee="${owners.first()}"', "attr"),
        ("http://flowable.org/bpmn", "flowable", 'flowable:candidateGroups="${g.all()}"', "attr"),
    ],
)
def test_zeebe_activiti_and_flowable(namespace, prefix, construct, element):
    ext = (
        f"<bpmn:extensionElements>{construct}</bpmn:extensionElements>" if element == "ext" else ""
    )
    attr = construct if element == "attr" else ""
    xml = f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
      xmlns:{prefix}="{namespace}" id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true"><bpmn:userTask id="t1" {attr}>{ext}</bpmn:userTask>
      </bpmn:process></bpmn:definitions>"""
    (found,) = foreign_problems("x.bpmn", xml)
    assert found["element_id"] == "t1"
    assert f"{prefix}:" in found["message"] or f"<{prefix}:" in found["message"]


def test_expression_languages_and_script_formats():
    xml = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true">
        <bpmn:scriptTask id="s1" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script>
        </bpmn:scriptTask>
        <bpmn:scriptTask id="s2" scriptFormat="python"><bpmn:script>x = 1</bpmn:script>
        </bpmn:scriptTask>
        <bpmn:sequenceFlow id="f1" sourceRef="s1" targetRef="s2">
          <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
            language="javascript">x &gt; 1</bpmn:conditionExpression>
        </bpmn:sequenceFlow>
        <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="td">
          <bpmn:timeDuration>${duration.plusDays(1)}</bpmn:timeDuration></bpmn:timerEventDefinition>
        </bpmn:intermediateCatchEvent>
      </bpmn:process></bpmn:definitions>"""
    found = by_element(foreign_problems("x.bpmn", xml))
    assert set(found) == {"s1", "f1", "wait"}
    assert "'groovy'" in found["s1"][0]
    assert "'javascript'" in found["f1"][0]
    # ${duration} runs (engine.juel); a Java method in a timer does not
    assert "JUEL" in found["wait"][0] and "calls a Java method" in found["wait"][0]


def test_a_java_class_is_said_once_with_the_operators_that_do_its_work():
    """The parser's "must have an operator" said again what the class's problem says."""
    xml = (DIAGRAMS / "camunda7_discount.bpmn").read_text()
    details = problems_of("c.bpmn", xml)
    assert not any("must have an operator" in d["message"] for d in details), details
    (said,) = [d["message"] for d in details if "com.example.NotifyDirector" in d["message"]]
    assert 'camunda:topic="notify.user" with its parameters user, message' in said, said


def test_malformed_xml_is_left_to_validation():
    assert foreign_problems("x.bpmn", "<bpmn:definitions") == []
