"""A deploy's files often share element ids (``StartEvent_1``, ``Task_1`` from the modelers):
each 422 detail names the file its element is in and the line there, whichever of the files
comes first, and an element of one file is never mistaken for its namesake in another."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.engine.conftest import Actor, by_element, refused

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="defs_{pid}" targetNamespace="http://dialflow.example/lines">\n'
)
SCRIPT = (
    '<bpmn:scriptTask id="Task_1" name="Score"><bpmn:script>score = 1</bpmn:script>'
    "</bpmn:scriptTask>"
)
BROKEN = {
    "unknown operator": (
        '<bpmn:serviceTask id="Task_1" name="Ring"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="crm.ring_twice"><spiffworkflow:parameters/>'
        "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>",
        "unknown service operator 'crm.ring_twice'",
    ),
    "script syntax": (
        '<bpmn:scriptTask id="Task_1"><bpmn:script>score = = 1</bpmn:script></bpmn:scriptTask>',
        "syntax error",
    ),
    "missing form": (
        '<bpmn:userTask id="Task_1"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="missing.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>",
        "form 'missing.json' is not part of the deploy",
    ),
    "missing decision": (  # the parser stops at it: its own words, on the element
        '<bpmn:businessRuleTask id="Task_1"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>no_such_table</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>",
        "no_such_table",
    ),
}


def bpmn(process_id: str, task: str, padding: int, after: str = "") -> bytes:
    """StartEvent_1 → Task_1 (→ Task_2 when ``after``) → EndEvent_1, ``padding`` lines lower
    in the file than with none."""
    notes = "".join(f"    <!-- layout note {i} -->\n" for i in range(padding))
    last = "Task_2" if after else "Task_1"
    return (
        HEAD.format(pid=process_id)
        + f'  <bpmn:process id="{process_id}" isExecutable="true">\n{notes}'
        + '    <bpmn:startEvent id="StartEvent_1"/>\n'
        + f"    {task}\n"
        + (f"    {after}\n" if after else "")
        + '    <bpmn:endEvent id="EndEvent_1"/>\n'
        + '    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_1"/>\n'
        + (
            '    <bpmn:sequenceFlow id="Flow_3" sourceRef="Task_1" targetRef="Task_2"/>\n'
            if after
            else ""
        )
        + f'    <bpmn:sequenceFlow id="Flow_2" sourceRef="{last}" targetRef="EndEvent_1"/>\n'
        + "  </bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def upload(actor: Actor, files: list[tuple[str, bytes]]):
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
    )


def line_of(fragment: str, text: bytes) -> int:
    return (
        text.decode()
        .splitlines()
        .index(next(x for x in text.decode().splitlines() if fragment in x))
        + 1
    )


@pytest.mark.parametrize("broken", list(BROKEN), ids=list(BROKEN))
@pytest.mark.parametrize("position", ["first", "second"])
def test_a_detail_names_the_file_and_line_of_its_element(owner: Actor, broken: str, position):
    task, fragment = BROKEN[broken]
    # The broken file's Task_1 is lower than the other file's in one order, higher in the other.
    bad = ("call_back.bpmn", bpmn("call_back", task, 9 if position == "first" else 0))
    good = ("score_lead.bpmn", bpmn("score_lead", SCRIPT, 0 if position == "first" else 9))
    files = [bad, good] if position == "first" else [good, bad]

    details = refused(upload(owner, files))
    (detail,) = [d for d in details if fragment in d["message"]]
    assert detail["element_id"] == "Task_1", details
    assert detail.get("file") == "call_back.bpmn", details
    assert detail["line"] == line_of('id="Task_1"', bad[1]), details
    assert all(d.get("file") in (None, "call_back.bpmn") for d in details), details


def test_elements_read_one_by_one_are_read_in_each_file(owner: Actor):
    """Two processes the parser cannot build (a decision no DMN file has), in two files with
    the same ids: each file's elements are checked, not only the first file's."""
    stop = (
        '<bpmn:businessRuleTask id="Task_2"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>no_such_table</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
    )
    first = ("score_lead.bpmn", bpmn("score_lead", SCRIPT, 0, after=stop))
    second = ("call_back.bpmn", bpmn("call_back", BROKEN["unknown operator"][0], 5, after=stop))

    details = refused(upload(owner, [first, second]))
    (operator,) = [d for d in details if "crm.ring_twice" in d["message"]]
    assert operator["element_id"] == "Task_1", details
    assert operator.get("file") == "call_back.bpmn", details
    assert operator["line"] == line_of('id="Task_1"', second[1]), details
    decisions = sorted((d.get("file"), d["line"]) for d in details if d["element_id"] == "Task_2")
    assert decisions == [
        ("call_back.bpmn", line_of('id="Task_2"', second[1])),
        ("score_lead.bpmn", line_of('id="Task_2"', first[1])),
    ], details
    assert set(by_element(details)) == {"Task_1", "Task_2"}, details
