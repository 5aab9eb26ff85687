"""A message start event: every message of that name starts a new instance."""

from __future__ import annotations


def test_a_message_starts_an_instance_with_its_payload(owner, agent):
    owner.deploy("lead_arrives.bpmn")
    body = {
        "name": "new_lead",
        "business_key": "lead-42",
        "message_id": "web-form-42",
        "payload": {"name": "王磊", "source": "网络推广"},
    }

    first = owner.post("/api/v1/messages", json=body)
    again = owner.post("/api/v1/messages", json=body)  # the form was submitted twice

    assert first.status_code == 202, first.get_json()
    [instance_id] = first.get_json()["delivered_to"]
    assert again.get_json() == {"delivered_to": [instance_id], "duplicate": True}
    instance = owner.instance(instance_id)
    assert instance["business_key"] == "lead-42"
    assert instance["data"]["name"] == "王磊"
    assert [t["name"] for t in instance["ready_tasks"]] == ["first_call"]
    assert [t["process_instance_id"] for t in agent.tasks()] == [instance_id]


def test_each_new_message_starts_its_own_instance(owner):
    owner.deploy("lead_arrives.bpmn")
    ids = [
        owner.post("/api/v1/messages", json={"name": "new_lead", "payload": {"n": n}}).get_json()[
            "delivered_to"
        ][0]
        for n in range(3)
    ]
    assert len(set(ids)) == 3
    listed = owner.get("/api/v1/process-instances?process_id=lead_arrives").get_json()
    assert listed["total"] == 3


def test_the_starting_process_is_listed_with_its_start_message(owner, db):
    from sqlalchemy import select

    from engine.models import ProcessVersion

    owner.deploy("lead_arrives.bpmn")
    with db() as session:
        version = session.scalar(select(ProcessVersion))
    assert version.start_messages == ["new_lead"]
