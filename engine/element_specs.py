"""The task specs of a process the parser could not build, read element by element.

SpiffWorkflow builds a process by following its sequence flows from the start events and
stops at the first element it cannot read (a decision no DMN file has, a broken reference),
so the semantic checks of ``checks.py`` saw nothing of that process: an unknown operator or an
unquoted timer elsewhere in it was only reported on the next deploy. Here each flow node is
read on its own by the parser's own task parser (what it holds: extensions, script, timer,
loop and data settings), without following its flows, so the checks see every element the
parser can read, and each element it cannot read is a problem of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine.bpmn_xml import BPMN_NS

# Reading these builds the processes they call or contain, which the parser keeps and would
# refuse to build twice; the elements inside a subprocess are read here one by one.
SUBWORKFLOWS = {"subProcess", "transaction", "callActivity", "adHocSubProcess"}


def read_elements(
    process_parser: Any,
    guard: Callable[[Callable[[], None]], object],
    seen: set[tuple[str, str]],
) -> BpmnProcessSpec:
    """A spec holding the task spec of every flow node of ``process_parser``'s process (its
    subprocesses' included) that reads on its own; ``guard`` runs each reading and records
    its failure. Elements in ``seen`` (file, element id) are skipped and the ones read are
    added to it: an id another file of the deploy also has is read in each file."""
    spec = BpmnProcessSpec(
        name=process_parser.bpmn_id,
        description=process_parser.get_name(),
        filename=process_parser.filename,
    )
    spec.data_stores = process_parser.data_stores
    built, process_parser.spec = process_parser.spec, spec  # the task parsers add to it
    try:
        # the data objects its tasks' associations name, its subprocesses' as well
        for node in process_parser.node.iter(f"{{{BPMN_NS}}}dataObject"):
            data_object = process_parser.parse_data_object(node)
            spec.data_objects[data_object.bpmn_id] = data_object
        for node in process_parser.node.iter():
            if not isinstance(node.tag, str) or etree.QName(node).localname in SUBWORKFLOWS:
                continue
            reader_class, spec_class = process_parser.parser._get_parser_class(node.tag)
            element_id = node.get("id")
            key = (process_parser.filename or "", element_id)
            if reader_class is None or not element_id or key in seen:
                continue
            seen.add(key)
            reader = reader_class(
                process_parser, spec_class, node, process_parser.nsmap, lane=process_parser.lane
            )
            guard(lambda reader=reader: _read(reader))
    finally:
        process_parser.spec = built
    return spec


def _read(reader: Any) -> None:
    """The first part of ``TaskParser.parse_node``: the element itself, not its flows."""
    reader.task = reader.create_task()
    reader.task.extensions = reader.parse_extensions()
    if reader.xpath("./bpmn:ioSpecification"):
        reader.task.io_specification = reader.parse_io_spec()
    loop = reader.xpath("./bpmn:standardLoopCharacteristics")
    if loop:
        reader._add_loop_task(loop[0])
    multi = reader.xpath("./bpmn:multiInstanceLoopCharacteristics")
    if multi:
        reader._add_multiinstance_task(multi[0])
