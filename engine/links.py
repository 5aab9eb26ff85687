"""Link events: an off-page connector from a throw to the catch of the same name.

SpiffWorkflow 3.2 has no link events. It parses a link throw event as a plain throw event
with nowhere to go and never reaches the link catch event (nothing flows into it), so the
path ended at the throw and an instance could complete without running the rest of its
diagram. Diagrams from Signavio, ADONIS or Camunda Modeler use link events to break long
flows into readable pieces, so Dialflow runs them: before the parser sees a BPMN file, each
link throw event gets a sequence flow to its catch and both lose their link definition, which
makes them plain events that pass straight through. The stored XML stays as uploaded.

A link name is the ``linkEventDefinition``'s ``name``, else the event's own name; a throw and
its catch must be in the same process or subprocess (BPMN's rule). A throw whose name no catch
of its scope has, a catch whose name no throw of its scope has, a name two catches share, and
a throw with outgoing sequence flows are refused at deploy, each on its element. A catch no
throw names is marked (``UNLINKED``) when the links are joined, so the wiring checks do not
also say that nothing leads to it, with a sequence flow to draw, nor to each element after it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, CONTAINERS, children, element_problem

LINK = f"{{{BPMN_NS}}}linkEventDefinition"
# Set by ``join_links`` on a link catch event that no throw names (refused by ``link_problems``).
UNLINKED = "{urn:dialflow:links}unlinked"


def link_problems(name: str, tree: Any) -> list[dict[str, Any]]:
    """Link throws that lead nowhere or to two places, and link throws with outgoing flows."""
    found = []

    def report(element: Any, message: str) -> None:
        found.append(element_problem(name, element, message))

    for container in _containers(tree):
        throws, catches = _links(container)
        sources = {flow.get("sourceRef") for flow in children(container, "sequenceFlow")}
        for link, elements in catches.items():
            if len(elements) > 1:
                for element in elements:
                    report(
                        element,
                        f"{len(elements)} link catch events here are named {link!r}; a link "
                        "throw event could not tell which one to go on at: rename one",
                    )
        for link, elements in catches.items():
            if link in throws:
                continue
            for element in elements:
                report(
                    element,
                    f"no link throw event named {link!r} in the same process or subprocess "
                    "leads here, so nothing after this catch would ever run: give the link "
                    f"throw event that should go on here the name {link!r} (on its "
                    "linkEventDefinition or on the event)"
                    if link
                    else "a link catch event needs a name (on its linkEventDefinition or on "
                    "the event), the name of the link throw event whose flow goes on here",
                )
        for link, elements in throws.items():
            for element in elements:
                if not link:
                    report(
                        element,
                        "a link throw event needs a name (on its linkEventDefinition or on "
                        "the event) that names the link catch event where the flow goes on",
                    )
                elif link not in catches:
                    report(
                        element,
                        f"no link catch event named {link!r} in the same process or "
                        "subprocess; the flow would stop here",
                    )
                if element.get("id") in sources:
                    report(
                        element,
                        "a link throw event has no outgoing sequence flow: the flow goes on "
                        "at the link catch event of the same name",
                    )
    return found


def join_links(tree: Any) -> None:
    """Connect each link throw to its catch with a sequence flow and make both plain events,
    in place, so SpiffWorkflow's parser follows the link (see the module's text)."""
    ids = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    for container in _containers(tree):
        throws, catches = _links(container)
        for link, elements in throws.items():
            targets = catches.get(link, []) if link else []
            for element in elements:
                if len(targets) == 1:
                    flow_id = _fresh_id(f"{element.get('id')}__link", ids)
                    flow = etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow")
                    flow.set("id", flow_id)
                    flow.set("sourceRef", element.get("id"))
                    flow.set("targetRef", targets[0].get("id"))
        for link, elements in catches.items():
            if link not in throws:
                for element in elements:
                    element.set(UNLINKED, "true")
        for elements in [*throws.values(), *catches.values()]:
            for element in elements:
                for definition in element.findall(LINK):
                    element.remove(definition)


def _links(container: Any) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Link throw and catch events directly in ``container``, by link name."""
    throws: dict[str, list[Any]] = {}
    catches: dict[str, list[Any]] = {}
    for kind, found in (("intermediateThrowEvent", throws), ("intermediateCatchEvent", catches)):
        for event in children(container, kind):
            definition = event.find(LINK)
            if definition is not None:
                link = (definition.get("name") or event.get("name") or "").strip()
                found.setdefault(link, []).append(event)
    return throws, catches


def _containers(tree: Any) -> list[Any]:
    return [
        element
        for element in tree.iter()
        if isinstance(element.tag, str)
        and etree.QName(element).namespace == BPMN_NS
        and etree.QName(element).localname in CONTAINERS
    ]


def _fresh_id(base: str, ids: set[str]) -> str:
    candidate, counter = base, 1
    while candidate in ids:
        counter += 1
        candidate = f"{base}{counter}"
    ids.add(candidate)
    return candidate
