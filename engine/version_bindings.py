"""A Camunda 8 ``bindingType`` Dialflow does not run, said with what to write instead.

Camunda 8.6 binds a call activity's process, a business rule task's decision and a user
task's form by ``latest``, ``deployment`` or ``versionTag`` (the latest deployed version whose
``<zeebe:versionTag>`` has the tag). Dialflow runs the first two; a version tag cannot be looked
up, as ``process_versions`` stores none (the target's tag stays in its stored file only).
Resolving it needs a migration adding ``process_versions.version_tag`` (text, null, filled
from the process's ``<zeebe:versionTag value>`` when deployed, indexed with ``process_id``),
and for decisions and forms, which are no rows of their own but files of a deploy, a table of
(bundle, decision or form id, tag).
"""

from __future__ import annotations

from typing import Any


def binding_refusal(element: Any, what: str, target: str, instead: str) -> str:
    """Why a ``bindingType`` other than ``latest`` or ``deployment`` on ``element`` (a called
    element, decision or form definition) does not run, with what to write. ``versionTag``
    would need each deployed version's tag, which ``process_versions`` does not store (a
    migration would add it); the target's own ``<zeebe:versionTag>`` stays in its file."""
    binding = (element.get("bindingType") or "").strip()
    tag = (element.get("versionTag") or "").strip()
    if binding != "versionTag":
        return (
            f'bindingType={binding!r} is no Camunda binding: write bindingType="deployment" '
            f'(the {what} deployed with this diagram) or "latest"'
        )
    asked = f"the {what} {target!r} tagged {tag!r}" if tag else f"a tagged {what}"
    return (
        f"Dialflow keeps no version tags: remove bindingType='versionTag' and versionTag; "
        f"{asked} cannot be looked up, as a deployed version keeps no <zeebe:versionTag> "
        f"Dialflow reads; {instead}"
    )
