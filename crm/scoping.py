"""Row-level scoping: which customers a user may see (own / team / all)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_

from crm.models import Customer, PoolStatus, Role, User

SEES_ALL = frozenset({Role.ADMIN, Role.DIRECTOR, Role.PROCESS_OWNER})


def visible_customers(user: User) -> Any:
    """A WHERE clause: agents see their own and pool leads, managers their team's, others all."""
    if not user.active:
        return false()
    if user.role in SEES_ALL:
        return Customer.id.isnot(None)
    pool = Customer.pool_status == PoolStatus.POOL
    if user.role == Role.MANAGER and user.team_id is not None:
        return or_(Customer.team_id == user.team_id, Customer.owner_id == user.id, pool)
    return or_(and_(Customer.owner_id == user.id), pool)


def may_see_customer(user: User, customer: Customer) -> bool:
    """``visible_customers`` for one loaded customer, without a query."""
    if not user.active:
        return False
    if user.role in SEES_ALL or customer.pool_status == PoolStatus.POOL:
        return True
    if customer.owner_id == user.id:
        return True
    return (
        user.role == Role.MANAGER and user.team_id is not None and customer.team_id == user.team_id
    )


def may_see_full_phone(user: User, customer: Customer, *, dialing: bool = False) -> bool:
    """Owner, the owner's manager (team manager), admins and directors see the number, and so
    does whoever is dialing them: the assignee of an open call task about the customer
    (``engine.dialing.is_dialing``). Everyone else sees it masked."""
    if dialing:
        return True
    if user.role in (Role.ADMIN, Role.DIRECTOR):
        return True
    if customer.owner_id == user.id:
        return True
    return (
        user.role == Role.MANAGER
        and customer.team_id is not None
        and (customer.team_id == user.team_id)
    )


def may_change_phone(user: User, customer: Customer) -> bool:
    """Who may change a customer's phone numbers: the owner, the owner's manager, directors
    and admins (``may_see_full_phone`` without ``dialing``). Dialing them through a task shows
    the number to call, not the right to change it."""
    return may_see_full_phone(user, customer)
