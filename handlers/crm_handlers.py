"""CRM operators for service tasks: notes, customer fields, deals, call logging."""

from __future__ import annotations

from typing import Any

from crm.calls import log_call as log_call_service
from crm.customers import customer_to_dict, update_customer
from crm.deals import create_deal, deal_to_dict
from crm.deals import set_deal_stage as set_deal_stage_service
from crm.notes import add_note as add_note_service
from handlers.registry import HandlerContext, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    @registry.register("crm.add_note", "Add a note to the customer's timeline")
    def add_note(ctx: HandlerContext, customer_id: int, text: str) -> dict[str, Any]:
        note = add_note_service(ctx.session, customer_id, text, actor=ctx.actor, scoped=False)
        return {"note_id": note.id}

    @registry.register("crm.update_customer", "Change customer fields (same rules as the API)")
    def update_customer_fields(
        ctx: HandlerContext, customer_id: int, fields: dict
    ) -> dict[str, Any]:
        customer = update_customer(ctx.session, customer_id, fields, actor=ctx.actor, scoped=False)
        return customer_to_dict(customer, reveal_phone=True)

    @registry.register("crm.set_deal_stage", "Move a deal to another stage")
    def set_deal_stage(
        ctx: HandlerContext, deal_id: int, stage: str, comment: str | None = None
    ) -> dict[str, Any]:
        deal = set_deal_stage_service(ctx.session, deal_id, stage, actor=ctx.actor, comment=comment)
        return deal_to_dict(deal)

    @registry.register("crm.create_opportunity", "Open a deal for the customer")
    def create_opportunity(
        ctx: HandlerContext, customer_id: int, amount: float | int | str, title: str
    ) -> dict[str, Any]:
        deal = create_deal(
            ctx.session,
            customer_id,
            {"title": title, "amount": amount},
            actor=ctx.actor,
            scoped=False,
        )
        return deal_to_dict(deal)

    @registry.register("crm.log_call", "Log a call with its disposition")
    def log_call(
        ctx: HandlerContext,
        customer_id: int,
        disposition: str,
        duration_s: int = 0,
        notes: str | None = None,
    ) -> dict[str, Any]:
        call = log_call_service(
            ctx.session,
            customer_id,
            {"disposition": disposition, "duration_s": duration_s, "notes": notes},
            actor=ctx.actor,
            scoped=False,
        )
        return {
            "call_id": call.id,
            "disposition": call.disposition.value if call.disposition else None,
        }
