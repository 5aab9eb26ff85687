"""Demo work in the shipped processes: fresh leads in the agents' inboxes, callbacks, quotes
waiting for approval and a few leads in the public pool, so a new team sees the product at
work after ``make run``. Everything goes through the same use cases as the API."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.models import Customer, CustomerPhone, Deal, User
from crm.phones import normalize_phone
from dialflow.clock import ManualClock, pin_time
from dialflow.runtime import Runtime
from engine.models import WorkItem, WorkItemStatus
from engine.tasks import complete
from processes.telesales import submit_lead, submit_quote

NAMES = [
    "周晓",
    "钱多多",
    "孙悦",
    "李明",
    "吴昊",
    "郑敏",
    "冯云",
    "陈晨",
    "褚亮",
    "卫东",
    "蒋欣",
    "沈洁",
]
REGIONS = ["上海", "杭州", "北京", "广州", "深圳", "成都"]
SOURCES = ["网络推广", "展会", "400热线", "转介绍"]


@dataclass
class DemoWork:
    leads: int = 0
    quotes: int = 0
    callbacks: int = 0
    history: int = 0


def seed_process_work(rt: Runtime, leads: int = 24, rng_seed: int = 11) -> DemoWork:
    """Submit ``leads`` leads and work some of their first calls (idempotent per phone).

    Outside the calling window (a demo seeded at night, in the default time zone) the leads
    would only wait for the morning: they are then submitted and worked on a clock standing at
    the last 10:00, so agents find calls to make, callbacks and quotes whatever the hour."""
    rng = random.Random(rng_seed)
    report = DemoWork()
    rt.deploy_shipped_models()
    clock = _last_working_morning(rt)
    work = rt if clock is None else Runtime.build(rt.settings, clock=clock)
    try:
        _submit_and_work(work, leads, rng, report)
    finally:
        if work is not rt:
            work.close()
    return report


def _last_working_morning(rt: Runtime) -> ManualClock | None:
    """``None`` in the middle of the calling day, else a clock at the last 10:00 local."""
    zone = ZoneInfo(rt.settings.default_timezone)
    local = rt.clock.now().astimezone(zone)
    if time(9) <= local.time() < time(20):
        return None
    day = local.date() if local.time() >= time(10) else local.date() - timedelta(days=1)
    return ManualClock(datetime.combine(day, time(10), tzinfo=zone))


def _submit_and_work(rt: Runtime, leads: int, rng: random.Random, report: DemoWork) -> None:
    engine = rt.engine
    for index in range(leads):
        phone = f"1770000{index:04d}"
        with pin_time(rt.clock.now()), rt.db.unit_of_work() as session:
            submit_lead(
                engine,
                session,
                {
                    "name": f"{rng.choice(NAMES)}{index}",
                    "phone": phone,
                    "region": rng.choice(REGIONS),
                    "source": rng.choice(SOURCES),
                },
                actor=None,
                region=rt.settings.default_region,
                default_timezone=rt.settings.default_timezone,
            )
        report.leads += 1
    with rt.db.unit_of_work() as session:
        items = list(
            session.scalars(
                select(WorkItem)
                .where(
                    WorkItem.process_id == "call_cadence", WorkItem.status == WorkItemStatus.OPEN
                )
                .order_by(WorkItem.created_at)
            )
        )
        plan = [(item.id, int(item.business_key or 0), item.assignee_id) for item in items]
    for position, (task_id, customer_id, assignee_id) in enumerate(plan[: leads // 2]):
        with pin_time(rt.clock.now()), rt.db.unit_of_work() as session:
            agent = session.get(User, assignee_id) if assignee_id else None
            if agent is None:
                continue
            if position % 3 == 0:
                complete(engine, session, task_id, _interested(rng), actor=agent)
            else:
                complete(
                    engine,
                    session,
                    task_id,
                    {"disposition": "callback_requested", "callback_at": _tomorrow(rt)},
                    actor=agent,
                )
                report.callbacks += 1
            customer = session.get(Customer, customer_id)
            deal = session.scalar(select(Deal).where(Deal.customer_id == customer_id))
            if deal is not None and customer is not None:
                discount = (8, 15, 25)[report.quotes % 3]
                submit_quote(engine, session, deal.id, {"discount_pct": discount}, actor=agent)
                report.quotes += 1


def _interested(rng: random.Random) -> dict[str, object]:
    return {
        "disposition": "connected_interested",
        "amount": rng.choice([9800, 26000, 58000, 120000]),
        "duration_s": rng.randint(120, 900),
        "notes": "客户对年度套餐感兴趣，需要报价",
    }


def _tomorrow(rt: Runtime) -> str:
    from datetime import timedelta

    return (rt.clock.now() + timedelta(days=1)).replace(microsecond=0).isoformat()


HISTORY_DISPOSITIONS = ("connected_interested", "not_interested", "callback_requested")


def seed_process_history(rt: Runtime, leads: int = 12, days: int = 24, rng_seed: int = 13) -> int:
    """Leads worked through ``call_cadence`` over the past ``days`` days on a clock of their
    own, so the analytics page has cycle times, SLA breaches and callbacks (kept or not) to
    show. Each lead's process ends (opportunity or closed): no timer is left behind. Leads
    whose phone already exists are skipped, so a second run adds nothing."""
    from dialflow.background import TimerLoop  # (Celery) only when the history is seeded

    rng = random.Random(rng_seed)
    zone = ZoneInfo(rt.settings.default_timezone)
    today = rt.clock.now().astimezone(zone).date()
    clock = ManualClock(datetime.combine(today - timedelta(days=days), time(10), tzinfo=zone))
    past = Runtime.build(rt.settings, clock=clock)
    done = 0
    try:
        for index in range(leads):
            phone = f"1770001{index:04d}"
            day = today - timedelta(days=days) + timedelta(days=index * days // max(leads, 1))
            clock.set(datetime.combine(day, time(10, rng.randint(0, 50)), tzinfo=zone))
            with pin_time(clock.now()), past.db.unit_of_work() as session:
                e164 = normalize_phone(phone, rt.settings.default_region)
                if session.scalar(select(CustomerPhone.id).where(CustomerPhone.e164 == e164)):
                    continue
                _instance, customer_id, _dup = submit_lead(
                    past.engine,
                    session,
                    {"name": f"{rng.choice(NAMES)}{index}", "phone": phone, "source": "展会"},
                    actor=None,
                    region=rt.settings.default_region,
                    default_timezone=rt.settings.default_timezone,
                )
            disposition = HISTORY_DISPOSITIONS[index % len(HISTORY_DISPOSITIONS)]
            # The first call: within the two-hour SLA mostly, late now and then.
            clock.advance(timedelta(minutes=rng.choice((20, 45, 70, 150, 200))))
            _work_call(past, clock, customer_id, disposition, rng)
            if disposition == "callback_requested":
                # The callback comes due the next day; kept within minutes, or hours late.
                clock.advance(timedelta(days=1, milliseconds=1))
                with pin_time(clock.now()):
                    TimerLoop(past).run_once()
                clock.advance(timedelta(minutes=rng.choice((5, 15, 25, 180))))
                follow = rng.choice(("connected_interested", "not_interested"))
                _work_call(past, clock, customer_id, follow, rng)
            done += 1
    finally:
        past.close()
    return done


def _work_call(
    past: Runtime, clock: ManualClock, customer_id: int, disposition: str, rng: random.Random
) -> None:
    now = clock.now()
    with pin_time(now), past.db.unit_of_work() as session:
        item = session.scalar(
            select(WorkItem).where(
                WorkItem.process_id == "call_cadence",
                WorkItem.business_key == str(customer_id),
                WorkItem.status == WorkItemStatus.OPEN,
            )
        )
        agent = session.get(User, item.assignee_id) if item and item.assignee_id else None
        if item is None or agent is None:
            return
        data: dict[str, object] = {"disposition": disposition}
        if disposition == "connected_interested":
            data = _interested(rng)
        elif disposition == "callback_requested":
            data["callback_at"] = (now + timedelta(days=1)).replace(microsecond=0).isoformat()
        else:
            data["duration_s"] = rng.randint(30, 240)
        complete(past.engine, session, item.id, data, actor=agent)
