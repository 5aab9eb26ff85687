"""Camunda Forms named with the ``latest`` binding, found among every deploy's ``.form`` files.

A Camunda 7 ``camunda:formRef`` (``camunda:formRefBinding="latest"`` or none) and a Camunda 8
``<zeebe:formDefinition formId>`` (``bindingType="latest"`` or none) name the latest deployed
version of a form: Camunda deploys a form once and its diagrams name it from later deploys.
Only the deploy's own ``.form`` files (and those of the processes it calls) were looked at, so
a diagram naming a form deployed in an earlier upload was refused. The deploy now finds the
newest ``.form`` file of that ``id`` in the deploys before it (``with_earlier_forms``), and the
task opens with the newest one deployed at that moment (``newest``): a form deployed again,
with any diagram, reaches the tasks that open after it. ``deployment`` keeps the deploy's own.

Forms are kept per deploy (``ModelBundle.forms``, file name → content), so the newest version
of an id is the one in the deploy with the highest id that has it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lxml import etree
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.bundles import Bundle
from engine.camunda_forms import CAMUNDA_NS, ZEEBE_NS
from engine.models import ModelBundle

LATEST = "latest"
_SCAN_BATCH = 50  # deploys read at a time


def binding_of(task: Any) -> str:
    """The binding a user task names its Camunda Form with (``latest`` when none is said)."""
    if (task.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip():
        return (task.get(f"{{{CAMUNDA_NS}}}formRefBinding") or LATEST).strip()
    for extensions in task.iterfind(f"{{{BPMN_NS}}}extensionElements"):
        found = extensions.find(f"{{{ZEEBE_NS}}}formDefinition")
        if found is not None:
            return (found.get("bindingType") or LATEST).strip()
    return LATEST


def _latest_ids(bpmn: Mapping[str, str]) -> set[str]:
    """The form ids user tasks of ``bpmn`` name with the ``latest`` binding."""
    found: set[str] = set()
    for xml in bpmn.values():
        try:
            tree = etree.fromstring(xml.encode(), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation
        for task in tree.iter(f"{{{BPMN_NS}}}userTask"):
            if binding_of(task) != LATEST:
                continue
            form_id = (task.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip()
            for extensions in task.iterfind(f"{{{BPMN_NS}}}extensionElements"):
                for definition in extensions.iterfind(f"{{{ZEEBE_NS}}}formDefinition"):
                    form_id = form_id or (definition.get("formId") or "").strip()
            if form_id:
                found.add(form_id)
    return found


def form_ids(forms: Mapping[str, Any]) -> set[str]:
    """The ids of the ``.form`` files among ``forms``."""
    return {
        content["id"]
        for name, content in forms.items()
        if name.lower().endswith(".form")
        and isinstance(content, Mapping)
        and isinstance(content.get("id"), str)
    }


def newest(session: Session, form_id: str) -> tuple[int, str, Any] | None:
    """The deploy id, file name and content of the newest ``.form`` file whose ``id`` is
    ``form_id``, else ``None``.

    Only the deploys whose forms' stored text holds the id as JSON writes it are read (the
    column is written by ``json.dumps``, ``dialflow.json_text``): every deploy's forms were read
    and decoded each time a task opened, 0.1–0.2 s among 500 deploys. The database still
    reads every row's text (an index would need a table of form ids); the contents found are
    checked here as before."""
    said = cast(ModelBundle.forms, Text).contains(json.dumps(form_id), autoescape=True)
    below: int | None = None
    while True:  # a batch of deploys at a time, newest first, until one has the form
        query = (
            select(ModelBundle.id, ModelBundle.forms).where(said).order_by(ModelBundle.id.desc())
        )
        if below is not None:
            query = query.where(ModelBundle.id < below)
        rows = session.execute(query.limit(_SCAN_BATCH)).all()
        for bundle_id, forms in rows:
            for name, content in reversed(list((forms or {}).items())):
                if (
                    name.lower().endswith(".form")
                    and isinstance(content, Mapping)
                    and content.get("id") == form_id
                ):
                    return bundle_id, name, content
        if len(rows) < _SCAN_BATCH:
            return None
        below = rows[-1][0]


def with_earlier_forms(session: Session, sources: Bundle) -> Bundle:
    """``sources`` with, before its own forms, the newest earlier ``.form`` file of each id
    its tasks name with the ``latest`` binding and none of its files has (named
    ``@<deploy id>/<name>``, as a called process's files are)."""
    missing = _latest_ids(sources.bpmn) - form_ids(sources.forms)
    earlier: dict[str, Any] = {}
    for form_id in sorted(missing):
        found = newest(session, form_id)
        if found is not None:
            bundle_id, name, content = found
            earlier[f"@{bundle_id}/{name}"] = content
    if not earlier:
        return sources
    return Bundle(bpmn=sources.bpmn, dmn=sources.dmn, forms={**earlier, **sources.forms})


def forms_when_opened(session: Session, form_id: str, forms: Mapping[str, Any]) -> dict[str, Any]:
    """The forms a task naming ``form_id`` with the ``latest`` binding opens with: the
    version's own ``forms`` with the newest deployed file of that id last (it wins)."""
    found = newest(session, form_id)
    if found is None:
        return dict(forms)
    _bundle_id, name, content = found
    return {**{k: v for k, v in forms.items() if k != name}, name: content}
