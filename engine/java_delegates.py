"""What to write instead of a Java delegate on a service task: the operator that does its work.

Camunda 7 (and Flowable, Activiti) run a service task's Java code, named by
``camunda:class="com.acme.CreateOpportunityDelegate"``, a bean by
``camunda:delegateExpression="${notifyAgentDelegate}"`` or a method by
``camunda:expression="${crm.addNote(...)}"``. Dialflow runs no Java: such a task was refused
with "choose a service operator from the handler registry", and said again to have no operator
by the parser, without saying which operators there are or how to name one in that file.
``hint`` says it with the operators whose words the class, bean or method name shares
(``CreateOpportunityDelegate`` → ``crm.create_opportunity``), else all of them, written the way
a Camunda 7 file keeps them: an external task whose topic is the operator
(``engine.external_tasks`` runs it) with its parameters as input parameters; in a Flowable or
Activiti file, a ``<spiffworkflow:serviceTaskOperator>``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from lxml import etree

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ATTRIBUTES = frozenset({"class", "delegateExpression", "expression"})
_TASKS = frozenset({"serviceTask", "sendTask"})
# Words of Java naming that say nothing of the work.
_NOISE = frozenset(
    {
        "delegate", "service", "task", "impl", "handler", "bean", "java", "adapter", "execute",
        "com", "org", "net", "io", "camunda", "flowable", "activiti", "bpm", "example", "app",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@cache
def _operators() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each operator id with the names of its required parameters."""
    from handlers import build_registry

    return tuple(
        (said["id"], tuple(p["id"] for p in said["parameters"] if p["required"]))
        for said in build_registry().describe()
    )


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)} - _NOISE


def _named(local: str, value: str) -> str:
    """The part of the value that names the work: a class's simple name, a bean's name, the
    method called in an expression."""
    text = value.strip()
    if local == "class":
        return text.rsplit(".", 1)[-1]
    body = re.sub(r"^[$#]\{|\}$", "", text)
    return re.sub(r"\(.*", "", body, flags=re.S)


def guesses(local: str, value: str) -> list[tuple[str, tuple[str, ...]]]:
    """The operators sharing most words with what the value names, the fewest other words
    breaking a tie (``LogCallDelegate``: ``crm.log_call`` before ``compliance.may_log_call``);
    none shared: none."""
    wanted = _words(_named(local, value))
    scored = []
    for operator, params in _operators():
        words = _words(operator.replace(".", " ").replace("_", " "))
        scored.append(((len(wanted & words), -len(words - wanted)), operator, params))
    best = max((score for score, _, _ in scored), default=(0, 0))
    return [(op, params) for score, op, params in scored if best[0] and score == best]


def hint(local: str, owner: Any, value: str | None) -> str | None:
    """What to write for a Java delegate attribute ``local`` of ``owner``, else ``None``."""
    if local not in ATTRIBUTES or value is None or etree.QName(owner).localname not in _TASKS:
        return None
    what = {"class": "class", "delegateExpression": "bean", "expression": "method"}[local]
    found = guesses(local, value)
    camunda = any(
        etree.QName(name).localname == local and etree.QName(name).namespace == CAMUNDA_NS
        for name in owner.attrib
    )
    if not found:
        listed = ", ".join(operator for operator, _ in _operators())
        external = (
            'an external task (camunda:type="external" camunda:topic="<operator>", its '
            "parameters as <camunda:inputParameter>s) or "
            if camunda
            else ""
        )
        return (
            f"Dialflow runs no Java {what}: name the Dialflow operator that does its work, as "
            f'{external}<spiffworkflow:serviceTaskOperator id="<operator>"> with '
            f"spiffworkflow:parameters; the operators are {listed}"
        )
    if camunda:
        ways = "; or ".join(
            f'camunda:type="external" camunda:topic="{operator}" with its parameters '
            f"{', '.join(params)} as <camunda:inputParameter>s"
            for operator, params in found
        )
        return (
            f"Dialflow runs no Java {what}: name the Dialflow operator that does its work "
            f'instead, written as {ways} (or <spiffworkflow:serviceTaskOperator id="'
            f'{found[0][0]}"> with spiffworkflow:parameters)'
        )
    ways = "; or ".join(
        f'<spiffworkflow:serviceTaskOperator id="{operator}"> with its parameters '
        f"{', '.join(params)} as spiffworkflow:parameters"
        for operator, params in found
    )
    return (
        f"Dialflow runs no Java {what}: name the Dialflow operator that does its work instead, "
        f"written as {ways}"
    )
