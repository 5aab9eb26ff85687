"""Business keys as the same visible text: every entry stores and matches them in NFC.

``é`` typed as one code point (U+00E9) or as ``e`` and a combining accent (U+0301) looks
the same to everyone, and a keyboard, a spreadsheet or another system may send either: the
API's start, its messages, the filters of the instance and task lists, the process's own
``process.start`` and queued messages all take the key through :func:`normal_key`, so the
same visible key starts and finds the same instance. Width and case are kept: ``Ａ１``
(full-width) and ``A1``, or ``a1`` and ``A1``, may be distinct keys in the systems that send
them (NFKC would merge them), and Dialflow compares them as sent, as it always has.
"""

from __future__ import annotations

import unicodedata


def normal_key(value: str | int) -> str:
    """The key as stored and matched: an integer's digits, text in Unicode NFC."""
    text = str(value)
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def filter_key(value: str | None) -> str | None:
    """A list filter's key, normalized as keys are stored (None and "" stay as they are)."""
    return normal_key(value) if value else value
