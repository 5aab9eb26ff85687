"""Hand-built rows with known analytics figures, shared by the unit, API and page tests.

The period is Monday 2026-03-02 to Sunday 2026-03-08 in Shanghai (UTC+8), i.e.
``[2026-03-01 16:00, 2026-03-08 16:00)`` UTC; "now" is 2026-03-10 04:00 UTC. East (``a1``,
``a2``, manager ``m1``) and South (``a3``, manager ``m2``); ``admin`` sees everyone. Every
expected figure in the tests is worked out by hand in the comments where the rows are made.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import (
    Call,
    CallDirection,
    Customer,
    Deal,
    DealStage,
    DealStageChange,
    Disposition,
    User,
)
from crm.users import create_user
from engine.models import (
    ModelBundle,
    ProcessInstance,
    ProcessVersion,
    WorkItem,
    WorkItemStatus,
)
from engine.models.instances import InstanceStatus

EAST, SOUTH = "East", "South"
FIRST_DAY, LAST_DAY = "2026-03-02", "2026-03-08"
NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
PERIOD = {"from": FIRST_DAY, "to": LAST_DAY}

STEP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_p1" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:process id="p1" name="Follow-up" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="call" name="Call back">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="approve" name="Approve the offer">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="approve" />
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Books:
    users: dict[str, User] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    deals: dict[str, int] = field(default_factory=dict)

    def id(self, username: str) -> int:
        return self.users[username].id


def build(db: Callable[..., Any]) -> Books:
    books = Books()
    with db() as session:
        for username, role, team, manager in [
            ("admin", "admin", None, None),
            ("m1", "manager", EAST, None),
            ("m2", "manager", SOUTH, None),
            ("a1", "agent", EAST, "m1"),
            ("a2", "agent", EAST, "m1"),
            ("a3", "agent", SOUTH, "m2"),
        ]:
            books.users[username] = create_user(
                session, username=username, role=role, team=team, manager=manager
            )
        session.flush()
        _customers(session, books)
        _calls(session, books)
        _deals(session, books)
        _work(session, books)
    return books


def _customers(session: Session, books: Books) -> None:
    # Lead funnel (all): leads 4 (C1-C4), called 3 (C1, C2, C4), connected 2 (C1, C4),
    # opportunity 3 (C1, C2, C4), won 2 (C1, C4). C5 is older, C6 erased.
    for name, owner, created, erased in [
        ("C1", "a1", at(2, 1), None),
        ("C2", "a1", at(3, 1), None),
        ("C3", "a2", at(3, 2), None),
        ("C4", "a3", at(5, 1), None),
        ("C5", "a1", at(20, 1, month=2), None),
        ("C6", "a1", at(4, 1), at(5, 1)),
    ]:
        user = books.users[owner]
        customer = Customer(
            name=name,
            owner_id=user.id,
            team_id=user.team_id,
            created_at=created,
            updated_at=created,
            erased_at=erased,
        )
        session.add(customer)
        session.flush()
        books.customers[name] = customer.id


def _calls(session: Session, books: Books) -> None:
    # a1: calls 5, dialed 4, connected 3 (interested, callback, the PBX's answered one),
    #     answered 4 (+ inbound), talk 300+120+60+40 = 520 s, avg 130.0 s,
    #     hours 02, 03 (03-02) and 05 (03-03) = 3, calls/hour 5/3 = 1.67.
    # a2: calls 2, dialed 2, connected 1 (wrong number is someone answering), talk 20, hours 1.
    # a3: calls 1, dialed 1, connected 1, talk 50, hours 1.
    rows = [
        ("a1", "C2", at(2, 2, 10), "outbound", Disposition.NO_ANSWER, 0, False),
        ("a1", "C1", at(2, 2, 40), "outbound", Disposition.CONNECTED_INTERESTED, 300, False),
        ("a1", "C1", at(2, 3, 5), "outbound", Disposition.CALLBACK_REQUESTED, 120, False),
        ("a1", "C1", at(2, 3, 50), "inbound", Disposition.CONNECTED_OTHER, 60, False),
        ("a1", "C1", at(3, 5, 0), "outbound", None, 40, True),  # from the PBX: answered
        ("a1", "C5", at(1, 15, 59), "outbound", Disposition.CONNECTED_OTHER, 999, False),
        ("a1", "C5", at(8, 16, 0), "outbound", Disposition.CONNECTED_OTHER, 999, False),
        ("a2", "C5", at(4, 1, 0), "outbound", Disposition.BUSY, 0, False),
        ("a2", "C5", at(4, 1, 30), "outbound", Disposition.WRONG_NUMBER, 20, False),
        ("a3", "C4", at(5, 1, 0), "outbound", Disposition.NOT_INTERESTED, 50, False),
    ]
    for agent, customer, started, direction, disposition, duration, answered in rows:
        session.add(
            Call(
                customer_id=books.customers[customer],
                agent_id=books.id(agent),
                direction=CallDirection(direction),
                started_at=started,
                answered_at=started if answered else None,
                duration_s=duration,
                disposition=disposition,
                created_at=started,
            )
        )


def _deals(session: Session, books: Books) -> None:
    # Cohort (created in the period): D1, D2, D3, D4, D6, D7; furthest stage: D1 won,
    # D2 proposal (then lost), D3 qualification, D4 approval (proposal skipped: passed),
    # D6 won, D7 proposal (no history, its current stage).
    # Reached: qualification 6, proposal 5, negotiation 3, approval 3, won 2.
    # Won 2, lost 1, open 3; won amount 10000×0.90 + 20000×0.75 = 24000.00 CNY.
    # Closed in the period by owner: a1 D1 + D5 = 2 won, 9000 + 5000 = 14000.00;
    # a3 D6 15000.00.
    q, p, n, a = (
        DealStage.QUALIFICATION,
        DealStage.PROPOSAL,
        DealStage.NEGOTIATION,
        DealStage.APPROVAL,
    )
    won, lost = DealStage.WON, DealStage.LOST
    rows = [
        ("D1", "a1", "C1", at(2, 5), [q, p, n, won], won, "10000", "10", at(6, 5)),
        ("D2", "a1", "C2", at(3, 5), [q, p, lost], lost, "8000", "0", at(5, 5)),
        ("D3", "a2", "C5", at(3, 6), [q], q, "3000", "0", None),
        ("D4", "a2", "C5", at(4, 6), [q, n, a], a, "4000", "5", None),
        ("D5", "a1", "C5", at(20, 6, month=2), [q, won], won, "5000", "0", at(4, 6)),
        ("D6", "a3", "C4", at(5, 6), [q, p, n, won], won, "20000", "25", at(7, 6)),
        ("D7", "a1", "C5", at(6, 6), [], p, "1000", "0", None),
    ]
    for name, owner, customer, created, path, stage, amount, discount, closed in rows:
        user = books.users[owner]
        deal = Deal(
            customer_id=books.customers[customer],
            title=name,
            stage=stage,
            amount=Decimal(amount),
            discount_pct=Decimal(discount),
            owner_id=user.id,
            team_id=user.team_id,
            created_at=created,
            updated_at=created,
            closed_at=closed,
        )
        previous = None
        for step, to_stage in enumerate(path):
            deal.stage_changes.append(
                DealStageChange(
                    from_stage=previous,
                    to_stage=to_stage,
                    changed_by_id=user.id,
                    changed_at=created + timedelta(hours=step),
                )
            )
            previous = to_stage
        session.add(deal)
        session.flush()
        books.deals[name] = deal.id


def _work(session: Session, books: Books) -> None:
    # Step p1/call (callbacks of a1): W1 kept (30 min late), W2 not (2 h late), W3 open
    # past due; W4 cancelled (never counts), W5 due after the period (open, overdue now).
    #   callbacks a1: due 3 (W1-W3), kept 1.  cycle: W1 1800, W2 7200 → avg 4500,
    #   median 1800, p90 7200.  SLA: due 3, breached 3.  open: W3 439200 s, W5 93600 s.
    # Step p1/approve (m1): W6 3600 (on time), W7 10800 (late), W8 7200 (no due time)
    #   → avg 7200, median 7200, p90 10800; SLA due 2, breached 1; open W9 (m1, 86400 s,
    #   overdue), W10 (unassigned, 7200 s).
    # Totals: completed 5, avg 6120, median 7200, p90 10800; due 5, breached 4;
    #   open 4, overdue 3, oldest 439200 s.
    bundle = ModelBundle(
        content_hash=uuid.uuid4().hex, bpmn={"p1.bpmn": STEP_BPMN}, dmn={}, forms={}
    )
    session.add(bundle)
    session.flush()
    version = ProcessVersion(
        process_id="p1", version=1, name="Follow-up", bundle_id=bundle.id, bpmn_file="p1.bpmn"
    )
    session.add(version)
    session.flush()
    instance = ProcessInstance(
        process_id="p1", version_id=version.id, status=InstanceStatus.RUNNING, state="{}"
    )
    session.add(instance)
    session.flush()
    a1, m1 = books.id("a1"), books.id("m1")
    a2 = books.id("a2")
    rows = [
        # element, kind, assignee, status, created, due, completed
        ("call", "callback", a1, "completed", at(3, 2), at(3, 2), at(3, 2, 30)),
        ("call", "callback", a1, "completed", at(4, 2), at(4, 2), at(4, 4)),
        ("call", "callback", a1, "open", at(5, 2), at(5, 2), None),
        ("call", "callback", a2, "cancelled", at(6, 2), at(6, 2), None),
        ("call", "callback", a1, "open", at(9, 2), at(9, 2), None),
        ("approve", None, m1, "completed", at(2, 0), at(2, 2), at(2, 1)),
        ("approve", None, m1, "completed", at(3, 0), at(3, 1), at(3, 3)),
        ("approve", None, m1, "completed", at(4, 0), None, at(4, 2)),
        ("approve", None, m1, "open", at(9, 4), at(9, 0), None),
        ("approve", None, None, "open", at(10, 2), None, None),
    ]
    for element, kind, assignee, status, created, due, completed in rows:
        session.add(
            WorkItem(
                id=str(uuid.uuid4()),
                instance_id=instance.id,
                process_id="p1",
                element_id=element,
                title=element,
                kind=kind,
                status=WorkItemStatus(status),
                assignee_id=assignee,
                created_at=created,
                due_at=due,
                completed_at=completed,
                completed_by_id=assignee if completed else None,
            )
        )


def add_call(
    session: Session,
    books: Books,
    agent: str,
    started: datetime,
    *,
    customer: str = "C5",
    disposition: Disposition | None = Disposition.CONNECTED_OTHER,
) -> None:
    """One more outbound call of ``agent``, for the time-zone and trend tests."""
    session.add(
        Call(
            customer_id=books.customers[customer],
            agent_id=books.id(agent),
            direction=CallDirection.OUTBOUND,
            started_at=started,
            duration_s=30,
            disposition=disposition,
            created_at=started,
        )
    )


def add_won_deal(
    session: Session,
    books: Books,
    owner: str,
    closed: datetime,
    amount: str,
    currency: str,
    *,
    created: datetime | None = None,
    customer: str = "C5",
    discount: str = "0",
) -> None:
    """One more won deal of ``owner``, closed at ``closed`` (created then too, by default)."""
    user = books.users[owner]
    created = created or closed
    session.add(
        Deal(
            customer_id=books.customers[customer],
            title=f"{owner} {amount} {currency}",
            stage=DealStage.WON,
            amount=Decimal(amount),
            currency=currency,
            discount_pct=Decimal(discount),
            owner_id=user.id,
            team_id=user.team_id,
            created_at=created,
            updated_at=closed,
            closed_at=closed,
        )
    )


def move_team(session: Session, team_of: str, zone: str) -> int:
    """Put the team of user ``team_of`` in ``zone``; its id."""
    user = session.scalar(select(User).where(User.username == team_of))
    assert user is not None and user.team is not None
    user.team.timezone = zone
    return user.team.id
