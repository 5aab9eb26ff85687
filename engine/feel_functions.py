"""FEEL's built-in functions as Camunda 8 diagrams call them, for FEEL that runs as Python.

Camunda 8 writes conditions, script tasks and timers in FEEL, and its users call FEEL's
functions there as a matter of course: ``contains(lead.source, "web")``, ``upper case(name)``,
``list contains(tags, "vip")``, ``string length(phone) > 6``, ``date and time(callback_at)``,
``now() + duration("PT4H")``. ``engine.zeebe_hints.feel_to_python`` writes each call as a call
of the helper here (``NAMES``: the FEEL name, its words single-spaced, to the helper's), which
the script engine offers beside its own (``engine.scripting.script_helpers``). They read as
FEEL does: a null argument gives null (``upper case(null)`` is null, not a failure), positions
in a string count from 1, a duration of days and hours is a ``timedelta`` (so date arithmetic
and timers take it), one of years or months stays its ISO text, which a timer reads. The list,
number, context and calendar functions (``sum``, ``mean``, ``sort``, ``day of week`` …) are
``engine.feel_builtins``'; ``for``/``some``/``every`` iterate with ``_feel_items`` and decide
with ``_feel_some``/``_feel_every``; a flow's condition is checked to be a boolean by
``_feel_condition``.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engine import feel_builtins
from engine.feel import feel_date, feel_date_time
from engine.timekeeping import installation_zone

_SHANGHAI = "Asia/Shanghai"  # the zone before an engine set the installation's


def _text(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with FEEL's null in, null out: any argument null gives null."""

    @functools.wraps(function)  # its signature too: a call with too many arguments fails
    def null_safe(*args: Any) -> Any:
        if any(arg is None for arg in args):
            return None
        return function(*args)

    return null_safe


def _strings(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, a FEEL string function, null for null and refusing what is no string
    (``_null_on_wrong_types`` makes that null too): ``string length(12)`` was 2, as Python's
    ``str(12)`` has two letters, where FEEL gives null. A duration of years and months
    (``YearsMonths``) is held as its text but is no string."""

    @functools.wraps(function)
    def checked(*args: Any) -> Any:
        if any(arg is None for arg in args):
            return None
        if not all(_is_text(arg) for arg in args):
            raise TypeError(f"{function.__name__}: FEEL's string functions take strings")
        return function(*args)

    return checked


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, feel_builtins.YearsMonths)


@_strings
def _contains(string: Any, match: Any) -> bool:
    return str(match) in str(string)


@_strings
def _starts_with(string: Any, match: Any) -> bool:
    return str(string).startswith(str(match))


@_strings
def _ends_with(string: Any, match: Any) -> bool:
    return str(string).endswith(str(match))


@_strings
def _upper_case(string: Any) -> str:
    return str(string).upper()


@_strings
def _lower_case(string: Any) -> str:
    return str(string).lower()


@_strings
def _string_length(string: Any) -> int:
    return len(str(string))


@_strings
def _trim(string: Any) -> str:
    return str(string).strip()


def _substring(string: Any, start: Any, length: Any = None) -> str | None:
    """FEEL's ``substring``: ``start`` counts from 1, a negative one from the end."""
    if string is None or start is None:
        return None
    if not _is_text(string):
        raise TypeError("substring: FEEL's string functions take strings")
    text, first = str(string), int(start)
    begin = first - 1 if first > 0 else len(text) + first
    begin = max(begin, 0)
    return text[begin:] if length is None else text[begin : begin + int(length)]


def _string_join(items: Any, delimiter: Any = "") -> str | None:
    if items is None:
        return None
    return str(delimiter or "").join(str(item) for item in items if item is not None)


def _is_empty(items: Any) -> bool | None:
    return None if items is None else len(items) == 0


def _append(items: Any, *more: Any) -> list[Any] | None:
    return None if items is None else [*items, *more]


def _list_contains(items: Any, element: Any) -> bool | None:
    if items is None:
        return None
    key = feel_builtins.same_key(element)
    return any(feel_builtins.same_key(item) == key for item in items)


def _distinct_values(items: Any) -> list[Any] | None:
    return None if items is None else feel_builtins.distinct(items)


@_text
def _floor(number: Any) -> int:
    return math.floor(number)


@_text
def _ceiling(number: Any) -> int:
    return math.ceil(number)


def _rounded(number: Any, scale: Any, rounding: str) -> int | float | None:
    if number is None or scale is None:
        return None
    exponent = Decimal(1).scaleb(-int(scale))
    result = Decimal(str(number)).quantize(exponent, rounding=rounding)
    return int(result) if result == result.to_integral_value() else float(result)


def _round_half_up(number: Any, scale: Any = 0) -> int | float | None:
    return _rounded(number, scale, ROUND_HALF_UP)


def _decimal(number: Any, scale: Any) -> int | float | None:
    return _rounded(number, scale, ROUND_HALF_EVEN)


def _number(text: Any) -> int | float | None:
    """FEEL's ``number("1500")``: null for null and for text that is no number
    (``number("x")``, ``"NaN"``, ``"inf"``), as FEEL gives; it failed the task."""
    if text is None or isinstance(text, bool) or "_" in str(text):
        return None  # Python reads ``1_000``; FEEL does not
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and "." not in str(text) else value


_DAY_TIME = re.compile(
    r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)


def _duration(text: Any) -> timedelta | str | None:
    """FEEL's ``duration("…")``: days, hours, minutes and seconds as a ``timedelta``; a
    duration of years or months (``P1M``) as its ISO text, which timers read as calendar
    months (a ``timedelta`` cannot hold one); null for text that is no duration, as FEEL
    gives (it failed the task)."""
    if text is None or isinstance(text, timedelta):
        return text
    written = str(text).strip()
    found = _DAY_TIME.match(written)
    if found is None or written.upper() in ("P", "PT") or written.upper().endswith("T"):
        if re.match(r"^-?P(?:\d+Y)?(?:\d+M)?$", written, re.IGNORECASE) and len(written) > 1:
            return feel_builtins.YearsMonths(written)
        return None
    sign, days, hours, minutes, seconds = found.groups()
    value = timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=float(seconds or 0),
    )
    return -value if sign else value


def _get(value: Any, key: str) -> Any:
    """FEEL's path ``value.key``: null on null or a missing key, each item's on a list."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list):
        return [_get(item, key) for item in value]
    if key.startswith("_"):
        return None  # no object's private parts
    if isinstance(value, date | timedelta):
        return getattr(value, key, None)  # a date's year, a duration's days
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _arithmetic(operator: str, left: Any, right: Any) -> Any:
    """FEEL's ``+ - * / **``: numbers as decimals (``0.1 + 0.2`` is ``0.3``, ``10 / 4`` is
    ``2.5``), a whole result an ``int``; a null operand gives null, and so do operands FEEL
    does not combine (``"1000" * 1.1``, text and a number); text with text, dates and
    durations as Python computes them."""
    if left is None or right is None:
        return None
    if not (_is_number(left) and _is_number(right)):
        moved = _calendar_sum(operator, left, right)
        if moved is None:
            moved = _on_the_time_line(operator, left, right)
        if moved is not None:
            return moved
        if isinstance(left, bool) or isinstance(right, bool):
            return None  # FEEL adds no booleans (Python counts them as 1 and 0)
        if isinstance(left, str) != isinstance(right, str):
            return None  # FEEL: text and a number (or a list …) is null, as Zeebe computes it
        if isinstance(left, list | tuple | dict) or isinstance(right, list | tuple | dict):
            return None  # FEEL adds or multiplies no lists and contexts
        try:
            return _PYTHON_ARITHMETIC[operator](left, right)
        except (TypeError, ValueError, OverflowError):
            return None  # null, as FEEL gives for operands of kinds it does not combine
    a, b = Decimal(str(left)), Decimal(str(right))
    if operator == "**":
        try:
            result = a ** int(b) if b == b.to_integral_value() else Decimal(float(a) ** float(b))
        except (ArithmeticError, OverflowError):  # decimal.Overflow: past what a number holds
            raise feel_builtins.Refused("'**' gives a value too large to compute here") from None
    elif operator == "/" and b == 0:
        return None  # FEEL: division by zero is null
    else:
        result = _PYTHON_ARITHMETIC[operator](a, b)
    if result == result.to_integral_value():
        return int(result)
    return float(result)


def _calendar_sum(operator: str, left: Any, right: Any) -> date | None:
    """A date or date-time plus or minus a duration of years and months, or such a duration
    plus a date; None for any other operands."""
    months = feel_builtins.YearsMonths
    if operator in ("+", "-") and isinstance(left, date) and isinstance(right, months):
        return feel_builtins.moved_by_months(left, right, 1 if operator == "+" else -1)
    if operator == "+" and isinstance(left, months) and isinstance(right, date):
        return feel_builtins.moved_by_months(right, left, 1)
    return None


def _zoned(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _on_the_time_line(operator: str, left: Any, right: Any) -> datetime | timedelta | None:
    """A date and time plus or minus a duration, or the duration between two, counted on the
    time line as FEEL counts them; None for any other operands. Python counts by the clock
    within one zone: the night the clocks go back, ``01:30@Europe/Berlin`` + ``PT2H`` was
    ``03:30``, an hour late, and ``04:00`` - ``00:00`` that day four hours, not five."""
    try:
        if operator == "-" and _zoned(left) and _zoned(right):
            return left.astimezone(UTC) - right.astimezone(UTC)
        if operator == "+" and isinstance(left, timedelta) and _zoned(right):
            left, right = right, left
        if operator in ("+", "-") and _zoned(left) and isinstance(right, timedelta):
            moved = left.astimezone(UTC) + (right if operator == "+" else -right)
            return moved.astimezone(left.tzinfo)
    except OverflowError:
        return None  # past year 9999: null, as Python's own sum below gives
    return None


def _instant(value: Any) -> Any:
    """A zoned date and time as its instant (UTC): Python compares two of one zone by their
    clock, so the two 02:30 of the night the clocks go back were equal."""
    return value.astimezone(UTC) if _zoned(value) else value


def _kind(value: Any) -> str:
    """``value``'s FEEL type, in words."""
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, timedelta):
        return "a duration"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a context"
    return type(value).__name__


def _evaluate(written: str, compute: Callable[[], Any]) -> Any:
    """A script task's FEEL expression ``written`` computed by ``compute``: a failure says
    the expression as the diagram has it, not the Python it runs as."""
    try:
        return compute()
    except Exception as exc:
        raise ValueError(
            f"the FEEL expression {written!r} cannot be computed: {type(exc).__name__}: {exc}"
        ) from None


_PYTHON_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


def _compare(operator: str, left: Any, right: Any) -> bool | None:
    """FEEL's ``< > <= >=``: null when an operand is null or the two cannot be compared
    (text with a number), where Python failed; durations of years and months by their months
    (``P9M < P1Y``; as text ``"P9M" >= "P1Y"`` was true)."""
    if left is None or right is None:
        return None
    months = feel_builtins.YearsMonths
    if isinstance(left, months) or isinstance(right, months):  # by their months, not as text
        if not (isinstance(left, months) and isinstance(right, months)):
            return None
        left, right = feel_builtins.months_in(left), feel_builtins.months_in(right)
        if left is None or right is None:
            return None
    try:
        return _ORDERINGS[operator](_instant(left), _instant(right))
    except TypeError:
        return None


def _equal(operator: str, left: Any, right: Any) -> bool | None:
    """FEEL's ``=`` and ``!=``: null equals null alone; values of two kinds are not compared
    (``1 = true``, ``"1" = 1`` are null; Python's ``1 == True`` was true); lists and contexts
    item by item."""
    same = _equals(left, right)
    if operator == "=" or same is None:
        return same
    return not same


def _equals(left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return left is None and right is None
    kind = _equality_kind(left)
    if kind != _equality_kind(right):
        return None
    if kind == "a list":
        if len(left) != len(right):
            return False
        return _and(*(_equals(a, b) for a, b in zip(left, right, strict=True)))
    if kind == "a context":
        if left.keys() != right.keys():
            return False
        return _and(*(_equals(left[key], right[key]) for key in left))
    if kind == "a duration of years and months":  # P12M is P1Y
        return feel_builtins.months_in(left) == feel_builtins.months_in(right)
    try:
        return bool(_instant(left) == _instant(right))
    except TypeError:
        return None


def _equality_kind(value: Any) -> str:
    """``value``'s FEEL type for ``=``: a duration of months is no text."""
    if isinstance(value, feel_builtins.YearsMonths):
        return "a duration of years and months"
    return "a list" if isinstance(value, tuple) else _kind(value)


_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _string(value: Any) -> str | None:
    """FEEL's ``string(…)``: null is null, booleans ``true``/``false``, a whole number without
    ``.0``, dates and times as ISO 8601."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return feel_builtins.iso_duration(value)
    return str(value)


def _filter(items: Any, test: Callable[[Any], Any]) -> Any:
    """FEEL's ``items[…]``: the items the condition holds for (``orders[amount > 100]``,
    ``decisions[item = false]``); an expression giving a number is an index counted from 1,
    as FEEL decides by the value (``items[i]``)."""
    if items is None:
        return None
    listed = items if isinstance(items, list) else [items]
    results = [test(item) for item in listed]
    if results and all(_is_number(result) for result in results):
        position = int(results[0])
        if position == 0 or abs(position) > len(listed):
            return None
        return listed[position - 1] if position > 0 else listed[position]
    return [item for item, result in zip(listed, results, strict=True) if result is True]


def _item_field(item: Any, name: str, variables: Any) -> Any:
    """A name in a filter: the item's field when the item is a context holding it (FEEL reads
    it first), else the variable."""
    if isinstance(item, dict) and name in item:
        return item[name]
    return variables.get(name)


def _is_defined(variables: Any, path: str) -> bool:
    """FEEL's ``is defined(a.b)``: the data has ``a`` (and ``a`` the field ``b``), null or not."""
    value: Any = variables
    for part in path.split("."):
        if not hasattr(value, "keys") or part not in value:
            return False
        value = value[part]
    return True


def _iterated(items: Any) -> list[Any]:
    """What a FEEL ``for``/``some``/``every`` iterates: a list's items, a single value as a
    list of one (FEEL's singleton list), nothing for null."""
    if items is None:
        return []
    return list(items) if isinstance(items, list | tuple) else [items]


def _some(results: list[Any]) -> bool | None:
    """FEEL's ``some … satisfies``: true when one result is true, false when all are false
    (or there are none), else null."""
    if any(result is True for result in results):
        return True
    return False if all(result is False for result in results) else None


def _every(results: list[Any]) -> bool | None:
    """FEEL's ``every … satisfies``: false when one result is false, true when all are true
    (or there are none), else null."""
    if any(result is False for result in results):
        return False
    return True if all(result is True for result in results) else None


def _index(items: Any, position: int) -> Any:
    """FEEL's ``items[2]``, ``items[-1]``: counted from 1 (from the end when negative); null
    for null, position 0 or one past either end. A value that is no list is a list of one."""
    if items is None:
        return None
    listed = items if isinstance(items, list | tuple) else [items]
    if position == 0 or abs(position) > len(listed):
        return None
    return listed[position - 1] if position > 0 else listed[position]


def _and(*values: Any) -> bool | None:
    """FEEL's ``and``: false when one operand is false, true when all are true, else null
    (``null and false`` is false, ``"a" and true`` null; Python gave None and True)."""
    if any(value is False for value in values):
        return False
    return True if all(value is True for value in values) else None


def _or(*values: Any) -> bool | None:
    """FEEL's ``or``: true when one operand is true, false when all are false, else null
    (``null or false`` is null; Python gave False)."""
    if any(value is True for value in values):
        return True
    return False if all(value is False for value in values) else None


def _not(value: Any) -> bool | None:
    """FEEL's ``not(…)``: null for anything but a boolean (Python's ``not None`` is True)."""
    return (not value) if isinstance(value, bool) else None


def _condition(written: str, compute: Callable[[], Any]) -> bool:
    """A sequence flow's FEEL condition ``written``: a boolean, as Zeebe takes it; null or
    anything else is a failure (Zeebe's incident on the gateway), not a flow not taken."""
    value = compute()
    if isinstance(value, bool):
        return value
    said = "null" if value is None else f"{_kind(value)} {value!r}"
    raise ValueError(
        f"the condition {written!r} evaluated to {said}: Zeebe takes a flow's condition "
        "when it is true, leaves it when it is false, and stops the gateway for anything else"
    )


def _get_or_else(value: Any, default: Any) -> Any:
    """FEEL's ``get or else(value, default)``: ``default`` when ``value`` is null."""
    return default if value is None else value


# FEEL's name (words single-spaced) → the helper a translated expression calls.
NAMES = {
    "contains": "_feel_contains",
    "starts with": "_feel_starts_with",
    "ends with": "_feel_ends_with",
    "upper case": "_feel_upper_case",
    "lower case": "_feel_lower_case",
    "string length": "_feel_string_length",
    "substring": "_feel_substring",
    "trim": "_feel_trim",
    "matches": "_feel_matches",
    "string join": "_feel_string_join",
    "list contains": "_feel_list_contains",
    "is empty": "_feel_is_empty",
    "append": "_feel_append",
    "distinct values": "_feel_distinct_values",
    "floor": "_feel_floor",
    "ceiling": "_feel_ceiling",
    "round half up": "_feel_round_half_up",
    "decimal": "_feel_decimal",
    "number": "_feel_number",
    "date and time": "_feel_date_time",
    "date": "_feel_date",
    "duration": "_feel_duration",
    "now": "_feel_now",
    "today": "_feel_today",
    "get or else": "_feel_get_or_else",
    "string": "_feel_string",
    "is defined": "_feel_is_defined_value",
    # and the list, number, context and calendar functions of ``engine.feel_builtins``
    **{name: helper for name, (helper, _function) in feel_builtins.HELPERS.items()},
}
# The helpers a translated expression calls: FEEL's functions and ``is defined``.
CALLED = {
    *NAMES.values(),
    "_feel_is_defined",
    "_feel_items",
    "_feel_some",
    "_feel_every",
}  # and, not called by name: _feel_filter


def _null_on_wrong_types(function: Callable[..., Any]) -> Callable[..., Any]:
    """FEEL's ``function`` giving null for arguments of a type it does not take
    (``floor("x")``, ``substring("abc", "x")``, ``round half up("x", 2)``), as Camunda 8's
    FEEL does, where Python's TypeError or ValueError failed the task: in one place, not in
    each function. A call with a number of arguments the function has none for still fails,
    and so does a ``Refused`` one (a pattern that cannot be searched)."""

    @functools.wraps(function)
    def called(*args: Any) -> Any:
        try:
            return function(*args)
        except feel_builtins.Refused:
            raise
        except (TypeError, ValueError, ArithmeticError):
            if not _takes(function, args):
                raise  # a count of arguments the function has no form for
            return None

    return called


def _takes(function: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    try:
        inspect.signature(function).bind(*args)
    except TypeError:
        return False
    return True


_HELPERS: dict[str, Callable[..., Any]] = {
    "_feel_contains": _contains,
    "_feel_starts_with": _starts_with,
    "_feel_ends_with": _ends_with,
    "_feel_upper_case": _upper_case,
    "_feel_lower_case": _lower_case,
    "_feel_string_length": _string_length,
    "_feel_substring": _substring,
    "_feel_trim": _trim,
    "_feel_matches": feel_builtins.matches,
    "_feel_string_join": _string_join,
    "_feel_list_contains": _list_contains,
    "_feel_is_empty": _is_empty,
    "_feel_append": _append,
    "_feel_distinct_values": _distinct_values,
    "_feel_floor": _floor,
    "_feel_ceiling": _ceiling,
    "_feel_round_half_up": _round_half_up,
    "_feel_decimal": _decimal,
    "_feel_number": _number,
    "_feel_duration": _duration,
    "_feel_get": _get,
    "_feel_arithmetic": _arithmetic,
    "_feel_string": _string,
    "_feel_compare": _compare,
    "_feel_equal": _equal,
    "_feel_evaluate": _evaluate,
    "_feel_is_defined": _is_defined,
    "_feel_get_or_else": _get_or_else,
    "_feel_filter": _filter,
    "_feel_item_field": _item_field,
    "_feel_items": _iterated,
    "_feel_some": _some,
    "_feel_every": _every,
    "_feel_condition": _condition,
    "_feel_index": _index,
    "_feel_and": _and,
    "_feel_or": _or,
    "_feel_not": _not,
    "_feel_is_defined_value": lambda value: value is not None,
    **dict(feel_builtins.HELPERS.values()),
}
_HELPERS.update(
    {name: _null_on_wrong_types(_HELPERS[name]) for name in NAMES.values() if name in _HELPERS}
)


def helpers(now: datetime) -> dict[str, Callable[..., Any]]:
    """The helpers for a step whose time is ``now``: FEEL's ``now()`` is the step's time,
    ``today()`` its date in the installation's zone."""

    def feel_today() -> date:
        zone = installation_zone() or ZoneInfo(_SHANGHAI)
        return now.astimezone(zone).date()

    # ``_feel_date``/``_feel_date_time`` the script engine offers already (``engine.feel``)
    return {
        **_HELPERS,
        "_feel_date": feel_date,
        "_feel_date_time": feel_date_time,
        "_feel_now": lambda: now,
        "_feel_today": feel_today,
    }
