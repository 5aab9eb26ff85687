"""A job's task handed out twice by Redis (its visibility timeout ran out while the first run
still worked, or a worker restored it) does not run the job twice: the job's lease stops the
second run, which answers the job's status and changes nothing. The visibility timeout itself
comes from ``DIALFLOW_BROKER_VISIBILITY_SECONDS`` (12 hours by default, past the longest
import), not Redis' default hour, and reaches the Redis transport of the workers' app."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from crm import imports
from crm.models import Customer, Job, JobStatus
from dialflow.background import celery_app, dispatch_job
from dialflow.errors import ConfigurationError
from dialflow.runtime import Runtime
from dialflow.settings import Settings
from tests.conftest import count
from tests.crm.test_imports import manager, submit
from tests.engine.test_celery import celery_env, processes, redis_url, wait_for
from tests.sheets import csv_bytes

__all__ = [
    "celery_env",
    "manager",
    "processes",
    "redis_url",
]  # fixtures of test_imports.py and test_celery.py (Redis)

WORKER = Path(__file__).with_name("import_worker.py")
ROWS = [["姓名", "手机"], ["张三", "13800138000"], ["李四", "13900139000"], ["王五", "13700137000"]]


def test_a_redelivered_import_task_does_not_run_the_job_twice(db, runtime, manager, monkeypatch):
    job_id = submit(db, manager, csv_bytes(ROWS))
    run_job = celery_app(runtime).tasks["dialflow.run_job"]  # what a worker runs per delivery
    reading, release = threading.Event(), threading.Event()
    rows_of = imports.mapped_rows

    def held_rows(sheet: Any, mapping: Any) -> Iterator[Any]:
        for number, row in enumerate(rows_of(sheet, mapping)):
            if number == 1 and threading.current_thread().name == "first-delivery":
                reading.set()  # the job claimed, its lease held, its first batch being read
                assert release.wait(30)
            yield row

    monkeypatch.setattr(imports, "mapped_rows", held_rows)
    results: dict[str, str] = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", run_job(job_id)), name="first-delivery"
    )
    first.start()
    try:
        assert reading.wait(30), "the first run did not start"
        # The same task delivered again while the first run holds the job.
        assert run_job(job_id) == "running"
        with db() as session:
            job = session.get(Job, job_id)
            assert (job.status, job.attempts, job.rows_processed) == (JobStatus.RUNNING, 1, 0)
            assert count(session, Customer) == 0
    finally:
        release.set()
        first.join(30)
    assert results["first"] == "done"
    assert run_job(job_id) == "done"  # delivered again once finished: nothing runs
    with db() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.attempts) == (JobStatus.DONE, 1)
        assert (job.rows_processed, job.rows_created, job.rows_duplicate) == (3, 3, 0)
        assert count(session, Customer) == 3


def test_the_broker_visibility_timeout_is_a_setting(test_env):
    assert Settings.from_env(test_env).broker_visibility_seconds == 12 * 3600
    env = {**test_env, "DIALFLOW_BROKER_VISIBILITY_SECONDS": "28800"}
    assert Settings.from_env(env).broker_visibility_seconds == 28800
    for wrong in ("30", "eight hours", "999999999"):
        env = {**test_env, "DIALFLOW_BROKER_VISIBILITY_SECONDS": wrong}
        with pytest.raises(ConfigurationError) as refused:
            Settings.from_env(env)
        assert "DIALFLOW_BROKER_VISIBILITY_SECONDS must be a whole number of seconds" in str(
            refused.value.message
        )


def test_the_workers_redis_transport_takes_the_visibility_timeout(runtime, redis_url):
    settings = replace(runtime.settings, redis_url=redis_url, broker_visibility_seconds=28800)
    worker_runtime = Runtime.build(settings)
    try:
        app = celery_app(worker_runtime)
        with app.connection_for_read() as connection:
            channel = connection.default_channel  # what restores unacknowledged tasks
            assert channel.visibility_timeout == 28800
            assert channel.qos.visibility_timeout == 28800
    finally:
        worker_runtime.close()


@pytest.mark.redis
@pytest.mark.slow
def test_a_real_worker_redelivery_while_the_first_holds_the_job_runs_it_once(
    runtime, db, manager, processes, tmp_path, redis_url
):
    """Two real workers: the first takes the import task and works (held between batches);
    past the visibility timeout (2 s here) the second worker's start hands the unacknowledged
    task to it, and the job's lease makes that run a no-op; the first finishes the job."""
    job_id = submit(db, manager, csv_bytes(ROWS))
    marker, release = tmp_path / "claimed", tmp_path / "release"
    processes.start("worker-1", sys.executable, WORKER, marker, release, 2, 1)
    producer = Runtime.build(replace(runtime.settings, redis_url=redis_url))
    try:
        dispatch_job(producer, job_id)
    finally:
        producer.close()
    wait_for(marker.exists, 60, "worker 1 to claim the job", processes)
    time.sleep(2.5)  # past the visibility timeout: the task counts as lost
    processes.start("worker-2", sys.executable, WORKER, marker, release, 2, 0)

    def results(name: str) -> list[str]:
        return re.findall(r"run_job\[\S+\] succeeded in \S+s: '(\w+)'", processes.log(name))

    wait_for(lambda: results("worker-2"), 60, "worker 2 to get the task again", processes)
    assert results("worker-2") == ["running"]  # the lease refused it: nothing ran
    assert len(marker.read_text().split()) == 1  # one run read the rows
    with db() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.attempts, job.rows_processed) == (JobStatus.RUNNING, 1, 0)
    release.touch()
    wait_for(lambda: results("worker-1"), 30, "worker 1 to finish", processes)
    assert results("worker-1") == ["done"]
    with db() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.attempts, job.rows_created) == (JobStatus.DONE, 1, 3)
        assert count(session, Customer) == 3
    assert "Traceback" not in processes.logs()
