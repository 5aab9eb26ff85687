"""The id a reference to nothing most likely meant, for a refusal to say "did you mean".

Exports with generated ids make one-character slips and half-ids common: Bonita's EMF ids
(``_Hq0cBM4aEe-b1Nn8cRwB2g``) differ from each other in a character or two, Lucidchart prefixes
every id of a page (``Zc5m.err_wrong``) and a hand edit writes the id without the prefix, a
call activity's ``calledElement`` is typed by hand. A refusal naming only what was written
("names no <bpmn:error> of this file; declare it") sent people to declare a second error
beside the one they meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def meant(
    ref: str, candidates: Iterable[str], names: dict[str, Iterable[str]] | None = None
) -> str | None:
    """The one candidate ``ref`` meant: the only one it names by another of its names
    (``names``: a candidate's name, error code…), the only one whose id ends in ``ref`` after a
    separator (a page prefix left out), else the nearest by spelling, if near enough."""
    written = ref.strip()
    pool = sorted({c for c in candidates if c and c != written})
    if not written or not pool:
        return None
    by_name = [c for c in pool if written in {n.strip() for n in (names or {}).get(c, ()) if n}]
    if len(by_name) == 1:
        return by_name[0]
    suffixed = [c for c in pool if re.search(rf"[._:\-]{re.escape(written)}$", c)]
    if len(suffixed) == 1:
        return suffixed[0]
    near = difflib.get_close_matches(written, pool, n=2, cutoff=0.8)
    if len(near) == 1 or (len(near) == 2 and _ratio(written, near[0]) > _ratio(written, near[1])):
        return near[0]
    return None


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()
