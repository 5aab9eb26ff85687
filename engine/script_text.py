"""The Python of a script or an expression as a BPMN file holds it: indented with the XML.

Chat assistants (and hands) pretty-print a script inside ``<bpmn:script>`` (or a
``<![CDATA[…]]>``) at the depth of the element, and a condition on a line of its own between
its tags; Python refused both ("unexpected indent"), so such a diagram was refused at deploy
though what it means is plain. A script that does not compile as written is read without
the indentation its code lines share (or, where its first line follows the tag and the
others are indented, without theirs; a text literal's lines are not code); an expression
without the spaces and line breaks around it, and one over several lines between
parentheses. What compiles as written is run as written, so a valid script never changes
meaning (a text literal's indentation stays). The deploy checks and the script engine read
the same text.
"""

from __future__ import annotations

import io
import re
import tokenize
from functools import lru_cache


@lru_cache(maxsize=4096)
def script_text(script: str) -> str:
    """``script`` as it runs: as written if it compiles, else without the XML's indentation
    (what still does not compile is said without it: its error is then on the line that is
    wrong, not the first indented one); line numbers stay those of the file's script."""
    if _compiles(script):
        return script
    dedented = _dedent(script)
    for candidate in (dedented, _dedent(script, keep_first=True)):
        if candidate != script and _compiles(candidate):
            return candidate
    return dedented


@lru_cache(maxsize=4096)
def expression_text(expression: str) -> str:
    """An expression (a condition, a parameter) without the spaces and line breaks around
    it, which ``eval`` refused as an indentation; one written over several lines (``a > 1``
    then ``and b`` on the next, as conditions are pretty-printed) read as one, as Python
    reads it between parentheses."""
    stripped = expression.strip()
    if "\n" not in stripped or _compiles(stripped, "eval"):
        return stripped
    joined = f"({stripped}\n)"  # the ")" after a line break: a trailing comment stays one
    return joined if _compiles(joined, "eval") else stripped


_MARGIN = re.compile(r"[ \t]*")


def _dedent(script: str, *, keep_first: bool = False) -> str:
    """``script`` without the indentation its code lines share (``keep_first``: the lines
    after the first, which follows the tag). A line inside a text literal (the second line
    of a triple-quoted text) neither counts nor loses what it does not have: a message
    written from the left margin kept the script from being read at all."""
    lines = script.split("\n")  # as Python reads lines (splitlines also splits on \x0c)
    inside = _literal_lines(lines)
    code = [
        line
        for number, line in enumerate(lines)
        if line.strip(" \t") and number not in inside and not (keep_first and number == 0)
    ]
    margins = [_MARGIN.match(line).group() for line in code]
    margin = _common_prefix(margins) if margins else ""
    out = []
    for number, line in enumerate(lines):
        if keep_first and number == 0:
            out.append(line)
        elif not line.strip(" \t") and number not in inside:
            out.append("")
        else:
            out.append(line[len(margin) :] if line.startswith(margin) else line)
    return "\n".join(out)


def _common_prefix(margins: list[str]) -> str:
    first, last = min(margins), max(margins)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]


def _literal_lines(lines: list[str]) -> set[int]:
    """The lines (from 0) that continue a text literal begun on an earlier line, found on
    the script with each line's indentation left out (which moves no literal's ends)."""
    flat = "\n".join(line.lstrip(" \t") for line in lines)
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(flat).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0], token.end[0]))  # rows are from 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return inside


def _compiles(script: str, mode: str = "exec") -> bool:
    try:
        compile(script, "<script>", mode)
    except (SyntaxError, ValueError):
        return False
    return True
