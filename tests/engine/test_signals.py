"""Signals broadcast between instances: ``POST /api/v1/signals`` and signals thrown by an
instance (written as an outbox row in its step, delivered by the background pass)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crm.models import AuditEntry
from engine import signals
from engine.models import (
    EventWait,
    Incident,
    ProcessInstance,
    ProcessVersion,
    SignalBroadcast,
    SignalDelivery,
)

URL = "/api/v1/signals"
HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="d" targetNamespace="http://dialflow.example/signals">'
)
SIGNALS = (
    '<bpmn:signal id="sig_paused" name="campaign_paused"/>'
    '<bpmn:signal id="sig_prices" name="price_list_changed"/>'
    '<bpmn:signal id="sig_recall" name="product_recalled"/>'
)


def diagram(pid: str, body: str, before: str = SIGNALS) -> str:
    return (
        f'{HEAD}{before}<bpmn:process id="{pid}" isExecutable="true">{body}'
        "</bpmn:process></bpmn:definitions>"
    )


def catch(ref: str) -> str:
    return f'<bpmn:signalEventDefinition signalRef="{ref}"/>'


def flow(fid: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'


START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'

# Waits at an intermediate catch event, then a person looks at what it carried.
WAIT_PAUSE = diagram(
    "wait_pause",
    START + f'<bpmn:intermediateCatchEvent id="paused">{catch("sig_paused")}'
    "</bpmn:intermediateCatchEvent>"
    '<bpmn:userTask id="after_pause"/>'
    + END
    + flow("f1", "start", "paused")
    + flow("f2", "paused", "after_pause")
    + flow("f3", "after_pause", "end"),
)
# A call that an interrupting boundary event stops when the campaign is paused.
CALL_WITH_PAUSE = diagram(
    "call_with_pause",
    START + '<bpmn:userTask id="call"/>'
    f'<bpmn:boundaryEvent id="on_pause" attachedToRef="call">{catch("sig_paused")}'
    "</bpmn:boundaryEvent>"
    '<bpmn:userTask id="paused_review"/><bpmn:endEvent id="end2"/>'
    + END
    + flow("f1", "start", "call")
    + flow("f2", "call", "end")
    + flow("f3", "on_pause", "paused_review")
    + flow("f4", "paused_review", "end2"),
)
# An event-based gateway: paused, or an hour later nothing.
GATEWAY_WAIT = diagram(
    "gateway_wait",
    START + '<bpmn:eventBasedGateway id="gw"/>'
    f'<bpmn:intermediateCatchEvent id="gw_paused">{catch("sig_paused")}'
    "</bpmn:intermediateCatchEvent>"
    '<bpmn:intermediateCatchEvent id="gw_hour"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>'PT1H'</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:intermediateCatchEvent>"
    '<bpmn:userTask id="paused_by_gateway"/><bpmn:endEvent id="end2"/>'
    + END
    + flow("f1", "start", "gw")
    + flow("f2", "gw", "gw_paused")
    + flow("f3", "gw", "gw_hour")
    + flow("f4", "gw_paused", "paused_by_gateway")
    + flow("f5", "paused_by_gateway", "end")
    + flow("f6", "gw_hour", "end2"),
)
# A call that goes on while each price change opens a repricing task beside it.
CALL_WITH_PRICES = diagram(
    "call_with_prices",
    START + '<bpmn:userTask id="call"/>'
    '<bpmn:boundaryEvent id="on_prices" attachedToRef="call" cancelActivity="false">'
    f"{catch('sig_prices')}</bpmn:boundaryEvent>"
    '<bpmn:userTask id="reprice"/><bpmn:endEvent id="end2"/>'
    + END
    + flow("f1", "start", "call")
    + flow("f2", "call", "end")
    + flow("f3", "on_prices", "reprice")
    + flow("f4", "reprice", "end2"),
)
# After-sale work that an interrupting event subprocess takes over on a product recall.
AFTER_SALE_RECALL = diagram(
    "after_sale_recall",
    START
    + '<bpmn:userTask id="follow_up"/>'
    + END
    + flow("f1", "start", "follow_up")
    + flow("f2", "follow_up", "end")
    + '<bpmn:subProcess id="recall_handler" triggeredByEvent="true">'
    f'<bpmn:startEvent id="recall_start" isInterrupting="true">{catch("sig_recall")}'
    '</bpmn:startEvent><bpmn:userTask id="recall_customer"/><bpmn:endEvent id="recall_end"/>'
    + flow("r1", "recall_start", "recall_customer")
    + flow("r2", "recall_customer", "recall_end")
    + "</bpmn:subProcess>",
)


def recall_campaign(task: str = "call_owners") -> str:
    """A process a product recall starts (its signal start event)."""
    return diagram(
        "recall_campaign",
        f'<bpmn:startEvent id="start">{catch("sig_recall")}</bpmn:startEvent>'
        f'<bpmn:userTask id="{task}"/>' + END + flow("f1", "start", task) + flow("f2", task, "end"),
    )


# Throws "campaign_paused" (carrying its reason) once a manager decides; meanwhile its own
# watch task has a non-interrupting boundary event on that very signal.
THROWER = diagram(
    "pause_campaign",
    START + '<bpmn:parallelGateway id="split"/>'
    '<bpmn:userTask id="watch"/><bpmn:endEvent id="end_watch"/>'
    '<bpmn:boundaryEvent id="on_own_pause" attachedToRef="watch" cancelActivity="false">'
    f"{catch('sig_paused')}</bpmn:boundaryEvent>"
    '<bpmn:userTask id="noted"/><bpmn:endEvent id="end_noted"/>'
    '<bpmn:userTask id="decide"/>'
    f'<bpmn:intermediateThrowEvent id="announce">{catch("sig_paused")}'
    "</bpmn:intermediateThrowEvent>"
    + END
    + flow("f1", "start", "split")
    + flow("f2", "split", "watch")
    + flow("f3", "watch", "end_watch")
    + flow("f4", "on_own_pause", "noted")
    + flow("f5", "noted", "end_noted")
    + flow("f6", "split", "decide")
    + flow("f7", "decide", "announce")
    + flow("f8", "announce", "end"),
    before=(
        '<bpmn:signal id="sig_paused" name="campaign_paused"><bpmn:extensionElements>'
        '<spiffworkflow:payloadExpression>{"reason": reason}</spiffworkflow:payloadExpression>'
        "</bpmn:extensionElements></bpmn:signal>"
    ),
)


def deploy(owner: Any, *xmls: str) -> None:
    for index, xml in enumerate(xmls):
        response = owner.post("/api/v1/process-models", json={"bpmn": {f"m{index}.bpmn": xml}})
        assert response.status_code in (200, 201), response.get_json()


def ready(owner: Any, instance_id: int) -> list[str]:
    return sorted(t["name"] for t in owner.instance(instance_id)["ready_tasks"])


def steps(db: Any, instance_id: int) -> int:
    with db() as session:
        return session.get(ProcessInstance, instance_id).step_count


def send(owner: Any, name: str, **body: Any) -> Any:
    return owner.post(URL, json={"name": name, **body})


def test_a_signal_reaches_every_waiting_instance_of_every_process(owner, db):
    deploy(owner, WAIT_PAUSE, CALL_WITH_PAUSE, GATEWAY_WAIT, CALL_WITH_PRICES)
    waiting = [owner.start("wait_pause")["id"] for _ in range(2)]
    calls = [owner.start("call_with_pause")["id"] for _ in range(2)]
    gateway = owner.start("gateway_wait")["id"]
    other = owner.start("call_with_prices")["id"]
    with db() as session:
        waits = set(
            session.execute(select(EventWait.instance_id, EventWait.kind, EventWait.name)).all()
        )
    for instance_id in [*waiting, *calls, gateway]:
        assert (instance_id, "signal", "campaign_paused") in waits
    assert (gateway, "timer", None) in {(i, k, None) for i, k, _ in waits}

    response = send(owner, "campaign_paused", payload={"reason": "budget", "until": "Monday"})

    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["delivered_to"] == sorted([*waiting, *calls, gateway])
    assert answer["started"] == [] and answer["duplicate"] is False
    assert isinstance(answer["signal_id"], str) and answer["signal_id"]
    for instance_id in waiting:
        assert ready(owner, instance_id) == ["after_pause"]
        assert owner.instance(instance_id)["data"]["reason"] == "budget"
    for instance_id in calls:  # interrupting: the call is cancelled
        assert ready(owner, instance_id) == ["paused_review"]
        assert owner.instance(instance_id)["data"]["until"] == "Monday"
    assert ready(owner, gateway) == ["paused_by_gateway"]
    assert owner.instance(gateway)["waiting"] == []  # the gateway's timer is gone
    assert ready(owner, other) == ["call"]  # waits for another signal
    with db() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "broadcast"))
        assert entry is not None and entry.entity_type == "signal"
        assert entry.after["name"] == "campaign_paused"
        assert session.scalar(select(SignalBroadcast.status)) == "delivered"


def test_non_interrupting_boundaries_and_event_subprocesses_catch_broadcasts(owner, db):
    deploy(owner, CALL_WITH_PRICES, AFTER_SALE_RECALL)
    call = owner.start("call_with_prices")["id"]
    after_sale = owner.start("after_sale_recall")["id"]
    with db() as session:
        names = set(session.scalars(select(EventWait.name).where(EventWait.kind == "signal")))
    assert names == {"price_list_changed", "product_recalled"}

    for n in (1, 2):
        response = send(owner, "price_list_changed", payload={"list": n})
        assert response.status_code == 202
        assert response.get_json()["delivered_to"] == [call]
    tasks = owner.instance(call)["ready_tasks"]
    assert sorted(t["name"] for t in tasks) == ["call", "reprice", "reprice"]

    response = send(owner, "product_recalled", payload={"batch": "B-17"})
    assert response.get_json()["delivered_to"] == [after_sale]
    assert ready(owner, after_sale) == ["recall_customer"]  # follow_up interrupted
    assert owner.instance(after_sale)["data"]["batch"] == "B-17"


def test_a_signal_starts_the_latest_version_of_each_process_with_its_start(owner, db):
    deploy(owner, recall_campaign("call_owners"), recall_campaign("call_owners_now"))
    deploy(owner, AFTER_SALE_RECALL)
    waiting = owner.start("after_sale_recall")["id"]
    with db() as session:
        versions = {
            v.version: v.start_signals
            for v in session.scalars(
                select(ProcessVersion).where(ProcessVersion.process_id == "recall_campaign")
            )
        }
    assert versions == {1: ["product_recalled"], 2: ["product_recalled"]}

    response = send(owner, "product_recalled", payload={"batch": "B-9"})

    answer = response.get_json()
    assert response.status_code == 202
    assert answer["delivered_to"] == [waiting]
    [started] = answer["started"]
    instance = owner.instance(started)
    assert (instance["process_id"], instance["version"]) == ("recall_campaign", 2)
    assert [t["name"] for t in instance["ready_tasks"]] == ["call_owners_now"]
    assert instance["data"]["batch"] == "B-9"


def test_a_repeated_signal_id_answers_the_first_broadcast_and_delivers_nothing(owner, db):
    deploy(owner, CALL_WITH_PRICES, recall_campaign())
    call = owner.start("call_with_prices")["id"]
    body = {"signal_id": "erp-7", "payload": {"list": 7}}
    first = send(owner, "price_list_changed", **body)
    assert first.status_code == 202
    assert first.get_json() == {
        "signal_id": "erp-7",
        "delivered_to": [call],
        "started": [],
        "duplicate": False,
    }
    before = steps(db, call)

    again = send(owner, "price_list_changed", **body)
    other_name = send(owner, "product_recalled", signal_id="erp-7")  # the id decides

    for repeat in (again, other_name):
        assert repeat.status_code == 200
        assert repeat.get_json() == {**first.get_json(), "duplicate": True}
    assert steps(db, call) == before
    assert ready(owner, call) == ["call", "reprice"]
    listed = owner.get("/api/v1/process-instances?process_id=recall_campaign").get_json()
    assert listed["total"] == 0

    started = send(owner, "product_recalled", signal_id="erp-8").get_json()["started"]
    assert send(owner, "product_recalled", signal_id="erp-8").get_json()["started"] == started
    listed = owner.get("/api/v1/process-instances?process_id=recall_campaign").get_json()
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["name"]),
        ({"name": "  "}, ["name"]),
        ({"name": 5, "payload": [1]}, ["name", "payload"]),
        ({"name": "x" * 201}, ["name"]),
        ({"name": "ok", "signal_id": 7}, ["signal_id"]),
        ({"name": "ok", "signal_id": "x" * 201, "payload": "text"}, ["payload", "signal_id"]),
        ({"name": "ok", "business_key": "k"}, ["business_key"]),
    ],
)
def test_a_bad_signal_is_refused_field_by_field(owner, db, body, fields):
    response = owner.post(URL, json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert sorted(d["field"] for d in error["details"]) == sorted(fields)
    with db() as session:
        assert session.scalar(select(SignalBroadcast.id)) is None


def test_a_signal_needs_a_bearer_token_and_a_json_object(client, owner):
    assert client.post(URL, json={"name": "campaign_paused"}).status_code == 401
    assert owner.post(URL, json=["campaign_paused"]).status_code == 422


def test_a_thrown_signal_reaches_other_instances_through_the_outbox_once(timed):
    owner = timed.owner
    deploy(owner, THROWER, WAIT_PAUSE, recall_campaign())
    other = owner.start("wait_pause")["id"]
    thrower = owner.start("pause_campaign", {"reason": "budget cut"})["id"]
    decide = next(t for t in owner.instance(thrower)["ready_tasks"] if t["name"] == "decide")

    owner.complete_ok(decide["id"])

    # Its own boundary event caught it in the throwing step; the others wait for the pass.
    assert ready(owner, thrower) == ["noted", "watch"]
    assert ready(owner, other) == []
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        row = session.scalar(select(SignalBroadcast))
        assert (row.name, row.status, row.source_instance_id) == (
            "campaign_paused",
            "pending",
            thrower,
        )
        assert row.payload == {"reason": "budget cut"}

    assert timed.advance(seconds=1) >= 1

    assert ready(owner, other) == ["after_pause"]
    assert owner.instance(other)["data"]["reason"] == "budget cut"
    assert ready(owner, thrower) == ["noted", "watch"]  # not a second time
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        assert session.scalar(select(SignalBroadcast.status)) == "delivered"
        reached = session.execute(select(SignalDelivery.instance_id)).scalars().all()
        assert reached == [other]
    assert timed.advance(seconds=1) == 0  # delivered once


def test_a_broadcast_whose_runner_died_is_taken_up_again_without_repeats(timed):
    """A runner reached one instance, then died: its claim runs out, the next pass goes on,
    and the instance it reached is not stepped again."""
    owner = timed.owner
    deploy(owner, CALL_WITH_PRICES)
    first, second = (owner.start("call_with_prices")["id"] for _ in range(2))
    database = timed.runtime.db
    with database.unit_of_work() as session:
        row = SignalBroadcast(
            name="price_list_changed",
            payload={"list": 3},
            status="pending",
            offered_up_to=0,
            claimed_until=timed.clock.now() + signals.LEASE,
            created_at=timed.clock.now(),
        )
        session.add(row)
        session.flush()
        broadcast_id = row.id
    assert signals._deliver_once(
        timed.runtime.engine, database, broadcast_id, first, "price_list_changed", {}, None
    )
    steps_before = {i: steps(database.unit_of_work, i) for i in (first, second)}

    assert timed.advance(seconds=5) == 0  # still claimed by the dead runner
    assert ready(owner, second) == ["call"]
    timed.advance(signals.LEASE)

    assert ready(owner, first) == ["call", "reprice"]  # once, as before
    assert ready(owner, second) == ["call", "reprice"]
    assert steps(database.unit_of_work, first) == steps_before[first]
    assert steps(database.unit_of_work, second) == steps_before[second] + 1
    with database.unit_of_work(read_only=True) as session:
        assert session.get(SignalBroadcast, broadcast_id).status == "delivered"


def test_an_instance_that_stopped_waiting_after_the_listing_is_passed_by(owner, db, monkeypatch):
    deploy(owner, WAIT_PAUSE, CALL_WITH_PRICES)
    waiting = owner.start("wait_pause")["id"]
    gone = owner.start("wait_pause")["id"]
    busy = owner.start("call_with_prices")["id"]  # never waited for this signal
    assert owner.post(f"/api/v1/process-instances/{gone}/terminate").status_code == 200
    listed = signals._waiting

    def stale(session, name, source, after):  # as listed before the others changed
        return sorted({*listed(session, name, source, after), gone, busy}) if not after else []

    monkeypatch.setattr(signals, "_waiting", stale)
    before = steps(db, busy)

    response = send(owner, "campaign_paused")

    assert response.status_code == 202, response.get_json()
    assert response.get_json()["delivered_to"] == [waiting]
    assert steps(db, busy) == before
    assert owner.instance(gone)["status"] == "terminated"
    with db() as session:
        assert session.scalar(select(Incident.id)) is None


def test_a_signal_nothing_throws_in_its_instance_deploys_and_one_naming_none_does_not(owner):
    deploy(owner, WAIT_PAUSE, recall_campaign(), AFTER_SALE_RECALL)
    nameless = diagram(
        "nameless",
        START + '<bpmn:intermediateCatchEvent id="wait"><bpmn:signalEventDefinition/>'
        "</bpmn:intermediateCatchEvent>"
        + END
        + flow("f1", "start", "wait")
        + flow("f2", "wait", "end"),
    )
    response = owner.post("/api/v1/process-models", json={"bpmn": {"n.bpmn": nameless}})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert any(d["element_id"] == "wait" and "signalRef" in d["message"] for d in details)
    unnamed_throw = diagram(
        "unnamed_throw",
        START + '<bpmn:intermediateThrowEvent id="tell"><bpmn:signalEventDefinition/>'
        '</bpmn:intermediateThrowEvent><bpmn:endEvent id="end"><bpmn:signalEventDefinition/>'
        "</bpmn:endEvent>" + flow("f1", "start", "tell") + flow("f2", "tell", "end"),
    )
    response = owner.post("/api/v1/process-models", json={"bpmn": {"t.bpmn": unnamed_throw}})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    for element in ("tell", "end"):
        assert any(
            d["element_id"] == element and "throws a signal it does not name" in d["message"]
            for d in details
        ), details
    unknown = diagram(
        "unknown_ref",
        START + '<bpmn:intermediateCatchEvent id="wait">'
        '<bpmn:signalEventDefinition signalRef="sig_nowhere"/>'
        "</bpmn:intermediateCatchEvent>"
        + END
        + flow("f1", "start", "wait")
        + flow("f2", "wait", "end"),
    )
    response = owner.post("/api/v1/process-models", json={"bpmn": {"u.bpmn": unknown}})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert any(d["element_id"] == "wait" for d in details), details


def test_the_signal_endpoint_is_documented(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/signals"]["post"]
    assert {"202", "200", "401", "422"} <= set(operation["responses"])


def test_claims_take_only_broadcasts_nobody_runs(timed):
    database, now = timed.runtime.db, timed.clock.now()
    with database.unit_of_work() as session:
        for claimed in (None, now + timedelta(seconds=30), now - timedelta(seconds=1)):
            session.add(
                SignalBroadcast(
                    name="n",
                    status="pending",
                    offered_up_to=0,
                    claimed_until=claimed,
                    created_at=now,
                )
            )
        session.add(SignalBroadcast(name="n", status="delivered", offered_up_to=0, created_at=now))
    with database.unit_of_work() as session:
        ids = signals.claim_pending(session, now)
    with database.unit_of_work(read_only=True) as session:
        rows = session.scalars(select(SignalBroadcast).order_by(SignalBroadcast.id)).all()
        assert ids == [rows[0].id, rows[2].id]


# Announces a recall at its end event (no payload expression: its data is not sent).
ANNOUNCER = diagram(
    "recall_announcer",
    START + '<bpmn:scriptTask id="prepare"><bpmn:script>batch = "B-3"</bpmn:script>'
    f'</bpmn:scriptTask><bpmn:endEvent id="end">{catch("sig_recall")}</bpmn:endEvent>'
    + flow("f1", "start", "prepare")
    + flow("f2", "prepare", "end"),
)
# Keeps what a price change carried in one variable (spiffworkflow:variableName).
PRICE_VARIABLE = diagram(
    "price_variable",
    START + f'<bpmn:intermediateCatchEvent id="hear">{catch("sig_prices")}'
    '</bpmn:intermediateCatchEvent><bpmn:userTask id="look"/>'
    + END
    + flow("f1", "start", "hear")
    + flow("f2", "hear", "look")
    + flow("f3", "look", "end"),
    before=(
        '<bpmn:signal id="sig_prices" name="price_list_changed"><bpmn:extensionElements>'
        "<spiffworkflow:variableName>price_change</spiffworkflow:variableName>"
        "</bpmn:extensionElements></bpmn:signal>"
    ),
)


def test_an_end_event_signal_of_a_new_instance_reaches_others_and_starts_processes(timed):
    owner = timed.owner
    deploy(owner, ANNOUNCER, AFTER_SALE_RECALL, recall_campaign())
    waiting = owner.start("after_sale_recall")["id"]

    announcer = owner.start("recall_announcer")
    assert announcer["status"] == "completed"
    assert ready(owner, waiting) == ["follow_up"]
    timed.advance(seconds=1)

    assert ready(owner, waiting) == ["recall_customer"]
    listed = owner.get("/api/v1/process-instances?process_id=recall_campaign").get_json()
    assert listed["total"] == 1
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        row = session.scalar(select(SignalBroadcast))
        assert (row.source_instance_id, row.status, row.payload) == (
            announcer["id"],
            "delivered",
            None,
        )
        started = session.scalar(
            select(SignalDelivery.instance_id).where(SignalDelivery.process_id.is_not(None))
        )
    assert started == listed["items"][0]["id"]
    # The recall's task is in no lane: it goes to whoever started the announcer.
    assert started in {t["process_instance_id"] for t in owner.tasks("mine=1")}


def test_a_catch_with_a_variable_name_keeps_the_payload_in_it(owner):
    deploy(owner, PRICE_VARIABLE)
    instance = owner.start("price_variable")["id"]
    response = send(owner, "price_list_changed", payload={"list": 12, "from": "2026-12-07"})
    assert response.get_json()["delivered_to"] == [instance]
    data = owner.instance(instance)["data"]
    assert data["price_change"] == {"list": 12, "from": "2026-12-07"}
    assert "list" not in data


def test_a_signal_end_event_reaches_its_own_instance_in_the_same_step(owner):
    """SpiffWorkflow 3.2 read no signal on an end event: its path ended as a plain one."""
    xml = diagram(
        "own_end_signal",
        START + '<bpmn:parallelGateway id="split"/>'
        f'<bpmn:intermediateCatchEvent id="hear">{catch("sig_paused")}'
        '</bpmn:intermediateCatchEvent><bpmn:userTask id="own_caught"/>'
        '<bpmn:subProcess id="sub"><bpmn:startEvent id="sub_start"/>'
        f'<bpmn:endEvent id="sub_end">{catch("sig_paused")}</bpmn:endEvent>'
        + flow("s1", "sub_start", "sub_end")
        + '</bpmn:subProcess><bpmn:endEvent id="end_sub"/>'
        + END
        + flow("f1", "start", "split")
        + flow("f2", "split", "hear")
        + flow("f3", "hear", "own_caught")
        + flow("f4", "own_caught", "end")
        + flow("f5", "split", "sub")
        + flow("f6", "sub", "end_sub"),
    )
    deploy(owner, xml)
    started = owner.start("own_end_signal")
    assert [t["name"] for t in started["ready_tasks"]] == ["own_caught"]
