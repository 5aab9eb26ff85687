"""Domain errors: one family, one JSON shape, mapped to HTTP in ``web/errors.py`` only.

Services raise these anywhere; they never import Flask. Each class carries its HTTP status so
that the web layer needs no table of its own.
"""

from __future__ import annotations

from typing import Any


class DialflowError(Exception):
    """Base of every error a user or integrator can cause."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: list[dict[str, Any]] = details or []

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(DialflowError):
    """Input failed validation; ``details`` names the fields: ``{"field", "message"}``."""

    status = 422
    code = "invalid_input"


class NotFound(DialflowError):
    status = 404
    code = "not_found"


class Conflict(DialflowError):
    status = 409
    code = "conflict"


class DuplicateCustomer(Conflict):
    code = "duplicate_customer"


class Unauthorized(DialflowError):
    status = 401
    code = "unauthorized"


class Forbidden(DialflowError):
    status = 403
    code = "forbidden"


class PayloadTooLarge(DialflowError):
    status = 413
    code = "payload_too_large"


class DatabaseBusy(DialflowError):
    """The database could not give the request its locks in time (another transaction held
    them past the lock wait, or PostgreSQL broke a deadlock or a serialization conflict by
    failing this one). Nothing of the request was stored; the same request may be sent again."""

    status = 503
    code = "database_busy"
    retry_after = 2

    def __init__(self) -> None:
        super().__init__(
            "The database is busy with other work on the same records; nothing was changed. "
            "Try again in a moment."
        )


class DatabaseUnavailable(DialflowError):
    """The connection to the database dropped while the request ran (the server restarted,
    or an administrator ended the session). Its transaction is gone unless its COMMIT had
    already reached the server; the pool opens a new connection for the next request."""

    status = 503
    code = "database_unavailable"
    retry_after = 2

    def __init__(self) -> None:
        super().__init__(
            "The connection to the database was lost while the request ran; it was most "
            "likely not stored. Try again in a moment: a repeated request finds what was."
        )


class CommitUnknown(DialflowError):
    """The connection to the database dropped after the request's COMMIT was sent and before
    its answer came (``dialflow.db.commit_unknown``): the server may have stored the work or
    not, and no one here can tell. Unlike ``database_unavailable`` a client must not simply
    send a non-idempotent request again: it reads first (the instance, the task, the record)
    to see whether the change is there."""

    status = 503
    code = "commit_unknown"
    retry_after = 2

    def __init__(self) -> None:
        super().__init__(
            "The connection to the database was lost while the request's changes were being "
            "committed; they may or may not have been stored. Check before sending it again: "
            "GET the process instance or task (or the record) it changed to see whether the "
            "change is there."
        )


class ConfigurationError(DialflowError):
    """A setting is missing or malformed; raised at start, before anything is served."""

    status = 500
    code = "configuration_error"


def field_error(field: str, message: str) -> InvalidInput:
    """Shorthand for the common one-field validation failure."""
    return InvalidInput(message, details=[{"field": field, "message": message}])
