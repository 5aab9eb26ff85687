"""Flowable's and Activiti's ``skipExpression`` on an activity, run as those engines run it.

RuoYi-Vue-Pro (yudao) and the other admin systems write ``flowable:skipExpression="${…}"`` on
approval tasks (skip the team leader's review of a small order); the engine skips the task,
taking its outgoing flow, when the process variable ``_FLOWABLE_SKIP_EXPRESSION_ENABLED`` (or
Activiti's ``_ACTIVITI_SKIP_EXPRESSION_ENABLED``) is true and the expression is true; without
that variable the task runs. Such diagrams were refused with "draw an exclusive gateway
before the task". ``adopt`` draws it, before the parser builds the file: an exclusive gateway
``<task id>_skip`` takes the task's incoming flows, its default flow runs the task and a flow
with the JUEL condition (the variable, then the expression, run by ``engine.juel``) goes to an
exclusive gateway ``<task id>_skip_merge`` after the task, from which the task's outgoing flow
leaves: what follows has one flow in from the task, as drawn (a parallel join after it waits
for that one).

A skipped activity's execution listeners still run, as Flowable fires them (``start`` before
the activity's behaviour skips it, ``end`` as it leaves): ``engine.listeners`` notes each line
on the task (``note_skipped_line``) and the skip's flow runs them in a script task drawn on it.
Its task listeners do not: Flowable creates no skipped user task, so neither ``create`` nor
``complete`` fires.

What stays refused (``engine.foreign``): a skip expression that is no JUEL condition Dialflow
runs, one on an activity without exactly one unconditional outgoing flow, and one on an event
(a gateway drawn before a start or boundary event was refused on elements the file does not
have, at no line).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import juel
from engine.bpmn_xml import ACTIVITIES, BPMN_NS

NAMESPACES = ("http://flowable.org/bpmn", "http://activiti.org/bpmn")
_BPMN = f"{{{BPMN_NS}}}"
_WHOLE = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)
ENABLED = ("_FLOWABLE_SKIP_EXPRESSION_ENABLED", "_ACTIVITI_SKIP_EXPRESSION_ENABLED")
# Where ``engine.listeners`` notes an execution listener's line on a task that may be skipped
# (taken off before the parser reads the file): ``start`` lines, then ``end`` lines.
_NOTED = "{urn:dialflow:skipped-listeners}"
_EVENTS = ("start", "end")


def condition(value: str) -> str | None:
    """The JUEL condition of the skip: enabled, then the expression; None when the
    expression is no JUEL condition that runs."""
    whole = _WHOLE.match(value)
    if whole is None:
        return None
    found = whole.group(1)
    enabled = " || ".join(f"{name} == true" for name in ENABLED)
    body = f"({enabled}) && ({found})"
    try:
        juel.translate_condition(body)
    except juel.Unsupported:
        return None
    return "${" + body + "}"


def _outgoing(task: Any) -> Any | None:
    """The task's one unconditional outgoing flow, else None."""
    scope = task.getparent()
    flows = [
        flow
        for flow in scope.iter(f"{_BPMN}sequenceFlow")
        if flow.getparent() is scope and flow.get("sourceRef") == task.get("id")
    ]
    if len(flows) != 1 or flows[0].find(f"{_BPMN}conditionExpression") is not None:
        return None
    return flows[0]


def runs(attribute: str, task: Any, value: str) -> bool:
    """Whether a ``skipExpression`` attribute of ``task`` runs as drawn (``adopt``)."""
    qname = etree.QName(attribute)
    return (
        qname.namespace in NAMESPACES
        and etree.QName(task).namespace == BPMN_NS
        and etree.QName(task).localname in ACTIVITIES  # an event has no skip: no gateway
        and qname.localname == "skipExpression"
        and bool(task.get("id"))
        and task.getparent() is not None
        and _outgoing(task) is not None
        and condition(value) is not None
    )


def skips(task: Any) -> bool:
    """Whether ``task`` has a skip expression ``adopt`` draws."""
    return any(runs(attribute, task, value) for attribute, value in task.attrib.items())


def note_skipped_line(task: Any, event: str, line: str) -> None:
    """Note the line of an execution listener's ``event`` (``start`` or ``end``) of ``task``,
    which also runs when the task is skipped."""
    key = f"{_NOTED}{event}"
    noted = task.get(key)
    task.set(key, line if noted is None else f"{noted}\n{line}")


def _skipped_lines(task: Any) -> list[str]:
    """The noted lines, start ones first, taken off the task."""
    lines: list[str] = []
    for event in _EVENTS:
        noted = task.attrib.pop(f"{_NOTED}{event}", None)
        if noted is not None:
            lines.extend(noted.split("\n"))
    return lines


def adopt(tree: Any) -> None:
    """Each skip expression that runs, drawn as the gateway around its task."""
    for task in list(tree.iter(f"{_BPMN}*")):
        for attribute, value in list(task.attrib.items()):
            if runs(attribute, task, value):
                _draw_gateway(task, _outgoing(task), condition(value) or "")
                del task.attrib[attribute]


def _draw_gateway(task: Any, outgoing: Any, skip: str) -> None:
    """The gateway before the task and, after it, a merge where the skip rejoins the task's
    own outgoing flow: what follows still has one flow in from here (a parallel join after
    the task waited for a second one, the skip's, and never went on)."""
    scope = task.getparent()
    task_id = task.get("id")
    gateway_id, run_id, skip_id = f"{task_id}_skip", f"{task_id}_run", f"{task_id}_skipped"
    merge_id, done_id = f"{task_id}_skip_merge", f"{task_id}_done"
    for flow in scope.iter(f"{_BPMN}sequenceFlow"):
        if flow.getparent() is scope and flow.get("targetRef") == task_id:
            flow.set("targetRef", gateway_id)
    gateway = etree.Element(f"{_BPMN}exclusiveGateway", id=gateway_id, default=run_id)
    for entry in task.findall(f"{_BPMN}incoming"):
        task.remove(entry)
        etree.SubElement(gateway, f"{_BPMN}incoming").text = entry.text
    etree.SubElement(gateway, f"{_BPMN}outgoing").text = run_id
    etree.SubElement(gateway, f"{_BPMN}outgoing").text = skip_id
    incoming = etree.Element(f"{_BPMN}incoming")
    incoming.text = run_id
    _first_flow_entry(task, incoming)
    for entry in task.findall(f"{_BPMN}outgoing"):
        if (entry.text or "").strip() == outgoing.get("id"):
            entry.text = done_id
    merge = etree.Element(f"{_BPMN}exclusiveGateway", id=merge_id)
    etree.SubElement(merge, f"{_BPMN}incoming").text = done_id
    etree.SubElement(merge, f"{_BPMN}incoming").text = skip_id
    etree.SubElement(merge, f"{_BPMN}outgoing").text = outgoing.get("id")
    run = etree.Element(f"{_BPMN}sequenceFlow", id=run_id, sourceRef=gateway_id)
    run.set("targetRef", task_id)
    skipped = etree.Element(f"{_BPMN}sequenceFlow", id=skip_id, sourceRef=gateway_id)
    skipped.set("targetRef", merge_id)
    etree.SubElement(skipped, f"{_BPMN}conditionExpression").text = skip
    done = etree.Element(f"{_BPMN}sequenceFlow", id=done_id, sourceRef=task_id)
    done.set("targetRef", merge_id)
    outgoing.set("sourceRef", merge_id)
    task.addprevious(gateway)
    task.addnext(run)
    run.addnext(skipped)
    skipped.addnext(done)
    done.addnext(merge)
    lines = _skipped_lines(task)
    if lines:
        _listeners_on_skip(task, skipped, merge, lines)


def _listeners_on_skip(task: Any, skipped: Any, merge: Any, lines: list[str]) -> None:
    """A script task on the skip's flow running the task's execution listeners."""
    task_id = task.get("id")
    script_id, onward_id = f"{task_id}_skipped_listeners", f"{task_id}_skipped_on"
    script = etree.Element(f"{_BPMN}scriptTask", id=script_id, scriptFormat="python")
    script.set("name", f"{task.get('name') or task_id}: listeners (skipped)")
    etree.SubElement(script, f"{_BPMN}incoming").text = skipped.get("id")
    etree.SubElement(script, f"{_BPMN}outgoing").text = onward_id
    etree.SubElement(script, f"{_BPMN}script").text = "\n".join(lines)
    onward = etree.Element(f"{_BPMN}sequenceFlow", id=onward_id, sourceRef=script_id)
    onward.set("targetRef", merge.get("id"))
    for entry in merge.findall(f"{_BPMN}incoming"):
        if entry.text == skipped.get("id"):
            entry.text = onward_id
    skipped.set("targetRef", script_id)
    skipped.addnext(script)
    script.addnext(onward)


def _first_flow_entry(element: Any, entry: Any) -> None:
    """``entry`` (an ``<incoming>``) placed where BPMN's order wants it: after the element's
    documentation and extension elements, before everything else."""
    position = 0
    for index, child in enumerate(element):
        if isinstance(child.tag, str) and etree.QName(child).localname in (
            "documentation",
            "extensionElements",
            "incoming",
        ):
            position = index + 1
    element.insert(position, entry)
