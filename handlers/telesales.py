"""Operators of the shipped telesales processes: assignment, compliance gate, cadence, pool,
deal approval and after-sale visits.

Each reads the settings in force for the customer's team when it runs (``processes.settings``),
so a manager's change applies to the next step of running instances. The compliance and
cadence operators also take optional parameters named in ``OVERRIDES``: a value given in the
diagram replaces that setting, so a process owner can pin a rule to a deployed version (its
instances keep it until migrated). Times returned to the diagrams are ISO 8601 strings (timer
``timeDate`` expressions read them).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import jsonschema
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import assignment, compliance, pool
from crm.customers import get_customer
from crm.deals import MAX_AMOUNT, cents, get_deal, set_deal_stage
from crm.models import (
    Activity,
    ActivityKind,
    Call,
    Customer,
    DealStage,
    Disposition,
    LeadStage,
    Notification,
    Role,
    User,
)
from crm.notes import add_note
from crm.validation import FieldErrors, decimal
from handlers.registry import HandlerContext, HandlerError, HandlerRegistry
from processes import settings

UNANSWERED = (Disposition.NO_ANSWER, Disposition.BUSY, Disposition.VOICEMAIL)
CLOSING = {"wrong_number": "wrong number", "not_interested": "not interested"}


def after(start: datetime, iso_duration: str) -> datetime:
    parsed = TimerEventDefinition.parse_iso_duration(iso_duration)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def customer_team(customer: Customer, session: Session) -> int | None:
    if customer.team_id is not None:
        return customer.team_id
    if customer.owner_id is not None:
        owner = session.get(User, customer.owner_id)
        return owner.team_id if owner else None
    return None


def window_for(
    session: Session,
    customer: Customer,
    window_start: str | None = None,
    window_end: str | None = None,
) -> compliance.Window:
    team_id = customer_team(customer, session)
    given = {"window_start": window_start, "window_end": window_end}
    return compliance.Window.from_setting(rules_in_force(session, "calling_window", team_id, given))


# -- rules pinned in a diagram ------------------------------------------------------------------

# Optional operator parameters that stand in for one field of a setting: (setting, field).
OVERRIDES: dict[str, tuple[str, str]] = {
    "window_start": ("calling_window", "start"),
    "window_end": ("calling_window", "end"),
    "daily_attempt_cap": ("compliance", "daily_attempt_cap"),
    "first_call_sla": ("assignment", "first_call_sla"),
    "reclaim_after_days": ("pool", "reclaim_after_days"),
    "warning_days_before": ("pool", "warning_days_before"),
    "retry_backoff": ("cadence", "retry_backoff"),
    "max_attempts_per_day": ("cadence", "max_attempts_per_day"),
    "max_attempts_total": ("cadence", "max_attempts_total"),
}
WINDOW = ("window_start", "window_end")


def rules_in_force(
    session: Session, key: str, team_id: int | None, given: dict[str, Any]
) -> dict[str, Any]:
    """The setting ``key`` in force for the team, with the fields the diagram gives replaced."""
    value = settings.effective(session, key, team_id)
    for name, given_value in given.items():
        setting_key, field_name = OVERRIDES[name]
        if setting_key == key and given_value is not None:
            if name == "retry_backoff":
                given_value = _backoff_list(given_value)
            value[field_name] = given_value
    return value


def _backoff_list(value: Any) -> Any:
    """``"PT30M, PT2H"`` → ``["PT30M", "PT2H"]``: a list is easier typed as text."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def describe_override(name: str, what: str) -> str:
    key, field_name = OVERRIDES[name]
    return f"{what} Empty: the {key}.{field_name} setting of the customer's team."


def check_overrides(values: dict[str, Any]) -> list[str]:
    """Problems of pinned rule values: the setting's own schema, and for a calling window the
    hours 08:00-22:00 and an end after the start."""
    problems = []
    for name, value in values.items():
        if name not in OVERRIDES or value is None:
            continue
        key, field_name = OVERRIDES[name]
        schema = settings.definition(key).schema["properties"][field_name]
        value = _backoff_list(value) if name == "retry_backoff" else value
        for error in jsonschema.Draft202012Validator(schema).iter_errors(value):
            problems.append(f"{name} {value!r}: {error.message}")
    start, end = values.get("window_start"), values.get("window_end")
    if problems or start is None or end is None:  # the registry asks for both or neither
        return problems
    if time.fromisoformat(start) < settings.EARLIEST_CALL:
        problems.append(f"window_start {start!r}: calls may not start before 08:00")
    if time.fromisoformat(end) > settings.LATEST_CALL:
        problems.append(f"window_end {end!r}: calls may not end after 22:00")
    if start >= end:
        problems.append(f"window_end {end!r} must be after window_start {start!r}")
    return problems


WINDOW_HELP = {
    "window_start": describe_override(
        "window_start", "Start of the customer's local calling window, e.g. '10:00'."
    ),
    "window_end": describe_override(
        "window_end", "End of the customer's local calling window, e.g. '18:00'."
    ),
}


def notify(session: Session, user_id: int | None, message: str, ctx: HandlerContext) -> None:
    if user_id is None:
        return
    session.add(
        Notification(
            user_id=user_id, message=message[:2000], instance_id=ctx.instance_id, created_at=ctx.now
        )
    )


def username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def register(registry: HandlerRegistry) -> None:
    _register_leads(registry)
    _register_calls(registry)
    _register_pool(registry)
    _register_deals(registry)
    _register_after_sale(registry)
    _register_gate_checks(registry)


# -- lead intake -------------------------------------------------------------------------------


def _register_leads(registry: HandlerRegistry) -> None:
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


# -- compliance gate and call cadence --------------------------------------------------------


def _register_calls(registry: HandlerRegistry) -> None:
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
        team_id = customer_team(customer, session)
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
        team_id = customer_team(customer, session)
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
        team_id = customer_team(customer, session)
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


# -- public pool -------------------------------------------------------------------------------


def _register_pool(registry: HandlerRegistry) -> None:
    @registry.register("pool.warn", "Warn the owner that a lead goes back to the pool soon")
    def warn(ctx: HandlerContext, customer_id: int, reclaim_at: str) -> dict[str, Any]:
        customer = get_customer(ctx.session, customer_id)
        when = datetime.fromisoformat(reclaim_at)
        notify(
            ctx.session,
            customer.owner_id,
            f"{customer.name} goes back to the public pool at {when:%Y-%m-%d %H:%M} UTC "
            "unless you follow up.",
            ctx,
        )
        return {"warned": username(ctx.session, customer.owner_id)}

    @registry.register("pool.reclaim", "Take a lead without follow-up back into the pool")
    def reclaim(
        ctx: HandlerContext, customer_id: int, planned_at: str | None = None
    ) -> dict[str, Any]:
        """``planned_at``: when the call was planned; contact since then (a call logged
        outside the task, click-to-call) keeps the lead with its owner."""
        customer = get_customer(ctx.session, customer_id)
        owner_id = customer.owner_id
        contacted = customer.last_contact_at
        if planned_at and contacted is not None:
            try:
                since = datetime.fromisoformat(planned_at)
            except ValueError as exc:
                raise HandlerError(f"not a date and time: {planned_at!r}") from exc
            if contacted.tzinfo is None:  # SQLite returns naive UTC
                contacted = contacted.replace(tzinfo=UTC)
            if contacted > since:
                return {
                    "reclaimed": False,
                    "contacted_at": contacted.isoformat(),
                    "protected_until": None,
                }
        reclaimed = pool.release(
            ctx.session, customer, reason="no follow-up in time", now=ctx.now, actor=ctx.actor
        )
        if reclaimed:
            notify(ctx.session, owner_id, f"{customer.name} went back to the public pool.", ctx)
        return {
            "reclaimed": reclaimed,
            "protected_until": customer.protected_until.isoformat()
            if customer.protected_until
            else None,
        }


# -- deal approval ----------------------------------------------------------------------------


def _register_deals(registry: HandlerRegistry) -> None:
    @registry.register("deals.prepare_approval", "Quote facts and the approvers for a deal")
    def prepare(ctx: HandlerContext, deal_id: int) -> dict[str, Any]:
        session = ctx.session
        deal = get_deal(session, deal_id)
        agent = session.get(User, deal.owner_id) if deal.owner_id else None
        manager = _manager_of(session, agent)
        director = _manager_of(session, manager)
        team_id = agent.team_id if agent else None
        escalate = settings.effective(session, "approval", team_id)["escalate_after"]
        return {
            "deal_id": deal.id,
            "title": deal.title,
            "amount": float(deal.amount),
            "discount_pct": float(deal.discount_pct),
            "agent": agent.username if agent else None,
            "manager": _candidate(manager, "manager"),
            "director": _candidate(director, "director"),
            "escalate_at": after(ctx.now, escalate).isoformat(),
        }

    @registry.register("deals.escalation_target", "Who takes over an approval nobody answered")
    def escalation_target(ctx: HandlerContext, approver: str) -> dict[str, Any]:
        session = ctx.session
        if approver.startswith("group:"):
            role = approver[6:]
            above = {"manager": "group:director", "director": "group:admin"}
            return {"approver": above.get(role, "group:admin")}
        user = session.scalar(select(User).where(User.username == approver.removeprefix("user:")))
        boss = _manager_of(session, user)
        target = _candidate(boss, "director" if user and user.role == Role.MANAGER else "admin")
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


def _manager_of(session: Session, user: User | None) -> User | None:
    if user is None or user.manager_id is None:
        return None
    return session.get(User, user.manager_id)


def _candidate(user: User | None, fallback_role: str) -> str:
    return f"user:{user.username}" if user is not None else f"group:{fallback_role}"


def _decimal(value: Any, field: str, low: Decimal, high: Decimal) -> Decimal:
    errors = FieldErrors()
    number = decimal({field: value}, field, errors, minimum=low, maximum=high)
    if number is None:
        message = errors.details[0]["message"] if errors.details else "This field is required."
        raise HandlerError(f"{field}: {message}")
    return number


# -- after-sale follow-up ---------------------------------------------------------------------


def _register_after_sale(registry: HandlerRegistry) -> None:
    @registry.register("aftersale.plan_visit", "When the next after-sale call is due, if any")
    def plan_visit(
        ctx: HandlerContext, customer_id: int, won_at: str, visit: int
    ) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
        rules = settings.effective(session, "after_sale", customer_team(customer, session))
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
            "manager": _candidate(
                _manager_of(session, session.get(User, customer.owner_id))
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


# -- the compliance gate at the call itself --------------------------------------------------


def _register_gate_checks(registry: HandlerRegistry) -> None:
    @registry.register(
        "compliance.may_log_call",
        "Refuse logging a call made now (outside the window, DNC, no consent); a task's "
        "completionCheck",
        writes=False,
    )
    def may_log_call(ctx: HandlerContext, customer_id: int) -> dict[str, Any]:
        session = ctx.session
        customer = get_customer(session, customer_id)
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
