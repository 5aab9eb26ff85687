"""A DMN ``typeRef`` that names no type: a typo (``numbr``) deployed, and the column's values
went unchecked (``engine.dmn_checks`` checks values against the types it knows and leaves the
rest alone, as it must for a file's own ``itemDefinition``).

A typeRef is known when it is one of FEEL's types, XML Schema's built-in types (DMN 1.1 and
Camunda 7 write those) or an ``itemDefinition`` (or ``itemComponent``) of the file, with or
without a prefix (``feel:number``, ``xsd:string``, ``tns:tLeadTier``); a qualified name in a
file that imports other models may name one of theirs and is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from engine.near_ids import meant

_FEEL = {
    *("number", "string", "boolean", "date", "time", "dateTime", "date and time"),
    *("dayTimeDuration", "yearMonthDuration", "duration", "days and time duration"),
    *("years and months duration", "context", "list", "range", "function", "Any", "Null"),
}
_XSD = {
    *("integer", "int", "long", "short", "byte", "double", "decimal", "float"),
    *("positiveInteger", "negativeInteger", "nonNegativeInteger", "nonPositiveInteger"),
    *("unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "normalizedString"),
    *("token", "anyURI", "QName", "base64Binary", "hexBinary", "gYear", "gYearMonth"),
    *("gMonth", "gMonthDay", "gDay", "language", "Name", "NCName", "ID", "anyType"),
    "anySimpleType",
}
KNOWN = frozenset(_FEEL | _XSD)


def type_ref_problems(tree: Any, report: Callable[[Any, str], None]) -> None:
    """Each ``typeRef`` attribute of the file naming no type, said on its element (or, when
    that has no id, on the nearest one that has: an ``inputExpression`` written without)."""
    locals_ = [(e, etree.QName(e).localname) for e in tree.iter() if isinstance(e.tag, str)]
    own = {
        (item.get("name") or "").strip()
        for item, local in locals_
        if local in ("itemDefinition", "itemComponent")
    } - {""}
    imports = any(local == "import" for _, local in locals_)
    for element in tree.iter():
        written = element.get("typeRef") if isinstance(element.tag, str) else None
        if written is None:
            continue
        name = " ".join(written.split())
        local = name.rsplit(":", 1)[-1] if ":" in name and " " not in name else name
        if not name or local in KNOWN or name in own or local in own:
            continue
        if imports and ("." in name or ":" in name):
            continue  # a type of an imported model (``model.tCustomer``): not ours to know
        if local.lower() in {k.lower() for k in KNOWN}:
            guess: str | None = next(k for k in KNOWN if k.lower() == local.lower())
        else:
            guess = meant(local, KNOWN | own)
        owner = element
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        report(
            owner if owner is not None else element,
            f"has typeRef {written!r}, which names no type"
            + (f": did you mean {guess!r}?" if guess else ";")
            + " write one of FEEL's (number, string, boolean, date, time, dateTime, "
            "dayTimeDuration, yearMonthDuration, Any), of XML Schema's (integer, long, double) "
            "or the name of an itemDefinition of this file",
        )
