"""The sender's guards, against a real receiver on 127.0.0.1: one attempt ends within its
time limit however slowly the receiver answers (so no claim outlives its lease and no second
sender posts the delivery again), and a host that resolves to an internal address is refused
after DNS resolution, with the reason recorded and nothing sent."""

from __future__ import annotations

import dataclasses
import ipaddress
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.customers import create_customer
from crm.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from crm.webhooks.delivery import RetryPolicy, deliver_due
from crm.webhooks.subscriptions import create_subscription
from crm.webhooks.targets import TargetPolicy
from dialflow.background import WebhookSender

LOCAL = TargetPolicy(networks=(ipaddress.ip_network("127.0.0.1/32"),))


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root", team=None)


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="wangfang")


@pytest.fixture
def configure(runtime, monkeypatch):
    """Change the runtime's settings (as the environment would at start)."""

    def apply(**values):
        changed = dataclasses.replace(runtime.settings, **values)
        monkeypatch.setattr(runtime, "settings", changed)
        monkeypatch.setattr(runtime.db, "settings", changed)

    return apply


def subscribe(db, admin, url: str, *, stored_url: str | None = None) -> int:
    """A subscription to ``customer.created``; ``stored_url`` replaces its URL afterwards, as
    one saved before a setting changed or before DNS pointed its host elsewhere."""
    with db() as session:
        subscription, _secret = create_subscription(
            session, {"url": url, "event_types": ["customer.created"]}, actor=admin, targets=LOCAL
        )
        if stored_url is not None:
            session.get(WebhookSubscription, subscription.id).url = stored_url
        return subscription.id


def new_customer(db, agent, n: int = 0) -> None:
    with db() as session:
        create_customer(session, {"name": f"慢{n}", "phone": f"1390000{n:04d}"}, actor=agent)


def only_delivery(db) -> WebhookDelivery:
    with db() as session:
        [row] = session.scalars(select(WebhookDelivery))
        return row


@pytest.mark.webhook_targets("127.0.0.1")
@pytest.mark.parametrize("answer", ["trickle", "trickle-body"])
def test_a_receiver_trickling_its_answer_is_cut_off_at_the_attempt_limit(
    db, runtime, admin, agent, receiver, configure, answer
):
    """A byte every 0.1 s never trips the 5 s read timeout; the whole answer would take 40 s.
    The attempt ends at the configured limit, as a failed attempt to retry later."""
    configure(webhook_attempt_seconds=1)
    receiver.answers = [answer]
    subscribe(db, admin, receiver.url)
    new_customer(db, agent)

    started = time.monotonic()
    assert WebhookSender(runtime).run_once() == 1  # the embedded sender's pass
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.0, elapsed
    assert len(receiver.requests) == 1
    row = only_delivery(db)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_error == "Timed out: no full answer within 1 s"
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)  # backoff, no lease


@pytest.mark.webhook_targets("127.0.0.1")
def test_a_trickling_receiver_cannot_outlast_the_lease_and_get_the_delivery_twice(
    db, runtime, admin, agent, receiver
):
    """Sender A posts to a receiver that trickles for 40 s; once A's lease (3 s here) has run
    out, sender B passes. A's attempt ended within its 1 s limit and was recorded, so B finds
    the row waiting for its retry, not a claim to take over: one POST in all."""
    receiver.answers = ["trickle"]
    policy = RetryPolicy(timeout=5.0, attempt_limit=1.0, lease=timedelta(seconds=3))
    subscribe(db, admin, receiver.url)
    new_customer(db, agent)
    clock_at = [datetime.now(UTC)]

    def now() -> datetime:
        return clock_at[0]

    first = threading.Thread(target=deliver_due, args=(runtime.db, now), kwargs={"policy": policy})
    first.start()
    first.join(timeout=3.0)
    assert not first.is_alive(), "the attempt outlived its time limit"
    clock_at[0] += timedelta(seconds=4)  # A's lease has run out
    assert deliver_due(runtime.db, now, policy=policy) == 0
    assert len(receiver.requests) == 1
    row = only_delivery(db)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.claim_token is None and "Timed out" in row.last_error


def test_the_attempt_limit_must_leave_room_in_the_lease():
    with pytest.raises(ValueError):
        RetryPolicy(attempt_limit=40.0, lease=timedelta(seconds=60))


def test_a_host_resolving_to_loopback_is_refused_after_resolution_and_nothing_is_sent(
    db, runtime, admin, agent, receiver
):
    """``localhost`` resolves to 127.0.0.1, where the receiver listens; the default allows no
    internal address, so the attempt fails with the reason and the receiver gets nothing."""
    port = receiver.url.split(":")[2].split("/")[0]
    subscribe(db, admin, "https://crm.example.com/in", stored_url=f"http://localhost:{port}/in")
    new_customer(db, agent)

    assert WebhookSender(runtime).run_once() == 1
    time.sleep(0.2)
    assert receiver.requests == []
    row = only_delivery(db)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_status_code is None
    assert row.last_error.startswith(
        "Not sent: localhost resolves to 127.0.0.1, a loopback address (this machine)"
    ), row.last_error
    assert "DIALFLOW_WEBHOOK_ALLOWED_TARGETS" in row.last_error


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.0.0.7/in", "a private network address"),
        ("http://[::1]:9/in", "a loopback address"),
        ("http://0.0.0.0:9/in", "an unspecified address"),
    ],
)
def test_internal_addresses_stored_earlier_are_refused_when_sent(
    db, runtime, admin, agent, url, reason
):
    subscribe(db, admin, "https://crm.example.com/in", stored_url=url)
    new_customer(db, agent)
    started = time.monotonic()
    assert WebhookSender(runtime).run_once() == 1
    assert time.monotonic() - started < 2.0  # refused before any connection
    row = only_delivery(db)
    assert row.status == DeliveryStatus.PENDING
    assert row.last_error.startswith("Not sent: ") and reason in row.last_error, row.last_error


@pytest.mark.parametrize("allowed", ["localhost", "127.0.0.0/8"])
def test_the_allowance_lets_a_local_receiver_through_by_name_or_network(
    db, runtime, admin, agent, receiver, configure, allowed
):
    if "/" in allowed:
        configure(webhook_allowed_networks=(ipaddress.ip_network(allowed),))
    else:
        configure(webhook_allowed_hosts=(allowed,))
    port = receiver.url.split(":")[2].split("/")[0]
    subscribe(db, admin, "https://crm.example.com/in", stored_url=f"http://localhost:{port}/in")
    new_customer(db, agent)
    assert WebhookSender(runtime).run_once() == 1
    assert len(receiver.wait_for(1)) == 1
    row = only_delivery(db)
    assert row.status == DeliveryStatus.DELIVERED and row.last_error is None
