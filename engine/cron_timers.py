"""Cron expressions in timers, as Camunda 7, Activiti and Flowable take them in a
``timeCycle`` (Quartz's ``0 0 9 * * ?``, ``0 0/30 9-18 ? * MON-FRI``).

SpiffWorkflow runs ISO 8601 cycles only; the deploy said the unquoted cron "is not valid
Python" and a quoted one "is not a valid ISO 8601 cycle" with an example that has no time of
day. Here a cron is named as such, with the ISO 8601 cycle that repeats from a start time.
"""

from __future__ import annotations

import re

_FIELD = r"[0-9*?/,\-LW#A-Za-z]+"
_NUMERIC = r"[0-9*/,\-]+"  # seconds and minutes (Quartz), minutes and hours (Unix)
_CRON = re.compile(rf"^\s*['\"]?\s*{_NUMERIC}\s+{_NUMERIC}(?:\s+{_FIELD}){{3,5}}\s*['\"]?\s*$")
_QUOTES = "'\""
_ISO_LIKE = re.compile(r"^\s*['\"]?\s*R\d*/", re.IGNORECASE)


def cron_problem(expression: str) -> str | None:
    """The problem of a timer ``expression`` that is a cron expression, else ``None``."""
    if not _CRON.match(expression) or _ISO_LIKE.match(expression):
        return None
    cron = expression.strip().strip(_QUOTES).strip()
    return (
        f"timer {cron!r} is a cron expression (as Camunda 7, Activiti and Flowable read a "
        "timeCycle); Dialflow runs ISO 8601 cycles: repeat a duration from a "
        "start time, such as 'R/2026-05-04T09:00:00+08:00/P1D' (every day at 09:00) or "
        "'R10/2026-05-04T09:00:00+08:00/PT30M' (ten times, half an hour apart), in quotes"
    )
