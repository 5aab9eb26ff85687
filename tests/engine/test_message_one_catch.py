"""One message moves one waiting catch of an instance, through the HTTP API.

SpiffWorkflow 3.2 handed a message to every catch of the instance waiting for its name: two
parallel receive tasks, a receive task and a message event subprocess, an event-based
gateway and a boundary event of a task beside it, a catch in a called process and one in its
caller, all instances of a multi-instance receive task, all moved on one message, and a
second message sent at the same time was answered 404. Now the catch that has waited longest
takes it (at the same time, the first in the task tree); the next message moves the next.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.kept import KeptWorkflows
from tests.engine.conftest import Timed, post_together

URL = "/api/v1/messages"
KEY = "lead-31"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="defs" targetNamespace="http://dialflow.example/one-catch">\n'
    '<bpmn:message id="msg_reply" name="customer_replied"/>\n'
)


@pytest.fixture(autouse=True, params=["kept", "decoded"])
def state_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case with the workflow kept between steps, and decoded from its state each step
    (the order in which SpiffWorkflow lists the waiting catches differs between the two)."""
    if request.param == "decoded":
        monkeypatch.setattr(KeptWorkflows, "take", lambda self, *args: None)


def deploy(timed: Timed, *processes: str) -> None:
    xml = HEAD + "\n".join(processes) + "\n</bpmn:definitions>\n"
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": xml})
    assert response.status_code in (200, 201), response.get_json()


def process(process_id: str, body: str) -> str:
    return f'<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>'


def user(element_id: str) -> str:
    return f'<bpmn:userTask id="{element_id}" name="{element_id}"/>'


def flows(*pairs: str) -> str:
    """``"a>b"`` pairs as sequence flows, in the order given."""
    return "\n".join(
        f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in (pair.split(">") for pair in pairs)
    )


def reply(timed: Timed) -> Any:
    return timed.agent.post(URL, json={"name": "customer_replied", "business_key": KEY})


def moved(timed: Timed, instance_id: int) -> list[str]:
    """The names of the instance's ready tasks: what the messages moved so far."""
    instance = timed.agent.instance(instance_id)
    assert instance["incidents"] == [], instance
    return sorted(task["name"] for task in instance["ready_tasks"])


def delivered(timed: Timed, instance_id: int) -> None:
    response = reply(timed)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["delivered_to"] == [instance_id]


def complete(timed: Timed, instance_id: int, name: str) -> None:
    instance = timed.agent.instance(instance_id)
    task = next(t for t in instance["ready_tasks"] if t["name"] == name)
    timed.agent.complete_ok(task["id"])


TWO_RECEIVE_TASKS = process(
    "two_waits",
    """<bpmn:startEvent id="start"/>
<bpmn:parallelGateway id="split"/>
<bpmn:receiveTask id="callback_wait" messageRef="msg_reply"/>
<bpmn:receiveTask id="quote_wait" messageRef="msg_reply"/>
"""
    + user("after_callback")
    + user("after_quote")
    + user("prepare_quote")
    + """<bpmn:endEvent id="end_callback"/><bpmn:endEvent id="end_quote"/>"""
    + flows(
        "start>split",
        "split>callback_wait",
        "split>prepare_quote",
        "prepare_quote>quote_wait",
        "callback_wait>after_callback",
        "after_callback>end_callback",
        "quote_wait>after_quote",
        "after_quote>end_quote",
    ),
)


def test_two_parallel_receive_tasks_take_one_reply_each(timed):
    """The callback wait began first (the quote wait only once the quote was prepared): the
    first reply moves it alone, the second the quote wait, a third finds no wait."""
    deploy(timed, TWO_RECEIVE_TASKS)
    instance_id = timed.agent.start("two_waits", business_key=KEY)["id"]
    complete(timed, instance_id, "prepare_quote")
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_callback"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_callback", "after_quote"]
    assert reply(timed).status_code == 404


def test_the_catch_that_waited_longer_wins_whatever_the_drawing_order(timed):
    """The quote wait drawn second but waiting first takes the first reply."""
    body = TWO_RECEIVE_TASKS.replace(
        '<bpmn:sequenceFlow id="f_split_callback_wait" sourceRef="split" '
        'targetRef="callback_wait"/>',
        '<bpmn:sequenceFlow id="f_split_callback_prep" sourceRef="split" targetRef="prep_cb"/>'
        '<bpmn:userTask id="prep_cb" name="prep_cb"/>'
        '<bpmn:sequenceFlow id="f_prep_cb" sourceRef="prep_cb" targetRef="callback_wait"/>',
    ).replace('id="two_waits"', 'id="two_waits_late"')
    deploy(timed, body)
    instance_id = timed.agent.start("two_waits_late", business_key=KEY)["id"]
    complete(timed, instance_id, "prepare_quote")  # the quote wait begins
    complete(timed, instance_id, "prep_cb")  # then the callback wait
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_quote"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_callback", "after_quote"]


def test_a_receive_task_and_a_non_interrupting_event_subprocess_alternate(timed):
    """The event subprocess listens from the start; the receive task waits once the call is
    logged. Each reply moves one of them: the listener, then the receive task (the listener
    began a new wait when it caught), then the listener again."""
    body = (
        '<bpmn:startEvent id="start"/>'
        + user("log_call")
        + '<bpmn:receiveTask id="wait_reply" messageRef="msg_reply"/>'
        + user("after_reply")
        + '<bpmn:endEvent id="end"/>'
        + flows(
            "start>log_call", "log_call>wait_reply", "wait_reply>after_reply", "after_reply>end"
        )
        + """<bpmn:subProcess id="on_reply" triggeredByEvent="true">
  <bpmn:startEvent id="on_reply_start" isInterrupting="false">
    <bpmn:messageEventDefinition messageRef="msg_reply"/>
  </bpmn:startEvent>"""
        + user("note_reply")
        + '<bpmn:endEvent id="noted"/>'
        + flows("on_reply_start>note_reply", "note_reply>noted")
        + "</bpmn:subProcess>"
    )
    deploy(timed, process("reply_twice", body))
    instance_id = timed.agent.start("reply_twice", business_key=KEY)["id"]
    complete(timed, instance_id, "log_call")
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["note_reply"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_reply", "note_reply"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_reply", "note_reply", "note_reply"]


def test_an_event_based_gateway_in_a_loop_and_a_boundary_event_beside_it(timed):
    """The gateway (reply or a day's timeout) loops back after each reply is handled; the
    call task beside it has a non-interrupting boundary event on the same message. Both
    began waiting in one step: the gateway comes first in the tree and takes the first
    reply, the boundary event the second; the gateway waits again only once the reply is
    handled, after the boundary event's new wait, so the third goes to the boundary event."""
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:exclusiveGateway id="again"/><bpmn:eventBasedGateway id="which"/>'
        '<bpmn:intermediateCatchEvent id="replied">'
        '<bpmn:messageEventDefinition messageRef="msg_reply"/></bpmn:intermediateCatchEvent>'
        '<bpmn:intermediateCatchEvent id="timeout"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        "</bpmn:intermediateCatchEvent>"
        + user("handle_reply")
        + user("call")
        + user("note_reply")
        + '<bpmn:boundaryEvent id="reply_in_call" attachedToRef="call" cancelActivity="false">'
        '<bpmn:messageEventDefinition messageRef="msg_reply"/></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="end_wait"/><bpmn:endEvent id="end_call"/>'
        '<bpmn:endEvent id="end_note"/>'
        + flows(
            "start>split",
            "split>again",
            "split>call",
            "again>which",
            "which>replied",
            "which>timeout",
            "replied>handle_reply",
            "handle_reply>again",
            "timeout>end_wait",
            "call>end_call",
            "reply_in_call>note_reply",
            "note_reply>end_note",
        )
    )
    deploy(timed, process("reply_loop", body))
    instance_id = timed.agent.start("reply_loop", business_key=KEY)["id"]
    assert moved(timed, instance_id) == ["call"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["call", "handle_reply"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["call", "handle_reply", "note_reply"]
    complete(timed, instance_id, "handle_reply")  # the gateway waits again
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["call", "note_reply", "note_reply"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["call", "handle_reply", "note_reply", "note_reply"]


def test_a_catch_in_a_called_process_and_one_in_its_caller(timed):
    """The called process's receive task waits from the start, the caller's once the quote
    is prepared: one reply each, in that order."""
    child = process(
        "child_wait",
        '<bpmn:startEvent id="c_start"/>'
        '<bpmn:receiveTask id="c_wait" messageRef="msg_reply"/>'
        + user("after_child")
        + '<bpmn:endEvent id="c_end"/>'
        + flows("c_start>c_wait", "c_wait>after_child", "after_child>c_end"),
    )
    parent = process(
        "parent_wait",
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:callActivity id="call_child" calledElement="child_wait"/>'
        '<bpmn:receiveTask id="p_wait" messageRef="msg_reply"/>'
        + user("prepare_quote")
        + user("after_parent")
        + '<bpmn:endEvent id="end_child"/><bpmn:endEvent id="end_parent"/>'
        + flows(
            "start>split",
            "split>call_child",
            "split>prepare_quote",
            "call_child>end_child",
            "prepare_quote>p_wait",
            "p_wait>after_parent",
            "after_parent>end_parent",
        ),
    )
    deploy(timed, child, parent)
    instance_id = timed.agent.start("parent_wait", business_key=KEY)["id"]
    complete(timed, instance_id, "prepare_quote")
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_child"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_child", "after_parent"]
    assert reply(timed).status_code == 404


def test_a_multi_instance_receive_task_needs_a_reply_per_instance(timed):
    body = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:receiveTask id="collect" messageRef="msg_reply">'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
        "<bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="customer" name="customer"/>'
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:receiveTask>"
        + user("review")
        + '<bpmn:endEvent id="end"/>'
        + flows("start>collect", "collect>review", "review>end")
    )
    deploy(timed, process("collect_replies", body))
    data = {"customers": ["c1", "c2", "c3"]}
    instance_id = timed.agent.start("collect_replies", data, business_key=KEY)["id"]
    for _ in range(2):
        delivered(timed, instance_id)
        assert moved(timed, instance_id) == []
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["review"]
    assert reply(timed).status_code == 404


def test_a_message_thrown_inside_the_instance_moves_one_catch(timed):
    """A branch's intermediate throw event, caught in the same step by the instance's own
    receive tasks: the one that waited first takes it."""
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + user("mark_replied")
        + '<bpmn:intermediateThrowEvent id="tell">'
        '<bpmn:messageEventDefinition messageRef="msg_reply"/></bpmn:intermediateThrowEvent>'
        '<bpmn:receiveTask id="wait_a" messageRef="msg_reply"/>'
        '<bpmn:receiveTask id="wait_b" messageRef="msg_reply"/>'
        + user("after_a")
        + user("after_b")
        + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>'
        + flows(
            "start>split",
            "split>wait_a",
            "split>wait_b",
            "split>mark_replied",
            "mark_replied>tell",
            "tell>e1",
            "wait_a>after_a",
            "after_a>e2",
            "wait_b>after_b",
            "after_b>e3",
        )
    )
    deploy(timed, process("self_told", body))
    instance_id = timed.agent.start("self_told", business_key=KEY)["id"]
    complete(timed, instance_id, "mark_replied")
    assert moved(timed, instance_id) == ["after_a"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_a", "after_b"]


def test_a_message_thrown_by_another_instance_moves_one_catch(timed):
    """A message end event of another process, queued and delivered by the scheduler's pass,
    moves one of the receiver's two receive tasks; the next one the other."""
    sender = process(
        "replier",
        '<bpmn:startEvent id="s_start"/><bpmn:endEvent id="s_end">'
        '<bpmn:messageEventDefinition messageRef="msg_reply"/></bpmn:endEvent>'
        + flows("s_start>s_end"),
    )
    deploy(timed, TWO_RECEIVE_TASKS, sender)
    instance_id = timed.agent.start("two_waits", business_key=KEY)["id"]
    complete(timed, instance_id, "prepare_quote")
    for expected in (["after_callback"], ["after_callback", "after_quote"]):
        timed.agent.start("replier", business_key=KEY)
        timed.advance()
        assert moved(timed, instance_id) == expected


@pytest.mark.parametrize("round_", range(3))
def test_two_replies_sent_at_once_move_each_catch_once(timed, round_):
    """Two requests from two threads, one reply each: both are taken (202), one by each
    receive task; none is lost, none moves a catch twice."""
    deploy(timed, TWO_RECEIVE_TASKS)
    instance_id = timed.agent.start("two_waits", business_key=KEY)["id"]
    complete(timed, instance_id, "prepare_quote")
    bodies = [
        {"name": "customer_replied", "business_key": KEY, "message_id": f"r{round_}-{i}"}
        for i in (1, 2)
    ]
    results = post_together(timed.app, URL, [(timed.agent.headers, b) for b in bodies])
    assert [status for status, _ in results] == [202, 202], results
    assert all(answer["delivered_to"] == [instance_id] for _, answer in results)
    assert moved(timed, instance_id) == ["after_callback", "after_quote"]
    assert reply(timed).status_code == 404


def test_an_interrupting_boundary_event_and_a_receive_task_beside_it(timed):
    """The boundary event on the call waits from the start, the receive task once the
    quote is prepared: the first reply interrupts the call only, the second moves the
    receive task."""
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + user("call")
        + user("prepare_quote")
        + user("after_boundary")
        + user("after_wait")
        + '<bpmn:boundaryEvent id="reply_in_call" attachedToRef="call">'
        '<bpmn:messageEventDefinition messageRef="msg_reply"/></bpmn:boundaryEvent>'
        '<bpmn:receiveTask id="wait" messageRef="msg_reply"/>'
        '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>'
        + flows(
            "start>split",
            "split>call",
            "split>prepare_quote",
            "call>e1",
            "reply_in_call>after_boundary",
            "after_boundary>e2",
            "prepare_quote>wait",
            "wait>after_wait",
            "after_wait>e3",
        )
    )
    deploy(timed, process("interrupted_call", body))
    instance_id = timed.agent.start("interrupted_call", business_key=KEY)["id"]
    complete(timed, instance_id, "prepare_quote")
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_boundary"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_boundary", "after_wait"]


def test_an_interrupting_event_subprocess_of_a_later_scope_waits_its_turn(timed):
    """The receive task waits from the start; the subprocess ``talk``, whose interrupting
    event subprocess listens for the same message, opens later. The first reply moves the
    receive task and leaves the talk alone; the second interrupts the talk."""
    talk = (
        '<bpmn:subProcess id="talk"><bpmn:startEvent id="t_start"/>'
        + user("talking")
        + '<bpmn:endEvent id="t_end"/>'
        + flows("t_start>talking", "talking>t_end")
        + '<bpmn:subProcess id="on_reply" triggeredByEvent="true">'
        '<bpmn:startEvent id="on_reply_start" isInterrupting="true">'
        '<bpmn:messageEventDefinition messageRef="msg_reply"/></bpmn:startEvent>'
        + user("handle_reply")
        + '<bpmn:endEvent id="h_end"/>'
        + flows("on_reply_start>handle_reply", "handle_reply>h_end")
        + "</bpmn:subProcess></bpmn:subProcess>"
    )
    body = (
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        '<bpmn:receiveTask id="wait" messageRef="msg_reply"/>'
        + user("after_wait")
        + user("open_talk")
        + talk
        + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        + flows(
            "start>split",
            "split>wait",
            "split>open_talk",
            "wait>after_wait",
            "after_wait>e1",
            "open_talk>talk",
            "talk>e2",
        )
    )
    deploy(timed, process("talk_later", body))
    instance_id = timed.agent.start("talk_later", business_key=KEY)["id"]
    complete(timed, instance_id, "open_talk")
    assert moved(timed, instance_id) == ["talking"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_wait", "talking"]
    delivered(timed, instance_id)
    assert moved(timed, instance_id) == ["after_wait", "handle_reply"]
