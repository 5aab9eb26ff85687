"""Service-task handlers: plain Python functions registered by operator id.

``build_registry()`` lists every handler module explicitly; there is no package scan. The
registry is used at deploy time (unknown operators and parameters are refused), by the engine
at run time, and by the modeler's operator dropdown.
"""

from __future__ import annotations

from handlers.registry import HandlerContext, HandlerRegistry


def build_registry() -> HandlerRegistry:
    from handlers import crm_handlers, notify, telesales

    registry = HandlerRegistry()
    crm_handlers.register(registry)
    notify.register(registry)
    telesales.register(registry)
    return registry


__all__ = ["HandlerContext", "HandlerRegistry", "build_registry"]
