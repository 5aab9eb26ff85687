"""Notes and other activities on a customer's timeline."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow


class ActivityKind(enum.StrEnum):
    NOTE = "note"
    VISIT = "visit"
    EMAIL = "email"
    SYSTEM = "system"


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index(None, "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind), default=ActivityKind.NOTE)
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
