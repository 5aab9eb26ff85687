"""The pages: process models list, modeler, versions, instance view, XML download."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.deployments import latest_version, list_models
from engine.instance_view import (
    INSTANCE_LIST_LIMIT,
    element_states,
    history,
    instances_of,
    versions_of,
)
from engine.instances import get_instance, incident_to_dict
from engine.models import InstanceStatus, ModelBundle, ProcessInstance
from engine.work_items import unmatched_lane_names
from web import id_arg
from web.context import runtime, unit_of_work
from web.process_models import EDITORS, WATCHERS, may_edit, process_models_bp, require_role

NEW_PROCESS_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" \
xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" \
xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" \
xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" \
id="Definitions_new" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="new_process" name="New process" isExecutable="true">
    <bpmn:startEvent id="start" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="new_process">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@process_models_bp.get("/process-models")
@login_required
def list_page() -> ResponseReturnValue:
    require_role(*EDITORS)
    with unit_of_work(read_only=True) as db:
        models = list_models(db)
        for model in models:
            versions = versions_of(db, str(model["process_id"]))
            model["live"] = sum(v["live_instances"] for v in versions)
            model["deployed_at"] = versions[0]["deployed_at"] if versions else None
    return render_template("process_models/list.html", models=models)


@process_models_bp.get("/process-models/new")
@login_required
def new_page() -> ResponseReturnValue:
    require_role(*EDITORS)
    return _modeler(None, None, "new_process.bpmn", NEW_PROCESS_XML, {}, {})


@process_models_bp.get("/process-models/<process_id>/versions/<int:version>/edit")
@login_required
def edit_page(process_id: str, version: int) -> ResponseReturnValue:
    require_role(*EDITORS)
    with unit_of_work(read_only=True) as db:
        found = latest_version(db, process_id, version)
        bundle = found.bundle
        xml = bundle.bpmn[found.bpmn_file]
        args = (found.bpmn_file, xml, dict(bundle.dmn), dict(bundle.forms))
    return _modeler(process_id, version, *args)


def _modeler(
    process_id: str | None,
    version: int | None,
    file_name: str,
    xml: str,
    dmn: dict[str, str],
    forms: dict[str, Any],
) -> str:
    data = {
        "process_id": process_id,
        "version": version,
        "file_name": file_name,
        "xml": xml,
        "dmn": dmn,
        "forms": forms,
        "handlers": runtime().engine.registry.describe(),
        "urls": {
            "validate": url_for("process_models.validate"),
            "deploy": url_for("process_models.deploy"),
            "versions": url_for("process_models.versions_page", process_id="__PID__"),
        },
    }
    return render_template(
        "process_models/edit.html", data=data, process_id=process_id, version=version
    )


@process_models_bp.get("/process-models/<process_id>")
@login_required
def versions_page(process_id: str) -> ResponseReturnValue:
    require_role(*EDITORS)
    deployed = request.args.get("deployed", type=int)
    lanes_of_nobody: list[str] = []
    with unit_of_work(read_only=True) as db:
        latest = latest_version(db, process_id)  # 404 for an unknown process
        versions = versions_of(db, process_id)
        name = latest.name
        if deployed is not None and deployed in {v["version"] for v in versions}:
            # What the deploy's answer warned about, said again where the modeler lands.
            bundle = db.get(ModelBundle, latest_version(db, process_id, deployed).bundle_id)
            lanes_of_nobody = unmatched_lane_names(db, bundle.bpmn) if bundle else []
    data = {
        "process_id": process_id,
        "versions": [v["version"] for v in versions],
        "urls": {
            "xml": url_for(
                "process_models.version_xml_page", process_id=process_id, version=0
            ).replace("/0/", "/__V__/"),
            "diff": url_for("process_models.diff", process_id=process_id),
            "check": url_for(
                "process_models.migration_check", process_id=process_id, version=0
            ).replace("/0/", "/__V__/"),
            "migrate": url_for("process_models.migrate_instance", instance_id=0).replace(
                "/0/", "/__ID__/"
            ),
            "instance": url_for("process_models.instance_page", instance_id=0).replace(
                "/0", "/__ID__"
            ),
        },
    }
    return render_template(
        "process_models/versions.html",
        process_id=process_id,
        name=name,
        versions=versions,
        data=data,
        deployed=deployed,
        lanes_of_nobody=lanes_of_nobody,
    )


@process_models_bp.get("/process-models/<process_id>/instances")
@login_required
def instances_page(process_id: str) -> ResponseReturnValue:
    """The newest instances of a process, or of one version (``?version=N``); ``?live=1``
    leaves out completed and terminated ones."""
    require_role(*EDITORS)
    version = id_arg("version")
    live_only = request.args.get("live") == "1"
    with unit_of_work(read_only=True) as db:
        latest = latest_version(db, process_id)  # 404 for an unknown process
        if version is not None:
            latest_version(db, process_id, version)  # 404 for an unknown version
        items = instances_of(db, process_id, version=version, live_only=live_only)
        versions = [v["version"] for v in versions_of(db, process_id)]
        name = latest.name
    return render_template(
        "process_models/instances.html",
        process_id=process_id,
        name=name,
        items=items,
        version=version,
        versions=versions,
        live_only=live_only,
        limit=INSTANCE_LIST_LIMIT,
    )


@process_models_bp.get("/process-models/<process_id>/versions/<int:version>/bpmn")
@login_required
def version_xml_page(process_id: str, version: int) -> ResponseReturnValue:
    require_role(*EDITORS)
    with unit_of_work(read_only=True) as db:
        found = latest_version(db, process_id, version)
        xml = found.bundle.bpmn[found.bpmn_file]
    response = Response(xml, mimetype="application/xml")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{process_id}-v{version}.bpmn"'
        )
    return response


@process_models_bp.get("/process-instances/<int:instance_id>")
@login_required
def instance_page(instance_id: int) -> ResponseReturnValue:
    require_role(*WATCHERS)
    with unit_of_work(read_only=True) as db:
        row: ProcessInstance = get_instance(db, instance_id)
        states = element_states(runtime().engine, db, row)
        incidents = [_with_retry_note(i) for i in row.incidents if i.resolved_at is None]
        view = {
            "id": row.id,
            "process_id": row.process_id,
            "version": row.version.version,
            "name": row.version.name,
            "business_key": row.business_key,
            "status": row.status.value,
            "data": row.data,
            "waiting": row.waiting,
            "started_at": row.started_at,
            "ended_at": row.ended_at,
        }
        entries = history(db, row.id)
        xml = row.version.bundle.bpmn[row.version.bpmn_file]
    data = {
        "xml": xml,
        "states": states,
        "incidents": incidents,
        "may_retry": may_edit() and view["status"] == InstanceStatus.ERROR.value,
        "urls": {"retry": url_for("process_models.retry_instance", instance_id=instance_id)},
        "text": {"retry": _("Retry"), "retrying": _("Retrying…")},
    }
    return render_template(
        "process_models/instance.html",
        instance=view,
        incidents=incidents,
        history=entries,
        data=data,
        may_edit=may_edit(),
    )


def _with_retry_note(incident: Any) -> dict[str, Any]:
    """The incident as the API gives it; where a retry cannot help (the retry answers 409
    ``retry_cannot_help``), what to do instead, in the reader's language."""
    shown = incident_to_dict(incident)
    if incident.kind == "uncaught_error":
        shown["retry_refused"] = _(
            "A retry cannot help: this error is thrown by the diagram itself and nothing in "
            "this version catches it. Deploy a version that catches it and migrate the "
            "instance, or terminate it."
        )
    return shown
