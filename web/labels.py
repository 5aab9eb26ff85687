"""Translated labels for enum values shown in pages (roles, lead stages, dispositions)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

ROLE_LABELS = {
    "agent": _l("Agent"),
    "manager": _l("Manager"),
    "director": _l("Director"),
    "process_owner": _l("Process owner"),
    "admin": _l("Administrator"),
}

STAGE_LABELS = {
    "new": lazy_pgettext("lead stage", "New"),
    "contacted": lazy_pgettext("lead stage", "Contacted"),
    "interested": lazy_pgettext("lead stage", "Interested"),
    "opportunity": lazy_pgettext("lead stage", "Opportunity"),
    "customer": lazy_pgettext("lead stage", "Customer"),
    "lost": lazy_pgettext("lead stage", "Lost"),
}


def role_label(value: str) -> str:
    return str(ROLE_LABELS.get(value, value))


def stage_label(value: str) -> str:
    return str(STAGE_LABELS.get(value, value))


DEAL_STAGE_LABELS = {
    "qualification": lazy_pgettext("deal stage", "Qualification"),
    "proposal": lazy_pgettext("deal stage", "Proposal"),
    "negotiation": lazy_pgettext("deal stage", "Negotiation"),
    "approval": lazy_pgettext("deal stage", "Approval"),
    "won": lazy_pgettext("deal stage", "Won"),
    "lost": lazy_pgettext("deal stage", "Lost"),
}

DISPOSITION_LABELS = {
    "connected_interested": _l("Connected, interested"),
    "connected_other": _l("Connected, other"),
    "callback_requested": _l("Callback requested"),
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "voicemail": _l("Voicemail"),
    "wrong_number": _l("Wrong number"),
    "not_interested": _l("Not interested"),
    "do_not_call": _l("Do not call"),
}

TASK_STATUS_LABELS = {
    "open": lazy_pgettext("task status", "Open"),
    "completed": lazy_pgettext("task status", "Completed"),
    "cancelled": lazy_pgettext("task status", "Cancelled"),
}


INSTANCE_STATUS_LABELS = {
    "running": lazy_pgettext("process status", "Running"),
    "waiting": lazy_pgettext("process status", "Waiting"),
    "completed": lazy_pgettext("process status", "Completed"),
    "error": lazy_pgettext("process status", "Stopped by an error"),
    "terminated": lazy_pgettext("process status", "Terminated"),
}

# Recorded changes of a customer other than create/update (``crm.timeline``'s change entries).
CHANGE_LABELS = {
    "claim": _l("Claimed from the public pool"),
    "release_to_pool": _l("Released to the public pool"),
    "assign": _l("Assigned to an agent"),
    "erase": _l("Personal data erased"),
}


def instance_status_label(value: str) -> str:
    return str(INSTANCE_STATUS_LABELS.get(value, value))


def change_label(action: str) -> str | None:
    label = CHANGE_LABELS.get(action)
    return str(label) if label is not None else None


def deal_stage_label(value: str) -> str:
    return str(DEAL_STAGE_LABELS.get(value, value))


def disposition_label(value: str | None) -> str:
    if not value:
        return str(_l("No disposition yet"))
    return str(DISPOSITION_LABELS.get(value, value))


def task_status_label(value: str) -> str:
    return str(TASK_STATUS_LABELS.get(value, value))
