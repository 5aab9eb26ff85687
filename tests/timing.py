"""Measuring the CPU a piece of work costs, for tests that check how it grows with its size."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Garbage collection paused while a growth ratio is measured: a full pass walks every
    object the test worker still holds, so late in a run its cost depends on what earlier tests
    left, not on the work measured (a CI run saw 5,000 elements cost 9 times 1,250, against 3.7
    on a fresh worker)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
