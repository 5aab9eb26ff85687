"""Webhooks out: admin-managed subscriptions and the outbox of deliveries to them.

A delivery row is written in the same transaction as the business change it reports (see
``crm.webhooks.outbox``), so a rolled-back change sends nothing and a committed one is sent
after commit, with retries, by whichever worker claims the row.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at (first attempt or a retry)
    SENDING = "sending"  # claimed by a worker until next_attempt_at (its lease)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # attempts exhausted, or the subscription was disabled


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    # Signs every delivery (HMAC-SHA256); shown once when created or rotated, never listed.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event_rows: Mapped[list[WebhookSubscriptionEvent]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="WebhookSubscriptionEvent.event_type",
    )

    @property
    def event_types(self) -> list[str]:
        return [row.event_type for row in self.event_rows]


class WebhookSubscriptionEvent(Base):
    """One event type a subscription wants; the outbox joins on it (``event_type`` index)."""

    __tablename__ = "webhook_subscription_events"
    __table_args__ = (Index(None, "event_type"),)

    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    event_type: Mapped[str] = mapped_column(String(60), primary_key=True)


class WebhookDelivery(Base):
    """One event for one subscription, with its delivery log (attempts, last answer)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index(None, "status", "next_attempt_at"),  # the sweep: due pending and expired claims
        Index(None, "subscription_id", "created_at"),  # a subscription's recent deliveries
        Index(None, "status", "created_at"),  # retention: old finished deliveries (0011)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(36))  # the same for every subscription
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # {id, type, occurred_at, data}
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, length=12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
