"""A Camunda 8 ``bindingType`` Dialflow does not run, said with what to write instead.

Camunda 8.6 binds a call activity's process, a business rule task's decision and a user
task's form by ``latest``, ``deployment`` or ``versionTag`` (the latest deployed version whose
``<zeebe:versionTag>`` has the tag). Dialflow runs all three for a called process and a
decision (a tag written as text: ``engine.version_tags``) and a form (its JSON's
``versionTag``: ``engine.form_tags``).
"""

from __future__ import annotations

from typing import Any


def binding_refusal(element: Any, what: str, target: str, instead: str) -> str:
    """Why a ``bindingType`` on ``element`` (a called element, decision or form definition)
    does not run, with what to write: no Camunda binding, or a version tag that is no text."""
    binding = (element.get("bindingType") or "").strip()
    tag = (element.get("versionTag") or "").strip()
    if binding != "versionTag":
        return (
            f'bindingType={binding!r} is no Camunda binding: write bindingType="deployment" '
            f'(the {what} deployed with this diagram) or "latest"'
        )
    carried = (
        'its .form file carries as its JSON\'s "versionTag"'
        if what == "form"
        else f"the called {what} carries in its <zeebe:versionTag value>"
    )
    # a tag Dialflow cannot read as text (none, or FEEL)
    return (
        f"versionTag={tag!r} is no version tag written as text: write the tag {carried}, "
        'such as versionTag="v1"'
    )
