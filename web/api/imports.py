"""``/api/v1/customers/import``, ``/api/v1/jobs/{id}`` and ``/api/v1/customers/export``."""

from __future__ import annotations

from flask import Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from crm import jobs
from crm.exports import FORMATS, export_customers
from crm.imports import ensure_may_import, open_upload, parse_mapping, preview, submit_import
from crm.models import LeadStage, RowOutcome
from dialflow.background import dispatch_job
from dialflow.errors import InvalidInput
from web.api import api_bp
from web.api.auth import api_user, paging, token_required
from web.api.openapi import choice, documented
from web.api.params import int_arg
from web.api.schemas import ANY_OBJECT, INT, STR, TIME, obj
from web.context import runtime, settings, unit_of_work
from web.uploads import uploaded_file

COUNTS = obj({k: INT for k in ("rows", "processed", "created", "duplicates", "errors")})
JOB = obj(
    {
        "id": INT,
        "kind": STR,
        "status": {"type": "string", "enum": ["draft", "queued", "running", "done", "failed"]},
        "progress": {"type": "number"},
        "counts": COUNTS,
        "file_name": STR,
        "mapping": ANY_OBJECT,
        "message": {"type": "string", "nullable": True},
        "errors": obj(
            {
                "items": {
                    "type": "array",
                    "items": obj(
                        {
                            "row": INT,
                            "outcome": STR,
                            "field": {"type": "string", "nullable": True},
                            "message": STR,
                            "existing_customer_id": {
                                "type": "integer",
                                "nullable": True,
                                "description": "the customer a duplicate row matched; "
                                "null for an error row",
                            },
                        }
                    ),
                },
                "total": INT,
                "limit": INT,
                "offset": INT,
            }
        ),
        "file_format": {"type": "string", "nullable": True},
        "encoding": {"type": "string", "nullable": True},
        "attempts": INT,
        "created_by_id": {"type": "integer", "nullable": True},
        "created_at": TIME,
        "started_at": TIME,
        "finished_at": TIME,
    }
)
UPLOAD = obj(
    {
        "file": {"type": "string", "format": "binary"},
        "mapping": STR,
        "route_leads": {
            "type": "string",
            "description": "1 = new rows go through lead intake; repeats tell the owner",
        },
    },
    required=["file"],
)


@api_bp.post("/customers/import")
@documented(
    "Import customers from a CSV or XLSX file as a background job (dry_run=1: preview only)",
    tag="customers",
    status=202,
    also={200: ("dry_run=1: the mapped first rows and the dedupe report", ANY_OBJECT)},
    errors=(401, 403, 413, 415, 422),
    request=UPLOAD,
    content_type="multipart/form-data",
    response=obj({"job_id": INT, "status": STR, "rows": INT}),
    query={"dry_run": "1 = return the mapped first rows and the dedupe report; no job"},
)
@token_required
def post_import() -> ResponseReturnValue:
    user = api_user()
    ensure_may_import(user)
    file_name, data = uploaded_file()
    mapping = request.form.get("mapping")
    if request.args.get("dry_run") in ("1", "true"):
        sheet = open_upload(file_name, data)
        with unit_of_work(read_only=True) as db:
            body = preview(
                db, sheet, parse_mapping(sheet.headers, mapping), region=settings().default_region
            )
        return jsonify(body)
    with unit_of_work() as db:
        job = submit_import(
            db,
            actor=user,
            file_name=file_name,
            data=data,
            mapping=mapping,
            max_rows=settings().import_max_rows,
            route_leads=request.form.get("route_leads") in ("1", "true", "on"),
        )
        job_id, rows = job.id, job.rows_total
    dispatch_job(runtime(), job_id)
    response = jsonify({"job_id": job_id, "status": "queued", "rows": rows})
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job_id)
    return response


@api_bp.get("/jobs/<int:job_id>")
@documented(
    "A background job: status, progress, counts and its duplicate and error rows (paged)",
    tag="jobs",
    errors=(401, 404, 422),
    response=JOB,
    query={
        "limit": "rows per page (at most 200)",
        "offset": "skip",
        "outcome": choice("duplicate | error", RowOutcome),
    },
)
@token_required
def get_job(job_id: int) -> ResponseReturnValue:
    limit, offset = paging()
    with unit_of_work(read_only=True) as db:
        job = jobs.get_job(db, job_id, viewer=api_user())
        rows, total = jobs.problem_rows(db, job.id, limit=limit, offset=offset, outcome=_outcome())
        body = jobs.job_to_dict(job)
        body["errors"] = {
            "items": [jobs.row_to_dict(r) for r in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    return jsonify(body)


@api_bp.get("/jobs/<int:job_id>/errors.csv")
@documented(
    "The job's duplicate and error rows as CSV (UTF-8 with BOM), with the original cells",
    tag="jobs",
    errors=(401, 404),
    response_type="text/csv",
    response={"type": "string"},
)
@token_required
def get_job_errors(job_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        job = jobs.get_job(db, job_id, viewer=api_user())
        content = jobs.problems_csv(db, job)
    return csv_download(content, f"import-{job_id}-errors.csv")


@api_bp.get("/customers/export")
@documented(
    "Export the customers you may see as CSV (UTF-8 with BOM) or XLSX, synchronously "
    "(at most 100,000 rows); managers, directors and admins; audited",
    tag="customers",
    errors=(401, 403, 422),
    response_type="text/csv",
    response={"type": "string", "format": "binary"},
    other_responses={FORMATS["xlsx"]: {"type": "string", "format": "binary"}},
    query={
        "format": choice("csv (default) or xlsx", FORMATS, empty_is_none=False),
        "q": "search text",
        "owner_id": "filter",
        "stage": choice("filter", LeadStage),
        "pool": "1 = public pool only",
        "tag": "filter",
    },
)
@token_required
def export() -> ResponseReturnValue:
    with unit_of_work() as db:
        result = export_customers(
            db,
            viewer=api_user(),
            file_format=request.args.get("format", "csv"),
            filters=export_filters(),
            region=settings().default_region,
            source="api",
        )
    return download(result.content, result.content_type, result.file_name)


def export_filters() -> dict[str, object]:
    """The export's filters from the query string, as ``crm.customers.customer_query`` takes."""
    pool = request.args.get("pool")
    return {
        "q": (request.args.get("q") or "").strip()[:100] or None,
        # ``owner`` is the customer list's name for the filter; the API documents ``owner_id``
        "owner_id": int_arg("owner_id") or int_arg("owner"),
        "stage": request.args.get("stage") or None,
        "pool": None if not pool else pool in ("1", "true"),
        "tag": request.args.get("tag") or None,
    }


def _outcome() -> str | None:
    outcome = request.args.get("outcome") or None
    if outcome not in (None, "duplicate", "error"):
        raise InvalidInput(
            "outcome must be duplicate or error.",
            details=[{"field": "outcome", "message": "use duplicate or error"}],
        )
    return outcome


def csv_download(content: bytes, file_name: str) -> Response:
    return download(content, "text/csv; charset=utf-8", file_name)


def download(content: bytes, content_type: str, file_name: str) -> Response:
    response = Response(content, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
