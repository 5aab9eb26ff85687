"""Signals broadcast to every instance waiting for them: the broadcasts (the outbox of thrown
signals too) and, per broadcast, each instance reached and each instance started."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dialflow.db import Base, UTCDateTime, utcnow


class SignalBroadcast(Base):
    """One signal to deliver to every waiting catch and signal start event of its name.

    Sent to the API (``signal_id`` makes it idempotent) or thrown by an instance
    (``source_instance_id``, written in the thrower's step as an outbox row). ``pending``
    until every waiting instance of its name has been offered it (``offered_up_to``: the last
    instance id offered, in id order) and the processes it starts were started; a runner
    holds it until ``claimed_until``, and a runner that died leaves it to be claimed again.
    """

    __tablename__ = "signal_broadcasts"
    __table_args__ = (Index(None, "status", "claimed_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signal_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[Any | None] = mapped_column(JSON)
    # The instance that threw it (it caught it itself in the throwing step): never offered.
    source_instance_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # pending, delivered
    offered_up_to: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignalDelivery(Base):
    """One instance a broadcast reached (``process_id`` null) or started (``process_id`` set):
    written in that instance's own step transaction, so each is reached or started once."""

    __tablename__ = "signal_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "instance_id"),
        UniqueConstraint("broadcast_id", "process_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("signal_broadcasts.id", ondelete="CASCADE")
    )
    instance_id: Mapped[int] = mapped_column(Integer)
    process_id: Mapped[str | None] = mapped_column(String(120))
