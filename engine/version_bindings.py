"""A Camunda 8 ``bindingType`` Dialflow does not run, said with what to write instead.

Camunda 8.6 binds a call activity's process, a business rule task's decision and a user
task's form by ``latest``, ``deployment`` or ``versionTag`` (the latest deployed version whose
``<zeebe:versionTag>`` has the tag). Dialflow runs all three for a called process and a
decision (a tag written as text: ``engine.version_tags``), the first two for forms: resolving
a form's tag (its JSON's ``versionTag``) would need a table like ``decision_tags``.
"""

from __future__ import annotations

from typing import Any


def binding_refusal(element: Any, what: str, target: str, instead: str) -> str:
    """Why a ``bindingType`` on ``element`` (a called element, decision or form definition)
    does not run, with what to write: no Camunda binding, a version tag that is no text, or
    a form's version tag, which Dialflow does not keep."""
    binding = (element.get("bindingType") or "").strip()
    tag = (element.get("versionTag") or "").strip()
    if binding != "versionTag":
        return (
            f'bindingType={binding!r} is no Camunda binding: write bindingType="deployment" '
            f'(the {what} deployed with this diagram) or "latest"'
        )
    if what in ("process", "decision"):  # a tag Dialflow cannot read as text
        return (
            f"versionTag={tag!r} is no version tag written as text: write the tag the called "
            'process carries in its <zeebe:versionTag value>, such as versionTag="v1"'
        )
    asked = f"the {what} {target!r} tagged {tag!r}" if tag else f"a tagged {what}"
    return (
        f"Dialflow keeps no version tags of a {what}, only of processes: remove "
        f"bindingType='versionTag' and versionTag; {asked} cannot be looked up; {instead}"
    )
