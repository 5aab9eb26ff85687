"""Parsing ids and dates from query strings and bodies into clear 422s (never a 500 for an
id too large for the database's integer columns, or a date too far off for the date arithmetic
and the drivers)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import request

from crm.validation import FIRST_YEAR, LAST_YEAR
from dialflow.errors import field_error
from web import MAX_ID


def id_value(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise field_error(name, f"{name} must be a positive whole number (an id).")
    return value


def int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    # ASCII digits only: int() also reads "١٢", "１２" and "1_000", which are not ids.
    if not (raw.isascii() and raw.isdigit()):
        raise field_error(name, f"{name} must be a positive whole number (an id).")
    return id_value(int(raw), name)


def time_arg(name: str, zone: str, *, end_of_day: bool = False) -> datetime | None:
    """A date-time with offset, or a date read in ``zone``; an end date includes its day.

    Years outside ``FIRST_YEAR``–``LAST_YEAR`` are refused, like the body's date-times: near
    year 1 or 9999 the next day, or the move to UTC, would overflow."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise field_error(name, f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}.")
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise field_error(name, f"{name} must be a date (2026-05-01) or a date-time with offset.")
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise field_error(name, f"{name} must be between {FIRST_YEAR} and {LAST_YEAR}.")
    return parsed
