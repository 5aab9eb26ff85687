"""DMN files checked against the XSD of their DMN version, each error on its element.

SpiffWorkflow 3.2 ships the schemas of DMN 1.1, 1.2 and 1.3 but checks a DMN file against
them only when its parser has a BPMN validator, which Dialflow's does not (BPMN files are
checked in ``engine.xsd_problems``): a decision table without an output, an input without its
expression or a hit policy DMN does not know deployed, and failed at run time or decided
wrongly. Its DMN 1.2 schema does not load (it imports the DMN 1.2 DI schema where the
diagram's ``DMNDI`` schema belongs): here that schema is read with the diagram part left
unchecked, which no decision depends on. A file of a DMN version SpiffWorkflow ships no
schema for (1.4, 1.5) is not checked by a schema; ``engine.dmn_checks`` still checks it.
"""

from __future__ import annotations

import copy
import functools
import re
from collections import Counter
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS

from engine.errors import problem

_XSD = "http://www.w3.org/2001/XMLSchema"
DMN12 = "http://www.omg.org/spec/DMN/20180521/MODEL/"
DMN12_DMNDI = "http://www.omg.org/spec/DMN/20180521/DMNDI/"
VERSIONS = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "DMN 1.1",
    DMN12: "DMN 1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "DMN 1.3",
}
_NS = re.compile(r"\{https?://www\.omg\.org/spec/DMN/[^}]*\}")


@functools.cache
def _schema(namespace: str) -> etree.XMLSchema | None:
    """The schema of a DMN model namespace, loaded once; None when none is shipped."""
    path = SCHEMAS.get(namespace)
    if path is None:
        return None
    tree = etree.parse(path)
    if namespace == DMN12:
        tree = _without_dmndi(tree)
    return etree.XMLSchema(tree)


def _without_dmndi(tree: Any) -> Any:
    """DMN 1.2's schema with its diagram (``dmndi:DMNDI``) taken as anything of that
    namespace, unchecked: the file SpiffWorkflow ships under that name is another schema."""
    tree = copy.deepcopy(tree)
    root = tree.getroot()
    for imported in root.findall(f"{{{_XSD}}}import"):
        if imported.get("namespace") == DMN12_DMNDI:
            root.remove(imported)
    for ref in root.iter(f"{{{_XSD}}}element"):
        if ref.get("ref") == "dmndi:DMNDI":
            anything = etree.Element(
                f"{{{_XSD}}}any",
                namespace=DMN12_DMNDI,
                processContents="skip",
                minOccurs="0",
                maxOccurs="1",
            )
            ref.getparent().replace(ref, anything)
    return tree


def has_schema(tree: Any) -> bool:
    return etree.QName(tree).namespace in VERSIONS


def dmn_xsd_problems(name: str, tree: Any) -> list[dict[str, Any]]:
    """Every error the schema of the file's DMN version finds, on the element it is in (by
    the error's XPath: a file written on one line has all its elements on one line), or on
    its nearest ancestor with an id. Nothing for a version without a shipped schema."""
    namespace = etree.QName(tree).namespace or ""
    schema = _schema(namespace)
    if schema is None or schema.validate(tree):
        return []
    root = tree.getroottree()
    found = []
    ids = Counter(e.get("id") for e in tree.iter() if isinstance(e.tag, str) and e.get("id"))
    for error in schema.error_log:
        bad_id = _BAD_ID.search(error.message)
        if bad_id and ids[bad_id.group(1)] > 1:
            continue  # an id given twice: engine.dmn_checks names the element it copies
        element = _element_at(root, error.path)
        if _table_without_output(element):
            continue  # said by engine.dmn_checks, on the table, for every DMN version
        owner = element
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        message = _NS.sub("", error.message)
        found.append(
            problem(
                f"{name}: {_plain(message, element)} ({VERSIONS[namespace]} schema)",
                element_id=owner.get("id") if owner is not None else None,
                line=element.sourceline if element is not None else error.line,
                file=name,
            )
        )
    return found


def _table_without_output(element: Any) -> bool:
    """A rule where the schema wanted an output column first: the table has none."""
    if element is None or etree.QName(element).localname != "rule":
        return False
    table = element.getparent()
    return table is not None and not any(
        isinstance(c.tag, str) and etree.QName(c).localname == "output" for c in table
    )


def _element_at(root: Any, path: str | None) -> Any:
    if not path:
        return None
    try:
        found = root.xpath(path)
    except etree.XPathError:
        return None
    return found[0] if found and isinstance(found[0], etree._Element) else None


_MISSING = re.compile(r"Missing child element\(s\)\. Expected is (?:one of )?\( ?([^)]*)\)")
_UNEXPECTED = re.compile(r"This element is not expected\. Expected is (?:one of )?\( ?([^)]*)\)")
_ENUM = re.compile(r"attribute '(\w+)': \[facet 'enumeration'\] The value '(.*)' is not an element")
_BAD_ID = re.compile(r"attribute 'id': '(.*)' is not a valid value of the atomic type 'xs:ID'")
# What every DMN element may hold first: never what a schema error is about.
_OPTIONAL = {"description", "extensionElements"}


def _wanted(listed: str) -> list[str]:
    names = [part.strip() for part in listed.split(",") if part.strip()]
    return [n for n in names if n not in _OPTIONAL] or names


def _plain(message: str, element: Any) -> str:
    """libxml2's words with the element named, and what a missing child, an element out of
    place, an unknown value or a bad id means in a decision table."""
    if element is None:
        return message.removeprefix("Element ")
    kind = etree.QName(element).localname
    parent = element.getparent()
    where = ""
    if parent is not None:
        where = f" in <{etree.QName(parent).localname}>" + (
            f" {parent.get('id')!r}" if parent.get("id") else ""
        )
    if missing := _MISSING.search(message):
        wanted = " or ".join(f"<{n}>" for n in _wanted(missing.group(1)))
        named = f"<{kind}>" + (f" {element.get('id')!r}" if element.get("id") else where)
        return f"{named} lacks {wanted}, which DMN requires there"
    if unexpected := _UNEXPECTED.search(message):
        wanted = _wanted(unexpected.group(1))
        return (
            f"<{kind}> is not expected here{where}: DMN expects "
            + " or ".join(f"<{n}>" for n in wanted)
            + " at this place (element names are case-sensitive, and their order is fixed)"
        )
    if enum := _ENUM.search(message):
        attribute, value = enum.groups()
        allowed = re.search(r"of the set \{(.*)\}", message)
        choices = f": use one of {allowed.group(1)}" if allowed else ""
        return f"<{kind}> has {attribute}={value!r}, which DMN does not know{choices}"
    if bad_id := _BAD_ID.search(message):
        value = bad_id.group(1)
        return (
            f"<{kind}> has id {value!r}, which is no valid XML id: it must start with a letter "
            "or '_' and hold no spaces or ':'"
        )
    if "Character content other than whitespace is not allowed" in message:
        return (
            f"<{kind}>{where} holds text directly: DMN puts a cell's or expression's text in "
            f"a <text> element (<{kind}><text>…</text></{kind}>)"
        )
    return message.removeprefix("Element ")
