"""RuoYi-Vue-Pro's (yudao) settings of an approval task, written by its designer as Flowable
extension elements and run by yudao's own backend, not by Flowable: how the task is approved
(``approveType``), what happens when its approver is the starter
(``assignStartUserHandlerType``) or when it has none (``assignEmptyHandlerType``,
``assignEmptyUserIds``), and what its reject button does (``rejectHandlerType``,
``rejectReturnTaskId``). They were refused as "Flowable-specific" with no word on what to do.

A setting that asks for what Dialflow does with a user task passes: a person approves
(``approveType`` 1), the starter approves their own (``assignStartUserHandlerType`` 1), a
task no one may work goes to the managers (``assignEmptyHandlerType`` 4, yudao's "to the
process's administrators": Dialflow puts it on every manager's board), an empty list. The
others are refused with what to draw (``hint``).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

FLOWABLE_NS = "http://flowable.org/bpmn"
# setting → the values that ask for what Dialflow does anyway
AS_DIALFLOW = {
    "approveType": {"1"},
    "assignStartUserHandlerType": {"1"},
    "assignEmptyHandlerType": {"4"},
    "assignEmptyUserIds": {""},
    "rejectReturnTaskId": {""},
}
_GATEWAY = (
    "put the approver's answer in the task's data (a form field such as pass) and draw an "
    "exclusive gateway after the task"
)
HINTS = {
    "approveType": {
        "2": "an approval yudao passes by itself is no user task: draw a script task setting "
        "the outcome (pass = True) instead",
        "3": "a rejection yudao makes by itself is no user task: draw a script task setting "
        "the outcome (pass = False) instead",
    },
    "assignStartUserHandlerType": {
        "2": "to skip the task when its approver is the starter, give it a "
        'flowable:skipExpression such as "${approver == initiator}" (approver: the variable '
        "naming its approver; initiator: the start event's flowable:initiator), or draw an "
        "exclusive gateway around it",
    },
    "assignEmptyHandlerType": {
        "1": "a task no one may work is on every manager's board in Dialflow, to be given to "
        "someone; to pass it when no approver is known, draw an exclusive gateway around it",
        "2": "a task no one may work is on every manager's board in Dialflow, to be given to "
        "someone; to reject when no approver is known, draw an exclusive gateway before it",
        "3": "a task no one may work is on every manager's board in Dialflow; to give it to "
        "named users, put it in a lane and set lane_owners in the data before it",
    },
}
GENERAL = {
    "rejectHandlerType": "Dialflow has no reject button: " + _GATEWAY + ", whose rejection "
    "flow goes to an end event (yudao's 1, end the process) or back to the task to return to "
    "(2)",
    "rejectReturnTaskId": "Dialflow has no reject button: " + _GATEWAY + " whose rejection "
    "flow goes back to the task to return to",
    "assignEmptyUserIds": "a task no one may work is on every manager's board in Dialflow; to "
    "give it to named users, put it in a lane and set lane_owners in the data before it",
    "approveType": "a person approves a user task in Dialflow: remove it",
    "assignStartUserHandlerType": "the starter works a task they are a candidate for in "
    "Dialflow: remove it",
    "assignEmptyHandlerType": "a task no one may work is on every manager's board in "
    "Dialflow: remove it",
}


def _setting(element: Any) -> tuple[str, str] | None:
    qname = etree.QName(element)
    if qname.namespace != FLOWABLE_NS or qname.localname not in GENERAL:
        return None
    return qname.localname, (element.text or "").strip()


def passes(element: Any) -> bool:
    """Whether a yudao setting asks for what Dialflow does with a user task."""
    found = _setting(element)
    return found is not None and found[1] in AS_DIALFLOW.get(found[0], set())


def hint(element: Any) -> str | None:
    """What to draw for a yudao setting that does not pass; None for another element."""
    found = _setting(element)
    if found is None:
        return None
    name, value = found
    return HINTS.get(name, {}).get(value) or f"yudao's {name} {value!r}: {GENERAL[name]}"
