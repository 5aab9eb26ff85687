"""The life of a background job: create, claim with a lease, renew per batch, finish, report.

A runner claims a job by an atomic UPDATE that sets its token and a lease. Every batch locks
the job row, checks the token, writes the batch's records and the new counters, and renews the
lease, all in one transaction: a batch's rows and its progress commit together. A runner that
dies leaves the job ``running`` with an expired lease; the sweeper (``stale_jobs``) hands it
out again and the new runner continues after the last committed row. After ``MAX_ATTEMPTS``
claims the job fails instead of looping on a row that kills its runner.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from crm.models import Job, JobFile, JobKind, JobRow, JobStatus, Role, User
from crm.spreadsheets import excel_safe
from dialflow.errors import NotFound

LEASE = timedelta(seconds=60)
QUEUED_GRACE = timedelta(seconds=15)  # a fresh job is dispatched on submit; don't race that
MAX_ATTEMPTS = 3
MAX_ROWS_PAGE = 500


def new_runner() -> str:
    return uuid.uuid4().hex


def create_job(
    session: Session,
    *,
    kind: JobKind,
    actor: User | None,
    status: JobStatus = JobStatus.QUEUED,
    **values: Any,
) -> Job:
    job = Job(kind=kind, status=status, created_by_id=actor.id if actor else None, **values)
    job.rows_total = values.get("rows_total", 0)
    for counter in ("rows_processed", "rows_created", "rows_duplicate", "rows_error", "attempts"):
        setattr(job, counter, 0)
    session.add(job)
    session.flush()
    return job


def store_file(session: Session, job: Job, purpose: str, data: bytes, content_type: str) -> JobFile:
    row = JobFile(
        job_id=job.id, purpose=purpose, content_type=content_type, size=len(data), data=data
    )
    session.add(row)
    return row


def file_bytes(session: Session, job_id: int, purpose: str) -> bytes | None:
    return session.scalar(
        select(JobFile.data).where(JobFile.job_id == job_id, JobFile.purpose == purpose)
    )


def get_job(session: Session, job_id: int, *, viewer: User | None) -> Job:
    """The job, for its creator and for admins; anyone else gets 404 (its rows hold personal
    data from the file)."""
    job = session.get(Job, job_id)
    if job is None or (
        viewer is not None and viewer.role != Role.ADMIN and job.created_by_id != viewer.id
    ):
        raise NotFound(f"No job #{job_id}.", code="job_not_found")
    return job


def claim(session: Session, job_id: int, runner: str, now: datetime) -> Job | None:
    """Take the job if it is queued or its runner's lease expired; None if someone holds it,
    it is finished, or it has used up its attempts (then it is marked failed)."""
    claimable = and_(
        Job.id == job_id,
        or_(
            Job.status == JobStatus.QUEUED,
            and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
        ),
    )
    job = session.scalar(select(Job).where(claimable))
    if job is None:
        return None
    if job.attempts >= MAX_ATTEMPTS:
        session.execute(
            update(Job)
            .where(claimable)
            .values(
                status=JobStatus.FAILED,
                finished_at=now,
                runner=None,
                lease_until=None,
                message=f"Stopped after {job.attempts} attempts; the last one did not finish.",
            )
        )
        return None
    result = session.execute(
        update(Job)
        .where(claimable)
        .values(
            status=JobStatus.RUNNING,
            runner=runner,
            lease_until=now + LEASE,
            attempts=Job.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    session.refresh(job)
    if job.started_at is None:
        job.started_at = now
    return job


def hold(session: Session, job_id: int, runner: str, now: datetime) -> Job | None:
    """Lock the job row for one batch and renew the lease; None if another runner took it."""
    job = session.scalar(
        select(Job)
        .where(Job.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if job is None or job.runner != runner or job.status != JobStatus.RUNNING:
        return None
    job.lease_until = now + LEASE
    return job


def release_busy(session: Session, job_id: int, runner: str, now: datetime) -> None:
    """The runner's batch found the database busy (``dialflow.db.lock_failure``) and changed
    nothing: the attempt is not counted, and the job is free to be handed out again. A busy
    database is no fault of the file: counted, it failed the job after ``MAX_ATTEMPTS``."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.runner == runner, Job.status == JobStatus.RUNNING)
        .values(attempts=Job.attempts - 1, lease_until=now)
        .execution_options(synchronize_session=False)
    )


def finish(job: Job, now: datetime) -> None:
    job.status = JobStatus.DONE
    job.finished_at = now
    job.runner = None
    job.lease_until = None


def fail(job: Job, message: str, now: datetime) -> None:
    job.status = JobStatus.FAILED
    job.message = message[:2000]
    job.finished_at = now
    job.runner = None
    job.lease_until = None


def stale_jobs(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Jobs nobody is working on: queued for a while (the dispatch was lost, e.g. the web
    process restarted) or running with an expired lease (the runner died)."""
    query = (
        select(Job.id)
        .where(
            or_(
                and_(Job.status == JobStatus.QUEUED, Job.created_at < now - QUEUED_GRACE),
                and_(Job.status == JobStatus.RUNNING, Job.lease_until < now),
            )
        )
        .order_by(Job.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind.value,
        "status": job.status.value,
        "file_name": job.file_name,
        "file_format": job.file_format,
        "encoding": job.encoding,
        "mapping": job.mapping,
        "progress": job.progress,
        "counts": {
            "rows": job.rows_total,
            "processed": job.rows_processed,
            "created": job.rows_created,
            "duplicates": job.rows_duplicate,
            "errors": job.rows_error,
        },
        "message": job.message,
        "attempts": job.attempts,
        "created_by_id": job.created_by_id,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def problem_rows(
    session: Session, job_id: int, *, limit: int = 50, offset: int = 0, outcome: str | None = None
) -> tuple[list[JobRow], int]:
    """The job's duplicate and error rows in file order, one page."""
    query = select(JobRow).where(JobRow.job_id == job_id)
    if outcome:
        query = query.where(JobRow.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(JobRow.row_number, JobRow.id)
        .limit(max(1, min(limit, MAX_ROWS_PAGE)))
        .offset(max(0, offset))
    ).all()
    return list(rows), total


def row_to_dict(row: JobRow) -> dict[str, Any]:
    return {
        "row": row.row_number,
        "outcome": row.outcome.value,
        "field": row.field,
        "message": row.message,
        "existing_customer_id": row.existing_customer_id,
    }


def problems_csv(session: Session, job: Job, headers: Sequence[str] | None = None) -> bytes:
    """Every duplicate and error row as CSV, UTF-8 with a BOM so that Excel shows the Chinese.

    Columns: row, outcome, field, column, message, existing customer id, then the file's own
    cells as read, so the sheet can be fixed and imported again."""
    columns = list(headers or [])
    if not columns:
        for values in session.scalars(
            select(JobRow.values).where(JobRow.job_id == job.id).limit(1)
        ):
            columns = list(values or {})
    field_columns: dict[str, list[str]] = {}
    for column, field in (job.mapping or {}).items():
        if field:
            field_columns.setdefault(field, []).append(column)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["row", "outcome", "field", "column", "message", "existing_customer_id", *columns]
    )
    query = (
        select(JobRow)
        .where(JobRow.job_id == job.id)
        .order_by(JobRow.row_number, JobRow.id)
        .execution_options(yield_per=1000)
    )
    for row in session.scalars(query):
        field = (row.field or "").split("[", 1)[0]
        values = row.values or {}
        writer.writerow(
            [
                row.row_number,
                row.outcome.value,
                row.field or "",
                ", ".join(field_columns.get(field, [])),
                row.message,
                row.existing_customer_id or "",
                *[excel_safe(values.get(c, "")) for c in columns],
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
