"""``/api/v1/process-instances``: start, read, list, retry, terminate."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from dialflow.errors import InvalidInput
from engine.instance_view import element_states
from engine.instances import (
    get_instance,
    instance_to_dict,
    list_instances,
    retry,
    start,
    terminate,
)
from engine.migration import migrate, migrate_all, migration_report, version_number
from engine.models import InstanceStatus
from web.api import api_bp
from web.api.auth import api_user, json_body, paging, require_role, token_required
from web.api.openapi import choice, documented
from web.api.schemas import ANY_OBJECT, INSTANCE, INT, KEY, STR, obj, page
from web.context import runtime, unit_of_work

OPERATORS = ("process_owner", "admin")


@api_bp.post("/process-instances")
@documented(
    "Start an instance of a deployed process",
    tag="process-instances",
    status=201,
    errors=(401, 404, 422),
    response=INSTANCE,
    request=obj(
        {"process_id": STR, "version": INT, "business_key": KEY, "data": ANY_OBJECT},
        required=["process_id"],
    ),
)
@token_required
def post_instance() -> ResponseReturnValue:
    body = json_body()
    process_id = body.get("process_id")
    version = body.get("version")
    if not isinstance(process_id, str) or not process_id:
        raise InvalidInput(
            "'process_id' is required.", details=[{"field": "process_id", "message": "required"}]
        )
    if version is not None:
        version = version_number(version, "version")
    with unit_of_work() as db:
        started = start(
            runtime().engine,
            db,
            process_id,
            version=version,
            business_key=body.get("business_key"),
            data=body.get("data"),
            actor=api_user(),
        )
        result = instance_to_dict(db, started.row, ready_tasks=started.ready_tasks)
    return jsonify(result), 201


@api_bp.get("/process-instances")
@documented(
    "List instances",
    tag="process-instances",
    response=page(INSTANCE),
    query={
        "process_id": "filter",
        "status": choice("filter", InstanceStatus),
        "business_key": "filter",
        "limit": "page size",
        "offset": "skip",
    },
)
@token_required
def list_process_instances() -> ResponseReturnValue:
    limit, offset = paging()
    with unit_of_work(read_only=True) as db:
        rows, total = list_instances(
            db,
            process_id=request.args.get("process_id"),
            status=request.args.get("status"),
            business_key=request.args.get("business_key"),
            limit=limit,
            offset=offset,
        )
        items = [instance_to_dict(db, row) for row in rows]
    return jsonify({"items": items, "total": total})


@api_bp.get("/process-instances/<int:instance_id>")
@documented(
    "One instance with its ready tasks, waits and incidents",
    tag="process-instances",
    errors=(401, 404),
    response=INSTANCE,
)
@token_required
def get_process_instance(instance_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        result = instance_to_dict(db, get_instance(db, instance_id))
    return jsonify(result)


@api_bp.post("/process-instances/<int:instance_id>/retry")
@documented(
    "Re-run the failed task of an instance in error; `data`, if given, is merged into the "
    "failed task's data first (the fix of a gateway's variables)",
    tag="process-instances",
    errors=(401, 403, 404, 409, 422),
    response=INSTANCE,
    request=obj({"data": ANY_OBJECT}),
)
@token_required
def retry_instance(instance_id: int) -> ResponseReturnValue:
    require_role(*OPERATORS)
    data = json_body().get("data") if request.get_data(cache=True) else None
    with unit_of_work() as db:
        row = retry(runtime().engine, db, instance_id, actor=api_user(), data=data)
        result = instance_to_dict(db, row)
    return jsonify(result)


@api_bp.post("/process-instances/<int:instance_id>/terminate")
@documented(
    "Terminate an instance", tag="process-instances", errors=(401, 403, 404, 409), response=INSTANCE
)
@token_required
def terminate_instance(instance_id: int) -> ResponseReturnValue:
    require_role(*OPERATORS, "manager", "director")
    with unit_of_work() as db:
        row = terminate(runtime().engine, db, instance_id, actor=api_user())
        result = instance_to_dict(db, row)
    return jsonify(result)


@api_bp.post("/process-instances/<int:instance_id>/migrate")
@documented(
    "Move a running instance to another version (409 with the blocking elements)",
    tag="process-instances",
    errors=(401, 403, 404, 409, 422),
    response=INSTANCE,
    request=obj({"to_version": INT}, required=["to_version"]),
)
@token_required
def migrate_instance(instance_id: int) -> ResponseReturnValue:
    require_role(*OPERATORS)
    body = json_body()
    with unit_of_work() as db:
        row = migrate(runtime().engine, db, instance_id, body.get("to_version"), actor=api_user())
        result = instance_to_dict(db, row)
    return jsonify(result)


@api_bp.get("/process-instances/<int:instance_id>/elements")
@documented(
    "Element ids of the instance's diagram by state: completed, ready, waiting, error, and the "
    "sequence flows taken",
    tag="process-instances",
    errors=(401, 404),
    response=obj(
        {
            name: {"type": "array", "items": STR}
            for name in ("completed", "ready", "waiting", "error", "flows")
        }
    ),
)
@token_required
def get_instance_elements(instance_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        result = element_states(runtime().engine, db, get_instance(db, instance_id))
    return jsonify(result)


@api_bp.post("/process-models/<process_id>/versions/<int:version>/migration-check")
@documented(
    "Dry run of a bulk migration: for each running instance of the version, whether it can "
    "move and what blocks it; nothing changes",
    tag="process-instances",
    errors=(401, 403, 404, 422),
    request=obj({"to_version": INT}, required=["to_version"]),
    response=obj(
        {
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "id": INT,
                        "can_move": {"type": "boolean"},
                        "blockers": {"type": "array", "items": {"type": "object"}},
                    }
                ),
            }
        }
    ),
)
@token_required
def check_migration(process_id: str, version: int) -> ResponseReturnValue:
    require_role(*OPERATORS)
    to_version = version_number(json_body().get("to_version"))
    with unit_of_work(read_only=True) as db:
        items = migration_report(runtime().engine, db, process_id, version, to_version)
    return jsonify({"items": items})


@api_bp.post("/process-models/<process_id>/versions/<int:version>/migrate")
@documented(
    "Move every running instance of a version; refused ones are listed with reasons",
    tag="process-instances",
    errors=(401, 403, 404, 422),
    request=obj({"to_version": INT}, required=["to_version"]),
    response=obj(
        {
            "migrated": {"type": "array", "items": INT},
            "refused": {"type": "array", "items": obj({"id": INT, "reason": STR})},
        }
    ),
)
@token_required
def migrate_version(process_id: str, version: int) -> ResponseReturnValue:
    require_role(*OPERATORS)
    to_version = version_number(json_body().get("to_version"))
    rt = runtime()
    result = migrate_all(rt.engine, rt.db, process_id, version, to_version, actor=api_user())
    return jsonify({"migrated": result.migrated, "refused": result.refused})
