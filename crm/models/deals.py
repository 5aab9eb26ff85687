"""Opportunities (deals) and the history of their stages."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from crm.models.customers import Customer


class DealStage(enum.StrEnum):
    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    APPROVAL = "approval"
    WON = "won"
    LOST = "lost"

    @property
    def is_closed(self) -> bool:
        return self in (DealStage.WON, DealStage.LOST)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index(None, "owner_id", "stage"),
        Index(None, "team_id", "stage"),
        Index(None, "stage", "expected_close"),
        Index(None, "closed_at"),
        Index(None, "created_at"),  # the analytics funnel's cohort
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[DealStage] = mapped_column(str_enum(DealStage), default=DealStage.QUALIFICATION)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    expected_close: Mapped[date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()
    stage_changes: Mapped[list[DealStageChange]] = relationship(
        back_populates="deal", cascade="all, delete-orphan", order_by="DealStageChange.changed_at"
    )


class DealStageChange(Base):
    """One move of a deal from a stage to another; the pipeline's history and cycle times."""

    __tablename__ = "deal_stage_changes"
    __table_args__ = (Index(None, "deal_id", "changed_at"), Index(None, "to_stage", "changed_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    from_stage: Mapped[DealStage | None] = mapped_column(str_enum(DealStage, name="from_stage"))
    to_stage: Mapped[DealStage] = mapped_column(str_enum(DealStage, name="to_stage"))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)

    deal: Mapped[Deal] = relationship(back_populates="stage_changes")
