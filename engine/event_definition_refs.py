"""Event definitions declared once in ``<definitions>`` and referenced by events.

BPMN lets an event name a definition declared at the top of the file instead of holding its
own: ``<eventDefinitionRef>TimerEventDefinition_day</eventDefinitionRef>`` beside a global
``<timerEventDefinition id="TimerEventDefinition_day">``, as schema-bound exports and the OMG's
examples may write a timer or message used by several events. SpiffWorkflow reads only the
definitions an event holds, so such an event had none: a catch after an event-based gateway
was listed as a wait for nothing (``kind: event``, no name) and never fired, and the instance
waited for good.

Before the checks and the parser see a BPMN file, each such reference is replaced by a copy
of the definition it names (its id made the event's own, ``<event id>_<definition id>``), so
the event holds it as if drawn inside it. A reference to no global definition stays and the
event is said to have none. The stored XML stays as uploaded.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS

_REF = f"{{{BPMN_NS}}}eventDefinitionRef"


def inline_event_definitions(tree: Any) -> int:
    """Replace each ``eventDefinitionRef`` naming a global event definition by a copy of it, in
    place (see the module's text); returns how many were replaced."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    declared = {
        child.get("id"): child
        for child in root
        if isinstance(child.tag, str)
        and etree.QName(child).namespace == BPMN_NS
        and etree.QName(child).localname.endswith("EventDefinition")
        and child.get("id")
    }
    replaced = 0
    for ref in list(root.iter(_REF)):
        definition = declared.get((ref.text or "").strip())
        event = ref.getparent()
        if definition is None or event is None:
            continue
        held = copy.deepcopy(definition)
        held.set("id", f"{event.get('id') or 'event'}_{definition.get('id')}")
        held.tail = ref.tail
        event.replace(ref, held)
        replaced += 1
    return replaced
