"""Pages: the customer import wizard (upload → mapping → preview → job) and the export."""

from __future__ import annotations

from itertools import islice

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import jobs
from crm.exports import export_customers, may_export
from crm.imports import (
    FIELDS,
    ensure_may_import,
    load_sheet,
    may_import,
    parse_mapping,
    preview,
    start_import,
    submit_import,
)
from crm.models import Job, JobKind, JobStatus
from dialflow.background import dispatch_job
from dialflow.errors import DialflowError, InvalidInput
from web.api.imports import csv_download, download, export_filters
from web.context import runtime, settings, unit_of_work
from web.errors import page_message
from web.uploads import uploaded_file

imports_bp = Blueprint("imports", __name__)
SAMPLE_ROWS = 3
FIELD_LABELS = {
    "name": _l("Name"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "company": _l("Company"),
    "address": _l("Address"),
    "region": _l("Region"),
    "source": _l("Source"),
    "tags": _l("Tags"),
    "notes": _l("Notes"),
    "owner": _l("Owner (username)"),
    "stage": _l("Stage"),
    "consent": _l("Consent"),
    "do_not_call": _l("Do not call"),
    "timezone": _l("Time zone"),
}

JOB_STATUS_LABELS = {
    "draft": _l("Not started"),
    "queued": _l("Waiting"),
    "running": _l("Importing"),
    "done": _l("Finished"),
    "failed": _l("Failed"),
}
CHECK_LABELS = {
    "new": lazy_pgettext("import row check", "New"),
    "error": _l("Error"),
    "duplicate": _l("Duplicate"),
    "same_name": _l("Same name exists"),
}


@imports_bp.app_context_processor
def _nav() -> dict:
    def can_import() -> bool:
        return bool(current_user.is_authenticated and may_import(current_user))

    def can_export() -> bool:
        return bool(current_user.is_authenticated and may_export(current_user))

    return {
        "can_import": can_import,
        "can_export": can_export,
        "job_status_label": lambda v: str(JOB_STATUS_LABELS.get(v, v)),
        "check_label": lambda v: str(CHECK_LABELS.get(v, v)),
        "field_label": lambda v: str(FIELD_LABELS.get((v or "").split("[", 1)[0], v or "")),
    }


@imports_bp.get("/customers/import")
@login_required
def upload_form() -> ResponseReturnValue:
    ensure_may_import(current_user)
    with unit_of_work(read_only=True) as db:
        recent = _recent_imports(db)
    return render_template("imports/upload.html", recent=recent)


def _recent_imports(db: Session) -> list[Job]:
    return list(
        db.scalars(
            select(Job)
            .where(Job.created_by_id == current_user.id, Job.kind == JobKind.IMPORT)
            .order_by(Job.id.desc())
            .limit(10)
        ).all()
    )


@imports_bp.post("/customers/import")
@login_required
def upload() -> ResponseReturnValue:
    ensure_may_import(current_user)
    try:
        file_name, data = uploaded_file()
        with unit_of_work() as db:
            job = submit_import(
                db,
                actor=current_user,
                file_name=file_name,
                data=data,
                max_rows=settings().import_max_rows,
                draft=True,
            )
            job_id = job.id
    except DialflowError as exc:
        if exc.status in (401, 403):
            raise
        # The upload form again, with the problem in the reader's language beside it.
        with unit_of_work(read_only=True) as db:
            recent = _recent_imports(db)
        message = page_message(exc.status, exc.code) or exc.message
        body = render_template(
            "imports/upload.html",
            recent=recent,
            upload_error=message,
            upload_detail=exc.message,
            upload_code=exc.code,
        )
        return Response(body, status=exc.status)
    return redirect(url_for("imports.mapping", job_id=job_id))


@imports_bp.route("/customers/import/<int:job_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(job_id: int) -> ResponseReturnValue:
    ensure_may_import(current_user)
    problems: list[dict] = []
    with unit_of_work() as db:
        job = jobs.get_job(db, job_id, viewer=current_user)
        if job.status != JobStatus.DRAFT:
            return redirect(url_for("imports.job_page", job_id=job_id))
        sheet = load_sheet(db, job)
        current = dict(job.mapping or {})
        if request.method == "POST":
            chosen = {
                header: request.form.get(f"col-{index}") or None
                for index, header in enumerate(sheet.headers)
            }
            try:
                job.mapping = parse_mapping(sheet.headers, chosen)
            except InvalidInput as exc:
                problems = exc.details
                current = chosen
            else:
                return redirect(url_for("imports.preview_page", job_id=job_id))
        samples = [cells for _n, cells in islice(sheet.rows(), SAMPLE_ROWS)]
        columns = [
            {
                "index": index,
                "header": header,
                "field": current.get(header),
                "samples": [cells[index] for cells in samples if index < len(cells)],
            }
            for index, header in enumerate(sheet.headers)
        ]
        body = render_template(
            "imports/mapping.html",
            job=job,
            columns=columns,
            fields=[(f, FIELD_LABELS[f]) for f in FIELDS],
            problems=problems,
        )
    return Response(body, status=422 if problems else 200)


@imports_bp.get("/customers/import/<int:job_id>/preview")
@login_required
def preview_page(job_id: int) -> ResponseReturnValue:
    ensure_may_import(current_user)
    with unit_of_work(read_only=True) as db:
        job = jobs.get_job(db, job_id, viewer=current_user)
        if job.status != JobStatus.DRAFT:
            return redirect(url_for("imports.job_page", job_id=job_id))
        sheet = load_sheet(db, job)
        result = preview(db, sheet, job.mapping or {}, region=settings().default_region)
        return render_template("imports/preview.html", job=job, result=result, labels=FIELD_LABELS)


@imports_bp.post("/customers/import/<int:job_id>/start")
@login_required
def start(job_id: int) -> ResponseReturnValue:
    ensure_may_import(current_user)
    with unit_of_work() as db:
        job = jobs.get_job(db, job_id, viewer=current_user)
        if job.status != JobStatus.DRAFT:  # started already (a second click)
            return redirect(url_for("imports.job_page", job_id=job_id))
        job.options = {**(job.options or {}), "route_leads": "route_leads" in request.form}
        start_import(db, job, job.mapping)
    dispatch_job(runtime(), job_id)
    flash(_("The import has started."))
    return redirect(url_for("imports.job_page", job_id=job_id))


@imports_bp.get("/jobs/<int:job_id>")
@login_required
def job_page(job_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        job = jobs.get_job(db, job_id, viewer=current_user)
        rows, total = jobs.problem_rows(db, job.id, limit=50)
        return render_template("imports/job.html", job=job, rows=rows, problems_total=total)


@imports_bp.get("/jobs/<int:job_id>/status.json")
@login_required
def job_status(job_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        return jsonify(jobs.job_to_dict(jobs.get_job(db, job_id, viewer=current_user)))


@imports_bp.get("/jobs/<int:job_id>/errors.csv")
@login_required
def job_errors(job_id: int) -> ResponseReturnValue:
    with unit_of_work(read_only=True) as db:
        job = jobs.get_job(db, job_id, viewer=current_user)
        content = jobs.problems_csv(db, job)
    return csv_download(content, f"import-{job_id}-errors.csv")


@imports_bp.get("/customers/export")
@login_required
def export() -> ResponseReturnValue:
    with unit_of_work() as db:
        result = export_customers(
            db,
            viewer=current_user,
            file_format=request.args.get("format", "csv"),
            filters=export_filters(),
            region=settings().default_region,
            source="web",
        )
    return download(result.content, result.content_type, result.file_name)
