"""Elements whose id is a name SpiffWorkflow 3.2 gives its own task specs.

SpiffWorkflow names a task spec by its element's id, in the same table as the specs it makes
itself: every process (and subprocess) has ``Start``, ``End`` and ``<process id>.EndJoin``;
a process with several start events ``StartEventSplit`` and ``StartEventJoin``; an activity
with boundary events ``<id>.BoundaryEventSplit`` and ``<id>.BoundaryEventJoin``. An element
with such an id took the place of SpiffWorkflow's spec: a start event ``Start`` failed every
start with "No output task connected" (a 500), a user task ``End`` or ``p.EndJoin`` was
taken for the process's end and the instance completed without it.

Here such an element's spec gets an internal name of its own (``End [element]``, in the
way SpiffWorkflow names a loop's ``[child]``: no XML id holds a space) and keeps its
``bpmn_id``, which is what Dialflow shows: task and work-item element ids, incidents,
history, waits and the diagram's highlight. Only ids that take a place are renamed, so the
specs of every diagram that ran before keep their names and their stored instances load.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.bpmn_spec_mixin import BpmnSpecMixin
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff

SUFFIX = " [element]"
_BOUNDARY_PARTS = (".BoundaryEventSplit", ".BoundaryEventJoin")


def taken_names(spec: Any, node: Any, attached: dict[str, list[Any]]) -> frozenset[str]:
    """The names SpiffWorkflow gives specs of its own in ``spec``, the process or subprocess
    ``node`` (``attached``: its boundary events by the id of their activity)."""
    names = {"Start", "End", f"{spec.name}.EndJoin"}
    starts = [child for child in node if child.tag.endswith("}startEvent")]
    if len(starts) > 1:
        names |= {"StartEventSplit", "StartEventJoin"}
    names |= {f"{activity}{part}" for activity in attached for part in _BOUNDARY_PARTS}
    return frozenset(names)


def guard(spec: Any, taken: frozenset[str]) -> None:
    """Make the elements later added to ``spec`` under a name in ``taken`` take their
    internal name instead (the spec's own specs of those names are already there or, for the
    splits and joins made after the elements, are no element)."""
    spec.reserved_names = taken
    spec._add_notify = partial(_add_named, spec, type(spec)._add_notify)


def _add_named(spec: Any, add: Any, task_spec: Any) -> None:
    if isinstance(task_spec, BpmnSpecMixin) and task_spec.name in spec.reserved_names:
        task_spec.name = internal_name(task_spec.name)
    add(spec, task_spec)


def internal_name(element_id: str) -> str:
    return f"{element_id}{SUFFIX}"


def spec_key(spec: Any, element_id: str | None) -> str | None:
    """The name ``spec`` holds the element ``element_id``'s task spec under."""
    if element_id is not None and element_id in getattr(spec, "reserved_names", ()):
        return internal_name(element_id)
    return element_id


def restore_element_ids(spec: Any) -> None:
    """A loop or multi-instance activity built around a renamed element is made with its
    name as its id (SpiffWorkflow's ``_copy_task_attrs``): give it back the element's."""
    for task_spec in spec.task_specs.values():
        element_id = getattr(task_spec, "bpmn_id", None)
        if isinstance(element_id, str) and element_id.endswith(SUFFIX):
            task_spec.bpmn_id = element_id[: -len(SUFFIX)]


def by_element(spec: Any) -> dict[str, Any]:
    """``spec``'s task specs by name, each renamed element's under its element id."""
    specs = dict(spec.task_specs)
    for name in getattr(spec, "reserved_names", ()):
        element = specs.get(internal_name(name))
        if element is not None:
            specs[name] = element
    return specs


def name_shared_scope_id(found: dict[str, Any], process_parsers: dict[str, Any]) -> None:
    """The parser's "Duplicate process ID" on a subprocess, said as what to do.

    SpiffWorkflow keeps every process and embedded subprocess of a deploy in one table by id,
    and a workflow finds a subprocess's spec there by name: two files that each draw a
    subprocess ``Sub``, or a subprocess with the id of a process of another file, cannot run
    side by side. The refusal said only "Duplicate process ID: Sub."."""
    element_id = found.get("element_id")
    other = process_parsers.get(element_id or "")
    if other is None or not found.get("message", "").startswith("Duplicate process ID"):
        return
    kind = "process" if other.node.tag.endswith("}process") else "subprocess"
    found["message"] = (
        f"subprocess {element_id!r}: the {kind} {element_id!r} of {other.filename} has this "
        "id too, and every process and subprocess of a deploy needs an id of its own "
        "(SpiffWorkflow finds a subprocess by its id); rename this subprocess"
    )


class ElementSpecDiff(SpecDiff):
    """SpiffWorkflow's diff of two versions of a process, which aligns task specs by name,
    with an element whose id is reserved in only one of them aligned to the same element of
    the other. A user task ``StartEventSplit`` is held under that name in a version with one
    start event and as ``StartEventSplit [element]`` in one with two, where the name is
    SpiffWorkflow's split: a migration moved the waiting task onto the split (the instance
    started over) or, the other way, refused it as an element the new version lacks."""

    def __init__(self, registry: Any, original: Any, new: Any) -> None:
        super().__init__(registry, original, new)
        reserved = getattr(original, "reserved_names", frozenset()) | getattr(
            new, "reserved_names", frozenset()
        )
        drawn = by_element(new)
        for spec, candidate in list(self.alignment.items()):
            element = _element(spec)
            if element == _element(candidate) or not (
                _reserved(spec, reserved) or _reserved(candidate, reserved)
            ):
                continue
            match = drawn.get(element) if element is not None else None
            if match is not None and _element(match) != element:
                match = None  # the name is SpiffWorkflow's own spec there: no such element
            self.alignment[spec] = match
            self.comparisons.pop(spec, None)
            if match is not None:
                self.comparisons[spec] = self._compare_task_specs(spec, match)
                if match in self.added:
                    self.added.remove(match)


def _element(spec: Any) -> str | None:
    return getattr(spec, "bpmn_id", None) if spec is not None else None


def _reserved(spec: Any, reserved: frozenset[str]) -> bool:
    return spec is not None and (spec.name.endswith(SUFFIX) or spec.name in reserved)


def diff_by_element(registry: Any, workflow: Any, spec: Any, dependencies: dict[str, Any]) -> Any:
    """``diff_workflow`` of SpiffWorkflow with :class:`ElementSpecDiff`: the workflow's diff
    to ``spec`` and, by subprocess id, each subprocess's to its process in ``dependencies``
    (None where that process is not there)."""
    top = WorkflowDiff(workflow, ElementSpecDiff(registry, workflow.spec, spec))
    subprocesses = {
        sub_id: (
            WorkflowDiff(sub, ElementSpecDiff(registry, sub.spec, dependencies[sub.spec.name]))
            if sub.spec.name in dependencies
            else None
        )
        for sub_id, sub in workflow.subprocesses.items()
    }
    return top, subprocesses
