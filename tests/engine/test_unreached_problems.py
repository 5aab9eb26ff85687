"""An element no flow reaches is refused for that, and for its own problems too: an unknown
operator, a form that is not there, a script that does not compile, a decision no DMN file
has, an unquoted timer. Each problem is said once, on its element, so a process owner fixes
everything in one deploy."""

from __future__ import annotations

from collections import Counter

from tests.engine.conftest import Actor, by_element, refused

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="defs" targetNamespace="http://dialflow.example/unreached">\n'
)


def operator(task_id: str, name: str) -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{name}"><spiffworkflow:parameters/>'
        "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    )


PROCESS = (
    HEAD
    + '<bpmn:process id="follow_up" isExecutable="true">\n'
    + '<bpmn:startEvent id="start"/>\n'
    + operator("ring", "crm.ring_twice")
    + "\n"
    + '<bpmn:endEvent id="end"/>\n'
    + '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ring"/>\n'
    + '<bpmn:sequenceFlow id="f2" sourceRef="ring" targetRef="end"/>\n'
    # nothing leads to any of these
    + operator("ring_again", "crm.ring_twice")
    + "\n"
    + '<bpmn:userTask id="confirm"><bpmn:extensionElements><spiffworkflow:properties>'
    + '<spiffworkflow:property name="formJsonSchemaFilename" value="confirm-missing.json"/>'
    + "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>\n"
    + '<bpmn:scriptTask id="tally"><bpmn:script>calls = = 1</bpmn:script></bpmn:scriptTask>\n'
    + '<bpmn:businessRuleTask id="route"><bpmn:extensionElements>'
    + "<spiffworkflow:calledDecisionId>no_such_table</spiffworkflow:calledDecisionId>"
    + "</bpmn:extensionElements></bpmn:businessRuleTask>\n"
    + '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="wait_def">'
    + "<bpmn:timeDuration>PT1X</bpmn:timeDuration></bpmn:timerEventDefinition>"
    + "</bpmn:intermediateCatchEvent>\n"
    + '<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="tally"/>\n'
    # an unreached subprocess: one reachability problem, and the problems inside it
    + '<bpmn:subProcess id="later">\n'
    + '<bpmn:startEvent id="later_start"/>\n'
    + operator("later_ring", "crm.ring_later")
    + "\n"
    + '<bpmn:endEvent id="later_end"/>\n'
    + '<bpmn:sequenceFlow id="l1" sourceRef="later_start" targetRef="later_ring"/>\n'
    + '<bpmn:sequenceFlow id="l2" sourceRef="later_ring" targetRef="later_end"/>\n'
    + "</bpmn:subProcess>\n"
    + "</bpmn:process>\n</bpmn:definitions>\n"
)


def test_unreached_elements_are_refused_with_their_own_problems(owner: Actor):
    details = refused(owner.post("/api/v1/process-models", json={"bpmn": PROCESS}))
    found = by_element(details)
    assert set(found) == {
        "ring",
        "ring_again",
        "confirm",
        "tally",
        "route",
        "wait",
        "later",
        "later_ring",
    }, details

    assert "nothing" not in found["ring"]  # reached: only its operator
    assert "unknown service operator 'crm.ring_twice'" in found["ring"]
    for element in ("ring_again", "confirm", "route", "wait", "later"):
        assert "nothing leads to this" in found[element], found[element]
    assert "nothing that runs leads to this task: only 'wait'" in found["tally"]
    assert "unknown service operator 'crm.ring_twice'" in found["ring_again"]
    assert "form 'confirm-missing.json' is not part of the deploy" in found["confirm"]
    assert "syntax error" in found["tally"]
    assert "calls decision 'no_such_table', which no DMN file of this deploy has" in found["route"]
    assert "timer value 'PT1X' is not a valid ISO 8601 duration" in found["wait"], found["wait"]
    assert "unknown service operator 'crm.ring_later'" in found["later_ring"]
    assert "nothing" not in found["later_ring"]  # the subprocess is the one unreached element

    # each problem once, on its element
    counts = Counter((d["element_id"], d["message"]) for d in details)
    assert all(n == 1 for n in counts.values()), counts
    per_element = Counter(d["element_id"] for d in details)
    assert per_element == {
        "ring": 1,
        "ring_again": 2,
        "confirm": 2,
        "tally": 2,
        "route": 2,
        "wait": 2,
        "later": 1,
        "later_ring": 1,
    }, details
    assert all(d["line"] for d in details), details
