"""Typed SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from crm.models.activities import Activity, ActivityKind
from crm.models.audit import AuditEntry
from crm.models.calls import Call, CallDirection, Disposition
from crm.models.customers import (
    Contact,
    Customer,
    CustomerKind,
    CustomerPhone,
    CustomerTag,
    LeadStage,
    PoolStatus,
)
from crm.models.deals import Deal, DealStage, DealStageChange
from crm.models.jobs import Job, JobFile, JobKind, JobRow, JobStatus, RowOutcome
from crm.models.notifications import Notification
from crm.models.users import ApiToken, Role, Team, User

__all__ = [
    "Activity",
    "ActivityKind",
    "ApiToken",
    "AuditEntry",
    "Call",
    "CallDirection",
    "Contact",
    "Customer",
    "CustomerKind",
    "CustomerPhone",
    "CustomerTag",
    "Deal",
    "DealStage",
    "DealStageChange",
    "Disposition",
    "Job",
    "JobFile",
    "JobKind",
    "JobRow",
    "JobStatus",
    "LeadStage",
    "Notification",
    "PoolStatus",
    "Role",
    "RowOutcome",
    "Team",
    "User",
]
