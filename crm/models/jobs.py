"""Background jobs (customer import and export), their per-row outcomes and their files.

Progress lives in these rows, not in memory: any web process or worker reads the same job, and a
job whose runner died resumes from the last committed batch (``processed``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow


class JobKind(enum.StrEnum):
    IMPORT = "import"
    EXPORT = "export"


class JobStatus(enum.StrEnum):
    DRAFT = "draft"  # uploaded through the wizard, mapping not confirmed yet
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RowOutcome(enum.StrEnum):
    DUPLICATE = "duplicate"
    ERROR = "error"


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "status", "lease_until"),
        Index(None, "created_by_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[JobKind] = mapped_column(str_enum(JobKind, length=12))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, length=12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_format: Mapped[str | None] = mapped_column(String(8))  # csv | xlsx
    encoding: Mapped[str | None] = mapped_column(String(20))
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # column header -> field
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # export filters …
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_processed: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_error: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)  # why a job failed
    runner: Mapped[str | None] = mapped_column(String(40))  # token of the current lease holder
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def progress(self) -> float:
        if self.status == JobStatus.DONE:
            return 1.0
        return round(self.rows_processed / self.rows_total, 4) if self.rows_total else 0.0


class JobRow(Base):
    """A row that did not become a new customer: a duplicate (with the existing id) or an error."""

    __tablename__ = "job_rows"
    __table_args__ = (Index(None, "job_id", "row_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)  # as in the spreadsheet: header is row 1
    outcome: Mapped[RowOutcome] = mapped_column(str_enum(RowOutcome, length=12))
    field: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    existing_customer_id: Mapped[int | None] = mapped_column(Integer)
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the row as read, for the report


class JobFile(Base):
    """The uploaded file of an import, or the produced file of an export; kept in the database so
    that any worker can read it without a shared disk."""

    __tablename__ = "job_files"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12), primary_key=True)  # upload | result
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
