"""The compliance gate before a call and the call cadence: when to call, what a disposition
leads to, retries with backoff and attempt caps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import compliance, pool
from crm.customers import get_customer
from crm.models import Call
from handlers.registry import HandlerContext, HandlerError, HandlerRegistry
from handlers.telesales.rules import (
    UNANSWERED,
    WINDOW,
    WINDOW_HELP,
    after,
    check_overrides,
    describe_override,
    rules_in_force,
    username,
    window_for,
)
from processes import settings


def register(registry: HandlerRegistry) -> None:
    @registry.register(
        "compliance.check_call",
        "May this customer be called now? (window, cap, DNC, consent)",
        parameters={
            **WINDOW_HELP,
            "daily_attempt_cap": describe_override(
                "daily_attempt_cap", "Calls to one customer per local day, e.g. 2."
            ),
        },
        together=(WINDOW,),
        check=check_overrides,
    )
    def check_call(
        ctx: HandlerContext,
        customer_id: int,
        window_start: str | None = None,
        window_end: str | None = None,
        daily_attempt_cap: int | None = None,
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        team_id = settings.customer_team_id(session, customer)
        given = {"daily_attempt_cap": daily_attempt_cap}
        cap = int(rules_in_force(session, "compliance", team_id, given)["daily_attempt_cap"])
        window = window_for(session, customer, window_start, window_end)
        verdict = compliance.check_call(session, customer, ctx.now, window, cap)
        return verdict.to_dict()

    @registry.register(
        "compliance.next_call_time",
        "The first allowed call time at or after a wanted time",
        parameters=WINDOW_HELP,
        together=(WINDOW,),
        check=check_overrides,
    )
    def next_call_time(
        ctx: HandlerContext,
        customer_id: int,
        at: str,
        window_start: str | None = None,
        window_end: str | None = None,
    ) -> dict[str, Any]:
        customer = get_customer(ctx.session, customer_id)
        try:
            wanted = datetime.fromisoformat(str(at))
        except ValueError as exc:
            raise HandlerError(f"not a date and time: {at!r}") from exc
        if wanted.tzinfo is None:  # a form's local time: the customer's zone
            wanted = wanted.replace(tzinfo=compliance.zone_of(customer))
        wanted = max(wanted, ctx.now)
        window = window_for(ctx.session, customer, window_start, window_end)
        allowed = compliance.next_allowed(wanted, compliance.zone_of(customer), window)
        return {"at": allowed.isoformat(), "shifted": allowed != wanted}

    @registry.register(
        "cadence.plan_call",
        "Owner, due time and reclaim times of the next call",
        parameters={
            "first_call_sla": describe_override(
                "first_call_sla", "The first call is due this long after the lead, e.g. 'PT1H'."
            ),
            "reclaim_after_days": describe_override(
                "reclaim_after_days", "Days without follow-up before the lead goes to the pool."
            ),
            "warning_days_before": describe_override(
                "warning_days_before", "Days before the reclaim that the owner is warned."
            ),
        },
        check=check_overrides,
    )
    def plan_call(
        ctx: HandlerContext,
        customer_id: int,
        since: str,
        first_call_sla: str | None = None,
        reclaim_after_days: int | None = None,
        warning_days_before: int | None = None,
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        owner = username(session, customer.owner_id)
        if owner is None:
            raise HandlerError(f"customer #{customer_id} has no owner to call them")
        team_id = settings.customer_team_id(session, customer)
        pool_rules = rules_in_force(
            session,
            "pool",
            team_id,
            {"reclaim_after_days": reclaim_after_days, "warning_days_before": warning_days_before},
        )
        made = _calls_since(session, customer.id, datetime.fromisoformat(since))
        due = ctx.now
        if made == 0:
            given = {"first_call_sla": first_call_sla}
            sla = rules_in_force(session, "assignment", team_id, given)["first_call_sla"]
            due = after(ctx.now, sla)
        reclaim_days = int(pool_rules["reclaim_after_days"])
        reclaim_at = ctx.now + timedelta(days=reclaim_days)
        warn_days = min(int(pool_rules["warning_days_before"]), reclaim_days)
        return {
            "owner": owner,
            "customer_name": customer.name,
            "due_at": due.isoformat(),
            "warn_at": (reclaim_at - timedelta(days=warn_days)).isoformat(),
            "reclaim_at": reclaim_at.isoformat(),
            "calls_so_far": made,
        }

    @registry.register(
        "cadence.plan_retry",
        "After no answer or busy: retry when, or give up",
        parameters={
            **WINDOW_HELP,
            "max_attempts_per_day": describe_override(
                "max_attempts_per_day", "Unanswered attempts per local day, then tomorrow."
            ),
            "max_attempts_total": describe_override(
                "max_attempts_total", "Unanswered attempts in all, then the public pool."
            ),
            "retry_backoff": describe_override(
                "retry_backoff",
                "Wait before each retry, e.g. ['PT30M', 'PT2H'] (the last one repeats).",
            ),
        },
        together=(WINDOW,),
        check=check_overrides,
    )
    def plan_retry(
        ctx: HandlerContext,
        customer_id: int,
        since: str,
        max_attempts_per_day: int | None = None,
        max_attempts_total: int | None = None,
        retry_backoff: list | str | None = None,
        window_start: str | None = None,
        window_end: str | None = None,
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        team_id = settings.customer_team_id(session, customer)
        cadence = rules_in_force(
            session,
            "cadence",
            team_id,
            {
                "max_attempts_per_day": max_attempts_per_day,
                "max_attempts_total": max_attempts_total,
                "retry_backoff": retry_backoff,
            },
        )
        zone = compliance.zone_of(customer)
        day_start, day_end = compliance.local_day_bounds(ctx.now, zone)
        started = datetime.fromisoformat(since)
        total = _unanswered(session, customer.id, started, None)
        today = _unanswered(session, customer.id, max(started, day_start), day_end)
        window = window_for(session, customer, window_start, window_end)
        if total >= int(cadence["max_attempts_total"]):
            pool.release(
                session,
                customer,
                reason=f"no answer after {total} attempts",
                now=ctx.now,
                actor=ctx.actor,
                respect_protection=False,
            )
            return {"action": "pool", "attempts_total": total, "attempts_today": today}
        if today >= int(cadence["max_attempts_per_day"]):
            wait_until = compliance.next_allowed(day_end, zone, window)
        else:
            backoff = cadence["retry_backoff"]
            wait_until = after(ctx.now, backoff[min(total, len(backoff)) - 1])
            wait_until = compliance.next_allowed(wait_until, zone, window)
        return {
            "action": "retry",
            "wait_until": wait_until.isoformat(),
            "attempts_total": total,
            "attempts_today": today,
        }


def _calls_since(session: Session, customer_id: int, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count(Call.id)).where(
                Call.customer_id == customer_id, Call.started_at >= since
            )
        )
        or 0
    )


def _unanswered(session: Session, customer_id: int, start: datetime, end: datetime | None) -> int:
    query = select(func.count(Call.id)).where(
        Call.customer_id == customer_id,
        Call.started_at >= start,
        Call.disposition.in_(UNANSWERED),
    )
    if end is not None:
        query = query.where(Call.started_at < end)
    return session.scalar(query) or 0
