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
from crm.models.telephony import TelephonyEvent
from crm.models.telesales import GLOBAL_SCOPE, LeadAssignment, PoolClaim, Setting
from crm.models.users import ApiToken, Role, Team, User
from crm.models.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookSubscription,
    WebhookSubscriptionEvent,
)

__all__ = [
    "GLOBAL_SCOPE",
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
    "DeliveryStatus",
    "Disposition",
    "Job",
    "JobFile",
    "JobKind",
    "JobRow",
    "JobStatus",
    "LeadAssignment",
    "LeadStage",
    "Notification",
    "PoolClaim",
    "PoolStatus",
    "Role",
    "RowOutcome",
    "Setting",
    "Team",
    "TelephonyEvent",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "WebhookSubscriptionEvent",
]
