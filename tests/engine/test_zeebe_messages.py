"""A Camunda 8 (Zeebe) export whose messages subscribe by a correlation key and whose job
workers map their outputs deploys and runs as drawn.

Both were refused: ``<zeebe:subscription correlationKey="=lead.id"/>`` under each
``<bpmn:message>`` ("correlate by business key, or by a correlationProperty…") and a service
task's ``<zeebe:output>`` ("read the result in a script task after it"). Now a message sent
with ``"correlation": {"correlationKey": "L-2"}`` reaches the catch (receive task, boundary
event, intermediate catch) whose instance's key is ``L-2``, a message start event still starts
by name, and each output is set from the operator's result over the instance's data. What
is not what Dialflow runs stays refused on its element and line.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from engine import messages
from engine.models import EventWait
from tests.engine.conftest import by_element, notes_of, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

FOLDER = DiagramFolder("zeebe_messages")
QUOTE, LEAD = "quote_answer.bpmn", "lead_arrived.bpmn"
MESSAGES = "/api/v1/messages"
SUBSCRIBED = (
    "    <bpmn:extensionElements>\n"
    '      <zeebe:subscription correlationKey="=lead.id" />\n'
    "    </bpmn:extensionElements>\n"
)


def send(actor, name: str, key=None, **fields):
    body = {"name": name, **fields}
    if key is not None:
        body["correlation"] = {"correlationKey": key}
    return actor.post(MESSAGES, json=body)


def test_a_message_reaches_the_instance_its_correlation_key_names(owner, agent, make_customer, db):
    FOLDER.deploy(owner, QUOTE)
    customers = [make_customer(), make_customer()]
    first, second = (
        agent.start("zm_quote_answer", {"lead": {"id": f"L-{n}", "customer_id": c.id}})
        for n, c in enumerate(customers, start=1)
    )
    assert first["status"] == second["status"] == "waiting", first["incidents"]

    # the job's outputs: set from the operator's result over the instance's data, and only them
    data = first["data"]
    assert data["note_label"] == f"Note {data['quote_note']} for L-1"
    assert not {"note_id", "_zeebe_job_result"} & set(data), data

    missing = send(agent, "zm_quote_accepted", payload={"answer": "yes"})
    assert missing.status_code == 422, missing.get_json()
    assert "correlationKey" in missing.get_json()["error"]["message"]
    nobody = send(agent, "zm_quote_accepted", "L-3", payload={"answer": "yes"})
    assert nobody.status_code == 404, nobody.get_json()
    assert nobody.get_json()["error"]["code"] == "no_matching_instance"

    accepted = send(agent, "zm_quote_accepted", "L-2", payload={"answer": "yes"})
    assert accepted.status_code == 202, accepted.get_json()
    assert accepted.get_json()["delivered_to"] == [second["id"]]
    assert agent.instance(second["id"])["status"] == "completed"
    assert agent.instance(first["id"])["status"] == "waiting"

    # the boundary event on the receive task subscribes too
    withdrawn = send(agent, "zm_quote_withdrawn", "L-1")
    assert withdrawn.get_json()["delivered_to"] == [first["id"]]
    assert agent.instance(first["id"])["status"] == "completed"
    assert notes_of(db, customers[0].id) == ["Quote sent to L-1", "Withdrawn"]
    assert notes_of(db, customers[1].id) == ["Quote sent to L-2", "Accepted: yes"]


def test_a_message_start_goes_by_name_and_a_number_key_matches_its_text(owner, agent):
    FOLDER.deploy(owner, LEAD)
    started = send(agent, "zm_lead_arrived", payload={"lead": {"id": 9}})
    assert started.status_code == 202, started.get_json()
    (instance_id,) = started.get_json()["delivered_to"]
    assert agent.instance(instance_id)["status"] == "waiting"
    assert send(agent, "zm_lead_called", "8").status_code == 404
    called = send(agent, "zm_lead_called", "9")
    assert called.get_json()["delivered_to"] == [instance_id]
    assert agent.instance(instance_id)["status"] == "completed"

    # a key the data does not hold: an incident on the catch, not a wait for good
    started = send(agent, "zm_lead_arrived", payload={"lead": {"name": "Ada"}})
    (keyless,) = started.get_json()["delivered_to"]
    stuck = agent.instance(keyless)
    assert stuck["status"] == "error", stuck
    (incident,) = stuck["incidents"]
    assert incident["element_id"] == "Event_called", incident
    assert "correlation key of message 'zm_lead_called'" in incident["message"], incident


ACCEPTED = (
    '<bpmn:message id="Message_accepted" name="zm_quote_accepted">\n'
    "    <bpmn:extensionElements>\n      "
)
SUBSCRIPTION = ACCEPTED + '<zeebe:subscription correlationKey="=lead.id" />'
OUTPUT = '<zeebe:output source="=note_id" target="quote_note" />'
MISTAKES = {
    # (change, element, where its line is, words)
    "key-with-no-python": (
        (SUBSCRIPTION, ACCEPTED + '<zeebe:subscription correlationKey="=before(lead.id)" />'),
        "Message_accepted",
        '<zeebe:subscription correlationKey="=before',
        ["<zeebe:subscription>", "has no Python Dialflow evaluates", "before()", "business_key"],
    ),
    "no-key": (
        (SUBSCRIPTION, ACCEPTED + "<zeebe:subscription />"),
        "Message_accepted",
        "<zeebe:subscription />",
        ["<zeebe:subscription>", 'name the key the message is matched by: correlationKey="'],
    ),
    "output-source-with-no-python": (
        (OUTPUT, '<zeebe:output source="=list replace(note_id)" target="quote_note" />'),
        "Activity_note",
        "<zeebe:ioMapping>",
        ["<zeebe:ioMapping>", "its source '=list replace(note_id)' has no Python", "replace()"],
    ),
    "output-without-target": (
        (OUTPUT, '<zeebe:output source="=note_id" />'),
        "Activity_note",
        "<zeebe:ioMapping>",
        ["<zeebe:ioMapping>", "has no target: name the variable"],
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_what_is_not_what_dialflow_runs_is_refused_on_its_element_and_line(owner, db, mistake):
    change, element, where, words = MISTAKES[mistake]
    text = FOLDER.edited(QUOTE, change)
    details = refused(upload(owner, (QUOTE, text)))
    assert set(by_element(details)) == {element}, details
    (detail,) = details
    for word in words:
        assert word in detail["message"], (word, detail["message"])
    assert detail["line"] == line_in(where, text), detail
    nothing_deployed(db)


def test_an_event_subprocess_and_an_event_based_gateway_subscribe(owner, agent, make_customer, db):
    FOLDER.deploy(owner, "reply_or_silence.bpmn")
    customers = [make_customer(), make_customer()]
    first, second = (
        agent.start("zm_reply_or_silence", {"lead": {"id": f"L-{n}", "customer_id": c.id}})
        for n, c in enumerate(customers, start=1)
    )
    updated = send(agent, "zm_lead_updated", "L-1", payload={"change": "new phone"})

    assert updated.get_json()["delivered_to"] == [first["id"]]
    assert notes_of(db, customers[0].id) == ["Updated: new phone"]
    assert notes_of(db, customers[1].id) == []
    reply = send(agent, "zm_reply", "L-2")
    assert reply.get_json().get("delivered_to") == [second["id"]], (
        reply.get_json(),
        agent.instance(second["id"]),
    )
    assert agent.instance(second["id"])["status"] == "completed"
    assert agent.instance(first["id"])["status"] == "waiting"


def test_an_output_that_cannot_be_read_is_an_incident_retried_without_the_operator_again(
    owner, agent, make_customer, db
):
    source = "=note_id + 10 ** extra"  # too large to compute; a missing extra would be null
    text = FOLDER.edited(QUOTE, (OUTPUT, OUTPUT.replace("=note_id", source)))
    assert upload(owner, (QUOTE, text)).status_code == 201
    customer = make_customer()
    lead = {"id": "L-1", "customer_id": customer.id}
    started = agent.start("zm_quote_answer", {"lead": lead, "extra": 10**7})
    (incident,) = started["incidents"]
    assert incident["element_id"] == "Activity_note", incident
    assert f"the output 'quote_note' ({source}) cannot be read" in incident["message"]
    url = f"/api/v1/process-instances/{started['id']}/retry"
    retried = owner.post(url, json={"data": {"extra": 0}})
    assert retried.status_code == 200, retried.get_json()
    data = retried.get_json()["data"]
    assert data["quote_note"] == int(data["note_label"].split()[1]) + 1, data
    assert notes_of(db, customer.id) == ["Quote sent to L-1"]  # the note was written once


def test_an_instance_migrated_onto_a_subscribing_version_is_matched_by_its_key(
    owner, agent, make_customer, db
):
    plain = FOLDER.read(LEAD).replace(SUBSCRIBED.encode(), b"")  # the messages by name only
    deployed = upload(owner, (LEAD, plain))
    assert deployed.status_code == 201, deployed.get_json()
    started = send(agent, "zm_lead_arrived", payload={"lead": {"id": "L-5"}})
    (instance_id,) = started.get_json()["delivered_to"]
    FOLDER.deploy(owner, LEAD)
    url = f"/api/v1/process-instances/{instance_id}/migrate"
    assert owner.post(url, json={"to_version": 2}).status_code == 200
    assert send(agent, "zm_lead_called", "L-6").status_code == 404
    assert send(agent, "zm_lead_called", "L-5").get_json()["delivered_to"] == [instance_id]


def test_a_keyed_message_reaches_its_instance_among_more_waiting_than_are_offered(
    owner, agent, monkeypatch, db
):
    """Only so many waiting instances are loaded for one message (``MAX_CANDIDATES``); a
    message with a key is offered first to the instances waiting for that key, then to those
    whose key is not known, so the one it names is never left out (it was answered 404 when
    more instances waited than were loaded)."""
    monkeypatch.setattr(messages, "MAX_CANDIDATES", 3)
    plain = FOLDER.read(LEAD).replace(SUBSCRIBED.encode(), b"")  # the messages by name only
    assert upload(owner, (LEAD, plain)).status_code == 201

    def arrived(key):
        started = send(agent, "zm_lead_arrived", payload={"lead": {"id": key}})
        (instance_id,) = started.get_json()["delivered_to"]
        return instance_id

    by_name = arrived("any")  # waits for any message of the name: its key is not known
    FOLDER.deploy(owner, LEAD)
    keyed = {n: arrived(n) for n in range(1, 6)}  # five instances wait, each for its own key

    called = send(agent, "zm_lead_called", "5")  # a number key matches its text
    assert called.status_code == 202, called.get_json()
    assert called.get_json()["delivered_to"] == [by_name, keyed[5]]
    assert agent.instance(keyed[5])["status"] == "completed"
    waiting = agent.instance(keyed[4])
    assert waiting["status"] == "waiting"
    assert waiting["waiting"] == [
        {"kind": "message", "name": "zm_lead_called", "correlation": {"correlationKey": "4"}}
    ]
    assert send(agent, "zm_lead_called", 4).get_json()["delivered_to"] == [keyed[4]]
    assert send(agent, "zm_lead_called", 6).status_code == 404

    # a wait stored before keys were (no key: offered every message of the name) still takes it
    with db() as session:
        session.execute(
            update(EventWait)
            .where(EventWait.instance_id == keyed[2])
            .values(correlation_property=None, correlation_key=None)
        )
    assert send(agent, "zm_lead_called", 2).get_json()["delivered_to"] == [keyed[2]]
