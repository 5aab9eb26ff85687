"""A twelfth round of unseen diagrams: scale and shape rather than tool style, written by hand
(and the largest by ``round12_campaign.py``, kept beside this module) as ARIS Architect exports
BPMN: ``bpmn:`` prefix, ``processType="Private"``, lane sets listing every node, documentation
on the process, no diagram interchange. A campaign of 313 flow nodes and 365 flows in
15 lanes: fourteen stages of exclusive choices around parallel splits holding nested exclusive
and inclusive splits, an embedded subprocess five levels deep and call activities eight deep,
run end to end with its inbox, instance view, state size and step times checked; loops that
run many times (a callback cycle of 200 attempts through a timer and a user task, an inclusive
split and join inside a loop that turns several times in one step, a multi-instance over 100
contacts in every round). The events, refusals and races of this round are in
``test_unseen_round12_events.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ProcessInstance, WorkItem, WorkItemStatus
from tests.conftest import sign_in
from tests.engine import round12_campaign as campaign
from tests.engine.conftest import Actor, Timed
from tests.engine.diagram_folders import DiagramFolder, upload

FOLDER = DiagramFolder("unseen12")
ROUTES = ["short" if s % 4 == 0 else "deep" for s in range(1, campaign.STAGES + 1)]


def state_size(db: Callable[..., Any], instance_id: int) -> int:
    with db() as session:
        return session.scalar(
            select(func.length(ProcessInstance.state)).where(ProcessInstance.id == instance_id)
        )


def elements(actor: Actor, instance_id: int) -> dict[str, Any]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- the campaign: 313 flow nodes, 14 stages, subprocesses 5 deep, call activities 8 deep ------


def test_the_campaign_file_is_what_its_script_writes():
    assert FOLDER.read("r12_campaign.bpmn").decode() == campaign.campaign_xml()


@pytest.fixture
def people(actor: Callable[..., Actor]) -> dict[str, Actor]:
    """Who works each lane of the campaign: a role or a team."""
    return {
        "group:agent": actor("agent", username="c_agent", team="East"),
        "group:manager": actor("manager", username="c_manager", team="East"),
        "group:director": actor("director", username="c_director", team="East"),
        "group:East": actor("agent", username="c_east", team="East"),
        "group:West": actor("agent", username="c_west", team="West"),
    }


def test_a_campaign_of_three_hundred_elements_runs_end_to_end(owner, people, db, capsys):
    """Every step of the campaign is timed and its stored state measured (printed)."""
    timings: list[tuple[str, float, int]] = []
    started = time.perf_counter()
    deployed = FOLDER.deploy(owner, "r12_campaign.bpmn")
    timings.append(("deploy", time.perf_counter() - started, 0))
    assert deployed["process_ids"] == ["r12_campaign"] + [f"r12_level{n}" for n in range(1, 9)]
    assert deployed["warnings"] == []
    agent = people["group:agent"]
    data = {"routes": ROUTES, "extras": [1, 2, 5], "skip": [4], "go_deeper": True}
    started = time.perf_counter()
    view = agent.start("r12_campaign", data)
    timings.append(("start", time.perf_counter() - started, state_size(db, view["id"])))

    # the kickoff: three tasks in three lanes at once, in the order the flows are drawn
    assert [(t["name"], t["lane"], t["candidates"]) for t in view["ready_tasks"]] == [
        ("c_brief_agents", "agent", ["group:agent"]),
        ("c_approve_budget", "manager", ["group:manager"]),
        ("c_prepare_list", "East", ["group:East"]),
    ]
    # each inbox in the order of the flows: by role, and by team (the manager is in East)
    inbox = {
        key: [t["name"] for t in person.tasks("candidate=1")] for key, person in people.items()
    }
    assert inbox == {
        "group:agent": ["c_brief_agents", "c_prepare_list"],
        "group:manager": ["c_approve_budget", "c_prepare_list"],
        "group:director": ["c_prepare_list"],
        "group:East": ["c_brief_agents", "c_prepare_list"],
        "group:West": ["c_brief_agents"],
    }

    expected = [
        ("c_brief_agents", "agent"),
        ("c_approve_budget", "manager"),
        ("c_prepare_list", "East"),
        ("s03_review", "agent"),
        ("s06_review", "manager"),
        ("s09_review", "director"),
        ("s12_review", "West"),
        ("sub5_confirm", "West"),  # sub3's own lane set puts sub4 (and what is in it) there
        ("l8_sign", "East"),  # the lane of the deepest called process
    ]
    done = []
    while view["ready_tasks"]:
        task = view["ready_tasks"][0]
        (candidate,) = task["candidates"]
        person = people[candidate]
        assert task["id"] in [t["id"] for t in person.tasks("candidate=1")]
        started = time.perf_counter()
        response = person.complete(task["id"], {})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_json()
        view = response.get_json()
        assert view["incidents"] == []
        timings.append((task["name"], elapsed, state_size(db, view["id"])))
        done.append((task["name"], task["lane"]))
    assert done == expected
    assert view["status"] == "completed"
    data = view["data"]
    assert (data["levels"], data["finished"], data["depth_reached"]) == (list(range(1, 9)), 8, 5)
    for s, route in enumerate(ROUTES, 1):
        p = f"s{s:02d}"
        assert data[f"{p}_path"] == route
        if route == "deep":
            assert (data[f"{p}_b1"], data[f"{p}_b3"], data[f"{p}_b2"]) == (3, 2, ["a", "d"])
            # exclusive on odd stages: the left path only for the extras; inclusive on even
            # ones: the left path for the extras, the right one unless skipped
            assert data.get(f"{p}_left") is ((s in (1, 2, 5)) or None)
            right = s not in (1, 5) if s % 2 else s != 4
            assert data.get(f"{p}_right") is (right or None)
        else:
            assert f"{p}_b1" not in data

    shown = elements(agent, view["id"])
    assert (shown["ready"], shown["waiting"], shown["error"]) == ([], [], [])
    completed = set(shown["completed"])
    assert {"c_start", "c_end", "c_levels", "c_wrap", "sub1", "sub5", "sub5_confirm"} <= completed
    assert {"s04_short", "s08_short", "s12_short"} <= completed
    assert not {"s04_fork", "s04_b1a", "s08_deep", "s01_short"} & completed
    assert {"s02_b2b", "s02_b2c", "s01_b2b", "s04_short"} <= completed
    assert "s03_b2b" not in completed and "s04_b2b" not in completed
    assert {"s01_route__s01_fork", "s04_route__s04_short", "c_wrap__c_end"} <= set(shown["flows"])

    with capsys.disabled():
        print(
            "\ncampaign (313 flow nodes): "
            + ", ".join(
                f"{name} {seconds * 1000:.0f} ms/{size:,} B" for name, seconds, size in timings
            )
        )
    slowest = max(seconds for name, seconds, _ in timings if name != "deploy")
    assert slowest < 2.0, timings
    # the state holds the workflows of the subprocesses and called processes under way only:
    # the finished ones stayed (5 KB each, 60 KB once the campaign had completed)
    sizes = dict((name, size) for name, _, size in timings)
    assert sizes["l8_sign"] < 8_000, timings  # completed
    assert sizes["sub5_confirm"] < 40_000, timings  # in the deepest level, 8 workflows


# -- loops that run many times -------------------------------------------------------------


def expected_round(round_: int, tries: int, evens: int) -> tuple[int, int]:
    """The dialler's inner loop as drawn: each turn adds a try, and an even count before it
    a second branch; it turns until three tries a round."""
    while True:
        if tries % 2 == 0:
            evens += 1
        tries += 1
        if tries >= round_ * 3:
            return tries, evens


def test_an_inclusive_join_in_a_loop_and_a_hundred_contacts_every_round(owner, actor, db):
    """The dialler's inclusive split and join turn three times within each step: SpiffWorkflow
    counted the arrivals of the earlier turns, fired the join on the first branch and ran the
    rest of the turn twice (27 even tries counted in the first round, not 2), or failed with
    "'NoneType' object has no attribute 'state'" on no element. The scoring over 100 contacts
    failed its second round ("the output must be empty"), and its 100 finished instances stayed
    in the state while the review waited (49 KB)."""
    FOLDER.deploy(owner, "r12_rounds.bpmn")
    agent = actor("agent", username="r_agent")
    manager = actor("manager", username="r_manager")
    contacts = list(range(1, 101))
    view = agent.start("r12_rounds", {"contacts": contacts, "rounds": 6, "wants_email": False})
    tries = evens = 0
    sizes = []
    for round_ in range(1, 7):
        assert view["status"] == "running", [i["message"] for i in view["incidents"]]
        (review,) = view["ready_tasks"]
        assert (review["name"], review["candidates"]) == ("r_review", ["group:manager"])
        data = view["data"]
        tries, evens = expected_round(round_, tries, evens)
        assert (data["round"], data["tries"], data["evens"]) == (round_, tries, evens)
        assert data["called"] == round_ and "emailed" not in data
        assert data.get("texted") == (round_ if round_ % 2 == 0 else (round_ - 1 or None))
        assert data["scores"] == [c * round_ for c in contacts]
        sizes.append(state_size(db, view["id"]))
        view = manager.complete_ok(review["id"], {})
    assert view["status"] == "completed", view["incidents"]
    # bounded, and without the 100 finished instances of the scoring (45 KB, kept until the
    # review was done)
    assert sizes[-1] < sizes[1] * 1.5, sizes
    assert max(sizes) < 15_000, sizes
    shown = elements(agent, view["id"])
    assert {"r_dial_a", "r_dial_b", "r_dialled", "r_score", "r_sms", "r_end"} <= set(
        shown["completed"]
    )
    assert {"r_again_back", "r_more_back", "r_to_sms", "r_to_b"} <= set(shown["flows"])
    assert "r_email" not in shown["completed"]


@pytest.mark.slow
def test_a_callback_cycle_of_two_hundred_attempts(timed: Timed, make_user, capsys):
    FOLDER.deploy(timed.owner, "r12_callbacks.bpmn")
    agent = timed.agent
    view = agent.start("r12_callbacks", {"limit": 200})
    db = timed.runtime.db.unit_of_work
    sizes: dict[int, int] = {}
    started = time.perf_counter()
    for attempt in range(1, 201):
        (dial,) = view["ready_tasks"]
        assert dial["name"] == "cb_dial"
        view = agent.complete_ok(dial["id"], {"outcome": "no_answer"})
        if attempt == 200:
            break
        assert view["status"] == "waiting", (attempt, view["incidents"])
        (wait,) = view["waiting"]
        assert (wait["kind"], wait["name"]) == ("timer", "Callback in two hours")
        assert timed.advance(hours=1, minutes=59) == 0  # not due yet
        assert timed.advance(minutes=1) == 1
        view = agent.instance(view["id"])
        sizes[attempt] = state_size(db, view["id"])
    elapsed = time.perf_counter() - started
    assert view["status"] == "completed", view["incidents"]
    assert view["data"]["attempts"] == 200
    assert sizes[200 - 1] <= sizes[10] + 200, (sizes[10], sizes[199])

    shown = elements(agent, view["id"])
    assert {"cb_dial", "cb_wait", "cb_gave_up"} <= set(shown["completed"])
    assert "cb_reached" not in shown["completed"]
    assert {"cb_back", "cb_to_wait", "cb_to_gave_up"} <= set(shown["flows"])
    with db() as session:
        done = session.scalar(
            select(func.count()).where(
                WorkItem.instance_id == view["id"], WorkItem.status == WorkItemStatus.COMPLETED
            )
        )
    assert done == 200
    # the instance page's history lists every attempt
    make_user("manager", username="cb_watcher", password="secret-pass-123")
    client = timed.app.test_client()
    assert sign_in(client, "cb_watcher", "secret-pass-123").status_code == 302
    page = client.get(f"/process-instances/{view['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.text.count("Completed “Dial the customer”") == 200
    with capsys.disabled():
        print(
            f"\ncallback cycle, 200 attempts in {elapsed:.1f} s: state {sizes[10]:,} B at "
            f"attempt 10, {sizes[199]:,} B at attempt 199"
        )


def mi_in_a_loop(sequential: bool, cardinality: bool) -> bytes:
    """A multi-instance script task writing ``results`` in each pass of a loop of a review."""
    items = (
        '<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">3</bpmn:loopCardinality>'
        if cardinality
        else "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>"
    )
    item = "" if cardinality else '<bpmn:inputDataItem id="item" name="item"/>'
    value = "(pass_no, 1)" if cardinality else "(pass_no, item)"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="ID_mi" targetNamespace="t">
  <bpmn:process id="r12_mi_loop" processType="Private" isExecutable="true">
    <bpmn:startEvent id="m_start"/>
    <bpmn:scriptTask id="m_init"><bpmn:script>pass_no = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="m_next"/>
    <bpmn:scriptTask id="m_open"><bpmn:script>pass_no = pass_no + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="m_each">
      <bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}">
        {items}<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>{item}
        <bpmn:outputDataItem id="result" name="result"/>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>result = {value}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="m_review"/>
    <bpmn:exclusiveGateway id="m_more" default="m_done"/>
    <bpmn:endEvent id="m_end"/>
    <bpmn:sequenceFlow id="m_f1" sourceRef="m_start" targetRef="m_init"/>
    <bpmn:sequenceFlow id="m_f2" sourceRef="m_init" targetRef="m_next"/>
    <bpmn:sequenceFlow id="m_f3" sourceRef="m_next" targetRef="m_open"/>
    <bpmn:sequenceFlow id="m_f4" sourceRef="m_open" targetRef="m_each"/>
    <bpmn:sequenceFlow id="m_f5" sourceRef="m_each" targetRef="m_review"/>
    <bpmn:sequenceFlow id="m_f6" sourceRef="m_review" targetRef="m_more"/>
    <bpmn:sequenceFlow id="m_back" sourceRef="m_more" targetRef="m_next">
      <bpmn:conditionExpression>pass_no &lt; 3</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="m_done" sourceRef="m_more" targetRef="m_end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
@pytest.mark.parametrize("cardinality", [False, True], ids=["items", "cardinality"])
def test_a_multi_instance_activity_in_a_loop_writes_its_outputs_anew(
    owner, agent, sequential, cardinality
):
    """SpiffWorkflow 3.2 failed the second pass: a list output collection left by the first
    ("the output must be empty"), or, with a cardinality, ``NameError: data_ouput``."""
    response = upload(owner, ("r12_mi_loop.bpmn", mi_in_a_loop(sequential, cardinality)))
    assert response.status_code == 201, response.get_json()
    view = agent.start("r12_mi_loop", {"items": ["a", "b", "c"]})
    for pass_no in (1, 2, 3):
        assert view["status"] == "running", [i["message"] for i in view["incidents"]]
        values = [1, 1, 1] if cardinality else ["a", "b", "c"]
        assert view["data"]["results"] == [[pass_no, value] for value in values]
        (review,) = view["ready_tasks"]
        view = agent.complete_ok(review["id"], {})
    assert view["status"] == "completed", view["incidents"]
