"""Forms drawn in the diagram by Camunda 7, Flowable and Activiti, as the task's JSON Schema.

Camunda 7 writes a user task's form as ``<camunda:formData>`` with ``<camunda:formField id
label type defaultValue datePattern>`` (enum values as ``<camunda:value id name>``, rules as
``<camunda:validation><camunda:constraint name config>``); Flowable and Activiti as
``<flowable:formProperty id name type required readable writable default datePattern>`` with
``<flowable:value id name>``. Such a form becomes the JSON-Schema form a process owner would
have written: titles from labels, ``required``, enums as ``oneOf`` of ``{"const", "title"}``,
``minimum``/``maximum``/``minLength``/``maxLength``, typed defaults, dates as ``"format":
"date"`` (``"date-time"`` when the pattern has a time), read-only fields as ``"readOnly":
true`` (shown, never taken from the agent: ``engine.forms``), and the data under the field
ids. The parser keeps it on the task spec (``DIAGRAM_FORM`` in its extensions, ``form_of``),
so the deploy checks it as any form and the work item carries it.

A field type the engine it was drawn for does not register (``integer``, ``Long``, ``number``
on a Camunda 7 field) is refused on the field with the type meant (``did you mean 'long'?``):
``integer`` deployed as a whole number though Camunda refuses the diagram. What has no
faithful JSON Schema (custom types and validators, ``${…}`` expressions, a field
kept under another variable, hidden fields) is refused on its user task, and so is a task
with both a drawn form and ``formJsonSchemaFilename`` (``problems``, from ``foreign.py``).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS
from engine.camunda_forms import CAMUNDA_FORM_ID, bound_forms, form_of_file
from engine.near_ids import meant

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"  # Camunda 7.0-7.3 wrote camunda: for this one
FLOWABLE_NS = "http://flowable.org/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_TAGS = {
    "formData": (CAMUNDA_NS, ACTIVITI_NS),
    "formProperty": (CAMUNDA_NS, ACTIVITI_NS, FLOWABLE_NS),
}
DIAGRAM_FORM = "diagramForm"  # the key of the converted form in a task spec's extensions
DRAFT = "https://json-schema.org/draft/2020-12/schema"
_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "long": {"type": "integer"},
    "double": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string"},
    "enum": {"type": "string"},
}
# The form types each engine registers: Camunda 7's are string, long, boolean, date and enum
# (any other is a custom type it refuses unless registered); Flowable and Activiti add double.
# ``integer`` is none of them (Camunda refuses it at deploy): it deployed here as a whole
# number, and a diagram that ran in Dialflow failed in the engine it was drawn for.
_CAMUNDA_TYPES = ("string", "long", "boolean", "date", "enum")
_ACTIVITI_TYPES = (*_CAMUNDA_TYPES, "double")
# What people write for those types, as the type meant (a decimal one is ``double``).
_SAID_AS = {
    **dict.fromkeys(("integer", "int", "short", "bigint", "biginteger", "number"), "long"),
    **dict.fromkeys(("double", "float", "decimal", "bigdecimal", "real"), "double"),
    **dict.fromkeys(("bool", "checkbox"), "boolean"),
    **dict.fromkeys(("text", "str", "textarea", "textfield", "varchar"), "string"),
    **dict.fromkeys(("datetime", "timestamp", "localdate", "time"), "date"),
    **dict.fromkeys(("select", "dropdown", "radio", "choice", "options"), "enum"),
}
_JAVA_DATE = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_DEFAULT_DATE_PATTERN = "dd/MM/yyyy"  # Camunda's and Flowable's when a field names none
_EXPRESSION = re.compile(r"[$#]\{")
_FIELD_PARTS = {"properties", "validation", "value"}

Problem = tuple[Any, str]  # (element the problem is in, sentence)


class _Refused(Exception):
    def __init__(self, element: Any, message: str) -> None:
        super().__init__(message)
        self.element = element
        self.message = message


def form_elements(task: Any) -> list[Any]:
    """The ``formData`` / ``formProperty`` elements in ``task``'s extension elements."""
    found = []
    for extensions in task.iterfind(f"{{{BPMN_NS}}}extensionElements"):
        for child in extensions:
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            if qname.namespace in FORM_TAGS.get(qname.localname, ()):
                found.append(child)
    return found


def is_drawn_form(element: Any) -> bool:
    """True for a ``formData`` / ``formProperty`` of a user task (converted, not refused)."""
    extensions = element.getparent()
    task = extensions.getparent() if extensions is not None else None
    return (
        task is not None
        and etree.QName(extensions).localname == "extensionElements"
        and task.tag == f"{{{BPMN_NS}}}userTask"
        and element in form_elements(task)
    )


def diagram_form(task: Any) -> dict[str, Any] | None:
    """The JSON-Schema form drawn on the user task ``task`` (an lxml element); ``None`` when it
    has none or it cannot be converted (``problems`` says why)."""
    elements = form_elements(task)
    if not elements:
        return None
    schema, refused = _convert(elements)
    return None if refused else schema


def problems(task: Any) -> list[Problem]:
    """What keeps the form drawn on ``task`` from becoming its JSON-Schema form."""
    elements = form_elements(task)
    if not elements:
        return []
    found: list[Problem] = []
    kinds = sorted({_written(e) for e in elements})
    if len(kinds) > 1:
        found.append(
            (
                elements[1],
                f"{' and '.join(kinds)} on {_label(task)} draw two forms; a task shows one: "
                "keep the fields of one of them",
            )
        )
    elif len(elements) > 1 and etree.QName(elements[0]).localname == "formData":
        found.append(
            (
                elements[1],
                f"{kinds[0]} is written {len(elements)} times on {_label(task)}; a task shows "
                "one form: write all its fields in one",
            )
        )
    name = _file_form(task)
    if name is not None:
        written = _written(elements[0])
        found.append(
            (
                elements[0],
                f"{_label(task)} has both a form drawn in the diagram ({written}) and "
                f"formJsonSchemaFilename {name!r}; a task shows one form: remove the "
                f"formJsonSchemaFilename property to use the drawn form, or the {written} "
                f"to use {name!r}",
            )
        )
    if not found:
        _schema, refused = _convert(elements)
        found += [(r.element, f"{_label(task)}: {r.message}") for r in refused]
    return found


def form_of(spec: Any, forms: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The task spec's form: its ``formJsonSchemaFilename`` and that file's schema, else the
    ``.form`` file its Camunda 8 ``formId`` names and that form as a JSON Schema, else the
    form drawn in the diagram (no file name)."""
    extensions = spec.extensions or {}
    name = extensions.get("properties", {}).get("formJsonSchemaFilename")
    if name:
        return name, forms.get(name)
    form_id = extensions.get(CAMUNDA_FORM_ID)
    if form_id:
        return form_of_file(form_id, bound_forms(extensions, forms))
    return None, extensions.get(DIAGRAM_FORM)


def form_hint(local: str, owner: Any, value: str | None) -> str | None:
    """The Dialflow way for a form setting ``local`` (``formKey``, a form on no user task)."""
    kind = etree.QName(owner).localname
    if local in ("formKey", "formRef") and value is not None:
        return (
            f"it points at {_form_key_kind(local, value)}, which Dialflow cannot read: write "
            "the form's fields as a JSON-Schema form (a .json file of the deploy, named by the "
            "task's formJsonSchemaFilename property), or draw them in the diagram as "
            "<camunda:formData> (or <flowable:formProperty>) fields, which Dialflow turns into "
            "that form"
        )
    if local in FORM_TAGS and kind == "startEvent":
        return (
            "a process starts with the data sent with it (POST /api/v1/process-instances "
            '"data"); draw the form on a user task after the start, where Dialflow shows it'
        )
    if local in FORM_TAGS and kind != "userTask":
        return "Dialflow shows forms on user tasks: draw the form on a user task"
    return None


def _form_key_kind(local: str, value: str) -> str:
    key = value.strip()
    if local == "formRef" or key.startswith("camunda-forms:"):
        return "a Camunda Form (.form file) kept outside the diagram"
    if key.startswith("embedded:"):
        return "an embedded HTML form kept in the web application"
    if key.startswith("app:") or "/" in key or key.endswith(".html"):
        return "an external page or HTML form of the web application"
    if _EXPRESSION.search(key):
        return "a form chosen by an expression when the task runs"
    return "a form definition kept outside the diagram"


# -- conversion -------------------------------------------------------------------------------


def _convert(elements: list[Any]) -> tuple[dict[str, Any], list[_Refused]]:
    """The form's JSON Schema, and what of it has none (one refusal per field at most)."""
    refused: list[_Refused] = []
    properties: dict[str, Any] = {}
    required: list[str] = []
    fields = [
        field
        for element in elements
        for field in (
            [element]
            if etree.QName(element).localname == "formProperty"
            else [
                c
                for c in element
                if isinstance(c.tag, str) and etree.QName(c).localname == "formField"
            ]
        )
    ]
    if not fields:
        refused.append(
            _Refused(elements[0], "the drawn form has no fields; draw them or remove the form")
        )
    for field in fields:
        try:
            name, prop, is_required = (
                _form_field(field)
                if etree.QName(field).localname == "formField"
                else _form_property(field)
            )
            if name in properties:
                raise _Refused(
                    field,
                    f"field {name!r} is drawn twice; the data keeps one value per field id, so "
                    "give each field its own id",
                )
        except _Refused as refusal:
            refused.append(refusal)
            continue
        properties[name] = prop
        if is_required:
            required.append(name)
    schema: dict[str, Any] = {"$schema": DRAFT, "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema, refused


def _form_field(field: Any) -> tuple[str, dict[str, Any], bool]:
    """A Camunda 7 ``<formField>``: its id, its schema and whether it is required."""
    name = _field_id(field)
    kind = field.get("type") or "string"
    prop = _titled(field.get("label"), _typed(field, name, kind, field.get("datePattern")))
    required = readonly = False
    for part in field:
        if not isinstance(part.tag, str):
            continue
        local = etree.QName(part).localname
        if local not in _FIELD_PARTS:
            raise _Refused(
                part,
                f"field {name!r} holds <{part.prefix}:{local}>, which Dialflow does not read; "
                "remove it",
            )
        if local == "properties":
            extra = {
                p.get("id"): p.get("value") for p in part if isinstance(p.tag, str) and p.get("id")
            }
            if extra:
                prop["x-properties"] = extra
        if local == "validation":
            for constraint in part:
                if isinstance(constraint.tag, str):
                    rule = _constraint(constraint, name, prop)
                    required = required or rule == "required"
                    readonly = readonly or rule == "readonly"
    if readonly:
        prop["readOnly"] = True
    default = field.get("defaultValue")
    if default is not None:
        prop["default"] = _default(field, name, prop, kind, default, field.get("datePattern"))
    return name, prop, required and not readonly


def _form_property(field: Any) -> tuple[str, dict[str, Any], bool]:
    """A Flowable / Activiti ``<formProperty>``: its id, its schema and whether required."""
    name = _field_id(field)
    variable = field.get("variable")
    if variable and variable != name:
        raise _Refused(
            field,
            f"field {name!r} keeps its value in the variable {variable!r}; Dialflow keeps a "
            f'field\'s data under its id: name the field {variable!r} (id="{variable}") and '
            "remove variable",
        )
    if field.get("expression"):
        raise _Refused(
            field,
            f"field {name!r} takes its value from the expression {field.get('expression')!r}, "
            "which Dialflow does not evaluate; set the variable in a script task before the "
            "task and remove expression",
        )
    if _flag(field, name, "readable", True) is False:
        raise _Refused(
            field,
            f'field {name!r} is readable="false" (a hidden field); Dialflow shows every field '
            "of a form: remove readable to show it, or remove the field and set the variable "
            "in a script task",
        )
    kind = field.get("type") or "string"
    prop = _titled(field.get("name"), _typed(field, name, kind, field.get("datePattern")))
    readonly = _flag(field, name, "writable", True) is False
    if readonly:
        prop["readOnly"] = True
    default = field.get("default")
    if default is not None:
        prop["default"] = _default(field, name, prop, kind, default, field.get("datePattern"))
    return name, prop, bool(_flag(field, name, "required", False)) and not readonly


def _titled(label: str | None, prop: dict[str, Any]) -> dict[str, Any]:
    """``prop`` with the field's label as its title (first, as a process owner writes it)."""
    return {"title": label, **prop} if label else prop


def _field_id(field: Any) -> str:
    name = (field.get("id") or "").strip()
    if not name:
        raise _Refused(
            field, "a field of the drawn form has no id; give it the id to keep its data under"
        )
    if _EXPRESSION.search(name):
        raise _Refused(field, f"field id {name!r} is an expression; write the variable's name")
    return name


def _flag(field: Any, name: str, attribute: str, default: bool) -> bool:
    value = field.get(attribute)
    if value is None:
        return default
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise _Refused(
        field,
        f'field {name!r} has {attribute}={value!r}; Dialflow reads "true" or "false" only '
        "(an expression is not evaluated)",
    )


def _typed(field: Any, name: str, kind: str, pattern: str | None) -> dict[str, Any]:
    qname = etree.QName(field)
    java = qname.localname == "formProperty" and qname.namespace != CAMUNDA_NS
    known = _ACTIVITI_TYPES if java else _CAMUNDA_TYPES
    if kind not in known:
        engine = "Activiti" if qname.namespace == ACTIVITI_NS else "Flowable"
        raise _Refused(field, _unknown_type(name, kind, known, engine if java else "Camunda 7"))
    prop = dict(_TYPES[kind])
    if kind == "date":
        prop["format"] = "date-time" if _has_time(pattern or _DEFAULT_DATE_PATTERN) else "date"
    if kind == "enum":
        values = [
            v for v in field if isinstance(v.tag, str) and etree.QName(v).localname == "value"
        ]
        choices = [(v.get("id"), v.get("name") or v.get("id")) for v in values]
        if not choices or any(not value for value, _title in choices):
            raise _Refused(
                field,
                f"enum field {name!r} "
                + ("has a value without an id" if choices else "lists no values")
                + '; list each choice as <value id="…" name="…"/>',
            )
        ids = [value for value, _title in choices]
        twice = sorted({value for value in ids if ids.count(value) > 1})
        if twice:
            raise _Refused(
                field,
                f"enum field {name!r} lists the value {twice[0]!r} twice; list each once",
            )
        prop["oneOf"] = [{"const": value, "title": title} for value, title in choices]
    return prop


def _unknown_type(name: str, kind: str, known: tuple[str, ...], engine: str) -> str:
    """Why field ``name`` of type ``kind`` is refused, with the type meant when there is one
    (``integer``: ``long``; ``Long``: ``long``; ``strng``: ``string``)."""
    folded = kind.strip().lower().replace("_", "").replace("-", "")
    guess = next((k for k in known if k == folded), None) or _SAID_AS.get(folded)
    if folded == "number" and "double" in known:
        guess = "double"  # a number with decimals or without, which double holds
    if guess is None:
        guess = meant(kind.strip(), known)
    listed = ", ".join(known)
    if guess == "double" and guess not in known:
        return (
            f"field {name!r} has the type {kind!r}, which {engine} has no form type for (its "
            f"types are {listed}): use long for a whole number, or write the form as a "
            "JSON-Schema form (formJsonSchemaFilename) for a number with decimals"
        )
    if guess is not None:
        return (
            f"field {name!r} has the type {kind!r}, which {engine} has no form type for: did "
            f"you mean {guess!r}? (its types are {listed})"
        )
    return (
        f"field {name!r} has the custom type {kind!r}, which Dialflow has no widget or check "
        f"for; use {listed}, or write the form as a JSON-Schema form (formJsonSchemaFilename)"
    )


def _constraint(constraint: Any, name: str, prop: dict[str, Any]) -> str:
    """Apply one ``<constraint name config>`` to ``prop``; its name."""
    rule = (constraint.get("name") or "").strip()
    config = (constraint.get("config") or "").strip()
    if rule in ("required", "readonly"):
        return rule
    if rule == "validator":
        raise _Refused(
            constraint,
            f"field {name!r} is checked by the validator {config!r}, Java code Dialflow cannot "
            "run; express the rule with minlength, maxlength, min or max, or check the data in "
            "a script task after the task",
        )
    limits = {
        "minlength": "minLength",
        "maxlength": "maxLength",
        "min": "minimum",
        "max": "maximum",
    }
    if rule not in limits:
        raise _Refused(
            constraint,
            f"field {name!r} has the constraint {rule!r}, a validator of the Java engine's own "
            "configuration Dialflow cannot run; use required, readonly, minlength, maxlength, "
            "min or max",
        )
    numeric = rule in ("min", "max")
    wanted = ("integer", "number") if numeric else ("string",)
    if prop.get("type") not in wanted or "oneOf" in prop or "format" in prop:
        raise _Refused(
            constraint,
            f"field {name!r} has the constraint {rule} but is no "
            + ("number (long or double)" if numeric else "text (string)")
            + "; "
            + (
                "bound a text's length with minlength and maxlength"
                if numeric
                else "bound a number with min and max"
            ),
        )
    try:
        limit: float = _number(config) if numeric and prop["type"] == "number" else int(config)
    except ValueError:
        raise _Refused(
            constraint,
            f"field {name!r} has {rule} config={config!r}, which is no "
            + ("number" if prop["type"] == "number" else "whole number")
            + " (an expression is not evaluated); write the limit itself",
        ) from None
    if not numeric and limit < 0:
        raise _Refused(constraint, f"field {name!r} has {rule} {config!r}; a length is 0 or more")
    prop[limits[rule]] = limit
    return rule


def _default(
    field: Any, name: str, prop: dict[str, Any], kind: str, value: str, pattern: str | None
) -> Any:
    """The default ``value`` (text in the diagram) as the field's JSON value."""
    if _EXPRESSION.search(value):
        raise _Refused(
            field,
            f"field {name!r} has the default {value!r}, an expression Dialflow does not "
            "evaluate in a form; write the value itself, or leave the default out",
        )
    try:
        if prop["type"] == "integer":
            return int(value.strip())
        if prop["type"] == "number":
            return _number(value)
        if prop["type"] == "boolean":
            flag = value.strip().lower()
            if flag not in ("true", "false"):
                raise ValueError(value)
            return flag == "true"
        if kind == "date":
            moment = _date_default(value.strip(), pattern or _DEFAULT_DATE_PATTERN)
            if prop["format"] == "date":
                return moment.date().isoformat()
            if moment.tzinfo is None:
                raise _Refused(
                    field,
                    f"field {name!r} has the default {value!r}, a date and time without its "
                    "offset, and the diagram does not say its time zone; write it in ISO 8601 "
                    "with its offset, such as '2026-06-01T10:00:00+08:00'",
                )
            return moment.isoformat()
    except ValueError:
        expected = {
            "integer": "a whole number",
            "number": "a number",
            "boolean": "true or false",
        }.get(prop["type"], f"a date written as {pattern or _DEFAULT_DATE_PATTERN!r} or ISO 8601")
        raise _Refused(
            field, f"field {name!r} has the default {value!r}, which is not {expected}"
        ) from None
    if "oneOf" in prop and value not in [c["const"] for c in prop["oneOf"]]:
        ids = ", ".join(repr(c["const"]) for c in prop["oneOf"])
        raise _Refused(
            field,
            f"enum field {name!r} has the default {value!r}, which is none of its values "
            f"({ids}); write one of their ids",
        )
    return value


def _number(text: str) -> float:
    """``text`` as a finite number (JSON has no NaN or infinity)."""
    number = float(text.strip())
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _has_time(pattern: str) -> bool:
    return bool(re.search(r"[HhKkmsaS]", re.sub(r"'[^']*'", "", pattern)))


def _date_default(value: str, pattern: str) -> datetime:
    """A date default written in the field's Java ``pattern`` (or ISO 8601)."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return datetime.strptime(value, _strptime(pattern))


def _strptime(pattern: str) -> str:
    tokens = re.findall(r"yyyy|yy|MM|dd|HH|mm|ss|[A-Za-z]+|[^A-Za-z]+", pattern)
    out = []
    for token in tokens:
        if token in _JAVA_DATE:
            out.append(_JAVA_DATE[token])
        elif token.isalpha():
            raise ValueError(pattern)
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


# -- naming -----------------------------------------------------------------------------------


def _written(element: Any) -> str:
    qname = etree.QName(element)
    prefix = (
        element.prefix
        or {
            CAMUNDA_NS: "camunda",
            ACTIVITI_NS: "activiti",
            FLOWABLE_NS: "flowable",
        }[qname.namespace]
    )
    return f"<{prefix}:{qname.localname}>"


def _label(task: Any) -> str:
    return f"userTask {task.get('id')!r}"


def _file_form(task: Any) -> str | None:
    """The ``formJsonSchemaFilename`` property of ``task``, if it has one."""
    for prop in task.iter(f"{{{SPIFF_NS}}}property"):
        value = (prop.get("value") or "").strip()
        if prop.get("name") == "formJsonSchemaFilename" and value:
            return value
    return None
