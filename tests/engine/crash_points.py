"""What the crash workers share: a listener that runs before Dialflow's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event


def listen_first(target: Any, name: str, listener: Callable[..., Any]) -> None:
    """Make ``listener`` the first of ``target``'s ``name`` listeners.

    ``event.listen(..., insert=True)`` left it after those ``dialflow.db`` registered on the
    engine, and Dialflow's ``commit`` listener sends the COMMIT itself when the step's writes
    are still in a PostgreSQL pipeline: a hold placed after it held a committed step."""
    others = list(getattr(target.dispatch, name))
    for other in others:
        event.remove(target, name, other)
    event.listen(target, name, listener)
    for other in others:
        event.listen(target, name, other)
    assert next(iter(getattr(target.dispatch, name))) is listener
