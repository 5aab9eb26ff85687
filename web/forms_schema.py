"""HTML forms from a task's JSON Schema, and the submitted form back into typed JSON data.

Widgets, chosen per property:

| schema | widget |
|---|---|
| ``enum`` (labels from ``enumNames``) or ``oneOf`` of ``{"const", "title"}`` | ``<select>`` |
| ``"type": "boolean"`` | checkbox (unchecked submits ``false``) |
| ``"type": "integer"`` / ``"number"`` | ``<input type=number>`` with ``min``/``max``/``step`` |
| string, ``"format": "date-time"`` | ``<input type=datetime-local>``, sent as ISO 8601 |
| string, ``"format": "date"`` | ``<input type=date>`` (``YYYY-MM-DD``) |
| string, ``"format": "email"`` | ``<input type=email>`` |
| string with ``"x-widget": "textarea"`` or ``maxLength`` > 200 | ``<textarea>`` |
| other strings | ``<input type=text>`` with ``minlength``/``maxlength``/``pattern`` |
| ``array`` whose ``items`` are choices (``enum`` or ``oneOf`` consts) | a checkbox per choice |
| ``object`` with ``properties`` (a Camunda Form group) | a ``<fieldset>`` of its own fields |
| ``object`` without ``properties`` / other ``array`` | a JSON ``<textarea>`` |

An object's fields nest to any depth; a nested field's input is named by its JSON Pointer
(``field:/contact/phone``), a top-level field's by its name, and the submission is read back
into the nested object, each object sent when one of its fields has a value (or it is
required), so the schema's messages land beside the nested input they are about.

A field marked ``"readOnly": true`` is shown disabled with the instance's value (else its
default) and never sent: completing the task does not take it (``engine.forms``). Every
other field starts with the instance's value of its name too, else its default, as
Camunda's Tasklist fills a form from the process variables (``engine.forms.form_values``:
the form's own fields only, never one marked ``"writeOnly": true``).

A title written in both languages, ``"Outcome / 结果"`` (English, a slash, Chinese), shows
the part of the user's language; the shipped forms use this.

Date-times typed are read in the team's time zone. The browser checks what HTML attributes
express; the server validates again with the schema itself (``engine.forms``) and the
messages are shown beside their fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_locale
from flask_babel import gettext as _

from engine.form_conditions import HIDE

TEXTAREA_FROM_LENGTH = 200
BILINGUAL_SEPARATOR = " / "
PREFIX = "field:"  # keeps schema property names apart from csrf_token and friends


@dataclass
class FormField:
    name: str
    label: str
    # text, email, textarea, number, date, datetime, select, checkbox, choices, json, group
    widget: str
    required: bool
    input_name: str
    input_id: str
    attrs: dict[str, Any] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    checked: bool = False
    selected: list[str] = field(default_factory=list)  # the choices ticked (``choices``)
    description: str | None = None
    error: str | None = None
    hide_if: str | None = None  # JSON of the field's ``x-hide-if`` (``engine.form_conditions``)
    children: list[FormField] = field(default_factory=list)  # a group's own fields

    @property
    def flagged(self) -> bool:
        """Whether this field or one inside it has an error to show."""
        return bool(self.error) or any(child.flagged for child in self.children)

    @property
    def conditional(self) -> bool:
        """Whether this field or one inside it is hidden by a condition (the page then runs
        ``static/task/form_conditions.js``)."""
        return bool(self.hide_if) or any(child.conditional for child in self.children)


@dataclass
class Submission:
    data: dict[str, Any]
    errors: dict[str, str]


def properties(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not schema or not isinstance(schema.get("properties"), Mapping):
        return {}
    return {str(k): v for k, v in schema["properties"].items() if isinstance(v, Mapping)}


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def bilingual(text: str) -> str:
    """``"Outcome / 结果"`` → ``结果`` for Chinese users, ``Outcome`` for the others; any
    other text is returned as it is."""
    parts = text.split(BILINGUAL_SEPARATOR)
    if len(parts) != 2 or _has_cjk(parts[0]) or not _has_cjk(parts[1]):
        return text
    locale = get_locale()
    chinese = locale is not None and locale.language == "zh"
    return parts[1].strip() if chinese else parts[0].strip()


def build_fields(
    schema: Mapping[str, Any] | None,
    *,
    submitted: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    tz: ZoneInfo,
    values: Mapping[str, Any] | None = None,
) -> list[FormField]:
    """The fields to render; ``submitted`` (the raw form) keeps what the user typed;
    ``values`` (the instance's values of the form's fields, ``engine.forms.form_values``)
    fills the read-only fields and starts the others, before the schema's defaults.
    ``errors`` are keyed by ``field_key`` (a top-level field's name)."""
    return _build(schema, (), submitted, errors or {}, tz, values or {}, "field", shown=False)


def field_key(path: tuple[str, ...]) -> str:
    """A field's name for a top-level field, else its JSON Pointer (``/contact/phone``). A
    top-level name that begins with ``/`` is a pointer too (``/~1contact~1phone``): as itself
    it named the same input as the nested field its text spells, and one took the other's."""
    if len(path) == 1 and not path[0].startswith("/"):
        return path[0]
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def _build(
    schema: Mapping[str, Any] | None,
    path: tuple[str, ...],
    submitted: Mapping[str, str] | None,
    errors: Mapping[str, str],
    tz: ZoneInfo,
    values: Mapping[str, Any],
    id_base: str,
    *,
    shown: bool,
) -> list[FormField]:
    required = set((schema or {}).get("required") or [])
    fields = []
    for index, (name, prop) in enumerate(properties(schema).items()):
        parts = (*path, name)
        key = field_key(parts)
        widget = widget_for(prop)
        read_only = shown or _read_only(prop)
        item = FormField(
            name=key,
            label=bilingual(str(prop.get("title") or name)),
            widget=widget,
            required=name in required and not read_only,
            input_name=PREFIX + key,
            input_id=f"{id_base}-{index}",
            attrs={"disabled": True}
            if read_only
            else _html_attributes(prop, widget, name in required),
            options=_options(_choice_items(prop) if widget == "choices" else prop)
            if widget in ("select", "choices")
            else [],
            description=prop.get("description"),
            error=errors.get(key),
            hide_if=json.dumps(prop[HIDE]) if isinstance(prop.get(HIDE), dict) else None,
        )
        value = values.get(name, prop.get("default"))
        if widget == "group":
            inner = value if isinstance(value, Mapping) else {}
            item.attrs = {}
            item.children = _build(
                prop, parts, submitted, errors, tz, inner, item.input_id, shown=read_only
            )
        elif submitted is not None and not read_only:
            item.value = str(submitted.get(item.input_name, ""))
            item.checked = item.input_name in submitted
            item.selected = _all(submitted, item.input_name) if widget == "choices" else []
        else:
            item.value, item.checked = _initial({**prop, "default": value}, widget, tz)
            if widget == "choices" and isinstance(value, list):
                item.selected = [_option_value(v) for v in value]
        fields.append(item)
    return fields


def widget_for(prop: Mapping[str, Any]) -> str:
    kind = _type(prop)
    if "enum" in prop or _one_of_consts(prop) is not None:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array" and _choice_items(prop) is not None:
        return "choices"
    if kind == "object" and properties(prop):
        return "group"
    if kind in ("object", "array"):
        return "json"
    fmt = prop.get("format")
    if fmt == "date-time":
        return "datetime"
    if fmt == "date":
        return "date"
    if prop.get("x-widget") == "textarea" or (prop.get("maxLength") or 0) > TEXTAREA_FROM_LENGTH:
        return "textarea"
    if fmt == "email":
        return "email"
    return "text"


def parse_submission(
    schema: Mapping[str, Any] | None, form: Mapping[str, str], *, tz: ZoneInfo
) -> Submission:
    """Typed data for the schema's properties; values that cannot be typed become errors
    (keyed by ``field_key``).

    Empty inputs are left out, so the schema's ``required`` reports them; a group's object
    is sent when one of its fields was given (an unticked checkbox is not) or the group is
    required.
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    _parse(schema, (), form, tz, data, errors)
    return Submission(data, errors)


def _parse(
    schema: Mapping[str, Any] | None,
    path: tuple[str, ...],
    form: Mapping[str, str],
    tz: ZoneInfo,
    data: dict[str, Any],
    errors: dict[str, str],
) -> bool:
    """Fill ``data`` from the inputs of ``schema``'s fields; whether any was given (an
    unticked checkbox is not)."""
    required = set((schema or {}).get("required") or [])
    given = False
    for name, prop in properties(schema).items():
        if _read_only(prop):
            continue  # shown, not taken
        parts = (*path, name)
        widget = widget_for(prop)
        key = PREFIX + field_key(parts)
        if widget == "group":
            inner: dict[str, Any] = {}
            inner_given = _parse(prop, parts, form, tz, inner, errors)
            if inner_given or name in required:
                data[name] = inner
            given = given or inner_given
            continue
        if widget == "checkbox":
            data[name] = key in form
            given = given or data[name]
            continue
        if widget == "choices":
            ticked = _all(form, key)
            if ticked:
                given = True
                try:
                    data[name] = [
                        _convert(_choice_items(prop) or {}, "select", v, tz) for v in ticked
                    ]
                except ValueError as exc:
                    errors[field_key(parts)] = str(exc)
            continue
        raw = str(form.get(key, ""))
        if not raw.strip():
            continue
        given = True
        try:
            data[name] = _convert(prop, widget, raw, tz)
        except ValueError as exc:
            errors[field_key(parts)] = str(exc)
    return given


def field_errors(
    schema: Mapping[str, Any] | None, details: list[dict[str, Any]]
) -> tuple[dict[str, str], list[str]]:
    """``FormInvalid`` details → one readable message per field (the innermost one rendered
    that the detail's dotted path is about, keyed by ``field_key``), plus the rest."""
    rendered = dict(_rendered(schema, ()))
    by_field: dict[str, str] = {}
    general: list[str] = []
    for detail in details:
        said = str(detail.get("field") or "")
        owner = max(
            (dotted for dotted in rendered if said == dotted or said.startswith(dotted + ".")),
            key=len,
            default=None,
        )
        if owner is not None:
            key, prop = rendered[owner]
            by_field.setdefault(key, _message(prop, detail))
        else:
            general.append(str(detail.get("message") or ""))
    return by_field, general


def _rendered(
    schema: Mapping[str, Any] | None, path: tuple[str, ...]
) -> Iterator[tuple[str, tuple[str, Mapping[str, Any]]]]:
    """Every rendered field: its dotted path (as validation details name it) → its key and
    property."""
    for name, prop in properties(schema).items():
        parts = (*path, name)
        yield ".".join(parts), (field_key(parts), prop)
        if widget_for(prop) == "group":
            yield from _rendered(prop, parts)


# -- helpers ----------------------------------------------------------------------------------


def _read_only(prop: Mapping[str, Any]) -> bool:
    return prop.get("readOnly") is True


def _type(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind)


def _choice_items(prop: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``items`` of an array field whose items are choices (a checklist), else None."""
    items = prop.get("items")
    if isinstance(items, Mapping) and ("enum" in items or _one_of_consts(items) is not None):
        return items
    return None


def _all(form: Mapping[str, str], key: str) -> list[str]:
    """Every value a form sent under ``key`` (a checkbox per choice sends one each)."""
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [str(value) for value in getlist(key)]
    return [str(form[key])] if key in form else []


def _one_of_consts(prop: Mapping[str, Any]) -> list[tuple[Any, str]] | None:
    choices = prop.get("oneOf") or prop.get("anyOf")
    if not isinstance(choices, list) or not choices:
        return None
    if not all(isinstance(c, Mapping) and "const" in c for c in choices):
        return None
    return [(c["const"], bilingual(str(c.get("title") or c["const"]))) for c in choices]


def _choices(prop: Mapping[str, Any]) -> list[tuple[Any, str]]:
    consts = _one_of_consts(prop)
    if consts is not None:
        return consts
    values = list(prop.get("enum") or [])
    names = prop.get("enumNames")
    labels = names if isinstance(names, list) and len(names) == len(values) else values
    return [(v, str(label)) for v, label in zip(values, labels, strict=True)]


def _option_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _options(prop: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(_option_value(v), label) for v, label in _choices(prop)]


def _html_attributes(prop: Mapping[str, Any], widget: str, required: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if required and widget != "checkbox":
        attrs["required"] = True
    if widget == "number":
        attrs["step"] = "1" if _type(prop) == "integer" else "any"
        for key, attr in (("minimum", "min"), ("maximum", "max")):
            if isinstance(prop.get(key), int | float):
                attrs[attr] = prop[key]
    if widget in ("text", "textarea", "email"):
        if isinstance(prop.get("maxLength"), int):
            attrs["maxlength"] = prop["maxLength"]
        if isinstance(prop.get("minLength"), int):
            attrs["minlength"] = prop["minLength"]
    if widget in ("text", "email") and isinstance(prop.get("pattern"), str):
        attrs["pattern"] = prop["pattern"]
    return attrs


def _initial(prop: Mapping[str, Any], widget: str, tz: ZoneInfo) -> tuple[str, bool]:
    default = prop.get("default")
    if default is None:
        return "", False
    if widget == "checkbox":
        return "", bool(default)
    if widget == "select":
        return _option_value(default), False
    if widget == "json":
        return json.dumps(default, ensure_ascii=False, indent=2), False
    if widget == "datetime" and isinstance(default, str):
        try:
            moment = datetime.fromisoformat(default)
        except ValueError:
            return "", False
        local = moment.astimezone(tz) if moment.tzinfo else moment
        return local.strftime("%Y-%m-%dT%H:%M"), False
    return str(default), False


def _convert(prop: Mapping[str, Any], widget: str, raw: str, tz: ZoneInfo) -> Any:
    if widget == "select":
        for value, _label in _choices(prop):
            if _option_value(value) == raw:
                return value
        raise ValueError(_("Choose one of the options."))
    if widget == "number":
        return _number(raw.strip(), integer=_type(prop) == "integer")
    if widget == "date":
        try:
            return date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise ValueError(_("Enter a date.")) from None
    if widget == "datetime":
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(_("Enter a date and time.")) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return moment.isoformat(timespec="seconds")
    if widget == "json":
        try:
            return json.loads(raw)
        except ValueError:
            raise ValueError(_("Enter valid JSON.")) from None
    return raw


def _number(raw: str, *, integer: bool) -> int | float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(_("Enter a number.")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(_("Enter a number."))
    if integer:
        if not value.is_integer():
            raise ValueError(_("Enter a whole number."))
        return int(value)
    return int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value


def _message(prop: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    """A sentence for the person filling the form, not jsonschema's own wording."""
    kind = detail.get("validator")
    if kind == "required":
        return _("This field is required.")
    if kind == "minimum" and kind in prop:
        return _("Enter a value of at least %(limit)s.", limit=prop[kind])
    if kind == "maximum" and kind in prop:
        return _("Enter a value of at most %(limit)s.", limit=prop[kind])
    if kind == "exclusiveMinimum" and kind in prop:
        return _("Enter a value greater than %(limit)s.", limit=prop[kind])
    if kind == "exclusiveMaximum" and kind in prop:
        return _("Enter a value less than %(limit)s.", limit=prop[kind])
    if kind == "minLength":
        return _("Enter at least %(count)s characters.", count=prop.get("minLength"))
    if kind == "maxLength":
        return _("Enter at most %(count)s characters.", count=prop.get("maxLength"))
    if kind == "pattern":
        return _("The value does not have the expected form.")
    if kind == "minItems":
        return _("Choose at least %(count)s of the options.", count=prop.get("minItems"))
    if kind in ("enum", "const", "oneOf", "anyOf"):
        return _("Choose one of the options.")
    if kind == "format":
        return _("The value is not a valid %(format)s.", format=prop.get("format"))
    if kind == "type":
        return _("The value has the wrong type.")
    return str(detail.get("message") or _("The value is not valid."))
