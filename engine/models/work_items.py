"""Human tasks, materialized after every step so the inbox never deserializes a workflow."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow


class WorkItemStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the engine withdrew it (boundary event, termination, migration)


class WorkItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        Index(None, "assignee_id", "status", "due_at"),
        Index(None, "status", "due_at"),
        Index(None, "instance_id", "status"),
        Index(None, "business_key", "status"),
        # Analytics: cycle times of the work completed in a period. Partial: opening an item
        # (every step that reaches a user task) writes nothing to it, only its completion.
        Index(
            None,
            "completed_at",
            sqlite_where=text("completed_at IS NOT NULL"),
            postgresql_where=text("completed_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(120))
    element_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(120))
    business_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[WorkItemStatus] = mapped_column(str_enum(WorkItemStatus))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When to look at the task again (``zeebe:taskSchedule followUpDate``): shown, not enforced.
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # What the task is to the inbox ("callback", "call", ...): the task's ``kind`` property.
    kind: Mapped[str | None] = mapped_column(String(40))
    form_name: Mapped[str | None] = mapped_column(String(200))
    form_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    instructions: Mapped[str | None] = mapped_column(String(2000))
    # The values its form starts with that the instance's data does not hold: the item a
    # multi-instance task is for ("call customer 3 of 5": customer 3's name and phone).
    item_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Its place among the items its step opened, in the order of the process's tree: the
    # instances of a multi-instance activity open in one step, at one instant, and are listed
    # in the order of their items (contact 1, 2, 3), not by their random ids.
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    candidates: Mapped[list[WorkItemCandidate]] = relationship(
        back_populates="work_item", cascade="all, delete-orphan"
    )

    @property
    def candidate_names(self) -> list[str]:
        return sorted(c.name for c in self.candidates)


class WorkItemCandidate(Base):
    """Who may claim an item: ``user:<username>`` or ``group:<role or team>``."""

    __tablename__ = "work_item_candidates"
    # Name first: the inbox looks up a user's groups and reads the item ids from the index.
    __table_args__ = (Index(None, "name", "work_item_id"),)

    work_item_id: Mapped[str] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(160), primary_key=True)

    work_item: Mapped[WorkItem] = relationship(back_populates="candidates")
