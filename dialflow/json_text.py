"""The text of JSON columns: exactly what ``json.dumps(value)`` writes, for less work.

SQLAlchemy writes every JSON column value with ``json.dumps``, which goes through
``JSONEncoder.encode`` and ``iterencode`` and builds a new C encoder for each value: a step
writes about a dozen such values (the instance's data, waits and trail, a work item's form,
audit entries' before and after), and building the encoder cost about as much as writing the
value. :func:`dumps` calls one C encoder made once with ``json.dumps``'s own settings, so the
text is the same to the byte (PostgreSQL's ``json`` columns keep it as sent).

That encoder keeps no record of the containers it is inside (it holds no state, so threads
share it), which ``json.dumps`` does to report a value that contains itself: such a value
runs into Python's recursion limit here, and is then written by ``json.dumps``, which raises
its own error, as it does for a value nested too deeply.
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

# json.dumps(value) with every option at its default: ensure_ascii, ", " and ": ", NaN allowed,
# keys unsorted, non-text keys refused. No markers: see the module.
_ENCODE = (
    c_make_encoder(
        None,
        json.JSONEncoder().default,
        encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    if c_make_encoder is not None
    else None
)


def dumps(value: Any) -> str:
    """``json.dumps(value)``, the same text or the same error."""
    if value is None:  # a column left empty: most of them
        return "null"
    if _ENCODE is None:  # a Python without json's C accelerator
        return json.dumps(value)
    try:
        return "".join(_ENCODE(value, 0))
    except RecursionError:
        return json.dumps(value)
