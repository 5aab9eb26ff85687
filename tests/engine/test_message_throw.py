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
