"""The CRM's validation messages in the reader's language.

Services never import Flask, so they write their messages in English. The pages show them
through :func:`localize`, which knows the messages the services write (as patterns with named
parts) and translates them with Flask-Babel; a message it does not know is shown as written.
Keep each pattern next to the service message it matches when either changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext, lazy_gettext

_l = lazy_gettext

# (pattern of the English message, its translatable template with the same named parts)
PATTERNS: list[tuple[re.Pattern[str], Callable[[], str]]] = [
    (re.compile(p), t)
    for p, t in [
        (r"^This field is required\.$", lambda: _l("This field is required.")),
        (r"^A note needs some text\.$", lambda: _l("A note needs some text.")),
        (
            r"^This \.xlsx file is damaged near row (?P<row>\d+) and cannot be read \(\w+\)\. "
            r"Open it in Excel or WPS, save it again and upload it again\.$",
            lambda: _l(
                "This .xlsx file is damaged near row %(row)s and cannot be read. "
                "Open it in Excel or WPS, save it again and upload it again."
            ),
        ),
        (
            r"^A note holds at most (?P<count>\d+) characters\.$",
            lambda: _l("A note holds at most %(count)s characters."),
        ),
        (r"^This field cannot be empty\.$", lambda: _l("This field cannot be empty.")),
        (r"^A phone number is required\.$", lambda: _l("A phone number is required.")),
        (
            r"^Only the customer's owner, their manager, directors and administrators may "
            r"change the phone numbers\.$",
            lambda: _l(
                "Only the customer's owner, their manager, directors and administrators may "
                "change the phone numbers."
            ),
        ),
        (
            r"^(?P<value>'.*') is not a valid phone number\.$",
            lambda: _l("%(value)s is not a valid phone number."),
        ),
        (
            r"^(?P<value>'.*') is not an email address\.$",
            lambda: _l("%(value)s is not an email address."),
        ),
        (r"^At most (?P<count>\d+) characters\.$", lambda: _l("At most %(count)s characters.")),
        (r"^Must be a number\.$", lambda: _l("Must be a number.")),
        (r"^Must be text\.$", lambda: _l("Must be text.")),
        (r"^Must be true or false\.$", lambda: _l("Must be true or false.")),
        (
            r"^Must be a date such as 2026-05-01\.$",
            lambda: _l("Must be a date such as 2026-05-01."),
        ),
        (
            r"^Must be between (?P<low>\S+) and (?P<high>\S+)\.$",
            lambda: _l("Must be between %(low)s and %(high)s."),
        ),
        (r"^Must be at least (?P<low>\S+)\.$", lambda: _l("Must be at least %(low)s.")),
        (
            r"^Unknown value (?P<value>.+); use one of: (?P<allowed>.+)\.$",
            lambda: _l("Unknown value %(value)s; use one of: %(allowed)s."),
        ),
        (
            r"^Give a phone number or an email address\.$",
            lambda: _l("Give a phone number or an email address."),
        ),
        (
            r"^Customer #(?P<id>\d+) \((?P<name>.*)\) already has this phone\.$",
            lambda: _l("Customer #%(id)s (%(name)s) already has this phone number."),
        ),
        (
            r"^Customer #(?P<id>\d+) \((?P<name>.*)\) already has this email\.$",
            lambda: _l("Customer #%(id)s (%(name)s) already has this email address."),
        ),
        (
            r"^Same phone as customer #(?P<id>\d+) \((?P<name>.*)\)\.$",
            lambda: _l("Same phone number as customer #%(id)s (%(name)s)."),
        ),
        (
            r"^Same email as customer #(?P<id>\d+) \((?P<name>.*)\)\.$",
            lambda: _l("Same email address as customer #%(id)s (%(name)s)."),
        ),
        (
            r"^Same phone as row (?P<row>\d+) of this file \(customer #(?P<id>\d+)\)\.$",
            lambda: _l("Same phone number as row %(row)s of this file (customer #%(id)s)."),
        ),
        (
            r"^Same phone as row (?P<row>\d+) of this file\.$",
            lambda: _l("Same phone number as row %(row)s of this file."),
        ),
        (
            r"^Same email as row (?P<row>\d+) of this file\.$",
            lambda: _l("Same email address as row %(row)s of this file."),
        ),
        (
            r"^Same email as row (?P<row>\d+) of this file \(customer #(?P<id>\d+)\)\.$",
            lambda: _l("Same email address as row %(row)s of this file (customer #%(id)s)."),
        ),
    ]
]


# Titles the shipped processes give their tasks (``bpmn/*.bpmn``: each user task's ``title``
# property, else its name) and deals (``crm.create_opportunity``'s ``title``): English in the
# database and the API, shown by the pages in the reader's language. Task titles are keyed by
# process and element, so a title someone else's diagram happens to start with "Call " stays
# as written. A part named ``title`` is a deal title, itself localized.
Patterns = list[tuple[re.Pattern[str], Callable[[], str]]]


def _patterns(pairs: list[tuple[str, Callable[[], str]]]) -> Patterns:
    return [(re.compile(p), t) for p, t in pairs]


_APPROVE = [
    (
        r"^Approve (?P<pct>[\d.]+)% off: (?P<title>.+)$",
        lambda: _l("Approve %(pct)s%% off: %(title)s"),
    ),
    (
        r"^Escalated: approve (?P<pct>[\d.]+)% off: (?P<title>.+)$",
        lambda: _l("Escalated: approve %(pct)s%% off: %(title)s"),
    ),
]
TASK_TITLES: dict[tuple[str, str], Patterns] = {
    ("call_cadence", "call"): _patterns(
        [
            (r"^Call the customer$", lambda: _l("Call the customer")),
            (r"^Call (?P<name>.+)$", lambda: _l("Call %(name)s")),
        ]
    ),
    ("after_sale", "call"): _patterns(
        [
            (r"^After-sale call$", lambda: _l("After-sale call")),
            (
                r"^After-sale call \((?P<label>[^)]*)\): (?P<name>.+)$",
                lambda: _l("After-sale call (%(label)s): %(name)s"),
            ),
        ]
    ),
    ("after_sale", "recover"): _patterns(
        [
            (
                r"^Service recovery: low satisfaction$",
                lambda: _l("Service recovery: low satisfaction"),
            ),
            (
                r"^Low satisfaction \((?P<score>[^)]*)/5\): (?P<name>.+)$",
                lambda: _l("Low satisfaction (%(score)s/5): %(name)s"),
            ),
        ]
    ),
    ("deal_approval", "approve_manager"): _patterns(
        [
            (r"^Approve the discount \(manager\)$", lambda: _l("Approve the discount (manager)")),
            *_APPROVE,
        ]
    ),
    ("deal_approval", "approve_director"): _patterns(
        [
            (r"^Approve the discount \(director\)$", lambda: _l("Approve the discount (director)")),
            *_APPROVE,
        ]
    ),
    ("deal_approval", "approve_escalated"): _patterns(
        [
            (
                r"^Approve the discount \(escalated\)$",
                lambda: _l("Approve the discount (escalated)"),
            ),
            *_APPROVE,
        ]
    ),
    ("deal_approval", "revise"): _patterns(
        [
            (r"^Revise the quote$", lambda: _l("Revise the quote")),
            (r"^Revise the quote: (?P<title>.+)$", lambda: _l("Revise the quote: %(title)s")),
        ]
    ),
}
DEAL_TITLES: Patterns = _patterns(
    [(r"^Opportunity: (?P<name>.+)$", lambda: _l("Opportunity: %(name)s"))]
)


def _apply(text: str, patterns: Patterns) -> str | None:
    for pattern, template in patterns:
        found = pattern.match(text)
        if found:
            parts = found.groupdict()
            if "title" in parts:
                parts["title"] = deal_title(parts["title"])
            return str(template()) % parts if parts else str(template())
    return None


def task_title(item: Any) -> str:
    """A work item's title (an object with ``title``, ``process_id``, ``element_id``, or a
    timeline entry's dict) in the reader's language when a shipped process wrote it."""
    get = item.get if isinstance(item, dict) else lambda key: getattr(item, key, None)
    text = str(get("title") or "")
    patterns = TASK_TITLES.get((str(get("process_id")), str(get("element_id"))))
    return (_apply(text, patterns) if patterns else None) or text


def deal_title(title: object) -> str:
    """A deal's title in the reader's language when a shipped process wrote it."""
    text = str(title or "")
    return _apply(text, DEAL_TITLES) or text


def localize(message: object) -> str:
    """``message`` in the reader's language when it is one the services write."""
    text = str(message or "")
    for pattern, template in PATTERNS:
        found = pattern.match(text)
        if found:
            return str(template()) % found.groupdict() if found.groupdict() else str(template())
    return gettext(text) if text else text
