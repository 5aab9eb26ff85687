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
task"), Enterprise Architect ``EAID_`` and a GUID, Modelio ``_`` and a UUID. They are taken
as generated too.

A task's output association into a data object whose id is no Python name (Modelio's
``_1d0c…-…`` under the name "Lead sheet") deployed, and the task failed when completed: the
association reads the variable named by the id, which no script or form sets
(``unwritable_data_objects`` says it at deploy, with a name to give it).
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from engine.bpmn_xml import BPMN_NS, element_problem, executable_processes

# bpmn.io and Camunda Modeler, Eclipse BPMN2 Modeler, Enterprise Architect; Yaoqiang's
# DO_<process id>_<n> is matched against the process the data object is in.
GENERATED_ID = re.compile(
    r"DataObject_[0-9a-z]{7}|DataObject_[0-9]+|EAID_[0-9A-Fa-f]{8}(_[0-9A-Fa-f]{4}){3}_[0-9A-Fa-f]{12}"
    r"|_[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
)
_DATA_OBJECT = f"{{{BPMN_NS}}}dataObject"
_REFERENCE = f"{{{BPMN_NS}}}dataObjectReference"
_PROCESS = f"{{{BPMN_NS}}}process"
_OUTPUT = f"{{{BPMN_NS}}}dataOutputAssociation"


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


def unwritable_data_objects(file: str, tree: Any) -> list[dict[str, Any]]:
    """Output associations into a data object whose id (after :func:`name_data_objects`) is no
    Python name: the task's variable of that name can never be set, so it would fail."""
    objects = {el.get("id"): el for el in tree.iter(_DATA_OBJECT) if el.get("id")}
    references = {el.get("id"): el for el in tree.iter(_REFERENCE) if el.get("id")}
    found = []
    running = [a for process in executable_processes(tree) for a in process.iter(_OUTPUT)]
    for association in running:
        target = (association.findtext(f"{{{BPMN_NS}}}targetRef") or "").strip()
        reference = references.get(target)
        data_object = objects.get(
            reference.get("dataObjectRef") if reference is not None else target
        )
        if data_object is None or data_object.get("id", "").isidentifier():
            continue
        label = (
            data_object.get("name")
            or (reference.get("name") if reference is not None else "")
            or ""
        ).strip()
        task = association.getparent()
        found.append(
            element_problem(
                file,
                task,
                f"it writes data object {label or data_object.get('id')!r} from a variable named "
                f"{data_object.get('id')!r}, its id, which no form or script can set (it is no "
                f"Python name): name the data object {_suggested(label)!r} (an id or a name that "
                "is a Python name) and set that variable, or take the association out if the "
                "data object only documents the task",
            )
        )
    return found


def _suggested(label: str) -> str:
    """A Python name for a data object called ``label``."""
    name = re.sub(r"\W+", "_", label.strip().lower()).strip("_")
    if not name or not name.isidentifier() or keyword.iskeyword(name):
        return f"data_{name}" if name and f"data_{name}".isidentifier() else "data_object"
    return name
