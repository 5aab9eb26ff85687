"""A second round of diagrams in styles and constructs not seen before, deployed through the
API and run end to end: Camunda Modeler 5 exports with parallel lanes, DMN tables routing an
exclusive gateway (UNIQUE and FIRST, several inputs, ranges), a hand-edited file with a BOM,
CRLF, comments and processing instructions, Chinese names and ids with dots and dashes, a call
activity whose child escalates or fails, waits inside called processes (a receive task, a timer
on the call, multi-instance), a data object across a subprocess, a terminate end event beside an
open user task, none and manual tasks, a standard loop; and diagrams that must be refused
element by element.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import WorkItem
from tests.engine.conftest import DIAGRAMS, Actor, Timed, by_element, notes_of, only, refused
from tests.engine.diagram_folders import nothing_deployed, notifications_of

UNSEEN = DIAGRAMS / "unseen"


def upload(actor: Actor, files: list[tuple[str, bytes]]) -> Any:
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
    )


def unseen(*names: str) -> list[tuple[str, bytes]]:
    return [(name, (UNSEEN / name).read_bytes()) for name in names]


def deploy(actor: Actor, *names: str) -> dict[str, Any]:
    response = upload(actor, unseen(*names))
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def line_of(fragment: str, name: str) -> int:
    text = (UNSEEN / name).read_bytes().decode("utf-8-sig")
    return text.count("\n", 0, text.index(fragment)) + 1


@pytest.fixture
def manager(actor: Callable[..., Actor]) -> Actor:
    return actor("manager", username="boss", team="East")


# -- Camunda Modeler 5: a parallel split with a user task per lane, done in either order -------


@pytest.mark.parametrize("first", ["agent", "manager"])
def test_parallel_user_tasks_in_two_lanes_complete_in_either_order(
    owner, agent, manager, make_customer, db, first
):
    deployed = deploy(owner, "c5_parallel_lanes.bpmn", "c5-call-form.json")
    assert deployed["process_ids"] == ["c5_quote_prep"]
    customer = make_customer(name="并行客户")
    started = agent.start("c5_quote_prep", {"customer_id": customer.id})
    assert started["status"] == "running", started["incidents"]
    call = only(started["ready_tasks"], name="Activity_0call")
    price = only(started["ready_tasks"], name="Activity_0price")
    assert (call["lane"], call["candidates"]) == ("agent", ["group:agent"])
    assert (price["lane"], price["candidates"]) == ("Manager", ["group:manager"])
    assert call["form_schema"]["required"] == ["seats"]
    # each sees their own task and not the other's
    assert [t["name"] for t in agent.tasks("candidate=1")] == ["Activity_0call"]
    assert [t["name"] for t in manager.tasks("candidate=1")] == ["Activity_0price"]
    assert agent.complete(price["id"], {"price": 10}).status_code == 403
    assert agent.complete(call["id"], {"seats": 0}).status_code == 422  # minimum 1

    steps = [
        (agent, call["id"], {"seats": 12}),
        (manager, price["id"], {"price": 450}),
    ]
    if first == "manager":
        steps.reverse()
    halfway = steps[0][0].complete_ok(steps[0][1], steps[0][2])
    assert halfway["status"] == "running"
    assert [t["id"] for t in halfway["ready_tasks"]] == [steps[1][1]]  # the join waits
    assert "summary" not in halfway["data"]
    done = steps[1][0].complete_ok(steps[1][1], steps[1][2])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["summary"] == "12 seats at 450 each: 5400"
    assert done["data"]["remarks"] == ""  # the form's default
    assert notes_of(db, customer.id) == ["报价: 12 seats at 450 each: 5400"]


# -- DMN tables routing an exclusive gateway: UNIQUE with ranges, FIRST with overlaps ----------


@pytest.mark.parametrize(
    ("segment", "seats", "region", "band", "discount", "reason"),
    [
        ("enterprise", 120, "West", "review", 15, "volume"),
        ("enterprise", 10, "East", "auto", 8, "home region"),
        ("smb", 5, "North", "auto", 0, "list price"),
        ("smb", 19, "South", "decline", 0, "list price"),
        ("smb", 20, "East", "review", 8, "home region"),
        ("enterprise", 100, "East", "review", 15, "volume"),  # FIRST: volume before region
    ],
)
def test_decision_tables_route_the_gateway(
    owner, agent, manager, segment, seats, region, band, discount, reason
):
    deployed = deploy(
        owner, "dmn_quote_route.bpmn", "quote_band_unique.dmn", "quote_discount_first.dmn"
    )
    assert deployed["process_ids"] == ["dmn_quote_route"]
    started = agent.start(
        "dmn_quote_route",
        {"segment": segment, "seats": seats, "region": region, "list_price": 1000},
    )
    assert started["incidents"] == []
    data = started["data"]
    assert (data["band"], data["discount_pct"], data["discount_reason"]) == (
        band,
        discount,
        reason,
    )
    if band == "review":
        review = only(started["ready_tasks"], name="Task_review")
        assert review["candidates"] == ["group:manager"]
        assert manager.complete_ok(review["id"])["status"] == "completed"
    else:
        assert started["status"] == "completed"
        assert data["approved"] is (band == "auto")
        if band == "auto":
            assert data["net_price"] == 1000 * (100 - discount) / 100


def with_overlap(policy: str, band: str) -> bytes:
    """The band table with one more rule that overlaps ``Rule_smb_near`` (smb, North, 11-19)."""
    dmn = (UNSEEN / "quote_band_unique.dmn").read_text()
    return (
        dmn.replace('hitPolicy="UNIQUE"', f'hitPolicy="{policy}"')
        .replace(
            '<rule id="Rule_smb_big">',
            '<rule id="Rule_smb_vip">\n'
            '        <inputEntry id="C_v_1"><text>"smb"</text></inputEntry>\n'
            '        <inputEntry id="C_v_2"><text>&gt; 10</text></inputEntry>\n'
            '        <inputEntry id="C_v_3"><text>"North"</text></inputEntry>\n'
            f'        <outputEntry id="O_v"><text>"{band}"</text></outputEntry>\n'
            "      </rule>\n"
            '      <rule id="Rule_smb_big">',
        )
        .encode()
    )


@pytest.mark.parametrize("policy", ["UNIQUE", "ANY"])
def test_a_single_hit_table_with_two_matching_rules_is_an_incident(owner, agent, policy):
    """UNIQUE means at most one rule matches, ANY that all matches agree; SpiffWorkflow 3.2
    answered with the first match and the instance went on as if the table were right."""
    files = [
        *unseen("dmn_quote_route.bpmn", "quote_discount_first.dmn"),
        ("quote_band_unique.dmn", with_overlap(policy, "review")),
    ]
    assert upload(owner, files).status_code == 201
    failed = agent.start(
        "dmn_quote_route", {"segment": "smb", "seats": 15, "region": "North", "list_price": 1}
    )
    assert failed["status"] == "error"
    (incident,) = failed["incidents"]
    assert incident["element_id"] == "Task_band"
    assert "'Rule_smb_near', 'Rule_smb_vip'" in incident["message"]
    assert f"hit policy {policy}" in incident["message"]
    assert "band" not in failed["data"]
    # inputs only one rule matches still decide
    fine = agent.start(
        "dmn_quote_route", {"segment": "smb", "seats": 5, "region": "North", "list_price": 1}
    )
    assert (fine["status"], fine["data"]["band"]) == ("completed", "auto")


def test_an_any_table_whose_matching_rules_agree_decides(owner, agent):
    files = [
        *unseen("dmn_quote_route.bpmn", "quote_discount_first.dmn"),
        ("quote_band_unique.dmn", with_overlap("ANY", "auto")),
    ]
    assert upload(owner, files).status_code == 201
    done = agent.start(
        "dmn_quote_route", {"segment": "smb", "seats": 15, "region": "North", "list_price": 1}
    )
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["band"] == "auto"


# -- hand-edited XML: BOM, CRLF, comments, processing instructions, Chinese, dotted ids --------


def test_a_hand_edited_file_with_chinese_names_and_dotted_ids_runs(owner, agent, make_customer, db):
    raw = (UNSEEN / "quirky_follow_up.bpmn").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    deployed = deploy(owner, "quirky_follow_up.bpmn")
    assert deployed["process_ids"] == ["lead.follow-up-cn"]
    (model,) = [m for m in owner.models() if m["process_id"] == "lead.follow-up-cn"]
    assert model["name"] == "线索跟进"

    customer = make_customer(name="王芳")
    started = agent.start(
        "lead.follow-up-cn",
        {"customer_id": customer.id, "owner": agent.username, "name": "王芳"},
        business_key=str(customer.id),
    )
    assert started["status"] == "running", started["incidents"]
    task = only(started["ready_tasks"], name="task.跟进-1")
    assert (task["title"], task["lane"]) == ("跟进客户", "agent")
    data = started["data"]
    assert data["greeting"] == "您好，王芳"
    assert data["planned_gap_h"] == 24.0
    assert len(data["plan_day"]) == 10

    done = agent.complete_ok(task["id"], {"结果": "有意向"})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == [f"意向客户：有意向（{data['plan_day']}）"]
    assert notifications_of(db, agent) == ["跟进完成：有意向"]

    lost = agent.start("lead.follow-up-cn", {"customer_id": customer.id, "owner": "x", "name": ""})
    assert lost["data"]["greeting"] == "您好"
    done = agent.complete_ok(lost["ready_tasks"][0]["id"], {"结果": "无意向"})
    assert done["status"] == "completed"
    assert len(notes_of(db, customer.id)) == 1


def test_version_two_starts_new_instances_while_version_one_runs_on(
    owner, agent, make_customer, db
):
    customer = make_customer(name="李雷")
    first = deploy(owner, "quirky_follow_up.bpmn")
    assert first["version"] == 1
    data = {"customer_id": customer.id, "owner": agent.username, "name": "李雷"}
    old = agent.start("lead.follow-up-cn", data)
    assert old["version"] == 1

    text = (UNSEEN / "quirky_follow_up.bpmn").read_bytes().decode("utf-8-sig")
    changed = text.replace("f'意向客户：{结果}（{plan_day}）'", "f'第二版：{结果}'")
    assert changed != text
    response = upload(owner, [("quirky_follow_up.bpmn", changed.encode("utf-8"))])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2
    again = upload(owner, [("quirky_follow_up.bpmn", changed.encode("utf-8"))])
    assert (again.status_code, again.get_json()["version"]) == (200, 2)

    new = agent.start("lead.follow-up-cn", data)
    assert new["version"] == 2
    agent.complete_ok(new["ready_tasks"][0]["id"], {"结果": "有意向"})
    done = agent.complete_ok(old["ready_tasks"][0]["id"], {"结果": "有意向"})
    assert (done["status"], done["version"]) == ("completed", 1)
    plan_day = done["data"]["plan_day"]
    assert notes_of(db, customer.id) == ["第二版：有意向", f"意向客户：有意向（{plan_day}）"]


def test_an_instance_at_a_chinese_named_task_migrates_to_version_two(
    owner, agent, make_customer, db
):
    customer = make_customer(name="韩梅梅")
    deploy(owner, "quirky_follow_up.bpmn")
    data = {"customer_id": customer.id, "owner": agent.username, "name": "韩梅梅"}
    old = agent.start("lead.follow-up-cn", data)
    text = (UNSEEN / "quirky_follow_up.bpmn").read_bytes().decode("utf-8-sig")
    changed = text.replace('name="跟进客户"', 'name="电话跟进客户"').replace(
        "f'意向客户：{结果}（{plan_day}）'", "f'第二版：{结果}'"
    )
    assert upload(owner, [("follow_up_v2.bpmn", changed.encode())]).status_code == 201
    response = owner.post(f"/api/v1/process-instances/{old['id']}/migrate", json={"to_version": 2})
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["version"] == 2
    (task,) = agent.tasks("candidate=1")
    assert (task["name"], task["title"], task["id"]) == (
        "task.跟进-1",
        "电话跟进客户",
        old["ready_tasks"][0]["id"],
    )
    done = agent.complete_ok(task["id"], {"结果": "有意向"})
    assert (done["status"], done["version"]) == ("completed", 2)
    assert notes_of(db, customer.id) == ["第二版：有意向"]


# -- a call activity whose child escalates (non-interrupting) or ends in an error -------------


def test_escalation_from_a_called_process_notifies_and_the_call_goes_on(owner, agent, manager, db):
    deployed = deploy(owner, "call_escalation.bpmn")
    assert sorted(deployed["process_ids"]) == ["Process_onboard_checks", "Process_onboard_parent"]
    started = agent.start(
        "Process_onboard_parent",
        {
            "company": "Acme",
            "country": "CN",
            "revenue": 5_000_000,
            "manager_username": manager.username,
        },
    )
    assert started["status"] == "running", started["incidents"]
    assert notifications_of(db, manager) == ["Big deal: Acme"]
    confirm = only(started["ready_tasks"], name="Activity_confirm")  # the child goes on
    assert confirm["candidates"] == ["group:agent"]
    done = agent.complete_ok(confirm["id"])
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["outcome"] == "onboarded"


def test_a_small_company_is_not_escalated(owner, agent, manager, db):
    deploy(owner, "call_escalation.bpmn")
    started = agent.start(
        "Process_onboard_parent",
        {"company": "Tiny", "country": "CN", "revenue": 10, "manager_username": manager.username},
    )
    done = agent.complete_ok(only(started["ready_tasks"], name="Activity_confirm")["id"])
    assert done["status"] == "completed"
    assert done["data"]["outcome"] == "onboarded"
    assert notifications_of(db, manager) == []


def test_an_error_end_in_the_called_process_is_caught_by_a_catch_all_boundary(
    owner, agent, manager, db
):
    deploy(owner, "call_escalation.bpmn")
    done = agent.start(
        "Process_onboard_parent",
        {"company": "Bad", "country": "KP", "revenue": 9_000_000, "manager_username": "boss"},
    )
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["outcome"] == "blocked"
    assert done["ready_tasks"] == []
    assert notifications_of(db, manager) == []


# -- waits inside called processes: a receive task, a timer on the call, multi-instance -------


def test_a_message_reaches_a_receive_task_inside_a_called_process(owner, agent):
    deployed = deploy(owner, "called_waits.bpmn")
    assert sorted(deployed["process_ids"]) == [
        "cw_canvass",
        "cw_contract",
        "cw_one_call",
        "cw_signing",
    ]
    started = agent.start("cw_contract", business_key="deal-1")
    other = agent.start("cw_contract", business_key="deal-2")
    send = only(started["ready_tasks"], name="cw_send")
    assert send["candidates"] == ["group:agent"]
    sent = agent.complete_ok(send["id"])
    assert sent["status"] == "waiting"
    assert sorted(w["kind"] for w in sent["waiting"]) == ["message", "timer"]
    response = agent.post(
        "/api/v1/messages",
        json={"name": "contract_signed", "business_key": "deal-1", "payload": {"signer": "王"}},
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["delivered_to"] == [started["id"]]
    done = agent.instance(started["id"])
    assert (done["status"], done["waiting"]) == ("completed", [])
    assert done["data"]["result"] == "signed by 王"
    # the other instance has not sent its contract yet: nothing waits for the message there
    assert agent.instance(other["id"])["status"] == "running"


def test_a_timer_on_a_call_activity_cancels_the_called_process_and_its_task(timed: Timed):
    upload(timed.owner, unseen("called_waits.bpmn"))
    started = timed.agent.start("cw_contract", business_key="deal-9")
    send = only(started["ready_tasks"], name="cw_send")
    assert timed.advance(days=6) == 0
    assert timed.advance(days=1, seconds=1) == 1
    lapsed = timed.agent.instance(started["id"])
    assert lapsed["status"] == "completed", lapsed["incidents"]
    assert lapsed["data"]["result"] == "lapsed"
    assert timed.agent.tasks("candidate=1") == []
    assert timed.agent.complete(send["id"]).status_code in (404, 409)


def test_a_multi_instance_call_activity_runs_one_called_process_per_item(owner, agent):
    deploy(owner, "called_waits.bpmn")
    started = agent.start("cw_canvass", {"contacts": ["甲", "乙", "丙"]})
    calls = [t for t in started["ready_tasks"] if t["name"] == "oc_call"]
    assert len(calls) == 3
    instance = started
    for task, answer in zip(calls, ["yes", "no", "yes"], strict=True):
        assert instance["status"] == "running"
        instance = agent.complete_ok(task["id"], {"answer": answer})
    assert instance["status"] == "completed", instance["incidents"]
    # one answer per contact, in the contacts' order (which the tasks here do not show;
    # test_multi_instance_edges.py checks the order), whatever the order of completion
    assert sorted(instance["data"]["answers"]) == ["no", "yes", "yes"]
    assert instance["data"]["yes"] == 2


# -- a data object across a subprocess, a team's lane, a reminder that does not interrupt ----


def test_data_object_team_lane_and_a_non_interrupting_timer_on_a_subprocess(timed: Timed):
    west = timed.actor("agent", username="west_agent", team="West")
    assert upload(timed.owner, unseen("data_objects_team.bpmn")).status_code == 201
    started = timed.agent.start("dobj_visit", {"city": "杭州"})
    assert started["status"] == "running", started["incidents"]
    assert started["data"]["data_objects"] == {"visit_plan": {"city": "杭州", "slots": 2}}
    visit = only(started["ready_tasks"], name="dobj_visit_task")
    assert (visit["lane"], visit["candidates"]) == ("East", ["group:East"])
    assert west.complete(visit["id"], {"outcome": "x"}).status_code == 403

    assert timed.advance(days=1, seconds=1) == 1
    reminded = timed.agent.instance(started["id"])
    assert reminded["data"]["reminded"] is True
    assert [t["id"] for t in reminded["ready_tasks"]] == [visit["id"]]  # still open
    assert reminded["waiting"] == []

    done = timed.agent.complete_ok(visit["id"], {"outcome": "签约"})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["report"] == "杭州: 签约"


# -- a terminate end event ends the instance while the other branch's user task is open -------


def test_terminate_end_event_closes_the_open_user_task(owner, agent, db):
    deploy(owner, "terminate_dnc.bpmn")
    started = agent.start("dnc_guard", {"phone": "+8613900000001", "dnc_list": ["+8613900000001"]})
    assert started["status"] in ("completed", "terminated"), started
    assert started["ready_tasks"] == []
    assert agent.tasks("candidate=1") == []
    assert agent.tasks("mine=1") == []
    with db() as session:
        open_items = session.scalars(
            select(WorkItem).where(WorkItem.instance_id == started["id"])
        ).all()
        assert all(item.status.value != "open" for item in open_items)
    assert agent.instance(started["id"])["ready_tasks"] == []


def test_without_the_terminate_both_branches_join(owner, agent):
    deploy(owner, "terminate_dnc.bpmn")
    started = agent.start("dnc_guard", {"phone": "+8613900000002", "dnc_list": []})
    assert started["status"] == "running"
    prepare = only(started["ready_tasks"], name="prepare_call")
    after = agent.complete_ok(prepare["id"])
    call = only(after["ready_tasks"], name="make_call")
    assert agent.complete_ok(call["id"])["status"] == "completed"


# -- none and manual tasks are work for people; a standard loop repeats a user task -----------


@pytest.mark.parametrize(("answers", "end"), [([False, True], "reached"), ([False] * 3, "posted")])
def test_none_manual_and_looped_user_tasks(owner, agent, answers, end):
    deploy(owner, "sketch_loop.bpmn")
    instance = agent.start("sketch_reach")
    check = only(instance["ready_tasks"], name="check_record")
    assert check["candidates"] == [f"user:{agent.username}"]  # no lane: the starter
    instance = agent.complete_ok(check["id"])
    for attempt, reached in enumerate(answers):
        reach = only(instance["ready_tasks"], name="try_reach")
        assert reach["candidates"] == ["group:agent"], attempt
        instance = agent.complete_ok(reach["id"], {"reached": reached})
    if end == "reached":
        assert instance["status"] == "completed", instance
    else:
        post = only(instance["ready_tasks"], name="post_brochure")
        assert post["title"] == "Post a brochure"
        assert agent.complete_ok(post["id"])["status"] == "completed"


# -- refused: one detail per problem, with element id and line, and nothing deployed -----------


def test_call_activities_that_call_back_into_themselves_are_refused(owner, db):
    details = refused(upload(owner, unseen("recursive_calls.bpmn")))
    found = by_element(details)
    assert set(found) == {"rs_again", "ping_call", "pong_call"}, details
    assert "(rec_self → rec_self)" in found["rs_again"]
    assert "(rec_ping → rec_pong → rec_ping)" in found["ping_call"]
    for detail in details:
        assert detail["line"] == line_of(f'id="{detail["element_id"]}"', "recursive_calls.bpmn")
    nothing_deployed(db)


def test_call_activities_that_may_stop_calling_themselves_deploy_and_run(owner, agent):
    """A recursion behind a gateway or a user task may end: it deploys. An escalation chain
    climbs three levels and ends; with a limit its data never reaches, the step stops at the
    nesting guard with an incident instead of running without end."""
    deploy(owner, "recursive_ends.bpmn")

    done = agent.start("escalate_up", {"level": 0, "limit": 3, "chain": []})
    assert done["status"] == "completed", done["incidents"]
    assert done["incidents"] == []

    endless = agent.start("escalate_up", {"level": 0, "limit": 10**6, "chain": []})
    assert endless["status"] == "error"
    (incident,) = endless["incidents"]
    assert incident["kind"] == "runaway_loop"
    assert "nested more than 50 deep" in incident["message"]
    assert "'escalate_up'" in incident["message"]

    waiting = agent.start("call_until_answered")
    assert waiting["status"] == "running"
    (task,) = waiting["ready_tasks"]
    agent.complete_ok(task["id"])  # the next level waits for its own call
    again = agent.instance(waiting["id"])
    assert again["status"] == "running"
    assert [(t["name"], t["title"]) for t in again["ready_tasks"]] == [
        ("cu_call", "Call the customer")
    ]
    assert again["ready_tasks"][0]["id"] != task["id"]


def test_references_across_scopes_and_to_nothing_are_refused(owner, db):
    details = refused(upload(owner, unseen("cross_scope.bpmn")))
    found = by_element(details)
    assert set(found) == {"q_leak", "lane_cross", "gw_timer", "score_timer", "q_end"}, details
    assert "nothing leads to this element" in found["q_end"]  # q_leak went elsewhere
    assert "'q_score', which is inside subProcess 'qualify'" in found["score_timer"]
    assert "'call_back', which is outside subProcess 'qualify'" in found["q_leak"]
    assert "perhaps a form" not in found["q_leak"]  # the parser's words on q_score are gone
    assert "'ghost_task'" in found["lane_cross"]
    assert "exclusiveGateway 'x_gw'" in found["gw_timer"]
    for detail in details:
        assert detail["line"] == line_of(f'id="{detail["element_id"]}"', "cross_scope.bpmn")
    nothing_deployed(db)


def test_an_escalation_caught_by_an_event_subprocess_runs_it_beside_the_call(owner, agent, db):
    """Refused until event subprocesses ran (SpiffWorkflow 3.2 ran this one at once with the
    process, escalation or not): the escalation thrown on the way to the call runs the
    non-interrupting event subprocess, and the call stays open."""
    deploy(owner, "escalation_event_sub.bpmn")
    instance = agent.start("vip_watch")
    assert [t["name"] for t in instance["ready_tasks"]] == ["v_call"]
    instance = agent.complete_ok(instance["ready_tasks"][0]["id"])
    assert instance["status"] == "completed"
    assert instance["data"]["vip"] is True


def test_dmn_cells_that_are_no_python_are_named_by_cell(owner, db):
    details = refused(
        upload(owner, unseen("dmn_quote_route.bpmn", "bad_rules.dmn", "quote_discount_first.dmn"))
    )
    found = by_element(details)
    assert set(found) == {"C_sn_2", "O_sb"}, details
    lines = {d["element_id"]: d["line"] for d in details}
    assert lines["C_sn_2"] == line_of('id="C_sn_2"', "bad_rules.dmn")
    assert lines["O_sb"] == line_of('id="O_sb"', "bad_rules.dmn")
    assert all(d.get("file") == "bad_rules.dmn" for d in details)
    nothing_deployed(db)


def test_the_same_process_or_decision_id_twice_in_one_deploy_is_refused(owner, db):
    bpmn = (UNSEEN / "terminate_dnc.bpmn").read_bytes()
    dmn = (UNSEEN / "quote_discount_first.dmn").read_bytes()
    details = refused(
        upload(
            owner,
            [
                ("a.bpmn", bpmn),
                ("b.bpmn", bpmn.replace(b"Call with a DNC guard", b"Another")),
                *unseen("dmn_quote_route.bpmn", "quote_band_unique.dmn"),
                ("d1.dmn", dmn),
                ("d2.dmn", dmn.replace(b"<text>15</text>", b"<text>20</text>")),
            ],
        )
    )
    found = by_element(details)
    assert set(found) == {"dnc_guard", "quote_discount"}, details
    assert "Duplicate process ID: dnc_guard, also in a.bpmn" in found["dnc_guard"]
    assert "also in d1.dmn" in found["quote_discount"]
    lines = {d["element_id"]: (d["file"], d["line"]) for d in details}
    assert lines == {"dnc_guard": ("b.bpmn", 5), "quote_discount": ("d2.dmn", 4)}
    nothing_deployed(db)


def test_one_truncated_file_in_a_bundle_names_that_file_and_line(owner, db):
    good = (UNSEEN / "dmn_quote_route.bpmn").read_bytes()
    broken = (UNSEEN / "terminate_dnc.bpmn").read_bytes()
    cut = broken[: broken.index(b'<bpmn:sequenceFlow id="d5"') + 30]
    details = refused(
        upload(
            owner,
            [
                ("route.bpmn", good),
                ("dnc.bpmn", cut),
                *unseen("quote_band_unique.dmn", "quote_discount_first.dmn"),
            ],
        )
    )
    (detail,) = details
    assert detail["file"] == "dnc.bpmn"
    assert "malformed XML" in detail["message"]
    assert detail["line"] >= cut.count(b"\n")
    nothing_deployed(db)
