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
the deploy itself holds under another tag, are refused too; and so for decisions (a business
rule task bound by tag beside one calling the same decision by its latest version).

The deploy asks ``resolve_processes`` and ``resolve_decisions`` (one shape, ``_resolve``) for
the bundles its tag bindings call and the problems of those no version answers; the problems
are said before validation's, in the same 422 (``validation.validate_bundle(first=…)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.errors import problem
from engine.models import DecisionTag, ProcessVersion

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_EXTENSIONS = f"{{{BPMN_NS}}}extensionElements"
_BINDING = f"{{{CAMUNDA_NS}}}calledElementBinding"
_VERSION_TAG = f"{{{CAMUNDA_NS}}}calledElementVersionTag"
_DECISION_BINDING = f"{{{CAMUNDA_NS}}}decisionRefBinding"
_DECISION_TAG = f"{{{CAMUNDA_NS}}}decisionRefVersionTag"
_SPIFF_DECISION = "{http://spiffworkflow.org/bpmn/schema/1.0/core}calledDecisionId"
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


def called_decision(task: Any) -> str | None:
    """The decision a business rule task calls, however it is written: Camunda 7's
    ``camunda:decisionRef``, Camunda 8's ``<zeebe:calledDecision decisionId>``, or
    ``spiffworkflow:calledDecisionId`` (an element or an attribute)."""
    named = (task.get(f"{{{CAMUNDA_NS}}}decisionRef") or task.get(_SPIFF_DECISION) or "").strip()
    for extensions in task.findall(_EXTENSIONS):
        for element in extensions.findall(f"{{{ZEEBE_NS}}}calledDecision"):
            named = named or (element.get("decisionId") or "").strip()
        for element in extensions.findall(_SPIFF_DECISION):
            named = named or (element.text or "").strip()
    return named or None


def latest_decision_calls(tree: Any) -> dict[str, str | None]:
    """Decision id → the first business rule task of a parsed BPMN file calling it by its
    latest version (not bound by version tag)."""
    bound = {b.call_id for b in decision_bindings(tree)}
    found: dict[str, str | None] = {}
    for task in tree.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        decision = called_decision(task)
        if decision and task.get("id") not in bound:
            found.setdefault(decision, task.get("id"))
    return found


def _trees(files: Mapping[str, str]) -> Iterable[tuple[str, Any]]:
    for name, xml in files.items():
        try:
            yield name, etree.fromstring(xml.encode(), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation


def bpmn_process_tags(bpmn: Mapping[str, str]) -> dict[str, str]:
    """Process id → the version tag it carries in the BPMN files ``bpmn``."""
    found: dict[str, str] = {}
    for _name, tree in _trees(bpmn):
        found.update(process_tags(tree))
    return found


def dmn_decision_tags(dmn: Mapping[str, str]) -> dict[str, str]:
    """Decision id → the version tag it carries in the DMN files ``dmn``."""
    found: dict[str, str] = {}
    for _name, tree in _trees(dmn):
        found.update(decision_tags(tree))
    return found


def decision_tag_rows(bundle_id: int, dmn: Mapping[str, str]) -> list[DecisionTag]:
    """The ``decision_tags`` rows of a deploy's tagged decisions."""
    return [
        DecisionTag(bundle_id=bundle_id, decision_id=decision, version_tag=tag)
        for decision, tag in dmn_decision_tags(dmn).items()
    ]


def length_problems(bpmn: Mapping[str, str], dmn: Mapping[str, str]) -> list[dict[str, Any]]:
    """A version tag, or the id of a tagged decision, longer than the columns keeping them
    (``MAX_LENGTH``): it was cut to fit, so a binding naming the whole tag found nothing and
    two tags alike in their first 200 characters were one; a decision's id did not fit."""
    found: list[dict[str, Any]] = []
    for name, tree in _trees(bpmn):
        for process in tree.iter(f"{{{BPMN_NS}}}process"):
            for where, tag in _written_tags(process):
                found += _too_long(name, "process", process.get("id"), where, tag)
    for name, tree in _trees(dmn):
        for decision in tree.iter():
            if not isinstance(decision.tag, str) or not decision.tag.endswith("}decision"):
                continue
            tags = _written_tags(decision)
            for where, tag in tags:
                found += _too_long(name, "decision", decision.get("id"), where, tag)
            decision_id = decision.get("id") or ""
            if tags and len(decision_id) > MAX_LENGTH:
                found.append(
                    problem(
                        f"{name}: the id of decision {decision_id[:40]!r}… is "
                        f"{len(decision_id)} characters long; a decision carrying a version "
                        f"tag may have an id of at most {MAX_LENGTH}: shorten it",
                        element_id=decision_id,
                        line=decision.sourceline,
                        file=name,
                    )
                )
    return found


def _written_tags(element: Any) -> list[tuple[Any, str]]:
    """The version tags ``element`` (a process or decision) carries, each with the element
    that writes it."""
    found = []
    for child in element:
        if isinstance(child.tag, str) and child.tag.endswith("}extensionElements"):
            found += [
                (said, value)
                for said in child.findall(f"{{{ZEEBE_NS}}}versionTag")
                if (value := (said.get("value") or "").strip())
            ]
    if value := (element.get(f"{{{CAMUNDA_NS}}}versionTag") or "").strip():
        found.append((element, value))
    return found


def _too_long(
    name: str, what: str, element_id: str | None, where: Any, tag: str
) -> list[dict[str, Any]]:
    if len(tag) <= MAX_LENGTH:
        return []
    return [
        problem(
            f"{name}: {what} {element_id!r} carries a version tag of {len(tag)} characters; "
            f"Dialflow keeps version tags of at most {MAX_LENGTH}: shorten it",
            element_id=element_id,
            line=where.sourceline,
            file=name,
        )
    ]


@dataclass(frozen=True)
class _Target:
    """How the bindings of one kind (called processes, called decisions) are resolved and
    said: what differs between the two, the rest is ``_resolve``."""

    element: str  # the binding element's name in problems
    called: str  # how its target is named after "calls"
    kind: str  # "process" or "decision"
    runs: str  # why a deploy takes one binding of each target
    own_advice: str  # what to do when the deploy holds the target under another tag
    missing_advice: Callable[[str], str]  # what to do when no deployed target carries the tag
    newest: Callable[[Session, str, str], int | None]  # the bundle of the newest one tagged


def _newest_version(session: Session, process_id: str, tag: str) -> int | None:
    return session.scalar(
        select(ProcessVersion.bundle_id)
        .where(ProcessVersion.process_id == process_id, ProcessVersion.version_tag == tag)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    )


def _newest_decision(session: Session, decision_id: str, tag: str) -> int | None:
    return session.scalar(
        select(DecisionTag.bundle_id)
        .where(DecisionTag.decision_id == decision_id, DecisionTag.version_tag == tag)
        .order_by(DecisionTag.bundle_id.desc())
        .limit(1)
    )


_PROCESSES = _Target(
    element="callActivity",
    called="",
    kind="process",
    runs="one version of each process it calls",
    own_advice="deploy the called process on its own, or call the one deployed with this "
    "diagram (no binding)",
    missing_advice=lambda tag: f"deploy the version tagged {tag!r} first, or correct the tag",
    newest=_newest_version,
)
_DECISIONS = _Target(
    element="businessRuleTask",
    called="decision ",
    kind="decision",
    runs="one decision of each id",
    own_advice="deploy the tagged DMN file on its own, or call the one deployed with this "
    "diagram (no binding)",
    missing_advice=lambda tag: (
        f"deploy the DMN file whose decision carries <zeebe:versionTag value={tag!r}> first, "
        "or correct the tag"
    ),
    newest=_newest_decision,
)

Calls = list[tuple[str, TagBinding]]  # (file name, binding)


def resolve_processes(
    session: Session,
    calls: Calls,
    own: Mapping[str, str | None],
    latest: Mapping[str, str | None],
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Process id → the bundle of its newest version carrying the tag its call activities
    name, and the problems of the calls no such version (or no single version) answers.
    ``own``: the deploy's processes with their tags; ``latest``: process id → a call activity
    calling its latest version."""
    return _resolve(session, _PROCESSES, calls, own, latest)


def resolve_decisions(
    session: Session,
    calls: Calls,
    own: Mapping[str, str | None],
    latest: Mapping[str, str | None],
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Decision id → the newest bundle holding it with the tag its business rule tasks name,
    and the problems of the tasks no deployed decision answers, as ``resolve_processes``."""
    return _resolve(session, _DECISIONS, calls, own, latest)


def _resolve(
    session: Session,
    target: _Target,
    calls: Calls,
    own: Mapping[str, str | None],
    latest: Mapping[str, str | None],
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    found: dict[str, int] = {}
    asked: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for name, call in calls:
        where = (
            f"{name}: {target.element} {call.call_id!r} calls {target.called}"
            f"{call.process_id!r} by version tag {call.tag!r}"
        )

        def refuse(message: str, name: str = name, call: TagBinding = call) -> None:
            problems.append(problem(message, element_id=call.call_id, line=call.line, file=name))

        if call.process_id in own:
            tag = own[call.process_id]
            if tag != call.tag:
                refuse(
                    f"{where}, and this deploy holds {target.kind} {call.process_id!r} "
                    f"{f'tagged {tag!r}' if tag else 'without a version tag'}: a deploy runs "
                    f"{target.runs}; {target.own_advice}"
                )
            continue
        earlier = asked.setdefault(call.process_id, call.tag)
        if earlier != call.tag or call.process_id in latest:
            other = (
                f"version tag {earlier!r}"
                if earlier != call.tag
                else f"its latest version ({target.element} {latest[call.process_id]!r})"
            )
            refuse(
                f"{where} and another {'call' if target is _PROCESSES else 'task'} calls it by "
                f"{other}: a deploy runs {target.runs}; bind every call of it the same way"
            )
            continue
        if call.process_id in found:
            continue
        bundle_id = target.newest(session, call.process_id, call.tag)
        if bundle_id is None:
            refuse(
                f"{where}, and {describe(call.process_id, call.tag)}: "
                f"{target.missing_advice(call.tag)}"
            )
            continue
        found[call.process_id] = bundle_id
    return found, problems


def tag_earlier(
    session: Session, bundle_id: int, versions: Iterable[ProcessVersion], bpmn: Any, dmn: Any
) -> None:
    """The version tags the files ``bpmn`` and ``dmn`` carry given to their versions and
    decisions deployed before tags were kept (revision 0021), which have none: a binding to
    such a tag is refused with "deploy the version tagged … first", and deploying the same
    files again (identical content, the deploy it already is) is how that is answered."""
    tags = bpmn_process_tags(bpmn)
    for version in versions:
        if version.version_tag is None and tags.get(version.process_id):
            version.version_tag = tags[version.process_id]
    rows = decision_tag_rows(bundle_id, dmn)
    if not rows:
        return
    have = set(
        session.scalars(select(DecisionTag.decision_id).where(DecisionTag.bundle_id == bundle_id))
    )
    missing = [row for row in rows if row.decision_id not in have]
    if not missing:
        return
    try:
        with session.begin_nested():
            session.add_all(missing)
            session.flush()
    except IntegrityError:
        pass  # the same files deployed again at this moment gave them
