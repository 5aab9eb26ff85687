"""Erasing a customer ends the processes working on them: their open call task no longer
waits in an agent's inbox for a customer no one may call (its completion could only answer
``customer_not_found``), and no timer of theirs fires again."""

from __future__ import annotations

import json

from sqlalchemy import select

from engine.models import ProcessInstance, ReceivedMessage
from tests.processes.conftest import Team


def test_erasing_a_customer_terminates_their_cadence_and_leaves_others(team: Team) -> None:
    erased = team.lead(name="待删除客户", phone="13800002222", region="上海")
    kept = team.lead(name="保留客户", phone="13800003333", region="上海")
    task = team.one_task(erased["owner"], erased["customer_id"], "call")

    admin = team["admin"]
    response = admin.client.delete(
        f"/api/v1/customers/{erased['customer_id']}", headers=admin.headers
    )
    assert response.status_code == 200, response.get_json()

    team.no_task(erased["owner"], erased["customer_id"])
    completed = team[erased["owner"]].complete(task["id"], {"disposition": "no_answer"})
    assert completed.status_code in (404, 409), completed.get_json()
    instances = admin.get(
        f"/api/v1/process-instances?business_key={erased['customer_id']}"
    ).get_json()["items"]
    statuses = sorted(i["status"] for i in instances)
    assert "terminated" in statuses and set(statuses) <= {"completed", "terminated"}, statuses
    assert team.advance(days=3) == 0  # no retry timer of the erased customer's cadence
    team.one_task(kept["owner"], kept["customer_id"], "call")  # the other lead goes on

    again = admin.client.delete(f"/api/v1/customers/{erased['customer_id']}", headers=admin.headers)
    assert again.status_code == 200, again.get_json()  # erasing twice is still fine


FOLLOW_UP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d"
  targetNamespace="http://example.com/erasure">
<bpmn:process id="hand_follow_up" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="note"/>
<bpmn:scriptTask id="note"><bpmn:script>summary = 'Send the brochure to ' + email</bpmn:script>
</bpmn:scriptTask><bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="call"/>
<bpmn:userTask id="call"><bpmn:extensionElements><spiffworkflow:properties>
<spiffworkflow:property name="title" value="'Call ' + contact['phone']"/>
</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
<bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="e"/><bpmn:endEvent id="e"/>
</bpmn:process></bpmn:definitions>
"""


def test_erasure_scrubs_the_customers_data_from_all_their_instances(team: Team) -> None:
    """The lead's intake (finished) and call cadence (terminated) kept the customer's name in
    their data and the call task's title ("Call 待删除客户"), and a follow-up started by hand
    (another business key, the customer's id in its data) their phone and email, all
    readable through the API after the erasure. Now those values read ``[erased]``; the
    data's other values stay, and other customers' instances are untouched."""
    name, phone, national, email = (
        "待删除客户",
        "+8613800002222",
        "13800002222",
        "erase.me@example.com",
    )
    erased = team.lead(name=name, phone=national, email=email, region="上海", source="web")
    kept = team.lead(name="保留客户", phone="13800003333", region="上海")
    team.one_task(erased["owner"], erased["customer_id"], "call")
    owner, admin = team["owner"], team["admin"]
    deployed = owner.post("/api/v1/process-models", json={"bpmn": FOLLOW_UP})
    assert deployed.status_code == 201, deployed.get_json()
    by_hand = owner.start(
        "hand_follow_up",
        {"customer_id": erased["customer_id"], "email": email, "contact": {"phone": phone}},
        business_key="follow-up-1",
    )

    def stored(business_key: object) -> list[str]:
        texts = []
        found = admin.get(f"/api/v1/process-instances?business_key={business_key}")
        for instance in found.get_json()["items"]:
            texts.append(json.dumps(admin.instance(instance["id"]), ensure_ascii=False))
            elements = admin.get(f"/api/v1/process-instances/{instance['id']}/elements")
            assert elements.status_code == 200, elements.get_json()
            texts.append(json.dumps(elements.get_json(), ensure_ascii=False))
        return texts

    message = {"name": "callback_agreed", "business_key": str(erased["customer_id"])}
    sent = admin.post("/api/v1/messages", json={**message, "payload": {"phone": phone}})
    assert sent.status_code == 404, sent.get_json()  # nothing waits for it: recorded

    before = stored(erased["customer_id"]) + stored("follow-up-1")
    assert len(before) == 6 and all(any(p in t for t in before) for p in (name, phone, email))
    assert by_hand["ready_tasks"][0]["title"] == f"Call {phone}"

    response = admin.client.delete(
        f"/api/v1/customers/{erased['customer_id']}", headers=admin.headers
    )
    assert response.status_code == 200, response.get_json()

    after = stored(erased["customer_id"]) + stored("follow-up-1")
    assert len(after) == len(before)
    for text in after:
        assert not any(p in text for p in (name, phone, national, email)), text
    followed = admin.instance(by_hand["id"])
    assert followed["data"]["summary"] == "Send the brochure to [erased]"
    assert followed["data"]["contact"] == {"phone": "[erased]"}
    assert followed["ready_tasks"][0]["title"] == "Call [erased]"
    done = owner.complete(followed["ready_tasks"][0]["id"], {})  # the scrubbed state still runs
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "completed"
    assert any('"上海"' in text for text in after)  # not personal: kept
    assert any("保留客户" in text for text in stored(kept["customer_id"]))
    with team.db() as session:  # no door reads a received message back: its row
        payloads = session.scalars(
            select(ReceivedMessage.payload).where(
                ReceivedMessage.business_key == str(erased["customer_id"])
            )
        ).all()
    assert payloads == [{"phone": "[erased]"}]


def test_erasure_ends_and_scrubs_instances_keyed_customer_dash_id(team: Team) -> None:
    """``customer-<id>`` is the business key the customer's timeline reads first; erasing the
    customer left such an instance running, its call task in the owner's inbox with the
    customer's phone in its title. Now it is terminated and scrubbed like one keyed by the
    bare id; another customer's instance with the same data is untouched."""
    phone = "+8613800004444"
    erased = team.lead(name="赵六", phone="13800004444", region="上海")
    kept = team.lead(name="钱七", phone="13800005555", region="上海")
    owner, admin = team["owner"], team["admin"]
    deployed = owner.post("/api/v1/process-models", json={"bpmn": FOLLOW_UP})
    assert deployed.status_code == 201, deployed.get_json()
    started = {
        customer["customer_id"]: owner.start(
            "hand_follow_up",
            {"email": "x@example.com", "contact": {"phone": phone}},
            business_key=f"customer-{customer['customer_id']}",
        )
        for customer in (erased, kept)
    }
    key = f"customer-{erased['customer_id']}"
    message = {"name": "callback_agreed", "business_key": key, "payload": {"phone": phone}}
    assert admin.post("/api/v1/messages", json=message).status_code == 404  # recorded

    response = admin.client.delete(
        f"/api/v1/customers/{erased['customer_id']}", headers=admin.headers
    )
    assert response.status_code == 200, response.get_json()

    gone = admin.instance(started[erased["customer_id"]]["id"])
    assert gone["status"] == "terminated"
    assert phone not in json.dumps(gone, ensure_ascii=False)
    other = admin.instance(started[kept["customer_id"]]["id"])
    assert other["status"] != "terminated"
    assert other["data"]["contact"] == {"phone": phone}  # the same text, another customer
    with team.db() as session:  # no door reads a terminated instance's state back: its row
        payloads = session.scalars(
            select(ReceivedMessage.payload).where(ReceivedMessage.business_key == key)
        ).all()
        state = session.get(ProcessInstance, gone["id"]).state
    assert payloads == [{"phone": "[erased]"}]
    assert phone not in state and "[erased]" in state
