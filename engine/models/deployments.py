"""Deployed models: a content-addressed bundle of files, and one version per process in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dialflow.db import Base, UTCDateTime, utcnow


class ModelBundle(Base):
    """The files of one deploy (BPMN, DMN, JSON-Schema forms), stored once, keyed by content."""

    __tablename__ = "model_bundles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    bpmn: Mapped[dict[str, str]] = mapped_column(JSON)  # file name -> XML
    dmn: Mapped[dict[str, str]] = mapped_column(JSON)
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name -> JSON Schema
    # Bundles whose processes this one's call activities use (resolved when deployed).
    dependencies: Mapped[list[int]] = mapped_column(JSON, default=list)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(20), default="api")  # api, cli, startup, modeler

    versions: Mapped[list[ProcessVersion]] = relationship(back_populates="bundle")


class ProcessVersion(Base):
    """Version N of an executable process; running instances stay on the version they began."""

    __tablename__ = "process_versions"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "bundle_id"),
        Index(None, "bundle_id"),
        # A call activity bound by ``versionTag``: the newest version of a process with a tag.
        Index(None, "process_id", "version_tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("model_bundles.id", ondelete="RESTRICT"))
    bpmn_file: Mapped[str] = mapped_column(String(200))
    # The process's version tag as deployed (``<zeebe:versionTag value>``, ``camunda:versionTag``).
    version_tag: Mapped[str | None] = mapped_column(String(200))
    # Names of the messages whose arrival starts an instance (message start events).
    start_messages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Names of the signals that start an instance (signal start events of the process).
    start_signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A timer start event with a literal date, duration or cycle: when the scheduler starts
    # the next instance, and how many cycles remain (None: unbounded). Latest version only.
    start_timer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    next_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    starts_left: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    bundle: Mapped[ModelBundle] = relationship(back_populates="versions")


class DecisionTag(Base):
    """A DMN decision of a deploy carrying a version tag (``<zeebe:versionTag value>`` in the
    decision's extensionElements, ``camunda:versionTag``): a business rule task bound by
    ``versionTag`` calls the decision of the newest bundle holding it with that tag. Decisions
    are files of a bundle, not rows of their own, so the tag is kept here."""

    __tablename__ = "decision_tags"
    __table_args__ = (
        UniqueConstraint("bundle_id", "decision_id"),
        Index(None, "decision_id", "version_tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("model_bundles.id", ondelete="CASCADE"))
    decision_id: Mapped[str] = mapped_column(String(200))
    version_tag: Mapped[str] = mapped_column(String(200))


class FormTag(Base):
    """A Camunda Form (``.form`` file) of a deploy carrying a version tag (form-js writes it as
    the JSON's top-level ``"versionTag"``): a user task bound by ``versionTag``
    (``<zeebe:formDefinition bindingType="versionTag">``) shows the form of the newest bundle
    holding that id with that tag. Forms are files of a bundle, not rows of their own, so the
    tag is kept here, as ``DecisionTag`` keeps a decision's."""

    __tablename__ = "form_tags"
    __table_args__ = (
        UniqueConstraint("bundle_id", "form_id"),
        Index(None, "form_id", "version_tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("model_bundles.id", ondelete="CASCADE"))
    form_id: Mapped[str] = mapped_column(String(200))
    version_tag: Mapped[str] = mapped_column(String(200))
