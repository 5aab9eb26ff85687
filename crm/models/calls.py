"""The call log: every call, its outcome (disposition) and its recording."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow


class CallDirection(enum.StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Disposition(enum.StrEnum):
    """What came of a call; the call cadence process branches on it."""

    CONNECTED_INTERESTED = "connected_interested"
    CONNECTED_OTHER = "connected_other"
    CALLBACK_REQUESTED = "callback_requested"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    NOT_INTERESTED = "not_interested"
    DO_NOT_CALL = "do_not_call"

    @property
    def connected(self) -> bool:
        return self in CONNECTED_DISPOSITIONS


CONNECTED_DISPOSITIONS = frozenset(
    {
        Disposition.CONNECTED_INTERESTED,
        Disposition.CONNECTED_OTHER,
        Disposition.CALLBACK_REQUESTED,
        Disposition.NOT_INTERESTED,
        Disposition.DO_NOT_CALL,
        Disposition.WRONG_NUMBER,
    }
)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index(None, "customer_id", "started_at"),
        Index(None, "agent_id", "started_at"),
        Index(None, "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    direction: Mapped[CallDirection] = mapped_column(
        str_enum(CallDirection), default=CallDirection.OUTBOUND
    )
    number: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition))
    notes: Mapped[str | None] = mapped_column(Text)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
