"""Public pool operators: the warning before a reclaim and the reclaim itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crm import pool
from crm.customers import get_customer
from handlers.registry import HandlerContext, HandlerError, HandlerRegistry
from handlers.telesales.rules import notify, username


def register(registry: HandlerRegistry) -> None:
    @registry.register("pool.warn", "Warn the owner that a lead goes back to the pool soon")
    def warn(ctx: HandlerContext, customer_id: int, reclaim_at: str) -> dict[str, Any]:
        customer = get_customer(ctx.session, customer_id)
        when = datetime.fromisoformat(reclaim_at)
        notify(
            ctx.session,
            customer.owner_id,
            f"{customer.name} goes back to the public pool at {when:%Y-%m-%d %H:%M} UTC "
            "unless you follow up.",
            ctx,
        )
        return {"warned": username(ctx.session, customer.owner_id)}

    @registry.register("pool.reclaim", "Take a lead without follow-up back into the pool")
    def reclaim(
        ctx: HandlerContext, customer_id: int, planned_at: str | None = None
    ) -> dict[str, Any]:
        """``planned_at``: when the call was planned; contact since then (a call logged
        outside the task, click-to-call) keeps the lead with its owner."""
        customer = get_customer(ctx.session, customer_id)
        owner_id = customer.owner_id
        contacted = customer.last_contact_at
        if planned_at and contacted is not None:
            try:
                since = datetime.fromisoformat(planned_at)
            except ValueError as exc:
                raise HandlerError(f"not a date and time: {planned_at!r}") from exc
            if contacted.tzinfo is None:  # SQLite returns naive UTC
                contacted = contacted.replace(tzinfo=UTC)
            if contacted > since:
                return {
                    "reclaimed": False,
                    "contacted_at": contacted.isoformat(),
                    "protected_until": None,
                }
        reclaimed = pool.release(
            ctx.session, customer, reason="no follow-up in time", now=ctx.now, actor=ctx.actor
        )
        if reclaimed:
            notify(ctx.session, owner_id, f"{customer.name} went back to the public pool.", ctx)
        return {
            "reclaimed": reclaimed,
            "protected_until": customer.protected_until.isoformat()
            if customer.protected_until
            else None,
        }
