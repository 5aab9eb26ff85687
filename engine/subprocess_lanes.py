"""The lanes drawn inside an expanded subprocess.

BPMN lets a subprocess hold a lane set of its own, and a lane there decides who works on the
tasks it lists (a manager's review inside an agent's offer). SpiffWorkflow 3.2 gives every
element inside a subprocess the subprocess's own lane, ignoring such a lane set, so the
review was offered to the agents. Here an element listed in a lane of its subprocess's own
lane set (the innermost of nested lanes) takes that lane; an element it does not list takes
the subprocess's, as before.
"""

from __future__ import annotations

from typing import Any

from engine.bpmn_xml import BPMN_NS

_LANE_SET = f"{{{BPMN_NS}}}laneSet"
_LANE = f"{{{BPMN_NS}}}lane"
_REF = f"{{{BPMN_NS}}}flowNodeRef"


def own_lanes(scope: Any) -> dict[str, Any]:
    """Element id → the named ``<lane>`` of ``scope``'s own lane sets listing it (the last
    one, the innermost of nested lanes, as SpiffWorkflow reads a process's lanes); a lane
    without a name leaves its elements in the subprocess's lane."""
    found: dict[str, Any] = {}
    for lane_set in scope.iterfind(_LANE_SET):
        for lane in lane_set.iter(_LANE):
            if not (lane.get("name") or "").strip():
                continue
            for ref in lane.iterfind(_REF):
                if ref.text and ref.text.strip():
                    found[ref.text.strip()] = lane
    return found


def lane_inside(scope: Any, element_id: str | None) -> str | None:
    """The name of the lane of ``scope``'s own lane sets that lists ``element_id``, if any."""
    lane = own_lanes(scope).get(element_id or "")
    return lane.get("name") if lane is not None else None
