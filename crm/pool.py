"""The public pool (公海池): leads without an owner, reclaimed or released, and claims.

A claim locks the claimer's user row, then the customer row, and re-checks both under the
locks, so when two agents claim the same lead at once exactly one gets it and the other a
``409 already_claimed``, and one agent's claims at once cannot both pass a cap. Caps count
rows of ``pool_claims`` (claims today) and owned open leads (holding), never memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import audit
from crm.assignment import OPEN_STAGES
from crm.compliance import local_day_bounds, zone
from crm.models import Activity, ActivityKind, Customer, PoolClaim, PoolStatus, User
from crm.scoping import visible_customers
from dialflow.errors import Conflict, Forbidden, NotFound


@dataclass(frozen=True)
class PoolRules:
    daily_claim_cap: int
    holding_cap: int
    protection_days: int

    @classmethod
    def from_setting(cls, value: dict[str, int]) -> PoolRules:
        return cls(value["daily_claim_cap"], value["holding_cap"], value["protection_days"])


class ClaimRefused(Conflict):
    code = "claim_refused"


def user_zone(user: User) -> ZoneInfo:
    return zone(user.team.timezone if user.team else None)


def claims_today(session: Session, user: User, now: datetime) -> int:
    start, end = local_day_bounds(now, user_zone(user))
    return (
        session.scalar(
            select(func.count(PoolClaim.id)).where(
                PoolClaim.user_id == user.id,
                PoolClaim.claimed_at >= start,
                PoolClaim.claimed_at < end,
            )
        )
        or 0
    )


def holding(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count(Customer.id)).where(
                Customer.owner_id == user.id,
                Customer.pool_status == PoolStatus.OWNED,
                Customer.stage.in_(OPEN_STAGES),
            )
        )
        or 0
    )


def caps(session: Session, user: User, rules: PoolRules, now: datetime) -> dict[str, int]:
    return {
        "claimed_today": claims_today(session, user, now),
        "daily_claim_cap": rules.daily_claim_cap,
        "holding": holding(session, user),
        "holding_cap": rules.holding_cap,
    }


def list_pool(
    session: Session, viewer: User, *, limit: int = 50, offset: int = 0
) -> tuple[list[Customer], int]:
    where = (Customer.pool_status == PoolStatus.POOL, Customer.erased_at.is_(None))
    total = session.scalar(select(func.count(Customer.id)).where(*where, visible_customers(viewer)))
    rows = session.scalars(
        select(Customer)
        .where(*where, visible_customers(viewer))
        .order_by(Customer.pool_entered_at.desc().nulls_last(), Customer.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


def claim(
    session: Session, customer_id: int, *, actor: User, rules: PoolRules, now: datetime
) -> Customer:
    if actor.role.value not in ("agent", "manager"):
        raise Forbidden("Only agents and managers claim leads from the pool.")
    # The claimer's row first, then the lead's (always in this order): one agent's claims run
    # one at a time, so two at once cannot both pass the daily or holding cap.
    session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    customer = session.scalar(
        select(Customer)
        .where(Customer.id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if customer is None or customer.erased_at is not None:
        raise NotFound(f"No customer #{customer_id}.", code="customer_not_found")
    if customer.pool_status != PoolStatus.POOL:
        if customer.owner_id == actor.id:
            raise ClaimRefused("You already own this lead.", code="already_claimed")
        raise ClaimRefused("Another agent claimed this lead first.", code="already_claimed")
    taken = claims_today(session, actor, now)
    if taken >= rules.daily_claim_cap:
        raise ClaimRefused(
            f"You reached today's claim cap ({rules.daily_claim_cap} leads).",
            code="daily_claim_cap_reached",
        )
    held = holding(session, actor)
    if held >= rules.holding_cap:
        raise ClaimRefused(
            f"You already hold {held} open leads (cap {rules.holding_cap}).",
            code="holding_cap_reached",
        )
    customer.owner_id = actor.id
    customer.team_id = actor.team_id
    customer.pool_status = PoolStatus.OWNED
    customer.pool_entered_at = None
    customer.protected_until = now + timedelta(days=rules.protection_days)
    session.add(PoolClaim(customer_id=customer.id, user_id=actor.id, claimed_at=now))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="claim",
        entity_type="customer",
        entity_id=customer.id,
        before={"pool_status": "pool"},
        after={
            "owner_id": actor.id,
            "pool_status": "owned",
            "protected_until": customer.protected_until.isoformat(),
        },
    )
    return customer


def release(
    session: Session,
    customer: Customer,
    *,
    reason: str,
    now: datetime,
    actor: User | None,
    respect_protection: bool = True,
) -> bool:
    """Put a lead back into the pool; False when its protection period still runs."""
    if customer.pool_status == PoolStatus.POOL:
        return True
    protected = customer.protected_until
    if respect_protection and protected is not None and protected > now:
        return False
    before = {"owner_id": customer.owner_id, "pool_status": customer.pool_status.value}
    customer.owner_id = None
    customer.pool_status = PoolStatus.POOL
    customer.pool_entered_at = now
    customer.protected_until = None
    session.add(
        Activity(
            customer_id=customer.id,
            kind=ActivityKind.SYSTEM,
            body=f"Moved to the public pool: {reason}",
            author_id=actor.id if actor else None,
            created_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release_to_pool",
        entity_type="customer",
        entity_id=customer.id,
        before=before,
        after={"pool_status": "pool", "reason": reason},
    )
    return True
