"""The CRM's validation messages in the reader's language.

Services never import Flask, so they write their messages in English. The pages show them
through :func:`localize`, which knows the messages the services write (as patterns with named
parts) and translates them with Flask-Babel; a message it does not know is shown as written.
Keep each pattern next to the service message it matches when either changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext, lazy_gettext

_l = lazy_gettext

# (pattern of the English message, its translatable template with the same named parts)
PATTERNS: list[tuple[re.Pattern[str], Callable[[], str]]] = [
    (re.compile(p), t)
    for p, t in [
        (r"^This field is required\.$", lambda: _l("This field is required.")),
        (r"^This field cannot be empty\.$", lambda: _l("This field cannot be empty.")),
        (r"^A phone number is required\.$", lambda: _l("A phone number is required.")),
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


def localize(message: object) -> str:
    """``message`` in the reader's language when it is one the services write."""
    text = str(message or "")
    for pattern, template in PATTERNS:
        found = pattern.match(text)
        if found:
            return str(template()) % found.groupdict() if found.groupdict() else str(template())
    return gettext(text) if text else text
