"""CRM domain events, delivered synchronously inside the caller's transaction.

The CRM must not know which processes react to it (``processes`` depends on ``crm``, not the
other way round). Use cases ``publish`` facts like ``deal_won``; ``processes.telesales``
subscribes at start. Subscribers are registered once per Python process from code (the same in
every worker), so this holds no runtime state that could differ between workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

Subscriber = Callable[[Session, dict[str, Any]], None]
_subscribers: dict[str, list[Subscriber]] = {}


def subscribe(name: str, subscriber: Subscriber) -> None:
    handlers = _subscribers.setdefault(name, [])
    if subscriber not in handlers:
        handlers.append(subscriber)


def publish(session: Session, name: str, payload: dict[str, Any]) -> None:
    for subscriber in _subscribers.get(name, ()):
        subscriber(session, payload)
