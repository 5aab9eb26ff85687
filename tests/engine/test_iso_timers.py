"""Timers written as bare ISO 8601 values, as Camunda Modeler, Flowable and most tools write
them (``PT1H``, ``R2/PT10M``, ``2026-05-05T09:00:00+08:00``), deploy and fire at their times;
SpiffWorkflow reads a timer as Python, and the deploy refused each with "write it in quotes".
A value ISO 8601 only by its look is still refused, said as the value it is not."""

from __future__ import annotations

from tests.engine.conftest import Timed

CAMUNDA = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_1"
  targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="callback_window" name="Callback window" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Event_window" name="Tomorrow 09:00">
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_1">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">2026-05-05T09:00:00+08:00</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Activity_call" name="Call back">
      <bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Event_remind" name="Every 10 min" cancelActivity="false"
      attachedToRef="Activity_call">
      <bpmn:outgoing>Flow_4</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_2">
        <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R2/PT10M</bpmn:timeCycle>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="Event_late" name="1 hour" attachedToRef="Activity_call">
      <bpmn:outgoing>Flow_5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="TimerEventDefinition_3">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="Activity_remind" name="Count reminder" scriptFormat="python">
      <bpmn:incoming>Flow_4</bpmn:incoming><bpmn:outgoing>Flow_6</bpmn:outgoing>
      <bpmn:script>reminded = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Event_reminded"><bpmn:incoming>Flow_6</bpmn:incoming></bpmn:endEvent>
    <bpmn:scriptTask id="Activity_missed" name="Mark missed" scriptFormat="python">
      <bpmn:incoming>Flow_5</bpmn:incoming><bpmn:outgoing>Flow_7</bpmn:outgoing>
      <bpmn:script>outcome = "missed"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Event_missed"><bpmn:incoming>Flow_7</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="Event_done"><bpmn:incoming>Flow_3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_window"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_window" targetRef="Activity_call"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_call" targetRef="Event_done"/>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Event_remind" targetRef="Activity_remind"/>
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Event_late" targetRef="Activity_missed"/>
    <bpmn:sequenceFlow id="Flow_6" sourceRef="Activity_remind" targetRef="Event_reminded"/>
    <bpmn:sequenceFlow id="Flow_7" sourceRef="Activity_missed" targetRef="Event_missed"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_bare_iso_timers_deploy_and_fire_at_their_times(timed: Timed):
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": CAMUNDA})
    assert response.status_code in (200, 201), response.get_json()
    started = timed.agent.start("callback_window")
    # the clock starts on Monday 09:00 in Shanghai: the date is tomorrow's 09:00
    (wait,) = started["waiting"]
    assert wait["due_at"].startswith("2026-05-05T01:00:00")
    assert timed.advance(hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    assert [t["name"] for t in timed.agent.instance(started["id"])["ready_tasks"]] == [
        "Activity_call"
    ]
    assert timed.advance(minutes=10) == 1  # the cycle's first reminder
    assert timed.advance(minutes=10) == 1  # and its second, the last
    assert timed.advance(minutes=39) == 0
    assert timed.advance(minutes=1) == 1  # the hour is up: the interrupting timer
    instance = timed.agent.instance(started["id"])
    assert instance["status"] == "completed"
    assert (instance["data"]["reminded"], instance["data"]["outcome"]) == (True, "missed")


def test_a_value_iso_8601_only_by_its_look_is_refused_on_its_event(timed: Timed):
    text = CAMUNDA.replace(">PT1H<", ">PT1X<")
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": text})
    assert response.status_code == 422, response.get_json()
    (detail,) = response.get_json()["error"]["details"]
    assert detail["element_id"] == "Event_late"
    assert (
        detail["line"]
        == text.splitlines().index(
            '    <bpmn:boundaryEvent id="Event_late" name="1 hour" attachedToRef="Activity_call">'
        )
        + 1
    )
    assert "timer value 'PT1X' is not a valid ISO 8601 duration" in detail["message"]


def test_a_timer_named_by_a_variable_in_lower_case_reads_the_variable(timed: Timed):
    """``pt_wait`` is a name, not ISO 8601 (whose designators are upper case): it was refused
    as an unquoted duration; it is the variable it names."""
    text = CAMUNDA.replace(">PT1H<", ">pt_wait<")
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": text})
    assert response.status_code in (200, 201), response.get_json()
    started = timed.agent.start("callback_window", {"pt_wait": "PT2H"})
    assert timed.advance(hours=24) == 1  # tomorrow's 09:00: the call opens
    assert timed.advance(minutes=10) + timed.advance(minutes=10) == 2  # the two reminders
    assert timed.advance(minutes=99) == 0
    assert timed.advance(minutes=1) == 1  # two hours, as the data says
    assert timed.agent.instance(started["id"])["data"]["outcome"] == "missed"
