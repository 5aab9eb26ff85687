"""Deal approval operators: the quote facts and approvers, escalation, the decision, quote
changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crm.deals import MAX_AMOUNT, cents, get_deal, set_deal_stage
from crm.models import (
    ActivityKind,
    DealStage,
    Role,
    User,
)
from crm.notes import add_note
from crm.usernames import normalise_username
from crm.validation import FieldErrors, decimal
from handlers.registry import HandlerContext, HandlerError, HandlerRegistry
from handlers.telesales.rules import after, candidate, manager_of, notify
from processes import settings


def register(registry: HandlerRegistry) -> None:
    @registry.register("deals.prepare_approval", "Quote facts and the approvers for a deal")
    def prepare(ctx: HandlerContext, deal_id: int) -> dict[str, Any]:
        session = ctx.session
        deal = get_deal(session, deal_id)
        agent = session.get(User, deal.owner_id) if deal.owner_id else None
        manager = manager_of(session, agent)
        director = manager_of(session, manager)
        team_id = agent.team_id if agent else None
        escalate = settings.effective(session, "approval", team_id)["escalate_after"]
        return {
            "deal_id": deal.id,
            "title": deal.title,
            "amount": float(deal.amount),
            "discount_pct": float(deal.discount_pct),
            "agent": agent.username if agent else None,
            "manager": candidate(manager, "manager"),
            "director": candidate(director, "director"),
            "escalate_at": after(ctx.now, escalate).isoformat(),
        }

    @registry.register("deals.escalation_target", "Who takes over an approval nobody answered")
    def escalation_target(ctx: HandlerContext, approver: str) -> dict[str, Any]:
        session = ctx.session
        if approver.startswith("group:"):
            role = approver[6:]
            above = {"manager": "group:director", "director": "group:admin"}
            return {"approver": above.get(role, "group:admin")}
        name = normalise_username(approver.removeprefix("user:"))
        user = session.scalar(select(User).where(User.username == name))
        boss = manager_of(session, user)
        target = candidate(boss, "director" if user and user.role == Role.MANAGER else "admin")
        escalate = settings.effective(session, "approval", user.team_id if user else None)
        notify(
            session,
            boss.id if boss else None,
            f"An approval waited too long for {approver}; it is now yours.",
            ctx,
        )
        return {
            "approver": target,
            "escalate_at": after(ctx.now, escalate["escalate_after"]).isoformat(),
        }

    @registry.register("deals.record_decision", "Apply an approval decision to the deal")
    def record_decision(
        ctx: HandlerContext,
        deal_id: int,
        decision: str,
        tier: str,
        comment: str | None = None,
    ) -> dict[str, Any]:
        session = ctx.session
        deal = get_deal(session, deal_id)
        who = ctx.actor.display_name if ctx.actor else "the approval rule"
        text = f"Discount {deal.discount_pct}% {decision} ({tier}) by {who}"
        if comment:
            text += f": {comment}"
        stage = {
            "approved": DealStage.NEGOTIATION,
            "rejected": DealStage.PROPOSAL,
            "sent_back": DealStage.PROPOSAL,
        }.get(decision)
        if stage is None:
            raise HandlerError(f"unknown decision {decision!r}")
        set_deal_stage(session, deal.id, stage.value, actor=ctx.actor, comment=text)
        add_note(
            session,
            deal.customer_id,
            text,
            actor=ctx.actor,
            kind=ActivityKind.SYSTEM,
            deal_id=deal.id,
            scoped=False,
        )
        notify(session, deal.owner_id, text, ctx)
        return {"decision": decision, "stage": stage.value}

    @registry.register("deals.update_quote", "Change a deal's quote (discount, amount)")
    def update_quote(
        ctx: HandlerContext,
        deal_id: int,
        discount_pct: float | int | str,
        amount: float | int | str | None = None,
    ) -> dict[str, Any]:
        deal = get_deal(ctx.session, deal_id)
        deal.discount_pct = cents(_decimal(discount_pct, "discount_pct", Decimal(0), Decimal(100)))
        if amount not in (None, ""):
            deal.amount = cents(_decimal(amount, "amount", Decimal(0), MAX_AMOUNT))
        if deal.stage != DealStage.APPROVAL:
            set_deal_stage(ctx.session, deal.id, DealStage.APPROVAL.value, actor=ctx.actor)
        ctx.session.flush()
        return {"discount_pct": float(deal.discount_pct), "amount": float(deal.amount)}


def _decimal(value: Any, field: str, low: Decimal, high: Decimal) -> Decimal:
    errors = FieldErrors()
    number = decimal({field: value}, field, errors, minimum=low, maximum=high)
    if number is None:
        message = errors.details[0]["message"] if errors.details else "This field is required."
        raise HandlerError(f"{field}: {message}")
    return number
