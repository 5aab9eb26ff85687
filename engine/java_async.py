"""Camunda 7's, Flowable's and Activiti's transaction settings (``camunda:asyncBefore``,
``asyncAfter``, ``flowable:async``, ``exclusive``, ``jobPriority``), read with Dialflow's
meaning instead of refused.

Those engines run a process in one database transaction until it waits, and the settings
move where a transaction ends: ``asyncBefore="true"`` on a service task commits before it and
leaves the task to a job executor, which retries it. Dialflow commits every step, and its own
``async`` property on a service task leaves the task to a worker: ``adopt`` writes that
property for a service task marked ``asyncBefore`` (``async`` in Flowable and Activiti).
Everywhere else the settings change nothing a process does (which paths run, what data they
carry): Dialflow saves each step in its own transaction and runs one step of an instance at a
time, so ``asyncAfter``, an ``asyncBefore`` on a user task or an event, ``exclusive`` and
``jobPriority`` pass (``honoured``). They were refused with "remove it", so nearly every Camunda
Modeler diagram with a service task did not deploy for this alone.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, add_spiff_property

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SPIFF = f"{{{SPIFF_NS}}}"
_SERVICE_TASK = f"{{{BPMN_NS}}}serviceTask"
JAVA_ENGINES = {
    "http://camunda.org/schema/1.0/bpmn",
    "http://activiti.org/bpmn",
    "http://flowable.org/bpmn",
}
_BEFORE = ("asyncBefore", "async")
SETTINGS = {"asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority"}


def honoured(local: str, element: Any, value: str) -> bool:
    """Whether the Java engine's setting ``local`` of ``element`` is read as Dialflow runs it
    (see the module): passed, or written as the service task's ``async`` by ``adopt``."""
    if local not in SETTINGS:
        return False
    if local == "jobPriority":
        return value.strip().lstrip("-").isdigit() or value.strip().startswith(("${", "#{"))
    return _boolean(value) is not None  # async/asyncBefore: the task left to a worker or not


def adopt(tree: Any) -> None:
    """Give each service task marked ``asyncBefore`` (``async``) the property ``async``."""
    for task in tree.iter(_SERVICE_TASK):
        if not any(
            etree.QName(attribute).namespace in JAVA_ENGINES
            and etree.QName(attribute).localname in _BEFORE
            and _boolean(value)
            for attribute, value in task.attrib.items()
        ):
            continue
        if not any(p.get("name") == "async" for p in task.iter(f"{_SPIFF}property")):
            add_spiff_property(task, "async", "true")


def _boolean(value: str) -> bool | None:
    text = value.strip().lower()
    return True if text == "true" else False if text == "false" else None
