"""Round 27: hand-written diagrams mixing features, as a tester writes them quickly (no layout,
``bpmn2:`` or default namespace, ``tFormalExpression`` with and without ``language``, several
``scriptFormat`` spellings, DMN 1.1 to 1.5), run through the API by actors of two lanes."""

from __future__ import annotations

import threading
from typing import Any

from crm.customers import create_customer
from tests.engine.conftest import Timed, notes_of, only, post_together, refused
from tests.engine.diagram_folders import DiagramFolder, upload

ROUND27 = DiagramFolder("round27")
diagram, edited, deploy = ROUND27.read, ROUND27.edited, ROUND27.deploy


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Wang Fang", "phones": ["+8613900139001"]}, actor=None
        ).id


def complete_together(app: Any, work: list[tuple[dict[str, Any], Any]]) -> list[Any]:
    """Each ``(task, actor)`` completed from its own thread, released by one barrier."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int, task: dict[str, Any], who: Any) -> None:
        client = app.test_client()
        barrier.wait()
        url = f"/api/v1/tasks/{task['id']}/complete"
        response = client.post(url, headers=who.headers, json={"data": {}})
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *pair)) for i, pair in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def names(tasks: list[dict[str, Any]]) -> list[str]:
    return sorted(task["name"] for task in tasks)


def test_a_failing_note_two_levels_down_is_caught_beside_a_manager_review(timed: Timed):
    owner, agent = timed.owner, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    db = timed.runtime.db.unit_of_work
    deploy(owner, "error_two_levels.bpmn")
    started = agent.start("r27_review", {"customer_id": 999999, "note_text": "hello"})
    assert names(agent.tasks()) == ["prepare"]
    assert names(boss.tasks()) == ["review"]
    prepare = only(agent.tasks())
    assert boss.complete(prepare["id"], {}).status_code == 403
    view = agent.complete_ok(prepare["id"], {})
    assert view["incidents"] == []
    assert view["data"]["error_code"] == "customer_not_found"
    fix = only(agent.tasks())
    assert fix["name"] == "fix_customer"
    review = only(boss.tasks())
    assert agent.complete(review["id"], {}).status_code == 403
    agent.complete_ok(fix["id"], {})
    done = boss.complete_ok(review["id"], {})
    assert done["status"] == "completed"
    assert agent.instance(started["id"])["status"] == "completed"

    cid = customer(db)
    good = agent.start("r27_review", {"customer_id": cid, "note_text": "fine"})
    agent.complete_ok(only(agent.tasks())["id"], {})
    assert agent.tasks() == []
    finished = boss.complete_ok(only(boss.tasks())["id"], {})
    assert finished["status"] == "completed", finished
    assert notes_of(db, cid) == ["fine"]
    assert "error_code" not in agent.instance(good["id"])["data"]


def test_a_soft_escalation_leaves_the_talk_open_a_hard_one_takes_it_over(timed: Timed):
    owner, agent = timed.owner, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    deploy(owner, "escalations.bpmn")
    started = agent.start("r27_escalations", {"angry": False})
    assert names(started["ready_tasks"]) == ["soft_look", "talk"]
    talk = only(agent.tasks())
    look = only(boss.tasks())
    assert (talk["name"], look["name"]) == ("talk", "soft_look")
    assert boss.complete(talk["id"], {}).status_code == 403
    view = agent.complete_ok(talk["id"], {"angry": True})
    assert names(view["ready_tasks"]) == ["soft_look", "take_over"]
    assert agent.tasks() == []
    assert names(boss.tasks()) == ["soft_look", "take_over"]
    for task in boss.tasks():
        last = boss.complete_ok(task["id"], {})
    assert last["status"] == "completed"


DMN = ("dmn_per_lead.bpmn", "lead_offers.dmn", "lead_tier.dmn", "lead_channel.dmn")


def test_collect_unique_and_any_decisions_route_each_lead_of_a_multi_instance(owner, agent):
    deploy(owner, *DMN)
    leads = [
        {"budget": 5000, "source": "web"},
        {"budget": 300, "source": "fair"},
        {"budget": 50, "source": "phone"},
    ]
    done = agent.start("r27_dmn_per_lead", {"leads": leads})
    assert done["status"] == "completed", [i["message"] for i in done["incidents"]]
    assert done["data"]["routed"] == [
        {"to": "manager", "offer": ["gold", "silver"], "rebate": [10, 5], "channel": "call"},
        {"to": "nurture", "offer": ["silver"], "rebate": [5], "channel": "call"},
        {"to": "nurture", "offer": [], "rebate": [], "channel": None},
    ]


def test_an_inclusive_fan_skips_branches_then_the_first_of_two_errors_is_caught(timed: Timed):
    owner, agent = timed.owner, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    deploy(owner, "inclusive_then_errors.bpmn")
    started = agent.start("r27_inclusive_errors", {"channels": ["sms", "letter"]})
    data = started["data"]
    assert (data.get("done_sms"), data.get("done_letter")) == (True, True)
    assert "done_mail" not in data and "done_none" not in data
    clean = only(started["ready_tasks"])
    assert clean["name"] == "clean_up"
    assert agent.tasks() == []
    assert agent.complete(clean["id"], {}).status_code == 403
    done = boss.complete_ok(only(boss.tasks())["id"], {})
    assert (done["status"], done["ready_tasks"]) == ("completed", [])

    nothing = agent.start("r27_inclusive_errors", {"channels": []})
    assert nothing["data"]["done_none"] is True
    assert [k for k in nothing["data"] if k.startswith("done_")] == ["done_none"]


def test_a_called_process_s_lanes_offer_its_tasks_and_it_must_be_deployed_first(timed: Timed):
    owner, agent = timed.owner, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    details = refused(upload(owner, ("caller.bpmn", diagram("caller_in_manager_lane.bpmn"))))
    (detail,) = details
    assert detail["element_id"] == "callee" and "r27_callee" in detail["message"], details
    deploy(owner, "callee_with_lanes.bpmn")
    deploy(owner, "caller_in_manager_lane.bpmn")
    started = agent.start("r27_caller")
    approve = only(started["ready_tasks"])
    assert agent.complete(approve["id"], {}).status_code == 403
    view = boss.complete_ok(approve["id"], {})
    call_back = only(view["ready_tasks"])
    assert (call_back["name"], call_back["lane"]) == ("call_back", "agent")
    assert boss.complete(call_back["id"], {}).status_code == 403
    assert agent.complete_ok(call_back["id"], {})["status"] == "completed"


def test_a_call_loop_counts_attempts_and_a_late_call_is_chased_by_the_manager(timed: Timed):
    owner, agent = timed.owner, timed.agent
    boss = timed.actor("manager", username="boss", team="East")
    deploy(owner, "call_loop_timer.bpmn")
    started = agent.start("r27_call_loop")
    for attempt in (1, 2):
        call = only(agent.tasks())
        assert boss.complete(call["id"], {"reached": False}).status_code == 403
        view = agent.complete_ok(call["id"], {"reached": False})
        assert view["data"]["attempts"] == attempt
    assert timed.advance(hours=2) == 1
    assert agent.tasks() == []
    chase = only(boss.tasks())
    assert chase["name"] == "chase"
    assert agent.complete(chase["id"], {}).status_code == 403
    view = boss.complete_ok(chase["id"], {})
    call = only(agent.tasks())
    done = agent.complete_ok(call["id"], {"reached": False})
    assert (done["status"], done["data"]["attempts"]) == ("completed", 3)
    assert agent.instance(started["id"])["waiting"] == []


def test_parallel_completions_in_two_lanes_and_one_task_completed_twice(app, owner, agent, actor):
    """The talk inside the subprocess and the manager's look beside it, completed at the same
    moment (both done, the instance completes once); then one talk completed by two agents."""
    boss = actor("manager", username="boss", team="East")
    colleague = actor("agent", username="agent_east2", team="East")
    deploy(owner, "escalations.bpmn")
    started = agent.start("r27_escalations", {"angry": False})
    talk, look = only(agent.tasks()), only(boss.tasks())
    raced = complete_together(app, [(talk, agent), (look, boss)])
    assert sorted(status for status, _ in raced) == [200, 200], raced
    view = agent.instance(started["id"])
    assert (view["status"], view["ready_tasks"]) == ("completed", [])

    again = agent.start("r27_escalations", {"angry": False})
    talk = only(agent.tasks())
    results = post_together(
        app,
        f"/api/v1/tasks/{talk['id']}/complete",
        [(agent.headers, {"data": {}}), (colleague.headers, {"data": {}})],
    )
    assert sorted(status for status, _ in results) == [200, 409], results
    assert agent.tasks() == []
    assert only(boss.tasks())["name"] == "soft_look"
    assert agent.instance(again["id"])["status"] != "error"


def test_a_unique_or_any_table_broken_by_an_edit_is_an_incident_naming_the_task(owner, agent):
    """Overlapping UNIQUE rules and ANY rules that disagree (DMN 1.5 and 1.1 files): an
    incident on the business rule task inside the multi-instance, named by its id when it has
    no name (SpiffWorkflow's note said ``Business Rule Task 'None'``)."""
    tier = edited("lead_tier.dmn", ("<text>[100..1000)</text>", "<text>[100..2000)</text>"))
    channel = edited("lead_channel.dmn", ('a2o"><text>"call"', 'a2o"><text>"mail"'))
    files = [(name, diagram(name)) for name in DMN[:2]]
    sent = upload(owner, *files, ("lead_tier.dmn", tier), ("lead_channel.dmn", channel))
    assert sent.status_code == 201, sent.get_json()
    for lead, element in (
        ({"budget": 1500, "source": "fair"}, "tier"),
        ({"budget": 50, "source": "web"}, "channel"),
    ):
        failed = agent.start("r27_dmn_per_lead", {"leads": [lead]})
        (incident,) = failed["incidents"]
        assert (failed["status"], incident["element_id"]) == ("error", element)
        assert incident["message"].endswith(f"Business Rule Task '{element}'."), incident
