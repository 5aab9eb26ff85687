"""A timer that came due before a reply fires in a step of its own, not stranded by the reply.

The agent waits for the customer's reply at an event-based gateway inside a subprocess; an
overdue timer on the subprocess escalates (or reminds) after an hour. The reply comes at
1h30, before the background pass has fired the overdue timer. Before, the reply's step put
that timer READY after its last pass and left it there: no longer a wait, so the scheduler
never fired it; it ran at the instance's next step, when the agent completed the reply's task
hours later, and then cancelled the agent's work (escalation) or wrote over the reply's
outcome (reminder). Now the reply's step runs the reply's path only and the overdue timer
stays waiting with its due time: the next pass fires it, as the diagram draws it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.engine.conftest import T0, Timed

MESSAGE = '<bpmn:message id="m_reply" name="customer_replied"/>'


def timer(duration: str) -> str:
    return (
        "<bpmn:timerEventDefinition>"
        f"<bpmn:timeDuration>'{duration}'</bpmn:timeDuration></bpmn:timerEventDefinition>"
    )


def flows(*pairs: str) -> str:
    return "".join(
        f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in (pair.split(">") for pair in pairs)
    )


def script(element_id: str, text: str) -> str:
    return f'<bpmn:scriptTask id="{element_id}"><bpmn:script>{text}</bpmn:script></bpmn:scriptTask>'


def awaiting_reply(escalates: bool) -> str:
    """Wait for the reply (or two hours) inside ``await``; the reply is handled by the agent
    inside it too; ``overdue`` after one hour escalates (interrupting) or reminds."""
    inside = (
        '<bpmn:startEvent id="ws"/><bpmn:eventBasedGateway id="gw"/>'
        '<bpmn:intermediateCatchEvent id="reply">'
        '<bpmn:messageEventDefinition messageRef="m_reply"/></bpmn:intermediateCatchEvent>'
        f'<bpmn:intermediateCatchEvent id="timeout">{timer("PT2H")}</bpmn:intermediateCatchEvent>'
        + script("replied", "outcome = 'replied'")
        + script("no_reply", "outcome = 'no reply'")
        + '<bpmn:userTask id="handle"/><bpmn:endEvent id="we1"/><bpmn:endEvent id="we2"/>'
        + flows("ws>gw", "gw>reply", "gw>timeout", "reply>replied", "replied>handle")
        + flows("handle>we1", "timeout>no_reply", "no_reply>we2")
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        f'targetNamespace="http://dialflow.example/due">{MESSAGE}'
        '<bpmn:process id="await_reply" isExecutable="true"><bpmn:startEvent id="s"/>'
        f'<bpmn:subProcess id="await">{inside}</bpmn:subProcess>'
        f'<bpmn:boundaryEvent id="overdue" attachedToRef="await" '
        f'cancelActivity="{str(escalates).lower()}">{timer("PT1H")}</bpmn:boundaryEvent>'
        + script("flag", "outcome = 'overdue'")
        + '<bpmn:userTask id="follow_up"/><bpmn:userTask id="chase"/>'
        + '<bpmn:endEvent id="e"/><bpmn:endEvent id="e2"/>'
        + flows("s>await", "await>follow_up", "follow_up>e", "overdue>flag", "flag>chase")
        + flows("chase>e2")
        + "</bpmn:process></bpmn:definitions>\n"
    )


def reply_late(timed: Timed, escalates: bool) -> tuple[int, dict[str, Any]]:
    """Start, move the clock past the overdue hour without a pass, and reply."""
    response = timed.owner.post("/api/v1/process-models", json={"bpmn": awaiting_reply(escalates)})
    assert response.status_code in (200, 201), response.get_json()
    started = timed.agent.start("await_reply", business_key="lead-5")
    timed.clock.advance(timedelta(hours=1, minutes=30))
    body = {"name": "customer_replied", "business_key": "lead-5", "payload": {"answer": "yes"}}
    sent = timed.agent.post("/api/v1/messages", json=body)
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
    return started["id"], timed.agent.instance(started["id"])


def names(view: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in view["ready_tasks"])


def overdue_wait(view: dict[str, Any]) -> list[tuple[str, datetime]]:
    timers = [w for w in view["waiting"] if w["kind"] == "timer"]
    return [(w["name"], datetime.fromisoformat(w["due_at"])) for w in timers]


AN_HOUR_IN = T0 + timedelta(hours=1)


def test_an_overdue_escalation_due_when_the_reply_came_fires_in_the_next_pass(timed: Timed):
    instance_id, view = reply_late(timed, escalates=True)

    # the reply's step ran the reply's path; the escalation waits, due since 1h
    assert (view["status"], names(view), view["incidents"]) == ("running", ["handle"], [])
    assert overdue_wait(view) == [("overdue", AN_HOUR_IN)]  # before: gone, never to fire

    assert timed.advance() == 1  # the next pass escalates, as the deadline draws it
    view = timed.agent.instance(instance_id)
    assert (names(view), view["data"]["outcome"], view["waiting"]) == (["chase"], "overdue", [])


def test_an_overdue_reminder_due_when_the_reply_came_does_not_overwrite_the_reply(
    timed: Timed,
):
    instance_id, view = reply_late(timed, escalates=False)
    assert (names(view), overdue_wait(view)) == (["handle"], [("overdue", AN_HOUR_IN)])

    assert timed.advance() == 1  # the reminder opens beside the reply's task
    view = timed.agent.instance(instance_id)
    assert names(view) == ["chase", "handle"]

    [handle] = [task for task in view["ready_tasks"] if task["name"] == "handle"]
    done = timed.agent.complete_ok(handle["id"])
    # before, the reminder ran only now, late, and its outcome won over the reply's
    assert (names(done), done["data"]["outcome"], done["data"]["answer"]) == (
        ["chase", "follow_up"],
        "replied",
        "yes",
    )
