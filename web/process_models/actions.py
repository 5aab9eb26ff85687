"""The pages' JSON actions: session plus CSRF header, the same engine calls as the API."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import login_required

from dialflow.errors import InvalidInput
from engine import deployments
from engine.bundles import Bundle
from engine.deployments import check, version_xml
from engine.instances import instance_to_dict, retry
from engine.migration import migrate, migration_report, version_number
from engine.model_diff import diff_models
from web.api.auth import json_body
from web.api.process_models import version_pair
from web.context import runtime, unit_of_work
from web.process_models import EDITORS, actor, process_models_bp, require_role


def _bundle() -> Bundle:
    body = json_body(max_bytes=None)  # a deploy's files have their own size limits
    if not isinstance(body.get("bpmn"), dict):
        raise InvalidInput(
            "'bpmn' must map a file name to the diagram's XML.",
            details=[{"field": "bpmn", "message": "expected an object"}],
        )
    return Bundle.from_json(body)


@process_models_bp.post("/process-models/validate")
@login_required
def validate() -> ResponseReturnValue:
    require_role(*EDITORS)
    bundle = _bundle()
    with unit_of_work(read_only=True) as db:
        result = check(runtime().engine, db, bundle).to_dict()
    return jsonify(result)


@process_models_bp.post("/process-models/deploy")
@login_required
def deploy() -> ResponseReturnValue:
    require_role(*EDITORS)
    bundle = _bundle()
    with unit_of_work() as db:
        result = _deploy(bundle, db)
    return jsonify(result), 201 if result["created"] else 200


def _deploy(bundle: Bundle, db: Any) -> dict[str, Any]:
    result = deployments.deploy(runtime().engine, db, bundle, actor=actor(), source="modeler")
    return {**result.to_dict(), "created": result.created}


@process_models_bp.get("/process-models/<process_id>/diff")
@login_required
def diff(process_id: str) -> ResponseReturnValue:
    require_role(*EDITORS)
    before, after = version_pair()
    with unit_of_work(read_only=True) as db:
        result = diff_models(
            version_xml(db, process_id, before), version_xml(db, process_id, after)
        )
    return jsonify(result.to_dict())


@process_models_bp.post("/process-models/<process_id>/versions/<int:version>/migration-check")
@login_required
def migration_check(process_id: str, version: int) -> ResponseReturnValue:
    require_role(*EDITORS)
    to_version = version_number(json_body().get("to_version"))
    with unit_of_work(read_only=True) as db:
        items = migration_report(runtime().engine, db, process_id, version, to_version)
    return jsonify({"items": items})


@process_models_bp.post("/process-instances/<int:instance_id>/migrate")
@login_required
def migrate_instance(instance_id: int) -> ResponseReturnValue:
    require_role(*EDITORS)
    to_version = json_body().get("to_version")
    with unit_of_work() as db:
        row = migrate(runtime().engine, db, instance_id, to_version, actor=actor())
        result = instance_to_dict(db, row)
    return jsonify(result)


@process_models_bp.post("/process-instances/<int:instance_id>/retry")
@login_required
def retry_instance(instance_id: int) -> ResponseReturnValue:
    require_role(*EDITORS)
    with unit_of_work() as db:
        row = retry(runtime().engine, db, instance_id, actor=actor())
        result = instance_to_dict(db, row)
    return jsonify(result)
