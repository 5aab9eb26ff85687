"""Scripts and expressions too deeply nested for Python to compile or for the script engine
to prepare (``x = 1+1+…`` of thousands of terms, a long run of unary minus), named on their
element.

``compile`` and ``ast.parse`` raise ``RecursionError`` or ``MemoryError`` on such text, not
``SyntaxError``, and the dozens of checks that read scripts, conditions and DMN cells expect
the latter: the deploy answered 500. ``validation.validate_bundle`` asks this module for the
elements only once its checks have raised one of those. Below Python's own limit, the
rewrite ``sandbox.guarded`` gives every script at run time walks the tree recursively and
fails sooner (a sum of about 330 terms, an ``elif`` chain of about 490 branches): such a
script deployed and failed every run (an incident, "maximum recursion depth exceeded");
``checks.py`` refuses it with ``too_deep``, which prepares the text exactly as a step does.
The check prepares it on the thread of ``engine.fixed_depth``, where a step prepares a text
too deep where the step stood, so how deep the deploy or the step stood does not change the
answer: no margin is needed, and what the check lets through runs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from lxml import etree

from engine import fixed_depth, sandbox
from engine.bpmn_xml import SAFE_XML, element_problem

TOO_COMPLEX = (RecursionError, MemoryError)

TOO_DEEP = (
    "too deeply nested for Python to run (a very long chain of operators or brackets): "
    "split it into several steps or simpler expressions"
)
MESSAGE = f"holds a script or expression {TOO_DEEP}"


def too_complex_problems(*files: Mapping[str, str]) -> list[dict[str, Any]]:
    """One problem per element of ``files`` (BPMN and DMN, name → XML text) whose text or
    attribute Python cannot compile for its depth, on the element (or the nearest one with
    an id around it) and its line."""
    problems = []
    for group in files:
        for name, text in group.items():
            try:
                tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
            except (etree.XMLSyntaxError, ValueError):
                continue  # the deploy's other checks say what is wrong with it
            for element in tree.iter(etree.Element):
                values = [element.text or "", *element.attrib.values()]
                if any(_too_deep(value) for value in values if value.strip()):
                    owner = _with_id(element)
                    problems.append(element_problem(name, owner, MESSAGE, sep=" "))
    return problems


def too_deep(source: str, mode: str) -> bool:
    """Whether preparing ``source`` as the script engine runs it (``mode`` "exec" for a
    script, "eval" for an expression) fails for its depth: the same preparation, at the same
    depth (``engine.fixed_depth``), as a step's that was too deep where it stood (a step
    prepares a text where it stands first, ``sandbox.guarded``)."""
    try:
        fixed_depth.run(lambda: sandbox.prepared(source, mode))
    except TOO_COMPLEX:
        return True
    except (SyntaxError, ValueError):
        pass
    return False


def _too_deep(text: str) -> bool:
    """Whether ``text`` is too deep as a script, an expression or a DMN unary test."""
    stripped = text.strip()
    return (
        too_deep(textwrap.dedent(text), "exec")
        or too_deep(stripped, "eval")
        or too_deep(f"v {stripped}", "eval")  # ``>= 1+1+…``: tested against the column
    )


def _with_id(element: Any) -> Any:
    found = element
    while found is not None and not found.get("id"):
        found = found.getparent()
    return element if found is None else found
