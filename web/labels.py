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
