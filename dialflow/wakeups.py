"""After-commit signals for work that waits in the database (webhook deliveries).

Kept apart from ``dialflow.background`` so that building a runtime (every CLI command) does not
import Celery; the Redis branch imports it when it first queues a task.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

if TYPE_CHECKING:
    from celery import Celery

    from dialflow.runtime import Runtime

log = logging.getLogger(__name__)
WAKE_TIMEOUT = 1.0  # seconds a commit may wait for Redis to take the wake-up
QUIET_AFTER_FAILURE = 30.0  # seconds without wake-ups once Redis did not take one


class BrokerWake:
    """Queues ``dialflow.deliver_webhooks`` right after a commit, within ``WAKE_TIMEOUT``.

    It runs in the request that committed, so Redis being down or unreachable must cost that
    request at most a bounded wait: one attempt, no retries, short connect and read timeouts
    (Celery's defaults retry, and wait on a silent host without end). After a failure the
    wake-ups stop for ``QUIET_AFTER_FAILURE`` seconds, so an outage does not slow every
    request; ``WebhookSweeper`` finds the deliveries in the database meanwhile."""

    def __init__(self, redis_url: str, timeout: float = WAKE_TIMEOUT) -> None:
        self.redis_url = redis_url
        self.timeout = timeout
        self.quiet_until = 0.0
        self._lock = threading.Lock()

    def send(self) -> bool:
        """Queue one task; False (and a warning logged) when the broker did not take it."""
        if time.monotonic() < self.quiet_until:
            return False
        from dialflow.background import WEBHOOK_QUEUE

        try:
            self._producer().send_task(
                "dialflow.deliver_webhooks", queue=WEBHOOK_QUEUE, retry=False
            )
        except Exception as exc:
            self.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE
            log.warning(
                "could not queue webhook deliveries (%s: %s); the sweep will send them",
                type(exc).__name__,
                exc,
            )
            return False
        return True

    @functools.cached_property
    def _app(self) -> Celery:
        from celery import Celery

        app = Celery("dialflow", broker=self.redis_url, set_as_current=False)
        app.conf.update(
            broker_connection_timeout=self.timeout,
            broker_connection_retry=False,
            broker_connection_max_retries=0,
            broker_transport_options={
                "socket_connect_timeout": self.timeout,
                "socket_timeout": self.timeout,
                "max_retries": 0,
                "retry_on_timeout": False,
            },
        )
        return app

    def _producer(self) -> Celery:
        with self._lock:  # one app per broker, built once even by concurrent requests
            return self._app


def wake_webhooks_after_commit(rt: Runtime) -> None:
    """After a commit that wrote webhook deliveries, start sending them: embedded, wake this
    process's ``WebhookSender``; with Redis, queue a worker's task when rows were certainly
    written (a step's batched outbox write may have written none: the scheduler's sweep finds
    those within seconds), waiting at most ``WAKE_TIMEOUT`` for Redis (:class:`BrokerWake`).
    Losing this signal loses nothing: the rows wait in the table."""
    from crm.webhooks.outbox import WAKE

    broker = BrokerWake(rt.settings.redis_url) if rt.settings.redis_url else None

    def after_commit(session: Any) -> None:
        flag = session.info.pop(WAKE, None)
        if flag is None:
            return
        if rt.settings.embedded:
            rt.webhooks_due.set()
        elif flag == "yes" and broker is not None:
            broker.send()

    def after_rollback(session: Any) -> None:
        session.info.pop(WAKE, None)

    event.listen(rt.db.session_factory, "after_commit", after_commit)
    event.listen(rt.db.session_factory, "after_rollback", after_rollback)
