"""Round 23: telesales processes as Camunda Desktop Modeler 5.3x and Web Modeler write them for
Camunda 8.6–8.8, deployed and run through the API.

What was refused and runs now: ``<zeebe:script expression="=…" resultVariable="…"/>`` script
tasks (refused with the Python to write); FEEL conditions on a gateway's flows, FEEL timers
(``=date and time(callback_at)``, ``=duration(answer_within)``) and FEEL's functions in them
(``upper case``, ``contains``, ``list contains``, ``string join`` …), each refused with the
Python to write; an escalation code given as FEEL on ``<bpmn:escalation>``, refused at
deploy. FEEL reads a variable or field the data lacks as null, and so do these.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.customers import create_customer
from crm.models import Activity
from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, upload

ROUND23 = DiagramFolder("round23")
diagram, edited, deploy = ROUND23.read, ROUND23.edited, ROUND23.deploy
TRIAGE = ("lead_triage.bpmn", "lead_grade.dmn")


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Wang Fang", "phones": ["+8613800138000"]}, actor=None
        ).id


def notes_of(db: Any) -> list[str]:
    with db() as session:
        return [a.body for a in session.scalars(select(Activity).order_by(Activity.id))]


def only(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    (task,) = tasks
    return task


def lead(cid: int, **fields: Any) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "source": " referral ",
        "budget": 30000,
        "name": "Wang Fang",
        "phones": ["+8613800138000"],
        "tags": [],
        **fields,
    }


def test_a_lead_is_normalised_graded_and_routed_by_feel(owner, agent, actor, db):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, *TRIAGE)
    cid = customer(db)
    vip = agent.start("r23_lead_triage", {"lead": lead(cid, tags=["vip"], email="w@x.cn")})
    assert (vip["data"]["source"], vip["data"]["contact_points"], vip["data"]["grade"]) == (
        "REFERRAL",
        2,
        "A",
    )
    assert not [key for key in vip["data"] if key.startswith("_")]  # no helper kept as data
    task = only(boss.tasks())
    assert (task["name"], task["lane"]) == ("Activity_0vip", "manager")
    assert agent.tasks() == []
    # grade B, reachable, no test lead: an agent's call; no email: one contact point
    plain = agent.start("r23_lead_triage", {"lead": lead(cid, source="web")})
    assert (plain["data"]["grade"], plain["data"]["contact_points"]) == ("B", 1)
    assert only(plain["ready_tasks"])["name"] == "Activity_0call"
    # a test lead is nurtured, its note written from the FEEL input mapping
    test = agent.start("r23_lead_triage", {"lead": lead(cid, name="TEST lead")})
    assert (test["status"], test["ready_tasks"]) == ("completed", [])
    cold = agent.start("r23_lead_triage", {"lead": lead(cid, source="web", budget=500)})
    assert cold["status"] == "completed"
    # no phone starting +86 (a FEEL filter): nurtured
    abroad = agent.start("r23_lead_triage", {"lead": lead(cid, phones=["+85291234567"])})
    assert abroad["status"] == "completed"
    assert notes_of(db) == [
        "Nurture REFERRAL lead, grade A",
        "Nurture WEB lead, grade C",
        "Nurture REFERRAL lead, grade A",
    ]


def test_a_callback_waits_for_the_agreed_time_and_the_chosen_answer_window(timed: Timed):
    """``=date and time(callback_at)`` (a local time, read in the installation's zone),
    ``=duration(answer_within)`` and ``=duration("P1D")`` were refused with the Python to write;
    ``=if is defined(attempt) then attempt + 1 else 1`` counts from the unset ``attempt``."""
    deploy(timed.owner, "callback.bpmn")
    agent = timed.agent
    started = agent.start("r23_callback", {})
    agree = only(started["ready_tasks"])
    # 15:00 in Shanghai is 07:00 UTC, six hours after the clock's 01:00 UTC
    waiting = agent.complete_ok(
        agree["id"], {"callback_at": "2026-05-04T15:00:00", "answer_within": "PT2H"}
    )
    (timer,) = waiting["waiting"]
    assert (timer["kind"], timer["due_at"][:19]) == ("timer", "2026-05-04T07:00:00")
    assert timed.advance(hours=5, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    first = agent.instance(started["id"])
    assert (first["data"]["attempt"], only(first["ready_tasks"])["name"]) == (
        1,
        "Activity_callback",
    )
    assert timed.advance(hours=2) == 1  # not answered within PT2H: a day's wait
    assert agent.instance(started["id"])["ready_tasks"] == []
    assert timed.advance(days=1) == 1
    second = agent.instance(started["id"])
    assert second["data"]["attempt"] == 2
    done = agent.complete_ok(
        only(second["ready_tasks"])["id"], {"reached": True, "outcome": "interested in B"}
    )
    assert done["status"] == "completed"


def test_three_missed_callbacks_give_up(timed: Timed):
    deploy(timed.owner, "callback.bpmn")
    started = timed.agent.start("r23_callback", {})
    timed.agent.complete_ok(
        only(started["ready_tasks"])["id"],
        {"callback_at": "2026-05-04T09:30:00+08:00", "answer_within": "PT30M"},
    )
    assert timed.advance(hours=1) == 1  # the first attempt
    for attempt in (2, 3):  # missed after PT30M; a day later the next attempt
        assert timed.advance(hours=1) == 1
        assert timed.advance(days=1) == 1
        assert timed.agent.instance(started["id"])["data"]["attempt"] == attempt
    assert timed.advance(hours=1) == 1  # the third is missed: no fourth
    view = timed.agent.instance(started["id"])
    assert (view["status"], view["data"]["attempt"]) == ("completed", 3)


def test_a_quote_is_computed_escalated_and_signed_off_by_each_approver(owner, agent, actor):
    """The total is FEEL's decimal arithmetic (``0.1 + 0.2`` is ``0.3`` there, as Python's
    floats are not); ``escalationCode="=if discount > 0.3 then …"`` was refused at deploy
    ("Dialflow evaluates no expression there")."""
    boss = actor("manager", username="boss", team="East")
    deputy = actor("manager", username="deputy", team="East")
    chief = actor("director", username="chief", team=None)
    deploy(owner, "quote_approval.bpmn")
    started = agent.start("r23_quote_approval", {"approvers": ["boss", "deputy"]})
    prepared = agent.complete_ok(
        only(started["ready_tasks"])["id"],
        {"quantity": 3, "unit_price": 10000.1, "discount": 0.4},
    )
    assert (prepared["data"]["total"], prepared["data"]["size"]) == (18000.18, "standard")
    # the deep discount reached the director beside the sign-offs, each by its approver
    assert only(chief.tasks())["name"] == "Activity_director"
    mine, theirs = only(boss.tasks()), only(deputy.tasks())
    assert (mine["assignee"], theirs["assignee"]) == (boss.user.id, deputy.user.id)
    boss.complete_ok(mine["id"], {"approved": True})
    chief.complete_ok(only(chief.tasks())["id"], {})
    done = deputy.complete_ok(theirs["id"], {"approved": True})
    assert (done["status"], done["data"]["decisions"]) == ("completed", [True, True])
    assert done["data"]["summary"] == "Approved by boss, deputy: 18000.18 CNY (standard)"

    small = agent.start("r23_quote_approval", {"approvers": ["boss"]})
    agent.complete_ok(
        only(small["ready_tasks"])["id"], {"quantity": 10, "unit_price": 6000, "discount": 0.1}
    )
    assert chief.tasks() == []  # a DISCOUNT escalation: nothing catches it, the quote goes on
    refused_quote = boss.complete_ok(only(boss.tasks())["id"], {"approved": False})
    assert refused_quote["status"] == "completed"
    assert "summary" not in refused_quote["data"]
    assert refused_quote["data"]["total"] == 54000
    assert refused_quote["data"]["size"] == "large"


def reply(actor: Actor, key: str, **payload: Any) -> Any:
    body = {"name": "r23_customer_replied", "correlation": {"correlationKey": key}}
    return actor.post("/api/v1/messages", json={**body, "payload": {"reply": payload}})


def test_a_nurture_waits_for_the_reply_the_stop_signal_or_its_own_wait(timed: Timed):
    """A reply's FEEL condition reads its text and score (a reply without a score, whose
    condition is null, is an incident on the gateway: ``test_feel_everywhere.py``);
    ``=duration(wait_for)`` was refused with the Python to write."""
    owner, agent = timed.owner, timed.agent
    db = timed.runtime.db.unit_of_work
    deploy(owner, "lead_nurture.bpmn")
    cid = customer(db)

    def nurture(key: str, wait_for: str = "P3D") -> dict[str, Any]:
        data = {"lead": {"id": key, "customer_id": cid, "name": key}, "wait_for": wait_for}
        return agent.start("r23_lead_nurture", data)

    keen, cool, scored, waiting, stopped = (
        nurture(key) for key in ("L-1", "L-2", "L-3", "L-4", "L-5")
    )
    assert reply(agent, "L-1", text="YES please").status_code == 202
    assert only(agent.instance(keen["id"])["ready_tasks"])["name"] == "Activity_call"
    assert reply(agent, "L-2", text="not now", score=3).status_code == 202
    assert agent.instance(cool["id"])["status"] == "completed"
    assert reply(agent, "L-3", text="maybe", score=9).status_code == 202
    assert only(agent.instance(scored["id"])["ready_tasks"])["name"] == "Activity_call"
    shorter = nurture("L-6", wait_for="PT12H")
    assert timed.advance(hours=12) == 1
    assert agent.instance(shorter["id"])["status"] == "completed"
    agent.start("r23_campaign_stop", {})
    timed.advance()
    assert agent.instance(stopped["id"])["status"] == "completed"
    assert agent.instance(waiting["id"])["status"] == "completed"
    assert notes_of(db)[:2] == ["Offer sent to L-1", "Offer sent to L-2"]


def renewal(agent: Actor, cid: int, price: float, budget: float, **more: Any) -> dict:
    data = {"contract": {"price": price}, "customer": {"id": cid, "budget": budget}, **more}
    return agent.start("r23_renewal", data)


def test_a_renewal_is_priced_checked_and_ends_by_its_computed_error_code(owner, agent, db):
    deploy(owner, "renewal.bpmn")
    cid = customer(db)
    within = renewal(agent, cid, 1000.05, 2000, uplift=0.1)
    assert (within["status"], within["data"]["new_price"]) == ("completed", 1100.06)
    default = renewal(agent, cid, 1000, 2000)  # get or else(uplift, 0.05): no uplift given
    assert (default["status"], default["data"]["new_price"]) == ("completed", 1050)
    assert notes_of(db) == ["Renewed at 1100.06", "Renewed at 1050"]
    over = renewal(agent, cid, 1000, 1000, uplift=0.2)
    assert only(over["ready_tasks"])["name"] == "Activity_negotiate"
    lost = renewal(agent, cid, 1000, 500, uplift=0.2)
    assert (lost["status"], lost["ready_tasks"], lost["incidents"]) == ("completed", [], [])


def test_a_price_sent_as_text_is_an_incident_on_the_gateway_and_a_retry_runs_it(owner, agent, db):
    """A price sent as text: FEEL's text times a number is null (the script sets null, as
    Zeebe computes it), and the gateway's condition over it is null: an incident on the
    gateway, the FEEL said as the diagram has it; a retry with the price fixed runs on."""
    deploy(owner, "renewal.bpmn")
    cid = customer(db)
    started = renewal(agent, cid, "1000", 2000, uplift=0.1)
    (incident,) = started["incidents"]
    assert (started["status"], incident["element_id"]) == ("error", "Gateway_budget")
    assert "=new_price between 0 and customer.budget" in incident["message"]
    assert "evaluated to null" in incident["message"]
    assert agent.instance(started["id"])["data"]["new_price"] is None
    retried = owner.post(
        f"/api/v1/process-instances/{started['id']}/retry",
        json={"data": {"new_price": 1100}},
    )
    assert retried.status_code == 200, retried.get_json()
    view = agent.instance(started["id"])
    assert (view["status"], view["data"]["new_price"]) == ("completed", 1100)


# -- what stays refused: said on its element and line, naming the part that does not run ----


def test_a_feel_script_with_a_part_that_does_not_run_is_refused_naming_it(owner, db):
    cases = {
        "=sum(for i in 1..3 return i)": "FEEL's range '1..3'",
        "=list replace(amounts, 1, 0)": "FEEL's function list replace()",
        "=contract.price instance of number": "FEEL's 'instance of'",
        "=get value(contract, &#34;price&#34;) * 1.1 + before(1, 2)": "FEEL's function before()",
    }
    for written, said in cases.items():
        text = edited(
            "renewal.bpmn",
            (
                '"=round half up(contract.price * (1 + get or else(uplift, 0.05)), 2)"',
                f'"{written}"',
            ),
        )
        (detail,) = refused(upload(owner, ("renewal.bpmn", text)))
        assert (detail["element_id"], detail["line"]) == (
            "Activity_price",
            line_in(written, text),
        ), detail
        assert "<zeebe:script> on scriptTask 'Activity_price'" in detail["message"]
        assert said in detail["message"], detail["message"]
    text = edited("renewal.bpmn", (' resultVariable="new_price"', ""))
    (detail,) = refused(upload(owner, ("renewal.bpmn", text)))
    assert detail["element_id"] == "Activity_price"
    assert "name the variable the expression's value is set in" in detail["message"]


def test_a_feel_condition_with_a_part_that_does_not_run_is_refused_naming_it(owner):
    text = edited(
        "renewal.bpmn",
        ("=new_price between 0 and customer.budget", "=new_price between 0 and budget * 2"),
    )
    (detail,) = refused(upload(owner, ("renewal.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == ("Flow_b2", line_in("between", text))
    assert "holding FEEL's 'between … and …' over more than names" in detail["message"]

    text = edited(
        "renewal.bpmn", ('errorCode="=if', 'errorCode="=if reverse2(codes)[1] = null and')
    )
    (detail,) = refused(upload(owner, ("renewal.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == ("Error_budget", line_in("reverse2(", text))
    assert "a FEEL expression holding FEEL's function reverse2()" in detail["message"]
