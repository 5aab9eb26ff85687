"""Elements left without the attribute that names them, which BPMN's, DMN's and
SpiffWorkflow's schemas allow but the parser needs: a process without ``id`` (it built and the
deploy failed storing a version of no process, answered as a conflict "try again"), a decision
without ``id`` (the parser failed its callers with "sequence item 0: expected str instance,
NoneType found"), and ``spiffworkflow:`` extensions without the ``id`` or ``name`` the parser
reads by key (it said only "KeyError('id')" on their task). Each is one problem on its element
(an extension's: on its task, at the extension's line) with what to write."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS
from engine.errors import problem

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# extension → (attribute the parser reads by key, what it holds), when the extension has
# ``when`` (a parameter without ``value`` is skipped by the parser)
_EXTENSIONS: dict[str, list[tuple[str, str, str | None]]] = {
    "serviceTaskOperator": [("id", 'the operator it calls, such as id="crm.add_note"', None)],
    "parameter": [("id", "the parameter's name, as the operator takes it", "value")],
    # a property's value may be its text; one with neither is said by
    # ``spiff_extensions.property_problems``
    "property": [("name", 'the property it sets, such as name="formJsonSchemaFilename"', None)],
    "taskMetadataValue": [("name", "the metadata's name", None)],
    "unitTest": [("id", "a name of the test", None)],
}


# a definition beside the processes → the attribute its users name it by
_DEFINITIONS = {
    "message": "messageRef",
    "signal": "signalRef",
    "error": "errorRef",
    "escalation": "escalationRef",
    "correlationProperty": "correlationPropertyRef",
    "dataStore": "dataStoreRef",
}
# The parser's words on them (said by :func:`unnamed_bpmn_problems` on their line instead).
PARSER_WORDS = re.compile(
    r"^(Message|Signal|Error|Escalation|Correlation|Data Store) identifier is missing from "
    r"(bpmn xml|correlation property)"
)


def unnamed_bpmn_problems(name: str, tree: Any) -> list[dict[str, Any]]:
    """A process without an id, and ``spiffworkflow:`` extensions without what names them."""
    found = []
    for process in tree.iter(f"{{{BPMN_NS}}}process"):
        if not (process.get("id") or "").strip():
            label = (process.get("name") or "").strip()
            found.append(
                problem(
                    f"{name}: process{f' {label!r}' if label else ''} has no id; a process "
                    "is deployed, started and called by its id: give it one, such as "
                    f'id="{_suggested_id(label)}"',
                    line=process.sourceline,
                    file=name,
                )
            )
    found += _unnamed_definitions(name, tree)
    for kind, required in _EXTENSIONS.items():
        for extension in tree.iter(f"{{{SPIFF_NS}}}{kind}"):
            for attribute, holds, when in required:
                if (when and extension.get(when) is None) or extension.get(attribute) is not None:
                    continue
                owner = _owner(extension)
                where = (
                    f"{etree.QName(owner).localname} {owner.get('id')!r}: "
                    if owner is not None
                    else ""
                )
                found.append(
                    problem(
                        f"{name}: {where}<spiffworkflow:{kind}> on line {extension.sourceline} "
                        f"has no {attribute}=; write {holds}",
                        element_id=owner.get("id") if owner is not None else None,
                        line=extension.sourceline,
                        file=name,
                    )
                )
    return found


def _unnamed_definitions(name: str, tree: Any) -> list[dict[str, Any]]:
    """Messages, signals, errors, escalations, correlation properties and data stores
    without an id: the parser stopped the file at the first ("Message identifier is missing
    from bpmn xml", on no element and no line), and what names it was said to name nothing."""
    ids = {e.get("id") for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
    found = []
    for kind, reference in _DEFINITIONS.items():
        # named in an attribute (messageRef="…") or an element (<correlationPropertyRef>)
        named = {e.get(reference) for e in tree.iter() if isinstance(e.tag, str)} | {
            (e.text or "").strip() for e in tree.iter(f"{{{BPMN_NS}}}{reference}")
        }
        dangling = sorted(ref for ref in named if ref and ref not in ids)
        for element in tree.iter(f"{{{BPMN_NS}}}{kind}"):
            if (element.get("id") or "").strip():
                continue
            label = (element.get("name") or "").strip()
            such = dangling[0] if len(dangling) == 1 else f"{kind}_1"
            found.append(
                problem(
                    f"{name}: {kind}{f' {label!r}' if label else ''} has no id; the elements "
                    f"that use it name it by its id ({reference}): give it one, such as "
                    f'id="{such}"',
                    line=element.sourceline,
                    file=name,
                )
            )
    for expression in tree.iter(f"{{{BPMN_NS}}}correlationPropertyRetrievalExpression"):
        if not (expression.get("messageRef") or "").strip():
            owner = expression.getparent()
            found.append(
                problem(
                    f"{name}: correlationProperty {owner.get('id')!r}: its "
                    "<correlationPropertyRetrievalExpression> has no messageRef; name the "
                    "message whose payload it reads",
                    element_id=owner.get("id"),
                    line=expression.sourceline,
                    file=name,
                )
            )
    return found


def unnamed_decision_problems(name: str, tree: Any) -> list[dict[str, Any]]:
    """Decisions of a DMN file without an id: a business rule task calls a decision by it."""
    return [
        problem(
            f"{name}: decision {(decision.get('name') or '').strip()!r} has no id; a business "
            "rule task calls a decision by its id (spiffworkflow:calledDecisionId): give it "
            f'one, such as id="{_suggested_id(decision.get("name") or "")}"',
            line=decision.sourceline,
            file=name,
        )
        for decision in tree
        if isinstance(decision.tag, str)
        and etree.QName(decision).localname == "decision"
        and not (decision.get("id") or "").strip()
    ]


def _owner(element: Any) -> Any:
    """The nearest BPMN element with an id around ``element`` (its task)."""
    for ancestor in element.iterancestors():
        if etree.QName(ancestor).namespace == BPMN_NS and ancestor.get("id"):
            return ancestor
    return None


def _suggested_id(label: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", label)
    suggested = "_".join(words).lower()
    return suggested if suggested and not suggested[0].isdigit() else "Process_1"


def drop_unnamed_decisions(tree: Any) -> bool:
    """Take the decisions without an id out of a DMN file before the parser reads it
    (:func:`unnamed_decision_problems` says them): no task can call them, and the parser's
    list of the decisions there failed on one that has no name. Whether any decision is
    left."""
    left = False
    for decision in list(tree):
        if isinstance(decision.tag, str) and etree.QName(decision).localname == "decision":
            if (decision.get("id") or "").strip():
                left = True
            else:
                tree.remove(decision)
    return left
