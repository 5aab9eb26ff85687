"""``/api/v1/process-models``: deploy, list, and fetch a version's XML."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue

from engine.bundles import Bundle
from engine.deployments import deploy, list_models, version_xml
from engine.errors import InvalidBpmn, problem
from web.api import api_bp
from web.api.auth import api_user, json_body, require_role, token_required
from web.api.openapi import documented
from web.api.schemas import INT, STR, obj, page
from web.context import runtime, unit_of_work

DEPLOYERS = ("process_owner", "admin")
DEPLOY_RESULT = obj(
    {"model_id": INT, "version": INT, "process_ids": {"type": "array", "items": STR}}
)


@api_bp.post("/process-models")
@documented(
    "Deploy BPMN, DMN and JSON-Schema form files (multipart `file` fields or JSON)",
    tag="process-models",
    status=201,
    errors=(401, 403, 409, 422),
    request=obj(
        {
            "bpmn": {"oneOf": [STR, {"type": "object"}]},
            "dmn": {"type": "array", "items": STR},
            "forms": {"type": "object"},
        }
    ),
    response=DEPLOY_RESULT,
)
@token_required
def deploy_model() -> ResponseReturnValue:
    require_role(*DEPLOYERS)
    if request.files:
        files = [(f.filename or "", f.read()) for f in request.files.getlist("file")]
        if not files:
            raise InvalidBpmn(
                "Upload files in fields named 'file'.",
                details=[problem("no 'file' field in the upload")],
            )
        bundle = Bundle.from_named_files(files)
    else:
        bundle = Bundle.from_json(json_body())
    with unit_of_work() as db:
        result = deploy(runtime().engine, db, bundle, actor=api_user(), source="api")
        body = result.to_dict()
    return jsonify(body), 201 if result.created else 200


@api_bp.get("/process-models")
@documented(
    "Deployed processes and their versions",
    tag="process-models",
    response=page(
        obj(
            {
                "process_id": STR,
                "name": STR,
                "latest_version": INT,
                "versions": {"type": "array", "items": INT},
            }
        )
    ),
)
@token_required
def list_process_models() -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        items = list_models(db)
    return jsonify({"items": items, "total": len(items)})


@api_bp.get("/process-models/<process_id>/versions/<int:version>/bpmn")
@documented(
    "The BPMN XML of one version",
    tag="process-models",
    errors=(401, 404),
    response={"type": "string"},
)
@token_required
def get_version_xml(process_id: str, version: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        xml = version_xml(db, process_id, version)
    return Response(xml, mimetype="application/xml")
