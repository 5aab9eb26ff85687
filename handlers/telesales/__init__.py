"""Operators of the shipped telesales processes: assignment, compliance gate, cadence, pool,
deal approval and after-sale visits.

Each reads the settings in force for the customer's team when it runs (``processes.settings``),
so a manager's change applies to the next step of running instances. The compliance and
cadence operators also take optional parameters named in ``OVERRIDES``: a value given in the
diagram replaces that setting, so a process owner can pin a rule to a deployed version (its
instances keep it until migrated). Times returned to the diagrams are ISO 8601 strings (timer
``timeDate`` expressions read them).
"""

from __future__ import annotations

from handlers.registry import HandlerRegistry
from handlers.telesales import after_sale, calls, deals, gate, leads, pool
from handlers.telesales.rules import OVERRIDES

__all__ = ["OVERRIDES", "register"]


def register(registry: HandlerRegistry) -> None:
    for area in (leads, calls, pool, deals, after_sale, gate):
        area.register(registry)
