"""After-sale follow-up operators: when the next visit call is due and its satisfaction score."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm import compliance
from crm.customers import get_customer
from crm.models import (
    Activity,
    ActivityKind,
    Call,
    Disposition,
    User,
)
from handlers.registry import HandlerContext, HandlerRegistry
from handlers.telesales.rules import (
    after,
    candidate,
    manager_of,
    username,
    window_for,
)
from processes import settings


def register(registry: HandlerRegistry) -> None:
    @registry.register("aftersale.plan_visit", "When the next after-sale call is due, if any")
    def plan_visit(
        ctx: HandlerContext, customer_id: int, won_at: str, visit: int
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        rules = settings.effective(
            session, "after_sale", settings.customer_team_id(session, customer)
        )
        visits = rules["visits"]
        if visit >= len(visits):
            return {"done": True, "visit": visit}
        wanted = max(after(datetime.fromisoformat(won_at), visits[visit]), ctx.now)
        at = compliance.next_allowed(
            wanted, compliance.zone_of(customer), window_for(session, customer)
        )
        return {
            "done": False,
            "visit": visit,
            "label": visits[visit],
            "at": at.isoformat(),
            "owner": username(session, customer.owner_id),
            "manager": candidate(
                manager_of(session, session.get(User, customer.owner_id))
                if customer.owner_id
                else None,
                "manager",
            ),
            "low_score_at_most": int(rules["low_score_at_most"]),
            "customer_name": customer.name,
        }

    @registry.register("aftersale.record", "Record an after-sale call and its satisfaction score")
    def record(
        ctx: HandlerContext,
        customer_id: int,
        reached: bool,
        score: int | None = None,
        notes: str | None = None,
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        text = (
            f"After-sale call: satisfaction {score}/5"
            if reached and score is not None
            else "After-sale call: customer not reached"
        )
        if notes:
            text += f" — {notes}"
        session.add(
            Call(
                customer_id=customer.id,
                agent_id=ctx.actor.id if ctx.actor else None,
                number=customer.primary_phone,
                started_at=ctx.now,
                disposition=Disposition.CONNECTED_OTHER if reached else Disposition.NO_ANSWER,
                notes=text,
            )
        )
        session.add(
            Activity(
                customer_id=customer.id,
                kind=ActivityKind.VISIT,
                body=text,
                author_id=ctx.actor.id if ctx.actor else None,
                created_at=ctx.now,
            )
        )
        session.flush()
        return {"reached": reached, "score": score}
