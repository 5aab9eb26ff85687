"""References written as prefixed QNames, as BPMN's schema types them.

BPMN types the references from one element to another declared element (``messageRef``,
``errorRef``, ``escalationRef``, ``signalRef``, ``attachedToRef``, ``calledElement``,
``processRef``, a message flow's ends, a flow node's ``incoming`` and ``outgoing`` …) as
``xsd:QName``: the id of the element in the namespace of the file that declares it. Most
modelers write the bare id; tools that write XML through a schema binding (Oracle BPM, IBM
BPM, the OMG's own examples, Trisotech) write it with a prefix bound to the file's
``targetNamespace``: ``errorRef="tns:REFUND_REFUSED"``. SpiffWorkflow looks references up as
ids, so such a file was refused ("names no <bpmn:error> of this file; declare it (<bpmn:error
id='tns:REFUND_REFUSED' …/>)", an id no XML can hold) although it means exactly the bare id.

Before the checks and the parser see a BPMN file, each such reference whose prefix is bound
to the file's own ``targetNamespace`` is written as the bare id; a call activity's
``calledElement`` loses any bound prefix, since Dialflow knows processes by id across the
files of a deploy and earlier ones. A prefix bound to another namespace (an imported file's)
stays, and the reference checks name it. The stored XML stays as uploaded.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS

# Attributes typed xsd:QName that name another element by its id.
QNAME_ATTRIBUTES = frozenset(
    {
        "messageRef",
        "errorRef",
        "escalationRef",
        "signalRef",
        "attachedToRef",
        "calledElement",
        "processRef",
        "dataStoreRef",
        "operationRef",
        "correlationPropertyRef",
    }
)
# Elements whose text is such a QName reference (a flow node's incoming and outgoing flows
# too: the schema types them as QNames, unlike a sequence flow's IDREF ends).
QNAME_TEXTS = frozenset(
    {"correlationPropertyRef", "eventDefinitionRef", "messageFlowRef", "incoming", "outgoing"}
)
_MESSAGE_FLOW = f"{{{BPMN_NS}}}messageFlow"


def unprefix_references(tree: Any) -> int:
    """Write prefixed QName references to this file's own elements as bare ids, in place (see
    the module's text); returns how many were rewritten."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    own = (root.get("targetNamespace") or "").strip()
    rewritten = 0
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
            continue
        local = etree.QName(element).localname
        names = set(QNAME_ATTRIBUTES)
        if element.tag == _MESSAGE_FLOW:
            names |= {"sourceRef", "targetRef"}
        for name in names & set(element.attrib):
            bare = _bare(element, element.get(name), own, any_bound=name == "calledElement")
            if bare is not None:
                element.set(name, bare)
                rewritten += 1
        if local in QNAME_TEXTS and element.text:
            bare = _bare(element, element.text, own, any_bound=False)
            if bare is not None:
                element.text = bare
                rewritten += 1
    return rewritten


def _bare(element: Any, value: str | None, own: str, *, any_bound: bool) -> str | None:
    """The id ``value`` names without its prefix, or None to leave it as written."""
    text = (value or "").strip()
    prefix, colon, local = text.partition(":")
    if not colon or not prefix or not local or ":" in local:
        return None
    namespace = (element.nsmap or {}).get(prefix)
    if namespace is None:
        return None  # an unbound prefix: the schema names it
    if namespace == own or (any_bound and namespace != BPMN_NS):
        return local
    return None


def foreign_prefix(element: Any, ref: str) -> str | None:
    """Why ``ref``, a reference left prefixed, names nothing in this file: its prefix is
    bound to another namespace than the file's ``targetNamespace`` (or to none). None when
    ``ref`` has no prefix."""
    prefix, colon, local = (ref or "").strip().partition(":")
    if not colon or not prefix or not local:
        return None
    root = element.getroottree().getroot()
    own = root.get("targetNamespace") or ""
    namespace = (element.nsmap or {}).get(prefix)
    bound = f"bound to {namespace!r}" if namespace else "bound to no namespace"
    return (
        f"its prefix {prefix + ':'!r} is {bound}, not to this file's targetNamespace "
        f"{own!r}, so it names nothing here; write the bare id {local!r}, or a prefix "
        "bound to the targetNamespace"
    )
