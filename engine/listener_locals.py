"""A Camunda 8 start listener's job variables, local to its element as Zeebe keeps them.

Camunda 8 sets the variables a start execution listener's job (or a user task's ``creating``
task listener's) completes with as local variables of the element: the element, the
listeners after it and its output mappings read them, and they are gone when it ends (its
documentation, Execution listeners, "Variables in an execution listener"). ``engine.zeebe_jobs``
draws such a listener as a service task before its element, so its job's variables were set
in the data the element handed on: they reached the process and stayed there. Here the
listener's task remembers what each name it set held before (``remember``), and the element's
completion puts that back (``forget``), but for the names its output mappings set. A
listener on the process itself, whose variables would be the process's, is refused at deploy
(it has no flow to run on), so none lands here.
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit

# the service task ``zeebe_jobs._insert`` draws for a start (or creating) listener of ``owner``
_START_LISTENER = re.compile(r"^(?P<owner>.+)__(?:start|creating)_listener_\d+$")
# a start listener task's internal data: {"owner": element id, "shadowed": {name: [it was
# there before the first listener, its value then]}}, the listeners before it included
LOCALS = "listener_locals"


def remember(task: Any, variables: dict[str, Any]) -> None:
    """Before ``task``, a start listener's, sets its job's ``variables``: note what they cover."""
    match = _START_LISTENER.match(getattr(task.task_spec, "bpmn_id", None) or "")
    if match is None:
        return
    owner = match["owner"]
    earlier = _record_above(task, owner)
    own = task.internal_data.get(LOCALS)  # a retry's run again: what the first run noted stays
    shadowed = {
        **(own["shadowed"] if own is not None else {}),
        **(earlier["shadowed"] if earlier is not None else {}),
    }
    for name in variables:
        if name not in shadowed:
            shadowed[name] = [name in task.data, deepcopy(task.data.get(name))]
    task.internal_data[LOCALS] = {"owner": owner, "shadowed": shadowed}


def _record_above(task: Any, owner: str) -> dict[str, Any] | None:
    """The record of the start listener right before ``task``, if it is one of ``owner``'s,
    or the copy SpiffWorkflow's split before an activity with boundary events took of it
    (``carry``: the tree is pruned above that split while the activity runs)."""
    parent = task.parent
    while parent is not None:
        record = parent.internal_data.get(LOCALS)
        if record is not None:
            return record if record.get("owner") == owner else None
        if not isinstance(parent.task_spec, BoundaryEventSplit):
            return None
        parent = parent.parent
    return None


def carry(_workflow: Any, split: Any, owner: str) -> None:
    """The split before ``owner``'s boundary events completed: it keeps the record of the
    listeners before it, for the activity and its boundary events to read."""
    record = _record_above(split, owner)
    if record is not None:
        split.internal_data[LOCALS] = deepcopy(record)


def forget(_workflow: Any, task: Any, owner: str) -> None:
    """``task`` completed: what the start listeners of ``owner`` (its element, or the activity
    it is a boundary event of) set is as it was before them, but for what its output mappings
    set (``engine.io_mappings``). A boundary event's path runs in the scope around the
    activity, which never had them."""
    record = _record_above(task, owner)
    if record is None:
        return
    io = getattr(task.task_spec, "io", None)
    mapped = {mapping.root for mapping in io.outputs} if io is not None else set()
    _put_back(record, task.data, mapped)


def outside(task: Any) -> dict[str, Any]:
    """``task``'s data as the scope around the element its start listeners ran for has it:
    what they set put back as it was before them. ``task`` is the last one before an event
    that caught something (the split before an activity with boundary events, which keeps
    the listeners' record, ``carry``): the event's outputs (``engine.io_mappings``) hand on
    that data, which held the listeners' variables, as the activity's own were the scope's."""
    record = task.internal_data.get(LOCALS)
    if record is None:
        return task.data
    data = dict(task.data)
    _put_back(record, data, set())
    return data


def _put_back(record: dict[str, Any], data: dict[str, Any], kept: set[str]) -> None:
    """Each name the listeners of ``record`` set, but those in ``kept``, as before them."""
    for name, (existed, value) in record["shadowed"].items():
        if name in kept:
            continue
        if existed:
            data[name] = deepcopy(value)
        else:
            data.pop(name, None)


def has_start_listeners(node: Any) -> bool:
    """Whether ``zeebe_jobs`` drew start (or creating) listeners before the element ``node``."""
    own, scope = node.get("id"), node.getparent()
    if not own or scope is None:
        return False
    drawn = (f"{own}__start_listener_1", f"{own}__creating_listener_1")
    return any(sibling.get("id") in drawn for sibling in scope)


def keep_local(spec: Any, node: Any) -> None:
    """Give ``spec``, the element ``node``'s, the completion that forgets the variables of its
    start listeners, or of those of the activity it is a boundary event of (once); it finds
    none to forget when no listener ran right before."""
    own = node.get("id")
    if isinstance(spec, BoundaryEventSplit):  # before an activity with boundary events
        if has_start_listeners(node) and not getattr(spec, "forgets_listener_locals", False):
            spec.forgets_listener_locals = True
            spec.completed_event.connect(carry, own)
        spec = next((o for o in spec.outputs if getattr(o, "bpmn_id", None) == own), None)
    if spec is None or getattr(spec, "forgets_listener_locals", False):
        return
    owner = node
    if etree.QName(node).localname == "boundaryEvent":
        attached = node.get("attachedToRef")
        scope = node.getparent()
        owner = (
            next((e for e in scope if e.get("id") == attached), None) if scope is not None else None
        )
    if owner is None or not owner.get("id"):
        return
    # every element, not only those drawn with start listeners: an instance moved, past its
    # listeners, to a version drawing none, kept their variables in its data for good
    spec.forgets_listener_locals = True
    spec.completed_event.connect(forget, owner.get("id"))
