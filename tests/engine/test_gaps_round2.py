"""Known gaps, round 2: Camunda 8 outputs on the start events of event subprocesses (message
and timer, interrupting and not), signal throws with input mappings, and element ids that are
no XML ids. Each through the API, as a process owner deploys and an agent works."""

# ruff: noqa: E501  (diagrams written as Camunda Modeler writes them, one element a line)
from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, by_element, refused
from tests.engine.test_io_mappings import C8, diagram
from tests.engine.test_mappings_more import _deploy, _message

DROP = '  </bpmn:process>\n  <bpmn:message id="Message_drop" name="lead_dropped" />\n'


def _event_subprocess(start: str, interrupting: bool) -> str:
    flag = "true" if interrupting else "false"
    return f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_work" name="Work" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_work" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_work" targetRef="Event_end" />
    <bpmn:subProcess id="Activity_events" triggeredByEvent="true">
      <bpmn:startEvent id="Event_start" isInterrupting="{flag}">
        <bpmn:extensionElements>
          <zeebe:ioMapping>
            <zeebe:output source="{{out}}" target="handled" />
          </zeebe:ioMapping>
        </bpmn:extensionElements>
        {start}
      </bpmn:startEvent>
      <bpmn:userTask id="Activity_handle" name="Handle" />
      <bpmn:endEvent id="Event_handled" />
      <bpmn:sequenceFlow id="Flow_e1" sourceRef="Event_start" targetRef="Activity_handle" />
      <bpmn:sequenceFlow id="Flow_e2" sourceRef="Activity_handle" targetRef="Event_handled" />
    </bpmn:subProcess>"""


def _ready(actor: Actor, instance_id: int) -> dict[str, str]:
    return {t["name"]: t["id"] for t in actor.instance(instance_id)["ready_tasks"]}


def _finish(actor: Actor, instance_id: int, interrupting: bool) -> dict[str, Any]:
    ready = _ready(actor, instance_id)
    expected = {"Activity_handle"} | (set() if interrupting else {"Activity_work"})
    assert set(ready) == expected
    for task_id in ready.values():
        actor.complete_ok(task_id)
    done = actor.instance(instance_id)
    assert done["status"] == "completed", done["incidents"]
    return done["data"]


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_an_event_subprocess_message_start_hands_on_its_outputs_only(
    owner: Actor, interrupting: bool
) -> None:
    start = '<bpmn:messageEventDefinition id="Def_drop" messageRef="Message_drop" />'
    body = _event_subprocess(start, interrupting).replace("{out}", "=reason")
    process = f"c8_esp_msg_{int(interrupting)}"
    _deploy(
        owner, process, diagram(C8, process, body).replace(b"  </bpmn:process>\n", DROP.encode())
    )
    started = owner.start(process, {"owner": "li"})
    assert started["status"] == "running", started["incidents"]
    payload = {"reason": "wrong number", "noise": 1}
    assert _message(owner, "lead_dropped", payload) == [started["id"]]
    data = _finish(owner, started["id"], interrupting)
    assert data == {"owner": "li", "handled": "wrong number"}  # reason and noise stay local


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_an_event_subprocess_timer_start_runs_its_outputs(timed: Any, interrupting: bool) -> None:
    start = '<bpmn:timerEventDefinition id="Def_t"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
    body = _event_subprocess(start, interrupting).replace("{out}", "=&quot;late&quot;")
    process = f"c8_esp_timer_{int(interrupting)}"
    namespaces = C8 + ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    owner = timed.owner
    _deploy(owner, process, diagram(namespaces, process, body))
    started = owner.start(process, {"owner": "li"})
    assert started["status"] == "running", started["incidents"]
    assert timed.advance(hours=2) == 1
    data = _finish(owner, started["id"], interrupting)
    assert data == {"owner": "li", "handled": "late"}


def _bad_id_body(bad: str, ref: str) -> str:
    return f"""    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="{bad}" name="Call" />
    <bpmn:userTask id="Activity_review" name="Review" />
    <bpmn:userTask id="Activity_orphan" name="Orphan" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="{ref}" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="{ref}" targetRef="Activity_review" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_review" targetRef="Event_end" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_orphan" targetRef="Event_end" />"""


@pytest.mark.parametrize(
    ("bad", "ref", "fix"),
    [
        ("Activity_call(1)", "Activity_call1", "remove '(' and ')'"),
        ("Activity call", "Activity_call", "remove the space"),
        ("1Activity_call", "Activity_call", "start it with a letter or '_', not '1'"),
    ],
)
def test_an_id_that_is_no_xml_id_is_said_on_its_line_without_follow_on_breaks(
    owner: Actor, bad: str, ref: str, fix: str
) -> None:
    response = owner.upload(
        extra=[("bad_id.bpmn", diagram(C8, "c8_bad_id", _bad_id_body(bad, ref)))]
    )
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    said = {(d["element_id"], d["line"]): d["message"] for d in details}
    message = said.pop((bad, 5))
    assert f"id {bad!r} is no valid XML id: {fix}" in message
    assert f"'Flow_1' (targetRef {ref!r}, line 9)" in message
    assert f"'Flow_2' (sourceRef {ref!r}, line 10)" in message
    # the review and end after it are reached through it; the orphan is not, and is said
    [orphan] = said.values()
    assert "Activity_orphan" in orphan and "nothing leads to this task" in orphan


SIGNALS = '  </bpmn:process>\n  <bpmn:signal id="Signal_paused" name="lead_paused" />\n'


def test_a_signal_throw_sends_its_inputs_as_the_signals_variables(timed: Any) -> None:
    """Camunda 8's signal throw broadcasts its inputs: the catching instance gets them, the
    thrower's data does not keep them; an end event's signal alike."""
    thrower = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:intermediateThrowEvent id="Event_pause" name="Pause">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=lead.phone" target="phone" />
          <zeebe:input source="=&quot;budget cut&quot;" target="reason" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:signalEventDefinition id="Def_pause" signalRef="Signal_paused" />
    </bpmn:intermediateThrowEvent>
    <bpmn:userTask id="Activity_next" name="Next" />
    <bpmn:endEvent id="Event_end">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=lead.phone" target="phone" />
          <zeebe:input source="=&quot;closed&quot;" target="reason" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:signalEventDefinition id="Def_end" signalRef="Signal_paused" />
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_pause" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_pause" targetRef="Activity_next" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_next" targetRef="Event_end" />"""
    receiver = """    <bpmn:startEvent id="StartEvent_r" />
    <bpmn:intermediateCatchEvent id="Event_paused">
      <bpmn:signalEventDefinition id="Def_r" signalRef="Signal_paused" />
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Activity_paused" name="Paused" />
    <bpmn:endEvent id="Event_r_end" />
    <bpmn:sequenceFlow id="Flow_r1" sourceRef="StartEvent_r" targetRef="Event_paused" />
    <bpmn:sequenceFlow id="Flow_r2" sourceRef="Event_paused" targetRef="Activity_paused" />
    <bpmn:sequenceFlow id="Flow_r3" sourceRef="Activity_paused" targetRef="Event_r_end" />"""
    owner = timed.owner
    with_signal = SIGNALS.encode()
    _deploy(
        owner,
        "c8_signal_inputs",
        diagram(C8, "c8_signal_thrower", thrower).replace(b"  </bpmn:process>\n", with_signal),
        diagram(C8, "c8_signal_receiver", receiver).replace(b"  </bpmn:process>\n", with_signal),
    )
    first = owner.start("c8_signal_receiver")["id"]
    sent = owner.start("c8_signal_thrower", {"lead": {"phone": "13800138000"}})
    assert sent["status"] == "running", sent["incidents"]
    assert sent["data"] == {"lead": {"phone": "13800138000"}}  # the inputs are gone
    assert timed.advance(seconds=1) >= 1
    assert owner.instance(first)["data"] == {"phone": "13800138000", "reason": "budget cut"}
    second = owner.start("c8_signal_receiver")["id"]
    [next_task] = owner.instance(sent["id"])["ready_tasks"]
    owner.complete_ok(next_task["id"])
    done = owner.instance(sent["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"] == {"lead": {"phone": "13800138000"}}
    assert timed.advance(seconds=1) >= 1
    assert owner.instance(second)["data"] == {"phone": "13800138000", "reason": "closed"}


def test_outputs_on_a_signal_throw_stay_refused_with_what_to_write(owner: Actor) -> None:
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:intermediateThrowEvent id="Event_pause">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=1" target="x" />
          <zeebe:output source="=2" target="y" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:signalEventDefinition id="Def_pause" signalRef="Signal_paused" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_pause" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_pause" targetRef="Event_end" />"""
    text = diagram(C8, "c8_signal_outputs", body).replace(b"  </bpmn:process>\n", SIGNALS.encode())
    found = by_element(refused(owner.upload(extra=[("c8_signal_outputs.bpmn", text)])))
    assert "a signal throw maps inputs only" in found["Event_pause"]
