"""The engine's tables. Importing this package registers them with the shared metadata."""

from engine.models.deployments import ModelBundle, ProcessVersion
from engine.models.instances import Incident, InstanceStatus, ProcessInstance
from engine.models.work_items import WorkItem, WorkItemCandidate, WorkItemStatus

__all__ = [
    "Incident",
    "InstanceStatus",
    "ModelBundle",
    "ProcessInstance",
    "ProcessVersion",
    "WorkItem",
    "WorkItemCandidate",
    "WorkItemStatus",
]
