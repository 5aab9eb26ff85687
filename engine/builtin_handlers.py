"""Operators the engine itself provides to diagrams: starting another process.

``process.start`` starts the latest version of a process in the same transaction as the step
that calls it (a lead's intake hands over to its call cadence this way, and the new instance
follows whatever version of the cadence is deployed, not a version pinned at deploy time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.registry import HandlerContext, HandlerRegistry

if TYPE_CHECKING:
    from engine.service import ProcessEngine


def register(registry: HandlerRegistry, engine: ProcessEngine) -> None:
    if "process.start" in registry:
        return

    @registry.register("process.start", "Start the latest version of another process")
    def start_process(
        ctx: HandlerContext,
        process_id: str,
        business_key: str | int | None = None,
        data: dict | None = None,
    ) -> dict[str, Any]:
        from engine.instances import start_instance

        child = start_instance(
            engine,
            ctx.session,
            process_id,
            business_key=None if business_key is None else str(business_key),
            data={**(data or {}), "started_by_instance": ctx.instance_id},
            actor=ctx.actor,
        )
        return {"instance_id": child.id, "status": child.status.value}
