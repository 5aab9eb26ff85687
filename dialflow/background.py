"""Background work: Celery when ``REDIS_URL`` is set, a thread in the web process otherwise.

Celery tasks are thin: they receive ids, open their own unit of work and call a use case.
``dialflow scheduler`` runs ``TimerLoop`` and hands claimed instances to workers in batches;
in the embedded default the same loop fires them itself, inside ``dialflow serve``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from dialflow.backoff import DEFAULT_CAP, Backoff
from dialflow.clock import SystemClock, pin_time
from dialflow.db import log_failure
from dialflow.runtime import Runtime

log = logging.getLogger(__name__)
TIMER_QUEUE = "timers"
IMPORT_QUEUE = "imports"
WEBHOOK_QUEUE = "webhooks"
BATCH = 50
WEBHOOK_PASSES = 10  # batches one webhook task sends before it leaves the rest to the next
PURGE_EVERY = 600.0  # seconds between retention passes over the webhook delivery log
# A timer pass that keeps failing is tried again after 1 s, 2 s, 4 s... at most every 30 s:
# once the database is back, due timers fire within half a minute.
TIMER_BACKOFF_FIRST = 1.0
TIMER_BACKOFF_CAP = 30.0


def transport_options(visibility_seconds: int) -> dict[str, Any]:
    """Redis transport options of every Celery app of Dialflow (worker, scheduler, producers):
    how long a task taken and not acknowledged stays with its worker
    (``DIALFLOW_BROKER_VISIBILITY_SECONDS``) before Redis hands it out again."""
    return {"visibility_timeout": visibility_seconds}


def celery_app(rt: Runtime) -> Celery:
    app = Celery("dialflow", broker=rt.settings.redis_url, set_as_current=True)
    app.conf.update(
        # Set, not Redis' default hour: a longer import would be handed out twice.
        broker_transport_options=transport_options(rt.settings.broker_visibility_seconds),
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

    @app.task(name="dialflow.deliver_signals", queue=TIMER_QUEUE)
    def deliver_signals(broadcast_ids: list[int]) -> int:
        from engine.signals import run_batch

        return run_batch(rt.engine, rt.db, [int(i) for i in broadcast_ids])

    @app.task(name="dialflow.run_job", queue=IMPORT_QUEUE)
    def run_job_task(job_id: int) -> str:
        return run_job(rt, int(job_id))

    @app.task(name="dialflow.deliver_webhooks", queue=WEBHOOK_QUEUE)
    def deliver_webhooks_task() -> int:
        return deliver_webhooks(rt)

    return app


def run_worker(rt: Runtime, argv: list[str]) -> None:
    """Run a Celery worker (``dialflow worker``) until it is stopped."""

    def forget_parent_connections(**_kwargs: Any) -> None:
        # A prefork child inherits the parent's pooled database connections (the worker
        # checked the schema and deployed models before forking): two processes sharing one
        # socket corrupt each other's queries. Each child opens its own; the parent keeps its.
        rt.db.engine.dispose(close=False)

    worker_process_init.connect(forget_parent_connections, weak=False)
    rt.settings.configure_logging()  # SpiffWorkflow logs every task state change at INFO
    celery_app(rt).worker_main(argv)


class TimerLoop:
    """Claims due instances every ``interval`` seconds and fires or dispatches them.

    A claim lasts ``claim_for`` (30 s by default): if the worker that got an instance dies
    before firing it, the instance is claimed and handed out again once the claim expires.
    """

    def __init__(
        self,
        rt: Runtime,
        interval: float = 0.5,
        dispatch: Callable[[list[int]], None] | None = None,
        claim_for: timedelta | None = None,
        dispatch_signals: Callable[[list[int]], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        from engine.timers import CLAIM_FOR

        self.rt = rt
        self.interval = interval
        self.dispatch = dispatch
        # Signal broadcasts thrown by instances: run here (embedded) or handed to workers.
        self.dispatch_signals = dispatch_signals
        self.claim_for = claim_for or CLAIM_FOR
        self.stopped = threading.Event()
        first = max(interval, TIMER_BACKOFF_FIRST)

        def backoff(what: str) -> Backoff:
            return Backoff(what, log, first=first, cap=TIMER_BACKOFF_CAP, monotonic=monotonic)

        # The pass as a whole (claiming due timers), and each other kind of work on its own:
        # one failing kind backs off while the others go on every pass.
        self.backoff = backoff("timer pass")
        self.kinds = {
            kind: backoff(kind) for kind in ("timer starts", "queued messages", "signal broadcasts")
        }

    def run_once(self) -> int:
        """One pass: start instances whose timer start event is due (here: rare, one step
        each), then claim due instances and fire them here or hand them to workers."""
        if isinstance(self.rt.clock, SystemClock):
            return self._pass()
        with pin_time(self.rt.clock.now()):  # a test clock stamps records like steps
            return self._pass()

    def _pass(self) -> int:
        from engine.messages import deliver_queued
        from engine.start_timers import start_due
        from engine.timers import claim_due, fire_batch, pending_work

        with self.rt.db.unit_of_work(read_only=True) as session:
            starts, messages, signals = pending_work(session, self.rt.clock.now())
        # Each kind of work on its own: a failure in one never holds up the due timers.
        started = self._kind(start_due, "timer starts") if starts else 0
        started += self._kind(deliver_queued, "queued messages") if messages else 0
        started += self._kind(self._signals, "signal broadcasts") if signals else 0
        with self.rt.db.unit_of_work() as session:
            ids = claim_due(session, self.rt.clock.now(), claim_for=self.claim_for)
        if not ids:
            return started
        if self.dispatch is None:
            return started + fire_batch(self.rt.engine, self.rt.db, ids)
        for start in range(0, len(ids), BATCH):
            self.dispatch(ids[start : start + BATCH])
        return started + len(ids)

    def _kind(self, work: Callable[[Any, Any], int], what: str) -> int:
        """Run one kind of work unless it is backing off after failures; failures are counted
        (``Backoff``), never raised: the due timers go on."""
        backoff = self.kinds[what]
        if not backoff.ready():
            return 0
        try:
            done = work(self.rt.engine, self.rt.db)
        except Exception as exc:
            backoff.failed(exc)
            return 0
        backoff.succeeded()
        return done

    def _signals(self, engine: Any, database: Any) -> int:
        """Pending signal broadcasts: claimed (for ``engine.signals.LEASE``) and run here, or
        handed to workers one by one; a dead runner's are claimed again once its lease ends."""
        from engine.signals import claim_pending, deliver_pending

        if self.dispatch_signals is None:
            return deliver_pending(engine, database)
        with database.unit_of_work() as session:
            ids = claim_pending(session, engine.clock.now())
        for broadcast_id in ids:
            self.dispatch_signals([broadcast_id])
        return len(ids)

    def run_forever(self) -> None:
        while not self.stopped.is_set():
            wait = self.next_pass()
            if wait:
                self.stopped.wait(wait)

    def next_pass(self) -> float:
        """One pass of :meth:`run_forever`; how long to wait before the next: none while there
        is work, the interval when idle, growing delays while the pass keeps failing."""
        try:
            busy = self.run_once()
        except Exception as exc:
            return self.backoff.failed(exc)
        self.backoff.succeeded()
        return 0.0 if busy else self.interval

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="dialflow-timers", daemon=True)
        thread.start()
        return thread


def celery_dispatcher(app: Celery) -> Callable[[list[int]], None]:
    def dispatch(ids: list[int]) -> None:
        app.send_task("dialflow.fire_timers", args=[ids], queue=TIMER_QUEUE)

    return dispatch


def signal_dispatcher(app: Celery) -> Callable[[list[int]], None]:
    """Hands claimed signal broadcasts to the workers (``dialflow.deliver_signals``)."""

    def dispatch(ids: list[int]) -> None:
        app.send_task("dialflow.deliver_signals", args=[ids], queue=TIMER_QUEUE)

    return dispatch


def run_job(rt: Runtime, job_id: int) -> str:
    """Run or resume one import job (the Celery task and the embedded thread both call this)."""
    from crm.imports import run_import
    from processes.telesales import route_imported_leads

    return run_import(
        rt.db,
        job_id,
        region=rt.settings.default_region,
        default_timezone=rt.settings.default_timezone,
        on_batch=route_imported_leads(rt.engine),
    )


def dispatch_job(rt: Runtime, job_id: int) -> None:
    """Start a queued job: on a Celery worker with Redis, else on a thread of this process.

    Nothing is kept in memory: if the dispatch is lost (the process stops), ``JobSweeper``
    finds the job in the database and dispatches it again."""
    if rt.settings.embedded:
        threading.Thread(
            target=_run_logged, args=(rt, job_id), name=f"dialflow-job-{job_id}", daemon=True
        ).start()
    else:
        _producer(rt.settings.redis_url, rt.settings.broker_visibility_seconds).send_task(
            "dialflow.run_job", args=[job_id], queue=IMPORT_QUEUE
        )


def _run_logged(rt: Runtime, job_id: int) -> None:
    try:
        run_job(rt, job_id)
    except Exception as exc:  # the lease expires and the sweeper retries (up to MAX_ATTEMPTS)
        log_failure(log, f"job {job_id} stopped; it will be retried", exc)


@functools.cache
def _producer(redis_url: str | None, visibility_seconds: int) -> Celery:
    app = Celery("dialflow", broker=redis_url, set_as_current=False)
    app.conf.broker_transport_options = transport_options(visibility_seconds)
    return app


class JobSweeper:
    """Every ``interval`` seconds, dispatch jobs nobody works on: queued ones whose dispatch
    was lost and running ones whose runner died (lease expired). They resume after their last
    committed batch. Runs inside ``dialflow serve`` (embedded) or ``dialflow scheduler``."""

    def __init__(
        self,
        rt: Runtime,
        interval: float = 30.0,
        dispatch: Callable[[int], None] | None = None,
    ) -> None:
        self.rt = rt
        self.interval = interval
        self.dispatch = dispatch or (lambda job_id: dispatch_job(rt, job_id))
        self.stopped = threading.Event()
        self.backoff = Backoff("job sweep", log, first=interval, cap=max(DEFAULT_CAP, interval))

    def run_once(self) -> list[int]:
        from crm.jobs import stale_jobs

        with self.rt.db.unit_of_work(read_only=True) as session:
            ids = stale_jobs(session, self.rt.clock.now())
        for job_id in ids:
            self.dispatch(job_id)
        return ids

    def run_forever(self) -> None:
        while not self.stopped.is_set():
            self.stopped.wait(self.next_pass())

    def next_pass(self) -> float:
        """One sweep; how long to wait before the next (growing while sweeps fail)."""
        try:
            self.run_once()
        except Exception as exc:
            return self.backoff.failed(exc)
        self.backoff.succeeded()
        return self.interval

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="dialflow-jobs", daemon=True)
        thread.start()
        return thread


def deliver_webhooks(rt: Runtime, passes: int = WEBHOOK_PASSES) -> int:
    """Send due webhook deliveries, batch after batch while there are any (the Celery task
    and the embedded sender both call this); the number of attempts made."""
    from crm.webhooks.delivery import deliver_due

    sent = 0
    for _ in range(passes):
        made = deliver_due(rt.db, rt.clock.now)
        sent += made
        if not made:
            break
    return sent


class DeliveryPurge:
    """Retention of the webhook delivery log (``crm.webhooks.retention``), run by the pass of
    whichever sweeps deliveries (``WebhookSender`` embedded, ``WebhookSweeper`` with Redis):
    at most every ``every`` seconds, or at the next pass while a backlog remains."""

    def __init__(self, rt: Runtime, every: float = PURGE_EVERY) -> None:
        self.rt = rt
        self.every = every
        self.next_at = 0.0  # monotonic; the first pass purges

    def run_if_due(self) -> int:
        """Delete what has expired if it is time; how many deliveries were deleted."""
        from crm.webhooks.retention import purge_finished

        if time.monotonic() < self.next_at:
            return 0
        deleted, more = purge_finished(
            self.rt.db, self.rt.clock.now(), keep_days=self.rt.settings.webhook_retention_days
        )
        self.next_at = time.monotonic() + (0 if more else self.every)
        if deleted:
            log.info("deleted %s finished webhook deliveries past retention", deleted)
        return deleted


class WebhookSender:
    """Embedded default: sends due webhook deliveries in a thread of ``dialflow serve``,
    woken after each commit that wrote some and every ``interval`` seconds for retries; its
    passes also apply the delivery log's retention."""

    def __init__(self, rt: Runtime, interval: float = 2.0) -> None:
        self.rt = rt
        self.interval = interval
        self.stopped = threading.Event()
        self.purge = DeliveryPurge(rt)
        self.backoff = Backoff("webhook pass", log, first=interval)

    def run_once(self) -> int:
        """One pass: send what is due, then delete expired deliveries if it is time; the
        number of attempts made."""
        sent = deliver_webhooks(self.rt)
        try:
            self.purge.run_if_due()
        except Exception as exc:  # retention can wait; sending must go on
            log_failure(log, "webhook retention pass failed; trying again later", exc)
        return sent

    def run_forever(self) -> None:
        while not self.stopped.is_set():
            self.rt.webhooks_due.clear()
            try:
                sent = self.run_once()
            except Exception as exc:
                # a commit's wake-up does not cut the delay short: the database just failed
                self.stopped.wait(self.backoff.failed(exc))
                continue
            self.backoff.succeeded()
            if not sent:
                self.rt.webhooks_due.wait(self.interval)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="dialflow-webhooks", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopped.set()
        self.rt.webhooks_due.set()


class WebhookSweeper:
    """With Redis, in ``dialflow scheduler``: every ``interval`` seconds, if deliveries are
    due (first attempts a step wrote, retries whose backoff ran out, claims of dead workers),
    queue webhook tasks for the workers; they claim rows with ``SKIP LOCKED``, so extra tasks
    find nothing rather than send twice. Its passes also apply the delivery log's retention."""

    def __init__(
        self,
        rt: Runtime,
        interval: float = 2.0,
        dispatch: Callable[[], None] | None = None,
        most_tasks: int = 4,
    ) -> None:
        self.rt = rt
        self.interval = interval
        self.most_tasks = most_tasks
        self.dispatch = dispatch or (
            lambda: _producer(
                rt.settings.redis_url, rt.settings.broker_visibility_seconds
            ).send_task("dialflow.deliver_webhooks", queue=WEBHOOK_QUEUE)
        )
        self.stopped = threading.Event()
        self.purge = DeliveryPurge(rt)
        self.backoff = Backoff("webhook sweep", log, first=interval)

    def run_once(self) -> int:
        """One pass: queue tasks for the due deliveries (how many were queued), then delete
        expired deliveries if it is time."""
        from crm.webhooks.delivery import due_count

        with self.rt.db.unit_of_work(read_only=True) as session:
            due = due_count(session, self.rt.clock.now())
        tasks = min(self.most_tasks, -(-due // 20)) if due else 0
        for _ in range(tasks):
            self.dispatch()
        try:
            self.purge.run_if_due()
        except Exception as exc:  # retention can wait; queuing must go on
            log_failure(log, "webhook retention pass failed; trying again later", exc)
        return tasks

    def run_forever(self) -> None:
        while not self.stopped.is_set():
            try:
                self.run_once()
            except Exception as exc:
                self.stopped.wait(self.backoff.failed(exc))
                continue
            self.backoff.succeeded()
            self.stopped.wait(self.interval)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.run_forever, name="dialflow-webhook-sweep", daemon=True
        )
        thread.start()
        return thread
