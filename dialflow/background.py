"""Background work: Celery when ``REDIS_URL`` is set, a thread in the web process otherwise.

Celery tasks are thin: they receive ids, open their own unit of work and call a use case.
``dialflow scheduler`` runs ``TimerLoop`` and hands claimed instances to workers in batches;
in the embedded default the same loop fires them itself, inside ``dialflow serve``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from celery import Celery

from dialflow.runtime import Runtime

log = logging.getLogger(__name__)
TIMER_QUEUE = "timers"
BATCH = 50


def celery_app(rt: Runtime) -> Celery:
    app = Celery("dialflow", broker=rt.settings.redis_url, set_as_current=True)
    app.conf.update(
        task_acks_late=True,  # a worker killed mid-task leaves the message for another worker
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
    )

    @app.task(name="dialflow.fire_timers", queue=TIMER_QUEUE)
    def fire_timers(instance_ids: list[int]) -> int:
        from engine.timers import fire_batch

        return fire_batch(rt.engine, rt.db, [int(i) for i in instance_ids])

    return app


class TimerLoop:
    """Claims due instances every ``interval`` seconds and fires or dispatches them."""

    def __init__(
        self,
        rt: Runtime,
        interval: float = 0.5,
        dispatch: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.rt = rt
        self.interval = interval
        self.dispatch = dispatch
        self.stopped = threading.Event()

    def run_once(self) -> int:
        from engine.timers import claim_due, fire_batch

        with self.rt.db.unit_of_work() as session:
            ids = claim_due(session, self.rt.clock.now())
        if not ids:
            return 0
        if self.dispatch is None:
            return fire_batch(self.rt.engine, self.rt.db, ids)
        for start in range(0, len(ids), BATCH):
            self.dispatch(ids[start : start + BATCH])
        return len(ids)

    def run_forever(self) -> None:
        while not self.stopped.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("timer pass failed; trying again")
                busy = 0
            if not busy:
                self.stopped.wait(self.interval)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="dialflow-timers", daemon=True)
        thread.start()
        return thread


def celery_dispatcher(app: Celery) -> Callable[[list[int]], None]:
    def dispatch(ids: list[int]) -> None:
        app.send_task("dialflow.fire_timers", args=[ids], queue=TIMER_QUEUE)

    return dispatch
