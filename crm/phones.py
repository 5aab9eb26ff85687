"""Phone numbers: everything stored and compared is E.164 (+8613800138000)."""

from __future__ import annotations

import re

import phonenumbers

from dialflow.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-().·/]")


def normalize_phone(raw: str, region: str = "CN", *, field: str = "phone") -> str:
    """Return ``raw`` in E.164, or raise ``InvalidInput`` (code ``invalid_phone``).

    Accepts the forms people type: ``138 0013 8000``, ``138-0013-8000``, ``+86 138…``,
    ``0086 138…``, ``86138…`` and landlines with area codes (``010-1234 5678``).
    """
    text = (raw or "").strip()
    if not text:
        raise _invalid(field, "A phone number is required.")
    compact = _SEPARATORS.sub("", text)
    candidates = [compact]
    if compact.isdigit() and region == "CN" and compact.startswith("86") and len(compact) == 13:
        candidates.append("+" + compact)  # 86 + 11-digit mobile typed without the plus
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise _invalid(field, f"{text!r} is not a valid phone number.")


def try_normalize_phone(raw: str, region: str = "CN") -> str | None:
    """E.164 if ``raw`` is a valid number, else None; for search boxes that accept anything."""
    try:
        return normalize_phone(raw, region)
    except InvalidInput:
        return None


def display_phone(e164: str, region: str = "CN") -> str:
    """How people read it: ``138 0013 8000`` at home, ``+1 650-253-0000`` from abroad."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == region
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def national_number(e164: str) -> str | None:
    """The number without its country code, as people type it at home (``13800138000``);
    None for text that is no phone number."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.national_significant_number(number) or None


def mask_phone(e164: str) -> str:
    """138****5678 style, for people who may not see the whole number."""
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(national) < 7:
        return "*" * len(national)
    return f"{national[:3]}****{national[-4:]}"


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(
        message, code="invalid_phone", details=[{"field": field, "message": message}]
    )
