"""A task's instructions for the person who works on it.

SpiffArena's modeler writes them as ``<spiffworkflow:instructionsForEndUser>``, a Jinja
template over the task data ("Call {{ name }} about {{ total }}"). SpiffWorkflow 3.2 keeps
that element as an extension of its own, not among the ``spiffworkflow:properties``, where
Dialflow looked, so the instructions of such diagrams were never shown. They are rendered
once, when the work item opens, in Jinja's sandbox (a template cannot reach Python's
internals) with the task's data; a template that does not render is shown as written.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)

LIMIT = 2000  # the work item's column
_JINJA = SandboxedEnvironment(autoescape=False)


def instructions_of(extensions: dict[str, Any], data: dict[str, Any]) -> str | None:
    """The instructions of a task whose spec has ``extensions``, rendered with ``data``."""
    properties = extensions.get("properties") or {}
    text = extensions.get("instructionsForEndUser") or properties.get("instructionsForEndUser")
    if not isinstance(text, str) or not text.strip():
        return None
    if "{{" in text or "{%" in text:
        try:
            text = _JINJA.from_string(text).render(**_names(data))
        except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            log.warning("instructions %r do not render: %s", text[:100], exc)
    return text.strip()[:LIMIT] or None


def _names(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if isinstance(key, str)}
