"""Message and signal names written with a JUEL expression, as Camunda 7, Activiti and
Flowable allow (``name="order_confirmed_${orderId}"``, ``name="${campaign}"``): those engines
work the name out from the instance's variables when the event waits or is thrown.

Dialflow matches a message or signal by its name as written, so such a diagram deployed and
its catch waited for the literal text ``order_confirmed_${orderId}``, which no sender sends:
the instance never went on. Refused on the ``<message>`` or ``<signal>``, with a fixed name to
use and how Dialflow reaches one instance instead.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

_EXPRESSION = re.compile(r"[$#]\{[^}]*\}")


def expression_name_problem(element: Any) -> str | None:
    """What is wrong with the name of ``element`` (a ``<message>`` or ``<signal>``), if it
    holds an expression."""
    name = element.get("name") or ""
    if not _EXPRESSION.search(name):
        return None
    kind = etree.QName(element).localname
    fixed = _EXPRESSION.sub("", name).strip(" _-.:/")
    suggestion = f"a fixed name such as {fixed!r}" if fixed else "a fixed name"
    reach = (
        "and correlate it by business key or a correlation property"
        if kind == "message"
        else "(to reach one instance, send a message correlated by its business key)"
    )
    return (
        f"{kind} {element.get('id')!r} is named {name!r}: Camunda, Activiti and Flowable work "
        "out ${…} in a name from the instance's variables, Dialflow matches the name as "
        f"written, so nothing would ever match it; give it {suggestion} {reach}"
    )
