"""Call events received from a PBX or dialer, kept once per event id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dialflow.db import Base, UTCDateTime, utcnow


class TelephonyEvent(Base):
    """One received event; the unique ``event_id`` makes a redelivered event a no-op."""

    __tablename__ = "telephony_events"
    __table_args__ = (Index(None, "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(120), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
