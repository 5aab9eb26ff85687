"""The compliance gate at the call itself: run when a call task is completed (its
``completionCheck``) and before an after-sale call."""

from __future__ import annotations

from typing import Any

from crm import compliance
from crm.customers import get_customer
from crm.models import ActivityKind
from crm.notes import add_note
from handlers.registry import HandlerContext, HandlerRegistry
from processes import settings


def register(registry: HandlerRegistry) -> None:
    @registry.register(
        "compliance.may_log_call",
        "Refuse logging a call made now (outside the window, DNC, no consent); a task's "
        "completionCheck",
        writes=False,
    )
    def may_log_call(
        ctx: HandlerContext, customer_id: int, disposition: str | None = None
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        if customer.do_not_call and disposition == "do_not_call":
            # Flagged after the task was made: recording it is how the agent closes the task
            # (the cadence ends there), not a new call to them.
            return {"allowed": True}
        window, _cap = settings.calling_rules(session, customer)
        # the attempt cap counts calls before they are made; this one is already made
        compliance.require_callable(session, customer, ctx.now, window, None)
        return {"allowed": True}

    @registry.register(
        "aftersale.check_visit", "Skip (and record) an after-sale call the gate forbids"
    )
    def check_visit(ctx: HandlerContext, customer_id: int, label: str) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        window, _cap = settings.calling_rules(session, customer)
        verdict = compliance.check_call(session, customer, ctx.now, window, None)
        if not verdict.blocked:
            return {"skipped": False, "reason": None}
        reason = verdict.reason or "blocked"
        add_note(
            session,
            customer.id,
            f"After-sale call ({label}) skipped: {reason.replace('_', ' ')}",
            actor=ctx.actor,
            kind=ActivityKind.SYSTEM,
            scoped=False,
        )
        return {"skipped": True, "reason": reason}
