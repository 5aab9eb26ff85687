"""JSON-Schema forms: validate completion data before the engine sees it."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from copy import deepcopy
from datetime import datetime
from typing import Any

from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012
from rfc3339_validator import validate_rfc3339

from engine import form_conditions
from engine.errors import FormInvalid, FormUnusable
from engine.feel_builtins import stored_json

# A browser's ``<input type=datetime-local>`` value: a local date and time, seconds optional.
_LOCAL_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


def is_date_time(value: object) -> bool:
    """``"format": "date-time"``: RFC 3339 (``2026-12-05T10:30:00+08:00``, jsonschema's own
    check, with the ``rfc3339-validator`` package it needs for it: without that package
    jsonschema checked no date-time at all), or a local date and time as a browser's
    datetime-local input writes it (``2026-12-05T10:30``, seconds optional), which the
    processes read in the customer's or team's zone. Anything else (``tomorrow``, a 13th
    month, a space for the ``T``) is refused; what is no text is left to ``type``."""
    if not isinstance(value, str):
        return True
    if validate_rfc3339(value.upper()):
        return True
    if not _LOCAL_DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _format_checker(draft: Any) -> FormatChecker:
    """The form's own draft's format checks (``FormatChecker()`` holds every draft's, the
    last registered winning: a 2020-12 form's ``time`` was checked as draft 3's), with
    ``date-time`` as :func:`is_date_time`."""
    checker = FormatChecker(())
    checker.checkers = {**draft.FORMAT_CHECKER.checkers, "date-time": (is_date_time, ())}
    return checker


_FORMAT_CHECKERS: dict[Any, FormatChecker] = {}
# A form's ``$ref`` is looked up in the form only: without a registry of its own, jsonschema
# fetches an http(s) ``$ref`` from the network while it checks a task's data.
_NOTHING_TO_FETCH = Registry()
_DATA_KEYWORDS = ("enum", "const", "default", "examples")  # values, not schemas


def validate_form_data(
    schema: dict[str, Any] | None,
    data: Any,
    context: dict[str, Any] | None = None,
    stored: Mapping[str, Any] | None = None,
) -> None:
    """Raise ``FormInvalid`` (422) with one ``{"field", "message"}`` detail per problem;
    ``context`` (``form_conditions.context_of``) is what the fields' hide conditions read
    besides ``data``; ``stored`` (the instance's data) is what the read-only cells of a
    list's items must match (``list_read_only``), not checked without it (the task page's
    messages on a form it could not read, before ``engine.tasks.complete`` checks them: each
    row's read-only cells were said to be no item shown, beside the real mistake)."""
    if not isinstance(data, dict):
        raise FormInvalid(
            "Task data must be a JSON object.",
            details=[{"field": "", "message": "expected an object"}],
        )
    if not schema:
        return
    # form-js submits no hidden field; which are hidden is read on the data as sent. The
    # list items' read-only cells are checked on the whole form: a list whose rows hide
    # different cells has a schema per row in a draft-07 form, and no ``items`` to read
    whole = schema
    schema, data = (
        form_conditions.shown_schema(schema, data, context),
        form_conditions.without_hidden(schema, data, context),
    )
    draft = validator_for(schema)
    formats = _FORMAT_CHECKERS.get(draft)
    if formats is None:
        formats = _FORMAT_CHECKERS[draft] = _format_checker(draft)
    validator = draft(schema, format_checker=formats, registry=_NOTHING_TO_FETCH)
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    except Unresolvable as exc:  # a form deployed before deploys checked its references
        raise FormUnusable(
            f"The task's form cannot check the data: its $ref {exc.ref!r} does not resolve "
            "within the form. A process owner must deploy a corrected form."
        ) from None
    except RecursionError:  # a $ref loop in a form deployed before deploys refused them
        raise FormUnusable(
            "The task's form cannot check the data: a $ref in it leads back to itself. "
            "A process owner must deploy a corrected form."
        ) from None
    details = [{"field": _field(e), "message": e.message, "validator": e.validator} for e in errors]
    details += [
        {
            "field": name,
            "message": f"{name!r} is read-only: the task shows it but does not take it",
            "validator": "readOnly",
        }
        for name in read_only(schema)
        if name in data
    ]
    details += [
        {
            "field": ".".join(path),
            "message": f"{'.'.join(path)!r} is read-only: the task shows it but does not take it",
            "validator": "readOnly",
        }
        for path in _nested_read_only(schema, data)
    ]
    details += [
        {
            "field": ".".join(path),
            "message": f"{'.'.join(path)!r} is read-only: the value sent is not that of an "
            "item of the list the task showed (a new row sends no read-only value)",
            "validator": "readOnly",
        }
        for path in (list_read_only(whole, data, stored) if stored is not None else ())
    ]
    if details:
        raise FormInvalid(
            f"The form has {len(details)} invalid field{'s' if len(details) > 1 else ''}.",
            details=details,
        )


def ref_problem(schema: Any) -> str | None:
    """What is wrong with the form's first ``$ref`` that points outside the form (a URL or a
    file, which would be fetched, or never found) or to nothing in it; None if all resolve."""
    refs = sorted(set(_refs(schema)))
    if not refs:
        return None
    base = schema.get("$id") if isinstance(schema.get("$id"), str) else ""
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    resolver = Registry().with_resource(base, resource).resolver(base_uri=base)
    for ref in refs:
        if not ref.startswith("#"):
            return (
                f"$ref {ref!r} points outside the form; a form holds what it refers to (under "
                '"$defs", referred to as "#/$defs/name")'
            )
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return f"$ref {ref!r} refers to nothing in the form"
    return _ref_loop(refs, resolver)


# Keywords whose subschemas apply to the same value as the schema that holds them: a ``$ref``
# reached only through these, back to where it started, never reaches a field of the data.
_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")


def _ref_loop(refs: list[str], resolver: Any) -> str | None:
    """A ``$ref`` that leads back to itself through schemas of the same value (``a`` is
    ``$ref b``, ``b`` is ``$ref a``): checking data against it recursed until Python's
    stack ran out, and completing the task answered 500. A ``$ref`` inside ``properties`` or
    ``items`` (a node whose ``next`` is a node) descends into the data and ends with it."""
    targets: dict[str, list[str]] = {}
    for ref in refs:
        if ref.startswith("#"):
            targets[ref] = list(_same_value_refs(resolver.lookup(ref).contents))
    for start in targets:
        path = _loop_from(start, targets, [start])
        if path:
            chain = " → ".join(path)
            return (
                f"$ref {start!r} leads back to itself ({chain}) without a field in between, "
                "so no data could be checked against it: let one of them describe the value "
                '(a "type" with its "properties")'
            )
    return None


def _loop_from(ref: str, targets: dict[str, list[str]], path: list[str]) -> list[str] | None:
    for nxt in targets.get(ref, []):
        if nxt == path[0]:
            return [*path, nxt]
        if nxt not in path:
            found = _loop_from(nxt, targets, [*path, nxt])
            if found:
                return found
    return None


def _same_value_refs(schema: Any) -> Iterator[str]:
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("$ref"), str):
        yield schema["$ref"]
    for key in _SAME_VALUE_LISTS:
        if isinstance(schema.get(key), list):
            for item in schema[key]:
                yield from _same_value_refs(item)
    for key in _SAME_VALUE_ONE:
        yield from _same_value_refs(schema.get(key))
    dependent = schema.get("dependentSchemas")
    if isinstance(dependent, dict):
        for item in dependent.values():
            yield from _same_value_refs(item)


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in _DATA_KEYWORDS:
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


def _field(error: Any) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        # one error per missing property, each saying which ("'budget' is a required property")
        absent = [name for name in error.validator_value if name not in error.instance]
        said = [name for name in absent if error.message.startswith(f"{name!r} ")]
        missing = next(iter(said or absent), None)
        if missing:
            return f"{path}.{missing}" if path else missing
    return path


def read_only(schema: dict[str, Any] | None) -> list[str]:
    """The form's fields marked ``"readOnly": true``: shown to the agent, never written by
    completing the task (Camunda's ``readonly`` constraint, Flowable's ``writable="false"``).
    jsonschema treats ``readOnly`` as a note only, so a completion could overwrite them."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return []
    return [
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get("readOnly") is True
    ]


def _groups(schema: Any) -> dict[str, dict[str, Any]]:
    """A schema's object fields with fields of their own (a Camunda Form group), by name."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {
        str(name): spec
        for name, spec in properties.items()
        if isinstance(spec, dict) and isinstance(spec.get("properties"), dict)
    }


def _nested_read_only(
    schema: Any, data: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The paths (``contact``, ``id``) of read-only fields inside groups that ``data`` sets:
    ``read_only`` sees the top level only, so a completion overwrote ``contact.id``."""
    if not isinstance(data, dict):
        return
    for name, group in _groups(schema).items():
        inner = data.get(name)
        if not isinstance(inner, dict) or group.get("readOnly") is True:
            continue  # a read-only group: said by ``read_only`` at the top level
        for field in read_only(group):
            if field in inner:
                yield (*path, name, field)
        yield from _nested_read_only(group, inner, (*path, name))


def with_kept_fields(schema: Any, before: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each group's object (``contact``) completed from the instance's
    (``before``): its read-only fields and the keys the form does not show stay as they were;
    the fields the form edits are what was submitted (left out: gone). Without it, the form's
    ``{"contact": {"name": …}}`` replaced the whole object, and ``contact.id``, shown
    read-only, was lost."""
    if not isinstance(before, Mapping):
        return data
    merged = dict(data)
    for name, group in _groups(schema).items():
        if group.get("readOnly") is True or not isinstance(before.get(name), dict):
            continue
        sent = data.get(name)
        if sent is not None and not isinstance(sent, dict):
            continue  # not an object: the schema's validation said so
        kept = _kept_object(group, before[name], sent or {})
        if kept or name in data:
            merged[name] = kept
    return merged


def _kept_object(group: dict[str, Any], before: dict[str, Any], sent: dict[str, Any]) -> dict:
    fields = group["properties"]
    edited = {name for name, spec in fields.items() if not _is_read_only(spec)}
    kept = {key: value for key, value in before.items() if key not in edited}
    kept.update(sent)
    return with_kept_fields(group, before, kept)


def _is_read_only(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("readOnly") is True


def form_values(
    schema: dict[str, Any] | None,
    data: Any,
    answered: Collection[str] = (),
    own: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The instance's values of the form's own fields, which the task offers as the fields'
    initial values (Camunda's Tasklist fills a field from the process variable of its name):
    a field the data holds shows that value, else its ``default``.

    Only the form's fields are offered, never the rest of the instance's data; never a field
    marked ``"writeOnly": true`` (something asked for, such as a code, not to be shown back);
    and never a person's answer: a field in ``answered`` (the fields the instance's tasks
    completed before asked for, not those they showed read-only) starts empty or with its
    default, so a director's approval does not start with the manager's decision and a loop's
    next call with the last call's outcome. A read-only field always shows the instance's value.
    A value of None (a field left empty before) is no value: the default shows.

    ``own`` are the task's own values (``WorkItem.item_values``: the item a multi-instance
    task is for, ``item_values``): they win over the instance's, answered or not, since the
    instance's data never holds them and its other tasks' answers are other items'."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return {}
    data = data if isinstance(data, dict) else {}
    shown = set(read_only(schema))
    own = own if isinstance(own, Mapping) else {}
    return {
        name: own[name] if own.get(name) is not None else data[name]
        for name, spec in properties.items()
        if (own.get(name) is not None or data.get(name) is not None)
        and (own.get(name) is not None or name in shown or name not in answered)
        and not (isinstance(spec, dict) and spec.get("writeOnly") is True)
    }


def item_values(schema: Any, name: str, item: Any) -> dict[str, Any] | None:
    """What a multi-instance task's form starts with from the item it is for (the input
    item ``name`` of its activity): the item itself for a field of that name, and the
    item's own fields (an object's keys) the form has. ``None`` when the form has none."""
    fields = set(form_fields(schema))
    values: dict[str, Any] = {}
    if isinstance(item, dict):
        values.update({key: value for key, value in item.items() if key in fields})
    if name in fields:
        values[name] = item
    values = {key: value for key, value in values.items() if value is not None}
    if not values:
        return None
    # stored as JSON: a datetime, duration or set in the item as the data shows it
    return stored_json(values)


def form_fields(schema: Any) -> list[str]:
    """The names of the form's fields (its top-level ``properties``)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return [str(name) for name in properties] if isinstance(properties, dict) else []


def with_form_defaults(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """Every field of the form present in the task data: left-out fields take the schema's
    ``default`` or ``None``. Diagrams can then test ``amount is None`` instead of guessing
    whether a key exists, and a value from an earlier pass round a loop never lingers."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return data
    kept = set(read_only(schema))  # the instance's own value stays, not the default or None
    filled = {
        name: spec.get("default") if isinstance(spec, dict) else None
        for name, spec in properties.items()
        if name not in data and name not in kept
    }
    return {**filled, **data}


def list_read_only(schema: Any, data: Any, stored: Any) -> Iterator[tuple[str, ...]]:
    """The paths (``contacts``, ``1``, ``id``) of read-only cells of list items whose value
    sent is not that of an item ``stored`` (the instance's list) or of the list's default,
    the task page's rows when the instance holds none (or null). A cell an item has no value
    of is shown, and sent back, with the cell's ``default``, and a new row may send that too.

    The rows sent replace the whole list, so an item's read-only cells come back with it
    (the task page sends them as hidden inputs); they were taken as sent, so an agent could
    change an item's read-only ``id``. Items have no identity but their read-only cells, and
    rows may be removed or reordered, so each item sent is matched to a stored item (each
    used once) by the read-only cells it sends: an item that sends none is a new row; one
    whose values no stored item has is refused on the first cell that matches none. Refused,
    not overwritten with a stored value: which stored item a changed row was is unknowable,
    and silently writing another item's ``id`` over it would lose what the agent typed."""
    yield from _lists_read_only(schema, data, stored, ())


def _lists_read_only(
    schema: Any, data: Any, stored: Any, path: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(data, dict):
        return
    stored = stored if isinstance(stored, Mapping) else {}
    for name, spec in properties.items():
        if not isinstance(spec, dict) or _is_read_only(spec) or name not in data:
            continue  # a read-only list or group: refused whole by ``read_only``
        sent, at = data[name], (*path, str(name))
        before, default = stored.get(name), spec.get("default")
        if isinstance(spec.get("properties"), dict):
            # the page shows a group the instance holds none of from its default
            inner = before if isinstance(before, Mapping) else default
            yield from _lists_read_only(spec, sent, inner, at)
        items = spec.get("items")
        if isinstance(sent, list) and isinstance(items, dict):
            # the page shows a list the instance holds none of (or null) from its default,
            # whose items are the form's own, no forgery
            yield from _rows_read_only(items, sent, _shown_items(items, before, default), at)


def _cells(items: Any, at: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict]]:
    """An item's read-only cells, by path within the item (inside its groups too), with
    their schemas."""
    properties = items.get("properties") if isinstance(items, dict) else None
    if not isinstance(properties, dict):
        return []
    found: list[tuple[tuple[str, ...], dict]] = []
    for name, spec in properties.items():
        if _is_read_only(spec):
            found.append(((*at, str(name)), spec))
        elif isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
            found.extend(_cells(spec, (*at, str(name))))
    return found


_ABSENT = object()


def _cell(item: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(item, dict) or key not in item:
            return _ABSENT
        item = item[key]
    return item


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``1`` is not ``true`` nor ``"1"``, but is ``1.0`` (a number stored as
    ``7.0`` comes back as ``7`` from a client in JavaScript, which has one number type, as
    JSON Schema's ``const`` compares them); an absent value is ``null``."""
    a, b = (None if v is _ABSENT else v for v in (a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _shown_as(stored: Any, cell: tuple[str, ...], spec: dict) -> Any:
    """The value the task page shows in a stored item's read-only ``cell``: the item's,
    else the cell's ``default`` (``web.forms_schema``), else nothing."""
    value = _cell(stored, cell)
    return spec.get("default", _ABSENT) if value is _ABSENT else value


def _matched(
    cells: list[tuple[tuple[str, ...], dict]], sent: list[Any], stored: list[Any]
) -> list[tuple[Any, tuple[str, ...] | None]]:
    """Each row sent with the stored item it is (``None``: a new row, or no item) and the
    first read-only cell whose value no unmatched item has (``None``: none), each stored
    item matched once. A row is first looked up among the items whose read-only cells are
    all its own (``_value_key``), the others only searched when none is left: searched
    for every row, 2,000 rows sent in another order took 15 s."""
    items = [item for item in stored if isinstance(item, dict)]
    used: set[int] = set()
    alike: dict[Any, deque[dict[str, Any]]] = {}
    for item in items:
        shown = [_shown_as(item, cell, spec) for cell, spec in cells]
        alike.setdefault(_value_key(shown, loose=False), deque()).append(item)
    found: list[tuple[Any, tuple[str, ...] | None]] = []
    for row in sent:
        if not isinstance(row, dict):
            found.append((None, None))
            continue  # not an object: the schema's validation says so
        given = [(cell, spec) for cell, spec in cells if _cell(row, cell) is not _ABSENT]
        match, wrong = None, None
        if given:
            # rather the item whose other read-only cells are empty too, as the row's are
            same = alike.get(_value_key([_cell(row, cell) for cell, _spec in cells], loose=False))
            while same and id(same[0]) in used:
                same.popleft()
            if same:
                match = same.popleft()
            else:
                match, wrong = _first_given(given, row, [s for s in items if id(s) not in used])
        if match is not None:
            used.add(id(match))
        found.append((match, wrong))
    return found


def _first_given(
    given: list[tuple[tuple[str, ...], dict]], row: dict[str, Any], unused: list[dict[str, Any]]
) -> tuple[Any, tuple[str, ...] | None]:
    """The first of ``unused`` holding the read-only values ``row`` gives, else the first
    cell whose value none of them has."""
    candidates = unused
    for cell, spec in given:
        candidates = [s for s in candidates if _same(_shown_as(s, cell, spec), _cell(row, cell))]
        if not candidates:
            return None, cell
    return candidates[0], None


def _rows_read_only(
    items: dict[str, Any], sent: list[Any], stored: list[Any], path: tuple[str, ...]
) -> Iterator[tuple[str, ...]]:
    cells = _cells(items)
    matched = _matched(cells, sent, stored)
    for index, (row, (match, wrong)) in enumerate(zip(sent, matched, strict=True)):
        if not isinstance(row, dict):
            continue
        given = [(cell, spec) for cell, spec in cells if _cell(row, cell) is not _ABSENT]
        if wrong is not None and not all(
            "default" in spec and _same(spec["default"], _cell(row, cell)) for cell, spec in given
        ):  # a new row may send what the page starts it with
            yield (*path, str(index), *wrong)
        yield from _lists_read_only(items, row, match, (*path, str(index)))


def with_stored_cells(
    schema: Any, data: Any, stored: Any, context: dict[str, Any] | None = None
) -> Any:
    """``data`` with each list item sent without any of its read-only cells (or with a
    cell's ``default`` alone, which the task shows where an item has none), whose other
    values are all those of a stored item no other row is (``stored``: the instance's data),
    given that item's read-only cells back: it is that item, sent back unchanged by a
    client that leaves read-only values out (as OpenAPI clients leave out ``readOnly``
    properties). Without it the item became a new row and lost its ``id``. An item whose
    values differ from every stored item's stays a new row: which item an edited one was is
    unknowable without its read-only cells, and another item's ``id`` is not guessed.

    The items of a list inside an item (its phones) are matched so too, within the stored
    item their row is. The other values are compared without the read-only cells at any
    depth, a null value as none, a group sent empty as one left out, and without what the
    row hides (``context``: what the hide conditions read besides the data), which form-js
    does not send and the instance does not keep. Each row is looked up by its values once
    (``_value_key``): compared with every stored item, 2,000 rows took a minute."""
    if not isinstance(schema, dict) or not isinstance(data, dict):
        return data
    hides: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {}
    for path in form_conditions.hidden_paths(schema, data, context):
        for at, key in enumerate(path):
            if isinstance(key, int):  # hidden within the row path[: at + 1]
                hides.setdefault(path[: at + 1], set()).add(path[at + 1 :])
    return _filled(schema, data, stored if isinstance(stored, Mapping) else {}, (), hides)


_Hides = dict[tuple[Any, ...], set[tuple[Any, ...]]]  # a row's path: the paths it hides


def _filled(
    schema: dict[str, Any],
    data: dict[str, Any],
    stored: Mapping[str, Any],
    at: tuple[Any, ...],
    hides: _Hides,
) -> dict:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return data
    out = dict(data)
    for name, spec in properties.items():
        if not isinstance(spec, dict) or _is_read_only(spec) or name not in data:
            continue
        sent, before, default = data[name], stored.get(name), spec.get("default")
        if isinstance(spec.get("properties"), dict) and isinstance(sent, dict):
            inner = before if isinstance(before, Mapping) else default
            inner = inner if isinstance(inner, Mapping) else {}
            out[name] = _filled(spec, sent, inner, (*at, name), hides)
        items = spec.get("items")
        if isinstance(sent, list) and isinstance(items, dict):
            shown = _shown_items(items, before, default)
            out[name] = _filled_rows(items, sent, shown, (*at, name), hides)
    return out


def _filled_rows(
    items: dict[str, Any],
    sent: list[Any],
    stored: list[Any],
    at: tuple[Any, ...],
    hides: _Hides,
) -> list[Any]:
    cells = _cells(items)
    plain = [isinstance(row, dict) and _sends_no_cell(row, cells) for row in sent]
    matched = _matched(
        cells, [None if p else row for row, p in zip(sent, plain, strict=True)], stored
    )
    used = {id(match) for match, _wrong in matched if match is not None}
    # the items not yet matched, by their values, per parts the rows hide and cells they send
    alike: dict[Any, dict[Any, deque[dict[str, Any]]]] = {}
    rows = list(sent)
    for index, (row, (match, _wrong)) in enumerate(zip(sent, matched, strict=True)):
        if not isinstance(row, dict):
            continue
        if cells and plain[index]:
            hidden = frozenset(hides.get((*at, index), ()))
            given = [(cell, spec) for cell, spec in cells if _cell(row, cell) is not _ABSENT]
            kind = (hidden, tuple(cell for cell, _spec in given))
            if kind not in alike:
                alike[kind] = {}
                for item in stored:
                    if isinstance(item, dict) and id(item) not in used:
                        shown = [_shown_as(item, cell, spec) for cell, spec in given]
                        key = (
                            _value_key(_editable(item, items, hidden)),
                            _value_key(shown, loose=False),
                        )
                        alike[kind].setdefault(key, deque()).append(item)
            sent_cells = [_cell(row, cell) for cell, _spec in given]
            key = (_value_key(_editable(row, items, hidden)), _value_key(sent_cells, loose=False))
            same = alike[kind].get(key)
            while same and id(same[0]) in used:
                same.popleft()
            if same:
                match = same.popleft()
                used.add(id(match))
                row = _with_cells(row, match, cells)
        # the lists inside the row: the item's it is, a new row's from their defaults
        inner = match if isinstance(match, Mapping) else {}
        rows[index] = _filled(items, row, inner, (*at, index), hides)
    return rows


def _sends_no_cell(row: dict[str, Any], cells: list[tuple[tuple[str, ...], dict]]) -> bool:
    """Whether ``row`` sends no read-only value but a cell's ``default`` (what the page
    starts a new row with, which a client may send back): which item it is, its values say."""
    return all(
        _cell(row, cell) is _ABSENT
        or ("default" in spec and _same(spec["default"], _cell(row, cell)))
        for cell, spec in cells
    )


def _shown_items(items: Any, before: Any, default: Any) -> list[Any]:
    """The stored items a list's rows may be: the instance's, and those of the list's default
    (the task page's rows where the instance holds no list) whose read-only values no item of
    the instance's has: the instance started from the default holds those items already,
    and two rows could both be one (two rows of one ``id``, sent or given back)."""
    stored = [*(before if isinstance(before, list) else [])]
    extra = default if isinstance(default, list) else []
    cells = _cells(items)
    if not stored or not extra or not cells:
        return stored + extra

    def shown(item: Any) -> Any:
        return _value_key([_shown_as(item, cell, spec) for cell, spec in cells])

    held = {shown(item) for item in stored if isinstance(item, dict)}
    return stored + [i for i in extra if not isinstance(i, dict) or shown(i) not in held]


def _value_key(value: Any, *, loose: bool = True) -> Any:
    """A hashable key equal for values ``_same`` finds equal (``7`` and ``7.0``, not ``1``
    and ``true``); ``loose``: a null member of an object as none."""
    if value is None or value is _ABSENT:
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("text", value)
    if isinstance(value, dict):
        members = ((key, _value_key(inner, loose=loose)) for key, inner in value.items())
        kept = ((key, inner) for key, inner in members if not (loose and inner is None))
        return ("object", frozenset(kept))
    if isinstance(value, list):
        return ("list", tuple(_value_key(inner, loose=loose) for inner in value))
    return ("other", repr(value))


def _editable(
    value: Any, schema: Any, hidden: Collection[tuple[Any, ...]] = (), at: tuple[Any, ...] = ()
) -> Any:
    """``value`` without its read-only cells, at any depth (the items of its lists too), and
    without the parts at ``hidden``; a group they alone filled (or sent empty) gone, as one
    left out."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(value, dict) and isinstance(properties, dict):
        kept = {}
        for key, inner in value.items():
            spec = properties.get(key)
            if _is_read_only(spec) or (*at, key) in hidden:
                continue
            pruned = _editable(inner, spec, hidden, (*at, key))
            is_group = isinstance(spec, dict) and isinstance(spec.get("properties"), dict)
            if not (is_group and pruned == {}):
                kept[key] = pruned
        return kept
    items = schema.get("items") if isinstance(schema, dict) else None
    if isinstance(value, list) and isinstance(items, dict):
        return [_editable(inner, items, hidden, (*at, i)) for i, inner in enumerate(value)]
    return value


def _with_cells(row: dict[str, Any], item: dict[str, Any], cells: list) -> dict[str, Any]:
    """``row`` with the read-only cells ``item`` holds."""
    filled = deepcopy(row)
    for cell, _spec in cells:
        value = _cell(item, cell)
        if value is _ABSENT:
            continue
        owner = filled
        for key in cell[:-1]:
            owner = owner.setdefault(key, {}) if isinstance(owner, dict) else None
        if isinstance(owner, dict):
            owner[cell[-1]] = deepcopy(value)
    return filled
