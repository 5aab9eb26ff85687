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


DISPOSITION_LABELS = {
    "connected_interested": _l("Interested"),
    "connected_other": _l("Connected"),
    "callback_requested": _l("Callback requested"),
    "no_answer": _l("No answer"),
    "busy": _l("Busy"),
    "voicemail": _l("Voicemail"),
    "wrong_number": _l("Wrong number"),
    "not_interested": _l("Not interested"),
    "do_not_call": _l("Do not call"),
}


def disposition_label(value: str | None) -> str:
    return str(DISPOSITION_LABELS.get(value or "", value or ""))
