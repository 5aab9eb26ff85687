"""Data objects drawn in bpmn.io: the variable is the name the modeller gave, not the id.

SpiffWorkflow keeps a data object under its id, and scripts see it by that id. Modelers made
for SpiffWorkflow let the modeller choose the id; bpmn.io (and Camunda Modeler) generate one,
``DataObject_`` and seven letters or digits, and show the name written on the data object
reference. A script that used that name failed once an instance reached it ("a data object
could not be set"). So, before the parser sees a BPMN file, a data object whose id has that
generated form and whose name (its own, else its references', if they agree) is a Python
identifier not used as an id elsewhere in the file takes that name as its id, and its
references follow. Ids chosen by hand are left alone. The stored XML stays as uploaded.

Other modelers generate ids of their own, which are no more a variable's name: Eclipse BPMN2
Modeler ``DataObject_1``, Yaoqiang ``DO_<process id>_1`` (a Yaoqiang diagram whose script
set ``attempt_log`` deployed and stopped at the script, "'DO_callbacks_1' not exist in the
task"), Enterprise Architect ``EAID_`` and a GUID. They are taken as generated too.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from engine.bpmn_xml import BPMN_NS

# bpmn.io and Camunda Modeler, Eclipse BPMN2 Modeler, Enterprise Architect; Yaoqiang's
# DO_<process id>_<n> is matched against the process the data object is in.
GENERATED_ID = re.compile(
    r"DataObject_[0-9a-z]{7}|DataObject_[0-9]+|EAID_[0-9A-Fa-f]{8}(_[0-9A-Fa-f]{4}){3}_[0-9A-Fa-f]{12}"
)
_DATA_OBJECT = f"{{{BPMN_NS}}}dataObject"
_REFERENCE = f"{{{BPMN_NS}}}dataObjectReference"
_PROCESS = f"{{{BPMN_NS}}}process"


def name_data_objects(tree: Any) -> dict[str, str]:
    """Give data objects with generated ids their names as ids, in place (see the module's
    text); returns the renames, old id to new."""
    ids = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    references: dict[str, list[Any]] = {}
    for reference in tree.iter(_REFERENCE):
        references.setdefault(reference.get("dataObjectRef") or "", []).append(reference)
    renamed: dict[str, str] = {}
    for data_object in tree.iter(_DATA_OBJECT):
        old = data_object.get("id") or ""
        if not (GENERATED_ID.fullmatch(old) or _yaoqiang_id(data_object, old)):
            continue
        name = _variable_name(data_object, references.get(old, []))
        if name is None or name in ids:
            continue
        data_object.set("id", name)
        for reference in references.get(old, []):
            reference.set("dataObjectRef", name)
        ids.add(name)
        renamed[old] = name
    return renamed


def _variable_name(data_object: Any, references: list[Any]) -> str | None:
    """The one name the data object goes by, if it can be a variable's."""
    own = (data_object.get("name") or "").strip()
    names = {own} if own else {(r.get("name") or "").strip() for r in references} - {""}
    if len(names) != 1:
        return None
    [name] = names
    if not name.isidentifier() or keyword.iskeyword(name):
        return None
    return name


def _yaoqiang_id(data_object: Any, data_object_id: str) -> bool:
    """Whether the id is Yaoqiang's generated ``DO_<process id>_<n>`` for its process."""
    process = data_object.getparent()
    while process is not None and process.tag != _PROCESS:
        process = process.getparent()
    process_id = process.get("id") if process is not None else None
    return bool(process_id) and bool(
        re.fullmatch(rf"DO_{re.escape(process_id)}_[0-9]+", data_object_id)
    )
