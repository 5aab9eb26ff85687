"""A realistic demo: teams, users, customers with Chinese names and mainland mobiles, calls,
notes and deals over the past 60 days. Bulk inserts keep 200,000 customers well under 2 min."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import (
    Activity,
    Call,
    Customer,
    CustomerPhone,
    CustomerTag,
    Deal,
    DealStageChange,
    Disposition,
    Role,
    User,
)
from crm.users import create_user
from dialflow.bulk import bulk_insert, reserve_ids
from dialflow.db import utcnow

DEMO_PASSWORD = "dialflow-demo"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯"
    "健俊帆帅旭宁欣怡佳琪雪梅晨曦子涵梓萱一诺浩然宇轩思远博文嘉怡"
)
COMPANY_WORDS = [
    "华信",
    "金达",
    "恒通",
    "博远",
    "瑞丰",
    "中科",
    "鼎盛",
    "天成",
    "宏图",
    "新航",
    "盛世",
    "联创",
]
COMPANY_KINDS = [
    "科技有限公司",
    "贸易有限公司",
    "教育咨询有限公司",
    "医疗器械有限公司",
    "装饰工程有限公司",
]
REGIONS = [
    ("北京", "Asia/Shanghai"),
    ("上海", "Asia/Shanghai"),
    ("广州", "Asia/Shanghai"),
    ("深圳", "Asia/Shanghai"),
    ("杭州", "Asia/Shanghai"),
    ("成都", "Asia/Shanghai"),
    ("武汉", "Asia/Shanghai"),
    ("南京", "Asia/Shanghai"),
    ("西安", "Asia/Shanghai"),
    ("重庆", "Asia/Shanghai"),
    ("苏州", "Asia/Shanghai"),
    ("乌鲁木齐", "Asia/Urumqi"),
]
SOURCES = ["网络推广", "转介绍", "展会", "400热线", "老客户", "数据导入"]
TAGS = ["高意向", "价格敏感", "老板决策", "需回访", "竞品用户", "VIP"]
MOBILE_PREFIXES = [
    130,
    131,
    132,
    133,
    135,
    136,
    137,
    138,
    139,
    150,
    151,
    152,
    155,
    156,
    157,
    158,
    159,
    166,
    177,
    180,
    181,
    182,
    183,
    185,
    186,
    187,
    188,
    189,
    198,
    199,
]
DISPOSITION_WEIGHTS = [
    (Disposition.NO_ANSWER, 30),
    (Disposition.BUSY, 8),
    (Disposition.VOICEMAIL, 6),
    (Disposition.CONNECTED_OTHER, 18),
    (Disposition.CALLBACK_REQUESTED, 12),
    (Disposition.CONNECTED_INTERESTED, 10),
    (Disposition.NOT_INTERESTED, 12),
    (Disposition.WRONG_NUMBER, 3),
    (Disposition.DO_NOT_CALL, 1),
]
CHUNK = 5_000


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    team: str | None = None
    manager: str | None = None


DEMO_USERS = [
    DemoUser("admin", "系统管理员", Role.ADMIN),
    DemoUser("owner", "流程负责人 刘洋", Role.PROCESS_OWNER),
    DemoUser("director", "销售总监 陈静", Role.DIRECTOR),
    DemoUser("manager1", "华东主管 王芳", Role.MANAGER, "华东一组", "director"),
    DemoUser("manager2", "华南主管 李娜", Role.MANAGER, "华南一组", "director"),
    *[
        DemoUser(f"agent{i}", name, Role.AGENT, "华东一组", "manager1")
        for i, name in enumerate(["张伟", "赵磊", "孙丽", "周杰"], start=1)
    ],
    *[
        DemoUser(f"agent{i}", name, Role.AGENT, "华南一组", "manager2")
        for i, name in enumerate(["吴敏", "郑强", "黄静", "何涛"], start=5)
    ],
]


@dataclass
class SeedReport:
    users_created: list[DemoUser] = field(default_factory=list)
    customers: int = 0
    calls: int = 0
    deals: int = 0
    notes: int = 0


def ensure_demo_users(session: Session) -> list[DemoUser]:
    """Create the demo logins that do not exist yet; returns the ones created."""
    existing = set(session.scalars(select(User.username)))
    created = []
    for demo in DEMO_USERS:
        if demo.username in existing:
            continue
        create_user(
            session,
            username=demo.username,
            role=demo.role,
            password=DEMO_PASSWORD,
            display_name=demo.display_name,
            team=demo.team,
            manager=demo.manager,
        )
        created.append(demo)
    return created


def existing_demo_users(session: Session) -> list[DemoUser]:
    """The demo logins present (and still active) in this database."""
    active = set(session.scalars(select(User.username).where(User.active.is_(True))))
    return [demo for demo in DEMO_USERS if demo.username in active]


def seed_customers(
    session_factory: Callable[[], object],
    count: int,
    *,
    rng_seed: int = 7,
    progress: Callable[[int], None] = lambda _n: None,
    now: datetime | None = None,
) -> SeedReport:
    """Insert ``count`` customers with their history, one transaction per chunk of 5,000.

    ``session_factory`` is ``Database.unit_of_work``; each chunk commits on its own so that a
    large seed shows progress and an interruption keeps what was done.
    """
    rng = random.Random(rng_seed)
    now = now or utcnow()
    report = SeedReport()
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        with session_factory() as session:  # type: ignore[attr-defined]
            agents = session.execute(
                select(User.id, User.team_id).where(User.role == Role.AGENT, User.active)
            ).all()
            offset = session.scalar(select(func.count(Customer.id))) or 0
            _seed_chunk(session, rng, size, offset, agents, now, report)
        done += size
        progress(size)
    return report


def _seed_chunk(
    session: Session,
    rng: random.Random,
    size: int,
    offset: int,
    agents: list,
    now: datetime,
    report: SeedReport,
) -> None:
    candidates = [_mobile(offset + i, rng_seed=11) for i in range(size)]
    taken = set(
        session.scalars(select(CustomerPhone.e164).where(CustomerPhone.e164.in_(candidates)))
    )
    phones = [p for p in candidates if p not in taken]
    ids = reserve_ids(session, Customer.__table__, len(phones))
    customers, phone_rows, tag_rows, calls, deals, changes, notes = [], [], [], [], [], [], []
    for customer_id, phone in zip(ids, phones, strict=True):
        agent = rng.choice(agents) if agents and rng.random() < 0.82 else None
        created = now - timedelta(days=rng.uniform(0, 60))
        region, tz = rng.choice(REGIONS)
        is_company = rng.random() < 0.25
        person = rng.choice(SURNAMES) + "".join(
            rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))
        )
        customer_calls = _calls(rng, customer_id, agent, phone, created, now, tz)
        stage = _stage(customer_calls, rng)
        customers.append(
            {
                "id": customer_id,
                "kind": "company" if is_company else "person",
                "name": person,
                "company": (rng.choice(COMPANY_WORDS) + region + rng.choice(COMPANY_KINDS))
                if is_company
                else None,
                "email": f"demo{customer_id}@{rng.choice(['qq.com', '163.com', 'example.cn'])}"
                if rng.random() < 0.35
                else None,
                "address": None,
                "region": region,
                "timezone": tz,
                "source": rng.choice(SOURCES),
                "stage": stage,
                "owner_id": agent[0] if agent else None,
                "team_id": agent[1] if agent else None,
                "pool_status": "owned" if agent else "pool",
                "protected_until": None,
                "last_contact_at": max((c["started_at"] for c in customer_calls), default=None),
                "consent": rng.random() > 0.02,
                "do_not_call": any(c["disposition"] == "do_not_call" for c in customer_calls),
                "dnc_reason": None,
                "notes": None,
                "erased_at": None,
                "created_by_id": None,
                "created_at": created,
                "updated_at": max([created] + [c["started_at"] for c in customer_calls]),
            }
        )
        phone_rows.append(
            {"customer_id": customer_id, "e164": phone, "label": "mobile", "position": 0}
        )
        tag_rows += [
            {"customer_id": customer_id, "tag": t}
            for t in rng.sample(TAGS, rng.choice((0, 0, 1, 2)))
        ]
        calls += customer_calls
        if stage in ("opportunity", "customer") or rng.random() < 0.05:
            deal, deal_changes = _deal(rng, customer_id, agent, created, now, stage)
            for change in deal_changes:
                change["deal_index"] = len(deals)
            deals.append(deal)
            changes += deal_changes
        if rng.random() < 0.3:
            notes.append(
                {
                    "customer_id": customer_id,
                    "deal_id": None,
                    "kind": "note",
                    "body": rng.choice(
                        [
                            "客户对价格比较敏感，下周再联系。",
                            "已发送产品资料，等待反馈。",
                            "决策人是老板，需约时间面谈。",
                            "对方表示有预算，季度末采购。",
                        ]
                    ),
                    "author_id": agent[0] if agent else None,
                    "created_at": created + timedelta(hours=rng.uniform(1, 48)),
                }
            )
    deal_ids = reserve_ids(session, Deal.__table__, len(deals))
    for deal_id, deal in zip(deal_ids, deals, strict=True):
        deal["id"] = deal_id
    for change in changes:
        change["deal_id"] = deals[change.pop("deal_index")]["id"]
    for table, rows in (
        (Customer, customers),
        (CustomerPhone, phone_rows),
        (CustomerTag, tag_rows),
        (Call, calls),
        (Deal, deals),
        (DealStageChange, changes),
        (Activity, notes),
    ):
        bulk_insert(session, table.__table__, rows)
    report.customers += len(customers)
    report.calls += len(calls)
    report.deals += len(deals)
    report.notes += len(notes)


def _mobile(index: int, rng_seed: int) -> str:
    """A distinct valid mainland mobile for each index (an affine permutation of 10^8)."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    serial = index // len(MOBILE_PREFIXES)
    subscriber = (serial * 48_271 + rng_seed * 7_919) % 100_000_000
    return f"+86{prefix}{subscriber:08d}"


def _calls(
    rng: random.Random,
    customer_id: int,
    agent: tuple | None,
    phone: str,
    created: datetime,
    now: datetime,
    tz: str,
) -> list[dict]:
    if agent is None and rng.random() < 0.5:
        return []
    calls = []
    zone = ZoneInfo(tz)
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        day = created + timedelta(days=rng.uniform(0, max((now - created).days, 0.1)))
        local = day.astimezone(zone).replace(hour=rng.randint(9, 20), minute=rng.randint(0, 59))
        started = min(local.astimezone(created.tzinfo), now - timedelta(minutes=5))
        disposition = rng.choices(
            [d for d, _ in DISPOSITION_WEIGHTS], [w for _, w in DISPOSITION_WEIGHTS]
        )[0]
        duration = rng.randint(30, 900) if disposition.connected else 0
        calls.append(
            {
                "customer_id": customer_id,
                "agent_id": agent[0] if agent else None,
                "direction": "outbound",
                "number": phone,
                "started_at": started,
                "answered_at": started if disposition.connected else None,
                "ended_at": started + timedelta(seconds=duration or 25),
                "duration_s": duration,
                "disposition": disposition.value,
                "notes": None,
                "recording_url": None,
                "external_id": None,
                "created_at": started,
            }
        )
    return calls


def _stage(calls: list[dict], rng: random.Random) -> str:
    dispositions = {c["disposition"] for c in calls}
    if "connected_interested" in dispositions:
        return rng.choice(["interested", "opportunity", "opportunity", "customer"])
    if "not_interested" in dispositions or "do_not_call" in dispositions:
        return "lost"
    return "contacted" if dispositions else "new"


def _deal(
    rng: random.Random,
    customer_id: int,
    agent: tuple | None,
    created: datetime,
    now: datetime,
    stage: str,
) -> tuple[dict, list[dict]]:
    path = ["qualification", "proposal", "negotiation"]
    final = "won" if stage == "customer" else rng.choice([*path, "lost"])
    steps = path[: path.index(final) + 1] if final in path else [*path[: rng.randint(1, 3)], final]
    opened = created + timedelta(days=rng.uniform(0, max((now - created).days, 0.1)) / 2)
    at, changes, previous = opened, [], None
    for step in steps:
        changes.append(
            {
                "deal_index": None,
                "from_stage": previous,
                "to_stage": step,
                "changed_by_id": agent[0] if agent else None,
                "changed_at": at,
                "comment": None,
            }
        )
        previous = step
        at = min(at + timedelta(days=rng.uniform(0.5, 6)), now)
    amount = Decimal(rng.randrange(5_000, 200_000, 500))
    deal = {
        "customer_id": customer_id,
        "title": f"{rng.choice(['年度服务', '标准版', '专业版', '旗舰版'])}采购",
        "stage": final,
        "amount": amount,
        "currency": "CNY",
        "discount_pct": Decimal(rng.choice([0, 0, 5, 8, 10, 15, 20, 25])),
        "expected_close": (opened + timedelta(days=rng.randint(7, 60))).date(),
        "owner_id": agent[0] if agent else None,
        "team_id": agent[1] if agent else None,
        "lost_reason": "价格" if final == "lost" else None,
        "created_at": opened,
        "updated_at": changes[-1]["changed_at"],
        "closed_at": changes[-1]["changed_at"] if final in ("won", "lost") else None,
    }
    return deal, changes
