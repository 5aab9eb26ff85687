"""CRM domain events → webhook events in the outbox, in the publisher's transaction.

The use cases publish facts (``crm.events``) without knowing about webhooks; ``install``
subscribes these translators once per process (``Runtime.build`` calls it, as it does
``processes.telesales.install``). Each translator picks the fields a receiver may see (no
personal data, see ``crm.webhooks.catalog``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm import events
from crm.models import Call, Customer, Deal, DealStage
from crm.webhooks import outbox


def customer_data(customer: Customer) -> dict[str, Any]:
    return {
        "customer_id": customer.id,
        "stage": customer.stage,
        "pool_status": customer.pool_status,
        "owner_id": customer.owner_id,
        "team_id": customer.team_id,
        "source": customer.source,
        "created_at": customer.created_at,
    }


def call_data(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.id,
        "customer_id": call.customer_id,
        "agent_id": call.agent_id,
        "direction": call.direction,
        "disposition": call.disposition,
        "started_at": call.started_at,
        "duration_s": call.duration_s,
        "external_id": call.external_id,
    }


def deal_data(deal: Deal, from_stage: DealStage | None, actor_id: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "deal_id": deal.id,
        "customer_id": deal.customer_id,
        "from_stage": from_stage,
        "to_stage": deal.stage,
        "amount": deal.amount,
        "currency": deal.currency,
        "owner_id": deal.owner_id,
        "changed_by_id": actor_id,
    }
    if deal.stage.is_closed:
        data["closed_at"] = deal.closed_at
    if deal.stage == DealStage.LOST:
        data["lost_reason"] = deal.lost_reason
    return data


def _customers_created(session: Session, payload: dict[str, Any]) -> None:
    customers = payload["customers"]
    if len(customers) == 1:
        outbox.enqueue(session, "customer.created", customer_data(customers[0]))
    else:
        outbox.enqueue_many(session, "customer.created", [customer_data(c) for c in customers])


def _call_logged(session: Session, payload: dict[str, Any]) -> None:
    outbox.enqueue(session, "call.logged", call_data(payload["call"]))


def _deal_stage_changed(session: Session, payload: dict[str, Any]) -> None:
    deal: Deal = payload["deal"]
    data = deal_data(deal, payload["from_stage"], payload.get("actor_id"))
    outbox.enqueue(session, "deal.stage_changed", data)
    if deal.stage == DealStage.WON:
        outbox.enqueue(session, "deal.won", data)
    elif deal.stage == DealStage.LOST:
        outbox.enqueue(session, "deal.lost", data)


def install() -> None:
    """Subscribe the outbox to the CRM's events (idempotent)."""
    events.subscribe("customers_created", _customers_created)
    events.subscribe("call_logged", _call_logged)
    events.subscribe("deal_stage_changed", _deal_stage_changed)
