"""Customers (persons or companies), their phone numbers, tags and contacts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.types import str_enum
from dialflow.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from crm.models.users import User


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"


class PoolStatus(enum.StrEnum):
    """Whether a lead has an owner or waits in the public pool (公海池)."""

    OWNED = "owned"
    POOL = "pool"


class LeadStage(enum.StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    LOST = "lost"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index(None, "owner_id", "updated_at"),
        Index(None, "team_id", "pool_status"),
        Index(None, "pool_status", "last_contact_at"),
        Index(None, "stage"),
        Index(None, "name"),
        Index(None, "email"),
        Index(None, "updated_at", "id"),  # lists are newest first: read in order, stop at a page
        Index(None, "created_at"),  # the analytics lead funnel's cohort
        # Email search ignores case (SQLite cannot reflect expression indexes: PostgreSQL only).
        Index("ix_customers_lower_email", text("lower(email)")).ddl_if(dialect="postgresql"),
        # PostgreSQL also has GIN indexes on dialflow_grams(name) and (company), and pg_trgm
        # ones on name and customer_phones.e164: raw SQL in the migrations, see 0007.
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[CustomerKind] = mapped_column(str_enum(CustomerKind), default=CustomerKind.PERSON)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(400))
    region: Mapped[str | None] = mapped_column(String(80))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    source: Mapped[str | None] = mapped_column(String(80))
    stage: Mapped[LeadStage] = mapped_column(str_enum(LeadStage), default=LeadStage.NEW)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    pool_status: Mapped[PoolStatus] = mapped_column(str_enum(PoolStatus), default=PoolStatus.OWNED)
    protected_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pool_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent: Mapped[bool] = mapped_column(Boolean, default=True)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    dnc_reason: Mapped[str | None] = mapped_column(String(200))
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPhone.position"
    )
    tag_rows: Mapped[list[CustomerTag]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerTag.tag"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def primary_phone(self) -> str | None:
        return self.phones[0].e164 if self.phones else None

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class CustomerPhone(Base):
    """A customer's number in E.164; indexed so that search and duplicate checks are exact."""

    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True, unique=True)
    label: Mapped[str] = mapped_column(String(20), default="mobile")
    position: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship(back_populates="phones")

    __table_args__ = (Index(None, "customer_id", "position"),)


class CustomerTag(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)

    customer: Mapped[Customer] = relationship(back_populates="tag_rows")


class Contact(Base):
    """A person to talk to at a (company) customer."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(120))
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")
