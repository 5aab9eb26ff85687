"""What the instance and version pages show: element ids by state, history, versions.

Reading one instance's workflow is fine here (one deserialization per page view); lists of
instances never do it. The completed path is what the pruned task tree still holds, plus the
trail that pruning keeps of what it dropped, plus the elements of completed work items.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import AuditEntry, User
from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.listeners import drawn_for
from engine.models import (
    InstanceStatus,
    ModelBundle,
    ProcessInstance,
    ProcessVersion,
    WorkItem,
    WorkItemStatus,
)
from engine.pruning import Trail, element_of, flow_source
from engine.service import ProcessEngine

# the service task ``zeebe_jobs`` draws for one of an element's Camunda 8 listeners
_JOB_LISTENER = re.compile(r"^(?P<owner>.+)__(?:start|end|creating|completing)_listener_\d+$")
STATE_NAMES = {
    TaskState.COMPLETED: "completed",
    TaskState.READY: "ready",
    TaskState.STARTED: "ready",
    TaskState.WAITING: "waiting",
    TaskState.ERROR: "error",
}


def element_states(engine: ProcessEngine, session: Session, row: ProcessInstance) -> dict[str, Any]:
    """``{"completed", "ready", "waiting", "error", "flows"}``: element ids for the canvas."""
    found: dict[str, set[str]] = {n: set() for n in ("completed", "ready", "waiting", "error")}
    pairs: set[tuple[str, str]] = set()
    bundle = engine.specs.for_version(session, row.version_id)
    spec, subprocess_specs = bundle.spec(row.process_id)
    workflow = engine.codec.decode(row.state, spec, subprocess_specs)
    xml = row.version.bundle.bpmn[row.version.bpmn_file]
    tree = etree.fromstring(xml.encode(), SAFE_XML)
    drawn = {e.get("id") for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
    for task in workflow.get_tasks():
        element_id = element_of(task)
        name = STATE_NAMES.get(task.state)
        if element_id is None or name is None:
            continue
        shown = _drawn_as(element_id, drawn)
        if shown == element_id or name == "error":
            found[name].add(shown)
        source = flow_source(task)
        if source is not None and source.state == TaskState.COMPLETED:
            pairs.add((element_of(source), element_id))
    trail = Trail(row.trail)  # what pruning took from the tree
    found["completed"] |= {e for e in trail.elements if _drawn_as(e, drawn) == e}
    pairs = {(_drawn_as(a, drawn), _drawn_as(b, drawn)) for a, b in pairs | trail.flows}
    done_items = session.scalars(
        select(WorkItem.element_id).where(
            WorkItem.instance_id == row.id, WorkItem.status == WorkItemStatus.COMPLETED
        )
    )
    found["completed"] |= set(done_items)
    found["completed"] -= found["ready"] | found["waiting"] | found["error"]
    for incident in row.incidents:
        if incident.resolved_at is None and incident.element_id:
            found["error"].add(_drawn_as(incident.element_id, drawn))
    result: dict[str, Any] = {name: sorted(ids) for name, ids in found.items()}
    result["flows"] = sorted(_flows(tree, pairs))
    return result


def _drawn_as(element_id: str, drawn: set[str]) -> str:
    """The id of the element of the stored diagram that ``element_id`` is part of: itself,
    or the event a task drawn beside it belongs to (``listeners.drawn_for``; and the plain
    end after a message end event drawn as a send task, ``io_mappings``): their ids leaked
    to the canvas, and the flows through them were never lit (the flow out of a boundary
    event with outputs ran from its mappings task); a Camunda 8 listener's task
    (``Activity_call__start_listener_1``) is its element's, so the flow into an element with
    a start listener is lit, as is one passed before a move to a version without it."""
    if element_id in drawn:
        return element_id
    listened = _JOB_LISTENER.match(element_id)  # a Camunda 8 listener's (``zeebe_jobs``)
    if listened is not None and listened["owner"] in drawn:
        return listened["owner"]
    owner = drawn_for(element_id, drawn)
    if owner == element_id:
        end_of = element_id.removesuffix("_end")
        return end_of if end_of in drawn else element_id
    return owner


def _flows(tree: Any, pairs: set[tuple[str, str]]) -> set[str]:
    """Ids of the sequence flows from a completed element to the element that followed it."""
    return {
        flow.get("id")
        for flow in tree.iter(f"{{{BPMN_NS}}}sequenceFlow")
        if (flow.get("sourceRef"), flow.get("targetRef")) in pairs
    }


def history(session: Session, instance_id: int) -> list[dict[str, Any]]:
    """Completed work items and audit entries of the instance, oldest first."""
    names = dict(session.execute(select(User.id, User.display_name)).all())
    entries: list[dict[str, Any]] = []
    for item in session.scalars(
        select(WorkItem).where(
            WorkItem.instance_id == instance_id, WorkItem.status == WorkItemStatus.COMPLETED
        )
    ):
        entries.append(
            {
                "at": item.completed_at,
                "kind": "task",
                "what": item.title,
                "element_id": item.element_id,
                "who": names.get(item.completed_by_id),
            }
        )
    for entry in session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "process_instance", AuditEntry.entity_id == str(instance_id)
        )
    ):
        entries.append(
            {
                "at": entry.at,
                "kind": "audit",
                "what": entry.action,
                "element_id": None,
                "who": names.get(entry.actor_id),
                "details": entry.after,
            }
        )
    return sorted(entries, key=lambda e: (e["at"] is None, e["at"]))


def versions_of(session: Session, process_id: str) -> list[dict[str, Any]]:
    """Every version of a process, newest first, with who deployed it and its live instances."""
    live = dict(
        session.execute(
            select(ProcessInstance.version_id, func.count())
            .where(
                ProcessInstance.process_id == process_id,
                ProcessInstance.status.in_(
                    (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)
                ),
            )
            .group_by(ProcessInstance.version_id)
        ).all()
    )
    rows = session.execute(
        select(ProcessVersion, ModelBundle, User.display_name)
        .join(ModelBundle, ProcessVersion.bundle_id == ModelBundle.id)
        .outerjoin(User, ModelBundle.deployed_by_id == User.id)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
    ).all()
    return [
        {
            "version": version.version,
            "name": version.name,
            "version_tag": version.version_tag,
            "deployed_by": deployer,
            "deployed_at": version.created_at,
            "source": bundle.source,
            "content_hash": bundle.content_hash[:10],
            "bpmn_file": version.bpmn_file,
            "dmn_files": sorted(bundle.dmn),
            "live_instances": live.get(version.id, 0),
        }
        for version, bundle, deployer in rows
    ]


def live_instances(session: Session, process_id: str, version: int) -> list[ProcessInstance]:
    return list(
        session.scalars(
            select(ProcessInstance)
            .join(ProcessVersion, ProcessInstance.version_id == ProcessVersion.id)
            .where(
                ProcessVersion.process_id == process_id,
                ProcessVersion.version == version,
                ProcessInstance.status.in_((InstanceStatus.RUNNING, InstanceStatus.WAITING)),
            )
            .order_by(ProcessInstance.id)
            .limit(1000)
        )
    )


LIVE = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)
INSTANCE_LIST_LIMIT = 200


def instances_of(
    session: Session,
    process_id: str,
    *,
    version: int | None = None,
    live_only: bool = False,
    limit: int = INSTANCE_LIST_LIMIT,
) -> list[dict[str, Any]]:
    """The newest instances of a process (or of one version): status, business key, start,
    and the titles of their open tasks, read from rows (no workflow is loaded)."""
    query = (
        select(
            ProcessInstance.id,
            ProcessInstance.status,
            ProcessInstance.business_key,
            ProcessInstance.started_at,
            ProcessInstance.ended_at,
            ProcessInstance.waiting,
            ProcessVersion.version,
        )
        .join(ProcessVersion, ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessInstance.process_id == process_id)
        .order_by(ProcessInstance.id.desc())
        .limit(limit)
    )
    if version is not None:
        query = query.where(ProcessVersion.version == version)
    if live_only:
        query = query.where(ProcessInstance.status.in_(LIVE))
    rows = session.execute(query).all()
    open_tasks: dict[int, list[str]] = {}
    if rows:
        for instance_id, title in session.execute(
            select(WorkItem.instance_id, WorkItem.title)
            .where(
                WorkItem.instance_id.in_([row.id for row in rows]),
                WorkItem.status == WorkItemStatus.OPEN,
            )
            .order_by(WorkItem.created_at, WorkItem.seq)
        ):
            open_tasks.setdefault(instance_id, []).append(title)
    return [
        {
            "id": row.id,
            "version": row.version,
            "status": InstanceStatus(row.status).value,
            "business_key": row.business_key,
            "started_at": row.started_at,
            "ended_at": row.ended_at,
            "open_tasks": open_tasks.get(row.id, []),
            "waiting": [w.get("name") or w.get("kind") for w in row.waiting or []],
        }
        for row in rows
    ]
