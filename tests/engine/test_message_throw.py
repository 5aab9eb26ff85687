"""A message thrown by one instance reaches the instance of the same business key waiting
for it, through the scheduler's next pass (queued in the thrower's transaction)."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import ReceivedMessage


def test_a_thrown_message_reaches_the_waiting_instance_of_the_same_customer(timed):
    owner = timed.owner
    owner.deploy("quote_waiter.bpmn")
    owner.deploy("quote_sender.bpmn")
    mine = owner.start("quote_waiter", business_key="customer-7")
    other = owner.start("quote_waiter", business_key="customer-8")

    sender = owner.start("quote_sender", {"amount": 18800}, business_key="customer-7")

    assert sender["status"] == "completed"
    assert owner.instance(mine["id"])["status"] == "waiting"  # not yet: queued
    assert timed.advance(seconds=1) >= 1
    delivered = owner.instance(mine["id"])
    assert [t["name"] for t in delivered["ready_tasks"]] == ["present"]
    assert delivered["data"]["amount"] == 18800
    assert owner.instance(other["id"])["status"] == "waiting"
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        record = session.scalar(
            select(ReceivedMessage).where(ReceivedMessage.name == "quote_ready")
        )
        assert (record.status, record.delivered_to) == ("delivered", [mine["id"]])
    assert timed.advance(seconds=1) == 0  # delivered once


def test_a_thrown_message_nobody_waits_for_is_kept_as_unmatched(timed):
    owner = timed.owner
    owner.deploy("quote_sender.bpmn")
    owner.start("quote_sender", {"amount": 1}, business_key="customer-9")
    timed.advance(seconds=1)
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        statuses = session.scalars(select(ReceivedMessage.status)).all()
    assert statuses == ["unmatched"]


PAYMENT_WITHOUT_REFERENCE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs_payment_notice" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:message id="msg_paid" name="payment_confirmed" />
  <bpmn:process id="payment_notice" name="Announce a payment" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateThrowEvent id="announce" name="Payment confirmed">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="med_announce" messageRef="msg_paid">
        <bpmn:extensionElements>
          <spiffworkflow:messagePayload>{"amount": amount}</spiffworkflow:messagePayload>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="announce" />
    <bpmn:sequenceFlow id="f2" sourceRef="announce" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_thrown_message_that_cannot_be_delivered_holds_up_nothing(timed):
    """The waiting instance reads its order reference from the message, which this one does
    not carry: it cannot be delivered there. The scheduler records why and goes on with the
    other queued messages and the due timers, pass after pass."""
    owner = timed.owner
    owner.deploy("order_correlation.bpmn")
    owner.deploy("quote_waiter.bpmn")
    owner.deploy("quote_sender.bpmn")
    owner.deploy("timer_waits.bpmn")
    assert (
        owner.upload(extra=[("payment_notice.bpmn", PAYMENT_WITHOUT_REFERENCE)]).status_code == 201
    )
    waiting = owner.start("payment_by_ref", {"order_ref": "A-1"}, business_key="customer-3")
    quote = owner.start("quote_waiter", business_key="customer-3")
    timer = owner.start("wait_seconds", {"wait_for": "PT1S"})
    owner.start("payment_notice", {"amount": 5}, business_key="customer-3")  # queued first
    owner.start("quote_sender", {"amount": 7}, business_key="customer-3")  # queued second

    timed.advance(seconds=2)

    assert owner.instance(timer["id"])["status"] == "completed"
    delivered = owner.instance(quote["id"])
    assert [t["name"] for t in delivered["ready_tasks"]] == ["present"]
    assert owner.instance(waiting["id"])["status"] == "waiting"
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        records = {r.name: r for r in session.scalars(select(ReceivedMessage)).all()}
    bad = records["payment_confirmed"]
    assert (bad.status, bad.delivered_to) == ("failed", [])
    assert "order_ref" in (bad.error or "")
    assert records["quote_ready"].status == "delivered"
    assert timed.advance(seconds=1) == 0  # nothing left over, nothing retried
