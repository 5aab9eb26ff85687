"""Reading one uploaded file from a multipart request, refusing oversize files early."""

from __future__ import annotations

from flask import request

from crm.imports import MAX_FILE_BYTES, too_large
from dialflow.errors import InvalidInput

MULTIPART_SLACK = 1024 * 1024  # form boundaries and other fields around the file


def uploaded_file(field: str = "file", max_bytes: int = MAX_FILE_BYTES) -> tuple[str, bytes]:
    """``(file name, content)`` of the upload; 413 ``file_too_large`` before the body is read
    when the request announces more than the limit, and after reading when the file exceeds it.
    (Flask's ``MAX_CONTENT_LENGTH`` of 60 MB remains the hard cap for every request.)"""
    if (request.content_length or 0) > max_bytes + MULTIPART_SLACK:
        raise too_large(max_bytes)
    if not request.mimetype.startswith("multipart/form-data"):
        raise InvalidInput(
            f"Send the file as multipart/form-data in the field {field!r}.",
            code="file_required",
            details=[{"field": field, "message": "required"}],
        )
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise InvalidInput(
            "Choose a CSV or XLSX file to upload.",
            code="file_required",
            details=[{"field": field, "message": "required"}],
        )
    data = upload.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    return upload.filename, data
