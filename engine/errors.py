"""Engine errors: each is a DialflowError, so the web layer maps them without a table."""

from __future__ import annotations

from typing import Any

from dialflow.errors import Conflict, DialflowError, InvalidInput, NotFound


class InvalidBpmn(DialflowError):
    """A deploy was refused; ``details`` are ``{"element_id", "line", "message"}``."""

    status = 422
    code = "invalid_bpmn"


class ProcessNotFound(NotFound):
    code = "process_not_found"


class InstanceNotFound(NotFound):
    code = "instance_not_found"


class TaskNotFound(NotFound):
    code = "task_not_found"


class TaskConflict(Conflict):
    """Completed already, assigned to someone else, or changed by a concurrent step."""

    code = "task_conflict"


class InstanceConflict(Conflict):
    code = "instance_conflict"


class RetryCannotHelp(Conflict):
    """The failure is the diagram's own (an error end event nothing catches): a retry would
    only throw it again."""

    code = "retry_cannot_help"


class FormInvalid(InvalidInput):
    code = "invalid_form_data"


class FormUnusable(Conflict):
    """The task's form itself cannot be used (a ``$ref`` that resolves to nothing in it)."""

    code = "form_unusable"


def problem(
    message: str, element_id: str | None = None, line: int | None = None, file: str | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"element_id": element_id or None, "line": line, "message": message}
    if file:
        detail["file"] = file
    return detail
