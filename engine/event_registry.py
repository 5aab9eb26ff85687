"""Flowable's event registry start events (Flowable 6.5+, Flowable Design 7) run as message
starts.

Flowable Design writes a start event that starts a process when an event of a type arrives
on an inbound channel as a plain ``<startEvent>`` with ``<flowable:eventType>`` in its
extensions, the event's fields mapped to variables by ``<flowable:eventOutParameter
source target>``, and the channel (``channelKey``, ``channelType`` kafka/jms/rabbit,
``channelDestination``) beside them. It was refused element by element, none saying what it
was. Dialflow's door for an event from outside is ``POST /api/v1/messages``: ``adopt`` writes
the start as a message start of a message named after the event type, the event's payload
held in a message variable and each ``eventOutParameter``'s source set under its target by
a script task drawn after the start (a field the event lacks is null, as Flowable leaves it unset),
the payload's other fields dropped as Flowable drops them. Dialflow reads no channel: a start
naming one deploys with a warning (``warnings``) saying to send each event as a message. A
start with any other setting (correlation parameters, an in parameter, a ``startEventCorrelation
Configuration`` other than ``startNewInstance``, a mapping whose target is no variable name)
stays refused on that setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine.bpmn_xml import (
    BPMN_NS,
    chain_beside,
    element_problem,
    executable_processes,
    readable_trees,
)

FLOWABLE_NS = "http://flowable.org/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_FLOWABLE, _BPMN, _SPIFF = f"{{{FLOWABLE_NS}}}", f"{{{BPMN_NS}}}", f"{{{SPIFF_NS}}}"
_EXTENSIONS = f"{_BPMN}extensionElements"
EVENT = "_registry_event"  # the event's payload, until the post-script mapped it
_TEXTS = {"eventType", "eventName", "channelKey", "channelName", "channelType"}
_TEXTS |= {"channelDestination", "keyDetectionType", "keyDetectionValue"}
_CHANNEL = ("channelKey", "channelType", "channelDestination")


def _text(element: Any) -> str:
    return (element.text or "").strip()


def _settings(start: Any) -> list[Any]:
    return [
        item
        for extensions in start.findall(_EXTENSIONS)
        for item in extensions
        if isinstance(item.tag, str) and item.tag.startswith(_FLOWABLE)
    ]


def _declared_type(start: Any) -> str | None:
    """The ``<flowable:eventType>`` of a process's plain start event, else ``None``."""
    if start.tag != f"{_BPMN}startEvent" or etree.QName(start.getparent()).localname != "process":
        return None
    if any(etree.QName(c).localname.endswith("EventDefinition") for c in start if c.tag):
        return None
    types = [_text(i) for i in _settings(start) if etree.QName(i).localname == "eventType"]
    return types[0] if len(types) == 1 and types[0] else None


def blocker(start: Any) -> tuple[Any, str] | None:
    """The first setting of an event registry start that keeps it from running as a message
    start, and why; ``None`` when all of them run."""
    for item in _settings(start):
        local = etree.QName(item).localname
        if local == "eventOutParameter":
            target = (item.get("target") or "").strip()
            if not (target.isidentifier() and (item.get("source") or "").strip()) or len(item):
                return item, "an out parameter maps one event field (source) to a variable name"
        elif local == "startEventCorrelationConfiguration" and _text(item) != "startNewInstance":
            return item, (
                f"{_text(item)!r}: Dialflow starts a new instance for every event (it keeps no "
                "reference ids for events to be matched by)"
            )
        elif local == "eventCorrelationParameter":
            return item, (
                "Dialflow starts a new instance for every event: no correlation parameter "
                "decides whether one starts"
            )
        elif local not in _TEXTS and local != "startEventCorrelationConfiguration":
            return item, "Dialflow reads the event type, its out parameters and the channel"
    return None


def event_type(start: Any) -> str | None:
    """The event type a start event is started by, when all its Flowable settings are ones
    ``adopt`` runs; else ``None``."""
    kind = _declared_type(start)
    return kind if kind is not None and blocker(start) is None else None


def _start_of(element: Any) -> Any:
    extensions = element.getparent()
    if extensions is None or extensions.tag != _EXTENSIONS:
        return None
    return extensions.getparent()


def adopted(element: Any) -> bool:
    """True for a Flowable setting of an event registry start that is not what keeps it from
    running (that one alone is refused, with ``hint``)."""
    start = _start_of(element)
    if start is None or _declared_type(start) is None:
        return False
    said = blocker(start)
    return said is None or said[0] is not element


def hint(element: Any) -> str | None:
    """What keeps an event registry start from running, said on that setting."""
    start = _start_of(element)
    said = blocker(start) if start is not None and _declared_type(start) else None
    if said is None or said[0] is not element:
        return None
    return (
        f"{said[1]}; without it the process starts on each {_declared_type(start)!r} event sent "
        "as a message (POST /api/v1/messages), the out parameters mapping its fields"
    )


def adopt(tree: Any) -> None:
    """Write each event registry start as a message start (see the module)."""
    root = tree if tree.tag == f"{_BPMN}definitions" else tree.getroottree().getroot()
    for start in list(root.iter(f"{_BPMN}startEvent")):
        kind = event_type(start)
        if kind is None:
            continue
        message = next((m for m in root.iter(f"{_BPMN}message") if m.get("name") == kind), None)
        if message is None:
            message = etree.Element(f"{_BPMN}message", id=f"registry_{start.get('id')}", name=kind)
            root.insert(0, message)
        definition = etree.SubElement(
            start, f"{_BPMN}messageEventDefinition", messageRef=message.get("id")
        )
        variable = etree.SubElement(
            etree.SubElement(definition, _EXTENSIONS), f"{_SPIFF}messageVariable"
        )
        variable.text = EVENT
        lines = [f"{EVENT} = {EVENT} if isinstance({EVENT}, dict) else {{}}"]
        for item in _settings(start):
            if etree.QName(item).localname == "eventOutParameter":
                source, target = item.get("source").strip(), item.get("target").strip()
                lines.append(f"{target} = {EVENT}.get({source!r})")
        lines.append(f"del {EVENT}")
        task = etree.Element(f"{_BPMN}scriptTask", id=f"{start.get('id')}__event_fields")
        task.set("name", f"{kind} fields")
        etree.SubElement(task, f"{_BPMN}script").text = "\n".join(lines)
        chain_beside(start, [task], before=False)


def warnings(bpmn: Mapping[str, str]) -> list[dict[str, Any]]:
    """A warning on each adopted start that names a channel Dialflow does not read."""
    found = []
    for file, tree in readable_trees(bpmn):
        for process in executable_processes(tree):
            for start in process.findall(f"{_BPMN}startEvent"):
                kind = event_type(start)
                channel = {
                    etree.QName(item).localname: _text(item)
                    for item in _settings(start)
                    if etree.QName(item).localname in _CHANNEL and _text(item)
                }
                if kind is None or not channel:
                    continue
                said = ", ".join(f"{key} {value!r}" for key, value in channel.items())
                found.append(
                    element_problem(
                        file,
                        start,
                        f"starts on the event registry's {kind!r} events, which Dialflow reads "
                        f"from no channel ({said}): send each event as POST /api/v1/messages "
                        f'{{"name": "{kind}", "payload": {{…the event\'s fields…}}}}',
                    )
                )
    return found
