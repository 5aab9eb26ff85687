"""Translated labels for enum values shown in pages (roles, lead stages, dispositions)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "agent": _l("Agent"),
    "manager": _l("Manager"),
    "director": _l("Director"),
    "process_owner": _l("Process owner"),
    "admin": _l("Administrator"),
}

STAGE_LABELS = {
    "new": _l("New"),
    "contacted": _l("Contacted"),
    "interested": _l("Interested"),
    "opportunity": _l("Opportunity"),
    "customer": _l("Customer"),
    "lost": _l("Lost"),
}


def role_label(value: str) -> str:
    return str(ROLE_LABELS.get(value, value))


def stage_label(value: str) -> str:
    return str(STAGE_LABELS.get(value, value))


DEAL_STAGE_LABELS = {
    "qualification": _l("Qualification"),
    "proposal": _l("Proposal"),
    "negotiation": _l("Negotiation"),
    "approval": _l("Approval"),
    "won": _l("Won"),
    "lost": _l("Lost"),
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
    "open": _l("Open"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}


def deal_stage_label(value: str) -> str:
    return str(DEAL_STAGE_LABELS.get(value, value))


def disposition_label(value: str | None) -> str:
    if not value:
        return str(_l("No disposition yet"))
    return str(DISPOSITION_LABELS.get(value, value))


def task_status_label(value: str) -> str:
    return str(TASK_STATUS_LABELS.get(value, value))
