"""Review of the day's merged work, attacked through the API: a form field hidden by a
condition on a field that is hidden itself; what the instance's diagram shows of the tasks a
deploy draws beside events with mappings; a queued message whose instance another
transaction holds, in the scheduler's pass; a DMN output computed from a null input."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.conftest import backend
from tests.engine.conftest import Actor
from tests.engine.test_camunda7_forms import c7
from tests.engine.test_io_mappings import C7, C8, diagram
from tests.engine.test_mappings_more import _deploy, _with_messages

CHAINED = {
    "id": "call-result",
    "type": "default",
    "components": [
        {
            "type": "select",
            "key": "outcome",
            "label": "Outcome",
            "values": [{"label": "Won", "value": "won"}, {"label": "Lost", "value": "lost"}],
            "validate": {"required": True},
        },
        {
            "type": "textfield",
            "key": "lost_reason",
            "label": "Why lost",
            "conditional": {"hide": '=outcome != "lost"'},
        },
        {
            "type": "textfield",
            "key": "next_step",
            "label": "Next step",
            "validate": {"required": True},
            "conditional": {"hide": '=lost_reason = "price"'},
        },
    ],
}


BY_THE_INSTANCE = {
    "id": "call-result",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "tier", "label": "Tier", "readonly": True},
        {
            "type": "number",
            "key": "budget",
            "label": "Budget",
            "validate": {"required": True},
            "conditional": {"hide": '=tier = "vip"'},
        },
        {
            "type": "textfield",
            "key": "callback",
            "label": "Call back when",
            "validate": {"required": True},
            "conditional": {"hide": '=segment = "dormant"'},
        },
    ],
}


def _task(owner: Actor, agent: Actor, form: dict, data: dict | None = None) -> dict:
    files = [
        ("c7_form_ref.bpmn", c7('camunda:formRef="call-result"')),
        ("call-result.form", json.dumps(form).encode()),
    ]
    response = owner.upload(extra=files)
    assert response.status_code in (200, 201), response.get_json()
    [task] = agent.start("c7_form_ref", data or {})["ready_tasks"]
    return task


def test_a_field_hidden_by_a_hidden_field_is_decided_once(owner: Actor, agent: Actor) -> None:
    """``lost_reason`` is hidden (the call was won), so its stale "price" hides nothing: the
    required ``next_step`` shows, is asked for and is kept when sent."""
    task = _task(owner, agent, CHAINED)
    sent = {"outcome": "won", "lost_reason": "price", "next_step": "send the contract"}
    done = agent.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": sent})
    assert done.status_code == 200, done.get_json()
    data = done.get_json()["data"]
    assert data["next_step"] == "send the contract" and "lost_reason" not in data


def test_conditions_read_the_instance_values_the_form_does_not_send(
    owner: Actor, agent: Actor
) -> None:
    """``tier`` is a read-only field (the task page does not submit it) and ``segment`` no
    field at all: their values are the instance's, as Camunda's form data holds them. Both
    hidden fields were asked for: the page hid them and answered "required"."""
    task = _task(owner, agent, BY_THE_INSTANCE, {"tier": "vip", "segment": "dormant"})
    done = agent.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}})
    assert done.status_code == 200, done.get_json()
    other = _task(owner, agent, BY_THE_INSTANCE, {"tier": "basic", "segment": "active"})
    asked = agent.post(f"/api/v1/tasks/{other['id']}/complete", json={"data": {}})
    assert asked.status_code == 422, asked.get_json()
    fields = sorted(d["field"] for d in asked.get_json()["error"]["details"])
    assert fields == ["budget", "callback"]


def test_the_diagram_shows_the_events_with_mappings_not_the_tasks_drawn_for_them(
    owner: Actor, agent: Actor
) -> None:
    """A boundary event's outputs run on a task drawn after it, a message end event with
    inputs is drawn as a send task and a plain end: the canvas lights the flow out of the
    boundary event and names only the diagram's own elements."""
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:scriptTask id="Activity_dial" name="Dial">
      <bpmn:script>fail("NO_ANSWER", "nobody picked up", {"tries": 3})</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:boundaryEvent id="Event_failed" attachedToRef="Activity_dial">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=tries" target="dial_tries" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:errorEventDefinition id="Def_err" />
    </bpmn:boundaryEvent>
    <bpmn:subProcess id="Sub_notify">
      <bpmn:startEvent id="Sub_start" />
      <bpmn:endEvent id="Event_dropped">
        <bpmn:extensionElements>
          <zeebe:ioMapping>
            <zeebe:input source="=dial_tries" target="tries" />
          </zeebe:ioMapping>
        </bpmn:extensionElements>
        <bpmn:messageEventDefinition id="Def_drop" messageRef="Message_drop" />
      </bpmn:endEvent>
      <bpmn:sequenceFlow id="Flow_s" sourceRef="Sub_start" targetRef="Event_dropped" />
    </bpmn:subProcess>
    <bpmn:userTask id="Activity_review" name="Review" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_dial" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_dial" targetRef="Event_end" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_failed" targetRef="Sub_notify" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Sub_notify" targetRef="Activity_review" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_review" targetRef="Event_end" />"""
    _deploy(owner, "c8_drawn", _with_messages(diagram(C8, "c8_drawn", body)))
    started = agent.start("c8_drawn", {})
    assert started["status"] == "running", started["incidents"]
    states = owner.get(f"/api/v1/process-instances/{started['id']}/elements").get_json()
    assert states["completed"] == [
        "Event_dropped",
        "Event_failed",
        "StartEvent_1",
        "Sub_notify",
        "Sub_start",
    ]  # had Event_dropped_end and Event_failed_mappings_after
    assert states["ready"] == ["Activity_review"]
    assert states["flows"] == ["Flow_3", "Flow_4", "Flow_s"]  # Flow_3 was not lit


def test_a_failing_listener_of_an_event_is_an_incident_on_that_event(
    owner: Actor, agent: Actor
) -> None:
    """An event's end listener runs on a task drawn after the event; when it fails, the
    incident is on the event (it named ``Event_logged_listener_after``, in no diagram, and
    the diagram lit no element in error); a retry meets it again."""
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:intermediateThrowEvent id="Event_logged" name="Logged">
      <bpmn:extensionElements>
        <camunda:executionListener event="end" expression="${execution.setVariable('tries', no_such_value + 1)}" />
      </bpmn:extensionElements>
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_logged" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_logged" targetRef="Event_end" />"""  # noqa: E501
    _deploy(owner, "c7_logged", diagram(C7, "c7_logged", body))
    started = agent.start("c7_logged", {})
    for _ in range(2):
        [incident] = owner.instance(started["id"])["incidents"]
        assert incident["element_id"] == "Event_logged"
        states = owner.get(f"/api/v1/process-instances/{started['id']}/elements").get_json()
        assert states["error"] == ["Event_logged"]
        owner.post(f"/api/v1/process-instances/{started['id']}/retry")


@pytest.mark.skipif(backend() != "postgresql", reason="row locks and lock_timeout: PostgreSQL")
def test_a_queued_message_whose_instance_is_held_holds_up_no_other(
    timed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The first queued message's instance is held by a long transaction: its delivery waits
    past ``lock_timeout`` and it stays queued, as does the next one for the same customer
    (not waited for again), but the message behind them, for another customer, is delivered
    in the same pass (the pass stopped at the first, pass after pass, for as long as the
    lock was held)."""
    owner = timed.owner
    owner.deploy("quote_waiter.bpmn")
    owner.deploy("quote_sender.bpmn")
    held = owner.start("quote_waiter", business_key="customer-7")
    free = owner.start("quote_waiter", business_key="customer-8")
    owner.start("quote_sender", {"amount": 1}, business_key="customer-7")  # queued first
    owner.start("quote_sender", {"amount": 3}, business_key="customer-7")
    owner.start("quote_sender", {"amount": 2}, business_key="customer-8")
    engine = timed.runtime.db.engine
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _short_wait(driver: Any, _record: Any) -> None:
        driver.execute("SET lock_timeout = 300")

    with engine.connect() as holder:
        holder.execute(
            text("SELECT 1 FROM process_instances WHERE id = :id FOR UPDATE"), {"id": held["id"]}
        )
        with caplog.at_level(logging.WARNING, logger="engine.messages"):
            timed.advance(seconds=1)
        holder.rollback()
    kept = [r.getMessage() for r in caplog.records if r.name == "engine.messages"]
    assert len(kept) == 1 and "kept for the next pass (database busy" in kept[0], kept
    assert owner.instance(free["id"])["data"]["amount"] == 2  # was still waiting
    assert owner.instance(held["id"])["status"] == "waiting"
    timed.advance(seconds=1)  # the lock is gone: delivered now
    assert owner.instance(held["id"])["data"]["amount"] == 1


_NULL_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="x">
  <bpmn:process id="null_points" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:businessRuleTask id="Activity_points" name="Points">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>points</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_points" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_points" targetRef="Event_end" />
  </bpmn:process>
</bpmn:definitions>
"""  # noqa: E501


def _null_dmn(hit_policy: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_points" name="Points" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="points" name="Points">
    <decisionTable id="Table_points" {hit_policy}>
      <input id="Input_score" label="Score">
        <inputExpression id="Expr_score" typeRef="number"><text>score</text></inputExpression>
      </input>
      <output id="Output_points" label="Points" name="points" typeRef="number" />
      <rule id="Rule_hot">
        <inputEntry id="In_hot"><text>&gt;= 60</text></inputEntry>
        <outputEntry id="Out_hot"><text>100</text></outputEntry>
      </rule>
      <rule id="Rule_any">
        <inputEntry id="In_any"><text>-</text></inputEntry>
        <outputEntry id="Out_any"><text>score * 2</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize(
    ("hit_policy", "scored"),
    [('hitPolicy="FIRST"', 60), ('hitPolicy="COLLECT" aggregation="SUM"', 260)],
    ids=["first", "collect_sum"],
)
def test_an_output_computed_from_a_null_input_is_null(
    owner: Actor, agent: Actor, hit_policy: str, scored: int
) -> None:
    """FEEL's ``score * 2`` with no score is null: the decision answers null, as Camunda's
    does (it failed with "Error evaluating expression 'score * 2'", an incident)."""
    files = [
        ("null_points.bpmn", _NULL_BPMN.encode()),
        ("points.dmn", _null_dmn(hit_policy).encode()),
    ]
    response = owner.upload(extra=files)
    assert response.status_code in (200, 201), response.get_json()
    unknown = agent.start("null_points", {"score": None})
    assert (unknown["status"], unknown["incidents"]) == ("completed", [])
    assert unknown["data"]["points"] is None
    known = agent.start("null_points", {"score": 30 if "FIRST" in hit_policy else 80})
    assert known["data"]["points"] == scored
