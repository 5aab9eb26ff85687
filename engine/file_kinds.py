"""What a file that is no BPMN (or no DMN) file most likely is, said as what to upload instead.

People upload the picture the modeler exported (SVG), an XPDL file from an older tool, a
draw.io drawing made with its BPMN shapes, or a DMN table under ``.bpmn`` (and a diagram under
``.dmn``): the reader's own words ("its root is <svg>", "has a <!DOCTYPE>") said what was wrong
but not what to do about it.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS

SVG_NS = "http://www.w3.org/2000/svg"


def is_svg(tree: Any) -> bool:
    return etree.QName(tree).localname == "svg"


def svg_message(name: str) -> str:
    return (
        f"{name}: is an SVG image (a picture of the diagram, such as the modeler's "
        "'Download as SVG'), not a BPMN file: upload the .bpmn file the modeler saves"
    )


def upload_hint(tree: Any, expected: str) -> str:
    """What to do with a file whose root is not the ``expected`` kind's (``"bpmn"`` or
    ``"dmn"``); empty when the root says nothing known."""
    root = etree.QName(tree)
    if expected == "bpmn" and root.localname == "definitions" and "/DMN/" in (root.namespace or ""):
        return ": it is a DMN file; give it the extension .dmn"
    if expected == "dmn" and (root.namespace, root.localname) == (BPMN_NS, "definitions"):
        return ": it is a BPMN file; give it the extension .bpmn"
    if root.namespace is None and root.localname in ("mxfile", "mxGraphModel"):
        # draw.io (diagrams.net) saves its BPMN shapes as a drawing: no process to run
        return (
            ": it is a draw.io (diagrams.net) drawing, whose BPMN shapes are pictures with no "
            "process behind them; draw the process in Dialflow's modeler (or another BPMN "
            "modeler) and upload the .bpmn file it saves"
        )
    if root.localname == "Package" and "XPDL" in (root.namespace or "").upper():
        return (
            ": it is an XPDL file; export the diagram from the modeler as BPMN 2.0 XML "
            "(the .bpmn format) and upload that"
        )
    return ""
