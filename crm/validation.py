"""Small, explicit field parsers that collect every problem before raising one error."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialflow.errors import InvalidInput

T = TypeVar("T")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Date-times outside these years are typing errors, and near year 1 or 9999 they overflow
# Python's datetime when moved to UTC or given a duration (a 500, not a message).
FIRST_YEAR, LAST_YEAR = 1900, 2999
MAX_ID = 2**31 - 1  # ids are PostgreSQL INTEGERs: a larger one names nothing (and fails in SQL)


class FieldErrors:
    """Accumulates ``{"field", "message"}`` details; ``raise_if_any`` raises one InvalidInput."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def add(self, field: str, message: str, **extra: Any) -> None:
        self.details.append({"field": field, "message": message, **extra})

    def guard(self, field: str, parse: Callable[[], T]) -> T | None:
        """Run ``parse``; on InvalidInput keep its details and return None."""
        try:
            return parse()
        except InvalidInput as exc:
            for detail in exc.details or [{"field": field, "message": exc.message}]:
                self.details.append({"field": field, **detail} if "field" not in detail else detail)
            return None

    def raise_if_any(self, message: str, code: str = "invalid_input") -> None:
        if self.details:
            raise InvalidInput(message, code=code, details=self.details)


def text(
    data: Mapping[str, Any], key: str, errors: FieldErrors, *, max_len: int, required: bool = False
) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(key, "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        # true/false would be stored as the words "True"/"False"
        errors.add(key, "Must be text.")
        return None
    value = str(value).strip()
    if len(value) > max_len:
        errors.add(key, f"At most {max_len} characters.")
        return None
    if "\x00" in value:  # PostgreSQL's text columns refuse it
        errors.add(key, "May not contain a NUL character.")
        return None
    return value


def email(data: Mapping[str, Any], key: str, errors: FieldErrors) -> str | None:
    value = text(data, key, errors, max_len=254)
    if value is None:
        return None
    if not EMAIL_RE.match(value):
        errors.add(key, f"{value!r} is not an email address.")
        return None
    return value.lower()


def boolean(data: Mapping[str, Any], key: str, errors: FieldErrors) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "y", "是"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "n", "否", ""):
        return False
    errors.add(key, "Must be true or false.")
    return None


def timezone(data: Mapping[str, Any], key: str, errors: FieldErrors) -> str | None:
    value = text(data, key, errors, max_len=64)
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add(key, f"{value!r} is not a time zone such as Asia/Shanghai.")
        return None
    return value


def decimal(
    data: Mapping[str, Any],
    key: str,
    errors: FieldErrors,
    *,
    minimum: Decimal,
    maximum: Decimal | None = None,
) -> Decimal | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.add(key, "Must be a number.")
        return None
    if not number.is_finite() or number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        errors.add(key, f"Must be {bound}.")
        return None
    return number


def aware_datetime(data: Mapping[str, Any], key: str, errors: FieldErrors) -> datetime | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            errors.add(
                key, "Must be an ISO 8601 date-time with offset, e.g. 2026-05-01T10:00+08:00."
            )
            return None
    if parsed.tzinfo is None:
        errors.add(key, "The date-time needs a UTC offset, e.g. +08:00.")
        return None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        errors.add(key, f"Must be a date-time between the years {FIRST_YEAR} and {LAST_YEAR}.")
        return None
    return parsed


def choice(data: Mapping[str, Any], key: str, errors: FieldErrors, enum_cls: type[T]) -> T | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        return enum_cls(str(value).strip().lower())  # type: ignore[call-arg]
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)  # type: ignore[attr-defined]
        errors.add(key, f"Unknown value {value!r}; use one of: {allowed}.")
        return None


def iso_date(data: Mapping[str, Any], key: str, errors: FieldErrors) -> date | None:
    """A calendar date as ``YYYY-MM-DD``; empty is None."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(key, "Must be a date such as 2026-05-01.")
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # as every other date the API takes
        errors.add(key, f"Must be a date between the years {FIRST_YEAR} and {LAST_YEAR}.")
        return None
    return day
