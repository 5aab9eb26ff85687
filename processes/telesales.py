"""Glue between CRM events and the shipped telesales processes.

The API and pages call these; each runs in the caller's unit of work, so the CRM change and the
process step it starts commit together.

=======================  =====================================================================
event                    process
=======================  =====================================================================
a lead comes in          ``lead_intake`` (business key: the customer id; a repeat carries the
                         existing customer's id)
a pool lead is claimed   ``call_cadence`` for the claimer
a quote is submitted     ``deal_approval`` (business key: the customer id, ``deal_id`` in data)
a deal is won            ``after_sale`` (started from ``crm.deals`` through ``crm.events``)
=======================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import events, pool
from crm.customers import create_customer, get_customer
from crm.deals import MAX_AMOUNT, cents, get_deal, set_deal_stage
from crm.models import Customer, Deal, DealStage, User
from crm.validation import FieldErrors, decimal, text
from dialflow.errors import Conflict, DuplicateCustomer, Forbidden, InvalidInput
from engine.instances import start_instance
from engine.models import ProcessInstance
from engine.service import ProcessEngine
from processes import settings

LEAD_INTAKE = "lead_intake"
CALL_CADENCE = "call_cadence"
DEAL_APPROVAL = "deal_approval"
AFTER_SALE = "after_sale"


def submit_lead(
    engine: ProcessEngine,
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: User | None,
    region: str = "CN",
    default_timezone: str = "Asia/Shanghai",
) -> tuple[ProcessInstance, int, bool]:
    """Store a lead (or find who already has it) and start its intake.

    Returns ``(instance, customer_id, duplicate)``. A lead with invalid fields is refused with
    422 before anything is stored.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("Expected a JSON object with the lead's fields.")
    fields = {k: v for k, v in data.items() if k != "owner"}
    duplicate_of = None
    try:
        with session.begin_nested():
            customer = create_customer(
                session,
                {**fields, "owner": None},
                actor=actor,
                region=region,
                default_timezone=default_timezone,
            )
        customer_id = customer.id
    except DuplicateCustomer as exc:
        duplicate_of = exc.details[0]["existing_id"]
        customer_id = duplicate_of
    instance = start_intake(
        engine,
        session,
        customer_id,
        duplicate_of=duplicate_of,
        lead={k: data.get(k) for k in ("name", "notes", "region", "source")},
        actor=actor,
    )
    return instance, customer_id, duplicate_of is not None


def start_intake(
    engine: ProcessEngine,
    session: Session,
    customer_id: int,
    *,
    duplicate_of: int | None,
    lead: Mapping[str, Any],
    actor: User | None,
) -> ProcessInstance:
    """Start ``lead_intake`` for a stored customer (or a repeat of ``duplicate_of``)."""
    return start_instance(
        engine,
        session,
        LEAD_INTAKE,
        business_key=str(customer_id),
        data={
            "customer_id": customer_id,
            "duplicate_of": duplicate_of,
            "lead_name": str(lead.get("name") or ""),
            "lead_note": str(lead.get("notes") or "")[:500],
            "region": lead.get("region") or None,
            "source": lead.get("source") or None,
        },
        actor=actor,
    )


def route_imported_leads(
    engine: ProcessEngine,
) -> Callable[[Session, Any, list[int], list[int]], None]:
    """The import's batch hook: when the job asks for it (``options.route_leads``), each new
    customer goes through lead intake (routing, assignment, call cadence) and each row that
    repeated an existing customer notes it and tells its owner — in the batch's transaction."""

    def route(session: Session, job: Any, created: list[int], duplicates: list[int]) -> None:
        if not (job.options or {}).get("route_leads"):
            return
        actor = session.get(User, job.created_by_id) if job.created_by_id else None
        for customer in session.scalars(select(Customer).where(Customer.id.in_(created))):
            lead = {"name": customer.name, "region": customer.region, "source": customer.source}
            start_intake(engine, session, customer.id, duplicate_of=None, lead=lead, actor=actor)
        for existing_id in dict.fromkeys(duplicates):
            lead = {"name": f"import {job.file_name or ''}".strip(), "source": "import"}
            start_intake(
                engine, session, existing_id, duplicate_of=existing_id, lead=lead, actor=actor
            )

    return route


def claim_from_pool(
    engine: ProcessEngine, session: Session, customer_id: int, *, actor: User
) -> tuple[int, ProcessInstance]:
    """Claim a pool lead (caps, protection) and start its call cadence for the claimer."""
    rules = pool.PoolRules.from_setting(settings.effective(session, "pool", actor.team_id))
    now = engine.clock.now()
    customer = pool.claim(session, customer_id, actor=actor, rules=rules, now=now)
    instance = start_instance(
        engine,
        session,
        CALL_CADENCE,
        business_key=str(customer.id),
        data={"customer_id": customer.id},
        actor=actor,
    )
    return customer.id, instance


def pool_caps(engine: ProcessEngine, session: Session, user: User) -> dict[str, int]:
    rules = pool.PoolRules.from_setting(settings.effective(session, "pool", user.team_id))
    return pool.caps(session, user, rules, engine.clock.now())


def submit_quote(
    engine: ProcessEngine,
    session: Session,
    deal_id: int,
    data: Mapping[str, Any],
    *,
    actor: User,
) -> tuple[Deal, ProcessInstance]:
    """Set a deal's quote (amount, discount) and send it through approval."""
    if not isinstance(data, Mapping):
        raise InvalidInput("Expected a JSON object with the quote.")
    errors = FieldErrors()
    discount = decimal(data, "discount_pct", errors, minimum=Decimal(0), maximum=Decimal(100))
    if data.get("discount_pct") in (None, ""):
        errors.add("discount_pct", "This field is required.")
    amount = decimal(data, "amount", errors, minimum=Decimal(0), maximum=MAX_AMOUNT)
    comment = text(data, "comment", errors, max_len=2000)
    errors.raise_if_any("The quote is not valid.")
    # A deal outside the actor's scope is not found as a deal, like GET /deals/{id}: naming
    # its customer would tell that the deal exists, and whose it is.
    get_deal(session, deal_id, viewer=actor)
    # Locked and re-read: of two quotes at once, the second finds the first's approval stage.
    deal = session.scalar(
        select(Deal)
        .where(Deal.id == deal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ) or get_deal(session, deal_id)  # deleted meanwhile: 404
    customer = get_customer(session, deal.customer_id, viewer=actor)  # erased meanwhile: 404
    if actor.role.value == "agent" and deal.owner_id != actor.id:
        raise Forbidden("Only the deal's owner submits its quote.")
    if deal.stage.is_closed:
        raise Conflict(f"The deal is {deal.stage.value}.", code="deal_closed")
    if deal.stage == DealStage.APPROVAL:
        raise Conflict("The deal's quote is already waiting for approval.", code="approval_pending")
    # As the NUMERIC(…, 2) columns hold them: the decision judges the discount that is stored.
    if discount is not None:
        deal.discount_pct = cents(discount)
    if amount is not None:
        deal.amount = cents(amount)
    set_deal_stage(session, deal.id, DealStage.APPROVAL.value, actor=actor, comment=comment)
    instance = start_instance(
        engine,
        session,
        DEAL_APPROVAL,
        business_key=str(customer.id),
        data={
            "deal_id": deal.id,
            "customer_id": customer.id,
            "discount_pct": float(deal.discount_pct),
            "amount": float(deal.amount),
            "quote_comment": comment,
        },
        actor=actor,
    )
    return deal, instance


def _on_deal_won(session: Session, payload: dict[str, Any]) -> None:
    """Queue the after-sale start in the same transaction (delivered by the next scheduler
    pass): the deal can be won inside any step or request, where no engine is at hand."""
    from engine.messages import queue_message

    queue_message(
        session,
        name="deal_won",
        business_key=str(payload["customer_id"]),
        payload={
            "customer_id": payload["customer_id"],
            "deal_id": payload["deal_id"],
            "won_at": payload["at"].isoformat(),
        },
        now=payload["at"],
    )


def install() -> None:
    """Subscribe the processes to CRM events (idempotent; called when a runtime is built)."""
    events.subscribe("deal_won", _on_deal_won)


__all__ = [
    "AFTER_SALE",
    "CALL_CADENCE",
    "DEAL_APPROVAL",
    "LEAD_INTAKE",
    "claim_from_pool",
    "install",
    "pool_caps",
    "route_imported_leads",
    "start_intake",
    "submit_lead",
    "submit_quote",
]
