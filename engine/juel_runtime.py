"""EL's operators and coercions, for the JUEL conditions ``engine.juel`` translates.

Camunda 7, Activiti and Flowable write conditions in JUEL (``${amount > 1000}``), whose
operators coerce their operands as the Jakarta Expression Language specifies: ``"1200" >
1000`` compares numbers, ``null`` in a comparison is false, ``empty`` holds for null, "",
[] and {}, ``a.b`` on a map reads its key (null when absent). Python's operators differ on
each, so a translated condition calls these functions instead, and a diagram runs as its
engine ran it. JSON data maps to EL's types as: ``None`` null, ``bool`` Boolean, ``int``
Long, ``float`` Double, ``Decimal`` BigDecimal, ``str`` String, ``list`` List, ``dict`` Map.

What EL cannot coerce (``"abc" > 5``, ``true == 1``) raises ``ELCoercionError``, which the
gateway's incident says with the flow's condition. ``NAMES`` is what the script engine puts
into a translated condition's scope, after the task data, so no variable can shadow them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

# Java's Long.valueOf and Double.valueOf: what text they read as a number.
_LONG = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(
    r"\s*[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?\s*", re.ASCII
)


class ELCoercionError(Exception):
    """A value EL cannot coerce to the type its operator needs (an ``ELException``)."""


class ELValueError(ELCoercionError):
    """A timer's or ``loopCardinality``'s ``${…}`` that read no value it takes: the message
    names the expression written and what it read, the incident's whole text."""


def _said(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _floating_text(value: Any) -> bool:
    """A String EL's arithmetic reads as a Double: one holding ``.``, ``e`` or ``E``."""
    return isinstance(value, str) and any(c in value for c in ".eE")


def to_long(value: Any, doing: str) -> int:
    """EL's "coerce A to Long"."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ELCoercionError(f"{doing}: {_said(value)} is a boolean, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        if not math.isfinite(value):
            raise ELCoercionError(f"{doing}: {_said(value)} is no whole number")
        return int(value)
    if isinstance(value, str):
        if _LONG.fullmatch(value):
            return int(value)
        raise ELCoercionError(f"{doing}: {_said(value)} is no whole number")
    raise ELCoercionError(f"{doing}: {_said(value)} is not a number")


def to_double(value: Any, doing: str) -> float:
    """EL's "coerce A to Double"."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise ELCoercionError(f"{doing}: {_said(value)} is a boolean, not a number")
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        if _DOUBLE.fullmatch(value):
            return float(value.strip().rstrip("fFdD"))
        raise ELCoercionError(f"{doing}: {_said(value)} is not a number")
    raise ELCoercionError(f"{doing}: {_said(value)} is not a number")


def to_decimal(value: Any, doing: str) -> Decimal:
    """EL's "coerce A to BigDecimal"."""
    if value is None or value == "":
        return Decimal(0)
    if isinstance(value, bool):
        raise ELCoercionError(f"{doing}: {_said(value)} is a boolean, not a number")
    if isinstance(value, float):
        return Decimal(repr(value))  # as Java's Double.toString writes it
    if _is_number(value):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ELCoercionError(f"{doing}: {_said(value)} is not a number") from None
    raise ELCoercionError(f"{doing}: {_said(value)} is not a number")


def to_boolean(value: Any, doing: str = "reading a condition") -> bool:
    """EL's "coerce A to Boolean": null and "" are false, a String is true only when it is
    "true" (any case); a number, list or map is an error."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise ELCoercionError(f"{doing}: {_said(value)} is not a boolean")


def to_text(value: Any) -> str:
    """EL's "coerce A to String"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _numeric_kind(a: Any, b: Any, strings_floating: bool) -> str | None:
    """The type EL's rules pick for two operands: decimal, double, long, or None."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return "decimal"
    if isinstance(a, float) or isinstance(b, float):
        return "double"
    if strings_floating and (_floating_text(a) or _floating_text(b)):
        return "double"
    if (isinstance(a, int) and not isinstance(a, bool)) or (
        isinstance(b, int) and not isinstance(b, bool)
    ):
        return "long"
    return None


def _as(kind: str, value: Any, doing: str) -> Any:
    if kind == "decimal":
        return to_decimal(value, doing)
    if kind == "double":
        return to_double(value, doing)
    return to_long(value, doing)


def eq(a: Any, b: Any) -> bool:
    """``==`` / ``eq``."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    doing = f"comparing {_said(a)} with {_said(b)}"
    kind = _numeric_kind(a, b, strings_floating=False)
    if kind is not None:
        return bool(_as(kind, a, doing) == _as(kind, b, doing))
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a, doing) == to_boolean(b, doing)
    if isinstance(a, str) or isinstance(b, str):
        return to_text(a) == to_text(b)
    return bool(a == b)


def ne(a: Any, b: Any) -> bool:
    """``!=`` / ``ne``."""
    return not eq(a, b)


def _compare(a: Any, b: Any, operator: str) -> int | None:
    """-1, 0 or 1 as EL orders ``a`` and ``b``; None when either is null."""
    if a is None or b is None:
        return None
    doing = f"comparing {_said(a)} {operator} {_said(b)}"
    kind = _numeric_kind(a, b, strings_floating=False)
    if kind is not None:
        x, y = _as(kind, a, doing), _as(kind, b, doing)
    elif isinstance(a, str) or isinstance(b, str):
        # Java's String.compareTo orders UTF-16 code units
        x, y = to_text(a).encode("utf-16-be"), to_text(b).encode("utf-16-be")
    elif isinstance(a, bool) and isinstance(b, bool):
        x, y = a, b
    else:
        raise ELCoercionError(f"{doing}: they cannot be ordered")
    return (x > y) - (x < y)


def lt(a: Any, b: Any) -> bool:
    """``<`` / ``lt``."""
    order = _compare(a, b, "<")
    return order is not None and order < 0


def gt(a: Any, b: Any) -> bool:
    """``>`` / ``gt``."""
    order = _compare(a, b, ">")
    return order is not None and order > 0


def le(a: Any, b: Any) -> bool:
    """``<=`` / ``le``."""
    if a is b:
        return True
    order = _compare(a, b, "<=")
    return order is not None and order <= 0


def ge(a: Any, b: Any) -> bool:
    """``>=`` / ``ge``."""
    if a is b:
        return True
    order = _compare(a, b, ">=")
    return order is not None and order >= 0


def _arithmetic(a: Any, b: Any, operator: str) -> tuple[str, Any, Any]:
    doing = f"computing {_said(a)} {operator} {_said(b)}"
    kind = _numeric_kind(a, b, strings_floating=True) or "long"
    return kind, _as(kind, a, doing), _as(kind, b, doing)


def add(a: Any, b: Any) -> Any:
    """``+``: numbers only (EL's ``+`` does not join text)."""
    if a is None and b is None:
        return 0
    _, x, y = _arithmetic(a, b, "+")
    return x + y


def sub(a: Any, b: Any) -> Any:
    """``-``."""
    if a is None and b is None:
        return 0
    _, x, y = _arithmetic(a, b, "-")
    return x - y


def mul(a: Any, b: Any) -> Any:
    """``*``."""
    if a is None and b is None:
        return 0
    _, x, y = _arithmetic(a, b, "*")
    return x * y


def div(a: Any, b: Any) -> Any:
    """``/`` / ``div``: a Double (a BigDecimal for BigDecimal operands), as Java divides
    doubles: by zero it is infinite, or NaN for 0 / 0."""
    if a is None and b is None:
        return 0
    doing = f"computing {_said(a)} / {_said(b)}"
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        x, y = to_decimal(a, doing), to_decimal(b, doing)
        if y == 0:
            raise ELCoercionError(f"{doing}: division by zero")
        return x / y
    x, y = to_double(a, doing), to_double(b, doing)
    if y == 0:
        if x == 0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def mod(a: Any, b: Any) -> Any:
    """``%`` / ``mod``: Java's remainder, which takes the sign of ``a``."""
    if a is None and b is None:
        return 0
    kind, x, y = _arithmetic(a, b, "%")
    if kind == "long":
        if y == 0:
            raise ELCoercionError(f"computing {_said(a)} % {_said(b)}: division by zero")
        remainder = abs(x) % abs(y)
        return -remainder if x < 0 else remainder
    if kind == "decimal":
        if y == 0:
            raise ELCoercionError(f"computing {_said(a)} % {_said(b)}: division by zero")
        return x % y  # Decimal's % keeps the dividend's sign, as Java's remainder
    if y == 0 or math.isinf(x) or math.isnan(x) or math.isnan(y):
        return math.nan
    return math.fmod(x, y)


def neg(a: Any) -> Any:
    """Unary ``-``."""
    doing = f"computing -{_said(a)}"
    if a is None:
        return 0
    if isinstance(a, str):
        return -to_double(a, doing) if _floating_text(a) else -to_long(a, doing)
    if _is_number(a):
        return -a
    raise ELCoercionError(f"{doing}: {_said(a)} is not a number")


def empty(a: Any) -> bool:
    """``empty``: null, "", an empty list or map."""
    if a is None:
        return True
    if isinstance(a, (str, list, tuple, dict)):
        return len(a) == 0
    return False


def prop(base: Any, key: Any) -> Any:
    """``base.key`` / ``base[key]``: a map's value (null when it has none), a list's item
    (null past its end), null on a null base."""
    if base is None or key is None:
        return None
    if isinstance(base, dict):
        return base.get(key) if isinstance(key, str) else None
    if isinstance(base, (list, tuple)):
        index = to_long(key, f"reading item {_said(key)} of a list")
        return base[index] if 0 <= index < len(base) else None
    raise ELCoercionError(f"reading {_said(key)} of {_said(base)}: it has no such property")


def timer(value: Any, written: str) -> str:
    """A timer's ``${…}`` value as the ISO 8601 text SpiffWorkflow reads: Camunda takes a
    String (JSON data holds no Date); anything else, null first, is no time."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ELValueError(
        f"the timer {written} read {_said(value)}: it takes a variable holding an ISO 8601 text, "
        "a duration such as 'PT1H', a date such as '2026-05-05T09:00:00+08:00' or a cycle such "
        "as 'R3/PT10M'"
    )


def cardinality(value: Any, written: str) -> int:
    """A ``loopCardinality``'s ``${…}`` value as Camunda takes it: a number's integer part, a
    text Java's ``Integer.parseInt`` reads, not below zero; anything else, null first, is no
    count."""
    whole = (_is_number(value) and math.isfinite(value)) or (
        isinstance(value, str) and _LONG.fullmatch(value) is not None
    )
    if whole and int(value) >= 0:
        return int(value)
    raise ELValueError(
        f"the loopCardinality {written} read {_said(value)}: it takes a variable holding the "
        "number of instances, 0 or more"
    )


def java_equals(a: Any, b: Any) -> bool:
    """Java's ``a.equals(b)`` over the types JSON data maps to: the same type and value (a
    String never equals a number, a Long never a Double), false for null."""
    if a is None or b is None:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    for kind in (str, int, float, Decimal, list, dict):
        if isinstance(a, kind) or isinstance(b, kind):
            return isinstance(a, kind) and isinstance(b, kind) and a == b
    return False


def _text(value: Any, method: str) -> str:
    if not isinstance(value, str):
        raise ELCoercionError(f"{method}(…) takes a String, not {_said(value)}")
    return value


# Java's methods a condition may call on a String, List or Map: name → (arity, function).
_METHODS: dict[str, tuple[int, Any]] = {
    "equals": (1, java_equals),
    "equalsIgnoreCase": (
        1,
        lambda a, b: isinstance(b, str) and _text(a, "equalsIgnoreCase").lower() == b.lower(),
    ),
    "contains": (1, lambda a, b: _contains(a, b)),
    "startsWith": (1, lambda a, b: _text(a, "startsWith").startswith(_text(b, "startsWith"))),
    "endsWith": (1, lambda a, b: _text(a, "endsWith").endswith(_text(b, "endsWith"))),
    "isEmpty": (0, lambda a: len(_sized(a, "isEmpty", (str, list, tuple, dict))) == 0),
    "size": (0, lambda a: len(_sized(a, "size", (list, tuple, dict)))),
    "length": (0, lambda a: _java_length(_text(a, "length"))),
    "trim": (0, lambda a: _text(a, "trim").strip(_JAVA_TRIMMED)),
    "toUpperCase": (0, lambda a: _text(a, "toUpperCase").upper()),
    "toLowerCase": (0, lambda a: _text(a, "toLowerCase").lower()),
    "toString": (0, lambda a: to_text(a)),
}
METHODS = {name: arity for name, (arity, _) in _METHODS.items()}


# Java's String.trim() removes the characters up to U+0020 only: an ideographic space
# (U+3000, typed by Chinese input methods) or a no-break space stays, as Python's strip()
# would not leave it.
_JAVA_TRIMMED = "".join(chr(code) for code in range(0x21))


def _java_length(text: str) -> int:
    """Java's String.length(): UTF-16 code units, so a character beyond the BMP (a rare
    hanzi of a name such as 𠮷, an emoji) counts 2."""
    return len(text.encode("utf-16-le")) // 2


def _sized(value: Any, method: str, kinds: tuple[type, ...]) -> Any:
    if not isinstance(value, kinds):
        raise ELCoercionError(f"{_said(value)} has no {method}()")
    return value


def _contains(base: Any, item: Any) -> bool:
    if isinstance(base, str):
        return _text(item, "contains") in base
    if isinstance(base, (list, tuple)):
        return any(java_equals(element, item) for element in base)
    raise ELCoercionError(f"{_said(base)} has no contains(…)")


def call(base: Any, method: str, *arguments: Any) -> Any:
    """``base.method(arguments)``, one of Java's String, List and Map methods conditions use
    (``${outcome.equals('同意')}``, ``${userList.size() > 2}``); on null, as JUEL, an error."""
    if base is None:
        raise ELCoercionError(f"calling {method}(…) on null")
    return _METHODS[method][1](base, *arguments)


def condition(value: Any) -> bool:
    """A condition's value as the gateway takes it: coerced to Boolean."""
    return to_boolean(value, "the condition's value")


# The names a translated condition calls, as ``engine.scripting`` puts them in its scope.
NAMES: dict[str, Any] = {
    "_el_eq": eq,
    "_el_ne": ne,
    "_el_lt": lt,
    "_el_gt": gt,
    "_el_le": le,
    "_el_ge": ge,
    "_el_add": add,
    "_el_sub": sub,
    "_el_mul": mul,
    "_el_div": div,
    "_el_mod": mod,
    "_el_neg": neg,
    "_el_empty": empty,
    "_el_prop": prop,
    "_el_call": call,
    "_el_bool": to_boolean,
    "_el_text": to_text,
    "_el_condition": condition,
    "_el_timer": timer,
    "_el_cardinality": cardinality,
}
# The variables a translated condition reads: ``_el_vars.get("amount")``.
VARIABLES = "_el_vars"
