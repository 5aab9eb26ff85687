"""Form fields hidden by a simple condition on other fields (form-js ``conditional.hide``).

A Camunda Form hides a field while a FEEL condition on the form's data holds
(``=status = "lost"``), and form-js submits no hidden field, so a required field that is
hidden is not asked for. A JSON Schema has no word for it: ``camunda_forms`` writes the
condition, read here (``parse``), as the field's ``x-hide-if`` annotation
(``{"any": false, "tests": [[["status"], "=", "lost"]]}``); the task page hides and shows the
field as the agent types (``web/static/form_conditions.js`` reads the same annotation), and
completion checks and keeps the data without the hidden fields (``shown_schema``,
``without_hidden``).

The conditions read are comparisons of a variable or field path with a literal (text, number,
``true``, ``false``, ``null``) by ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, a path alone
(true), ``not(path)``, joined by ``and`` or by ``or`` (one of the two). FEEL's own meaning is
kept: ``=`` compares values of one type (text "1" is not the number 1), a missing value is
null, and an ordering of null or of values of different types is null, which hides nothing.
Anything else stays refused at deploy on the field's line.

A field of a list's row is read as form-js reads it in a dynamic list: ``this.kind`` is the
row's own ``kind``, ``parent`` the context around the row, holding the outer scope's item
(so ``parent.x``, as ``parent.this.x``, is the outer row's ``x`` in a nested list and the
root's in a top-level row; ``parent.parent.x`` the root's from a nested row), ``i`` the rows'
1-based positions unless the data holds a variable ``i``, any other name the form's data
from the root (as at top level and inside a group, whose ``path`` scopes nothing in form-js).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from copy import deepcopy
from typing import Any

from jsonschema.validators import validator_for

HIDE = "x-hide-if"
_TOKEN = re.compile(
    r'\s*(?:(?P<text>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>!=|<=|>=|=|<|>)'
    r"|(?P<paren>[()])|(?P<name>[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*))"
)
_LITERALS = {"true": True, "false": False, "null": None}


def parse(feel: str) -> dict[str, Any] | None:
    """The ``x-hide-if`` annotation for the FEEL condition ``feel`` (``=`` before it or not),
    or ``None`` when it is outside what is read here."""
    text = feel.strip()
    text = text[1:] if text.startswith("=") else text
    tokens = _tokens(text)
    if not tokens:
        return None
    connectives = {value for kind, value in tokens if kind == "name" and value in ("and", "or")}
    if len(connectives) > 1:
        return None
    tests = []
    for part in _split(tokens, connectives):
        test = _test(part)
        if test is None:
            return None
        tests.append(test)
    return {"any": connectives == {"or"}, "tests": tests}


def _tokens(text: str) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(text.rstrip()):
        found = _TOKEN.match(text, at)
        if found is None or found.end() == at:
            return None
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        at = found.end()
    return tokens


def _split(tokens: list[tuple[str, str]], connectives: set[str]) -> list[list[tuple[str, str]]]:
    parts: list[list[tuple[str, str]]] = [[]]
    for token in tokens:
        if token[0] == "name" and token[1] in connectives:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _literal(token: tuple[str, str]) -> tuple[bool, Any]:
    kind, value = token
    if kind == "text":
        return True, json.loads(value)
    if kind == "number":
        return True, float(value) if "." in value else int(value)
    if kind == "name" and value in _LITERALS:
        return True, _LITERALS[value]
    return False, None


def _path(token: tuple[str, str]) -> list[str] | None:
    kind, value = token
    if kind != "name" or value in _LITERALS or value in ("and", "or", "not"):
        return None
    return value.split(".")


def _test(part: list[tuple[str, str]]) -> list[Any] | None:
    """One comparison as ``[path, operator, literal]``."""
    if len(part) == 1 and (path := _path(part[0])) is not None:
        return [path, "=", True]
    if len(part) == 4 and part[0] == ("name", "not") and part[1] == ("paren", "("):
        if part[3] == ("paren", ")") and (path := _path(part[2])) is not None:
            return [path, "=", False]
        return None
    if len(part) != 3 or part[1][0] != "op":
        return None
    path, (is_literal, value) = _path(part[0]), _literal(part[2])
    if path is None or not is_literal:
        return None
    return [path, part[1][1], value]


def _value_at(data: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        if isinstance(key, int):
            data = data[key] if isinstance(data, list) and 0 <= key < len(data) else None
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


# form-js reads a condition with a context per scope, ``{this, parent, i, ...data, _this_,
# _parent_, _i_}`` (``buildExpressionContext``): ``this`` the scope's item (the root's data at
# top level), ``i`` the 1-based positions of the rows around the field, outermost first, any
# other name the form's data from the root, in every scope; the data is spread after ``i``,
# so a variable named ``i`` is read, not the positions (``_i_`` is always the positions).
# ``parent`` is the context around the row (null at top level) built so with the outer
# scope's item spread in it (form-js 1.8.8, #1191, ``RepetitionScaffold``): ``parent.x`` is
# the outer row's ``x`` in a nested list's row, the root's in a top-level row, as is
# ``parent.this.x``; ``parent.parent.x`` the root's from a nested row.
_THIS = ("this", "_this_")
_PARENT = ("parent", "_parent_")
_INDEX = ("i", "_i_")
_ANY_I = object()  # ``_resolved``'s data for a check at deploy: any scope may hold an ``i``


class _Positions(tuple):
    """``i``: the 1-based positions of the rows around a field, a list in FEEL."""


class _Context(dict):
    """``parent`` alone: a context, never null, equal to no literal."""


def _positions(scope: tuple[Any, ...]) -> _Positions:
    return _Positions(key + 1 for key in scope if isinstance(key, int))


def _resolved(
    path: list[str], scopes: Sequence[tuple[Any, ...]], data: Any = None
) -> tuple[Any, ...] | _Positions | _Context | None:
    """Where in the form's data the condition's ``path`` reads, for a field within the
    ``scopes`` (the root ``()``, then each list row around the field, innermost last): a
    path, the rows' positions (``i``), a context (``parent`` alone); ``None``: nothing
    (``parent`` at top level, as form-js's null)."""
    level, within = len(scopes) - 1, False
    while path and path[0] in _PARENT:
        if level == 0:
            return None
        level, path, within = level - 1, path[1:], True
        if not path:
            return _Context()
    head, rest = (path[0], path[1:]) if path else ("", [])
    if head in _THIS:
        return (*scopes[level], *rest)
    # a parent context holds its scope's item, the field's own context the form's data
    base = scopes[level] if within else ()
    if head in _INDEX and not (head == "i" and _holds_i(data, base)):
        return None if rest else _positions(scopes[level])
    return (*base, *path)


def _holds_i(data: Any, at: tuple[Any, ...]) -> bool:
    """Whether the object at ``at`` in ``data`` has a key ``i``, a variable over the rows'
    positions."""
    if data is _ANY_I:
        return True
    value = _value_at(data, at)
    return isinstance(value, dict) and "i" in value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})


def _well_formed(test: Any) -> bool:
    """A test as ``parse`` writes it (a hand-written form may hold anything there)."""
    return (
        isinstance(test, list)
        and len(test) == 3
        and isinstance(test[0], list)
        and all(isinstance(key, str) for key in test[0])
        and test[1] in _COMPARISONS
    )


def _holds(test: Any, data: Any, scopes: Sequence[tuple[Any, ...]] = ((),)) -> bool:
    if not _well_formed(test):
        return False  # not a rule this module wrote: it hides nothing
    path, operator, expected = test
    at = _resolved(path, scopes, data)
    if isinstance(at, _Positions):
        value: Any = list(at)
    elif isinstance(at, _Context) or at is None:
        value = at
    else:
        value = _value_at(data, at)
    if operator in ("=", "!="):
        if value is None or expected is None:
            same = value is None and expected is None
        else:
            same = _kind(value) == _kind(expected) and value == expected
        return same if operator == "=" else not same
    if value is None or expected is None or _kind(value) != _kind(expected):
        return False  # null in FEEL: hides nothing
    if not isinstance(value, int | float | str):
        return False
    return {
        "<": value < expected,
        "<=": value <= expected,
        ">": value > expected,
        ">=": value >= expected,
    }[operator]


def hidden(rule: Any, data: Any, scopes: Sequence[tuple[Any, ...]] = ((),)) -> bool:
    """Whether the field with ``x-hide-if`` ``rule`` is hidden for the form's ``data``
    (``scopes``: the list rows around the field, ``_resolved``)."""
    if not isinstance(rule, dict) or not isinstance(rule.get("tests"), list):
        return False
    results = [_holds(test, data, scopes) for test in rule["tests"]]
    return any(results) if rule.get("any") else all(results)


def _has_rules(schema: Any) -> bool:
    return isinstance(schema, dict) and HIDE in json.dumps(schema)


def _ruled(node: Any, at: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every field with ``x-hide-if`` under ``node``, in form order, as (path, rule)."""
    properties = node.get("properties") if isinstance(node, dict) else None
    if not isinstance(properties, dict):
        return []
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, prop in properties.items():
        if isinstance(prop, dict) and HIDE in prop:
            found.append(((*at, name), prop[HIDE]))
        found.extend(_ruled(prop, (*at, name)))
        items = prop.get("items") if isinstance(prop, dict) else None
        found.extend(_ruled(items, (*at, name, ROW)))
    return found


ROW = "[]"  # a list's item in a field's path within the schema (``contacts``, ``[]``, ``name``)


def _placed(
    node: Any, data: Any, at: tuple[Any, ...] = (), scopes: tuple[tuple[Any, ...], ...] = ((),)
) -> list[tuple[tuple[Any, ...], Any, tuple[tuple[Any, ...], ...]]]:
    """Every field with ``x-hide-if`` as ``data`` holds it, in form order, as (path in the
    data, rule, scopes): a field of a list's item once per row (``contacts``, ``1``,
    ``name``), with that row among its scopes."""
    properties = node.get("properties") if isinstance(node, dict) else None
    if not isinstance(properties, dict):
        return []
    found: list[tuple[tuple[Any, ...], Any, tuple[tuple[Any, ...], ...]]] = []
    for name, prop in properties.items():
        path = (*at, name)
        if isinstance(prop, dict) and HIDE in prop:
            found.append((path, prop[HIDE], scopes))
        found.extend(_placed(prop, data, path, scopes))
        items = prop.get("items") if isinstance(prop, dict) else None
        rows = _value_at(data, path)
        if isinstance(items, dict) and isinstance(rows, list):
            for index in range(len(rows)):
                row = (*path, index)
                found.extend(_placed(items, data, row, (*scopes, row)))
    return found


def _without(data: Any, paths: set[tuple[Any, ...]]) -> Any:
    kept = deepcopy(data)
    for path in sorted(paths, key=len):
        owner = _value_at(kept, path[:-1])
        if isinstance(owner, dict):
            owner.pop(path[-1], None)
    return kept


def context_of(schema: Any, instance_data: Any) -> dict[str, Any]:
    """What the conditions read besides the data sent: the instance's values (those a
    read-only field shows, which the task page does not submit, and the variables no field
    shows), not those of the fields the agent fills in, whose value is what was sent."""
    if not _has_rules(schema) or not isinstance(instance_data, dict):
        return {}
    properties = schema.get("properties") or {}
    return {
        name: value
        for name, value in instance_data.items()
        if not isinstance(properties.get(name), dict) or properties[name].get("readOnly") is True
    }


def variables_read(schema: Any, instance_data: Any) -> dict[str, Any]:
    """The instance's values of the variables the conditions read that no field of the form
    shows, for the task page to read them as the server does (only those: the page shows no
    other data): ``x``, and ``this.x`` at top level, ``parent.x`` in a list's row (it read
    the root's ``x`` on the server, null on the page)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(instance_data, dict):
        return {}
    names = set()
    for path, rule in _ruled(schema):
        for test in (rule.get("tests") if isinstance(rule, dict) else None) or []:
            if not _well_formed(test):
                continue
            read = _resolved(test[0], _scopes_of(path), instance_data)
            if type(read) is tuple and read and ROW not in read:
                names.add(read[0])
    return {n: instance_data[n] for n in sorted(names - set(properties)) if n in instance_data}


def _scopes_of(at: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The scopes of the field at ``at`` in the schema: the root, then each list row around
    it (``ROW``)."""
    return [(), *(at[: i + 1] for i, key in enumerate(at[:-1]) if key == ROW)]


def hidden_paths(
    schema: Any, data: Any, context: dict[str, Any] | None = None
) -> set[tuple[str, ...]]:
    """The paths of the fields hidden for ``data`` (the instance's ``context`` under it). A
    hidden field is not submitted, so its value hides or shows no other field: each rule is
    read on the data without the hidden fields' values, until that settles (one answer
    whatever stale value a hidden field still holds, on the task page and through the API
    alike). It was read on every value sent, and then the required fields read again without
    the hidden ones: a field sent was dropped and asked for.

    A read-only cell of a list's row is read so too, but is not among the paths: it is the
    stored item's own value, which the row carries back (``engine.forms.list_read_only``
    checks it), not an answer; left out, the item lost it (its ``id``) when its row hid it.
    A hidden group of a row drops its other fields only, for the same reason."""
    found: set[tuple[Any, ...]] = set()
    for path in _all_hidden(schema, data, context):
        node = _node_at(schema, path)
        if not _in_row(path):
            found.add(path)
        elif not _is_read_only(node):
            found.update(_editable_parts(node, path))
    return found


def _all_hidden(
    schema: Any, data: Any, context: dict[str, Any] | None = None
) -> set[tuple[Any, ...]]:
    data = {**context, **data} if context and isinstance(data, dict) else data
    rules = _placed(schema, data)
    found: set[tuple[Any, ...]] = set()
    for _ in range(len(rules) + 1):  # a chain of n rules settles in n passes
        seen = _without(data, found) if found else data
        now = {path for path, rule, scopes in rules if hidden(rule, seen, scopes)}
        if now == found:
            break
        found = now
    return found


def _node_at(schema: Any, path: tuple[Any, ...]) -> Any:
    """The schema of the field at ``path`` in the data (a list's row by its index)."""
    node = schema
    for key in path:
        if isinstance(key, int):
            node = node.get("items") if isinstance(node, dict) else None
        else:
            properties = node.get("properties") if isinstance(node, dict) else None
            node = properties.get(key) if isinstance(properties, dict) else None
    return node


def _in_row(path: tuple[Any, ...]) -> bool:
    return any(isinstance(key, int) for key in path)


def _is_read_only(node: Any) -> bool:
    return isinstance(node, dict) and node.get("readOnly") is True


def _editable_parts(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """What a hidden field of a list's row drops: the field, or, for a group holding
    read-only cells, its other fields (at any depth), the cells staying with the item (the
    stored item's values, which the row carries back); dropped whole, a hidden group lost
    them, and the item its ``id``."""
    properties = node.get("properties") if isinstance(node, dict) else None
    if not isinstance(properties, dict) or not _has_read_only(node):
        return [path]
    parts: list[tuple[Any, ...]] = []
    for name, prop in properties.items():
        if not _is_read_only(prop):
            parts.extend(_editable_parts(prop, (*path, name)))
    return parts


def _has_read_only(node: Any) -> bool:
    """Whether a group holds a read-only field (inside its groups too)."""
    properties = node.get("properties") if isinstance(node, dict) else None
    if not isinstance(properties, dict):
        return False
    return any(_is_read_only(prop) or _has_read_only(prop) for prop in properties.values())


def _read_only_part(node: dict[str, Any]) -> dict[str, Any]:
    """A hidden group of a list's row as completion checks it: its read-only cells alone
    (the row carries them), none required."""
    kept = {key: value for key, value in node.items() if key not in ("properties", "required")}
    kept["properties"] = {
        name: prop if _is_read_only(prop) else _read_only_part(prop)
        for name, prop in node["properties"].items()
        if _is_read_only(prop) or _has_read_only(prop)
    }
    return kept


def shown_schema(schema: Any, data: Any, context: dict[str, Any] | None = None) -> Any:
    """``schema`` without the fields hidden for the submitted ``data`` (not in
    ``properties``, not ``required``; a read-only cell of a row, which the row carries, not
    ``required`` only); ``schema`` itself when it hides nothing."""
    if not _has_rules(schema):
        return schema
    shown = deepcopy(schema)
    found = _all_hidden(schema, data, context)
    if found:
        tuples = "prefixItems" not in validator_for(schema).VALIDATORS
        _drop(shown, data, found, (), tuples)
    return shown


def _drop(
    node: Any, data: Any, hidden: set[tuple[Any, ...]], at: tuple[Any, ...], tuples: bool
) -> None:
    """Take the ``hidden`` fields out of ``node`` (the schema of ``data`` at ``at``). A list
    whose rows hide different fields gets a schema per row: ``prefixItems`` (draft 2020-12),
    or ``items`` as a list (``additionalItems`` the item's schema) before it."""
    properties = node.get("properties") if isinstance(node, dict) else None
    if isinstance(properties, dict):
        for name in list(properties):
            if (*at, name) in hidden:
                prop = properties[name]
                if not _in_row(at) or not (_is_read_only(prop) or _has_read_only(prop)):
                    del properties[name]
                elif not _is_read_only(prop):  # a row's read-only cells stay: the row carries them
                    properties[name] = _read_only_part(prop)
                if isinstance(node.get("required"), list):
                    node["required"] = [n for n in node["required"] if n != name]
                    if not node["required"]:
                        del node["required"]
            else:
                inner = data.get(name) if isinstance(data, dict) else None
                _drop(properties[name], inner, hidden, (*at, name), tuples)
    items = node.get("items") if isinstance(node, dict) else None
    depth = len(at)
    if not isinstance(items, dict) or not isinstance(data, list):
        return
    if not any(len(p) > depth and p[:depth] == at and isinstance(p[depth], int) for p in hidden):
        return
    rows = []
    for index, row in enumerate(data):
        one = deepcopy(items)
        _drop(one, row, hidden, (*at, index), tuples)
        rows.append(one)
    if tuples:
        node["items"], node["additionalItems"] = rows, items
    else:
        node["prefixItems"] = rows


def without_hidden(schema: Any, data: Any, context: dict[str, Any] | None = None) -> Any:
    """``data`` without the values of the fields hidden for it (form-js submits none)."""
    if not _has_rules(schema) or not isinstance(data, dict):
        return data
    return _without(data, hidden_paths(schema, data, context))


def _reads(test_path: list[str], at: tuple[str, ...], field: tuple[str, ...]) -> bool:
    """Whether a condition reading ``test_path`` on the field at ``at`` reads ``field``'s
    value (the field itself, an object holding it, or a value inside it), a list's row read
    as any row (``ROW``)."""
    read = _resolved(test_path, _scopes_of(at), _ANY_I)  # ``i`` may be a field
    if not isinstance(read, tuple) or isinstance(read, _Positions):
        return False
    shorter = min(len(read), len(field))
    return tuple(read[:shorter]) == field[:shorter]


def cycles(schema: Any) -> list[list[tuple[str, ...]]]:
    """The fields whose hide conditions read each other round in a circle (``a`` hidden by a
    condition on ``b``, ``b`` by one on ``a``; or a field by one on itself), each circle as
    its fields' paths in form order. Such a form has no one answer for what is shown: the
    page and the server would flip the fields on every pass."""
    rules = [(path, rule) for path, rule in _ruled(schema) if isinstance(rule, dict)]
    reads: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for path, rule in rules:
        tests = [t for t in rule.get("tests") or [] if _well_formed(t)]
        reads[path] = {
            other for other, _rule in rules if any(_reads(t[0], path, other) for t in tests)
        }
    order = {path: index for index, (path, _rule) in enumerate(rules)}
    # what each field's conditions reach, walked once per field: asked of every pair, a form
    # of 400 conditions each on the field before took half a minute to deploy
    reached = {path: _reached(reads, path) for path in reads}
    found: list[list[tuple[str, ...]]] = []
    placed: set[tuple[str, ...]] = set()
    for path, _rule in rules:
        if path in placed:
            continue
        circle = sorted(
            (other for other in reached[path] if path in reached[other]),
            key=order.__getitem__,
        )
        if circle and (len(circle) > 1 or path in reads[path]):
            found.append(circle)
            placed.update(circle)
    return found


def _reached(
    reads: dict[tuple[str, ...], set[tuple[str, ...]]], start: tuple[str, ...]
) -> set[tuple[str, ...]]:
    """The fields read from ``start`` through one condition or more (``start`` itself when
    it is in a circle)."""
    seen: set[tuple[str, ...]] = set()
    todo = list(reads.get(start, ()))
    while todo:
        at = todo.pop()
        if at not in seen:
            seen.add(at)
            todo.extend(reads.get(at, ()))
    return seen


def cycle_problems(schema: Any) -> list[str]:
    """One sentence per circle of hide conditions, naming its fields (``contact.phone`` for a
    nested one), for ``engine.checks`` to put on the user task."""
    said = []
    for circle in cycles(schema):
        names = [".".join(path).replace(f".{ROW}.", "[].") for path in circle]
        if len(names) == 1:
            said.append(
                f"the field {names[0]!r} is hidden by a condition on its own value "
                "(conditional.hide): hiding it empties the value that hid it, so it would "
                "show and hide by turns; base the condition on another field"
            )
            continue
        listed = ", ".join(repr(n) for n in names)
        said.append(
            f"the fields {listed} are hidden by conditions on each other in a cycle "
            "(conditional.hide): hiding one changes what hides the others, so no one answer "
            "says which are shown; base at least one of the conditions on a field outside "
            "the cycle"
        )
    return said
