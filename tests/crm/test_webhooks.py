"""Webhooks out: the outbox commits and rolls back with the business change; deliveries are
signed, retried with backoff up to a cap, redelivered on request, and never sent twice by two
workers at once. A real HTTP receiver on 127.0.0.1 answers them."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.calls import log_call
from crm.customers import create_customer
from crm.deals import create_deal, set_deal_stage
from crm.models import AuditEntry, DeliveryStatus, WebhookDelivery
from crm.webhooks import signing
from crm.webhooks.delivery import RetryPolicy, claim_due, deliver_due, record, send
from crm.webhooks.subscriptions import (
    create_subscription,
    redeliver,
    update_subscription,
)
from crm.webhooks.targets import TargetPolicy
from tests.conftest import backend
from tests.webhook_receiver import closed_port_url

# The receivers listen on 127.0.0.1, an address refused by default: the runtime's settings
# (what the sender reads) and the use cases called here allow it explicitly.
pytestmark = pytest.mark.webhook_targets("127.0.0.1")
LOCAL = TargetPolicy(networks=(ipaddress.ip_network("127.0.0.1/32"),))

FAST = RetryPolicy(
    max_attempts=3,
    backoff_base=timedelta(seconds=10),
    backoff_cap=timedelta(minutes=5),
    timeout=0.5,
)


class Clock:
    """``now`` for the sender, moved by hand."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **units: float) -> None:
        self.at += timedelta(**units)


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root", team=None)


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="wangfang")


def subscribe(db, admin, url: str, *types: str, active: bool = True):
    with db() as session:
        subscription, secret = create_subscription(
            session,
            {"url": url, "event_types": list(types), "active": active, "description": "CRM sync"},
            actor=admin,
            targets=LOCAL,
        )
        return subscription.id, secret


def deliveries(db, **where) -> list[WebhookDelivery]:
    with db() as session:
        query = select(WebhookDelivery).order_by(WebhookDelivery.id)
        for key, value in where.items():
            query = query.where(getattr(WebhookDelivery, key) == value)
        return list(session.scalars(query))


def test_committed_change_is_delivered_signed_with_its_event_id(
    db, runtime, admin, agent, receiver
):
    sub_id, secret = subscribe(db, admin, receiver.url, "customer.created")
    customer = None
    with db() as session:
        customer = create_customer(session, {"name": "李娜", "phone": "13900001111"}, actor=agent)
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 0
    assert row.subscription_id == sub_id and row.event_type == "customer.created"

    assert deliver_due(runtime.db, Clock(), policy=FAST) == 1
    [request] = receiver.wait_for(1)
    assert request.path == "/hooks/dialflow"
    body = request.json
    assert body["type"] == "customer.created"
    assert body["id"] == row.event_id
    assert body["data"]["customer_id"] == customer.id
    assert body["data"]["owner_id"] == agent.id
    assert datetime.fromisoformat(body["occurred_at"]).tzinfo is not None
    # no personal data in the payload: the receiver reads it through the API
    assert "李娜" not in request.body.decode() and "13900001111" not in request.body.decode()

    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["idempotency-key"] == row.event_id
    assert headers["x-dialflow-event-id"] == row.event_id
    assert headers["x-dialflow-event"] == "customer.created"
    assert headers["x-dialflow-delivery"] == str(row.id)
    timestamp = headers["x-dialflow-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert headers["x-dialflow-signature"] == "sha256=" + expected.hexdigest()
    assert signing.verify(secret, timestamp, request.body, headers["x-dialflow-signature"])
    assert not signing.verify(
        "whsec_other", timestamp, request.body, headers["x-dialflow-signature"]
    )
    assert not signing.verify(
        secret, timestamp, request.body + b" ", headers["x-dialflow-signature"]
    )

    [done] = deliveries(db)
    assert done.status == DeliveryStatus.DELIVERED
    assert done.attempts == 1 and done.last_status_code == 200 and done.last_error is None
    assert done.delivered_at is not None and done.next_attempt_at is None
    assert deliver_due(runtime.db, Clock(), policy=FAST) == 0  # nothing sent twice


def test_rolled_back_change_sends_nothing(db, runtime, admin, agent, receiver):
    subscribe(db, admin, receiver.url, "customer.created", "call.logged")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), db() as session:
        create_customer(session, {"name": "回滚", "phone": "13900002222"}, actor=agent)
        assert len(session.scalars(select(WebhookDelivery)).all()) == 1  # written, uncommitted
        raise Boom
    assert deliveries(db) == []
    assert deliver_due(runtime.db, Clock(), policy=FAST) == 0
    time.sleep(0.2)
    assert receiver.requests == []


def test_only_active_subscriptions_of_the_type_get_the_event(db, admin, agent, receiver):
    wants, _ = subscribe(db, admin, receiver.url, "call.logged")
    subscribe(db, admin, receiver.url + "/other", "deal.won")
    subscribe(db, admin, receiver.url + "/off", "call.logged", active=False)
    with db() as session:
        customer = create_customer(session, {"name": "赵强", "phone": "13900003333"}, actor=agent)
        call = log_call(
            session,
            customer.id,
            {"disposition": "connected_interested", "duration_s": 95},
            actor=agent,
        )
    [row] = deliveries(db)
    assert row.subscription_id == wants and row.event_type == "call.logged"
    assert row.payload["data"]["call_id"] == call.id
    assert row.payload["data"]["disposition"] == "connected_interested"
    assert row.payload["data"]["duration_s"] == 95


def test_deal_stage_changes_won_and_lost(db, admin, agent, receiver):
    subscribe(db, admin, receiver.url, "deal.stage_changed", "deal.won", "deal.lost")
    with db() as session:
        customer = create_customer(session, {"name": "周杰", "phone": "13900004444"}, actor=agent)
        won = create_deal(
            session, customer.id, {"title": "年度合同", "amount": "18800"}, actor=agent
        )
        lost = create_deal(session, customer.id, {"title": "加购", "amount": "500"}, actor=agent)
    with db() as session:
        set_deal_stage(session, won.id, "proposal", actor=agent)
        set_deal_stage(session, won.id, "won", actor=agent)
        set_deal_stage(session, lost.id, "lost", actor=agent)
    rows = deliveries(db)
    assert [(r.event_type, r.payload["data"]["deal_id"]) for r in rows] == [
        ("deal.stage_changed", won.id),
        ("deal.stage_changed", won.id),
        ("deal.won", won.id),
        ("deal.stage_changed", lost.id),
        ("deal.lost", lost.id),
    ]
    assert rows[0].payload["data"]["from_stage"] == "qualification"
    assert rows[0].payload["data"]["to_stage"] == "proposal"
    assert rows[2].payload["data"]["amount"] == "18800.00"
    assert rows[2].payload["data"]["closed_at"]
    assert rows[1].event_id != rows[2].event_id  # one event id per event


def test_failing_receiver_is_retried_with_backoff_then_failed(db, runtime, admin, agent, receiver):
    receiver.default = 500
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        create_customer(session, {"name": "失败", "phone": "13900005555"}, actor=agent)
    clock = Clock()
    assert deliver_due(runtime.db, clock, policy=FAST) == 1
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_status_code == 500 and row.last_error.startswith("HTTP 500")
    assert row.next_attempt_at == clock.at + timedelta(seconds=10)

    assert deliver_due(runtime.db, clock, policy=FAST) == 0  # not due before its backoff
    clock.advance(seconds=10)
    assert deliver_due(runtime.db, clock, policy=FAST) == 1
    [row] = deliveries(db)
    assert row.attempts == 2 and row.next_attempt_at == clock.at + timedelta(seconds=20)

    clock.advance(seconds=20)
    assert deliver_due(runtime.db, clock, policy=FAST) == 1
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.FAILED and row.attempts == 3
    assert row.next_attempt_at is None
    clock.advance(hours=1)
    assert deliver_due(runtime.db, clock, policy=FAST) == 0
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in requests}) == 1  # same event each time
    assert [r.headers["X-Dialflow-Attempt"] for r in requests] == ["1", "2", "3"]


def test_refused_connection_and_timeout_are_failed_attempts(db, runtime, admin, agent, receiver):
    subscribe(db, admin, closed_port_url(), "customer.created")
    receiver.answers = ["slow"]
    receiver.slow_seconds = 2.0
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        create_customer(session, {"name": "超时", "phone": "13900006666"}, actor=agent)
    started = time.monotonic()
    assert deliver_due(runtime.db, Clock(), policy=FAST) == 2
    assert time.monotonic() - started < 2.0  # the slow receiver was given up after 0.5 s
    refused, slow = deliveries(db)
    assert refused.status == DeliveryStatus.PENDING and refused.last_status_code is None
    assert "Connect" in refused.last_error
    assert slow.status == DeliveryStatus.PENDING and slow.last_error.startswith("Timed out")


def test_redeliver_sends_the_same_event_again_with_fresh_attempts(
    db, runtime, admin, agent, receiver
):
    receiver.default = 503
    sub_id, _ = subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        create_customer(session, {"name": "重发", "phone": "13900007777"}, actor=agent)
    clock = Clock()
    for _ in range(3):
        deliver_due(runtime.db, clock, policy=FAST)
        clock.advance(minutes=5)
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.FAILED

    receiver.default = 204
    with db() as session:
        again = redeliver(session, sub_id, row.id, actor=admin)
        assert again.status == DeliveryStatus.PENDING and again.attempts == 0
    assert deliver_due(runtime.db, clock, policy=FAST) == 1
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 1
    assert row.last_status_code == 204
    requests = receiver.wait_for(4)
    assert {r.headers["Idempotency-Key"] for r in requests} == {row.event_id}
    with db() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_type == "webhook_subscription")
        ).all()
    assert actions == ["create", "redeliver"]


def test_disabled_subscription_fails_its_pending_deliveries_unsent(
    db, runtime, admin, agent, receiver
):
    sub_id, _ = subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        create_customer(session, {"name": "停用", "phone": "13900008888"}, actor=agent)
    with db() as session:
        update_subscription(session, sub_id, {"active": False}, actor=admin)
    assert deliver_due(runtime.db, Clock(), policy=FAST) == 0
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.FAILED and row.last_error == "The subscription is disabled."
    assert receiver.requests == []


def test_an_expired_claim_is_claimed_again_and_the_late_answer_is_ignored(
    db, runtime, admin, agent, receiver
):
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        create_customer(session, {"name": "租约", "phone": "13900009999"}, actor=agent)
    clock = Clock()
    with db() as session:
        [first] = claim_due(session, clock(), policy=FAST)  # this worker then dies
    with db() as session:
        assert claim_due(session, clock(), policy=FAST) == []  # held by its lease
    clock.advance(seconds=61)
    with db() as session:
        [second] = claim_due(session, clock(), policy=FAST)
    assert second.attempt == 2 and second.token != first.token
    import httpx

    with httpx.Client(timeout=1) as client, db() as session:
        assert record(session, first, send(first, client), clock(), FAST) is None
        assert record(session, second, send(second, client), clock(), FAST) == "delivered"
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 2


def test_two_concurrent_senders_never_send_one_delivery_twice(db, runtime, admin, agent, receiver):
    # Slow enough that one sender cannot finish all 24 before the other starts, with a timeout
    # no loaded machine comes near.
    receiver.slow_seconds = 0.2
    receiver.answers = ["slow"] * 40
    patient = dataclasses.replace(FAST, timeout=10.0)
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        for n in range(24):
            create_customer(session, {"name": f"并发{n}", "phone": f"1370000{n:04d}"}, actor=agent)
    assert len(deliveries(db)) == 24
    barrier = threading.Barrier(2)
    sent = [0, 0]
    errors: list[BaseException] = []

    def sender(index: int) -> None:
        try:
            barrier.wait()
            while made := deliver_due(runtime.db, Clock(), policy=patient, limit=3):
                sent[index] += made
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(sent) == 24
    requests = receiver.wait_for(24)
    ids = [r.headers["Idempotency-Key"] for r in requests]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert all(r.status == DeliveryStatus.DELIVERED and r.attempts == 1 for r in deliveries(db))
    if backend() == "postgresql":
        assert all(sent), "both senders should have taken a share on PostgreSQL"


@pytest.mark.skipif(backend() != "postgresql", reason="row locks: PostgreSQL's SKIP LOCKED")
def test_claims_of_open_transactions_are_disjoint(db, runtime, admin, agent, receiver):
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        for n in range(6):
            create_customer(session, {"name": f"锁{n}", "phone": f"1360000{n:04d}"}, actor=agent)
    now = datetime.now(UTC)
    with db() as first:
        mine = claim_due(first, now, limit=4, policy=FAST)
        with db() as second:  # while the first still holds its row locks
            theirs = claim_due(second, now, limit=10, policy=FAST)
    assert len(mine) == 4 and len(theirs) == 2
    assert not {c.delivery_id for c in mine} & {c.delivery_id for c in theirs}


def test_an_import_batch_sends_one_event_per_new_customer(db, runtime, admin, make_user, receiver):
    from crm.imports import run_import, submit_import
    from crm.models import Customer

    subscribe(db, admin, receiver.url, "customer.created")
    manager = make_user("manager", username="importer")
    lines = ["姓名,手机"] + [f"导入{n},1350000{n:04d}" for n in range(7)] + ["坏行,12345"]
    with db() as session:
        job = submit_import(
            session,
            actor=manager,
            file_name="客户.csv",
            data="\n".join(lines).encode(),
            mapping=None,
            max_rows=100,
        )
    assert run_import(runtime.db, job.id, batch_rows=3) == "done"
    with db() as session:
        customer_ids = set(session.scalars(select(Customer.id)))
    rows = deliveries(db)
    assert len(rows) == 7 and len({r.event_id for r in rows}) == 7
    assert {r.payload["data"]["customer_id"] for r in rows} == customer_ids


def test_a_commit_that_wrote_deliveries_wakes_the_sender_a_rollback_does_not(
    db, runtime, admin, agent, receiver
):
    subscribe(db, admin, receiver.url, "customer.created")
    runtime.webhooks_due.clear()
    with pytest.raises(RuntimeError), db() as session:
        create_customer(session, {"name": "回滚", "phone": "13800001111"}, actor=agent)
        raise RuntimeError("undo")
    with db() as session:  # a transaction that wrote no delivery
        assert session.scalar(select(WebhookDelivery.id)) is None
    assert not runtime.webhooks_due.is_set()
    with db() as session:
        create_customer(session, {"name": "提交", "phone": "13800002222"}, actor=agent)
    assert runtime.webhooks_due.is_set()


def test_the_scheduler_sweep_queues_work_only_while_deliveries_are_due(
    db, runtime, admin, agent, receiver
):
    from dialflow.background import WebhookSweeper

    queued: list[int] = []
    sweeper = WebhookSweeper(runtime, dispatch=lambda: queued.append(1))
    assert sweeper.run_once() == 0 and queued == []
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        for n in range(25):
            create_customer(session, {"name": f"扫{n}", "phone": f"1380001{n:04d}"}, actor=agent)
    assert sweeper.run_once() == 2 and len(queued) == 2  # 25 due rows: two batches of 20
    assert deliver_due(runtime.db, Clock(), policy=FAST, limit=25) == 25
    assert sweeper.run_once() == 0 and len(queued) == 2


def test_a_batch_slower_than_its_lease_never_sends_a_delivery_twice(db, runtime, admin, agent):
    """One sender claims a batch and posts it row after row; receivers take 40 s each, so the
    last rows' leases run out before their turn and another sender claims them. Each event
    is still posted once: a sender posts a row only while its claim still holds."""
    import httpx

    subscribe(db, admin, "https://crm.example.com/in", "customer.created")
    with db() as session:
        for n in range(3):
            create_customer(session, {"name": f"租期{n}", "phone": f"1350000{n:04d}"}, actor=agent)
    clock = Clock()
    posted: list[str] = []
    other: list[int] = []

    def receive(request: httpx.Request) -> httpx.Response:
        posted.append(request.headers["Idempotency-Key"])
        clock.advance(seconds=40)
        if len(posted) == 2 and not other:  # meanwhile, another worker's sender runs
            other.append(deliver_due(runtime.db, clock, policy=FAST, limit=10, client=client))
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(receive))
    with client:
        deliver_due(runtime.db, clock, policy=FAST, limit=10, client=client)
    assert len(posted) == 3 and len(set(posted)) == 3, posted
    assert other == [1]  # the one row whose lease had run out
    assert all(r.status == DeliveryStatus.DELIVERED for r in deliveries(db))


def test_verify_refuses_odd_headers_without_raising():
    body, secret, now = b'{"id":"x"}', "whsec_k", 1_700_000_000
    good = signing.signature(secret, str(now), body)
    assert signing.verify(secret, str(now), body, good, now=now)
    assert not signing.verify(secret, "²", body, good, now=now)  # a digit int() refuses
    assert not signing.verify(secret, str(now), body, "sha256=é" + good[8:], now=now)


def test_a_url_the_client_cannot_send_to_is_a_failed_attempt_not_a_stuck_batch(
    db, runtime, admin, agent, receiver
):
    """A subscription stored before its URL was checked as the sender reads it (a host name
    IDNA refuses): its delivery is a failed attempt, and the rest of the batch is sent."""
    from crm.models import WebhookSubscription

    bad, _secret = subscribe(db, admin, "https://crm.example.com/in", "customer.created")
    subscribe(db, admin, receiver.url, "customer.created")
    with db() as session:
        session.get(WebhookSubscription, bad).url = "https://\u2488.example.com/in"
        create_customer(session, {"name": "坏地址", "phone": "13900001234"}, actor=agent)
    assert deliver_due(runtime.db, Clock(), policy=FAST) == 2
    receiver.wait_for(1)
    [failed] = deliveries(db, subscription_id=bad)
    [sent] = [row for row in deliveries(db) if row.subscription_id != bad]
    assert failed.status == DeliveryStatus.PENDING and failed.attempts == 1
    assert failed.last_error and "InvalidURL" in failed.last_error
    assert sent.status == DeliveryStatus.DELIVERED


def test_a_huge_error_answer_is_not_read_to_its_end(db, runtime, admin, agent):
    """Only the first bytes of a failed answer are kept, so only they are read: a receiver
    answering 500 with an endless body cannot fill the sender's memory or hold it forever."""
    import httpx

    subscribe(db, admin, "https://crm.example.com/in", "customer.created")
    with db() as session:
        create_customer(session, {"name": "大回应", "phone": "13900004321"}, actor=agent)
    served = [0]

    def endless():
        while served[0] < 64:  # 64 MiB if read to the end
            served[0] += 1
            yield b"x" * 1024 * 1024

    def receive(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=endless())

    with httpx.Client(transport=httpx.MockTransport(receive)) as client:
        assert deliver_due(runtime.db, Clock(), policy=FAST, client=client) == 1
    assert served[0] <= 2
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.PENDING and row.last_status_code == 500
    assert row.last_error.startswith("HTTP 500: xxx") and len(row.last_error) <= 500


def test_a_delivery_whose_senders_keep_dying_fails_at_the_attempt_cap(db, runtime, admin, agent):
    subscribe(db, admin, "https://crm.example.com/in", "customer.created")
    with db() as session:
        create_customer(session, {"name": "总崩溃", "phone": "13900004322"}, actor=agent)
    clock = Clock()
    for attempt in range(1, FAST.max_attempts + 1):
        with db() as session:  # claimed, then the worker dies before recording
            [claim] = claim_due(session, clock(), policy=FAST)
        assert claim.attempt == attempt
        clock.advance(seconds=61)
    with db() as session:
        assert claim_due(session, clock(), policy=FAST) == []
    [row] = deliveries(db)
    assert row.status == DeliveryStatus.FAILED and row.attempts == FAST.max_attempts
    assert row.next_attempt_at is None and row.last_error
