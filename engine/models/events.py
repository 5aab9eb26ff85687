"""What instances wait for (timers, messages) and the messages received, for fast matching."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dialflow.db import Base, UTCDateTime, utcnow


class EventWait(Base):
    """One event an instance waits for; rewritten after every step from the workflow's waits.

    Messages are matched by ``(kind, name, business_key)`` or, for a message that names
    correlation values, ``(kind, name, correlation_property, correlation_key)`` without
    loading any workflow, a
    signal's broadcast pages through ``(kind, name, instance_id)``; timers also keep their due
    time here (the earliest is copied to the instance row).
    """

    __tablename__ = "event_waits"
    __table_args__ = (
        Index(None, "kind", "name", "business_key"),
        Index(None, "kind", "name", "correlation_property", "correlation_key"),  # keyed messages
        Index(None, "kind", "name", "instance_id"),  # a signal's waiting instances, by page
        Index(None, "instance_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # timer, message, signal, ...
    name: Mapped[str | None] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(120))
    # A message wait's correlation (``engine.wait_keys``): the message must carry this value
    # of this property to be caught here (a Camunda 8 subscription's key: ``correlationKey``),
    # as text; None when the catch takes any value or its value is not known.
    correlation_property: Mapped[str | None] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The messages still buffered for an instance to start waiting for them
# (``engine.message_buffer``): partial, so a buffer taken or never used costs the index nothing.
BUFFERED = "status = 'unmatched' AND buffered_until IS NOT NULL"


class ReceivedMessage(Base):
    """Every message sent to the API, delivered or not; ``message_id`` makes delivery idempotent."""

    __tablename__ = "received_messages"
    __table_args__ = (
        Index(None, "name", "received_at"),
        Index(None, "status"),
        Index(
            "ix_received_messages_buffered",
            "name",
            "business_key",
            "correlation_property",
            "correlation_key",
            sqlite_where=text(BUFFERED),
            postgresql_where=text(BUFFERED),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(120))
    correlation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    delivered_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Waiting instances that could not take it: [{"instance_id", "message"}] (their keys).
    refused: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # delivered, unmatched; thrown ones: queued, then delivered, unmatched or failed (error)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sent with a time to live and taken by no instance yet: an instance that starts waiting
    # for it before then takes it (``engine.message_buffer``); None for every other message.
    buffered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A kept message's one correlation value (``wait_keys.carried``), as a wait stores its own:
    # a step finds the kept messages for its wait's value by index. None when it carries none
    # or several (then each wait takes or refuses it itself).
    correlation_property: Mapped[str | None] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(200))
