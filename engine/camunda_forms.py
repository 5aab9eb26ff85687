"""Camunda Forms (form-js JSON) on Camunda 8 user tasks, as the task's JSON-Schema form.

Camunda Modeler gives a Camunda 8 user task its form in one of two ways: embedded, as
``<zeebe:userTaskForm id="UserTaskForm_1">{json}</zeebe:userTaskForm>`` in the process's
extension elements named by ``<zeebe:formDefinition formKey="camunda-forms:bpmn:UserTaskForm_1"/>``
on the task (older versions), or as a ``.form`` file deployed beside the diagram and named by
``<zeebe:formDefinition formId="call-result"/>`` (the file's own ``id``). Both were refused
with "Dialflow shows JSON-Schema forms". Here the form becomes the JSON-Schema form a process
owner would have written, as ``engine.diagram_forms`` does for Camunda 7's ``formData``:
titles from labels (Chinese ones as written), ``required``, choices as ``oneOf`` of
``{"const", "title"}``, limits, patterns, defaults, dates, read-only fields, a group's
``path`` and a dynamic list as nested data. An embedded form is converted when the parser
builds the task (``read``); a ``.form`` file when the work item opens (``file_form``, through
``diagram_forms.form_of``), since the parser does not see the deploy's forms.

What a JSON Schema cannot say (options from a variable or FEEL, ``conditional.hide``, FEEL in
a label or a limit, a file picker, a computed ``expression`` field, a phone check) is refused
on the form's element, on the line of the field in an embedded form (``problems``, from
``foreign.py``); a ``.form`` file's refusals and a ``formId`` no file of the deploy has (nor,
with the ``latest`` binding, an earlier deploy: ``engine.latest_forms``) are said on the task
(``task_problems``, from ``checks.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from dialflow.strict_json import loads_strict
from engine import form_conditions
from engine.bpmn_xml import BPMN_NS
from engine.errors import problem
from engine.version_bindings import binding_refusal
from engine.version_tags import MAX_LENGTH as MAX_TAG_LENGTH
from engine.version_tags import zeebe_binding

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
EMBEDDED_PREFIX = "camunda-forms:bpmn:"
CAMUNDA_FORM_ID = "camundaFormId"  # the key of a .form file's id in a task spec's extensions
CAMUNDA_FORM_LINE = "camundaFormLine"  # and of the line of the <zeebe:formDefinition> naming it
CAMUNDA_FORM_SAID = "camundaFormSaid"  # how the task names it, when not by <zeebe:formDefinition>
CAMUNDA_FORM_BINDING = "camundaFormBinding"  # "latest", "deployment" or "versionTag"
CAMUNDA_FORM_TAG = "camundaFormTag"  # the tag of the "versionTag" binding (engine.form_tags)
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
# Camunda 7's attributes naming a user task's Camunda Form (``camunda:formRef``).
FORM_REF_ATTRIBUTES = ("formRef", "formRefBinding", "formRefVersion")
_BINDINGS = ("latest", "deployment")
# form-js components that show something and hold no data
_SHOWN_ONLY = {
    "text",
    "html",
    "spacer",
    "separator",
    "image",
    "button",
    "iframe",
    "table",
    "documentPreview",
}
_CHOICES = {"radio", "select", "checklist", "taglist"}
_INPUTS = {"textfield", "textarea", "number", "checkbox", "datetime", *_CHOICES}
_TIME = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"


class _Refused(Exception):
    def __init__(self, component: Mapping[str, Any], message: str) -> None:
        super().__init__(message)
        self.component = component
        self.message = message


# -- the form as a JSON Schema ----------------------------------------------------------------


def convert(form: Any) -> tuple[dict[str, Any], list[tuple[Mapping[str, Any], str]]]:
    """The form-js ``form`` as a JSON Schema, and ``(component, sentence)`` for each part of
    it that has none (the schema is not to be used then)."""
    refused: list[tuple[Mapping[str, Any], str]] = []
    root: dict[str, Any] = {"$schema": DRAFT, "type": "object", "properties": {}}
    components = form.get("components") if isinstance(form, Mapping) else None
    if not isinstance(components, list):
        return root, [({}, 'it holds no "components" list, as every Camunda Form has')]
    _place_all(components, root, refused)
    if not root["properties"] and not refused:
        refused.append(({}, "it has no field that takes a value; add one or remove the form"))
    _shown_objects(root)
    for prop in root["properties"].values():
        _object_default(prop)
    return _tidy(root), refused


def _object_default(schema: dict[str, Any]) -> Any:
    """An object's ``default`` from its fields' defaults (``quote.amount`` defaulting to 9800
    gives ``quote`` ``{"amount": 9800}``, filled in when the completion leaves it out, as
    form-js submits it), when its required fields all have one; the default, if any."""
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        return schema.get("default")
    values = {
        name: value
        for name, prop in schema["properties"].items()
        if (value := _object_default(prop)) is not None
    }
    if not values or schema.get("readOnly") or set(schema.get("required", [])) - set(values):
        return None
    schema["default"] = values
    return values


def _shown_objects(schema: dict[str, Any]) -> bool:
    """Mark ``"readOnly"`` the objects (a group's ``path``, ``deal.title`` keys) whose fields
    are all read-only, so the task shows them and keeps the instance's value (a completion
    leaves out a field it does not take, and the instance's ``deal`` would become null);
    whether ``schema`` itself is shown only."""
    properties = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
        return schema.get("readOnly") is True
    shown = [_shown_objects(prop) for prop in properties.values()]
    if all(shown) and schema.get("$schema") is None:
        schema["readOnly"] = True
    return all(shown)


def _place_all(
    components: list[Any],
    target: dict[str, Any],
    refused: list[tuple[Mapping[str, Any], str]],
) -> None:
    for component in components:
        if not isinstance(component, Mapping):
            refused.append(({}, "a component is no JSON object"))
            continue
        try:
            _place_component(component, target, refused)
        except _Refused as refusal:
            refused.append((refusal.component, refusal.message))


def _place_component(
    component: Mapping[str, Any],
    target: dict[str, Any],
    refused: list[tuple[Mapping[str, Any], str]],
) -> None:
    kind = str(component.get("type") or "")
    name = _named(component)
    if kind not in _INPUTS:
        _no_condition(component, name)
    if kind in _SHOWN_ONLY:
        return
    if kind == "group":
        path = _path(component, "path", required=False)
        children = _children(component)
        if not path:  # a group without a path only draws a frame: its fields are the form's
            _place_all(children, target, refused)
            return
        group = _object_at(target, path, component)
        _place_all(children, group, refused)
        if group.get("required"):  # a required field inside: the group's object is required
            _require(target, path)
        _described(component, group)
        return
    if kind == "dynamiclist":
        path = _path(component, "path", required=True)
        item: dict[str, Any] = {"type": "object", "properties": {}}
        _place_all(_children(component), item, refused)
        prop: dict[str, Any] = {"type": "array", "items": _tidy(item)}
        _put(target, path, _described(component, prop), False, component)
        return
    if kind == "expression":
        raise _Refused(
            component,
            f"{name} computes its value with FEEL ({component.get('expression')!r}), which "
            "Dialflow does not evaluate in a form; compute it in a script task after the task",
        )
    if kind == "filepicker":
        raise _Refused(
            component,
            f"{name} takes a file; Dialflow's task forms take data, not files: remove it and "
            "attach files to the customer's record",
        )
    if kind not in _INPUTS:
        raise _Refused(
            component,
            f"{name} is a form-js {kind or 'component without a type'!r} component Dialflow "
            "has no field for; use textfield, textarea, number, checkbox, checklist, radio, "
            "select, taglist, datetime, group or dynamiclist",
        )
    key = _path(component, "key", required=True)
    prop, required = _field(component, kind, name)
    rule = _hide_rule(component, name)
    if rule is not None:  # shown and asked for only while the condition does not hold
        prop[form_conditions.HIDE] = rule
    _put(target, key, _described(component, prop), required, component)


def _children(component: Mapping[str, Any]) -> list[Any]:
    """The components of a group or dynamic list."""
    children = component.get("components")
    if children is None:
        return []
    if not isinstance(children, list):
        raise _Refused(component, f'{_named(component)} has "components" that are no list')
    return children


def _field(component: Mapping[str, Any], kind: str, name: str) -> tuple[dict[str, Any], bool]:
    """A component that takes a value: its schema and whether it is required."""
    validate = component.get("validate") or {}
    if not isinstance(validate, Mapping):
        raise _Refused(component, f"{name} has a validate that is no JSON object")
    for rule, value in validate.items():
        if isinstance(value, str) and value.startswith("=") and rule != "pattern":
            raise _Refused(
                component,
                f"{name} has validate.{rule} {value!r}, a FEEL expression Dialflow does not "
                "evaluate; write the value itself",
            )
    required = validate.get("required") is True
    prop: dict[str, Any]
    if kind in ("textfield", "textarea"):
        prop = {"type": "string"}
        if kind == "textarea":
            prop["x-widget"] = "textarea"
        for rule, keyword in (("minLength", "minLength"), ("maxLength", "maxLength")):
            if validate.get(rule) is not None:
                prop[keyword] = _limit(component, name, rule, validate[rule], whole=True)
        if validate.get("pattern"):
            prop["pattern"] = _pattern(component, name, validate["pattern"])
        kind_of_check = validate.get("validationType") or ""
        if kind_of_check == "email":
            prop["format"] = "email"
        elif kind_of_check == "phone":
            raise _Refused(
                component,
                f'{name} is checked as a phone number (validationType "phone"), a rule of '
                "form-js Dialflow does not have; write the check as validate.pattern (such as "
                '"^\\\\+?[0-9 -]{6,20}$")',
            )
        elif kind_of_check not in ("", "custom"):
            raise _Refused(component, f"{name} has the unknown validationType {kind_of_check!r}")
    elif kind == "number":
        if component.get("serializeToString") is True:
            raise _Refused(
                component,
                f"{name} keeps its number as text (serializeToString); Dialflow keeps a "
                "number field's value as a number: remove serializeToString",
            )
        prop = {"type": "integer" if component.get("decimalDigits") == 0 else "number"}
        for rule, keyword in (("min", "minimum"), ("max", "maximum")):
            if validate.get(rule) is not None:
                prop[keyword] = _limit(component, name, rule, validate[rule], whole=False)
    elif kind == "checkbox":
        prop = {"type": "boolean"}
        if required:
            prop["const"] = True  # form-js: a required checkbox is one that is checked
    elif kind == "datetime":
        prop = _date_time(component, name)
    else:
        choices = _values(component, name)
        if kind in ("checklist", "taglist"):
            prop = {"type": "array", "items": {"oneOf": choices}, "uniqueItems": True}
            if required:
                prop["minItems"] = 1
        else:
            prop = {"type": _choice_type(choices), "oneOf": choices}
    if "defaultValue" in component:
        prop["default"] = _default(component, name, prop, component["defaultValue"])
    shown = _flag(component, name, "readonly") or _flag(component, name, "disabled")
    if shown:
        prop["readOnly"] = True
    return prop, required and not shown


def _date_time(component: Mapping[str, Any], name: str) -> dict[str, Any]:
    subtype = component.get("subtype") or "date"
    if component.get("disallowPassedDates") is True:
        raise _Refused(
            component,
            f"{name} refuses past dates (disallowPassedDates), which a form schema cannot "
            "check against the day it is filled in; remove it and check the date in a "
            "script task after the task",
        )
    if subtype == "date":
        return {"type": "string", "format": "date"}
    if subtype == "datetime":
        return {"type": "string", "format": "date-time"}
    if subtype == "time":
        return {"type": "string", "pattern": _TIME}
    raise _Refused(component, f"{name} has the unknown datetime subtype {subtype!r}")


def _values(component: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The static ``values`` of a choice as ``oneOf`` items."""
    for source in ("valuesKey", "valuesExpression"):
        if component.get(source):
            return _no_dynamic_values(component, name, source)
    values = component.get("values")
    if not isinstance(values, list) or not values:
        raise _Refused(
            component,
            f'{name} lists no values; list each choice in "values" as '
            '{"label": "…", "value": "…"}',
        )
    choices: list[dict[str, Any]] = []
    for entry in values:
        value = entry.get("value") if isinstance(entry, Mapping) else None
        if not isinstance(value, str | int | float | bool) or value == "":
            raise _Refused(
                component,
                f'{name} has a choice without a value; write each as {{"label": "…", '
                '"value": "…"}',
            )
        if any(choice["const"] == value for choice in choices):
            raise _Refused(component, f"{name} lists the value {value!r} twice; list each once")
        label = entry.get("label")
        choices.append({"const": value, "title": str(label) if label else str(value)})
    return choices


def _no_dynamic_values(component: Mapping[str, Any], name: str, source: str) -> Any:
    said = component.get(source)
    where = f"the variable {said!r}" if source == "valuesKey" else f"the FEEL expression {said!r}"
    raise _Refused(
        component,
        f"{name} takes its choices from {where} when the task opens ({source}); a Dialflow "
        'form lists its choices itself: write them in "values" (or a decision table sets '
        "the value in a business rule task instead)",
    )


def _choice_type(choices: list[dict[str, Any]]) -> str | list[str]:
    kinds = {
        "boolean"
        if isinstance(c["const"], bool)
        else "number"
        if isinstance(c["const"], int | float)
        else "string"
        for c in choices
    }
    return kinds.pop() if len(kinds) == 1 else sorted(kinds)


def _default(component: Mapping[str, Any], name: str, prop: dict[str, Any], value: Any) -> Any:
    if isinstance(value, str) and value.startswith("="):
        raise _Refused(
            component,
            f"{name} has the default {value!r}, a FEEL expression Dialflow does not evaluate "
            "in a form; write the value itself, or leave the default out",
        )
    if prop.get("type") in ("integer", "number") and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _Refused(
                component, f"{name} has the default {value!r}, which is not a number"
            ) from None
        if not math.isfinite(number):
            raise _Refused(component, f"{name} has the default {value!r}, which is not a number")
        return int(number) if number.is_integer() else number
    return value  # checked against its own field as any form's default (engine.form_checks)


def _limit(component: Mapping[str, Any], name: str, rule: str, value: Any, *, whole: bool) -> Any:
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if (
        isinstance(number, bool)
        or not isinstance(number, int | float)
        or not math.isfinite(number)
        or (whole and (number < 0 or not float(number).is_integer()))
    ):
        wanted = "a length of 0 or more" if whole else "a number"
        raise _Refused(component, f"{name} has validate.{rule} {value!r}, which is not {wanted}")
    return int(number) if whole or float(number).is_integer() else number


def _pattern(component: Mapping[str, Any], name: str, pattern: Any) -> str:
    if not isinstance(pattern, str):
        raise _Refused(component, f"{name} has a validate.pattern that is no text")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _Refused(
            component,
            f"{name} has validate.pattern {pattern!r}, which is no regular "
            f"expression Dialflow can check ({exc})",
        ) from None
    return pattern


def _flag(component: Mapping[str, Any], name: str, attribute: str) -> bool:
    value = component.get(attribute)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise _Refused(
        component,
        f"{name} is {attribute} by {value!r}, a FEEL expression Dialflow does not evaluate; "
        f"write {attribute}: true or false",
    )


def _hide_rule(component: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The ``x-hide-if`` of an input field hidden by a simple condition (``None``: none)."""
    conditional = component.get("conditional")
    hide = conditional.get("hide") if isinstance(conditional, Mapping) else conditional
    if not hide:
        return None
    rule = form_conditions.parse(hide) if isinstance(hide, str) else None
    if rule is None:
        raise _Refused(
            component,
            f"{name} is hidden by the FEEL condition {hide!r} (conditional.hide), which "
            "Dialflow does not evaluate in a form: write it as comparisons of a field with a "
            'text, number, true, false or null (=status = "lost"), joined by and or by or; '
            "or draw a gateway before two user tasks with a form each",
        )
    return rule


def _no_condition(component: Mapping[str, Any], name: str) -> None:
    conditional = component.get("conditional")
    hide = conditional.get("hide") if isinstance(conditional, Mapping) else conditional
    if hide:
        raise _Refused(
            component,
            f"{name} is hidden by the FEEL condition {hide!r} (conditional.hide); Dialflow "
            "hides input fields only, not a group, list or text: put the condition on each "
            "field inside it, or remove it",
        )


def _described(component: Mapping[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """``prop`` with the component's label (``dateLabel`` of a date) and description (a
    group's object gets them in place, first, if it has none of its own)."""
    label = component.get("label") or component.get("dateLabel") or component.get("timeLabel")
    said: dict[str, Any] = {}
    for keyword, text in (("title", label), ("description", component.get("description"))):
        if text is None or text == "":
            continue
        if not isinstance(text, str):
            raise _Refused(component, f"{_named(component)} has a {keyword} that is no text")
        if text.startswith("="):
            raise _Refused(
                component,
                f"{_named(component)} has a {keyword.replace('title', 'label')} computed by "
                f"FEEL ({text!r}); write the text itself",
            )
        said[keyword] = text
    if prop.get("type") == "object":
        merged = {**said, **prop}
        prop.clear()
        prop.update(merged)
        return prop
    return {**said, **prop}


def _named(component: Mapping[str, Any]) -> str:
    kind = component.get("type") or "component"
    key = component.get("key") or component.get("path") or component.get("id")
    label = component.get("label")
    shown = f" ({label})" if isinstance(label, str) and label and not label.startswith("=") else ""
    return f"{kind} {key!r}{shown}" if key else f"a {kind}{shown}"


def _path(component: Mapping[str, Any], attribute: str, *, required: bool) -> list[str]:
    value = component.get(attribute)
    if value is None or value == "":
        if required:
            raise _Refused(
                component,
                f"{_named(component)} has no {attribute}; give it the variable to keep its "
                "value under",
            )
        return []
    if not isinstance(value, str) or any(not part.strip() for part in value.split(".")):
        raise _Refused(component, f"{_named(component)} has the {attribute} {value!r}, no name")
    return value.split(".")


def _object_at(target: dict[str, Any], path: list[str], component: Mapping[str, Any]) -> Any:
    """The object schema at ``path`` under ``target``, made as needed."""
    for part in path:
        properties = target["properties"]
        found = properties.setdefault(part, {"type": "object", "properties": {}})
        if found.get("type") != "object" or "properties" not in found:
            raise _Refused(
                component,
                f"{_named(component)} keeps its data under {'.'.join(path)!r}, but {part!r} is "
                "another field's value; give one of them another key",
            )
        target = found
    return target


def _put(
    target: dict[str, Any],
    path: list[str],
    prop: dict[str, Any],
    required: bool,
    component: Mapping[str, Any],
) -> None:
    owner = _object_at(target, path[:-1], component)
    if path[-1] in owner["properties"]:
        raise _Refused(
            component,
            f"{_named(component)}: the key {'.'.join(path)!r} is used by another field too; "
            "the data keeps one value per key, so give each field its own",
        )
    owner["properties"][path[-1]] = prop
    if required:
        owner.setdefault("required", []).append(path[-1])
        if path[:-1]:
            _require(target, path[:-1])


def _require(target: dict[str, Any], path: list[str]) -> None:
    """A required field inside a group's path: the group's object is required too."""
    for part in path:
        if part not in target.setdefault("required", []):
            target["required"].append(part)
        target = target["properties"][part]


def _tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """``required`` after ``properties``, as a process owner writes it; none when empty."""
    required = schema.pop("required", None)
    if required:
        schema["required"] = required
    return schema


# -- the form of a user task ------------------------------------------------------------------


def definition(task: Any) -> Any | None:
    """The ``<zeebe:formDefinition>`` in ``task``'s extension elements, if any."""
    for extensions in task.iterfind(f"{{{BPMN_NS}}}extensionElements"):
        found = extensions.find(f"{{{ZEEBE_NS}}}formDefinition")
        if found is not None:
            return found
    return None


def embedded_form(element: Any) -> Any | None:
    """The ``<zeebe:userTaskForm>`` a ``formKey="camunda-forms:bpmn:…"`` names, if any."""
    key = (element.get("formKey") or "").strip()
    if not key.startswith(EMBEDDED_PREFIX):
        return None
    wanted = key[len(EMBEDDED_PREFIX) :]
    for form in element.getroottree().iter(f"{{{ZEEBE_NS}}}userTaskForm"):
        if form.get("id") == wanted:
            return form
    return None


def read(task: Any) -> dict[str, Any] | None:
    """For the parser, the task spec's extensions for its Camunda Form: the JSON Schema of an
    embedded form that converts (``diagramForm``, as ``engine.diagram_forms`` keeps a drawn
    form), or the id of the ``.form`` file it names and the line naming it; else ``None``."""
    form_ref = (task.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip()
    if form_ref and form_ref_problem(task) is None:  # Camunda 7's camunda:formRef
        return {
            CAMUNDA_FORM_ID: form_ref,
            CAMUNDA_FORM_LINE: task.sourceline,
            CAMUNDA_FORM_SAID: f"camunda:formRef={form_ref!r}",
            CAMUNDA_FORM_BINDING: (task.get(f"{{{CAMUNDA_NS}}}formRefBinding") or "latest").strip(),
        }
    found = definition(task)
    if found is None or _definition_problem(found) is not None:
        return None
    form_id = (found.get("formId") or "").strip()
    if form_id:
        tag = zeebe_binding(found) or ""  # whole: a longer tag than is kept finds no form
        return {
            CAMUNDA_FORM_ID: form_id,
            CAMUNDA_FORM_LINE: found.sourceline,
            CAMUNDA_FORM_BINDING: (found.get("bindingType") or "latest").strip(),
            **({CAMUNDA_FORM_TAG: tag} if tag else {}),
        }
    form = embedded_form(found)
    if form is None:
        return None
    try:
        schema, refused = convert(loads_strict(form.text or ""))
    except (ValueError, RecursionError):
        return None
    return None if refused else {"diagramForm": schema}  # diagram_forms.DIAGRAM_FORM


def file_form(form_id: str, forms: Mapping[str, Any]) -> tuple[str | None, Any]:
    """The ``.form`` file of ``forms`` whose ``id`` is ``form_id``: its name and content
    (the deploy's own files come after an earlier deploy's, so the last one wins)."""
    for name, content in reversed(list(forms.items())):
        if (
            name.lower().endswith(".form")
            and isinstance(content, Mapping)
            and content.get("id") == form_id
        ):
            return name, content
    return None, None


def bound_forms(extensions: Mapping[str, Any], forms: Mapping[str, Any]) -> Mapping[str, Any]:
    """The forms a task's binding lets it name: with ``deployment``, not the earlier deploys'
    files added for ``latest`` bindings (``engine.latest_forms``, named ``@<deploy id>/…``);
    with ``versionTag``, only the ``.form`` files carrying the tag (``engine.form_tags``)."""
    tag = extensions.get(CAMUNDA_FORM_TAG)
    if extensions.get(CAMUNDA_FORM_BINDING) == "versionTag" and tag:
        return {
            name: content
            for name, content in forms.items()
            if not name.lower().endswith(".form")
            or (isinstance(content, Mapping) and form_tag(content) == tag)
        }
    if extensions.get(CAMUNDA_FORM_BINDING) != "deployment":
        return forms
    return {name: content for name, content in forms.items() if not name.startswith("@")}


def form_of_file(form_id: str, forms: Mapping[str, Any]) -> tuple[str | None, Any]:
    """The work item's form name and JSON Schema for a task naming the ``.form`` file
    ``form_id`` (``None`` for the schema when it is missing or does not convert)."""
    name, content = file_form(form_id, forms)
    if content is None:
        return None, None
    schema, refused = convert(content)
    return name, None if refused else schema


def task_problems(spec: Any, forms: Mapping[str, Any]) -> list[str] | None:
    """What keeps the ``.form`` file a task names from being its form (``None`` when the task
    names none): no file of the deploy has its id, or a field has no JSON Schema."""
    form_id = (spec.extensions or {}).get(CAMUNDA_FORM_ID)
    if not form_id:
        return None
    forms = bound_forms(spec.extensions, forms)
    name, content = file_form(form_id, forms)
    tag = (spec.extensions or {}).get(CAMUNDA_FORM_TAG)
    if content is None and tag:
        return [
            f'<zeebe:formDefinition formId={form_id!r} bindingType="versionTag">: no '
            f"deployed form of id {form_id!r} carries version tag {tag!r}: deploy the "
            f'.form file whose JSON says "versionTag": {tag!r} first (or with the diagram), '
            "or correct the tag"
        ]
    if content is None:
        have = sorted(
            f"{n!r} (id {c.get('id')!r})"
            for n, c in forms.items()
            if n.lower().endswith(".form") and isinstance(c, Mapping)
        )
        named = (spec.extensions or {}).get(CAMUNDA_FORM_SAID) or (
            f"<zeebe:formDefinition formId={form_id!r}>"
        )
        latest = (spec.extensions or {}).get(CAMUNDA_FORM_BINDING, "latest") != "deployment"
        return [
            f"{named} names a Camunda Form no .form file of the deploy has"
            + (", nor any deployed before" if latest else "")
            + ' (its "id" is the one named); deploy the .form file with the diagram'
            + (f" (the deploy has {', '.join(have)})" if have else "")
        ]
    _schema, refused = convert(content)
    return [f"Camunda Form {name!r}: {said}" for _component, said in refused]


def problems(name: str, element: Any) -> list[dict[str, Any]] | None:
    """For ``foreign.py``: the problems of a ``<zeebe:formDefinition>`` on a user task or of a
    ``<zeebe:userTaskForm>`` (an empty list when it converts), ``None`` for another element
    (or a form setting left to the general refusal and its hint)."""
    qname = etree.QName(element)
    if qname.namespace != ZEEBE_NS:
        return None
    if qname.localname == "userTaskForm":
        return _embedded_problems(name, element)
    if qname.localname != "formDefinition":
        return None
    task = _flow_node(element)
    if task is None or task.tag != f"{{{BPMN_NS}}}userTask":
        return None
    said = _definition_problem(element)
    if said is None and _other_form(task):
        said = (
            f"userTask {task.get('id')!r} has both a Camunda Form and {_other_form(task)}; a "
            "task shows one form: keep one of them"
        )
    if said is None and not element.get("formId") and embedded_form(element) is None:
        key = element.get("formKey") or ""
        if not key.startswith(EMBEDDED_PREFIX):
            return None  # an external form: refused with zeebe_hints' words
        said = (
            f"formKey {key!r} names the embedded form {key[len(EMBEDDED_PREFIX) :]!r}, and no "
            "<zeebe:userTaskForm> of the file has that id; add the form to the process's "
            "extensionElements, or deploy it as a .form file named by formId"
        )
    if said is None:
        return []
    return [
        problem(
            f"{name}: <{element.prefix or 'zeebe'}:formDefinition> on userTask "
            f"{task.get('id')!r}: {said}",
            element_id=task.get("id"),
            line=element.sourceline,
            file=name,
        )
    ]


def form_ref_problem(task: Any) -> str | None:
    """Why a Camunda 7 user task's ``camunda:formRef`` cannot be its form (``None``: it is,
    the ``.form`` file of that ``id`` deployed with it or before, ``task_problems`` checking
    it is there): Camunda 7 reads ``latest`` and ``deployment`` bindings as Dialflow reads a
    deploy's forms; a ``version`` binding, a form chosen by an expression or a second form
    cannot be shown as drawn."""
    form_ref = (task.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip()
    binding = (task.get(f"{{{CAMUNDA_NS}}}formRefBinding") or "latest").strip()
    if task.tag != f"{{{BPMN_NS}}}userTask":
        return None  # a start event's form: refused with diagram_forms' words
    if not form_ref:
        return "camunda:formRef names no form: name the id of a deployed .form file"
    if "${" in form_ref or "#{" in form_ref:
        return (
            f"camunda:formRef={form_ref!r} chooses the form by an expression when the task "
            "runs; name one .form file's id"
        )
    if binding == "version":
        return (
            "Dialflow keeps no form versions: a task shows the .form file deployed with its "
            'diagram, else the latest one deployed; write camunda:formRefBinding="latest" or '
            '"deployment" and remove camunda:formRefVersion'
        )
    if binding not in _BINDINGS:
        return f'camunda:formRefBinding is "latest", "deployment" or "version", not {binding!r}'
    other = task.get(f"{{{CAMUNDA_NS}}}formKey") or _other_form(task)
    if other:
        return (
            f"userTask {task.get('id')!r} names a Camunda Form by camunda:formRef and also "
            f"{other!r}; a task shows one form: keep one of them"
        )
    return None


def form_ref_passes(local: str, task: Any) -> bool | str:
    """For ``foreign.py``: ``True`` when the Camunda 7 form attribute ``local`` of ``task``
    is read as drawn, the problem to say on ``formRef`` when it cannot be, ``False`` for an
    attribute this module does not read (or one said with ``formRef``'s problem)."""
    if local not in FORM_REF_ATTRIBUTES or task.tag != f"{{{BPMN_NS}}}userTask":
        return False
    has_ref = task.get(f"{{{CAMUNDA_NS}}}formRef") is not None
    said = form_ref_problem(task) if has_ref else "camunda:formRef is missing"
    if said is None:
        return True
    if local == "formRef" or not has_ref:
        return said
    return True  # said once, on formRef


def _flow_node(element: Any) -> Any:
    """The BPMN element whose extensionElements hold ``element``, if any."""
    extensions = element.getparent()
    return extensions.getparent() if extensions is not None else None


def form_tag(content: Any) -> str | None:
    """A ``.form`` file's version tag (form-js's top-level ``"versionTag"``), else ``None``."""
    tag = content.get("versionTag") if isinstance(content, Mapping) else None
    return (tag.strip()[:MAX_TAG_LENGTH] or None) if isinstance(tag, str) else None


def _definition_problem(element: Any) -> str | None:
    binding = (element.get("bindingType") or "latest").strip()
    if binding not in _BINDINGS and zeebe_binding(element) is None:
        return binding_refusal(
            element,
            "form",
            (element.get("formId") or "").strip(),
            'bindingType="deployment" shows the form deployed with this diagram (deploy the '
            "tagged .form file with it), without a binding the latest one deployed",
        )
    form_id = (element.get("formId") or "").strip()
    if form_id and element.get("formKey"):
        return "it names a form twice (formId and formKey); keep one"
    if form_id.startswith("="):
        return "a form chosen by FEEL when the task runs; name one form's id in formId"
    if element.get("externalReference"):
        return None  # refused with zeebe_hints' words
    return None


def _other_form(task: Any) -> str | None:
    from engine.diagram_forms import form_elements  # imported here: it imports this module

    for prop in task.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == "formJsonSchemaFilename" and (prop.get("value") or "").strip():
            return f"formJsonSchemaFilename {prop.get('value').strip()!r}"
    drawn = form_elements(task)
    return f"<{drawn[0].prefix}:{etree.QName(drawn[0]).localname}>" if drawn else None


def _embedded_problems(name: str, form: Any) -> list[dict[str, Any]]:
    text = form.text or ""
    users = [
        owner
        for found in form.getroottree().iter(f"{{{ZEEBE_NS}}}formDefinition")
        if embedded_form(found) is form and (owner := _flow_node(found)) is not None
    ]
    owner = users[0] if users else _flow_node(form)
    element_id = owner.get("id") if owner is not None else None
    label = f"<{form.prefix or 'zeebe'}:userTaskForm> {form.get('id')!r}"
    try:
        content = loads_strict(text)
    except (ValueError, RecursionError) as exc:
        return [
            problem(
                f"{name}: {label} is no JSON: {getattr(exc, 'msg', exc)}",
                element_id=element_id,
                line=form.sourceline + text.count("\n", 0, getattr(exc, "pos", 0)),
                file=name,
            )
        ]
    _schema, refused = convert(content)
    return [
        problem(
            f"{name}: {label}: {said}",
            element_id=element_id,
            line=form.sourceline + _lines_before(text, component),
            file=name,
        )
        for component, said in refused
    ]


def _lines_before(text: str, component: Mapping[str, Any]) -> int:
    """The lines of ``text`` before the component (found by its key, else its id)."""
    for attribute in ("key", "path", "id"):
        value = component.get(attribute)
        if isinstance(value, str) and value:
            found = re.search(rf'"{attribute}"\s*:\s*{re.escape(json.dumps(value))}', text)
            if found:
                return text.count("\n", 0, found.start())
    return 0


def file_problem(name: str, content: Any) -> str | None:
    """Why the ``.form`` file ``name`` is no Camunda Form, if it is not."""
    if not isinstance(content, Mapping) or not isinstance(content.get("components"), list):
        return (
            f'{name}: a .form file is a Camunda Form, whose JSON holds a "components" list; '
            "this one does not (a JSON-Schema form is deployed as a .json file)"
        )
    if not isinstance(content.get("id"), str) or not content["id"].strip():
        return (
            f'{name}: the Camunda Form has no "id"; a user task names it by that id '
            '(<zeebe:formDefinition formId="…"/>): give it one'
        )
    return None


def duplicate_ids(forms: Mapping[str, Any]) -> list[str]:
    """One sentence per form id two ``.form`` files of one deploy share."""
    seen: dict[str, str] = {}
    found = []
    for name, content in forms.items():
        if not name.lower().endswith(".form") or not isinstance(content, Mapping):
            continue
        form_id = content.get("id")
        if isinstance(form_id, str) and form_id in seen:
            found.append(
                f"{name}: the Camunda Form id {form_id!r} is also {seen[form_id]!r}'s; a task "
                "names its form by id, so give each form its own"
            )
        elif isinstance(form_id, str):
            seen[form_id] = name
    return found
