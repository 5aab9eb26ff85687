"""FEEL's list, number, string, context and calendar functions beyond ``engine.feel_functions``.

Camunda 8 users call them daily in mappings, conditions and scripts: ``sum(orders.amount)``,
``mean(scores)``, ``max(a, b)``, ``index of(tags, "vip")``, ``substring before(email, "@")``,
``split(phones, ",")``, ``round down(price * 0.9, 2)``, ``modulo(attempt, 3)``,
``day of week(today())``, ``years and months duration(birthday, today())``, ``get value(lead,
"tier")``, ``sort(amounts, function(a, b) a > b)``, and Zeebe's ``cycle(duration("PT1H"))``
for a timer cycle. Each reads as FEEL does: a null argument
(or a list holding null where numbers are summed) gives null, not a failure; a list function
takes its items as one list or as several arguments (``max([1, 2])`` and ``max(1, 2)``);
positions count from 1; numbers are decimals, a whole result an ``int``. ``NAMES`` maps each
FEEL name to its helper, which ``engine.feel_functions`` offers to the script engine.
"""

from __future__ import annotations

import calendar
import functools
import json
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_UP, Decimal
from typing import Any

import regex

from engine.feel import feel_date, feel_date_time

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _whole(result: Decimal) -> int | float:
    return int(result) if result == result.to_integral_value() else float(result)


def _items(args: tuple[Any, ...]) -> list[Any] | None:
    """A list function's items: one list argument, else the arguments themselves."""
    if len(args) == 1 and isinstance(args[0], list | tuple):
        return list(args[0])
    if len(args) == 1 and args[0] is None:
        return None
    return list(args)


def _numbers(args: tuple[Any, ...]) -> list[Decimal] | None:
    items = _items(args)
    if items is None or not all(_is_number(item) for item in items):
        return None  # FEEL: null for null or anything but numbers
    return [Decimal(str(item)) for item in items]


def same_key(value: Any) -> Any:
    """A key equal for values FEEL calls equal: numbers by value (``1`` and ``1.0``), but a
    boolean never a number (Python's ``True == 1``); a duration of years and months by its
    months (``P12M`` is ``P1Y``, and no text); a list or context by the keys of its items,
    at any depth (by their JSON text, ``[duration("P1Y")]`` was not ``[duration("P12M")]``
    nor ``[1]`` ``[1.0]``). Lets ``distinct values`` and ``union`` keep items by a set, where
    a scan of what they kept took hours over 10^6 items and could not be stopped by the
    step's time limit."""
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, YearsMonths):
        return ("months", months_in(value))
    if isinstance(value, list | tuple):
        return ("list", tuple(same_key(item) for item in value))
    if isinstance(value, dict):
        return ("context", frozenset((str(k), same_key(item)) for k, item in value.items()))
    try:
        hash(value)
    except TypeError:
        return ("text", repr(value))
    return value


def distinct(items: Iterable[Any]) -> list[Any]:
    """``items`` without repeats (FEEL's equality, ``same_key``), in their first order."""
    seen: set[Any] = set()
    kept: list[Any] = []
    for item in items:
        key = same_key(item)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _sum(*args: Any) -> int | float | None:
    numbers = _numbers(args)
    return None if numbers is None else _whole(sum(numbers, Decimal(0)))


def _product(*args: Any) -> int | float | None:
    numbers = _numbers(args)
    if not numbers:
        return None
    return _whole(functools.reduce(lambda a, b: a * b, numbers))


def _mean(*args: Any) -> int | float | None:
    numbers = _numbers(args)
    return _whole(sum(numbers, Decimal(0)) / len(numbers)) if numbers else None


def _median(*args: Any) -> int | float | None:
    numbers = sorted(_numbers(args) or [])
    if not numbers:
        return None
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return _whole(numbers[middle])
    return _whole((numbers[middle - 1] + numbers[middle]) / 2)


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def extreme(*args: Any) -> Any:
        items = _items(args)
        if not items or any(item is None for item in items):
            return None
        key = _order_of(items)
        if key is False:
            return None
        try:
            return pick(items, key=key)
        except TypeError:  # items of kinds that do not compare: null, as FEEL
            return None

    return extreme


def _order_of(items: list[Any]) -> Callable[[Any], Any] | bool | None:
    """The key ``min``, ``max`` and ``sort`` order ``items`` by: durations of years and months
    by their months (as text ``P2M`` came after ``P10M``); False when only some are such
    durations (null, as FEEL); None for Python's own order."""
    months = [isinstance(item, YearsMonths) for item in items]
    if not any(months):
        return None
    return months_in if all(months) else False


def _count(items: Any) -> int | None:
    return None if items is None else len(items)


def _all(*args: Any) -> bool | None:
    items = _items(args)
    if items is None or not all(isinstance(i, bool) or i is None for i in items):
        return None
    if any(item is False for item in items):
        return False
    return None if any(item is None for item in items) else True


def _any(*args: Any) -> bool | None:
    items = _items(args)
    if items is None or not all(isinstance(i, bool) or i is None for i in items):
        return None
    if any(item is True for item in items):
        return True
    return None if any(item is None for item in items) else False


def _flatten(items: Any) -> list[Any] | None:
    if items is None:
        return None
    flat: list[Any] = []
    for item in items:
        flat.extend(_flatten(item) or [] if isinstance(item, list) else [item])
    return flat


def _index_of(items: Any, match: Any) -> list[int] | None:
    if items is None:
        return None
    key = same_key(match)
    return [position for position, item in enumerate(items, start=1) if same_key(item) == key]


def _concatenate(*lists: Any) -> list[Any] | None:
    if any(not isinstance(part, list) for part in lists):
        return None
    return [item for part in lists for item in part]


def _reverse(items: Any) -> list[Any] | None:
    return None if items is None else list(reversed(items))


def _sublist(items: Any, start: Any, length: Any = None) -> list[Any] | None:
    if items is None or start is None:
        return None
    first = int(start)
    begin = max(first - 1 if first > 0 else len(items) + first, 0)
    return list(items[begin:] if length is None else items[begin : begin + int(length)])


def _union(*lists: Any) -> list[Any] | None:
    if any(not isinstance(part, list) for part in lists):
        return None
    return distinct(item for part in lists for item in part)


def _sort(items: Any, precedes: Any = None) -> list[Any] | None:
    """FEEL's ``sort(list, function(a, b) a < b)``: ``precedes(a, b)`` true when ``a`` goes
    first; without a function, the natural order."""
    if items is None:
        return None
    if precedes is None:
        key = _order_of(list(items))
        if key is False:
            return None
        try:
            return sorted(items, key=key)
        except TypeError:  # items of kinds that do not compare: null, as FEEL
            return None

    def before(a: Any, b: Any) -> bool:
        answer = precedes(a, b)
        if not isinstance(answer, bool):
            raise _NoOrder  # FEEL: a function that does not answer true or false sorts nothing
        return answer

    def order(a: Any, b: Any) -> int:
        if before(a, b):
            return -1
        return 1 if before(b, a) else 0

    try:
        return sorted(items, key=functools.cmp_to_key(order))
    except _NoOrder:
        return None


class _NoOrder(Exception):
    """``sort``'s function answered something other than a boolean (null, a number)."""


def _text_part(text: Any, match: Any, before: bool) -> str | None:
    if text is None or match is None:
        return None
    if not all(isinstance(v, str) and not isinstance(v, YearsMonths) for v in (text, match)):
        raise TypeError("FEEL's string functions take strings")  # null, as FEEL gives
    written, found = str(text), str(match)
    at = written.find(found)
    if at < 0:
        return ""
    return written[:at] if before else written[at + len(found) :]


def _substring_before(text: Any, match: Any) -> str | None:
    return _text_part(text, match, True)


def _substring_after(text: Any, match: Any) -> str | None:
    return _text_part(text, match, False)


def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = None) -> str | None:
    """FEEL's ``replace``: a regular expression, ``$1`` for a group in the replacement."""
    if text is None or pattern is None or replacement is None:
        return None
    python = re.sub(r"\$(\d+)", r"\\g<\1>", str(replacement))
    return patterned(
        "replace",
        pattern,
        lambda: regex.sub(
            str(pattern), python, str(text), flags=_flags(flags), timeout=PATTERN_SECONDS
        ),
    )


def _split(text: Any, delimiter: Any) -> list[str] | None:
    if text is None or delimiter is None:
        return None
    return patterned(
        "split", delimiter, lambda: regex.split(str(delimiter), str(text), timeout=PATTERN_SECONDS)
    )


def _flags(flags: Any) -> int:
    found = 0
    for flag in str(flags or ""):
        found |= {
            "i": regex.IGNORECASE,
            "s": regex.DOTALL,
            "m": regex.MULTILINE,
            "x": regex.VERBOSE,
        }.get(flag, 0)
    return found


# How long one ``matches``, ``replace`` or ``split`` may search. Python's ``re`` runs in C and
# no time limit reaches it: ``matches(text, "(a|aa)+$")`` over 40 letters and a ``!`` tried
# 2^40 ways and held the step (and the worker) for hours. The ``regex`` package looks at the
# clock as it backtracks.
PATTERN_SECONDS = 0.5


class Refused(ValueError):
    """A FEEL function's failure that stops the step with an incident, where a value of the
    wrong type gives null (``engine.feel_functions``' ``_null_on_wrong_types``): a pattern
    that cannot be searched, a number too large to compute."""


class PatternTimedOut(Refused):
    """A regular expression of ``matches``, ``replace`` or ``split`` searched past
    ``PATTERN_SECONDS``: it backtracks without end on this text."""


# How many atoms a pattern's counted repeats may write out. ``regex`` compiles a repeat's
# least count as that many copies (``\d{1000000}`` took a second and 260 MB before any
# search, ``\d{1000000000}`` every byte of memory the worker had), in C, where neither
# ``PATTERN_SECONDS`` nor the step's time limit reaches; Python's ``re`` kept the count.
# 10,000 copies are 2.6 MB, and ``regex`` keeps the last 500 patterns compiled.
MOST_REPEATED = 10_000
_COUNT = re.compile(r"\{(\d*)(?:,\d*)?\}")


def written_out(pattern: str) -> int:
    """About how many atoms ``regex`` writes out compiling ``pattern``: each atom once, a
    group as its atoms, times the least count of a ``{m}``/``{m,n}`` after it (nested counts
    multiply)."""
    groups = [[0, 0]]  # per open group: [atoms so far, atoms of its last item]
    at, end = 0, len(pattern)
    while at < end:
        char, size = pattern[at], 1
        at += 1
        if char == "\\":
            named = pattern[at : at + 1] in ("p", "P", "N", "x", "u", "U")
            at += 1
            if named and pattern[at : at + 1] == "{":  # \p{L}, \x{263a}
                at = pattern.find("}", at) + 1 or end
        elif char == "[":  # a set is one atom: to its closing ]
            at += pattern[at : at + 1] == "^"
            at += pattern[at : at + 1] == "]"
            while at < end and pattern[at] != "]":
                at += 2 if pattern[at] == "\\" else 1
            at += 1
        elif char == "(":
            groups.append([0, 0])
            continue
        elif char == ")" and len(groups) > 1:
            size = max(groups.pop()[0], 1)
        elif char in "*+?|":
            continue  # a least count of 0 or 1 writes nothing out again
        elif char == "{" and (count := _COUNT.match(pattern, at - 1)) is not None:
            at = count.end()
            least = int(count.group(1) or 0)
            group = groups[-1]
            group[0] += group[1] * (least - 1)  # the item was counted once already
            group[1] *= least
            continue
        groups[-1][0] += size
        groups[-1][1] = size
    return sum(group[0] for group in groups)


def patterned(function: str, pattern: Any, search: Callable[[], Any]) -> Any:
    if written_out(str(pattern)) > MOST_REPEATED:
        raise Refused(
            f"{function}(): the regular expression {str(pattern)!r} repeats its parts more "
            f"than {MOST_REPEATED:,} times in all ({{m}} counts), more than can be searched "
            "here; write a smaller count (or + or * for any number), then retry"
        )
    try:
        return search()
    except TimeoutError:
        raise PatternTimedOut(
            f"{function}(): the regular expression {str(pattern)!r} searched for more than "
            f"{PATTERN_SECONDS} s without an answer on this text (a group repeated inside a "
            "repeat, such as (a|aa)+, tries every way to split the text); write it so that "
            "one way matches, then retry"
        ) from None


def matches(text: Any, pattern: Any, flags: Any = None) -> bool | None:
    """FEEL's ``matches(input, pattern, flags)``: whether the pattern is found in the text."""
    if text is None or pattern is None:
        return None
    found = patterned(
        "matches",
        pattern,
        lambda: regex.search(str(pattern), str(text), flags=_flags(flags), timeout=PATTERN_SECONDS),
    )
    return found is not None


def pattern_timed_out(exc: BaseException | None) -> PatternTimedOut | None:
    """The ``PatternTimedOut`` behind ``exc`` (a FEEL script's failure wraps it)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, PatternTimedOut):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _rounding(rounding: str) -> Callable[..., Any]:
    def rounded(number: Any, scale: Any = 0) -> int | float | None:
        if not _is_number(number) or not _is_number(scale):
            return None
        exponent = Decimal(1).scaleb(-int(scale))
        return _whole(Decimal(str(number)).quantize(exponent, rounding=rounding))

    return rounded


def _abs(value: Any) -> Any:
    if _is_number(value) or isinstance(value, timedelta):
        return abs(value)
    return None


def _modulo(dividend: Any, divisor: Any) -> int | float | None:
    """FEEL's ``modulo``: the sign of the divisor (``modulo(-12, 5)`` is 3); null for 0."""
    if not (_is_number(dividend) and _is_number(divisor)) or divisor == 0:
        return None
    a, b = Decimal(str(dividend)), Decimal(str(divisor))
    return _whole(a - b * (a / b).to_integral_value(rounding="ROUND_FLOOR"))


def _date(*args: Any) -> date | None:
    """FEEL's ``date("2026-05-04")``, ``date(date and time)`` and ``date(2026, 5, 4)``."""
    if any(arg is None for arg in args):
        return None
    try:
        if len(args) == 3:
            return date(*(int(arg) for arg in args))
        return feel_date(args[0])
    except (ValueError, TypeError, OverflowError):
        return None  # FEEL: text that is no date (``date("soon")``) is null


def _time(*args: Any) -> time | None:
    """FEEL's ``time("10:30:00")``, ``time(date and time)`` and ``time(10, 30, 0)``."""
    if not args or any(arg is None for arg in args):
        return None
    value = args[0]
    try:
        if len(args) >= 3:
            return time(int(args[0]), int(args[1]), int(args[2]))
        if isinstance(value, datetime):
            return value.timetz()
        if isinstance(value, time):
            return value
        return time.fromisoformat(str(value).strip())
    except (ValueError, TypeError, OverflowError):
        return None  # FEEL: text that is no time is null


def _date_and_time(*args: Any) -> datetime | None:
    """FEEL's ``date and time("…")`` and ``date and time(date, time)``."""
    if not args or any(arg is None for arg in args):
        return None
    try:
        if len(args) == 2:
            day, moment = feel_date(args[0]), _time(args[1])
            if day is None or moment is None:
                return None
            return feel_date_time(datetime.combine(day, moment))
        return feel_date_time(args[0])
    except (ValueError, TypeError, OverflowError):
        return None  # FEEL: text that is no date and time (or names no zone) is null


def _cycle(*args: Any) -> str | None:
    """Zeebe's ``cycle(duration)`` and ``cycle(repetitions, duration)`` for a timer cycle:
    ``R/PT1H``, ``R3/PT1H``."""
    if not args or any(arg is None for arg in args):
        return None
    *counted, every = args
    if isinstance(every, timedelta):  # days kept as days: a timer counts them on the calendar
        seconds = every.seconds + every.microseconds / 1_000_000
        time_part = f"T{int(seconds) if seconds.is_integer() else seconds}S" if seconds else ""
        every = f"P{every.days}D{time_part}" if every.days else f"P{time_part or 'T0S'}"
    repeats = str(int(counted[0])) if counted else ""
    return f"R{repeats}/{every}"


def _day_of_week(value: Any) -> str | None:
    return _DAYS[value.weekday()] if isinstance(value, date) else None


def _month_of_year(value: Any) -> str | None:
    return _MONTHS[value.month - 1] if isinstance(value, date) else None


def _day_of_year(value: Any) -> int | None:
    return value.timetuple().tm_yday if isinstance(value, date) else None


def _week_of_year(value: Any) -> int | None:
    return value.isocalendar()[1] if isinstance(value, date) else None


def iso_duration(value: timedelta) -> str:
    """A days-time duration as FEEL writes it: ``P28D``, ``PT2H30M``, ``P1DT0.5S``, ``-P1D``,
    ``PT0S``; Python's text (``28 days, 0:00:00``) was what the data showed."""
    micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    days, rest = divmod(micros, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = Decimal(rest) / 1_000_000
    time_part = "".join(
        f"{amount}{unit}" for amount, unit in ((hours, "H"), (minutes, "M")) if amount
    ) + (f"{seconds.normalize():f}S" if seconds else "")
    if not days and not time_part:
        return "PT0S"
    return f"{sign}P{f'{days}D' if days else ''}{f'T{time_part}' if time_part else ''}"


def as_stored(value: Any) -> Any:
    """A value JSON cannot write, as the instance's data stores it (``json.dumps``'s
    ``default``): a set as the list of its items, a days-time duration as FEEL writes it
    (``P28D``, where Python's text was ``28 days, 0:00:00``; a duration of months is its ISO
    text already), anything else (a date, a date and time) as its text."""
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, timedelta):
        return iso_duration(value)
    return str(value)


def stored_json(value: Any) -> Any:
    """``value`` as JSON stores it, its values JSON cannot write as ``as_stored`` writes
    them: what a message, a signal or a task's form carries reads as the instance's data."""
    return json.loads(json.dumps(value, default=as_stored))


class YearsMonths(str):
    """A FEEL duration of years and months (``P1Y2M``): its ISO text, which timers read and
    the data stores, that ``date + duration("P1M")`` moves by calendar months
    (``moved_by_months``); as plain text the sum was null."""


_YEARS_MONTHS = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?$", re.IGNORECASE)


def months_in(duration: Any) -> int | None:
    """The months a duration of years and months holds (``P1Y2M`` 14, ``-P3M`` -3); None for
    anything else. FEEL compares such durations by them: ``P12M`` is ``P1Y``, and ``P9M`` is
    less than ``P1Y`` (as text they were unequal, and ``"P9M" >= "P1Y"``)."""
    if not isinstance(duration, str):
        return None
    found = _YEARS_MONTHS.match(duration.strip())
    if found is None:
        return None
    months = int(found.group(2) or 0) * 12 + int(found.group(3) or 0)
    return -months if found.group(1) else months


def moved_by_months(moment: date, duration: str, sign: int) -> date | None:
    """``moment`` moved by the years and months of ``duration`` (``sign`` -1 to go back), its
    day kept or the month's last (FEEL: 31 January + P1M is 28 February)."""
    months = months_in(duration)
    if months is None:
        return None
    months *= sign
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        return None
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _years_and_months(start: Any, end: Any) -> str | None:
    """FEEL's ``years and months duration(from, to)``: the whole months between, as the ISO
    text a timer reads (``P1Y2M``)."""
    if not isinstance(start, date) or not isinstance(end, date):
        return None
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    sign = -1 if last < first else 1
    low, high = sorted((first, last))
    months = (high.year - low.year) * 12 + high.month - low.month - (high.day < low.day)
    years, months = divmod(months, 12)
    text = f"P{years}Y{months}M" if years and months else f"P{years}Y" if years else f"P{months}M"
    return YearsMonths(("-" if sign < 0 and (years or months) else "") + text)


def _get_value(context: Any, key: Any) -> Any:
    return context.get(str(key)) if isinstance(context, dict) and key is not None else None


def _get_entries(context: Any) -> list[dict[str, Any]] | None:
    if not isinstance(context, dict):
        return None
    return [{"key": key, "value": value} for key, value in context.items()]


def _context_put(context: Any, key: Any, value: Any) -> dict[str, Any] | None:
    if not isinstance(context, dict) or key is None:
        return None
    return {**context, str(key): value}


def _context_merge(contexts: Any) -> dict[str, Any] | None:
    if not isinstance(contexts, list) or not all(isinstance(c, dict) for c in contexts):
        return None
    merged: dict[str, Any] = {}
    for context in contexts:
        merged.update(context)
    return merged


def _string_join(items: Any, delimiter: Any = "", prefix: Any = "", suffix: Any = "") -> Any:
    if items is None:
        return None
    joined = str(delimiter or "").join(str(item) for item in items if item is not None)
    return f"{prefix or ''}{joined}{suffix or ''}"


# FEEL's name (words single-spaced) → (the helper a translated expression calls, the helper)
HELPERS: dict[str, tuple[str, Callable[..., Any]]] = {
    "sum": ("_feel_sum", _sum),
    "product": ("_feel_product", _product),
    "mean": ("_feel_mean", _mean),
    "median": ("_feel_median", _median),
    "min": ("_feel_min", _extreme(min)),
    "max": ("_feel_max", _extreme(max)),
    "count": ("_feel_count", _count),
    "all": ("_feel_all", _all),
    "any": ("_feel_any", _any),
    "flatten": ("_feel_flatten", _flatten),
    "index of": ("_feel_index_of", _index_of),
    "concatenate": ("_feel_concatenate", _concatenate),
    "reverse": ("_feel_reverse", _reverse),
    "sublist": ("_feel_sublist", _sublist),
    "union": ("_feel_union", _union),
    "sort": ("_feel_sort", _sort),
    "substring before": ("_feel_substring_before", _substring_before),
    "substring after": ("_feel_substring_after", _substring_after),
    "replace": ("_feel_replace", _replace),
    "split": ("_feel_split", _split),
    "round up": ("_feel_round_up", _rounding(ROUND_UP)),
    "round down": ("_feel_round_down", _rounding(ROUND_DOWN)),
    "round half down": ("_feel_round_half_down", _rounding(ROUND_HALF_DOWN)),
    "abs": ("_feel_abs", _abs),
    "modulo": ("_feel_modulo", _modulo),
    "date": ("_feel_date_of", _date),
    "time": ("_feel_time", _time),
    "date and time": ("_feel_date_and_time", _date_and_time),
    "cycle": ("_feel_cycle", _cycle),
    "day of week": ("_feel_day_of_week", _day_of_week),
    "month of year": ("_feel_month_of_year", _month_of_year),
    "day of year": ("_feel_day_of_year", _day_of_year),
    "week of year": ("_feel_week_of_year", _week_of_year),
    "years and months duration": ("_feel_years_and_months", _years_and_months),
    "get value": ("_feel_get_value", _get_value),
    "get entries": ("_feel_get_entries", _get_entries),
    "context put": ("_feel_context_put", _context_put),
    "context merge": ("_feel_context_merge", _context_merge),
    "string join": ("_feel_string_join", _string_join),
}
