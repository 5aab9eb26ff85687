"""After-commit signals for work that waits in the database (webhook deliveries).

Kept apart from ``dialflow.background`` so that building a runtime (every CLI command) does not
import Celery; the Redis branch imports it when it first queues a task.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

if TYPE_CHECKING:
    from dialflow.runtime import Runtime

log = logging.getLogger(__name__)


def wake_webhooks_after_commit(rt: Runtime) -> None:
    """After a commit that wrote webhook deliveries, start sending them: embedded, wake this
    process's ``WebhookSender``; with Redis, queue a worker's task when rows were certainly
    written (a step's batched outbox write may have written none: the scheduler's sweep finds
    those within seconds). Losing this signal loses nothing: the rows wait in the table."""
    from crm.webhooks.outbox import WAKE

    def after_commit(session: Any) -> None:
        flag = session.info.pop(WAKE, None)
        if flag is None:
            return
        if rt.settings.embedded:
            rt.webhooks_due.set()
        elif flag == "yes":
            try:
                from dialflow.background import WEBHOOK_QUEUE, _producer

                _producer(rt.settings.redis_url).send_task(
                    "dialflow.deliver_webhooks", queue=WEBHOOK_QUEUE, retry=False
                )
            except Exception:
                log.warning("could not queue webhook deliveries; the sweep will send them")

    def after_rollback(session: Any) -> None:
        session.info.pop(WAKE, None)

    event.listen(rt.db.session_factory, "after_commit", after_commit)
    event.listen(rt.db.session_factory, "after_rollback", after_rollback)
