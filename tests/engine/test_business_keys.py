"""The same visible business key is one key: ``é`` sent as one code point or as ``e`` and a
combining accent starts, finds and takes messages as the same key (Unicode NFC at every
entry), while width and case still tell keys apart."""

from __future__ import annotations

import unicodedata

from alembic import command
from sqlalchemy import text

from dialflow import schema
from tests.engine.test_diagram_forms import CAMUNDA

URL = "/api/v1/messages"
COMPOSED = "Caf\u00e9-7"  # é as one code point
DECOMPOSED = "Cafe\u0301-7"  # e and a combining acute accent


def test_a_key_sent_composed_or_decomposed_is_one_key(owner, agent):
    owner.deploy("waits.bpmn", CAMUNDA)
    started = agent.start("await_payment", business_key=DECOMPOSED)
    assert started["business_key"] == COMPOSED

    found = agent.get("/api/v1/process-instances", query_string={"business_key": COMPOSED})
    assert [i["id"] for i in found.get_json()["items"]] == [started["id"]]

    task = agent.start("c7_followup", business_key=COMPOSED)["ready_tasks"][0]
    listed = agent.get("/api/v1/tasks", query_string={"mine": 1, "business_key": DECOMPOSED})
    assert [t["id"] for t in listed.get_json()["items"]] == [task["id"]]

    sent = agent.post(URL, json={"name": "payment_received", "business_key": COMPOSED})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]

    # width and case are not folded: Ａ１, a1 and A1 are three keys
    full_width = agent.start("await_payment", business_key="\uff21\uff11")
    lower = agent.start("await_payment", business_key="a1")
    plain = agent.start("await_payment", business_key="A1")
    assert (full_width["business_key"], lower["business_key"]) == ("\uff21\uff11", "a1")
    sent = agent.post(URL, json={"name": "payment_received", "business_key": "A1"})
    assert sent.get_json()["delivered_to"] == [plain["id"]]


def test_a_key_stored_decomposed_before_the_upgrade_takes_its_message(owner, agent, runtime):
    """An instance started before keys were normalized kept its key as sent: the upgrade
    (``dialflow db upgrade``) stores it in NFC, so a message sent either way reaches it."""
    owner.deploy("waits.bpmn")
    started = agent.start("await_payment", business_key=COMPOSED)
    engine = runtime.db.engine
    with engine.begin() as connection:  # as an older Dialflow stored it
        for table in ("process_instances", "event_waits"):
            connection.execute(
                text(f"UPDATE {table} SET business_key = :key WHERE instance_id = :id")
                if table == "event_waits"
                else text(f"UPDATE {table} SET business_key = :key WHERE id = :id"),
                {"key": DECOMPOSED, "id": started["id"]},
            )
    config = schema.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    schema.upgrade(engine, schema=runtime.settings.database_schema)
    assert schema.current_revision(engine) == schema.head_revision()

    assert agent.instance(started["id"])["business_key"] == COMPOSED
    assert unicodedata.is_normalized("NFD", DECOMPOSED)
    sent = agent.post(URL, json={"name": "payment_received", "business_key": DECOMPOSED})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
