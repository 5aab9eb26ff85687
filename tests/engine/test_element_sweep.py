"""A sweep of BPMN 2.0's semantic schema for elements and attributes no other test draws: each
in a small, otherwise runnable process, deployed through the API. Each either runs as BPMN
says or is refused with ``422 invalid_bpmn`` on its element and line, in Dialflow's words with
what to draw instead.

Before the sweep, seven of them did neither: a receive task with ``instantiate="true"`` and a
process without a start event were refused with the parser's bare "No start event found." on
the process; a ``##WebService`` service task (or any without an operator) with the parser's
"A Service Task must have an operator."; a start event with ``parallelMultiple="true"``
deployed, and each of its triggers then started an instance of its own, which waited for the
other triggers, possibly for ever; a choreography task or an implicit throw event was "this
kind of element is not supported by Dialflow" with no way forward (a choreography task drawn
apart from the flow deployed and was left out); an embedded subprocess without a start
event was "Exactly one start event is required in a SubWorkflow Task; found 0.".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, refused
from tests.engine.diagram_folders import line_in, nothing_deployed, upload

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
    '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
    '  id="defs" targetNamespace="http://example.com/sweep">\n'
)
SCRIPT = '<scriptTask id="x" name="X"><script>done = 1</script></scriptTask>'
USER = '<userTask id="x" name="X">{}</userTask>'
MESSAGE_AND_SIGNAL = '<message id="m" name="lead_in"/>\n<signal id="sg" name="sig"/>'


def flow(source: str, target: str, flow_id: str) -> str:
    return f'<sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'


def around(middle: str, start: str = '<startEvent id="s"/>') -> str:
    """``start → middle (id x) → end``, one element a line."""
    return "\n".join(
        (start, middle, flow("s", "x", "f1"), flow("x", "e", "f2"), '<endEvent id="e"/>')
    )


def diagram(case: str, body: str, head: str = "", attributes: str = "") -> bytes:
    return (
        f"{HEAD}{head}\n"
        f'<process id="sweep_{case}" isExecutable="true"{attributes}>\n{body}\n</process>\n'
        "</definitions>\n"
    ).encode()


# case → (file, the element refused, words of its message); * fails on the code before.
REFUSED: dict[str, tuple[bytes, str, str]] = {
    "web-service-task*": (
        diagram(
            "ws",
            around('<serviceTask id="x" implementation="##WebService" operationRef="op"/>'),
            '<interface id="if" name="Crm"><operation id="op" name="call">'
            '<inMessageRef>m</inMessageRef></operation></interface>\n<message id="m"/>',
        ),
        "x",
        "must have an operator: name the Dialflow handler it calls",
    ),
    "instantiating-receive-task*": (
        diagram(
            "receive",
            '<receiveTask id="r" messageRef="m" instantiate="true"/>\n'
            + flow("r", "e", "f1")
            + '\n<endEvent id="e"/>',
            '<message id="m" name="lead_in"/>',
        ),
        "r",
        'a receive task that starts the process (instantiate="true") is not supported',
    ),
    "no-start-event*": (
        diagram("nostart", SCRIPT + "\n" + flow("x", "e", "f1") + '\n<endEvent id="e"/>'),
        "sweep_nostart",
        "the process has no start event: draw one where it begins",
    ),
    "parallel-multiple-start*": (
        diagram(
            "pmstart",
            around(
                SCRIPT,
                '<startEvent id="s" parallelMultiple="true"><messageEventDefinition '
                'messageRef="m"/><signalEventDefinition signalRef="sg"/></startEvent>',
            ),
            MESSAGE_AND_SIGNAL,
        ),
        "s",
        "needs all of its triggers",
    ),
    "choreography-task*": (
        diagram(
            "choreo",
            around(
                '<choreographyTask id="x" initiatingParticipantRef="pa"><participantRef>pa'
                "</participantRef><participantRef>pb</participantRef><messageFlowRef>mf"
                "</messageFlowRef></choreographyTask>"
            ),
        ),
        "x",
        "choreography activities are not executable",
    ),
    "implicit-throw-event*": (
        diagram("implicit", around('<implicitThrowEvent id="x"/>')),
        "x",
        "draw an intermediate throw event",
    ),
    "subprocess-without-start-event*": (
        diagram(
            "nosubstart",
            around(
                '<subProcess id="x"><scriptTask id="st"><script>k = 1</script></scriptTask>'
                "</subProcess>"
            ),
        ),
        "x",
        "an embedded subprocess starts at one plain start event, and this one has 0",
    ),
    "ad-hoc-subprocess": (
        diagram("adhoc", around('<adHocSubProcess id="x"><task id="a1"/></adHocSubProcess>')),
        "x",
        "ad-hoc subprocesses are not supported",
    ),
    "complex-gateway": (
        diagram(
            "complex",
            '<startEvent id="s"/>\n<complexGateway id="g" default="f2"/>\n'
            + flow("s", "g", "f1")
            + "\n"
            + flow("g", "e", "f2")
            + '\n<endEvent id="e"/>',
        ),
        "g",
        "complex gateways are not supported",
    ),
    "conditional-catch": (
        diagram(
            "cond",
            around(
                '<intermediateCatchEvent id="x"><conditionalEventDefinition><condition '
                'xsi:type="tFormalExpression">go == 1</condition></conditionalEventDefinition>'
                "</intermediateCatchEvent>"
            ),
        ),
        "x",
        "conditional events are not supported",
    ),
    "data-store-reference": (
        diagram("store", around(SCRIPT) + '\n<dataStoreReference id="ds"/>'),
        "ds",
        "data stores are not supported",
    ),
    "process-data-inputs": (
        diagram(
            "procio",
            '<ioSpecification><dataInput id="in1" name="amount"/><inputSet><dataInputRefs>in1'
            "</dataInputRefs></inputSet><outputSet/></ioSpecification>\n" + around(SCRIPT),
        ),
        "sweep_procio",
        "declares data inputs or outputs ('amount')",
    ),
    "completion-quantity": (
        diagram("cq", around(SCRIPT.replace('name="X"', 'completionQuantity="2"'))),
        "x",
        "completionQuantity='2'",
    ),
    "global-script-task-call": (
        diagram(
            "global",
            around('<callActivity id="x" calledElement="gst"/>'),
            '<globalScriptTask id="gst"><script>g = 1</script></globalScriptTask>',
        ),
        "x",
        "calls globalScriptTask 'gst', which Dialflow does not run",
    ),
    "potential-owner": (
        diagram(
            "owner",
            around(
                USER.format(
                    '<potentialOwner id="po"><resourceAssignmentExpression id="re">'
                    "<formalExpression>finance</formalExpression>"
                    "</resourceAssignmentExpression></potentialOwner>"
                )
            ),
        ),
        "x",
        "put the task in a lane named after the role or team",
    ),
    "compensation-throw": (
        diagram(
            "comp",
            around(
                '<intermediateThrowEvent id="x"><compensateEventDefinition/>'
                "</intermediateThrowEvent>"
            ),
        ),
        "x",
        "compensation is not supported",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_construct_that_would_not_run_is_refused_on_its_element(owner, db, case):
    content, element_id, words = REFUSED[case]
    details = refused(upload(owner, (f"{case}.bpmn", content)))
    mine = [d for d in details if d["element_id"] == element_id]
    assert mine, details
    assert words in mine[0]["message"], mine[0]["message"]
    assert mine[0]["line"] == line_in(f'id="{element_id}"', content)
    assert not any(raw in d["message"] for d in details for raw in PARSER_WORDS), details
    nothing_deployed(db)


# SpiffWorkflow's own words, which say neither what is wrong in BPMN terms nor what to draw.
PARSER_WORDS = (
    "No start event found",
    "A Service Task must have an operator",
    "this kind of element is not supported by Dialflow",
    "SubWorkflow Task",
)


# case → (file, the data the instance ends with); each runs to its end.
RUNS: dict[str, tuple[bytes, dict[str, Any]]] = {
    "annotation-and-association": (
        diagram(
            "note",
            around(SCRIPT)
            + '\n<textAnnotation id="ta"><text>Call within 24 h</text></textAnnotation>\n'
            '<association id="as" sourceRef="x" targetRef="ta"/>',
        ),
        {"done": 1},
    ),
    "group-of-a-category": (
        diagram(
            "group",
            around(SCRIPT) + '\n<group id="g" categoryValueRef="cv"/>',
            '<category id="c"><categoryValue id="cv" value="Qualify"/></category>',
        ),
        {"done": 1},
    ),
    "properties-auditing-monitoring": (
        diagram(
            "props",
            '<auditing id="au"/>\n<monitoring id="mo"/>\n<property id="pp" name="tmp"/>\n'
            + around(
                '<scriptTask id="x"><auditing id="tau"/><property id="tp" name="t"/>'
                "<script>done = 1</script></scriptTask>"
            ),
            attributes=' isClosed="true" processType="Public"',
        ),
        {"done": 1},
    ),
    "unknown-extensions-and-immediate-flow": (
        diagram(
            "ext",
            '<startEvent id="s"/>\n<scriptTask id="x"><extensionElements><foo:bar '
            'xmlns:foo="http://foo.example/x" a="1"/></extensionElements><script>done = 1'
            "</script></scriptTask>\n"
            + flow("s", "x", "f1")
            + '\n<sequenceFlow id="f2" sourceRef="x" targetRef="e" isImmediate="false"/>\n'
            '<endEvent id="e"/>',
        ),
        {"done": 1},
    ),
    "loop-maximum": (
        diagram(
            "loopmax",
            around(
                '<scriptTask id="x"><standardLoopCharacteristics loopMaximum="3" '
                'testBefore="false"><loopCondition xsi:type="tFormalExpression">True'
                "</loopCondition></standardLoopCharacteristics><script>n = n + 1</script>"
                "</scriptTask>"
            ),
        ),
        {"n": 3},
    ),
    "data-state-of-a-data-object": (
        diagram(
            "state",
            around(
                '<scriptTask id="x"><dataOutputAssociation id="da"><targetRef>dor</targetRef>'
                "</dataOutputAssociation><script>d = 1</script></scriptTask>"
            )
            + '\n<dataObject id="d"/>\n<dataObjectReference id="dor" dataObjectRef="d">'
            '<dataState id="dst" name="ready"/></dataObjectReference>',
        ),
        {"data_objects": {"d": 1}},
    ),
    "uncaught-escalation-goes-on": (
        diagram(
            "esc",
            around(
                '<intermediateThrowEvent id="x"><escalationEventDefinition escalationRef="esc"/>'
                "</intermediateThrowEvent>"
            ),
            '<escalation id="esc" escalationCode="E1"/>',
        ),
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(RUNS))
def test_a_construct_that_runs_as_drawn_deploys_and_completes(owner, case):
    content, expected = RUNS[case]
    assert upload(owner, (f"{case}.bpmn", content)).status_code == 201
    process_id = content.decode().split('<process id="')[1].split('"')[0]
    started = owner.start(process_id, {"n": 0})
    assert started["status"] == "completed", started
    assert started["incidents"] == []
    for key, value in expected.items():
        assert started["data"][key] == value, started["data"]


def test_a_task_in_a_nested_lane_goes_to_the_innermost_lane(owner):
    body = (
        '<laneSet id="ls"><lane id="L1" name="manager"><childLaneSet id="cls">'
        '<lane id="L2" name="agent"><flowNodeRef>x</flowNodeRef></lane></childLaneSet></lane>'
        "</laneSet>\n" + around(USER.format(""))
    )
    assert upload(owner, ("lanes.bpmn", diagram("lanes", body))).status_code == 201
    (task,) = owner.start("sweep_lanes")["ready_tasks"]
    assert (task["lane"], task["candidates"]) == ("agent", ["group:agent"])


def test_an_intermediate_catch_of_all_its_triggers_waits_for_each(owner: Actor):
    catch = (
        '<intermediateCatchEvent id="x" parallelMultiple="true"><messageEventDefinition '
        'messageRef="m"/><signalEventDefinition signalRef="sg"/></intermediateCatchEvent>'
    )
    content = diagram("allof", around(catch), MESSAGE_AND_SIGNAL)
    assert upload(owner, ("allof.bpmn", content)).status_code == 201
    instance_id = owner.start("sweep_allof")["id"]
    assert owner.post("/api/v1/signals", json={"name": "sig"}).status_code == 202
    assert owner.instance(instance_id)["status"] == "waiting"
    assert owner.post("/api/v1/messages", json={"name": "lead_in"}).status_code == 202
    assert owner.instance(instance_id)["status"] == "completed"
