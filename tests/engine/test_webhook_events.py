"""The engine's webhook events: a completed task, an instance at its end, an incident; each in
the step's transaction, with the instance's id even when the instance is new in that step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models import WebhookDelivery
from crm.webhooks.subscriptions import create_subscription

ENGINE_EVENTS = ("task.completed", "process_instance.completed", "process_instance.incident")


@pytest.fixture
def subscribed(db, make_user):
    admin = make_user("admin", username="root", team=None)
    with db() as session:
        subscription, _secret = create_subscription(
            session,
            {"url": "https://crm.example.com/hooks", "event_types": list(ENGINE_EVENTS)},
            actor=admin,
        )
        return subscription.id


def events(db) -> list[tuple[str, dict]]:
    with db() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return [(row.event_type, row.payload["data"]) for row in rows]


def test_completing_the_last_task_sends_task_and_instance_completed(db, subscribed, owner, agent):
    owner.deploy("lead_scoring.bpmn", "score-form.json")
    instance = agent.start("lead_scoring", business_key="4711")
    [task] = instance["ready_tasks"]
    assert events(db) == []

    refused = agent.complete(task["id"], {"score": "high"})  # fails the form: nothing stored
    assert refused.status_code == 422
    assert events(db) == []

    done = agent.complete_ok(task["id"], {"score": 80, "channel": "phone"})
    assert done["status"] == "completed"
    (kind, task_data), (kind2, instance_data) = events(db)
    assert kind == "task.completed"
    assert task_data == {
        "task_id": task["id"],
        "instance_id": instance["id"],
        "process_id": "lead_scoring",
        "element_id": task_data["element_id"],
        "business_key": "4711",
        "completed_by_id": agent.user.id,
    }
    assert task_data["element_id"]
    assert kind2 == "process_instance.completed"
    assert instance_data["instance_id"] == instance["id"]
    assert instance_data["business_key"] == "4711" and instance_data["ended_at"]


def test_an_instance_that_ends_in_its_first_step_has_its_id(db, subscribed, owner, agent):
    owner.deploy("ratio_calc.bpmn")
    fine = agent.start("ratio_calc", {"won": 3, "attempts": 4})
    assert fine["status"] == "completed"
    [(kind, data)] = events(db)
    assert kind == "process_instance.completed" and data["instance_id"] == fine["id"]


def test_an_incident_is_sent_with_its_element_and_message(db, subscribed, owner, agent):
    owner.deploy("ratio_calc.bpmn")
    failed = agent.start("ratio_calc", {"won": 3, "attempts": 0})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    [(kind, data)] = events(db)
    assert kind == "process_instance.incident"
    assert data["instance_id"] == failed["id"] and data["incident_id"] == incident["id"]
    assert data["element_id"] == incident["element_id"]
    assert data["message"] and data["attempts"] == 1


def test_without_subscriptions_the_engine_writes_no_deliveries(db, owner, agent):
    owner.deploy("ratio_calc.bpmn")
    agent.start("ratio_calc", {"won": 3, "attempts": 4})
    agent.start("ratio_calc", {"won": 3, "attempts": 0})
    assert events(db) == []


def test_steps_write_to_the_outbox_only_while_a_subscription_is_active(
    db, owner, agent, make_user, monkeypatch
):
    """The step's own read tells whether any active subscription exists; without one, no
    outbox statement is sent at all. One created or re-enabled between two steps counts at
    the next step."""
    from crm.webhooks import outbox
    from crm.webhooks.subscriptions import update_subscription

    sent: list[str] = []
    batched_write = outbox.batched_write

    def spy(session, event_type, data, *, occurred_at):
        sent.append(event_type)
        return batched_write(session, event_type, data, occurred_at=occurred_at)

    monkeypatch.setattr(outbox, "batched_write", spy)
    owner.deploy("lead_scoring.bpmn", "score-form.json")
    first = agent.start("lead_scoring")
    agent.complete_ok(first["ready_tasks"][0]["id"], {"score": 80, "channel": "phone"})
    assert sent == [] and events(db) == []

    admin = make_user("admin", username="root", team=None)
    with db() as session:
        subscription, _secret = create_subscription(
            session,
            {"url": "https://crm.example.com/hooks", "event_types": ["task.completed"]},
            actor=admin,
        )
    second = agent.start("lead_scoring")
    agent.complete_ok(second["ready_tasks"][0]["id"], {"score": 70, "channel": "phone"})
    assert sent == ["task.completed", "process_instance.completed"]
    assert [kind for kind, _data in events(db)] == ["task.completed"]  # what it asked for

    with db() as session:
        update_subscription(session, subscription.id, {"active": False}, actor=admin)
    third = agent.start("lead_scoring")
    agent.complete_ok(third["ready_tasks"][0]["id"], {"score": 60, "channel": "phone"})
    assert len(sent) == 2 and len(events(db)) == 1


def test_a_failure_its_own_step_ended_sends_no_incident(db, subscribed, owner, agent):
    """The script fails and a terminate end event in the other branch ends the process in the
    same step: the incident is closed at once, and only the end is announced."""
    owner.deploy("terminate_while_failing.bpmn")
    ended = agent.start("terminate_while_failing", {"won": 1, "calls": 0})
    assert (ended["status"], ended["incidents"]) == ("completed", [])
    [(kind, data)] = events(db)
    assert kind == "process_instance.completed" and data["instance_id"] == ended["id"]
