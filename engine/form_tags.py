"""Camunda Forms bound by version tag: the tags deployed forms carry and the form a task shows.

form-js (Camunda Modeler's form editor) writes a form's version tag as the JSON's top-level
``"versionTag": "v1"``; a Camunda 8 user task names it with ``<zeebe:formDefinition
formId="deal" bindingType="versionTag" versionTag="v1"/>``, meaning the newest deployed form of
that id carrying that tag. Such a binding was refused ("Dialflow keeps no version tags of a
form"). Each deploy's tagged ``.form`` files are kept as ``form_tags`` rows (``FormTag``, as
``DecisionTag`` keeps a decision's tag), and:

- at deploy, ``with_tagged_forms`` adds the newest earlier ``.form`` file of each id and tag the
  deploy's tasks name and none of its own files carries (named ``@<deploy id>/<name>``, as
  ``engine.latest_forms`` adds an earlier form), so the form's fields are checked as the
  deploy's own; a tag no deployed form of that id carries is refused on the task
  (``camunda_forms.task_problems``);
- when a task opens, ``forms_when_opened`` finds the newest such form among the deploys up to
  the task's own (deploy ids only grow): the form is fixed when the diagram is deployed, as a
  call activity's tagged version is, and a form deployed later with the same tag reaches only
  diagrams deployed after it.

A tagged ``.form`` file whose id or tag is longer than the columns keeping them (200
characters) is refused at deploy (``length_problems``): it was deployed untagged, and a task
naming its tag was then told no form carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import version_tags
from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.bundles import Bundle
from engine.camunda_forms import form_tag
from engine.errors import problem
from engine.models import FormTag, ModelBundle

MAX_ID = 200  # form_tags.form_id
_ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"


def own_tags(forms: Mapping[str, Any]) -> dict[str, str]:
    """Form id → version tag, for the tagged ``.form`` files among ``forms`` (the last file of
    an id wins, as ``camunda_forms.file_form`` reads them)."""
    found: dict[str, str] = {}
    for name, content in forms.items():
        tag = form_tag(content)
        form_id = content.get("id") if isinstance(content, Mapping) else None
        named = isinstance(form_id, str) and 0 < len(form_id) <= MAX_ID
        if name.lower().endswith(".form") and tag and named:
            found[form_id] = tag
    return found


def tag_rows(bundle_id: int, forms: Mapping[str, Any]) -> list[FormTag]:
    """The ``form_tags`` rows of a deploy's tagged ``.form`` files."""
    return [
        FormTag(bundle_id=bundle_id, form_id=form_id, version_tag=tag)
        for form_id, tag in own_tags(forms).items()
    ]


def tag_earlier(session: Session, bundle_id: int, forms: Mapping[str, Any]) -> None:
    """The version tags of ``forms`` given to the deploy ``bundle_id`` of the same files made
    before tags of forms were kept (revision 0022), which has none: a task bound by such a tag
    is refused with "deploy the .form file … first", and deploying the same files again
    (identical content, the deploy it already is) is how that is answered, as
    ``version_tags.tag_earlier`` does for processes and decisions."""
    rows = tag_rows(bundle_id, forms)
    if not rows:
        return
    have = set(session.scalars(select(FormTag.form_id).where(FormTag.bundle_id == bundle_id)))
    missing = [row for row in rows if row.form_id not in have]
    if not missing:
        return
    try:
        with session.begin_nested():
            session.add_all(missing)
            session.flush()
    except IntegrityError:
        pass  # the same files deployed again at this moment gave them


def length_problems(forms: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A ``.form`` file carrying a version tag whose id, or tag, is longer than
    ``form_tags`` keeps (200 characters), said on the file."""
    found: list[dict[str, Any]] = []
    for name, content in forms.items():
        if not name.lower().endswith(".form") or not isinstance(content, Mapping):
            continue
        tag, form_id = content.get("versionTag"), content.get("id")
        if not isinstance(tag, str) or not tag.strip() or not isinstance(form_id, str):
            continue
        said = f"{name}: the Camunda Form {form_id[:40]!r}{'…' if len(form_id) > 40 else ''}"
        if len(form_id) > MAX_ID:
            found.append(
                problem(
                    f"{said} carries a version tag, and its id is {len(form_id)} characters "
                    f"long; a form carrying a version tag may have an id of at most {MAX_ID}: "
                    "shorten it (and the formId of the tasks naming it)",
                    file=name,
                )
            )
        if len(tag.strip()) > version_tags.MAX_LENGTH:
            found.append(
                problem(
                    f'{said} carries a "versionTag" of {len(tag.strip())} characters; Dialflow '
                    f"keeps version tags of at most {version_tags.MAX_LENGTH}: shorten it",
                    file=name,
                )
            )
    return found


def tagged_forms(bpmn: Mapping[str, str]) -> set[tuple[str, str]]:
    """The (form id, tag) pairs the user tasks of ``bpmn`` name with the ``versionTag``
    binding."""
    found: set[tuple[str, str]] = set()
    for xml in bpmn.values():
        try:
            tree = etree.fromstring(xml.encode(), SAFE_XML)
        except (etree.XMLSyntaxError, ValueError):
            continue  # reported by validation
        for task in tree.iter(f"{{{BPMN_NS}}}userTask"):
            for extensions in task.iterfind(f"{{{BPMN_NS}}}extensionElements"):
                for definition in extensions.iterfind(f"{{{_ZEEBE_NS}}}formDefinition"):
                    tag = version_tags.zeebe_binding(definition)
                    form_id = (definition.get("formId") or "").strip()
                    if tag and form_id:
                        found.add((form_id, tag))
    return found


def newest(
    session: Session, form_id: str, tag: str, *, up_to: int | None = None
) -> tuple[int, str, Any] | None:
    """The deploy id, file name and content of the newest ``.form`` file of ``form_id``
    carrying ``tag`` (in the deploys up to ``up_to``), else ``None``."""
    query = select(FormTag.bundle_id).where(FormTag.form_id == form_id, FormTag.version_tag == tag)
    if up_to is not None:
        query = query.where(FormTag.bundle_id <= up_to)
    bundle_id = session.scalar(query.order_by(FormTag.bundle_id.desc()).limit(1))
    if bundle_id is None:
        return None
    forms = session.scalar(select(ModelBundle.forms).where(ModelBundle.id == bundle_id)) or {}
    for name, content in reversed(list(forms.items())):
        if (
            name.lower().endswith(".form")
            and isinstance(content, Mapping)
            and content.get("id") == form_id
            and form_tag(content) == tag
        ):
            return bundle_id, name, content
    return None


def with_tagged_forms(session: Session, sources: Bundle) -> Bundle:
    """``sources`` with, before its own forms, the newest deployed ``.form`` file of each id
    and tag its tasks name with the ``versionTag`` binding that none of its files carries."""
    own = own_tags(sources.forms)
    earlier: dict[str, Any] = {}
    for form_id, tag in sorted(tagged_forms(sources.bpmn)):
        if own.get(form_id) == tag:
            continue
        found = newest(session, form_id, tag)
        if found is not None:
            bundle_id, name, content = found
            earlier[f"@{bundle_id}/{name}"] = content
    if not earlier:
        return sources
    return Bundle(bpmn=sources.bpmn, dmn=sources.dmn, forms={**earlier, **sources.forms})


def forms_when_opened(
    session: Session, bundle_id: int, form_id: str, tag: str, forms: Mapping[str, Any]
) -> dict[str, Any]:
    """The forms a task naming ``form_id`` by ``tag`` opens with: its deploy's ``forms`` with
    the newest file of that id and tag deployed up to that deploy last (it wins)."""
    found = newest(session, form_id, tag, up_to=bundle_id)
    if found is None:
        return dict(forms)
    found_id, name, content = found
    key = name if found_id == bundle_id else f"@{found_id}/{name}"
    return {**{k: v for k, v in forms.items() if k != key}, key: content}
