"""The one place where errors become HTTP: JSON for the API, a page for the browser."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dialflow.db import (
    commit_unknown,
    connection_lost,
    lock_failure,
    pool_exhausted,
    statement_cancelled,
)
from dialflow.errors import CommitUnknown, DatabaseBusy, DatabaseUnavailable, DialflowError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
}

# Error pages speak the reader's language; the JSON errors keep the domain's English messages.
PAGE_MESSAGES = {
    "customer_not_found": _l("This customer does not exist or is not visible to you."),
    "task_not_found": _l("This task does not exist."),
    "job_not_found": _l("This import or export does not exist."),
    "deal_not_found": _l("This deal does not exist."),
    "process_not_found": _l("This process model does not exist."),
    "instance_not_found": _l("This process instance does not exist."),
    "csrf_failed": _l("The form has expired. Reload the page and try again."),
    "file_required": _l("Choose a CSV or XLSX file to upload."),
    "file_too_large": _l("The file is too large; split it into smaller files."),
    "unsupported_file_type": _l("This file cannot be read. Upload a CSV or Excel (.xlsx) file."),
    "empty_file": _l("The file has no rows to import."),
    "unknown_encoding": _l(
        "The file's text encoding could not be recognised. Save it as “CSV UTF-8” "
        "(Excel: File › Save As › CSV UTF-8) and upload it again."
    ),
    "too_many_rows": _l("The file has too many rows; split it into smaller files."),
    "malformed_file": _l(
        "The file is damaged and cannot be read. Open it in Excel or WPS, save it again "
        "and upload it again."
    ),
    "too_many_sign_in_attempts": _l("Too many failed sign-in attempts. Try again later."),
    "form_unusable": _l(
        "This task's form is broken and cannot check what you enter. Ask a process owner to "
        "deploy a corrected form."
    ),
    "webhook_not_found": _l("This webhook does not exist."),
    "delivery_not_found": _l("This webhook delivery does not exist."),
    "database_unavailable": _l(
        "The connection to the database was lost; what you sent was most likely not saved. "
        "Wait a moment and try again."
    ),
    "commit_unknown": _l(
        "The connection to the database was lost while your changes were being saved; they "
        "may or may not have been saved. Reload the page to see whether they are there "
        "before you try again."
    ),
}
STATUS_MESSAGES = {
    400: _l("The request was not valid."),
    401: _l("Please sign in."),
    403: _l("You do not have permission to open this page."),
    404: _l("This page does not exist."),
    405: _l("This address does not accept this kind of request."),
    409: _l("This was changed in the meantime. Reload the page and try again."),
    413: _l("The upload is too large."),
    415: _l("This kind of file is not supported."),
    422: _l("Some of the input is not valid."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("Something went wrong on our side."),
    503: _l("Others are changing the same records right now. Wait a moment and try again."),
}


def page_message(status: int, code: str) -> str | None:
    """The error page's text in the reader's language, or None to show the original message."""
    message = PAGE_MESSAGES.get(code) or STATUS_MESSAGES.get(status)
    return str(message) if message is not None else None


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path == "/healthz"
        or (request.accept_mimetypes.best == "application/json")
    )


def error_response(status: int, code: str, message: str, details: list | None = None) -> Response:
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message, "details": details or []}})
    else:
        response = render_template(
            "error.html",
            status=status,
            code=code,
            message=page_message(status, code) or message,
            detail=message,
        )
    if not isinstance(response, Response):
        response = Response(response, mimetype="text/html")
    response.status_code = status
    return response


def too_large_message() -> str:
    """What werkzeug's 413 ("The data value transmitted exceeds the capacity limit.") means:
    a body over ``MAX_CONTENT_LENGTH``, or a form of more parts than ``MAX_FORM_PARTS``."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    size = request.content_length
    if limit and (size is None or size > limit):
        return (
            f"The request is larger than {limit // (1024 * 1024)} MB, the most this server "
            "accepts; send fewer or smaller files."
        )
    parts = current_app.config.get("MAX_FORM_PARTS")
    return (
        f"The form has more than {parts} parts (files and fields), the most this server "
        "accepts; send fewer files at once."
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(DialflowError)
    def _domain_error(exc: DialflowError) -> Response:
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Response:
        return error_response(400, "csrf_failed", exc.description or "The form has expired.")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        description = too_large_message() if status == 413 else exc.description or ""
        response = error_response(status, HTTP_CODES.get(status, "http_error"), description)
        # What the exception says beyond its body: 405's ``Allow`` (RFC 9110), 401's
        # ``WWW-Authenticate``, 429's ``Retry-After``.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if lock_failure(exc) or pool_exhausted(exc) or statement_cancelled(exc):
            # nothing stored: it may be sent again
            log.warning("database busy on %s %s: %s", request.method, request.path, exc)
            return _domain_error(DatabaseBusy())
        if commit_unknown(exc):  # lost once the COMMIT was sent: stored or not, no one knows
            log.warning(
                "database connection lost during the commit of %s %s: %s",
                request.method,
                request.path,
                exc,
            )
            return _domain_error(CommitUnknown())
        if connection_lost(exc):  # the pool replaces the connection; the request may be resent
            log.warning("database connection lost on %s %s: %s", request.method, request.path, exc)
            return _domain_error(DatabaseUnavailable())
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")
