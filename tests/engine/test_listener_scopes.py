"""Where Camunda 8 keeps what listeners and caught events set, and what the deploy and the
diagram say of elements drawn beside others.

A start listener's job variables are its element's own (Camunda 8's documentation, Execution
listeners, "Variables in an execution listener": set as local variables of the element, read
by it and its output mappings); a message a boundary event with outputs caught stays the
event's while its outputs are in an incident; the flows an instance passed through a
listener's task stay lit after it moved to a version without the listener; a call activity
calling a process the deploy lacks is said on its element in a file drawing a process twice.
"""

from __future__ import annotations

from typing import Any

from tests.engine.conftest import Actor, refused
from tests.engine.test_io_mappings import C8, diagram
from tests.engine.test_mappings_more import _deploy, _message, _with_messages
from tests.engine.test_round26_gaps import ZEEBE, chain, customer, definitions, deployed, only


def _start_listened(process_id: str, outputs: str = "") -> bytes:
    mapping = f"<zeebe:ioMapping>{outputs}</zeebe:ioMapping>" if outputs else ""
    task = (
        '<bpmn:userTask id="call"><bpmn:extensionElements><zeebe:userTask />'
        f"{mapping}<zeebe:executionListeners>"
        '<zeebe:executionListener eventType="start" type="crm.add_note" />'
        "</zeebe:executionListeners></bpmn:extensionElements></bpmn:userTask>"
    )
    return definitions(ZEEBE, chain(process_id, task, '<bpmn:userTask id="wrap_up" />'))


def test_a_start_listeners_job_variables_are_its_elements_own(owner, agent, db) -> None:
    """While the task is open its listener's ``note_id`` is there; once it is done the
    process's own ``note_id`` is as it was (it stayed the listener's, for good), and an output
    mapping hands the listener's value on under its own name."""
    deployed(owner, "ls_plain.bpmn", _start_listened("ls_plain"))
    outputs = '<zeebe:output source="=note_id" target="call_note" />'
    deployed(owner, "ls_mapped.bpmn", _start_listened("ls_mapped", outputs))
    text = {"text": "Calling", "customer_id": customer(db)}

    started = agent.start("ls_plain", {**text, "note_id": "from the lead form"})
    assert isinstance(started["data"]["note_id"], int)  # the open task's own
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {})
    assert done["data"]["note_id"] == "from the lead form"

    started = agent.start("ls_mapped", text)
    note_id = started["data"]["note_id"]
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {})
    assert done["data"]["call_note"] == note_id
    assert "note_id" not in done["data"]


LISTENED_BOUNDARY = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_call" name="Call">
      <bpmn:extensionElements>
        <zeebe:executionListeners>
          <zeebe:executionListener eventType="start" type="crm.add_note" />
        </zeebe:executionListeners>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="Event_dropped" attachedToRef="Activity_call">
      <bpmn:messageEventDefinition id="Def_drop" messageRef="Message_drop" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Activity_review" name="Review" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:endEvent id="Event_called" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_called" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_dropped" targetRef="Activity_review" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_review" targetRef="Event_end" />"""


def test_a_boundary_events_path_has_none_of_its_activitys_listener_variables(
    owner: Actor, agent: Actor, db
) -> None:
    _deploy(owner, "ls_dropped", _with_messages(diagram(C8, "ls_dropped", LISTENED_BOUNDARY)))
    lead = {"text": "Calling", "customer_id": customer(db)}
    started = agent.start("ls_dropped", lead)
    assert "note_id" in started["data"]
    assert _message(owner, "lead_dropped", {"reason": "wrong number"}) == [started["id"]]
    review = only(owner.instance(started["id"])["ready_tasks"])
    data = agent.complete_ok(review["id"], {})["data"]
    assert data["reason"] == "wrong number"
    assert "note_id" not in data

    called = agent.start("ls_dropped", lead)
    done = agent.complete_ok(only(called["ready_tasks"])["id"], {})
    assert (done["status"], "note_id" in done["data"]) == ("completed", False)


BOUNDARY = """    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Activity_call" name="Call" />
    <bpmn:boundaryEvent id="Event_dropped" attachedToRef="Activity_call">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:output source="=10 ** when" target="drop_day" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="Def_drop" messageRef="Message_drop" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Activity_review" name="Review" />
    <bpmn:endEvent id="Event_end" />
    <bpmn:endEvent id="Event_called" />
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_call" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_call" targetRef="Event_called" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_dropped" targetRef="Activity_review" />
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_review" targetRef="Event_end" />"""


def test_a_boundary_messages_payload_stays_hidden_while_its_outputs_fail(
    owner: Actor, agent: Actor
) -> None:
    _deploy(owner, "ls_boundary", _with_messages(diagram(C8, "ls_boundary", BOUNDARY)))
    started = agent.start("ls_boundary", {"owner": "li"})
    payload = {"reason": "wrong number", "when": 10**7}  # a power too large to compute
    assert _message(owner, "lead_dropped", payload) == [started["id"]]
    failed = owner.instance(started["id"])
    assert [i["element_id"] for i in failed["incidents"]] == ["Event_dropped"]
    assert failed["data"] == {"owner": "li"}

    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"when": 2}}
    )
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["data"] == {"owner": "li", "drop_day": 100}


def _listened_both(process_id: str, listeners: bool) -> bytes:
    said = (
        "<bpmn:extensionElements><zeebe:executionListeners>"
        '<zeebe:executionListener eventType="start" type="crm.add_note" />'
        '<zeebe:executionListener eventType="end" type="crm.add_note" />'
        "</zeebe:executionListeners></bpmn:extensionElements>"
        if listeners
        else ""
    )
    task = f'<bpmn:userTask id="call">{said}</bpmn:userTask>'
    return definitions(ZEEBE, chain(process_id, task, '<bpmn:userTask id="wrap_up" />'))


def _elements(actor: Actor, instance_id: int) -> dict[str, Any]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_flows_passed_through_listener_tasks_stay_lit_after_a_move(owner, agent, db) -> None:
    """``ls_moved_f1`` (call → wrap_up) was passed through the end listener's task, which the
    version moved to no longer draws: it stays lit, and no listener's task is on the canvas."""
    deployed(owner, "ls_moved.bpmn", _listened_both("ls_moved", listeners=True))
    started = agent.start("ls_moved", {"text": "Calling", "customer_id": customer(db)})
    at_wrap_up = agent.complete_ok(only(started["ready_tasks"])["id"], {})
    deployed(owner, "ls_moved.bpmn", _listened_both("ls_moved", listeners=False))
    moved = owner.post(f"/api/v1/process-instances/{started['id']}/migrate", json={"to_version": 2})
    assert moved.status_code == 200, moved.get_json()

    shown = _elements(owner, started["id"])
    assert shown["flows"] == ["ls_moved_f0", "ls_moved_f1"]
    assert shown["completed"] == ["call", "ls_moved_start"]
    agent.complete_ok(only(at_wrap_up["ready_tasks"])["id"], {})
    shown = _elements(owner, started["id"])
    assert shown["flows"] == ["ls_moved_f0", "ls_moved_f1", "ls_moved_f2"]


def test_a_missing_called_process_in_a_file_drawing_a_process_twice_is_on_its_caller(
    owner: Actor,
) -> None:
    process = chain("ls_twice", '<bpmn:callActivity id="ring" calledElement="ls_child" />')
    response = owner.upload(extra=[("twice.bpmn", definitions(ZEEBE, process + process))])
    details = refused(response)
    said = [d for d in details if "ls_child" in d["message"]]
    assert said == [
        {
            "element_id": "ring",
            "file": "twice.bpmn",
            "line": 3,
            "message": "twice.bpmn: call activity calls process 'ls_child', which is neither "
            "in this deploy nor deployed before",
        }
    ]


def test_a_start_listeners_variables_go_when_its_element_ends_after_a_move(
    owner: Actor, agent: Actor, db
) -> None:
    """An instance moved, while its task is open, to a version whose task has no start
    listener: the listener's ``note_id`` was kept in the process's data for good when the
    task was done, over the process's own; it goes with the task, as in the version it ran."""
    deployed(owner, "ls_moved_locals.bpmn", _start_listened("ls_moved_locals"))
    started = agent.start(
        "ls_moved_locals", {"text": "Calling", "customer_id": customer(db), "note_id": "mine"}
    )
    assert isinstance(started["data"]["note_id"], int)  # the listener's, while the task is open
    task = '<bpmn:userTask id="call"><bpmn:extensionElements><zeebe:userTask />'
    task += "</bpmn:extensionElements></bpmn:userTask>"
    plain = chain("ls_moved_locals", task, '<bpmn:userTask id="wrap_up" />')
    deployed(owner, "ls_moved_locals.bpmn", definitions(ZEEBE, plain))
    url = f"/api/v1/process-instances/{started['id']}/migrate"
    moved = owner.post(url, json={"to_version": 2})
    assert moved.status_code == 200, moved.get_json()
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {})
    assert done["data"]["note_id"] == "mine"


MAPPED_BOUNDARY = LISTENED_BOUNDARY.replace(
    '    <bpmn:boundaryEvent id="Event_dropped" attachedToRef="Activity_call">\n',
    '    <bpmn:boundaryEvent id="Event_dropped" attachedToRef="Activity_call">\n'
    "      <bpmn:extensionElements>\n"
    "        <zeebe:ioMapping>\n"
    '          <zeebe:output source="=reason" target="drop_reason" />\n'
    "        </zeebe:ioMapping>\n"
    "      </bpmn:extensionElements>\n",
)


def test_a_boundary_event_with_outputs_brings_back_none_of_its_activitys_listener_variables(
    owner: Actor, agent: Actor, db
) -> None:
    """Before: the boundary event's outputs ran on a task drawn after it, which handed on the
    listener's ``note_id`` (the activity's own) to the process, over the process's own."""
    assert MAPPED_BOUNDARY != LISTENED_BOUNDARY
    _deploy(owner, "ls_mapped_drop", _with_messages(diagram(C8, "ls_mapped_drop", MAPPED_BOUNDARY)))
    lead = {"text": "Calling", "customer_id": customer(db), "note_id": "the lead's"}
    started = agent.start("ls_mapped_drop", lead)
    assert isinstance(started["data"]["note_id"], int)  # the open task's own
    assert _message(owner, "lead_dropped", {"reason": "wrong number"}) == [started["id"]]
    review = only(owner.instance(started["id"])["ready_tasks"])
    data = agent.complete_ok(review["id"], {})["data"]
    assert data["drop_reason"] == "wrong number"
    assert "reason" not in data  # the message's variables stay the event's
    assert data["note_id"] == "the lead's"

    fresh = agent.start("ls_mapped_drop", {k: v for k, v in lead.items() if k != "note_id"})
    assert _message(owner, "lead_dropped", {"reason": "moved away"}) == [fresh["id"]]
    review = only(owner.instance(fresh["id"])["ready_tasks"])
    data = agent.complete_ok(review["id"], {})["data"]
    assert (data["drop_reason"], "note_id" in data) == ("moved away", False)
