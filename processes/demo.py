"""Demo work in the shipped processes: fresh leads in the agents' inboxes, callbacks, quotes
waiting for approval and a few leads in the public pool, so a new team sees the product at
work after ``make run``. Everything goes through the same use cases as the API."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select

from crm.models import Customer, Deal, User
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


def seed_process_work(rt: Runtime, leads: int = 24, rng_seed: int = 11) -> DemoWork:
    """Submit ``leads`` leads and work some of their first calls (idempotent per phone)."""
    rng = random.Random(rng_seed)
    report = DemoWork()
    engine = rt.engine
    rt.deploy_shipped_models()
    for index in range(leads):
        phone = f"1770000{index:04d}"
        with rt.db.unit_of_work() as session:
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
        with rt.db.unit_of_work() as session:
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
    return report


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
