"""The Python of a script or an expression as a BPMN file holds it: indented with the XML.

Chat assistants (and hands) pretty-print a script inside ``<bpmn:script>`` (or a
``<![CDATA[…]]>``) at the depth of the element, and a condition on a line of its own between
its tags; Python refused both ("unexpected indent"), so such a diagram was refused at deploy
though what it means is plain. A script that does not compile as written is read without
the indentation its lines share (or, where its first line follows the tag and the others are
indented, without theirs); an expression without the spaces and line breaks around it. What
compiles as written is run as written, so a valid script never changes meaning (a text
literal's indentation stays). The deploy checks and the script engine read the same text.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache


@lru_cache(maxsize=4096)
def script_text(script: str) -> str:
    """``script`` as it runs: as written if it compiles, else without the XML's indentation
    (what still does not compile is said without it: its error is then on the line that is
    wrong, not the first indented one); line numbers stay those of the file's script."""
    if _compiles(script):
        return script
    dedented = textwrap.dedent(script)
    for candidate in (dedented, _after_first_line(script)):
        if candidate != script and _compiles(candidate):
            return candidate
    return dedented


def expression_text(expression: str) -> str:
    """An expression (a condition, a parameter) without the spaces and line breaks around
    it, which ``eval`` refused as an indentation."""
    return expression.strip()


def _after_first_line(script: str) -> str:
    """``<bpmn:script>a = 1`` then lines at the element's depth: the lines after the first
    without the indentation they share."""
    first, _, rest = script.partition("\n")
    return f"{first}\n{textwrap.dedent(rest)}" if rest else script


def _compiles(script: str) -> bool:
    try:
        compile(script, "<script>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True
