"""With Redis configured but unreachable, a request that wrote webhook deliveries answers at
once anyway: the after-commit wake-up of the Celery sender waits a bounded time, logs, and
the scheduler's sweep finds the deliveries in the database."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from crm.models import DeliveryStatus, WebhookDelivery
from dialflow import wakeups
from dialflow.background import WebhookSweeper
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.conftest import PG_URL, _truncate_all
from tests.engine.conftest import actor_factory
from web import create_app

URL = "/api/v1/webhooks"


@pytest.fixture(params=["refused", "silent"])
def broker_url(request) -> Iterator[str]:
    """``refused``: nothing listens on the port. ``silent``: a socket accepts connections and
    never answers, like a host behind a firewall that drops packets."""
    if request.param == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield f"redis://127.0.0.1:{port}/0"
        return
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


@pytest.fixture
def redis_runtime(test_env, broker_url) -> Iterator[Runtime]:
    rt = Runtime.build(Settings.from_env({**test_env, "REDIS_URL": broker_url}))
    if PG_URL:
        _truncate_all(rt.db)
    yield rt
    rt.close()


def test_an_unreachable_broker_neither_blocks_nor_fails_the_request(redis_runtime, caplog):
    rt = redis_runtime
    assert not rt.settings.embedded
    client = create_app({"TESTING": True}, runtime=rt).test_client()
    admin = actor_factory(client, rt.db.unit_of_work)("admin", username="root", team=None)
    created = admin.post(
        URL, json={"url": "https://crm.example.com/in", "event_types": ["deal.won"]}
    )
    hook = created.get_json()["id"]

    with caplog.at_level(logging.WARNING, logger="dialflow.wakeups"):
        started = time.monotonic()
        queued = admin.post(f"{URL}/{hook}/test")
        first = time.monotonic() - started
        started = time.monotonic()
        again = admin.post(f"{URL}/{hook}/test")
        second = time.monotonic() - started

    assert queued.status_code == 202 and again.status_code == 202
    assert first < wakeups.WAKE_TIMEOUT + 1.5, first  # bounded, not Celery's retries
    assert second < 0.5, second  # after a failure, no more waiting for a while
    [warning] = [r for r in caplog.records if r.name == "dialflow.wakeups"]
    assert "could not queue webhook deliveries" in warning.getMessage()
    assert "the sweep will send them" in warning.getMessage()

    with rt.db.unit_of_work() as session:
        rows = list(session.scalars(select(WebhookDelivery)))
    assert [r.status for r in rows] == [DeliveryStatus.PENDING] * 2  # nothing lost
    queued_tasks: list[int] = []
    sweeper = WebhookSweeper(rt, dispatch=lambda: queued_tasks.append(1))
    assert sweeper.run_once() == 1 and queued_tasks == [1]  # the sweep picks them up
