"""Lead intake operators: assignment within daily caps, telling an owner, closing a lead."""

from __future__ import annotations

from typing import Any

from crm import assignment, pool
from crm.customers import get_customer
from crm.models import (
    ActivityKind,
    LeadStage,
)
from crm.notes import add_note
from handlers.registry import HandlerContext, HandlerRegistry
from handlers.telesales.rules import CLOSING, after, notify, username
from processes import settings


def register(registry: HandlerRegistry) -> None:
    @registry.register("leads.assign", "Give a new lead to an agent of a team (daily caps)")
    def assign_lead(
        ctx: HandlerContext, customer_id: int, team: str, strategy: str = "round_robin"
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        found = assignment.team_by_name(session, team)
        rules = settings.effective(session, "assignment", found.id)
        agent = assignment.pick_agent(
            session, found, strategy, int(rules["default_daily_cap"]), ctx.now
        )
        if agent is None:
            customer.team_id = found.id
            pool.release(
                session,
                customer,
                reason=f"every agent of {team} reached the daily cap",
                now=ctx.now,
                actor=ctx.actor,
                respect_protection=False,
            )
            return {"assigned": False, "owner": None, "team": team}
        assignment.assign(session, customer, agent, strategy=strategy, now=ctx.now, actor=ctx.actor)
        notify(session, agent.id, f"New lead: {customer.name}", ctx)
        return {
            "assigned": True,
            "owner": agent.username,
            "team": team,
            "first_call_due": after(ctx.now, rules["first_call_sla"]).isoformat(),
        }

    @registry.register("leads.notify_owner", "Tell a customer's owner (or team) something")
    def notify_owner(ctx: HandlerContext, customer_id: int, message: str) -> dict[str, Any]:
        customer = get_customer(ctx.session, customer_id)
        notify(ctx.session, customer.owner_id, message, ctx)
        return {"notified": username(ctx.session, customer.owner_id)}

    @registry.register("leads.close", "Close a lead with a reason (wrong number, not interested)")
    def close_lead(ctx: HandlerContext, customer_id: int, reason: str) -> dict[str, Any]:
        customer = get_customer(ctx.session, customer_id)
        text = CLOSING.get(reason, reason)[:200]
        customer.stage = LeadStage.LOST
        customer.closed_reason = text
        add_note(
            ctx.session,
            customer.id,
            f"Lead closed: {text}",
            actor=ctx.actor,
            kind=ActivityKind.SYSTEM,
            scoped=False,
        )
        return {"stage": customer.stage.value, "reason": text}
