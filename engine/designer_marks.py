"""What the process designers of the Chinese admin systems (RuoYi-Flowable, RuoYi-Flowable-Plus,
RuoYi-Vue-Pro / yudao) write on Flowable elements for their own pages, which the Flowable
engine never reads: the label of the chosen approvers (``flowable:text``), what kind of
approver the picker offered (``dataType``, ``userType``), the buttons and field permissions
of the approval page, an empty ``formKey``. Flowable keeps them as unknown attributes and runs
the task by its ``assignee``, ``candidateGroups`` and loop characteristics, so they pass; each
was refused as "Flowable-specific" with no word on what to change.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

FLOWABLE_NS = "http://flowable.org/bpmn"

# RuoYi-Flowable's designer: the picker's kind and label, and its countersign switches,
# which it writes again as <multiInstanceLoopCharacteristics> when one is chosen.
ATTRIBUTES = frozenset(
    {
        "dataType",
        "text",
        "userType",
        "isSign",
        "isTransfer",
        "multiLoopType",
        "isSequential",
        "buttonList",
    }
)
# The approval page's buttons and field permissions (RuoYi-Flowable-Plus, yudao).
ELEMENTS = frozenset(
    {"propertiesBtn", "buttonsSetting", "fieldsPermission", "signEnable", "reasonRequire"}
)
# Settings that point at nothing when empty: the designers write them on every element.
EMPTY = frozenset({"formKey"})


def attribute_passes(attribute: str, value: str) -> bool:
    """Whether a Flowable attribute is one of the designers' own, or empty where it would
    name a form."""
    qname = etree.QName(attribute)
    if qname.namespace != FLOWABLE_NS:
        return False
    return qname.localname in ATTRIBUTES or (qname.localname in EMPTY and not value.strip())


def element_passes(element: Any) -> bool:
    """Whether a Flowable extension element is one of the designers' page settings."""
    qname = etree.QName(element)
    return qname.namespace == FLOWABLE_NS and qname.localname in ELEMENTS
