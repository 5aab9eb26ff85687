"""What the shipped processes write (task and deal titles, statuses, recorded changes) is shown
in the reader's language on the pages, while the API keeps the English the processes wrote."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from crm.models import User
from engine.models import ProcessInstance
from tests.processes.conftest import Team
from tests.web.sales_pages import browser, opportunity, quote

RAW_STATUS = re.compile(r'<span class="badge">(running|waiting|completed|error|terminated)</span>')


def speaking(team: Team, username: str, locale: str) -> FlaskClient:
    client = browser(team, username)
    with team.db() as db:
        db.scalar(select(User).where(User.username == username)).locale = locale
    return client


def test_the_customer_page_shows_process_titles_statuses_and_money_in_chinese(team: Team):
    customer_id, _deal_id, agent = opportunity(team, "13500009101", name="杭州云帆")
    html = speaking(team, agent, "zh_CN").get(f"/customers/{customer_id}").text
    assert "商机：杭州云帆" in html and "Opportunity: 杭州云帆" not in html  # the deal
    assert "致电 杭州云帆" in html and "Call 杭州云帆" not in html  # the completed call task
    assert "已分配给坐席" in html  # the lead's assignment, a recorded change
    assert "Recorded change" not in html and "记录的变更：assign" not in html
    assert not RAW_STATUS.search(html)  # process statuses are labels, not enum values
    assert "¥100,000.00" in html  # the deal's amount as money
    assert "跟进节奏" in html and "call_cadence started" not in html  # the process's name

    english = speaking(team, agent, "en").get(f"/customers/{customer_id}").text
    assert "Opportunity: 杭州云帆" in english and "Call 杭州云帆" in english
    assert "Assigned to an agent" in english
    assert "Call cadence" in english and "跟进节奏" not in english
    assert not RAW_STATUS.search(english)


def test_the_customer_page_names_the_step_of_a_shipped_process_in_the_readers_language(
    team: Team,
):
    lead = team.lead(name="嘉兴远航", phone="13500009105", region="上海")
    agent, customer_id = lead["owner"], lead["customer_id"]
    team.one_task(agent, customer_id, "call")  # element ``call``, "Call the customer"
    html = speaking(team, agent, "zh_CN").get(f"/customers/{customer_id}").text
    assert "流程 跟进节奏 的步骤 致电客户" in html
    english = speaking(team, agent, "en").get(f"/customers/{customer_id}").text
    assert "Process step Call the customer of Call cadence" in english
    assert "Process step call of" not in english


def test_open_task_titles_are_translated_in_the_inbox_and_on_the_task_page(team: Team):
    lead = team.lead(name="苏州明达", phone="13500009102", region="上海")
    agent, customer_id = lead["owner"], lead["customer_id"]
    task = team.one_task(agent, customer_id, "call")
    assert task["title"] == "Call 苏州明达"  # the API keeps what the process wrote
    client = speaking(team, agent, "zh_CN")
    inbox = client.get("/inbox").text
    assert "致电 苏州明达" in inbox and "Call 苏州明达" not in inbox
    page = client.get(f"/tasks/{task['id']}").text
    assert "<h1>致电 苏州明达</h1>" in page
    assert "<title>致电 苏州明达" in page


def test_the_approval_task_title_translates_the_deal_title_inside_it(team: Team):
    _customer_id, deal_id, agent = opportunity(team, "13500009103", name="宁波海港")
    quote(team, agent, deal_id, 15)
    with team.db() as db:
        # The quote waits for the agent's own manager (there are two managers).
        seller = db.scalar(select(User).where(User.username == team[agent].username))
        username = db.get(User, seller.manager_id).username
    approvals = speaking(team, username, "zh_CN").get("/approvals").text
    assert "商机：宁波海港" in approvals
    assert "Opportunity:" not in approvals


def test_the_instance_page_formats_the_wait_times(team: Team):
    lead = team.lead(name="温州星河", phone="13500009104", region="上海")
    agent, customer_id = lead["owner"], lead["customer_id"]
    task = team.one_task(agent, customer_id, "call")
    team[agent].complete_ok(task["id"], {"disposition": "no_answer"})
    with team.db() as db:
        instance = db.scalars(
            select(ProcessInstance).where(
                ProcessInstance.process_id == "call_cadence",
                ProcessInstance.business_key.in_([str(customer_id), f"customer-{customer_id}"]),
            )
        ).one()
        waits = [w for w in instance.waiting if w.get("due_at")]
        instance_id = instance.id
    assert waits
    page = speaking(team, "boss", "zh_CN").get(f"/process-instances/{instance_id}").text
    waiting = re.findall(
        r'<li><span class="badge">[^<]*</span>[^<]*<span class="muted small">([^<]+)</span></li>',
        page,
    )
    assert waiting, page
    for shown in waiting:
        assert "T" not in shown and "+00:00" not in shown  # not the stored ISO text
        assert re.search(r"\d{1,2}:\d\d", shown)  # a time as people read it
