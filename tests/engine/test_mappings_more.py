"""Input and output mappings on the elements that still refused them, run as Camunda runs them.

Camunda 8 maps outputs on start and boundary events (a message's or error's variables stay
local to the event when it has outputs: only the outputs reach the process); Camunda 7 and 8
map inputs on a message throw or message end event (its message is sent with them, and they
are gone after it); Camunda 8 maps outputs on each instance of a multi-instance activity; a
standard loop maps its inputs and outputs on each turn. Camunda 7 maps nothing on start and
boundary events and no outputs on a multi-instance activity: those stay refused, with what to
write instead. All were refused at deploy; each is run here through the API.
"""

# ruff: noqa: E501  (diagrams written as Camunda Modeler writes them, one element a line)
from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, by_element, refused
from tests.engine.test_io_mappings import C7, C8, diagram


def _deploy(owner: Actor, name: str, *texts: bytes) -> None:
    files = [(f"{name}_{n}.bpmn", text) for n, text in enumerate(texts)]
    response = owner.upload(extra=files)
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:3000]


def _message(owner: Actor, name: str, payload: dict[str, Any]) -> list[int]:
    response = owner.post("/api/v1/messages", json={"name": name, "payload": payload})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["delivered_to"]


MESSAGES = (
    '  </bpmn:process>\n  <bpmn:message id="Message_lead" name="new_lead" />\n'
    '  <bpmn:message id="Message_drop" name="lead_dropped" />\n'
)


def _with_messages(text: bytes) -> bytes:
    return text.replace(b"  </bpmn:process>\n", MESSAGES.encode(), 1)


def test_camunda_8_start_events_hand_on_their_outputs_only(owner: Actor, agent: Actor) -> None:
    """A message start event with outputs: the process gets the outputs, not the message's
    variables; a plain start event's outputs are set beside what it was started with."""
    message_start = """    <bpmn:startEvent id="StartEvent_msg">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=lead.phone" target="phone" />
          <zeebe:output source="=&quot;web&quot;" target="channel" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_msg" messageRef="Message_lead" />
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_call" name="Call" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_msg" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_end" />"""
    plain_start = message_start.replace(
        '\n      <bpmn:messageEventDefinition id="Def_msg" messageRef="Message_lead" />', ""
    ).replace("StartEvent_msg", "StartEvent_plain")
    _deploy(
        owner,
        "c8_starts",
        _with_messages(diagram(C8, "c8_message_start", message_start)),
        diagram(C8, "c8_plain_start", plain_start),
    )
    [instance_id] = _message(owner, "new_lead", {"lead": {"phone": "13800138000"}, "secret": 1})
    data = owner.instance(instance_id)["data"]
    assert data == {"phone": "13800138000", "channel": "web"}  # lead and secret stay local
    started = agent.start("c8_plain_start", {"lead": {"phone": "13900139000"}})
    assert started["status"] == "running", started["incidents"]
    assert started["data"] == {
        "lead": {"phone": "13900139000"},
        "phone": "13900139000",
        "channel": "web",
    }


def test_a_camunda_8_message_boundary_and_catch_hand_on_their_outputs(
    owner: Actor, agent: Actor
) -> None:
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_call" name="Call" />
    <bpmn:boundaryEvent id="Event_dropped" attachedToRef="Activity_call">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=reason" target="drop_reason" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_drop" messageRef="Message_drop" />
    </bpmn:boundaryEvent>
    <bpmn:intermediateCatchEvent id="Event_lead_again">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=lead.phone" target="new_phone" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_lead" messageRef="Message_lead" />
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Activity_review" name="Review" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:endEvent id="Event_called" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_called" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_dropped" targetRef="Event_lead_again" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Event_lead_again" targetRef="Activity_review" />
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_review" targetRef="Event_end" />"""
    _deploy(owner, "c8_boundary", _with_messages(diagram(C8, "c8_io_boundary", body)))
    started = agent.start("c8_io_boundary", {"owner": "li"})
    assert started["status"] == "running", started["incidents"]
    assert _message(owner, "lead_dropped", {"reason": "wrong number", "noise": 1}) == [
        started["id"]
    ]
    assert _message(owner, "new_lead", {"lead": {"phone": "13700137000"}}) == [started["id"]]
    instance = owner.instance(started["id"])
    assert [t["name"] for t in instance["ready_tasks"]] == ["Activity_review"]
    assert instance["data"] == {
        "owner": "li",
        "drop_reason": "wrong number",
        "new_phone": "13700137000",
    }


def test_a_camunda_8_error_boundary_hands_on_its_outputs_only(owner: Actor, agent: Actor) -> None:
    """The caught failure's code, message and data stay local to the boundary event: the
    process gets what its outputs set."""
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
    <bpmn:userTask id="Activity_review" name="Review" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_dial" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_dial" targetRef="Event_end" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_failed" targetRef="Activity_review" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_review" targetRef="Event_end" />"""
    _deploy(owner, "c8_err", diagram(C8, "c8_io_err", body))
    started = agent.start("c8_io_err", {"owner": "li"})
    assert started["status"] == "running", started["incidents"]
    assert started["data"] == {"owner": "li", "dial_tries": 3}


def test_a_message_throw_and_end_send_their_inputs_and_drop_them(timed: Any) -> None:
    """Camunda 7 runs a message throw's implementation with its inputs: here its message
    carries them (and the data), and the sender's data does not keep them."""
    sender = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:intermediateThrowEvent id="Event_notify" name="Notify">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="lead">
            <camunda:map>
              <camunda:entry key="phone">${phone}</camunda:entry>
              <camunda:entry key="score">${score + 1}</camunda:entry>
            </camunda:map>
          </camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_notify" messageRef="Message_lead" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Event_done">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="reason">closed: ${phone}</camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_done" messageRef="Message_drop" />
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_notify" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Event_notify" targetRef="Event_done" />"""
    receiver = """    <bpmn:startEvent id="StartEvent_r">
      <bpmn:messageEventDefinition id="Def_r" messageRef="Message_lead" />
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_call" name="Call" />
    <bpmn:boundaryEvent id="Event_drop" attachedToRef="Activity_call">
      <bpmn:messageEventDefinition id="Def_drop_r" messageRef="Message_drop" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Activity_dropped" name="Dropped" />
    <bpmn:endEvent id="Event_r_end" />
    <bpmn:sequenceFlow id="Flow_r1" sourceRef="StartEvent_r" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_r2" sourceRef="Activity_call" targetRef="Event_r_end" />
    <bpmn:sequenceFlow id="Flow_r3" sourceRef="Event_drop" targetRef="Activity_dropped" />
    <bpmn:sequenceFlow id="Flow_r4" sourceRef="Activity_dropped" targetRef="Event_r_end" />"""
    owner = timed.owner
    _deploy(
        owner,
        "c7_throws",
        _with_messages(diagram(C7, "c7_io_sender", sender)),
        _with_messages(diagram(C7, "c7_io_receiver", receiver)),
    )
    sent = owner.start("c7_io_sender", {"phone": "13600136000", "score": "4"})
    assert sent["status"] == "completed", sent["incidents"]
    assert sent["data"] == {"phone": "13600136000", "score": "4"}  # the inputs are gone
    assert timed.advance(seconds=1) >= 2  # the two messages, queued by the sender's step
    [instance] = [
        owner.instance(i["id"])
        for i in owner.get("/api/v1/process-instances").get_json()["items"]
        if i["process_id"] == "c7_io_receiver"
    ]
    assert instance["data"]["lead"] == {"phone": "13600136000", "score": 5}  # EL: "4" + 1
    assert [t["name"] for t in instance["ready_tasks"]] == ["Activity_dropped"]
    assert instance["data"]["reason"] == "closed: 13600136000"


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_camunda_8_multi_instance_outputs_run_on_each_instance(
    owner: Actor, agent: Actor, sequential: bool
) -> None:
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_each" name="Call each">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=lead.name" target="who" />
          <zeebe:output source="=who + &quot;: &quot; + outcome" target="result" />
          <zeebe:output source="=who" target="last_called" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="SEQ">
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=leads" inputElement="lead" outputCollection="results" outputElement="=result" />
        </bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_each" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_each" targetRef="Event_end" />"""
    body = body.replace("SEQ", "true" if sequential else "false")
    _deploy(owner, "c8_each", diagram(C8, "c8_io_each", body))
    started = agent.start("c8_io_each", {"leads": [{"name": "Wang"}, {"name": "Chen"}]})
    assert started["status"] == "running", started["incidents"]
    for outcome in ("reached", "no answer"):
        task = started["ready_tasks"][0]
        started = agent.complete_ok(task["id"], {"outcome": outcome})
    assert started["status"] == "completed", started["incidents"]
    data = started["data"]
    assert data["results"] == ["Wang: reached", "Chen: no answer"]
    assert data["last_called"] == "Chen"  # each instance's output reaches the process
    assert "who" not in data and "outcome" not in data  # local to each instance


def test_a_standard_loop_maps_on_each_turn(owner: Actor, agent: Actor) -> None:
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_try" name="Try again">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="attempt">${attempts + 1}</camunda:inputParameter>
          <camunda:outputParameter name="attempts">${attempt}</camunda:outputParameter>
          <camunda:outputParameter name="reached_at">${reached ? attempt : null}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:standardLoopCharacteristics>
        <bpmn:loopCondition xsi:type="bpmn:tFormalExpression">reached_at is None and attempts &lt; 3</bpmn:loopCondition>
      </bpmn:standardLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_try" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_try" targetRef="Event_end" />"""
    namespaces = C7 + ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    _deploy(owner, "c7_loop", diagram(namespaces, "c7_io_loop", body))
    started = agent.start("c7_io_loop", {"attempts": "0"})
    assert started["status"] == "running", started["incidents"]
    for reached in (False, True):  # the loop goes on while the condition holds
        [task] = started["ready_tasks"]
        started = agent.complete_ok(task["id"], {"reached": reached})
    assert started["status"] == "completed", started["incidents"]
    assert started["data"]["attempts"] == 2 and started["data"]["reached_at"] == 2
    assert "attempt" not in started["data"]


def test_what_camunda_does_not_map_stays_refused_with_what_to_write(owner: Actor) -> None:
    c7_body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_call" name="Call" />
    <bpmn:boundaryEvent id="Event_late" attachedToRef="Activity_call">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:outputParameter name="late">${true}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:timerEventDefinition id="Def_t"><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_end" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_late" targetRef="Event_end" />"""
    c8_body = """    <bpmn:startEvent id="StartEvent_1">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=1" target="x" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Event_end" />"""
    found = by_element(
        refused(
            owner.upload(
                extra=[
                    ("c7_refused.bpmn", diagram(C7, "c7_io_refused_more", c7_body)),
                    ("c8_refused.bpmn", diagram(C8, "c8_io_refused_more", c8_body)),
                ]
            )
        )
    )
    assert "Camunda 7 maps no variables on a boundary event either" in found["Event_late"]
    assert "Camunda 8 maps only outputs on a start event" in found["StartEvent_1"]


def test_camunda_7_mappings_compute_with_el_operators(owner: Actor, agent: Actor) -> None:
    """``${amount + 1}`` with the text "12" is 13 and ``${amount == 12}`` true, as EL coerces
    them (Python's operators failed the first as an incident and said false to the second)."""
    body = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_quote" name="Quote">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="next_amount">${amount + 1}</camunda:inputParameter>
          <camunda:outputParameter name="quoted">${next_amount}</camunda:outputParameter>
          <camunda:outputParameter name="twelve">${amount == 12}</camunda:outputParameter>
          <camunda:outputParameter name="large">${amount gt 9}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Event_end" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_quote" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_quote" targetRef="Event_end" />"""
    _deploy(owner, "c7_el", diagram(C7, "c7_io_el", body))
    started = agent.start("c7_io_el", {"amount": "12"})
    assert started["incidents"] == [] and started["status"] == "running", started["incidents"]
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (done["data"]["quoted"], done["data"]["twelve"], done["data"]["large"]) == (
        13,
        True,
        True,
    )
