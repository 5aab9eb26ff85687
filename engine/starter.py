"""The starter variable: a process start event's ``camunda:initiator`` (Activiti's and
Flowable's ``initiator`` too) names a variable that holds who started the instance.

The Java engines set it to the authenticated user's id when the instance starts, and
diagrams from their modelers read it: in assignees (``${initiator}``), in conditions
(``${applyUserId == 'boss'}``, as Python ``applyUserId == 'boss'``) and in scripts. Dialflow
sets it when the start event runs, to the username of the user the instance records as its
starter (``ProcessInstance.started_by_id``): the one who called ``POST
/process-instances``, sent the message or signal that started it, or whose CRM action
(a lead, an import, a quote) started it; ``None`` when no user did (a timer start, or a
message thrown in a step no user took).
The starter wins over a value of that name in the start data, so the data cannot claim
another starter. A called process's start event sets it to the same user: the instance's
starter, whoever's step reached the call activity.
"""

from __future__ import annotations

import keyword
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.defaults import StartEvent

from engine.bpmn_xml import BPMN_NS

STARTER_NAMESPACES = {
    "http://camunda.org/schema/1.0/bpmn",
    "http://activiti.org/bpmn",
    "http://flowable.org/bpmn",
}


def initiator_variable(node: Any) -> str | None:
    """The variable a start event ``node`` names for its starter, written by one of the Java
    engines' modelers; ``None`` when it names none."""
    for attribute, value in node.attrib.items():
        qname = etree.QName(attribute)
        if qname.localname == "initiator" and qname.namespace in STARTER_NAMESPACES:
            return value.strip()
    return None


def sets_starter(node: Any, variable: str) -> bool:
    """Whether Dialflow sets ``variable`` from the start event ``node``: a Python name, on a
    start event of a process (not of a subprocess, where the Java engines ignore it)."""
    parent = node.getparent()
    return (
        variable.isidentifier()
        and not keyword.iskeyword(variable)
        and parent is not None
        and parent.tag == f"{{{BPMN_NS}}}process"
    )


class StarterStartEvent(StartEvent):
    """A start event that puts the instance's starter in ``initiator`` when it runs."""

    initiator: str = "initiator"

    def _run_hook(self, my_task: Any) -> Any:
        context = getattr(my_task.workflow.script_engine, "context", None)
        my_task.data[self.initiator] = context.starter if context is not None else None
        return super()._run_hook(my_task)
