"""Celery for background work when ``REDIS_URL`` is set.

Tasks are thin: they receive ids, open their own unit of work and call a use case. Periodic
work is listed once, in ``PERIODIC_JOBS``; ``dialflow scheduler`` (Celery beat) enqueues it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery

from dialflow.runtime import Runtime

# name -> (task name, interval, queue); the engine's timer scan and sweeps are added here.
PERIODIC_JOBS: dict[str, tuple[str, timedelta, str]] = {}
QUEUES = ("default", "timers", "messages", "imports")


def celery_app(rt: Runtime) -> Celery:
    app = Celery("dialflow", broker=rt.settings.redis_url, set_as_current=True)
    app.conf.update(
        task_acks_late=True,  # a worker killed mid-task leaves the message for another worker
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        task_queues=None,
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        beat_schedule=_beat_schedule(),
    )
    app.conf.dialflow_runtime = rt
    return app


def _beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        name: {"task": task, "schedule": interval, "options": {"queue": queue}}
        for name, (task, interval, queue) in PERIODIC_JOBS.items()
    }
