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
| other ``array`` of objects with ``properties`` or of scalars (form-js ``dynamiclist``) | rows |
| ``object`` without ``properties`` / other ``array`` | a JSON ``<textarea>`` |

A list's rows hold an object item's fields (the same widgets) or a scalar item's one input,
with "Add row" / "Remove" buttons (``static/task/form_lists.js``) kept within ``minItems`` and
``maxItems``. A list inside a list's row stays one JSON input.

An object's fields nest to any depth; a nested field's input is named by its JSON Pointer
(``field:/contact/phone``), a top-level field's by its name, and the submission is read back
into the nested object, each object sent when one of its fields has a value (or it is
required), so the schema's messages land beside the nested input they are about.

A list's rows are named by their position too (``field:/contacts/1/phone``, a scalar item's
``field:/tags/1``) and each row sends a marker, ``row:<list>`` = its index, in page order: the
rows are read in that order, whatever their indexes (the page's script adds rows with new ones
and removes rows without renumbering), a row with nothing typed in it is left out, and the
list is sent when a row is given (or it is required); a list shown whose rows were all
removed is sent empty (a list-level ``row:<list>`` marker with no index says it was shown),
not left out to become its default or null, unless it has a ``minItems``. A row's read-only
cell is shown disabled and sent back as a hidden input holding its value as JSON
(``FormField.kept``): the rows replace the whole list, so its items kept their read-only
fields only so. The submission is renumbered first
(``_renumbered``), so what the schema says of item 1 (``contacts.1.phone``) is shown beside
the second row shown again. A list sent as JSON text under its own name (``field:contacts``,
as the page sent it before it had rows) is still read.

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
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from dialflow.strict_json import (
    MAX_DEPTH,
    RESERVED_KEY,
    NotStorable,
    loads_strict,
    reserved_key_at,
)
from engine.form_conditions import HIDE

TEXTAREA_FROM_LENGTH = 200
BILINGUAL_SEPARATOR = " / "
PREFIX = "field:"  # keeps schema property names apart from csrf_token and friends
ROW_PREFIX = "row:"  # a list's rows, one marker each: ``row:contacts`` = the row's index
NEW_ROW = "__index__"  # the index of the page's template row, replaced by the script


@dataclass
class FormField:
    name: str
    label: str
    # text, email, textarea, number, date, datetime, select, checkbox, choices, json, group, list
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
    rows: list[ListRow] = field(default_factory=list)  # a list's rows
    template: ListRow | None = None  # a new row of a list (index ``__index__``), for the script
    min_items: int = 0
    max_items: int | None = None
    # a read-only cell of a list's row: its value as JSON, sent back in a hidden input, since
    # the rows sent replace the whole list and the disabled input is not sent
    kept: str | None = None

    @property
    def flagged(self) -> bool:
        """Whether this field or one inside it has an error to show."""
        return (
            bool(self.error)
            or any(child.flagged for child in self.children)
            or any(cell.flagged for row in self.rows for cell in row.fields)
        )

    @property
    def has_list(self) -> bool:
        """Whether this field or one inside it is a list of rows (the page then runs
        ``static/task/form_lists.js``)."""
        return self.widget == "list" or any(child.has_list for child in self.children)

    @property
    def row_marker(self) -> str:
        """The name of the hidden input each of a list's rows sends its index under."""
        return ROW_PREFIX + self.name

    @property
    def can_add(self) -> bool:
        return self.max_items is None or len(self.rows) < self.max_items

    @property
    def can_remove(self) -> bool:
        return len(self.rows) > self.min_items

    @property
    def conditional(self) -> bool:
        """Whether this field or one inside it is hidden by a condition (the page then runs
        ``static/task/form_conditions.js``)."""
        rows = [*self.rows, *([self.template] if self.template else [])]
        return (
            bool(self.hide_if)
            or any(child.conditional for child in self.children)
            or any(cell.conditional for row in rows for cell in row.fields)
        )


@dataclass
class ListRow:
    """One item of a list: its index (the inputs' names hold it) and its inputs."""

    index: str
    fields: list[FormField]


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
    form = _renumbered(schema, submitted) if submitted is not None else None
    return _build(schema, (), form, errors or {}, tz, values or {}, "field", shown=False)


def field_key(path: tuple[str, ...]) -> str:
    """A field's name for a top-level field, else its JSON Pointer (``/contact/phone``). A
    top-level name that begins with ``/`` is a pointer too (``/~1contact~1phone``): as itself
    it named the same input as the nested field its text spells, and one took the other's."""
    if len(path) == 1 and not path[0].startswith("/"):
        return path[0]
    return _pointer(path)


def _pointer(path: tuple[str, ...]) -> str:
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
    in_list: bool = False,
) -> list[FormField]:
    required = set((schema or {}).get("required") or [])
    return [
        _field(
            prop,
            (*path, name),
            bilingual(str(prop.get("title") or name)),
            name in required,
            submitted,
            errors,
            tz,
            values.get(name, prop.get("default")),
            f"{id_base}-{index}",
            shown=shown,
            in_list=in_list,
        )
        for index, (name, prop) in enumerate(properties(schema).items())
    ]


def _field(
    prop: Mapping[str, Any],
    parts: tuple[str, ...],
    label: str,
    required: bool,
    submitted: Mapping[str, str] | None,
    errors: Mapping[str, str],
    tz: ZoneInfo,
    value: Any,
    input_id: str,
    *,
    shown: bool,
    in_list: bool,
) -> FormField:
    """One field at ``parts``, starting with ``value`` unless ``submitted`` says otherwise."""
    key = field_key(parts)
    widget = _widget(prop, in_list)
    read_only = shown or _read_only(prop)
    item = FormField(
        name=key,
        label=label,
        widget=widget,
        required=required and not read_only,
        input_name=PREFIX + key,
        input_id=input_id,
        attrs={"disabled": True} if read_only else _html_attributes(prop, widget, required),
        options=_options(_choice_items(prop) if widget == "choices" else prop)
        if widget in ("select", "choices")
        else [],
        description=prop.get("description"),
        error=errors.get(key),
        # a row's cell reads its row as ``this`` (``static/task/form_conditions.js``)
        hide_if=json.dumps(prop[HIDE]) if isinstance(prop.get(HIDE), dict) else None,
    )
    if in_list and not shown and _read_only(prop):
        if submitted is not None:  # shown again: what the row kept when it was sent
            value = _json_value(submitted.get(item.input_name))
        if value is not None and NEW_ROW not in parts:
            item.kept = json.dumps(value, ensure_ascii=False)
    if widget == "group":
        inner = value if isinstance(value, Mapping) else {}
        item.attrs = {"disabled": True} if read_only else {}
        item.children = _build(
            prop, parts, submitted, errors, tz, inner, input_id, shown=read_only, in_list=in_list
        )
    elif widget == "list":
        item.attrs = {"disabled": True} if read_only else {}
        _fill_rows(item, prop, parts, submitted, errors, tz, value, read_only=read_only)
    elif submitted is not None and not read_only:
        item.value = str(submitted.get(item.input_name, ""))
        item.checked = item.input_name in submitted
        item.selected = _all(submitted, item.input_name) if widget == "choices" else []
    else:
        item.value, item.checked = _initial({**prop, "default": value}, widget, tz)
        if widget == "choices" and isinstance(value, list):
            item.selected = [_option_value(v) for v in value]
    return item


def _fill_rows(
    item: FormField,
    prop: Mapping[str, Any],
    parts: tuple[str, ...],
    submitted: Mapping[str, str] | None,
    errors: Mapping[str, str],
    tz: ZoneInfo,
    value: Any,
    *,
    read_only: bool,
) -> None:
    """A list's rows: what was submitted (renumbered), else the items of ``value``; at least
    ``minItems`` of them, and the template row the page's script adds."""
    items = _row_items(prop) or {}
    high = prop.get("maxItems")
    item.min_items = _min_items(prop)
    item.max_items = high if isinstance(high, int) and not isinstance(high, bool) else None
    label = bilingual(str(items.get("title"))) if items.get("title") else item.label
    marker = ROW_PREFIX + item.name
    if submitted is not None and not read_only and marker in submitted:
        count = _row_count(submitted, marker)
        listed: list[Any] = []
        source: Mapping[str, str] | None = submitted
    else:
        listed = value if isinstance(value, list) else []
        if submitted is not None and not read_only:  # a list sent as JSON text
            listed = _json_list(submitted.get(item.input_name))
        count, source = len(listed), None
    for position in range(max(count, item.min_items)):
        start = listed[position] if position < len(listed) else None
        item.rows.append(
            _row(
                items,
                parts,
                str(position),
                label,
                source,
                errors,
                tz,
                start,
                item.input_id,
                read_only,
            )
        )
    if not read_only:
        item.template = _row(items, parts, NEW_ROW, label, None, {}, tz, None, item.input_id, False)


def _row(
    items: Mapping[str, Any],
    parts: tuple[str, ...],
    index: str,
    label: str,
    submitted: Mapping[str, str] | None,
    errors: Mapping[str, str],
    tz: ZoneInfo,
    value: Any,
    id_base: str,
    read_only: bool,
) -> ListRow:
    """One row: an object item's fields, or a scalar item's one input (``/tags/1``)."""
    row = (*parts, index)
    row_id = f"{id_base}-{index}"
    if _widget(items, True) == "group":
        inner = value if isinstance(value, Mapping) else {}
        cells = _build(
            items, row, submitted, errors, tz, inner, row_id, shown=read_only, in_list=True
        )
    else:
        start = items.get("default") if value is None else value
        cells = [
            _field(
                items,
                row,
                label,
                False,
                submitted,
                errors,
                tz,
                start,
                row_id,
                shown=read_only,
                in_list=True,
            )
        ]
    return ListRow(index, cells)


def _json_list(raw: str | None) -> list[Any]:
    value = _json_value(raw)
    return value if isinstance(value, list) else []


def _json_value(raw: str | None) -> Any:
    try:
        return json.loads(raw or "")
    except ValueError:
        return None


def _min_items(prop: Mapping[str, Any]) -> int:
    low = prop.get("minItems")
    return low if isinstance(low, int) and not isinstance(low, bool) and low > 0 else 0


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
    if kind == "array" and _row_items(prop) is not None:
        return "list"
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


def _widget(prop: Mapping[str, Any], in_list: bool) -> str:
    """``widget_for``, but a list inside a list's row is one JSON input."""
    widget = widget_for(prop)
    return "json" if in_list and widget == "list" else widget


def _row_items(prop: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``items`` of a list shown as rows (an object with fields, or one scalar), else None."""
    items = prop.get("items")
    if not isinstance(items, Mapping) or widget_for(items) in ("json", "list", "choices"):
        return None
    return items


def parse_submission(
    schema: Mapping[str, Any] | None, form: Mapping[str, str], *, tz: ZoneInfo
) -> Submission:
    """Typed data for the schema's properties; values that cannot be typed become errors
    (keyed by ``field_key``).

    Empty inputs are left out, so the schema's ``required`` reports them; a group's object
    is sent when one of its fields was given (an unticked checkbox is not) or the group is
    required; a list's rows likewise.
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    _parse(schema, (), _renumbered(schema, form), tz, data, errors)
    return Submission(data, errors)


_ABSENT = object()


def _parse(
    schema: Mapping[str, Any] | None,
    path: tuple[str, ...],
    form: Mapping[str, str],
    tz: ZoneInfo,
    data: dict[str, Any],
    errors: dict[str, str],
    in_list: bool = False,
) -> bool:
    """Fill ``data`` from the inputs of ``schema``'s fields; whether any was given (an
    unticked checkbox is not)."""
    required = set((schema or {}).get("required") or [])
    given = False
    for name, prop in properties(schema).items():
        parts = (*path, name)
        if _read_only(prop):
            if in_list:  # a row's read-only cell: the item keeps it (``FormField.kept``)
                kept = _json_value(form.get(PREFIX + field_key(parts)))
                if kept is not None:
                    data[name] = kept
            continue  # shown, not taken
        widget = _widget(prop, in_list)
        if widget == "group":
            inner: dict[str, Any] = {}
            inner_given = _parse(prop, parts, form, tz, inner, errors, in_list)
            # a row's group holding its read-only cells alone (nothing typed, or hidden by a
            # condition) is sent with them: left out, the item lost them
            if inner_given or name in required or (in_list and inner):
                data[name] = inner
            given = given or inner_given
            continue
        if widget == "list":
            rows_given, rows = _parse_list(prop, parts, form, tz, errors)
            # every row removed (the list shown, none sent): the list is empty, not left out
            # (the schema's default or null), unless it asks for rows it was not given
            emptied = rows == [] and not _min_items(prop)
            if rows is not None and (rows_given or name in required or emptied):
                data[name] = rows
            given = given or rows_given
            continue
        value_given, value = _read_value(prop, widget, parts, form, tz, errors)
        if widget == "checkbox" or value is not _ABSENT:
            data[name] = value
        given = given or value_given
    return given


def _read_value(
    prop: Mapping[str, Any],
    widget: str,
    parts: tuple[str, ...],
    form: Mapping[str, str],
    tz: ZoneInfo,
    errors: dict[str, str],
) -> tuple[bool, Any]:
    """Whether the input at ``parts`` was given, and its typed value (``_ABSENT`` when empty
    or when it could not be typed, which is then an error)."""
    key = PREFIX + field_key(parts)
    if widget == "checkbox":
        return key in form, key in form
    if widget == "choices":
        ticked = _all(form, key)
        if not ticked:
            return False, _ABSENT
        try:
            return True, [_convert(_choice_items(prop) or {}, "select", v, tz) for v in ticked]
        except ValueError as exc:
            errors[field_key(parts)] = str(exc)
            return True, _ABSENT
    raw = str(form.get(key, ""))
    if not raw.strip():
        return False, _ABSENT
    try:
        return True, _convert(prop, widget, raw, tz)
    except ValueError as exc:
        errors[field_key(parts)] = str(exc)
        return True, _ABSENT


def _parse_list(
    prop: Mapping[str, Any],
    parts: tuple[str, ...],
    form: Mapping[str, str],
    tz: ZoneInfo,
    errors: dict[str, str],
) -> tuple[bool, list[Any] | None]:
    """A list's items from its rows (renumbered: ``_renumbered``), else from the JSON text
    sent under its name; whether any was given."""
    key = field_key(parts)
    items = _row_items(prop) or {}
    marker = ROW_PREFIX + key
    if marker not in form:
        given, value = _read_value(prop, "json", parts, form, tz, errors)
        return given, (None if value is _ABSENT else value)
    rows: list[Any] = []
    for position in range(_row_count(form, marker)):
        row = (*parts, str(position))
        if _widget(items, True) == "group":
            inner: dict[str, Any] = {}
            _parse(items, row, form, tz, inner, errors, in_list=True)
            rows.append(inner)
        else:
            _given, value = _read_value(items, _widget(items, True), row, form, tz, errors)
            rows.append(None if value is _ABSENT else value)
    return bool(rows), rows


def _list_paths(
    schema: Mapping[str, Any] | None, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    """Every list shown as rows, at any depth of groups, with its property."""
    for name, prop in properties(schema).items():
        widget = widget_for(prop)
        if widget == "list":
            yield (*path, name), prop
        elif widget == "group":
            yield from _list_paths(prop, (*path, name))


def _ticks_only(items: Mapping[str, Any]) -> bool:
    """Whether a row of these items has checkboxes alone: nothing sent is then a row of
    ``false``, not a blank row."""
    widget = _widget(items, True)
    if widget == "group":
        return all(_ticks_only(prop) for prop in properties(items).values())
    return widget == "checkbox"


def _row_count(form: Mapping[str, str], marker: str) -> int:
    return sum(1 for index in _all(form, marker) if index)


def _renumbered(schema: Mapping[str, Any] | None, form: Mapping[str, str]) -> Mapping[str, str]:
    """The form with each list's rows numbered 0, 1, … in the order their markers came, a
        row with nothing typed in it left out: the page's script adds rows with fresh indexes and
        removes rows without renumbering the others, and the schema numbers items by position. A
    row of checkboxes alone is never blank: unticked, it is an item of ``false``."""
    lists = [
        (parts, prop)
        for parts, prop in _list_paths(schema, ())
        if ROW_PREFIX + field_key(parts) in form
    ]
    if not lists:
        return form
    out: MultiDict[str, str] = MultiDict()
    for name in form:
        out.setlist(name, _all(form, name))
    for parts, prop in lists:
        marker = ROW_PREFIX + field_key(parts)
        prefix = PREFIX + _pointer(parts) + "/"
        cells: dict[str, list[tuple[str, list[str]]]] = {}
        for name in [name for name in out if name.startswith(prefix)]:
            index, slash, rest = name[len(prefix) :].partition("/")
            cells.setdefault(index, []).append((slash + rest, out.getlist(name)))
            del out[name]
        order = dict.fromkeys(i for i in out.getlist(marker) if _ROW_INDEX.fullmatch(i))
        ticks = _ticks_only(_row_items(prop) or {})
        kept = [
            index
            for index in order
            if ticks
            or any(value.strip() for _tail, values in cells.get(index, []) for value in values)
        ]
        # an empty marker says the list was shown, with no row
        out.setlist(marker, [str(position) for position in range(len(kept))] or [""])
        for position, index in enumerate(kept):
            for tail, values in cells.get(index, []):
                out.setlist(f"{prefix}{position}{tail}", values)
    return out


_ROW_INDEX = re.compile(r"[0-9]{1,6}")


def field_errors(
    schema: Mapping[str, Any] | None, details: list[dict[str, Any]]
) -> tuple[dict[str, str], list[str]]:
    """``FormInvalid`` details → one readable message per field (the innermost one rendered
    that the detail's dotted path is about, keyed by ``field_key``: an item's input of a list,
    ``contacts.1.phone`` → ``/contacts/1/phone``), plus the rest."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for detail in details:
        said = str(detail.get("field") or "")
        owner = _owner(schema, (), said, in_list=False) if said else None
        if owner is not None:
            key, prop = owner
            by_field.setdefault(key, _message(prop, detail))
        else:
            general.append(str(detail.get("message") or ""))
    return by_field, general


def _owner(
    schema: Mapping[str, Any] | None, path: tuple[str, ...], said: str, *, in_list: bool
) -> tuple[str, Mapping[str, Any]] | None:
    """The innermost rendered field the dotted path ``said`` is about: its key and property
    (longer names first: a name may hold a dot)."""
    for name, prop in sorted(properties(schema).items(), key=lambda kv: -len(kv[0])):
        if said != name and not said.startswith(name + "."):
            continue
        parts = (*path, name)
        rest = said[len(name) + 1 :]
        widget = _widget(prop, in_list)
        inner = None
        if rest and widget == "group":
            inner = _owner(prop, parts, rest, in_list=in_list)
        elif rest and widget == "list":
            index, _dot, after = rest.partition(".")
            items = _row_items(prop) or {}
            if _ROW_INDEX.fullmatch(index):
                row = (*parts, index)
                if _widget(items, True) != "group":
                    inner = (field_key(row), items)
                elif after:  # an object item as a whole has no input: the list says it
                    inner = _owner(items, row, after, in_list=True)
        return inner or (field_key(parts), prop)
    return None


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
        return _stored_json(raw)
    return raw


def _stored_json(raw: str) -> Any:
    """A JSON input's value, refused as the API refuses a body the instance's state could not
    hold (``dialflow.strict_json``): kept, it failed every step once read back."""
    try:
        value = loads_strict(raw)
    except NotStorable as exc:
        if exc.what.startswith("values nested"):
            raise ValueError(
                _("Enter JSON nested at most %(levels)d levels deep.", levels=MAX_DEPTH)
            ) from None
        raise ValueError(_("Enter valid JSON.")) from None
    except (ValueError, RecursionError):
        raise ValueError(_("Enter valid JSON.")) from None
    if reserved_key_at(value) is not None:
        raise ValueError(
            _(
                "Rename the field “%(name)s”: Dialflow keeps that name for the types of what "
                "it stores.",
                name=RESERVED_KEY,
            )
        )
    return value


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
    if kind == "minItems" and widget_for(prop) == "list":
        return ngettext("Add at least %(num)d row.", "Add at least %(num)d rows.", prop[kind])
    if kind == "maxItems" and widget_for(prop) == "list":
        return ngettext("Keep at most %(num)d row.", "Keep at most %(num)d rows.", prop[kind])
    if kind == "minItems":
        return _("Choose at least %(count)s of the options.", count=prop.get("minItems"))
    if kind in ("enum", "const", "oneOf", "anyOf"):
        return _("Choose one of the options.")
    if kind == "format":
        return _("The value is not a valid %(format)s.", format=prop.get("format"))
    if kind == "type":
        return _("The value has the wrong type.")
    return str(detail.get("message") or _("The value is not valid."))
