"""Version tags: what a deployed process version is tagged, and the call activities bound to one.

A process carries its tag as Camunda 8's ``<zeebe:versionTag value="v1"/>`` (in the process's
extensionElements) or Camunda 7's ``camunda:versionTag="v1"`` attribute; it is stored per
version (``process_versions.version_tag``). A call activity bound by tag, Camunda 8's
``<zeebe:calledElement processId="x" bindingType="versionTag" versionTag="v1"/>`` or
Camunda 7's ``calledElement="x" camunda:calledElementBinding="versionTag"
camunda:calledElementVersionTag="v1"``, calls the newest deployed version of ``x`` carrying
``v1``, pinned when the caller is deployed (as every call activity's version is: the called
version's files become a dependency of the caller's bundle). A tag no deployed version
carries is refused at deploy.

One deploy runs one version of each process it calls (its specs are keyed by process id), so
two call activities calling one process by different bindings, or a tag binding on a process
the deploy itself holds under another tag, are refused too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.bpmn_xml import BPMN_NS

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_BINDING = f"{{{CAMUNDA_NS}}}calledElementBinding"
_VERSION_TAG = f"{{{CAMUNDA_NS}}}calledElementVersionTag"
_DECISION_BINDING = f"{{{CAMUNDA_NS}}}decisionRefBinding"
_DECISION_TAG = f"{{{CAMUNDA_NS}}}decisionRefVersionTag"
MAX_LENGTH = 200  # process_versions.version_tag


@dataclass(frozen=True)
class TagBinding:
    """A call activity calling ``process_id`` (or a business rule task calling that decision)
    by the version tag ``tag``."""

    call_id: str | None
    process_id: str  # the process called, or the decision a business rule task calls
    tag: str
    line: int | None


def process_tag(process: Any) -> str | None:
    """The version tag a ``<bpmn:process>`` element carries, or ``None``."""
    for extensions in process.findall(_EXTENSIONS):
        for found in extensions.findall(f"{{{ZEEBE_NS}}}versionTag"):
            value = (found.get("value") or "").strip()
            if value:
                return value[:MAX_LENGTH]
    value = (process.get(f"{{{CAMUNDA_NS}}}versionTag") or "").strip()
    return value[:MAX_LENGTH] or None


def process_tags(tree: Any) -> dict[str, str]:
    """Process id → version tag, for the tagged processes of a parsed BPMN file."""
    return {
        pid: tag
        for process in tree.iter(f"{{{BPMN_NS}}}process")
        if (pid := process.get("id")) and (tag := process_tag(process))
    }


def zeebe_binding(element: Any) -> str | None:
    """The tag a ``<zeebe:calledElement bindingType="versionTag">`` names, when it names one
    plainly (no FEEL expression), else ``None``."""
    if (element.get("bindingType") or "").strip() != "versionTag":
        return None
    return _plain(element.get("versionTag"))


def camunda_binding(call: Any) -> str | None:
    """The tag a Camunda 7 call activity bound by ``versionTag`` names, else ``None``."""
    if (call.get(_BINDING) or "").strip() != "versionTag":
        return None
    return _plain(call.get(_VERSION_TAG))


def camunda_passes(local: str, element: Any) -> bool:
    """Whether a Camunda 7 ``calledElementBinding``/``calledElementVersionTag`` attribute on a
    call activity is a tag binding Dialflow runs."""
    return (
        local in ("calledElementBinding", "calledElementVersionTag")
        and element.tag == f"{{{BPMN_NS}}}callActivity"
        and camunda_binding(element) is not None
        and bool((element.get("calledElement") or "").strip())
    )


def bindings(tree: Any) -> list[TagBinding]:
    """The call activities of a parsed BPMN file bound by version tag."""
    found = []
    for call in tree.iter(f"{{{BPMN_NS}}}callActivity"):
        tag = camunda_binding(call)
        process = (call.get("calledElement") or "").strip()
        line = call.sourceline
        if tag is None:
            for extensions in call.findall(_EXTENSIONS):
                for element in extensions.findall(f"{{{ZEEBE_NS}}}calledElement"):
                    tag = zeebe_binding(element) or tag
                    if tag is not None:
                        process = (element.get("processId") or "").strip() or process
                        line = element.sourceline
        if tag is not None and process:
            found.append(TagBinding(call.get("id"), process, tag, line))
    return found


def decision_tags(tree: Any) -> dict[str, str]:
    """Decision id → version tag, for the tagged decisions of a parsed DMN file (any DMN
    version: elements are read by local name)."""
    found = {}
    for decision in tree.iter():
        if not isinstance(decision.tag, str) or not decision.tag.endswith("}decision"):
            continue
        tag = (decision.get(f"{{{CAMUNDA_NS}}}versionTag") or "").strip()
        for child in decision:
            if isinstance(child.tag, str) and child.tag.endswith("}extensionElements"):
                for said in child.findall(f"{{{ZEEBE_NS}}}versionTag"):
                    tag = (said.get("value") or "").strip() or tag
        if tag and (decision_id := decision.get("id")):
            found[decision_id] = tag[:MAX_LENGTH]
    return found


def decision_bindings(tree: Any) -> list[TagBinding]:
    """The business rule tasks of a parsed BPMN file calling their decision by version tag
    (``TagBinding.process_id`` is the decision's id)."""
    found = []
    for task in tree.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        decision = (task.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip()
        tag = camunda_decision_binding(task)
        line = task.sourceline
        if tag is None:
            for extensions in task.findall(_EXTENSIONS):
                for element in extensions.findall(f"{{{ZEEBE_NS}}}calledDecision"):
                    tag = zeebe_binding(element) or tag
                    if tag is not None:
                        decision = (element.get("decisionId") or "").strip()
                        line = element.sourceline
        if tag is not None and decision:
            found.append(TagBinding(task.get("id"), decision, tag, line))
    return found


def camunda_decision_binding(task: Any) -> str | None:
    """The tag a Camunda 7 business rule task bound by ``versionTag`` names, else ``None``."""
    if (task.get(_DECISION_BINDING) or "").strip() != "versionTag":
        return None
    return _plain(task.get(_DECISION_TAG))


def _plain(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text or text.startswith("=") or "${" in text or "#{" in text:
        return None
    return text


def describe(target: str, tag: str) -> str:
    """How a problem names the version asked for."""
    return f"no deployed version of {target!r} carries version tag {tag!r}"
