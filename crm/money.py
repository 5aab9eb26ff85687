"""Sums of money in SQL: in integer cents, exact on both databases.

SQLite has no decimal type: it keeps ``NUMERIC(…, 2)`` amounts as floats, and ``SUM`` adds
them as floats (0.1 + 0.2). Amounts have two decimals, so as cents they are integers: each
is rounded to its integer once, and integers add exactly everywhere.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, cast, func


def in_cents(amount: Any) -> Any:
    """A two-decimal ``amount`` column as integer cents."""
    return cast(func.round(amount * 100), BigInteger)


def net_in_cents(amount: Any, discount_pct: Any) -> Any:
    """``amount × (100 − discount_pct) / 100`` in whole cents, rounded half up, as an integer.

    The discount has two decimals too (hundredths of a percent): the rest is integer
    arithmetic. Each deal is rounded to the cent as its quote shows it."""
    return (in_cents(amount) * (10000 - in_cents(discount_pct)) + 5000) // 10000


def money_of_cents(total: Any) -> Decimal:
    """A sum of cents (``None`` for no rows) as money with two decimals."""
    return Decimal(int(total or 0)).scaleb(-2)
