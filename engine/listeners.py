"""Listeners that only set a variable, as Flowable, Activiti and Camunda 7 diagrams draw them,
run as the pre- and post-scripts they are.

The admin systems' designers (bpmn-process-designer, RuoYi-Flowable-Plus, Flowable UI) offer
an execution listener or task listener with an expression, and teams use it to keep a count
or a flag: ``<flowable:executionListener event="end"
expression="${execution.setVariable('attempts', attempts + 1)}"/>``. Such diagrams were
refused with "model the listener's work as a task". ``adopt`` writes each one, before the
parser builds the file, as a line of the element's ``spiffworkflow:preScript`` (an execution
listener's ``start``, a task listener's ``create`` or ``assignment``) or ``postScript`` (an
execution listener's ``end``, a task listener's ``complete``), the value as the Python of its
JUEL with EL's operators and coercions, as a JUEL condition runs (``engine.juel.value_python``:
``amount + 1`` with ``amount`` the text "12" is 13, ``'5' + 1`` is 6); a variable the value
reads that the data lacks is an incident, as Flowable's "unknown property" is. A task listener
of a multi-instance user task runs for each instance, as Flowable fires it for each task, on
the data the instances share (``engine.instance_changes``: a count counts every sign-off). An
execution listener of a task a ``skipExpression`` skips runs on the skip's path too, where
Flowable fires it (``engine.skip_expressions``); its task listeners do not. Events run no
scripts: an event's listener becomes a script task drawn just after it (a start event's, an
``end`` listener's) or before it; a process's ``start`` listener one after its start event,
when it has one plain start event; a sequence flow's ``take`` listener one drawn on the flow.

What stays refused (``engine.foreign``): a listener naming Java (``class``,
``delegateExpression``), a script listener, one on a flow out of an event-based gateway, a
process's other listeners, an execution listener of a multi-instance activity, and an
expression that does more than set a variable (``hint`` gives the script to draw where it only
sets one).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Container
from typing import Any

from lxml import etree

from engine import juel, skip_expressions
from engine.bpmn_xml import ACTIVITIES, BPMN_NS

JAVA_ENGINES = (
    "http://camunda.org/schema/1.0/bpmn",
    "http://activiti.org/bpmn",
    "http://flowable.org/bpmn",
)
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_KINDS = ("executionListener", "taskListener")
_SET_VARIABLE = re.compile(
    r"""^\s*(?:execution|task)\.setVariable\(\s*(["'])([^"']+)\1\s*,\s*(.+?)\s*\)\s*$""",
    re.DOTALL,
)
_WHOLE = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)
# event → where its work runs, per kind of listener
_PLACES = {
    "executionListener": {"start": "preScript", "end": "postScript"},
    "taskListener": {"create": "preScript", "assignment": "preScript", "complete": "postScript"},
}
_LOOP = f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"
# Elements whose spec runs a spiffworkflow:preScript and postScript.
_SCRIPTED = ACTIVITIES - {"transaction", "adHocSubProcess"}
# Events, whose specs run no scripts: the listener's work is a script task drawn beside them.
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"}


def assignment(listener: Any) -> str | None:
    """The Python assignment a listener's expression makes (``attempts = attempts + 1``), or
    None when it names Java, runs a script or does more than set one variable."""
    if set(listener.attrib) - {"event", "expression", "id"} or len(listener):
        return None
    found = _WHOLE.match(listener.get("expression") or "")
    setter = _SET_VARIABLE.match(found.group(1)) if found else None
    if setter is None:
        return None
    name, value = setter.group(2).strip(), setter.group(3)
    if not name.isidentifier() or keyword.iskeyword(name) or juel.engine_names(value):
        return None
    python = juel.value_python(value)
    return None if python is None else f"{name} = {python}"


def place(listener: Any) -> str | None:
    """``preScript`` or ``postScript``: where the listener's work runs on its element; None
    where it cannot run as a script of that element."""
    qname = etree.QName(listener)
    holder = listener.getparent()
    owner = holder.getparent() if holder is not None else None
    if qname.namespace not in JAVA_ENGINES or qname.localname not in _KINDS or owner is None:
        return None
    kind = etree.QName(owner)
    if kind.localname == "process" and kind.namespace == BPMN_NS:
        # the instance's start: Flowable fires it before the start event's own listeners
        starts = qname.localname == "executionListener" and listener.get("event") == "start"
        return "process" if starts and plain_start(owner) is not None else None
    if kind.localname == "sequenceFlow" and kind.namespace == BPMN_NS:
        # taken: a script task on the flow, unless an event-based gateway's flow must lead
        # to its event itself
        takes = qname.localname == "executionListener" and listener.get("event", "take") == "take"
        return "flow" if takes and not _from_event_gateway(owner) else None
    if kind.namespace != BPMN_NS or kind.localname not in _SCRIPTED | _EVENTS:
        return None
    if qname.localname == "taskListener" and kind.localname != "userTask":
        return None
    where = _PLACES[qname.localname].get((listener.get("event") or "").strip())
    if kind.localname in _EVENTS:
        side = _beside(kind.localname, where)
        # an event-based gateway's flows lead to its events themselves
        return None if side == "before" and _after_event_gateway(owner) else side
    loop = owner.find(_LOOP)
    if where is None or loop is None:
        return where
    # Flowable fires a task listener for each task of a multi-instance activity
    if qname.localname != "taskListener" or _has_scripts(holder):
        return None
    return where


def _from_event_gateway(flow: Any) -> bool:
    scope = flow.getparent()
    return any(
        element.tag == f"{{{BPMN_NS}}}eventBasedGateway"
        and element.get("id") == flow.get("sourceRef")
        for element in scope
    )


def _script_on_flow(flow: Any, line: str) -> None:
    """The script task running ``line`` drawn on ``flow``: the flow (its condition kept)
    leads to it, and a new flow from it to where the flow led. A second listener on the same
    flow adds its line to that task."""
    scope = flow.getparent()
    task_id = f"{flow.get('id')}_listener"
    existing = next((e for e in scope if e.get("id") == task_id), None)
    if existing is not None:
        script = existing.find(f"{_BPMN}script")
        script.text = f"{script.text}\n{line}"
        return
    onward_id = f"{task_id}_flow"
    target_id = flow.get("targetRef")
    target = next((e for e in scope if e.get("id") == target_id), None)
    if target is not None:
        for entry in target.findall(f"{_BPMN}incoming"):
            if (entry.text or "").strip() == flow.get("id"):
                entry.text = onward_id
    task = etree.Element(f"{_BPMN}scriptTask", id=task_id, scriptFormat="python")
    task.set("name", f"{flow.get('name') or flow.get('id')}: listener")
    etree.SubElement(task, f"{_BPMN}incoming").text = flow.get("id")
    etree.SubElement(task, f"{_BPMN}outgoing").text = onward_id
    etree.SubElement(task, f"{_BPMN}script").text = line
    onward = etree.Element(f"{_BPMN}sequenceFlow", id=onward_id, sourceRef=task_id)
    onward.set("targetRef", target_id or "")
    flow.set("targetRef", task_id)
    flow.addnext(task)
    task.addnext(onward)


def _after_event_gateway(event: Any) -> bool:
    scope = event.getparent()
    sources = {
        flow.get("sourceRef")
        for flow in scope.iter(f"{{{BPMN_NS}}}sequenceFlow")
        if flow.get("targetRef") == event.get("id")
    }
    return any(
        element.tag == f"{{{BPMN_NS}}}eventBasedGateway" and element.get("id") in sources
        for element in scope
    )


def plain_start(process: Any) -> Any | None:
    """A process's start event when it has one and that one has no trigger, else None."""
    starts = process.findall(f"{{{BPMN_NS}}}startEvent")
    if len(starts) != 1:
        return None
    if any(
        isinstance(c.tag, str) and etree.QName(c).localname.endswith("EventDefinition")
        for c in starts[0]
    ):
        return None
    return starts[0]


def _beside(event: str, where: str | None) -> str | None:
    """Where the script task doing an event's listener goes: ``before`` or ``after`` it."""
    if where is None:
        return None
    if event == "startEvent" or (where == "postScript" and event != "endEvent"):
        return "after"
    return "before"


def adopted(listener: Any) -> bool:
    """Whether a listener runs as a script of its element (``adopt`` writes it so)."""
    return place(listener) is not None and assignment(listener) is not None


def adopt(tree: Any) -> None:
    """Each listener that only sets a variable, written as a line of its element's pre- or
    post-script and taken out of the file the parser reads."""
    for listener in _in_firing_order(tree):
        if not adopted(listener):  # as the file stands after the ones before it
            continue
        holder = listener.getparent()
        line = assignment(listener) or ""
        where = place(listener) or ""
        if where == "flow":
            _script_on_flow(holder.getparent(), line)
        elif where == "process":
            script_task(plain_start(holder.getparent()), "after", line)
        elif where in ("before", "after"):
            script_task(holder.getparent(), where, line)
        else:
            owner = holder.getparent()
            if etree.QName(listener).localname == "executionListener" and skip_expressions.skips(
                owner
            ):
                # Flowable fires a skipped activity's execution listeners too
                event = "start" if where == "preScript" else "end"
                skip_expressions.note_skipped_line(owner, event, line)
            loop = owner.find(_LOOP)
            if loop is not None:
                loop.set(f"{{{SPIFF_NS}}}scriptsOnInstances", "true")
            script = holder.find(f"{{{SPIFF_NS}}}{where}")
            if script is None:
                script = etree.SubElement(holder, f"{{{SPIFF_NS}}}{where}")
                script.text = line
            else:
                script.text = f"{(script.text or '').rstrip()}\n{line}"
        holder.remove(listener)


def _in_firing_order(tree: Any) -> list[Any]:
    """The listeners ``adopt`` writes, in the order their lines run on one element: an
    execution listener's ``start`` before a task listener's ``create``, and a task listener's
    ``complete`` before an execution listener's ``end`` (the task completes, then the
    activity ends), however the designer listed them."""
    found = [
        listener
        for kind in _KINDS
        for namespace in JAVA_ENGINES
        for listener in tree.iter(f"{{{namespace}}}{kind}")
        if adopted(listener)
    ]

    def completes_first(listener: Any) -> int:
        completes = etree.QName(listener).localname == "taskListener" and (
            place(listener) == "postScript"
        )
        return 0 if completes else 1

    return sorted(found, key=completes_first)  # stable: each kind keeps its order


def hint(listener: Any) -> str | None:
    """For a listener that sets a variable where no script of its element can: the script
    task to draw instead."""
    line = assignment(listener)
    if line is None:
        return None
    holder = listener.getparent()
    owner = holder.getparent() if holder is not None else None
    kind = etree.QName(owner).localname if owner is not None else ""
    if kind == "sequenceFlow":
        return (
            "an event-based gateway's flow leads to its event itself: draw a script task "
            f"after that event whose script is {line!r}"
        )
    if kind == "process":
        return (
            f"draw a script task after the start event whose script is {line!r} (Dialflow "
            "runs a process's start listener so when the process has one plain start event)"
        )
    if kind in _EVENTS or kind == "boundaryEvent":
        return f"draw a script task after the {kind} whose script is {line!r}"
    return (
        f"write {line!r} in a script task before or after {kind or 'the element'}, or as its "
        "spiffworkflow:preScript or postScript"
    )


_BPMN = f"{{{BPMN_NS}}}"


# The ids of the tasks ``script_task`` draws: the event's id with one of these after it.
DRAWN_SUFFIXES = ("_listener_before", "_listener_after", "_mappings_before", "_mappings_after")


def drawn_for(element_id: str, known: Container[str]) -> str:
    """The id of the element a task ``script_task`` drew belongs to (its event, among the
    ``known`` ids), else ``element_id`` itself: what an incident, its message and the
    instance's diagram name, the drawn task being no element of the diagram."""
    for suffix in DRAWN_SUFFIXES:
        owner = element_id.removesuffix(suffix)
        if owner != element_id and owner in known:
            return owner
    return element_id


def script_task(event: Any, side: str, line: str, kind: str = "listener") -> None:
    """The script task running ``line`` drawn just ``before`` or ``after`` ``event``: the
    flows into (out of) the event go into (out of) it, and one flow joins the two. A second
    listener on the same side adds its line to that task. ``kind`` names what it runs (its
    id and name say it: ``listener``, ``mappings``)."""
    scope = event.getparent()
    event_id = event.get("id") or ""
    task_id = f"{event_id}_{kind}_{side}"
    existing = next((e for e in scope if e.get("id") == task_id), None)
    if existing is not None:
        script = existing.find(f"{_BPMN}script")
        script.text = f"{script.text}\n{line}"
        return
    task = etree.Element(f"{_BPMN}scriptTask", id=task_id, scriptFormat="python")
    task.set("name", f"{event.get('name') or event_id}: {kind}")
    end, other = ("sourceRef", "targetRef") if side == "after" else ("targetRef", "sourceRef")
    listed = "outgoing" if side == "after" else "incoming"
    for flow in scope.iter(f"{_BPMN}sequenceFlow"):
        if flow.getparent() is scope and flow.get(end) == event_id:
            flow.set(end, task_id)
    joining = f"{task_id}_flow"
    for entry in event.findall(f"{_BPMN}{listed}"):
        event.remove(entry)
        etree.SubElement(task, f"{_BPMN}{listed}").text = entry.text
    back = "incoming" if side == "after" else "outgoing"
    etree.SubElement(task, f"{_BPMN}{back}").text = joining
    etree.SubElement(task, f"{_BPMN}script").text = line
    flow = etree.Element(f"{_BPMN}sequenceFlow", id=joining)
    flow.set(end, event_id)
    flow.set(other, task_id)
    if side == "after":
        event.append(etree.Element(f"{_BPMN}{listed}"))
        event[-1].text = joining
    else:
        event.insert(0, etree.Element(f"{_BPMN}{listed}"))
        event[0].text = joining
    event.addnext(task)
    task.addnext(flow)


def _has_scripts(holder: Any) -> bool:
    return any(
        holder.find(f"{{{SPIFF_NS}}}{where}") is not None for where in ("preScript", "postScript")
    )
