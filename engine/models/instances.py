"""Process instances (state without the spec) and their incidents."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow
from engine.models.deployments import ProcessVersion


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"  # has human work open
    WAITING = "waiting"  # waits only for timers or messages
    COMPLETED = "completed"
    ERROR = "error"  # an open incident stops it until retried
    TERMINATED = "terminated"

    @property
    def is_final(self) -> bool:
        return self in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED)


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index(None, "process_id", "status"),
        Index(None, "business_key"),
        Index(None, "version_id", "status"),
        Index(None, "next_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id", ondelete="RESTRICT"))
    business_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[InstanceStatus] = mapped_column(str_enum(InstanceStatus))
    state: Mapped[str] = mapped_column(Text)  # serialized workflow JSON, spec excluded
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # latest data, for reads
    waiting: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The path the pruned task tree no longer holds, for the instance view (engine/pruning.py):
    # {"elements": [completed element ids], "flows": [[from element, to element], ...]}.
    trail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the scheduler when it hands a due instance to a worker; a worker that dies leaves
    # it to expire, and the instance is handed out again.
    fire_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)

    version: Mapped[ProcessVersion] = relationship()
    incidents: Mapped[list[Incident]] = relationship(
        back_populates="instance", order_by="Incident.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": lock_version}


class Incident(Base):
    """A failed script, handler or gateway that stopped an instance until someone retries it."""

    __tablename__ = "incidents"
    __table_args__ = (Index(None, "instance_id", "resolved_at"), Index(None, "resolved_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # script_error, handler_error, gateway, ...
    message: Mapped[str] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # When the diagram asks for retries (spiffworkflow:retry), the next automatic attempt.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instance: Mapped[ProcessInstance] = relationship(back_populates="incidents")
