"""Task ids as text, each worked out once per process.

SpiffWorkflow's task ids are ``uuid.UUID`` objects; their text is what the state, the work
items and the step's bookkeeping store and compare. ``str(UUID)`` is Python code (a hex
format and five slices), and hashing a ``UUID`` calls Python too; a step turned the same few
ids into text several times (the state's ids, parents and children at every save, the open
user tasks when loading and saving). :func:`id_text` looks the text up by the id's integer
(hashed by C) and computes it once. The texts never change, so the memo is only bounded, not
invalidated; any number of threads may share it.
"""

from __future__ import annotations

from uuid import UUID

MAX_TEXTS = 50_000  # ids of a few thousand live instances' tasks; cleared whole when full
_TEXTS: dict[int, str] = {}


def id_text(task_id: UUID) -> str:
    """``str(task_id)``."""
    number = task_id.int
    text = _TEXTS.get(number)
    if text is None:
        if len(_TEXTS) >= MAX_TEXTS:
            _TEXTS.clear()
        text = _TEXTS[number] = str(task_id)
    return text
