"""``/api/v1/process-models``: deploy, list, and fetch a version's XML."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue

from dialflow.errors import InvalidInput
from engine.bundles import Bundle
from engine.deployments import check, deploy, list_models, version_xml
from engine.errors import InvalidBpmn, problem
from engine.model_diff import diff_models
from web.api import api_bp
from web.api.auth import api_user, json_body, require_role, token_required
from web.api.openapi import documented
from web.api.schemas import INT, STR, obj, page
from web.context import runtime, unit_of_work

DEPLOYERS = ("process_owner", "admin")
BUNDLE_JSON = obj(
    {
        "bpmn": {"oneOf": [STR, {"type": "object"}]},
        "dmn": {"type": "array", "items": STR},
        "forms": {"type": "object"},
    }
)
BUNDLE_FILES = obj(
    {
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": ".bpmn, .dmn and form files (JSON Schema .json, Camunda Form "
            ".form), one field named file each",
        }
    },
    required=["file"],
)
WARNINGS = {
    "type": "array",
    "description": "What deploys but may not run as meant, such as a lane that "
    "names no role and no existing team (its tasks reach no inbox until one exists)",
    "items": obj(
        {
            "element_id": STR,
            "line": {"type": "integer", "nullable": True},
            "file": STR,
            "message": STR,
        },
        required=["element_id", "message"],
    ),
}
DEPLOY_RESULT = obj(
    {
        "model_id": INT,
        "version": INT,
        "process_ids": {"type": "array", "items": STR},
        "warnings": WARNINGS,
    }
)


@api_bp.post("/process-models")
@documented(
    "Deploy BPMN, DMN and JSON-Schema form files (multipart `file` fields or JSON)",
    tag="process-models",
    status=201,
    also={200: ("The same content was deployed before: its existing version", None)},
    errors=(401, 403, 409, 413, 422),
    request=BUNDLE_JSON,
    other_requests={"multipart/form-data": BUNDLE_FILES},
    response=DEPLOY_RESULT,
)
@token_required
def deploy_model() -> ResponseReturnValue:
    require_role(*DEPLOYERS)
    bundle = bundle_from_request(_deploy_json)
    with unit_of_work() as db:
        result = deploy(runtime().engine, db, bundle, actor=api_user(), source="api")
        body = result.to_dict()
    return jsonify(body), 201 if result.created else 200


def _deploy_json() -> dict[str, Any]:
    """A deploy's JSON body: its files have their own size limits (``engine.bundles``)."""
    return json_body(max_bytes=None)


def bundle_from_request(read_json: Callable[[], dict[str, Any]]) -> Bundle:
    """The files of a deploy or validate request: multipart ``file`` fields, or JSON. A
    multipart body without files (a ``file`` field sent as text) is told to send files, not
    JSON."""
    if request.files or request.mimetype == "multipart/form-data":
        files = [(f.filename or "", f.read()) for f in request.files.getlist("file")]
        if not files:
            raise InvalidBpmn(
                "Upload files in fields named 'file'.",
                details=[problem("no 'file' field in the upload")],
            )
        return Bundle.from_named_files(files)
    return Bundle.from_json(read_json())


@api_bp.post("/process-models/validate")
@documented(
    "Run the deploy checks without storing anything: 200 with the warnings a deploy would "
    "answer, or 422 invalid_bpmn with one detail per problem (element_id, line, message), "
    "foreign dialects (camunda:, zeebe:, JUEL) included",
    tag="process-models",
    errors=(401, 403, 413, 422),
    request=BUNDLE_JSON,
    other_requests={"multipart/form-data": BUNDLE_FILES},
    response=obj(
        {
            "valid": {"type": "boolean"},
            "process_ids": {"type": "array", "items": STR},
            "warnings": WARNINGS,
        }
    ),
)
@token_required
def validate_model() -> ResponseReturnValue:
    require_role(*DEPLOYERS)
    bundle = bundle_from_request(_deploy_json)
    with unit_of_work(read_only=True) as db:
        result = check(runtime().engine, db, bundle).to_dict()
    return jsonify(result)


@api_bp.get("/handlers")
@documented(
    "Service-task operators of the handler registry, with their parameters",
    tag="process-models",
    errors=(401,),
    response=obj(
        {
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "id": STR,
                        "description": STR,
                        "parameters": {
                            "type": "array",
                            "items": obj(
                                {
                                    "id": STR,
                                    "type": STR,
                                    "required": {"type": "boolean"},
                                    "description": STR,
                                }
                            ),
                        },
                    }
                ),
            }
        }
    ),
)
@token_required
def list_handlers() -> ResponseReturnValue:
    return jsonify({"items": runtime().engine.registry.describe()})


@api_bp.get("/process-models/<process_id>/diff")
@documented(
    "Elements added, removed and changed between two versions (layout ignored)",
    tag="process-models",
    errors=(401, 404, 422),
    query={"from": "older version number", "to": "newer version number"},
    response=obj(
        {
            "added": {"type": "array", "items": {"type": "object"}},
            "removed": {"type": "array", "items": {"type": "object"}},
            "changed": {"type": "array", "items": {"type": "object"}},
        }
    ),
)
@token_required
def diff_versions(process_id: str) -> ResponseReturnValue:
    before, after = version_pair()
    with unit_of_work(read_only=True) as db:
        result = diff_models(
            version_xml(db, process_id, before), version_xml(db, process_id, after)
        )
    return jsonify(result.to_dict())


def version_pair() -> tuple[int, int]:
    """``?from=&to=`` as two version numbers, or a 422 naming the bad one."""
    numbers = []
    for name in ("from", "to"):
        value = request.args.get(name, "")
        if not (value.isascii() and value.isdigit()) or int(value) > 2**31 - 1:
            raise InvalidInput(
                f"'{name}' must be a version number.",
                details=[{"field": name, "message": "expected a version number"}],
            )
        numbers.append(int(value))
    return numbers[0], numbers[1]


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
                # each version's tag (zeebe:versionTag, camunda:versionTag), null when none
                "version_tags": {"type": "array", "items": {"type": "string", "nullable": True}},
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
    response_type="application/xml",
)
@token_required
def get_version_xml(process_id: str, version: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        xml = version_xml(db, process_id, version)
    return Response(xml, mimetype="application/xml")
