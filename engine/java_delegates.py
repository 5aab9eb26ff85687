"""What to write instead of a Java delegate on a service task: the operator that does its work.

Camunda 7 (and Flowable, Activiti) run a service task's Java code, named by
``camunda:class="com.acme.CreateOpportunityDelegate"``, a bean by
``camunda:delegateExpression="${notifyAgentDelegate}"`` or a method by
``camunda:expression="${crm.addNote(...)}"``. Dialflow runs no Java: such a task was refused
with "choose a service operator from the handler registry", and said again to have no operator
by the parser, without saying which operators there are or how to name one in that file.
``hint`` says it with the operators whose words the class, bean or method name shares
(``CreateOpportunityDelegate`` → ``crm.create_opportunity``), else all of them, written the way
a Camunda 7 file keeps them: an external task whose topic is the operator (``engine.
external_tasks`` runs it) with its parameters as input parameters.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from lxml import etree

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
    """The operators sharing most words with what the value names (none shared: none)."""
    wanted = _words(_named(local, value))
    scored = [
        (len(wanted & _words(operator.replace(".", " ").replace("_", " "))), operator, params)
        for operator, params in _operators()
    ]
    best = max((score for score, _, _ in scored), default=0)
    return [(op, params) for score, op, params in scored if best and score == best]


def hint(local: str, owner: Any, value: str | None) -> str | None:
    """What to write for a Java delegate attribute ``local`` of ``owner``, else ``None``."""
    if local not in ATTRIBUTES or value is None or etree.QName(owner).localname not in _TASKS:
        return None
    what = {"class": "class", "delegateExpression": "bean", "expression": "method"}[local]
    found = guesses(local, value)
    if not found:
        listed = ", ".join(operator for operator, _ in _operators())
        return (
            f"Dialflow runs no Java {what}: name the Dialflow operator that does its work, as "
            'an external task (camunda:type="external" camunda:topic="<operator>", its '
            "parameters as <camunda:inputParameter>s) or with <spiffworkflow:serviceTaskOperator "
            f'id="<operator>">; the operators are {listed}'
        )
    ways = "; or ".join(
        f'camunda:type="external" camunda:topic="{operator}" with its parameters '
        f"{', '.join(params)} as <camunda:inputParameter>s"
        for operator, params in found
    )
    return (
        f"Dialflow runs no Java {what}: name the Dialflow operator that does its work instead, "
        f'written as {ways} (or <spiffworkflow:serviceTaskOperator id="{found[0][0]}"> with '
        "spiffworkflow:parameters)"
    )
