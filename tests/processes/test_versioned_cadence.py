"""A process owner pins call-cadence rules in a new version of the diagram.

The shipped ``call_cadence`` leaves its rules to the settings a manager edits. A rule given as
a parameter of a compliance or cadence service task overrides the setting for the instances of
that version only: new leads follow it, instances of the older version keep what they had until
they are migrated.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

from crm.models import Customer
from handlers.telesales import OVERRIDES
from tests.processes.conftest import Team
from tests.web.sales_pages import browser

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def pinned(xml: str, element_id: str, **values: str) -> str:
    """``call_cadence.bpmn`` with parameters (Python expressions) added to one service task,
    as the modeler's operator form writes them."""
    start = xml.index(f'<bpmn:serviceTask id="{element_id}"')
    anchor = xml.index("<spiffworkflow:parameters>", start) + len("<spiffworkflow:parameters>")
    lines = "".join(
        f'\n            <spiffworkflow:parameter id="{name}" type="str" value={quoteattr(value)} />'
        for name, value in values.items()
    )
    return xml[:anchor] + lines + xml[anchor:]


def deploy(team: Team, xml: str) -> dict:
    """POST /api/v1/process-models with the diagram and its form, as the process owner."""
    return team["owner"].upload(
        extra=[
            ("call_cadence.bpmn", xml.encode()),
            ("call-disposition.json", (BPMN / "call-disposition.json").read_bytes()),
        ]
    )


def shipped() -> str:
    return (BPMN / "call_cadence.bpmn").read_text(encoding="utf-8")


def new_lead(team: Team, phone: str) -> tuple[int, str]:
    result = team.lead(name="客户" + phone[-4:], phone=phone, region="上海")
    return result["customer_id"], result["owner"]


def call(team: Team, agent: str, customer_id: int, **data: object) -> dict:
    task = team.one_task(agent, customer_id, "call")
    return team[agent].complete_ok(task["id"], data)


def cadence_of(team: Team, agent: str, customer_id: int) -> int:
    """The id of the customer's call cadence, from their open call task."""
    return team.one_task(agent, customer_id, "call")["process_instance_id"]


def in_pool(team: Team, customer_id: int) -> bool:
    with team.db() as db:
        return db.get(Customer, customer_id).pool_status.value == "pool"


def test_the_shipped_cadence_leaves_its_rules_to_the_settings() -> None:
    used = set(re.findall(r'<spiffworkflow:parameter id="(\w+)"', shipped()))
    assert used.isdisjoint(OVERRIDES)


def test_a_pinned_retry_limit_reaches_new_leads_and_migrated_instances_only(team: Team) -> None:
    m_east = team["m_east"]
    setting = m_east.client.put(  # the team's own limit: what every unpinned version reads
        "/api/v1/settings/cadence",
        headers=m_east.headers,
        json={"team_id": m_east.user.team_id, "value": {"max_attempts_total": 5}},
    )
    assert setting.status_code == 200, setting.get_json()
    old_customer, old_agent = new_lead(team, "13800005001")
    old = cadence_of(team, old_agent, old_customer)
    assert team["admin"].instance(old)["version"] == 1

    response = deploy(team, pinned(shipped(), "plan_retry", max_attempts_total="2"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2
    new_customer, new_agent = new_lead(team, "13800005002")
    new = cadence_of(team, new_agent, new_customer)
    assert team["admin"].instance(new)["version"] == 2  # the hand-over starts the latest

    for attempt in (1, 2):
        call(team, old_agent, old_customer, disposition="no_answer")
        call(team, new_agent, new_customer, disposition="no_answer")
        if attempt == 1:
            team.advance(hours=1)  # the first backoff (PT1H) for both
    # the new version's two attempts beat the team's setting of five: to the pool
    assert in_pool(team, new_customer)
    team.no_task(new_agent, new_customer)
    assert team["admin"].instance(new)["status"] == "completed"
    # the old instance still follows the setting and waits to retry
    assert not in_pool(team, old_customer)
    assert team["admin"].instance(old)["data"]["retry"]["action"] == "retry"

    migrated = team["owner"].post(f"/api/v1/process-instances/{old}/migrate", {"to_version": 2})
    assert migrated.status_code == 200, migrated.get_json()
    assert migrated.get_json()["version"] == 2
    team.advance(hours=3)  # the second backoff (PT3H)
    call(team, old_agent, old_customer, disposition="no_answer")
    assert in_pool(team, old_customer)  # attempt three is over the pinned limit of two
    team.no_task(old_agent, old_customer)
    assert team["admin"].instance(old)["data"]["retry"] == {
        "action": "pool",
        "attempts_total": 3,
        "attempts_today": 3,
    }


def test_a_pinned_calling_window_moves_callbacks_of_new_instances_only(team: Team) -> None:
    old_customer, old_agent = new_lead(team, "13800006001")
    old = cadence_of(team, old_agent, old_customer)
    window = {"window_start": "'10:00'", "window_end": "'18:00'"}
    xml = pinned(pinned(shipped(), "gate", **window), "callback_slot", **window)
    response = deploy(team, xml)
    assert response.status_code == 201, response.get_json()

    today = team.clock.now().astimezone(SHANGHAI).date()
    at = f"{today.isoformat()}T19:30:00+08:00"
    new_customer, new_agent = new_lead(team, "13800006002")  # 09:00: before the new window
    team.no_task(new_agent, new_customer)
    call(team, old_agent, old_customer, disposition="callback_requested", callback_at=at)
    team.advance(hours=1)  # 10:00: the new version's window opens
    new = cadence_of(team, new_agent, new_customer)
    call(team, new_agent, new_customer, disposition="callback_requested", callback_at=at)

    old_callback = team["admin"].instance(old)["data"]["callback"]
    new_callback = team["admin"].instance(new)["data"]["callback"]
    assert old_callback["shifted"] is False  # 19:30 is inside the team's 09:00-21:00
    assert local(old_callback["at"]) == datetime(today.year, today.month, today.day, 19, 30)
    assert new_callback["shifted"] is True  # after 18:00: the next morning's opening
    tomorrow = today + timedelta(days=1)
    assert local(new_callback["at"]) == datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0)

    team.advance(hours=9, minutes=30)  # 19:30
    assert team.one_task(old_agent, old_customer, "call")["kind"] == "callback"
    team.no_task(new_agent, new_customer)
    team.advance(hours=14, minutes=29)  # 09:59 the next day
    team.no_task(new_agent, new_customer)
    team.advance(minutes=1)
    assert team.one_task(new_agent, new_customer, "call")["kind"] == "callback"


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).replace(tzinfo=None)


def problems_of(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_bpmn"
    return [(d["element_id"], d["message"]) for d in response.get_json()["error"]["details"]]


def test_pinned_rules_are_checked_element_by_element_at_deploy(team: Team) -> None:
    xml = pinned(shipped(), "callback_slot", window_start="'18:00'", window_end="'10:00'")
    xml = pinned(xml, "plan_retry", max_attempts_total="0", retry_backoff="PT2H")
    xml = pinned(xml, "plan", first_call_sla="'two hours'", reclaim_after_days="'soon'")
    xml = pinned(xml, "gate", window_start="'07:00'")
    found = problems_of(deploy(team, xml))
    by_element: dict[str, str] = {}
    for element_id, message in found:
        by_element[element_id] = by_element.get(element_id, "") + message + "\n"
    assert set(by_element) == {"callback_slot", "plan_retry", "plan", "gate"}
    assert "window_end '10:00' must be after window_start '18:00'" in by_element["callback_slot"]
    assert "max_attempts_total 0" in by_element["plan_retry"]
    assert "write 'PT2H' in quotes" in by_element["plan_retry"]
    assert "first_call_sla 'two hours'" in by_element["plan"]
    assert "'reclaim_after_days' must be int" in by_element["plan"]
    assert "together" in by_element["gate"]  # a window needs its start and its end

    night = pinned(shipped(), "gate", window_start="'07:00'", window_end="'23:00'")
    messages = " ".join(message for _element, message in problems_of(deploy(team, night)))
    assert "before 08:00" in messages and "after 22:00" in messages


def test_a_rule_computed_from_data_is_checked_when_it_runs(team: Team) -> None:
    xml = pinned(shipped(), "plan_retry", max_attempts_total="data_limit if 0 else -1")
    response = deploy(team, xml)
    assert response.status_code == 201, response.get_json()  # not known before it runs
    customer_id, agent = new_lead(team, "13800007001")
    instance = call(team, agent, customer_id, disposition="no_answer")
    assert instance["status"] == "error"
    incident = instance["incidents"][0]
    assert incident["element_id"] == "plan_retry"
    assert "max_attempts_total -1" in incident["message"]


def test_the_settings_page_tells_managers_that_a_diagram_may_pin_a_rule(team: Team) -> None:
    page = browser(team, "m_east").get("/settings")
    assert page.status_code == 200
    note = re.search(r"<div[^>]*data-pinned-note>(.*?)</div>", page.text, re.S)
    assert note is not None and "instances of that version follow the diagram" in note.group(1)


def test_a_window_needs_both_ends_at_deploy_and_when_it_runs(team: Team) -> None:
    half = pinned(shipped(), "gate", window_start="'10:00'", window_end="None")
    assert [element for element, _message in problems_of(deploy(team, half))] == ["gate"]
    computed = pinned(shipped(), "gate", window_start="'10:00'", window_end="None if 1 else ''")
    response = deploy(team, computed)
    assert response.status_code == 201, response.get_json()
    result = team.lead(name="客户", phone="13800007002", region="上海")
    started = (
        team["admin"]
        .get(
            f"/api/v1/process-instances?process_id=call_cadence&business_key={result['customer_id']}"
        )
        .get_json()["items"]
    )
    assert [i["status"] for i in started] == ["error"]
    assert "together" in started[0]["incidents"][0]["message"]
    assert started[0]["incidents"][0]["element_id"] == "gate"
