"""What the XML reader and BPMN's XSD say of a file, in plain words, on the element concerned.

A file that is no well-formed XML, holds a ``<!DOCTYPE>`` or is no BPMN ``<definitions>`` is
said once and read no further; otherwise **all** the XSD's errors are collected (lxml's error
log, not just the last one), each put on its element by the error's XPath, not its line (a
file written on one line), and libxml2's words rewritten where they mislead: an id given twice
or no XML name ("not a valid value of the atomic type 'xs:ID'"), an IDREF holding several ids,
a child out of BPMN's order, two parts of one timer, documentation directly in
``<definitions>``, entity bombs. It lives apart from ``engine.validation`` because it is the
one place that reads libxml2's messages; the pipeline only asks whether a file passed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine import xml_ids
from engine.bpmn_xml import ACTIVITIES, BPMN_NS, CONTAINERS, SAFE_XML
from engine.errors import problem
from engine.file_kinds import is_svg, svg_message, upload_hint

MAX_DEPTH = 256  # libxml2's limit without huge_tree
_NS = re.compile(r"\{http://www\.omg\.org/spec/(BPMN|DD)/20100524/[A-Z-]+\}")


def read_xml(name: str, text: str, problems: list[dict[str, Any]], *, refuse_doctype: bool) -> Any:
    """The file's tree, or None with its problem said: no well-formed XML, or (at deploy) a
    DOCTYPE. No modeler writes a DOCTYPE, and what it could declare (entities, an external
    DTD) is only a way to attack XML readers or to make the diagram read otherwise than the
    modeler shows it (libxml2 expands internal entities in attributes, bpmn-js does not). A
    version stored before deploys refused them still loads."""
    try:
        tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
    except etree.XMLSyntaxError as exc:
        message = f"malformed XML: {exc.msg}"
        if "Excessive depth" in exc.msg:  # libxml2's own words name a parser option
            message = (
                f"elements are nested more than {MAX_DEPTH} levels deep, which no diagram needs"
            )
        elif "amplification" in exc.msg:  # "see xmlCtxtSetMaxAmplification"
            message = (
                "its entities would expand to far more text than the file holds (entity "
                "amplification, as in a 'billion laughs' attack); a BPMN or DMN file needs no "
                "<!DOCTYPE> and no entities"
            )
        elif (undeclared := _UNDECLARED.match(exc.msg)) is not None:
            message = _undeclared_prefix(*undeclared.groups())
            element_id = _id_on_line(text, exc.lineno)
            problems.append(problem(f"{name}: {message}", element_id, exc.lineno, name))
            return None
        elif _at_the_end(text, exc.lineno) and "Extra content" not in exc.msg:
            message += (
                "; the file ends here, before its elements are closed: it looks cut off "
                "(saved or copied only in part): upload the whole file as the modeler saves it"
            )
        problems.append(problem(f"{name}: {message}", line=exc.lineno, file=name))
        return None
    except ValueError as exc:
        problems.append(problem(f"{name}: {exc}", file=name))
        return None
    if refuse_doctype and is_svg(tree):  # bpmn.io's SVG export holds a DOCTYPE
        problems.append(problem(svg_message(name), line=tree.sourceline, file=name))
        return None
    version = tree.getroottree().docinfo.xml_version
    if refuse_doctype and version not in (None, "1.0"):
        # libxml2 reads a 1.1 file as 1.0, where bpmn-js and browsers refuse it, and what 1.1
        # allows (control characters as references, other line ends) reads otherwise in 1.0
        problems.append(
            problem(
                f"{name}: declares XML version {version!r}; BPMN and DMN files are XML 1.0, "
                "the only version modelers and browsers read: write "
                '<?xml version="1.0" encoding="UTF-8"?>',
                line=1,
                file=name,
            )
        )
        return None
    if refuse_doctype and tree.getroottree().docinfo.doctype:
        problems.append(
            problem(
                f"{name}: has a <!DOCTYPE> declaration; BPMN and DMN files need none, and "
                "Dialflow reads no DTD and no entities: remove it",
                line=text.count("\n", 0, max(text.find("<!DOCTYPE"), 0)) + 1,
                file=name,
            )
        )
        return None
    return tree


_UNDECLARED = re.compile(
    r"^Namespace prefix ([\w.-]+)(?: for ([\w.-]+))? on ([\w.-]+) is not defined"
)
# The namespaces of the prefixes BPMN files use, for a file that uses one it never declares.
KNOWN_PREFIXES = {
    "bpmn": BPMN_NS,
    "bpmn2": BPMN_NS,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "zeebe": "http://camunda.org/schema/zeebe/1.0",
    "activiti": "http://activiti.org/bpmn",
    "flowable": "http://flowable.org/bpmn",
}


def _undeclared_prefix(prefix: str, attribute: str | None, element: str) -> str:
    """libxml2's "Namespace prefix camunda for assignee on userTask is not defined" (a file
    using ``camunda:`` or ``xsi:`` without its ``xmlns:`` declaration, as chat assistants write
    them) with the declaration to add."""
    used = f"{prefix}:{attribute}" if attribute else f"<{prefix}:{element}>"
    where = f" on <{element}>" if attribute else ""
    said = f"uses the prefix {prefix!r} ({used}{where}) without declaring it"
    namespace = KNOWN_PREFIXES.get(prefix)
    if namespace is None:
        return (
            f'{said}: declare it on the root element (xmlns:{prefix}="<its namespace>") or '
            "remove what uses it"
        )
    return f'{said}: declare it on the root element: xmlns:{prefix}="{namespace}"'


def _id_on_line(text: str, line: int | None) -> str | None:
    """The id of the innermost BPMN element open at the end of ``line`` (the line libxml2
    stopped on), read from the text: the file is no XML a parser reads. An extension's
    ``id`` (``<spiffworkflow:serviceTaskOperator id="crm.add_note">``) names no element."""
    if line is None:
        return None
    upto = "\n".join(text.splitlines()[:line])
    open_ids: list[str | None] = []
    for tag in _TAG.finditer(upto):
        closing, name, attributes, empty = tag.groups()
        if closing:
            if open_ids:
                open_ids.pop()
            continue
        prefix = name.split(":")[0] if ":" in name else ""
        # an extension's id names no element, an event definition's is its event's
        named = prefix not in _EXTENSION_PREFIXES and not name.endswith("EventDefinition")
        found = _ID.search(attributes) if named else None
        if not empty:
            open_ids.append(found.group(2) if found else None)
        elif found and tag.end() >= len(upto) - len(upto.splitlines()[-1]):
            return found.group(2)  # an empty element on the line itself
    return next((element_id for element_id in reversed(open_ids) if element_id), None)


_TAG = re.compile(r"<(/?)([A-Za-z_][\w:.-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>")
_ID = re.compile(r"\sid\s*=\s*([\"'])(.*?)\1")
_EXTENSION_PREFIXES = {"spiffworkflow", "camunda", "zeebe", "activiti", "flowable", "xsi"}


def _at_the_end(text: str, line: int | None) -> bool:
    """Whether the reader stopped on the file's last line (not one of only blank lines), as it
    does in a file cut off in the middle."""
    stripped = text.rstrip()
    return bool(stripped) and line is not None and line >= stripped.count("\n") + 1


def bpmn_root(name: str, tree: Any, problems: list[dict[str, Any]]) -> bool:
    """A file whose root is no BPMN ``<definitions>`` is said so once; nothing else is."""
    root = etree.QName(tree)
    if (root.namespace, root.localname) == (BPMN_NS, "definitions"):
        return True
    # libxml2: "No matching global declaration available for the validation root."
    problems.append(
        problem(
            f"{name}: is no BPMN 2.0 file: its root is <{root.localname}>"
            + (f" of {root.namespace!r}" if root.namespace else " without a namespace")
            + f", where a BPMN file has the <definitions> of {BPMN_NS!r}"
            + upload_hint(tree, "bpmn"),
            element_id=tree.get("id"),  # the root named, as its own problems name it
            line=tree.sourceline,
            file=name,
        )
    )
    return False


def xsd_valid(name: str, tree: Any, problems: list[dict[str, Any]], lines: dict[str, int]) -> bool:
    """Every XSD error of the file (marked ``_xsd``), on its element."""
    VALIDATOR.preprocess(tree)
    _qualify_xsi_types(tree)
    _drop_model_extensions(tree)
    schema = VALIDATOR.validator
    if schema.validate(tree):
        return True
    by_line = {line: element_id for element_id, line in lines.items()}
    by_path = _ids_by_path(tree)
    prefixes = _prefixes(tree)
    for error in schema.error_log:
        message = _qname_message(_id_message(_NS.sub("bpmn:", error.message), tree))
        message = _order_message(message, tree, error.path, prefixes)
        message = _link_name_message(message, tree, error.path, prefixes)
        message = _spiff_message(message, tree, error.path, prefixes)
        message = _default_message(message)
        element_id = by_path.get(error.path or "") or by_line.get(error.line)
        found = problem(f"{name}: {message}", element_id=element_id, line=error.line, file=name)
        found["_xsd"] = True
        problems.append(found)
    return False


_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _qualify_xsi_types(tree: Any) -> None:
    """``xsi:type="tFormalExpression"`` on a ``bpmn:`` element of a file with no default
    namespace, as hand-written and generated files often have it, read as the BPMN type it
    names: the schema resolves an unprefixed type in the default namespace only, and refused
    such a file with "does not resolve to a type definition", though every engine runs it."""
    for element in tree.iter():
        value = element.get(_XSI_TYPE) if isinstance(element.tag, str) else None
        if not value or ":" in value or element.nsmap.get(None) == BPMN_NS:
            continue
        if etree.QName(element).namespace == BPMN_NS and element.prefix:
            element.set(_XSI_TYPE, f"{element.prefix}:{value}")


def _drop_model_extensions(tree: Any) -> None:
    """``<extensionElements>`` directly in ``<definitions>`` taken out: Imixs-BPMN keeps its
    model's settings there (``txtworkflowmodelversion``) in every file it writes, and the
    schema, which gives ``<definitions>`` no extension elements, refused the whole file for
    settings no engine reads. What stands elsewhere out of place is still said."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    for element in root.findall(f"{{{BPMN_NS}}}extensionElements"):
        root.remove(element)


_BAD_QNAME = re.compile(
    r"attribute '(\w+)': '(.*)' is not a valid value of the atomic type 'xs:QName'"
)


def _qname_message(message: str) -> str:
    """libxml2's "… is not a valid value of the atomic type 'xs:QName'" of a reference that
    holds an expression (``calledElement="${process}"`` as Camunda 7 writes it, or a Camunda 8
    ``=process_id``): the reference names an element by its id, and nothing evaluates it."""
    bad = _BAD_QNAME.search(message)
    if bad is None:
        return message
    attribute, value = bad.groups()
    if attribute == "calledElement":
        return (
            f"calledElement {value!r} is no process id: a call activity calls the process "
            "whose id it names, and Dialflow evaluates no expression there: write the id of "
            "the process to call (choose between processes with a gateway before several "
            "call activities)"
        )
    return (
        f"attribute {attribute!r} holds {value!r}, which is no id: it must name one element "
        "by its id"
    )


_BAD_ID = re.compile(r"attribute 'id': '(.*)' is not a valid value of the atomic type 'xs:ID'")


def _id_message(message: str, tree: Any) -> str:
    """libxml2 says "… is not a valid value of the atomic type 'xs:ID'" both of an id given
    twice in a file and of one that is no XML name: say which it is."""
    bad = _BAD_ID.search(message)
    if bad is None:
        return message
    value = bad.group(1)
    lines = [e.sourceline for e in tree.iter() if isinstance(e.tag, str) and e.get("id") == value]
    if len(lines) > 1:
        where = ", ".join(str(line) for line in lines)
        return (
            f"id {value!r} is given to {len(lines)} elements of this file (lines {where}); "
            "each element needs an id of its own"
        )
    return (
        f"id {value!r} is no valid XML id: {_fix_of(value)} (an id starts with a letter or "
        "'_' and holds only letters, digits, '_', '-' and '.'): write such as "
        f"{_valid_id(value)!r}, and the references to it alike{_meant_by(tree, value)}"
    )


def _fix_of(value: str) -> str:
    """What to change in ``value``: the characters to remove, a first character to change."""
    said = [
        "the space" if ch == " " else "the tab" if ch == "\t" else repr(ch)
        for ch in xml_ids.to_remove(value)
    ]
    fixes = []
    if said:
        listed = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
        fixes.append(f"remove {listed}")
    if value[:1].isdigit() or value[:1] in ("-", "."):
        fixes.append(f"start it with a letter or '_', not {value[:1]!r}")
    return "; ".join(fixes) or "write it as a name"


def _meant_by(tree: Any, value: str) -> str:
    """The flows that name the element by the id most likely meant for it, which no element
    has: they are to name its new id too."""
    flows = xml_ids.flows_meaning(tree.getroot() if hasattr(tree, "getroot") else tree, value)
    if not flows:
        return ""
    said = [
        f"{flow.get('id')!r} ({end} {flow.get(end)!r}, line {flow.sourceline})"
        for flow, end in flows
    ]
    named = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    return (
        f"; the sequence flow{'s' if len(said) > 1 else ''} {named} most likely "
        f"mean{'' if len(said) > 1 else 's'} this element: name its new id there too"
    )


_BAD_REF = re.compile(
    r"attribute '(\w+)': '(.*)' is not a valid value of the atomic type 'xs:IDREF'"
)
_UNEXPECTED = re.compile(r"^Element 'bpmn:(\w+)': This element is not expected\.")
# Where BPMN's schema wants the children every element may have: first documentation, then
# extensionElements, then a flow node's incoming and outgoing flows, then what is the
# element's own (a script, event definitions, a condition, loop characteristics …).
_CHILD_RANK = {"documentation": 0, "extensionElements": 1, "incoming": 2, "outgoing": 3}
_OWN_CONTENT = re.compile(
    r"^(script|conditionExpression|\w+EventDefinition|eventDefinitionRef|"
    r"(standard|multiInstance)LoopCharacteristics|laneSet|flowNodeRef|childLaneSet)$"
)
_TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")
_ARTIFACTS = frozenset({"textAnnotation", "association", "group"})
_FLOW_ELEMENT = re.compile(
    r"^(task|\w+Task|\w+Event|\w+Gateway|subProcess|adHocSubProcess|transaction|"
    r"callActivity|sequenceFlow|dataObject|dataObjectReference|dataStoreReference)$"
)


# An activity's and an event's content after its flows, in BPMN's order: Eclipse BPMN2
# Modeler and Yaoqiang write io specifications, data associations and input or output sets,
# and an element put after them was said only as libxml2's "Expected is ( bpmn:rendering )".
_ACTIVITY_CONTENT = {
    "ioSpecification": 4,
    "property": 5,
    "dataInputAssociation": 6,
    "dataOutputAssociation": 7,
    "performer": 8,
    "humanPerformer": 8,
    "potentialOwner": 8,
    "standardLoopCharacteristics": 9,
    "multiInstanceLoopCharacteristics": 9,
}
_EVENT_CONTENT = {
    "dataInput": 4,
    "dataOutput": 4,
    "dataInputAssociation": 5,
    "dataOutputAssociation": 5,
    "inputSet": 6,
    "outputSet": 6,
}
_ACTIVITY_ORDER = (
    "documentation first, then extensionElements, incoming, outgoing, ioSpecification, "
    "property, dataInputAssociation, dataOutputAssociation, performers, loop characteristics, "
    "then the task's own content (its script, its rendering)"
)
_EVENT_ORDER = (
    "documentation first, then extensionElements, incoming, outgoing, its data inputs or "
    "outputs, their associations, its input or output set, then its event definitions"
)
_PLAIN_ORDER = (
    "documentation first, then extensionElements, incoming, outgoing, then the element's own "
    "content"
)


def _child_rank(local: str, parent: str = "") -> int | None:
    """A child's place in BPMN's order within a ``parent`` of that kind, or None for a child
    the order says nothing of."""
    if local in _CHILD_RANK:
        return _CHILD_RANK[local]
    if parent in ACTIVITIES:
        return _ACTIVITY_CONTENT.get(local, 10 if _OWN_CONTENT.match(local) else None)
    if parent.endswith("Event"):
        return _EVENT_CONTENT.get(local, 7 if _OWN_CONTENT.match(local) else None)
    return 4 if _OWN_CONTENT.match(local) else None


def _order_of(parent: str) -> str:
    if parent in ACTIVITIES:
        return _ACTIVITY_ORDER
    return _EVENT_ORDER if parent.endswith("Event") else _PLAIN_ORDER


_UNNAMED_LINK = "Element 'bpmn:linkEventDefinition': The attribute 'name' is required but missing."


def _link_name_message(message: str, tree: Any, path: str | None, prefixes: dict[str, str]) -> str:
    """libxml2's missing ``name`` of a link event definition said as what the name is for,
    with the event's own name to write there when it has one (a file that names only the
    events, as links are labelled on the page)."""
    if not message.startswith(_UNNAMED_LINK):
        return message
    try:
        found = tree.getroottree().xpath(path, namespaces=prefixes) if path else []
    except etree.XPathError:
        found = []
    event = found[0].getparent() if found and isinstance(found[0].tag, str) else None
    named = " ".join((event.get("name") or "").split()) if event is not None else ""
    write = f'name="{named}"' if named else "the link's name"
    return (
        f"a linkEventDefinition needs the link's name (BPMN requires it): write {write} on "
        "it, the same on the link throw event and on the link catch event where the flow "
        "goes on"
    )


def _prefixes(tree: Any) -> dict[str, str]:
    """The namespace prefixes the file declares: libxml2 writes an error's XPath with them
    (``/bpmn:definitions/bpmn:process/…`` in a file of ``bpmn:`` elements, as bpmn.io and
    Camunda Modeler write them), and XPath resolves none it is not given."""
    found: dict[str, str] = {}
    for element in tree.iter():
        if isinstance(element.tag, str):
            for prefix, namespace in element.nsmap.items():
                if prefix:
                    found.setdefault(prefix, namespace)
    return found


def _order_message(
    message: str, tree: Any, path: str | None, prefixes: dict[str, str] | None = None
) -> str:
    """libxml2's "This element is not expected" said as what a hand-written file most often
    means by it: a child out of BPMN's fixed order, two of a timer's parts, documentation
    directly in <definitions>; a reference holding what is no single id. Otherwise as said."""
    bad_ref = _BAD_REF.search(message)
    if bad_ref:
        attribute, value = bad_ref.groups()
        more = (
            "; a gateway has one default flow"
            if attribute == "default" and len(value.split()) > 1
            else ""
        )
        if value.strip() and not any(c.isspace() for c in value.strip()):
            # one word, but no XML name: it starts with a digit, or holds ':' or a symbol
            return (
                f"attribute {attribute!r} names {value!r}, which is no valid id (an id starts "
                "with a letter or '_' and holds no spaces, ':' or symbols): rename the element "
                f"it means and this reference alike, such as {_valid_id(value)!r}"
            )
        return (
            f"attribute {attribute!r} names {value!r}, which is no single id: it must name one "
            f"element by its id{more}"
        )
    unexpected = _UNEXPECTED.match(message)
    if unexpected is None or not path:
        return message
    try:
        found = tree.getroottree().xpath(path, namespaces=prefixes or {})
    except etree.XPathError:
        return message
    if not found or not isinstance(found[0].tag, str):
        return message
    element, local = found[0], unexpected.group(1)
    parent = element.getparent()
    if parent is None:
        return message
    parent_local = etree.QName(parent).localname
    where = f"<{parent_local}>" + (f" {parent.get('id')!r}" if parent.get("id") else "")
    if parent_local == "definitions":
        return (
            f"{message} <{local}> cannot stand directly in <definitions>: put it inside the "
            "process or the element it belongs to"
        )
    if parent_local == "timerEventDefinition" and local in _TIMER_PARTS:
        return (
            f"{message} A timer has one of timeDate, timeDuration or timeCycle, and {where} "
            "has several: keep the one it waits for"
        )
    if parent_local in CONTAINERS and (contents := _container_order(element, local, where)):
        return f"{message} {contents}"
    rank = _child_rank(local, parent_local)
    if rank is None:
        return message
    # The earliest preceding sibling that BPMN's order puts after this element.
    later = [
        sibling
        for sibling in element.itersiblings(preceding=True)
        if isinstance(sibling.tag, str)
        and (sibling_rank := _child_rank(etree.QName(sibling).localname, parent_local)) is not None
        and sibling_rank > rank
    ]
    if later:
        first = later[-1]
        return (
            f"{message} <{local}> is out of order in {where}: BPMN's schema wants "
            f"{_order_of(parent_local)}; move it before <{etree.QName(first).localname}> "
            f"(line {first.sourceline})"
        )
    return message


def _container_rank(local: str) -> int | None:
    """A child's place in a process's or subprocess's content: lanes, flow elements, then
    artifacts; None for what stands before them (documentation, incoming, properties …)."""
    if local == "laneSet":
        return 0
    if local in _ARTIFACTS:
        return 2
    return 1 if _FLOW_ELEMENT.match(local) else None


def _container_order(element: Any, local: str, where: str) -> str | None:
    """A flow element after an artifact (a text annotation, association or group, which
    modelers write last), or a lane set after flow elements, said as what to move where."""
    rank = _container_rank(local)
    if rank is None:
        return None
    later = [
        sibling
        for sibling in element.itersiblings(preceding=True)
        if isinstance(sibling.tag, str)
        and etree.QName(sibling).namespace == BPMN_NS
        and (sibling_rank := _container_rank(etree.QName(sibling).localname)) is not None
        and sibling_rank > rank
    ]
    if not later:
        return None
    first = later[-1]
    return (
        f"<{local}> is out of order in {where}: BPMN's schema wants the lane set first, then "
        "the flow elements (events, activities, gateways, sequence flows, data objects), then "
        "the artifacts (text annotations, associations, groups); move it before "
        f"<{etree.QName(first).localname}> (line {first.sourceline})"
    )


def _ids_by_path(tree: Any) -> dict[str, str]:
    """Each element's XPath (as libxml2 writes it in an error) → its id, or its nearest
    ancestor's. A line holds several elements in a file written on one line (minified
    exports): by line alone, every problem was put on the line's last element. Only BPMN's
    own elements (and their diagram's) have ids: a ``<spiffworkflow:serviceTaskOperator>``'s
    or ``<spiffworkflow:parameter>``'s ``id`` names an operator or a parameter, so a problem
    inside one is its task's, not an element called ``crm.add_note`` or ``customer_id``."""
    root = tree.getroottree()
    found: dict[str, str] = {}
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        owner = element
        while owner is not None and not (owner.get("id") and _has_xml_id(owner)):
            owner = owner.getparent()
        if owner is not None:
            found[root.getpath(element)] = owner.get("id")
    return found


def _has_xml_id(element: Any) -> bool:
    """Whether ``element``'s ``id`` is an XML id of the diagram (BPMN's, or its DI's)."""
    return (etree.QName(element).namespace or "").startswith("http://www.omg.org/spec/")


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SPIFF_ATTRIBUTE = re.compile(
    r"^Element '\{" + re.escape(SPIFF_NS) + r"\}(\w+)', attribute '([\w:{}/.]+)': "
    r"The attribute '[^']*' is not allowed\.$"
)
_SPIFF_UNEXPECTED = re.compile(
    r"^Element '\{" + re.escape(SPIFF_NS) + r"\}(\w+)': This element is not expected\. "
    r"Expected is \( \{" + re.escape(SPIFF_NS) + r"\}(\w+) \)\.$"
)
# The attributes SpiffWorkflow reads on its extensions, as its schema allows them.
_SPIFF_ATTRIBUTES = {
    "serviceTaskOperator": "id (the operator, such as crm.add_note) and resultVariable",
    "parameter": "id (the parameter's name), type and value (a Python expression)",
    "property": "name and value",
}


_REPEATED = 200  # the longest value a message repeats


def _spiff_message(
    message: str, tree: Any, path: str | None, prefixes: dict[str, str] | None = None
) -> str:
    """libxml2's words on a ``spiffworkflow:`` extension written slightly otherwise than
    SpiffWorkflow's schema has it, as assistants write them: a parameter or operator named
    with ``name=`` where it takes ``id=``, parameters written straight into the operator
    without ``<spiffworkflow:parameters>`` around them. Said with what to write."""
    attribute = _SPIFF_ATTRIBUTE.match(message)
    if attribute:
        kind, name = attribute.groups()
        written = _attribute_at(tree, path, prefixes, name)
        said = f"<spiffworkflow:{kind}> has no attribute {name!r}"
        takes = _SPIFF_ATTRIBUTES.get(kind)
        if takes is None:
            return f"{said}; remove it"
        if name == "name" and kind in ("serviceTaskOperator", "parameter"):
            # as written (a Chinese name not as \u escapes), a value too long to repeat not
            value = (
                f"id={json.dumps(written, ensure_ascii=False)}"
                if written is not None and len(written) <= _REPEATED
                else "id"
            )
            return f"{said}: it is named by its id: write {value}"
        return f"{said}: it takes {takes}"
    unexpected = _SPIFF_UNEXPECTED.match(message)
    if unexpected:
        kind, expected = unexpected.groups()
        if (kind, expected) == ("parameter", "parameters"):
            return (
                "<spiffworkflow:parameter> is written straight into its "
                "<spiffworkflow:serviceTaskOperator>; SpiffWorkflow reads the parameters "
                "inside <spiffworkflow:parameters>: put them all in one "
                "<spiffworkflow:parameters> element within the operator"
            )
        return (
            f"<spiffworkflow:{kind}> is not expected here; SpiffWorkflow's schema has "
            f"<spiffworkflow:{expected}> in its place"
        )
    return message.replace(f"{{{SPIFF_NS}}}", "spiffworkflow:")


def _attribute_at(
    tree: Any, path: str | None, prefixes: dict[str, str] | None, name: str
) -> str | None:
    """The value of attribute ``name`` of the element at ``path``, if it can be found."""
    if not path:
        return None
    try:
        found = tree.getroottree().xpath(path, namespaces=prefixes or {})
    except etree.XPathError:
        return None
    return found[0].get(name) if found and isinstance(found[0].tag, str) else None


_GATEWAY_DEFAULT = re.compile(
    r"^Element 'bpmn:(parallelGateway|eventBasedGateway)', attribute 'default': "
    r"The attribute 'default' is not allowed\.$"
)


def _default_message(message: str) -> str:
    """A ``default`` on a parallel or event-based gateway, which takes every flow out of it
    (or the first event's): there is no branch for a default to name."""
    found = _GATEWAY_DEFAULT.match(message)
    if found is None:
        return message
    if found.group(1) == "parallelGateway":
        return (
            "a parallel gateway takes every outgoing flow and has no default flow: remove "
            "default=, or make it an exclusive gateway (one way) or an inclusive gateway "
            "(every true way) if its flows have conditions"
        )
    return (
        "an event-based gateway goes the way of the first event that happens and has no "
        "default flow: remove default= (a timer event after it is the way taken when nothing "
        "else happens in time)"
    )


def _valid_id(value: str) -> str:
    """``value`` made an XML name: symbols as ``_``, a leading digit (or ``-``, ``.``) behind
    a ``_``."""
    made = re.sub(r"[^\w.-]", "_", value.strip())
    return made if made[:1].isalpha() or made[:1] == "_" else f"_{made}"
