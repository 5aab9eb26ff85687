"""Telesales bookkeeping: editable settings, lead assignments and pool claims.

Assignments and claims are rows, not counters, so daily caps are a COUNT over an index and the
history of who got which lead stays queryable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialflow.db import Base, UTCDateTime, utcnow

GLOBAL_SCOPE = "global"


class Setting(Base):
    """One setting's value for a scope: ``global`` or ``team:<id>`` (a team's override)."""

    __tablename__ = "settings"
    __table_args__ = (UniqueConstraint("key", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(40), default=GLOBAL_SCOPE)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LeadAssignment(Base):
    """A lead given to an agent, by the assignment rule or by hand."""

    __tablename__ = "lead_assignments"
    __table_args__ = (Index(None, "user_id", "assigned_at"), Index(None, "customer_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    strategy: Mapped[str] = mapped_column(String(20))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PoolClaim(Base):
    """An agent taking a lead from the public pool (公海池)."""

    __tablename__ = "pool_claims"
    __table_args__ = (Index(None, "user_id", "claimed_at"), Index(None, "customer_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
