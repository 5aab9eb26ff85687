"""``POST /api/v1/messages`` with ``time_to_live``: a message sent a moment before its instance
waits for it is kept and taken when the instance reaches the catch (``engine.message_buffer``).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import message_buffer
from engine.models import ReceivedMessage
from tests.engine.conftest import T0, post_together
from tests.engine.diagram_folders import DiagramFolder, upload

URL = "/api/v1/messages"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"


def definitions(messages: str, process_id: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        f'  xmlns:zeebe="{ZEEBE}" id="defs_{process_id}" targetNamespace="http://example.com/ttl">\n'
        f"{messages}\n"
        f'  <process id="{process_id}" isExecutable="true">\n{body}\n  </process>\n'
        "</definitions>\n"
    ).encode()


# The agent's call, then the telephony system's "call ended" for the business key.
CALL_THEN_WAIT = definitions(
    '<message id="m_ended" name="call_ended" />',
    "call_then_wait",
    """
    <startEvent id="start" />
    <userTask id="call" name="Call the customer" />
    <intermediateCatchEvent id="ended"><messageEventDefinition messageRef="m_ended" />
    </intermediateCatchEvent>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <sequenceFlow id="f2" sourceRef="call" targetRef="ended" />
    <sequenceFlow id="f3" sourceRef="ended" targetRef="end" />
""",
)

# Waits for "paid" at once; the payment's key is the lead's, as Camunda 8 correlates.
WAIT_FOR_PAYMENT = definitions(
    '<message id="m_paid" name="paid"><extensionElements>'
    '<zeebe:subscription correlationKey="=lead_id" /></extensionElements></message>',
    "wait_for_payment",
    """
    <startEvent id="start" />
    <receiveTask id="paid" name="Payment" messageRef="m_paid" />
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="paid" />
    <sequenceFlow id="f2" sourceRef="paid" targetRef="end" />
""",
)

# Preparation, then the call, which the customer's cancellation interrupts.
CALL_OR_CANCEL = definitions(
    '<message id="m_cancel" name="call_cancelled" />',
    "call_or_cancel_ttl",
    """
    <startEvent id="start" />
    <userTask id="prepare" name="Prepare the call" />
    <userTask id="call" name="Call the customer" />
    <boundaryEvent id="cancelled" attachedToRef="call">
      <messageEventDefinition messageRef="m_cancel" />
    </boundaryEvent>
    <endEvent id="done" />
    <endEvent id="dropped" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <sequenceFlow id="f2" sourceRef="prepare" targetRef="call" />
    <sequenceFlow id="f3" sourceRef="call" targetRef="done" />
    <sequenceFlow id="f4" sourceRef="cancelled" targetRef="dropped" />
""",
)


@pytest.fixture
def api(timed):
    response = upload(
        timed.owner,
        ("call_then_wait.bpmn", CALL_THEN_WAIT),
        ("wait_for_payment.bpmn", WAIT_FOR_PAYMENT),
        ("call_or_cancel_ttl.bpmn", CALL_OR_CANCEL),
    )
    assert response.status_code in (200, 201), response.get_json()
    return timed


def task_of(actor, instance_id: int, element_id: str) -> dict:
    (task,) = [
        t
        for t in actor.tasks("mine=1")
        if t["process_instance_id"] == instance_id and t["name"] == element_id
    ]
    return task


def race(app, headers: dict, requests: list[tuple[str, dict]]) -> list[tuple[int, dict]]:
    """POST each ``(url, body)`` from a thread of its own, released by one barrier."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index: int, url: str, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(url, headers=headers, json=body)
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def record(api, record_id: int | None = None, **where) -> ReceivedMessage:
    with api.runtime.db.unit_of_work() as session:
        query = select(ReceivedMessage)
        if record_id is not None:
            query = query.where(ReceivedMessage.id == record_id)
        for field, value in where.items():
            query = query.where(getattr(ReceivedMessage, field) == value)
        (found,) = session.scalars(query).all()
        session.expunge(found)
        return found


def test_a_message_sent_before_its_wait_is_taken_when_the_instance_arrives(api):
    agent = api.agent
    instance = agent.start("call_then_wait", business_key="call-1")
    other = agent.start("call_then_wait", business_key="call-2")
    body = {"name": "call_ended", "business_key": "call-1", "payload": {"seconds": 95}}

    kept = agent.post(URL, json={**body, "time_to_live": "PT10M"})
    assert kept.status_code == 202, kept.get_json()
    until = (T0 + timedelta(minutes=10)).isoformat()
    assert kept.get_json() == {"delivered_to": [], "duplicate": False, "buffered_until": until}

    api.clock.advance(timedelta(minutes=2))
    agent.complete_ok(task_of(agent, other["id"], "call")["id"])  # another key: still waits
    assert agent.instance(other["id"])["status"] == "waiting"
    agent.complete_ok(task_of(agent, instance["id"], "call")["id"])
    done = agent.instance(instance["id"])
    assert done["status"] == "completed", done
    assert done["data"]["seconds"] == 95
    taken = record(api, name="call_ended")
    assert (taken.status, taken.delivered_to) == ("delivered", [instance["id"]])

    # Taken once: the next instance of the key waits for a message of its own.
    again = agent.start("call_then_wait", business_key="call-1")
    agent.complete_ok(task_of(agent, again["id"], "call")["id"])
    assert agent.instance(again["id"])["status"] == "waiting"


def test_without_a_time_to_live_nothing_is_kept_as_before(api):
    agent = api.agent
    instance = agent.start("call_then_wait", business_key="call-3")
    for extra in ({}, {"time_to_live": 0}, {"time_to_live": "PT0S"}):
        response = agent.post(URL, json={"name": "call_ended", "business_key": "call-3", **extra})
        assert response.status_code == 404, response.get_json()
        assert response.get_json()["error"]["code"] == "no_matching_instance"
    agent.complete_ok(task_of(agent, instance["id"], "call")["id"])
    assert agent.instance(instance["id"])["status"] == "waiting"


def test_an_expired_message_is_not_taken_and_stays_recorded(api):
    agent = api.agent
    instance = agent.start("call_then_wait", business_key="call-4")
    kept = agent.post(
        URL, json={"name": "call_ended", "business_key": "call-4", "time_to_live": 60}
    )
    assert kept.get_json()["buffered_until"] == (T0 + timedelta(seconds=60)).isoformat()
    api.clock.advance(timedelta(seconds=61))
    agent.complete_ok(task_of(agent, instance["id"], "call")["id"])
    assert agent.instance(instance["id"])["status"] == "waiting"
    expired = record(api, name="call_ended")
    assert (expired.status, expired.delivered_to) == ("unmatched", [])


BAD_TIMES_TO_LIVE = [-1, 1.5, True, "600", "P1M", "PT", "soon", 86401, "P2D", {"s": 5}, "PT1H" * 50]


def test_a_bad_time_to_live_is_refused_with_its_code(timed):
    for value in BAD_TIMES_TO_LIVE:
        response = timed.agent.post(URL, json={"name": "call_ended", "time_to_live": value})
        assert response.status_code == 422, (value, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "invalid_time_to_live", (value, error)
        assert [d["field"] for d in error["details"]] == ["time_to_live"], (value, error)


def test_one_kept_message_is_taken_by_one_of_two_instances_arriving_at_once(api):
    agent = api.agent
    kept = agent.post(
        URL,
        json={"name": "paid", "correlation": {"correlationKey": "L-7"}, "time_to_live": "PT1H"},
    )
    assert kept.status_code == 202, kept.get_json()
    body = {"process_id": "wait_for_payment", "data": {"lead_id": "L-7"}}
    results = post_together(api.app, "/api/v1/process-instances", [(agent.headers, body)] * 2)
    assert [status for status, _ in results] == [201, 201], results
    statuses = sorted(agent.instance(answer["id"])["status"] for _, answer in results)
    assert statuses == ["completed", "waiting"]
    taken = record(api, name="paid")
    assert taken.status == "delivered" and len(taken.delivered_to) == 1


def test_a_correlation_value_picks_the_instance_it_names(api):
    agent = api.agent
    for key in ("L-8", "L-9"):
        kept = agent.post(
            URL,
            json={
                "name": "paid",
                "correlation": {"correlationKey": key},
                "payload": {"paid_for": key},
                "time_to_live": 600,
            },
        )
        assert kept.status_code == 202, kept.get_json()
    other = agent.start("wait_for_payment", {"lead_id": "L-1"})
    assert agent.instance(other["id"])["status"] == "waiting"
    named = agent.start("wait_for_payment", {"lead_id": "L-9"})
    done = agent.instance(named["id"])
    assert done["status"] == "completed" and done["data"]["paid_for"] == "L-9", done
    taken = record(api, name="paid", status="delivered")
    assert (taken.delivered_to, taken.payload) == ([named["id"]], {"paid_for": "L-9"})


def test_a_repeated_message_id_while_kept_is_refused_as_a_duplicate(api):
    agent = api.agent
    body = {
        "name": "call_ended",
        "business_key": "call-5",
        "message_id": "pbx-5",
        "time_to_live": 300,
    }
    first = agent.post(URL, json=body)
    assert first.status_code == 202
    again = agent.post(URL, json={**body, "payload": {"seconds": 1}})
    assert again.status_code == 409, again.get_json()
    error = again.get_json()["error"]
    assert error["code"] == "duplicate_message"
    assert error["details"][0]["buffered_until"] == first.get_json()["buffered_until"]
    assert record(api, message_id="pbx-5").payload == {}  # the first, stored once

    api.clock.advance(timedelta(seconds=301))  # kept no longer: answered as its first delivery
    late = agent.post(URL, json=body)
    assert late.status_code == 404
    assert late.get_json()["error"]["code"] == "no_matching_instance"


def test_a_boundary_event_reached_after_its_message_takes_it(api):
    agent = api.agent
    instance = agent.start("call_or_cancel_ttl", business_key="call-6")
    kept = agent.post(
        URL, json={"name": "call_cancelled", "business_key": "call-6", "time_to_live": "PT5M"}
    )
    assert kept.status_code == 202, kept.get_json()
    agent.complete_ok(task_of(agent, instance["id"], "prepare")["id"])
    done = agent.instance(instance["id"])
    assert done["status"] == "completed", done
    assert not [t for t in agent.tasks("mine=1") if t["process_instance_id"] == instance["id"]]
    assert record(api, name="call_cancelled").delivered_to == [instance["id"]]


def test_a_message_sent_as_its_instance_begins_to_wait_is_neither_lost_nor_taken_twice(api):
    """The message and the start race: either the message finds the waiting instance, or it
    is kept and the start's step takes it; never kept beside a waiting instance."""
    agent = api.agent
    for round_ in range(10):
        key = f"L-race-{round_}"
        message = {
            "name": "paid",
            "correlation": {"correlationKey": key},
            "message_id": f"race-{round_}",
            "time_to_live": 600,
        }
        start = {"process_id": "wait_for_payment", "data": {"lead_id": key}}
        (sent, answer), (started, instance) = race(
            api.app,
            agent.headers,
            [("/api/v1/messages", message), ("/api/v1/process-instances", start)],
        )
        assert (sent, started) == (202, 201), (answer, instance)
        assert agent.instance(instance["id"])["status"] == "completed"
        taken = record(api, message_id=f"race-{round_}")
        assert (taken.status, taken.delivered_to) == ("delivered", [instance["id"]])


def test_an_event_based_gateway_and_an_event_subprocess_take_a_kept_message(api):
    agent = api.agent
    api.owner.deploy("reply_or_timeout.bpmn")
    DiagramFolder("event_subprocesses").deploy(api.owner, "call_in.bpmn")
    for name, key in (("customer_replied", "r-1"), ("order_cancelled", "c-1")):
        kept = agent.post(URL, json={"name": name, "business_key": key, "time_to_live": "PT1H"})
        assert kept.status_code == 202, kept.get_json()

    replied = agent.instance(agent.start("reply_or_timeout", business_key="r-1")["id"])
    assert (replied["status"], replied["data"]["outcome"]) == ("completed", "replied"), replied
    cancelled = agent.instance(agent.start("call_in", business_key="c-1")["id"])
    assert (cancelled["status"], cancelled["data"]["stage"]) == ("completed", "cancelled")
    assert not [t for t in agent.tasks("mine=1") if t["process_instance_id"] == cancelled["id"]]


def test_a_kept_message_is_found_among_more_kept_for_other_keys_than_one_look_up_reads(api):
    agent = api.agent
    for n in range(message_buffer.LOOKUP_LIMIT + 5):
        body = {"name": "paid", "correlation": {"correlationKey": f"L-{n}"}, "time_to_live": 600}
        assert agent.post(URL, json=body).status_code == 202
    last = {"name": "paid", "correlation": {"correlationKey": "L-last"}, "time_to_live": 600}
    assert agent.post(URL, json=last).status_code == 202
    instance = agent.start("wait_for_payment", {"lead_id": "L-last"})
    assert agent.instance(instance["id"])["status"] == "completed"


# Waits for the approval at once, then opens the follow-up.
APPROVED_THEN_FOLLOW_UP = definitions(
    '<message id="m_approved" name="approved_ttl" />',
    "approved_then_follow_up",
    """
    <startEvent id="start" />
    <intermediateCatchEvent id="approved"><messageEventDefinition messageRef="m_approved" />
    </intermediateCatchEvent>
    <userTask id="follow_up" name="Follow up" />
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="approved" />
    <sequenceFlow id="f2" sourceRef="approved" targetRef="follow_up" />
    <sequenceFlow id="f3" sourceRef="follow_up" targetRef="end" />
""",
)


def test_a_start_that_takes_a_kept_message_answers_with_the_tasks_open_after_the_take(api):
    """The start's answer lists the tasks open once the kept message is taken: the take's
    own step opened the follow-up, and a taken cancellation closed the call it opened."""
    response = upload(api.owner, ("approved_then_follow_up.bpmn", APPROVED_THEN_FOLLOW_UP))
    assert response.status_code in (200, 201), response.get_json()
    agent = api.agent
    for name, key in (("approved_ttl", "a-1"), ("call_cancelled", "c-7")):
        kept = agent.post(URL, json={"name": name, "business_key": key, "time_to_live": 600})
        assert kept.status_code == 202, kept.get_json()

    started = agent.start("approved_then_follow_up", business_key="a-1")
    assert [t["name"] for t in started["ready_tasks"]] == ["follow_up"], started
    assert started["ready_tasks"] == agent.instance(started["id"])["ready_tasks"]

    started = agent.start("call_or_cancel_ttl", business_key="c-7")
    assert [t["name"] for t in started["ready_tasks"]] == ["prepare"], started
    done = agent.complete_ok(task_of(agent, started["id"], "prepare")["id"])
    assert (done["status"], done["ready_tasks"]) == ("completed", []), done


@pytest.mark.parametrize("shared", ["IS NULL", "another property"])
def test_a_kept_message_is_found_behind_more_kept_for_other_keys_than_a_look_up_reads(api, shared):
    """Messages for other keys that the index cannot tell apart from this key's (they carry
    two values, or a value of another property, so none stores this key's property) come
    before it: a look-up reads the oldest ``LOOKUP_LIMIT`` and the instance looks further,
    where it stopped at the first page and waited for good."""
    agent = api.agent

    def correlation(key: str) -> dict[str, str]:
        if shared == "IS NULL":
            return {"correlationKey": key, "channel": "web"}  # two values: no property kept
        return {"order_ref": key}  # another property: refused by the wait's instance

    for n in range(message_buffer.LOOKUP_LIMIT + 10):
        body = {"name": "paid", "correlation": correlation(f"L-{n}"), "time_to_live": 600}
        assert agent.post(URL, json=body).status_code == 202
    mine = {"correlationKey": "L-last", **({"channel": "web"} if shared == "IS NULL" else {})}
    last = {"name": "paid", "correlation": mine, "time_to_live": 600}
    assert agent.post(URL, json=last).status_code == 202

    instance = agent.start("wait_for_payment", {"lead_id": "L-last"})

    assert agent.instance(instance["id"])["status"] == "completed"
    taken = record(api, status="delivered")
    assert taken.correlation["correlationKey"] == "L-last"
