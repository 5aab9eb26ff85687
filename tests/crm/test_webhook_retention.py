"""Retention of the webhook delivery log: the passes that send (embedded ``WebhookSender``) or
queue (``WebhookSweeper`` with Redis) deliveries also delete delivered and failed ones older
than ``DIALFLOW_WEBHOOK_RETENTION_DAYS``, in bounded batches; pending ones are never deleted,
however old. The deliveries are made the real way: events, a receiver on 127.0.0.1, passes."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.customers import create_customer
from crm.models import DeliveryStatus, WebhookDelivery
from crm.webhooks.retention import purge_finished
from crm.webhooks.subscriptions import create_subscription, update_subscription
from crm.webhooks.targets import TargetPolicy
from dialflow.background import DeliveryPurge, WebhookSender, WebhookSweeper
from dialflow.clock import pin_time

pytestmark = pytest.mark.webhook_targets("127.0.0.1")  # the receiver's address


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="root", team=None)


@pytest.fixture
def agent(make_user):
    return make_user("agent", username="wangfang")


def subscribe(db, admin, runtime, url: str) -> int:
    with db() as session:
        subscription, _ = create_subscription(
            session,
            {"url": url, "event_types": ["customer.created"]},
            actor=admin,
            targets=TargetPolicy.from_settings(runtime.settings),
        )
        return subscription.id


def events(db, agent, count: int, *, days_ago: float = 0, start: int = 0) -> None:
    """``count`` customer.created events, as if they happened ``days_ago`` days ago."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    with pin_time(at), db() as session:
        for n in range(start, start + count):
            create_customer(session, {"name": f"留{n}", "phone": f"1370000{n:04d}"}, actor=agent)


def by_status(db) -> dict[str, int]:
    counts: dict[str, int] = {}
    with db() as session:
        for row in session.scalars(select(WebhookDelivery)):
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
    return counts


def log_of_every_kind(db, runtime, admin, agent, receiver) -> None:
    """Old (40 days) and recent deliveries: delivered, failed (unsent: their subscription was
    disabled) and pending (the receiver answered 500; retried later)."""
    sender = WebhookSender(runtime)
    sender.purge.next_at = float("inf")  # only sending here
    first = subscribe(db, admin, runtime, receiver.url)
    events(db, agent, 2, days_ago=40)
    events(db, agent, 1, start=10)
    assert sender.run_once() == 3 and len(receiver.wait_for(3)) == 3
    with db() as session:
        update_subscription(session, first, {"active": False}, actor=admin)

    second = subscribe(db, admin, runtime, receiver.url + "/second")
    events(db, agent, 2, days_ago=40, start=20)
    with db() as session:
        update_subscription(session, second, {"active": False}, actor=admin)
    sender.run_once()  # disabled: both fail unsent
    with db() as session:
        update_subscription(session, second, {"active": True}, actor=admin)
    receiver.default = 500
    events(db, agent, 2, days_ago=40, start=30)
    assert sender.run_once() == 2
    assert by_status(db) == {"delivered": 3, "failed": 2, "pending": 2}


@pytest.mark.parametrize("door", ["embedded sender", "scheduler sweep"])
def test_old_finished_deliveries_are_deleted_and_pending_ones_kept(
    db, runtime, admin, agent, receiver, door
):
    log_of_every_kind(db, runtime, admin, agent, receiver)
    if door == "embedded sender":
        WebhookSender(runtime).run_once()
    else:
        WebhookSweeper(runtime, dispatch=lambda: None).run_once()
    # the 2 old delivered and the 2 old failed are gone; the recent delivery and the old
    # pending ones (their retries still to come) stay
    assert by_status(db) == {"delivered": 1, "pending": 2}
    with db() as session:
        [kept] = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.DELIVERED)
        )
        assert kept.created_at > datetime.now(UTC) - timedelta(days=1)


def test_the_retention_setting_decides_and_zero_keeps_everything(
    db, runtime, admin, agent, receiver, monkeypatch
):
    log_of_every_kind(db, runtime, admin, agent, receiver)
    for days, left in ((0, 7), (60, 7), (39, 3)):
        changed = dataclasses.replace(runtime.settings, webhook_retention_days=days)
        monkeypatch.setattr(runtime, "settings", changed)
        WebhookSweeper(runtime, dispatch=lambda: None).run_once()
        assert sum(by_status(db).values()) == left, days


def test_a_backlog_is_deleted_in_bounded_batches_pass_after_pass(
    db, runtime, admin, agent, receiver
):
    subscribe(db, admin, runtime, receiver.url)
    events(db, agent, 7, days_ago=31)
    sender = WebhookSender(runtime)
    sender.purge.next_at = float("inf")
    assert sender.run_once() == 7
    now = datetime.now(UTC)
    deleted = purge_finished(runtime.db, now, keep_days=30, batch=2, most_batches=2)
    assert deleted == (4, True)  # two batches of two, and more left
    assert by_status(db) == {"delivered": 3}

    purge = DeliveryPurge(runtime, every=600)
    assert purge.run_if_due() == 3  # default batches: the rest at once
    assert purge.next_at > time.monotonic() + 500  # nothing left: next in ten minutes
    assert purge.run_if_due() == 0
    assert by_status(db) == {}
