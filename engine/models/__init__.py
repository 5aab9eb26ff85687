"""The engine's tables. Importing this package registers them with the shared metadata."""

from engine.models.deployments import DecisionTag, FormTag, ModelBundle, ProcessVersion
from engine.models.events import EventWait, ReceivedMessage
from engine.models.instances import Incident, InstanceStatus, ProcessInstance
from engine.models.signals import SignalBroadcast, SignalDelivery
from engine.models.work_items import WorkItem, WorkItemCandidate, WorkItemStatus

__all__ = [
    "DecisionTag",
    "EventWait",
    "FormTag",
    "Incident",
    "InstanceStatus",
    "ModelBundle",
    "ProcessInstance",
    "ProcessVersion",
    "ReceivedMessage",
    "SignalBroadcast",
    "SignalDelivery",
    "WorkItem",
    "WorkItemCandidate",
    "WorkItemStatus",
]
