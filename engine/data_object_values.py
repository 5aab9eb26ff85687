"""A process's data objects with a value, as Flowable UI's modeler draws them
(``<dataObject name="orderStatus" itemSubjectRef="xsd:string">`` holding
``<flowable:value>待确认</flowable:value>``): Flowable makes each a process variable of that
value when an instance starts, the data sent with the start winning. Such diagrams were
refused with no word on what to do. ``adopt`` writes the values, before the parser builds the
file, as a script task just after the process's start event (``engine.listeners`` draws it)
that sets each variable the start data did not give, typed by its ``itemSubjectRef``
(``xsd:int``/``long`` a number, ``xsd:boolean`` true or false, ``xsd:double`` a decimal
number, anything else the text). A value on a subprocess's data object, in a process without
exactly one plain start event, or that its type cannot read, stays refused (``hint``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS
from engine.listeners import plain_start, script_task

NAMESPACES = ("http://flowable.org/bpmn", "http://activiti.org/bpmn")
_BPMN = f"{{{BPMN_NS}}}"
# What Java's Long.parseLong and Double.parseDouble read (ASCII digits, no "1_000", no
# "nan" or "infinity" that Python's int() and float() also take).
_JAVA_INTEGER = re.compile(r"[+-]?[0-9]+")
_JAVA_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[dDfF]?")
_NUMBERS = {"int": int, "integer": int, "long": int, "short": int, "double": float, "float": float}


def _value(data_object: Any) -> Any | None:
    """The ``<flowable:value>`` element of a data object, else None."""
    extensions = data_object.find(f"{_BPMN}extensionElements")
    if extensions is None:
        return None
    for namespace in NAMESPACES:
        found = extensions.find(f"{{{namespace}}}value")
        if found is not None:
            return found
    return None


def _python(data_object: Any, text: str) -> str | None:
    """The Python literal of ``text`` as the data object's type reads it, else None."""
    kind = (data_object.get("itemSubjectRef") or "").rsplit(":", 1)[-1].strip().lower()
    if kind == "boolean":
        word = text.strip().lower()
        return {"true": "True", "false": "False"}.get(word)
    if kind in _NUMBERS:
        written = text.strip()
        if _NUMBERS[kind] is int and _JAVA_INTEGER.fullmatch(written):
            return repr(int(written))
        if _NUMBERS[kind] is float and _JAVA_DECIMAL.fullmatch(written):
            number = float(written.rstrip("dDfF"))
            # 1e400 read as inf, which no script names and no JSON holds
            return repr(number) if math.isfinite(number) else None
        return None
    return repr(text)


def _assignment(data_object: Any) -> str | None:
    """The script lines setting a data object's variable unless the start data gave it."""
    value = _value(data_object)
    name = (data_object.get("name") or data_object.get("id") or "").strip()
    process = data_object.getparent()
    if value is None or not name.isidentifier() or process is None:
        return None
    if process.tag != f"{_BPMN}process" or plain_start(process) is None:
        return None
    python = _python(data_object, value.text or "")
    if python is None:
        return None
    # A name the start data did not give may still read a builtin or a script helper (max,
    # type, today): only data is never callable.
    return (
        f"try:\n    if callable({name}):\n        raise NameError\n"
        f"except NameError:\n    {name} = {python}"
    )


def adopted(element: Any) -> bool:
    """Whether a ``<flowable:value>`` is set by the script task ``adopt`` draws."""
    holder = element.getparent()
    data_object = holder.getparent() if holder is not None else None
    return (
        etree.QName(element).localname == "value"
        and data_object is not None
        and data_object.tag == f"{_BPMN}dataObject"
        and _assignment(data_object) is not None
    )


def adopt(tree: Any) -> None:
    """The values of each process's data objects, set just after its start event."""
    for process in tree.iter(f"{_BPMN}process"):
        lines = [
            line
            for data_object in process.findall(f"{_BPMN}dataObject")
            if (line := _assignment(data_object)) is not None
        ]
        if lines:
            script_task(plain_start(process), "after", "\n".join(lines))


def hint(element: Any) -> str | None:
    """What to do with a data object's value that does not run."""
    holder = element.getparent()
    data_object = holder.getparent() if holder is not None else None
    if data_object is None or data_object.tag != f"{_BPMN}dataObject":
        return None
    name = data_object.get("name") or data_object.get("id")
    return (
        f"Dialflow sets {name} from a data object's value on a process with one plain start "
        f"event and a value its itemSubjectRef reads; otherwise set {name} in a script task "
        "after the start event, or send it with the start data"
    )
