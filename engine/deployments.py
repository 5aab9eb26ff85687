"""Deploying models: validate, store a bundle once per content, number versions per process."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm import audit
from crm.models import User
from dialflow.errors import Conflict
from engine import event_registry, form_tags, starter_groups, version_tags
from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.bundles import Bundle, decision_ids, merge_dependencies
from engine.errors import InvalidBpmn, ProcessNotFound, problem
from engine.form_tags import with_tagged_forms
from engine.latest_forms import with_earlier_forms
from engine.models import ModelBundle, ProcessVersion
from engine.qname_refs import unprefix_references
from engine.service import ProcessEngine
from engine.specs import dependency_bundles
from engine.start_timers import schedule, start_timer_of
from engine.validation import ParsedBundle, validate_bundle
from engine.work_items import unmatched_lanes
from engine.zeebe_tasks import called_process

log = logging.getLogger(__name__)
MAX_DEPLOY_ATTEMPTS = 5


@dataclass(frozen=True)
class DeployResult:
    bundle_id: int
    versions: list[ProcessVersion]
    created: bool
    # What deploys but may not run as meant (lanes nobody matches), in the shape of a 422's
    # details; never a reason to refuse.
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def primary(self) -> ProcessVersion:
        return self.versions[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "model_id": self.bundle_id,
            "version": self.primary.version,
            "process_ids": [v.process_id for v in self.versions],
            "versions": {v.process_id: v.version for v in self.versions},
            "warnings": self.warnings,
        }


def deploy(
    engine: ProcessEngine,
    session: Session,
    bundle: Bundle,
    *,
    actor: User | None,
    source: str = "api",
) -> DeployResult:
    """Deploy ``bundle``; identical content returns the versions it already has. Both answer
    with the warnings of the content as things stand (``work_items.unmatched_lanes``)."""
    result = _deploy(engine, session, bundle, actor=actor, source=source)
    return replace(result, warnings=_warnings(session, bundle.bpmn))


def _deploy(
    engine: ProcessEngine,
    session: Session,
    bundle: Bundle,
    *,
    actor: User | None,
    source: str,
) -> DeployResult:
    content_hash = bundle.content_hash()
    existing = _existing(session, content_hash)
    if existing is not None:
        version_tags.tag_earlier(
            session, existing.bundle_id, existing.versions, bundle.bpmn, bundle.dmn
        )
        form_tags.tag_earlier(session, existing.bundle_id, bundle.forms)
        return existing
    direct, parsed, sources, own_ids = _validated(engine, session, bundle)
    tags = version_tags.bpmn_process_tags(bundle.bpmn)
    attempt = 0
    while True:
        attempt += 1
        row = ModelBundle(
            content_hash=content_hash,
            bpmn=bundle.bpmn,
            dmn=bundle.dmn,
            forms=bundle.forms,
            dependencies=direct,
            deployed_by_id=actor.id if actor else None,
            source=source,
            deployed_at=engine.clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
                versions = [
                    _new_version(
                        session,
                        row,
                        pid,
                        parsed.names.get(pid),
                        parsed.files[pid],
                        start_event_names(parsed.specs[pid], MessageEventDefinition),
                        start_event_names(parsed.specs[pid], SignalEventDefinition),
                        tags.get(pid),
                    )
                    for pid in own_ids
                ]
                session.add_all(version_tags.decision_tag_rows(row.id, bundle.dmn))
                session.add_all(form_tags.tag_rows(row.id, bundle.forms))
                session.flush()
            break
        except IntegrityError:
            # Someone deployed the same content, or another version of one of these
            # processes, at this moment: return theirs, or number ours after it.
            existing = _existing(session, content_hash)
            if existing is not None:
                return existing
            if attempt >= MAX_DEPLOY_ATTEMPTS:
                raise Conflict(
                    "Other deploys of these processes are under way; try again.",
                    code="deploy_conflict",
                ) from None
    for version in versions:
        schedule(
            session, version, start_timer_of(parsed.specs[version.process_id]), engine.clock.now()
        )
    engine.specs.put(row.id, parsed, sources.forms)
    audit.record(
        session,
        actor=actor,
        action="deploy",
        entity_type="process_model",
        entity_id=row.id,
        after={"processes": {v.process_id: v.version for v in versions}, "source": source},
    )
    return DeployResult(row.id, versions, created=True)


@dataclass(frozen=True)
class CheckResult:
    """What a deploy of the files would answer, without storing anything."""

    process_ids: list[str]
    warnings: list[dict[str, Any]]

    def to_dict(self) -> dict[str, object]:
        return {"valid": True, "process_ids": self.process_ids, "warnings": self.warnings}


def check(engine: ProcessEngine, session: Session, bundle: Bundle) -> CheckResult:
    """The checks of ``deploy`` without storing anything: the process ids and the warnings a
    deploy would answer, or ``InvalidBpmn``."""
    _direct, _parsed, _sources, own_ids = _validated(engine, session, bundle)
    return CheckResult(own_ids, _warnings(session, bundle.bpmn))


def _validated(
    engine: ProcessEngine, session: Session, bundle: Bundle
) -> tuple[list[int], ParsedBundle, Bundle, list[str]]:
    """The bundles ``bundle`` depends on, what validation built of it with them, the files
    validated (the deploy's with its dependencies' and earlier forms) and the ids of the
    deploy's own processes; or ``InvalidBpmn`` with every problem, the tags' first."""
    direct, tag_problems = _called_bundle_ids(session, bundle)
    merged = merge_dependencies(bundle, dependency_bundles(session, direct))
    sources = with_tagged_forms(session, with_earlier_forms(session, merged))
    parsed = validate_bundle(
        sources.bpmn,
        sources.dmn,
        sources.forms,
        engine.registry,
        _pooled(session, sources),
        first=tag_problems,
    )
    own_ids = [pid for pid, file in parsed.files.items() if file in bundle.bpmn]
    if not own_ids:
        raise InvalidBpmn("The files define no process.", details=[problem("no <bpmn:process>")])
    return direct, parsed, sources, own_ids


def _warnings(session: Session, bpmn: Mapping[str, str]) -> list[dict[str, Any]]:
    """What a deploy answers without refusing: lanes and assignees nobody answers to, and
    candidate starters that restrict nothing, event registry channels no one reads."""
    found = unmatched_lanes(session, bpmn) + starter_groups.warnings(bpmn)
    return found + event_registry.warnings(bpmn)


def deploy_directory(
    engine: ProcessEngine, session: Session, directory: Path
) -> list[DeployResult]:
    """Deploy every shipped diagram: one bundle per .bpmn file, with all DMN tables and forms."""
    if not directory.is_dir():
        return []
    shared = [p for p in sorted(directory.rglob("*")) if p.suffix.lower() in (".dmn", ".json")]
    results = []
    for bpmn_file in sorted(directory.rglob("*.bpmn")):
        bundle = Bundle.from_paths([bpmn_file, *shared])
        results.append(deploy(engine, session, bundle, actor=None, source="startup"))
    return results


def latest_version(session: Session, process_id: str, version: int | None = None) -> ProcessVersion:
    query = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
    if version is not None:
        query = query.where(ProcessVersion.version == version)
    found = session.scalar(query.order_by(ProcessVersion.version.desc()).limit(1))
    if found is None:
        suffix = f" version {version}" if version is not None else ""
        raise ProcessNotFound(f"No deployed process {process_id!r}{suffix}.")
    return found


def list_models(session: Session) -> list[dict[str, object]]:
    """Each deployed process with its versions, oldest first, and beside them
    ``version_tags``: each version's tag (``None`` for an untagged one), in the same order."""
    rows = session.execute(
        select(
            ProcessVersion.process_id,
            ProcessVersion.name,
            ProcessVersion.version,
            ProcessVersion.version_tag,
        ).order_by(ProcessVersion.process_id, ProcessVersion.version)
    ).all()
    models: dict[str, dict[str, object]] = {}
    for process_id, name, version, tag in rows:
        entry = models.setdefault(
            process_id,
            {
                "process_id": process_id,
                "name": name,
                "latest_version": version,
                "versions": [],
                "version_tags": [],
            },
        )
        entry["versions"].append(version)  # type: ignore[attr-defined]
        entry["version_tags"].append(tag)  # type: ignore[attr-defined]
        entry["latest_version"] = version
        entry["name"] = name or entry["name"]
    return list(models.values())


def version_xml(session: Session, process_id: str, version: int) -> str:
    found = latest_version(session, process_id, version)
    return found.bundle.bpmn[found.bpmn_file]


def _existing(session: Session, content_hash: str) -> DeployResult | None:
    row = session.scalar(select(ModelBundle).where(ModelBundle.content_hash == content_hash))
    if row is None:
        return None
    versions = sorted(row.versions, key=lambda v: v.id)
    return DeployResult(row.id, versions, created=False)


def start_event_names(spec: Any, kind: type) -> list[str]:
    """Names of the events of ``kind`` (a message or signal event definition class) that
    start this process: what a message or a broadcast signal of that name starts."""
    names = set()
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, StartEvent):
            continue
        definition = getattr(task_spec, "event_definition", None)
        for candidate in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(candidate, kind):
                names.add(candidate.name)
    return sorted(names)


def _new_version(
    session: Session,
    bundle: ModelBundle,
    process_id: str,
    name: str | None,
    bpmn_file: str,
    messages: list[str],
    signals: list[str],
    version_tag: str | None = None,
) -> ProcessVersion:
    current = (
        session.scalar(
            select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id)
        )
        or 0
    )
    version = ProcessVersion(
        process_id=process_id,
        version=current + 1,
        name=name,
        bundle_id=bundle.id,
        bpmn_file=bpmn_file,
        start_messages=messages,
        start_signals=signals,
        version_tag=version_tag,
        created_at=bundle.deployed_at,
    )
    session.add(version)
    return version


def _pooled(session: Session, sources: Bundle) -> dict[str, str]:
    """The files of the processes deployed before (latest versions) that the deploy's pools
    name and the deploy does not define: a pool may stand for a process deployed on its own,
    and the message flows to it are checked against it (``collaboration.py``)."""
    pooled: set[str] = set()
    defined: set[str] = set()
    for xml in sources.bpmn.values():
        try:
            tree = etree.fromstring(xml.encode(), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation
        defined |= {pid for p in tree.iter(f"{{{BPMN_NS}}}process") if (pid := p.get("id"))}
        pooled |= {
            ref.rsplit(":", 1)[-1]
            for p in tree.iter(f"{{{BPMN_NS}}}participant")
            if (ref := (p.get("processRef") or "").strip())
        }
    files: dict[str, str] = {}
    for process_id in sorted(pooled - defined):
        version = session.scalars(
            select(ProcessVersion)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        ).first()
        if version is not None:
            row = session.get(ModelBundle, version.bundle_id)
            text = (row.bpmn or {}).get(version.bpmn_file) if row is not None else None
            if text is not None:
                files[f"@{version.bundle_id}/{version.bpmn_file}"] = text
    return files


def _called_bundle_ids(session: Session, bundle: Bundle) -> tuple[list[int], list[dict[str, Any]]]:
    """Latest deployed bundles of processes called by ``bundle`` but not defined in it, and
    for a call or business rule task bound by version tag the bundle of the newest version
    carrying the tag (``engine.version_tags``), nearest first; and the problems of the tags
    (none carries it, one deploy binding one target two ways, a tag too long to keep), which
    validation says first, beside its own."""
    called: set[str] = set()
    defined: dict[str, str | None] = {}  # process id -> its version tag in this deploy
    tag_calls: version_tags.Calls = []
    latest_calls: dict[str, str | None] = {}  # process id -> a call activity calling its latest
    decision_calls: version_tags.Calls = []
    latest_decisions: dict[str, str | None] = {}  # decision id -> a task calling its latest
    for name, xml in bundle.bpmn.items():
        try:
            tree = etree.fromstring(xml.encode(), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation
        unprefix_references(tree)  # calledElement="ea:EAID_…" calls EAID_…
        for process in tree.iter(f"{{{BPMN_NS}}}process"):
            if pid := process.get("id"):
                defined[pid] = version_tags.process_tag(process)
        bound = version_tags.bindings(tree)
        tag_calls += [(name, b) for b in bound]
        decision_calls += [(name, b) for b in version_tags.decision_bindings(tree)]
        for decision, task_id in version_tags.latest_decision_calls(tree).items():
            latest_decisions.setdefault(decision, task_id)
        bound_ids = {b.call_id for b in bound}
        for call in tree.iter(f"{{{BPMN_NS}}}callActivity"):
            ref = called_process(call)
            if ref and call.get("id") not in bound_ids:
                called.add(ref)
                latest_calls.setdefault(ref, call.get("id"))
    problems = version_tags.length_problems(bundle.bpmn, bundle.dmn)
    problems += form_tags.length_problems(bundle.forms)
    tagged, found_problems = version_tags.resolve_processes(
        session, tag_calls, defined, latest_calls
    )
    own: dict[str, str | None] = dict.fromkeys(decision_ids(bundle.dmn))
    own.update(version_tags.dmn_decision_tags(bundle.dmn))
    decided, decision_problems = version_tags.resolve_decisions(
        session, decision_calls, own, latest_decisions
    )
    problems += found_problems + decision_problems
    found: list[int] = list(dict.fromkeys([*decided.values(), *tagged.values()]))
    for process_id in sorted(called - set(defined) - set(tagged)):
        bundle_id = session.scalar(
            select(ProcessVersion.bundle_id)
            .where(ProcessVersion.process_id == process_id)
            .order_by(ProcessVersion.version.desc())
            .limit(1)
        )
        if bundle_id is not None and bundle_id not in found:
            found.append(bundle_id)
    return found, problems
