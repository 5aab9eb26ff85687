"""Diagrams whose wiring SpiffWorkflow 3.2 reads differently from their author, refused at
deploy element by element: ``<bpmn:outgoing>``/``<bpmn:incoming>`` entries naming flows that
are not there, elements nothing leads to, and a standard loop capped at no pass at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ModelBundle, ProcessVersion
from tests.engine.conftest import Actor, by_element, refused

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="defs" targetNamespace="http://dialflow.example/wiring">\n'
)


def process(process_id: str, body: str) -> str:
    return (
        f'{HEAD}<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    )


def deploy(actor: Actor, xml: str) -> Any:
    return actor.post("/api/v1/process-models", json={"bpmn": xml})


def line_of(fragment: str, text: str) -> int:
    return text.count("\n", 0, text.index(fragment)) + 1


def nothing_deployed(db: Any) -> None:
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 0


# Written as bpmn.io writes it, each element listing its flows; ``call`` leads on by f2.
CALL_THEN_CONFIRM = """
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="call" name="Call the lead">
  <bpmn:incoming>f1</bpmn:incoming>
  <bpmn:outgoing>f2</bpmn:outgoing>
</bpmn:userTask>
<bpmn:userTask id="confirm" name="Confirm the order">
  <bpmn:incoming>f2</bpmn:incoming>
  <bpmn:outgoing>f3</bpmn:outgoing>
</bpmn:userTask>
<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="confirm"/>
<bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="end"/>
"""


def test_the_diagram_as_drawn_runs_through_both_tasks(owner, agent):
    assert deploy(owner, process("call_confirm", CALL_THEN_CONFIRM)).status_code == 201
    started = agent.start("call_confirm")
    (call,) = started["ready_tasks"]
    (confirm,) = agent.complete_ok(call["id"])["ready_tasks"]
    assert confirm["name"] == "confirm"
    assert agent.complete_ok(confirm["id"])["status"] == "completed"


def test_an_outgoing_entry_naming_a_missing_flow_is_refused_on_its_line(owner, db):
    """The flow ``f2`` was deleted while ``call`` still listed it: the model deployed and
    every instance completed right after the call, without the confirmation."""
    xml = process(
        "call_confirm",
        CALL_THEN_CONFIRM.replace(
            '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="confirm"/>', ""
        ),
    )
    details = refused(deploy(owner, xml))
    found = by_element(details)
    assert "lists outgoing 'f2', which is no sequence flow of the model" in found["call"]
    assert "the path would end after this element" in found["call"]
    (on_call,) = [d for d in details if d["element_id"] == "call"]
    assert on_call["line"] == line_of("<bpmn:outgoing>f2", xml)
    # confirm lists the missing flow as incoming, and nothing leads to it any more
    assert "lists incoming 'f2', which is no sequence flow of the model" in found["confirm"]
    assert "nothing leads to this task" in found["confirm"]
    nothing_deployed(db)


def test_an_entry_naming_another_element_s_flow_is_refused(owner, db):
    """``call`` lists ``f3``, which leaves ``confirm``: SpiffWorkflow goes by the flow's
    ``sourceRef``, so ``call`` had no way on."""
    body = CALL_THEN_CONFIRM.replace(
        '<bpmn:outgoing>f2</bpmn:outgoing>\n</bpmn:userTask>\n<bpmn:userTask id="confirm"',
        '<bpmn:outgoing>f3</bpmn:outgoing>\n</bpmn:userTask>\n<bpmn:userTask id="confirm"',
    )
    assert body != CALL_THEN_CONFIRM
    found = by_element(refused(deploy(owner, process("call_confirm", body))))
    assert "lists outgoing 'f3', but that sequence flow leaves 'confirm'" in found["call"]
    nothing_deployed(db)


def test_flows_their_elements_do_not_list_run_as_drawn(owner, agent):
    """Some exporters write no incoming/outgoing lists, or leave a flow out of them:
    SpiffWorkflow follows the flows themselves, so such a diagram deploys and runs."""
    body = CALL_THEN_CONFIRM.replace("<bpmn:outgoing>f2</bpmn:outgoing>", "").replace(
        "<bpmn:incoming>f3</bpmn:incoming>", ""
    )
    assert deploy(owner, process("call_confirm", body)).status_code == 201
    (call,) = agent.start("call_confirm")["ready_tasks"]
    (confirm,) = agent.complete_ok(call["id"])["ready_tasks"]
    assert agent.complete_ok(confirm["id"])["status"] == "completed"


def test_a_task_nothing_leads_to_is_refused(owner, db):
    """``send_brochure`` has no incoming flow: it deployed and never ran (SpiffWorkflow starts
    a process at its start events only, not at every activity without an incoming flow)."""
    body = CALL_THEN_CONFIRM + (
        '<bpmn:userTask id="send_brochure" name="Send the brochure">'
        "<bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>\n"
        '<bpmn:endEvent id="sent"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>\n'
        '<bpmn:sequenceFlow id="f4" sourceRef="send_brochure" targetRef="sent"/>\n'
    )
    xml = process("call_confirm", body)
    details = refused(deploy(owner, xml))
    # the end event after it never runs either (tests/engine/test_reported_gaps.py)
    assert [d["element_id"] for d in details] == ["send_brochure", "sent"], details
    detail = details[0]
    assert "userTask 'send_brochure': nothing leads to this task" in detail["message"]
    assert detail["line"] == line_of('<bpmn:userTask id="send_brochure"', xml)
    nothing_deployed(db)


def test_an_unreached_gateway_inside_a_subprocess_is_refused(owner, db):
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="qualify">
      <bpmn:startEvent id="q_start"/>
      <bpmn:userTask id="q_ask"/>
      <bpmn:exclusiveGateway id="q_stray"/>
      <bpmn:endEvent id="q_end"/>
      <bpmn:sequenceFlow id="q1" sourceRef="q_start" targetRef="q_ask"/>
      <bpmn:sequenceFlow id="q2" sourceRef="q_ask" targetRef="q_end"/>
      <bpmn:sequenceFlow id="q3" sourceRef="q_stray" targetRef="q_end"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="qualify"/>
    <bpmn:sequenceFlow id="f2" sourceRef="qualify" targetRef="end"/>
    """
    found = by_element(refused(deploy(owner, process("qualify_lead", body))))
    assert set(found) == {"q_stray"}
    assert "exclusiveGateway 'q_stray': nothing leads to this element" in found["q_stray"]
    nothing_deployed(db)


def test_elements_that_start_without_an_incoming_flow_deploy(owner, agent):
    """Start events and boundary events need no incoming flow; a pool that is not executable
    is drawn, not run, and its loose tasks are left alone."""
    xml = (
        f"{HEAD}"
        '<bpmn:collaboration id="collab">'
        '<bpmn:participant id="p_us" processRef="follow_up"/>'
        '<bpmn:participant id="p_customer" processRef="customer"/>'
        "</bpmn:collaboration>\n"
        '<bpmn:process id="follow_up" isExecutable="true">'
        '<bpmn:startEvent id="start"/><bpmn:userTask id="call"/>'
        '<bpmn:boundaryEvent id="late" attachedToRef="call">'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>'P1D'</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="end"/><bpmn:endEvent id="late_end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late_end"/>'
        "</bpmn:process>\n"
        '<bpmn:process id="customer" isExecutable="false"><bpmn:task id="answers"/></bpmn:process>'
        "\n</bpmn:definitions>\n"
    )
    response = deploy(owner, xml)
    assert response.status_code == 201, response.get_json()
    (call,) = agent.start("follow_up")["ready_tasks"]
    assert agent.complete_ok(call["id"])["status"] == "completed"


# -- loopMaximum -----------------------------------------------------------------------------

RING = """
<bpmn:startEvent id="start"/>
<bpmn:userTask id="ring" name="Ring">
  <bpmn:standardLoopCharacteristics loopMaximum="{maximum}"/>
</bpmn:userTask>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ring"/>
<bpmn:sequenceFlow id="f2" sourceRef="ring" targetRef="end"/>
"""


@pytest.mark.parametrize(
    ("maximum", "fragment"),
    [
        ("0", "loopMaximum is 0; it caps the passes of the loop and must be a positive"),
        ("-3", "loopMaximum is -3"),
        ("2.5", "loopMaximum"),
        ("${tries}", "loopMaximum"),
        ("tries", "loopMaximum"),
    ],
)
def test_a_loop_maximum_that_is_no_positive_whole_number_is_refused(owner, db, maximum, fragment):
    """``0`` and ``-3`` deployed and ran the task once; the others are no integer."""
    xml = process("ring_lead", RING.format(maximum=maximum))
    details = refused(deploy(owner, xml))
    (detail,) = details
    assert detail["element_id"] == "ring", details
    assert fragment in detail["message"]
    assert detail["line"] in (line_of('<bpmn:userTask id="ring"', xml), line_of("loopMax", xml))
    nothing_deployed(db)


def test_a_positive_loop_maximum_runs_that_many_passes(owner, agent):
    assert deploy(owner, process("ring_lead", RING.format(maximum="2"))).status_code == 201
    started = agent.start("ring_lead")
    (first,) = started["ready_tasks"]
    (second,) = agent.complete_ok(first["id"])["ready_tasks"]
    assert agent.complete_ok(second["id"])["status"] == "completed"


def test_a_pool_that_is_only_drawn_is_left_alone(owner: Actor, agent: Actor) -> None:
    """A collaboration's customer pool, drawn for the message flows but not executable: its
    nameless message throw and its condition on a task's flow run nowhere, so the sales pool
    deploys and runs."""
    xml = (
        f"{HEAD}"
        '<bpmn:collaboration id="collab">'
        '<bpmn:participant id="p_sales" processRef="sales_side"/>'
        '<bpmn:participant id="p_customer" processRef="customer_side"/>'
        "</bpmn:collaboration>\n"
        f'<bpmn:process id="sales_side" isExecutable="true">{CALL_THEN_CONFIRM}</bpmn:process>\n'
        '<bpmn:process id="customer_side" isExecutable="false">\n'
        '<bpmn:startEvent id="c_start"/>\n'
        '<bpmn:task id="think" name="Think it over"/>\n'
        '<bpmn:intermediateThrowEvent id="ask"><bpmn:messageEventDefinition/>'
        "</bpmn:intermediateThrowEvent>\n"
        '<bpmn:endEvent id="c_end"/>\n'
        '<bpmn:sequenceFlow id="g1" sourceRef="c_start" targetRef="think"/>\n'
        '<bpmn:sequenceFlow id="g2" sourceRef="think" targetRef="ask">'
        "<bpmn:conditionExpression>interested</bpmn:conditionExpression>"
        "</bpmn:sequenceFlow>\n"
        '<bpmn:sequenceFlow id="g3" sourceRef="ask" targetRef="c_end"/>\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    )
    response = deploy(owner, xml)
    assert response.status_code == 201, response.get_json()
    started = agent.start("sales_side")
    assert [t["name"] for t in started["ready_tasks"]] == ["call"]
