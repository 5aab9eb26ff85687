"""``POST /api/v1/messages``: correlation, payload, idempotency, concurrency, refusals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine import messages
from engine.models import EventWait, ProcessInstance, ReceivedMessage
from tests.engine.conftest import DIAGRAMS, post_together
from tests.engine.diagram_folders import upload

URL = "/api/v1/messages"


def received(db, **where) -> list[ReceivedMessage]:
    with db() as session:
        query = select(ReceivedMessage).order_by(ReceivedMessage.id)
        for field, value in where.items():
            query = query.where(getattr(ReceivedMessage, field) == value)
        return list(session.scalars(query))


def steps(db, instance_id: int) -> int:
    with db() as session:
        return session.get(ProcessInstance, instance_id).step_count


def test_business_key_picks_the_instance_and_the_payload_joins_its_data(owner, agent, db):
    owner.deploy("waits.bpmn")
    first = agent.start("await_payment", business_key="order-1")
    second = agent.start("await_payment", business_key="order-2")

    response = agent.post(
        URL,
        json={
            "name": "payment_received",
            "business_key": "order-1",
            "payload": {"amount": 120.5, "currency": "CNY", "paid_by": {"method": "wechat"}},
        },
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"delivered_to": [first["id"]], "duplicate": False}

    paid = agent.instance(first["id"])
    assert paid["data"]["amount"] == 120.5
    assert paid["data"]["paid_by"] == {"method": "wechat"}
    assert [w["kind"] for w in paid["waiting"]] == ["timer"]  # the message wait is gone
    untouched = agent.instance(second["id"])
    assert "amount" not in untouched["data"]
    assert sorted(w["kind"] for w in untouched["waiting"]) == ["message", "timer"]
    with db() as session:
        waits = session.scalars(
            select(EventWait.instance_id).where(
                EventWait.kind == "message", EventWait.name == "payment_received"
            )
        ).all()
    assert waits == [second["id"]]
    (record,) = received(db)
    assert (record.status, record.delivered_to, record.business_key) == (
        "delivered",
        [first["id"]],
        "order-1",
    )

    # A business key given as a number matches the same text.
    third = agent.start("await_payment", business_key="42")
    response = agent.post(URL, json={"name": "payment_received", "business_key": 42})
    assert response.status_code == 202
    assert response.get_json()["delivered_to"] == [third["id"]]


def test_the_same_message_id_is_applied_once(owner, agent, db):
    owner.deploy("dialer_events.bpmn")
    instance = agent.start("dialer_events", {"expected": 3}, business_key="call-77")
    before = steps(db, instance["id"])
    body = {
        "name": "call_event",
        "business_key": "call-77",
        "message_id": "pbx-evt-1",
        "payload": {"seq": 1, "disposition": "ringing"},
    }
    first = agent.post(URL, json=body)
    assert first.status_code == 202
    assert first.get_json() == {"delivered_to": [instance["id"]], "duplicate": False}

    again = agent.post(URL, json=body)
    assert again.status_code == 202
    assert again.get_json() == {"delivered_to": [instance["id"]], "duplicate": True}
    changed = agent.post(URL, json={**body, "payload": {"seq": 9}})  # same id: still the first
    assert changed.get_json() == {"delivered_to": [instance["id"]], "duplicate": True}

    seen = agent.instance(instance["id"])
    assert seen["data"]["events"] == [1]
    assert seen["status"] == "waiting"
    assert steps(db, instance["id"]) == before + 1
    assert len(received(db, message_id="pbx-evt-1")) == 1

    second = agent.post(URL, json={**body, "message_id": "pbx-evt-2", "payload": {"seq": 2}})
    assert second.get_json() == {"delivered_to": [instance["id"]], "duplicate": False}
    assert agent.instance(instance["id"])["data"]["events"] == [1, 2]


def test_concurrent_messages_to_one_instance_all_apply_one_after_the_other(app, owner, agent, db):
    """Five requests at once, four distinct ids and one repeat, to an instance that loops
    back to wait for the next event: four apply, in turn (no lost update), one is a repeat."""
    owner.deploy("dialer_events.bpmn")
    instance = agent.start("dialer_events", {"expected": 4}, business_key="call-9")
    before = steps(db, instance["id"])

    def body(seq: int, message_id: str) -> dict:
        return {
            "name": "call_event",
            "business_key": "call-9",
            "message_id": message_id,
            "payload": {"seq": seq},
        }

    bodies = [body(1, "e1"), body(2, "e2"), body(3, "e3"), body(3, "e3"), body(4, "e4")]
    results = post_together(app, URL, [(agent.headers, b) for b in bodies])
    assert [status for status, _ in results] == [202] * 5, results
    assert all(answer["delivered_to"] == [instance["id"]] for _, answer in results)
    assert sorted(answer["duplicate"] for _, answer in results) == [False] * 4 + [True]

    done = agent.instance(instance["id"])
    assert done["status"] == "completed", done
    assert sorted(done["data"]["events"]) == [1, 2, 3, 4]
    assert steps(db, instance["id"]) == before + 4
    records = received(db)
    assert sorted(r.message_id for r in records) == ["e1", "e2", "e3", "e4"]
    assert all(r.status == "delivered" for r in records)


def test_a_message_nobody_waits_for_is_recorded_and_answered_404(owner, agent, db):
    owner.deploy("waits.bpmn")
    instance = agent.start("await_payment", business_key="order-5")

    for body in (
        {"name": "payment_received", "business_key": "order-404", "payload": {"amount": 1}},
        {"name": "refund_requested", "message_id": "r-1", "correlation": {"order": "A"}},
    ):
        response = agent.post(URL, json=body)
        assert response.status_code == 404
        error = response.get_json()["error"]
        assert error["code"] == "no_matching_instance"
        (detail,) = error["details"]
        (record,) = received(db, id=detail["message_record"])
        assert record.status == "unmatched"
        assert record.delivered_to == []
        assert record.name == body["name"]
        assert record.payload == body.get("payload", {})
    assert received(db, message_id="r-1")[0].correlation == {"order": "A"}

    still = agent.instance(instance["id"])
    assert sorted(w["kind"] for w in still["waiting"]) == ["message", "timer"]
    assert "amount" not in still["data"]

    # Repeating an unmatched message id answers from the record (and is not re-offered).
    repeat = agent.post(URL, json={"name": "refund_requested", "message_id": "r-1"})
    assert repeat.status_code == 404
    assert len(received(db, message_id="r-1")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "call_event", "payload": [1, 2]}, "payload"),
        ({"name": "call_event", "payload": "seq=1"}, "payload"),
        ({"name": "call_event", "business_key": True}, "business_key"),
        ({"name": "call_event", "business_key": {"id": 1}}, "business_key"),
        ({"name": "call_event", "correlation": "order=A"}, "correlation"),
        ({"name": "call_event", "message_id": 7}, "message_id"),
    ],
)
def test_invalid_message_bodies_are_refused(owner, agent, db, body, field):
    owner.deploy("dialer_events.bpmn")
    agent.start("dialer_events", {"expected": 1}, business_key="call-1")
    response = agent.post(URL, json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert field in [d["field"] for d in error["details"]], error
    assert received(db) == []


def test_malformed_or_unauthenticated_messages(client, agent, db):
    for raw in (b"not json", b"[1, 2]", b'{"name": "x"'):
        response = agent.post(URL, data=raw, content_type="application/json")
        assert response.status_code == 422, raw
    assert client.post(URL, json={"name": "x"}).status_code == 401
    assert received(db) == []


def test_correlation_properties_pick_one_of_two_instances_without_business_key(owner, agent, db):
    """bpmn:correlationProperty + spiffworkflow:processVariableCorrelation: the instance
    keys its conversation by its own ``order_ref``; the message names one in ``correlation``
    (or carries it in its payload)."""
    owner.deploy("order_correlation.bpmn")
    a = agent.start("payment_by_ref", {"order_ref": "A-1"})
    b = agent.start("payment_by_ref", {"order_ref": "B-2"})
    c = agent.start("payment_by_ref", {"order_ref": "C-3"})
    assert a["business_key"] is None and a["status"] == "waiting"

    to_b = agent.post(
        URL,
        json={
            "name": "payment_confirmed",
            "correlation": {"order_ref": "B-2"},
            "payload": {"amount": 10},
        },
    )
    assert to_b.status_code == 202, to_b.get_json()
    assert to_b.get_json()["delivered_to"] == [b["id"]]
    paid = agent.instance(b["id"])
    assert paid["status"] == "completed"
    assert paid["data"] == {"order_ref": "B-2", "amount": 10, "paid": True}
    assert agent.instance(a["id"])["status"] == "waiting"
    assert agent.instance(c["id"])["status"] == "waiting"

    # The same, with the property in the payload only (as SpiffWorkflow's own throw does).
    to_a = agent.post(
        URL, json={"name": "payment_confirmed", "payload": {"order_ref": "A-1", "amount": 7}}
    )
    assert to_a.status_code == 202, to_a.get_json()
    assert to_a.get_json()["delivered_to"] == [a["id"]]
    assert agent.instance(a["id"])["data"]["amount"] == 7

    unknown = agent.post(
        URL, json={"name": "payment_confirmed", "correlation": {"order_ref": "Z-9"}}
    )
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "no_matching_instance"

    # A message that does not carry the property, or contradicts itself, is refused before
    # it reaches any instance (catching it would end in an incident).
    for body in (
        {"name": "payment_confirmed", "payload": {"amount": 1}},
        {
            "name": "payment_confirmed",
            "correlation": {"order_ref": "C-3"},
            "payload": {"order_ref": "A-1"},
        },
    ):
        refused = agent.post(URL, json=body)
        assert refused.status_code == 422, refused.get_json()
    left = agent.instance(c["id"])
    assert left["status"] == "waiting" and left["incidents"] == []
    with db() as session:
        assert session.scalar(select(func.count(ReceivedMessage.id))) == 3


@pytest.mark.parametrize("binding", ["spiffworkflow", "standard-bpmn-only"])
def test_a_message_naming_its_correlation_reaches_its_instance_among_more_waiting(
    owner, agent, monkeypatch, binding
):
    """Only so many waiting instances are loaded for one message (``MAX_CANDIDATES``); one
    naming a correlation value in ``correlation`` goes first to the instances that hold that
    value (by ``spiffworkflow:processVariableCorrelation``, or in their data as the property's
    retrieval expression reads it), then to those that take any. It was offered to the first
    instances waiting for its name, and the one it names was left out when more waited."""
    monkeypatch.setattr(messages, "MAX_CANDIDATES", 3)
    owner.deploy("payment_plain.bpmn")
    text = (DIAGRAMS / "order_correlation.bpmn").read_bytes()
    if binding == "standard-bpmn-only":
        text = re.sub(
            rb"<bpmn:extensionElements>.*?</bpmn:extensionElements>", b"", text, flags=re.S
        )
    assert upload(owner, ("order_correlation.bpmn", text)).status_code == 201
    by_name = agent.start("payment_by_key", {})["id"]  # takes any payment
    by_ref = {n: agent.start("payment_by_ref", {"order_ref": f"O-{n}"})["id"] for n in range(1, 6)}

    body = {"name": "payment_confirmed", "correlation": {"order_ref": "O-5"}, "payload": {}}
    sent = agent.post(URL, json={**body, "payload": {"amount": 3}})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [by_name, by_ref[5]]
    assert agent.instance(by_ref[5])["data"]["amount"] == 3
    waiting = agent.instance(by_ref[4])["waiting"]
    assert waiting == [
        {"kind": "message", "name": "payment_confirmed", "correlation": {"order_ref": "O-4"}}
    ]
    again = agent.post(URL, json={**body, "correlation": {"order_ref": "O-4"}})
    assert again.get_json()["delivered_to"] == [by_ref[4]]
    assert agent.instance(by_ref[3])["status"] == "waiting"


def test_an_instance_the_message_lacks_the_keys_of_does_not_stop_the_others(owner, agent, db):
    """Two processes wait for one message name under one business key; only one keys its
    conversation by an ``order_ref`` the message does not carry. The other takes the message,
    the answer names the one refused, and the record keeps why."""
    owner.deploy("order_correlation.bpmn")
    owner.deploy("payment_plain.bpmn")
    by_ref = agent.start("payment_by_ref", {"order_ref": "A-1"}, business_key="deal-7")
    by_key = agent.start("payment_by_key", {}, business_key="deal-7")

    sent = agent.post(
        URL,
        json={"name": "payment_confirmed", "business_key": "deal-7", "payload": {"amount": 5}},
    )
    assert sent.status_code == 202, sent.get_json()
    answer = sent.get_json()
    assert answer["delivered_to"] == [by_key["id"]]
    [refused] = answer["refused"]
    assert refused["instance_id"] == by_ref["id"] and "order_ref" in refused["message"]
    assert agent.instance(by_key["id"])["status"] == "completed"
    left = agent.instance(by_ref["id"])
    assert (left["status"], left["incidents"]) == ("waiting", [])
    with db() as session:
        [record] = session.scalars(select(ReceivedMessage)).all()
        assert record.status == "delivered" and record.delivered_to == [by_key["id"]]
        assert record.error is not None and f"instance {by_ref['id']}" in record.error


def test_a_repeated_message_id_names_the_instances_the_first_delivery_refused(owner, agent):
    """The first delivery skipped an instance whose key the message lacked; sending the same
    message again answers as the first did, refusal included, and changes nothing."""
    owner.deploy("order_correlation.bpmn")
    owner.deploy("payment_plain.bpmn")
    by_ref = agent.start("payment_by_ref", {"order_ref": "A-1"}, business_key="deal-7")
    by_key = agent.start("payment_by_key", {}, business_key="deal-7")
    body = {
        "name": "payment_confirmed",
        "business_key": "deal-7",
        "message_id": "pay-7",
        "payload": {"amount": 5},
    }

    first = agent.post(URL, json=body).get_json()
    again = agent.post(URL, json=body)
    assert again.status_code == 202
    assert again.get_json() == {**first, "duplicate": True}
    assert first["delivered_to"] == [by_key["id"]]
    assert [r["instance_id"] for r in first["refused"]] == [by_ref["id"]]
    assert agent.instance(by_ref["id"])["status"] == "waiting"


def test_a_message_reaches_an_instance_whose_other_branch_failed(owner, agent, db):
    """One branch waits for an incident's retry, the other for a payment: the payment is
    taken (not lost as unmatched), and the instance goes on once the incident is retried."""
    from crm.users import create_user

    owner.deploy("notify_beside_payment.bpmn")
    instance = agent.start("notify_beside_payment", {"recipient": "ghost"}, business_key="o-5")
    assert instance["status"] == "error"

    response = agent.post(
        URL,
        json={"name": "payment_received", "business_key": "o-5", "payload": {"paid": 120}},
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["delivered_to"] == [instance["id"]]
    seen = agent.instance(instance["id"])
    assert seen["status"] == "error" and len(seen["incidents"]) == 1
    assert seen["waiting"] == []

    with db() as session:
        create_user(session, username="ghost", role="agent")
    retried = owner.post(f"/api/v1/process-instances/{instance['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    done = retried.get_json()
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["paid"] == 120


def test_a_message_that_cancels_the_failed_task_closes_its_incident(timed):
    """The failing handler's boundary event catches a cancellation: the failed task is gone,
    so is its incident and its pending automatic retry; the instance ends."""
    owner = timed.owner
    owner.deploy("notify_unless_cancelled.bpmn")
    failed = owner.start("notify_unless_cancelled", {"recipient": "ghost"}, business_key="l-1")
    assert failed["status"] == "error"
    assert failed["incidents"][0]["retry_at"] is not None

    response = owner.post(URL, json={"name": "lead_cancelled", "business_key": "l-1"})
    assert response.status_code == 202, response.get_json()
    done = owner.instance(failed["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        row = session.get(ProcessInstance, failed["id"])
        assert row is not None and row.next_due_at is None
        assert all(i.resolved_at is not None for i in row.incidents)
    assert timed.advance(seconds=11) == 0  # no retry of a task that is gone


def test_a_correlation_value_names_the_instances_own_as_a_number_or_its_text(owner, agent):
    """An instance keyed by ``order_ref`` 7 takes a message for ``"7"`` and one keyed by
    ``"8"`` a message for ``8``, as a business key's digits do; each keeps its own value."""
    owner.deploy("order_correlation.bpmn")
    by_number = agent.start("payment_by_ref", {"order_ref": 7})
    by_text = agent.start("payment_by_ref", {"order_ref": "8"})
    other = agent.start("payment_by_ref", {"order_ref": 9})

    for sent, instance in (("7", by_number), (8, by_text)):
        response = agent.post(
            URL, json={"name": "payment_confirmed", "correlation": {"order_ref": sent}}
        )
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["delivered_to"] == [instance["id"]]
    assert agent.instance(by_number["id"])["data"] == {"order_ref": 7, "paid": True}
    assert agent.instance(by_text["id"])["data"] == {"order_ref": "8", "paid": True}
    assert agent.instance(other["id"])["status"] == "waiting"
    unknown = agent.post(
        URL, json={"name": "payment_confirmed", "correlation": {"order_ref": "10"}}
    )
    assert unknown.status_code == 404
