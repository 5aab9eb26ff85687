"""Round 12 of unseen diagrams, continued (``test_unseen_round12.py`` has the large campaign
and the long loops): events where real telesales processes put them, written by hand as ARIS
Architect exports BPMN. An event-based gateway waiting for a message, a timer and a signal at
once inside an offer subprocess inside a loop; interrupting and non-interrupting event
subprocesses at two levels at once (message, signal, timer, error, escalation); boundary events on
call activities three levels deep (a timer, a message, an error and a non-interrupting
escalation); terminate end events inside a subprocess and a called process, each ending only
its own scope. Then the constructs Dialflow does not run as drawn, each refused at deploy on
its element and line or shown to run as drawn, and completions and messages racing in one
instance on real threads.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.models import WorkItem
from tests.engine import round12_campaign as campaign
from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

FOLDER = DiagramFolder("unseen12")


def message(actor: Actor, name: str, business_key: str, **payload: Any) -> dict[str, Any]:
    response = actor.post(
        "/api/v1/messages", json={"name": name, "business_key": business_key, "payload": payload}
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def signal(actor: Actor, name: str) -> dict[str, Any]:
    response = actor.post("/api/v1/signals", json={"name": name})
    assert response.status_code in (200, 201, 202), response.get_json()
    return response.get_json()


def waits(view: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((w["kind"], w["name"]) for w in view["waiting"])


def shown(actor: Actor, instance_id: int) -> dict[str, Any]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


OFFER_WAITS = [  # the event subprocesses' starts beside the gateway's three events
    ("error", "Offer void"),
    ("escalation", "Offer late"),
    ("message", "r12_note"),
    ("message", "r12_reply"),
    ("signal", "r12_campaign_stopped"),
    ("signal", "r12_price_change"),
    ("timer", "45 minutes without a reply"),
    ("timer", "An hour passed"),
]


# -- an event-based gateway inside a subprocess inside a loop, event subprocesses at two levels


def test_each_round_takes_whichever_event_comes_first(timed: Timed):
    FOLDER.deploy(timed.owner, "r12_offers.bpmn")
    agent = timed.agent
    view = agent.start("r12_offers", {"max_rounds": 4}, business_key="offer-1")
    assert view["status"] == "waiting", view["incidents"]
    assert waits(view) == OFFER_WAITS

    # round 1: the reply; a note meanwhile runs beside the waiting gateway
    assert message(agent, "r12_note", "offer-1")["delivered_to"] == [view["id"]]
    view = agent.instance(view["id"])
    assert (view["data"]["notes"], waits(view)) == (1, OFFER_WAITS)
    message(agent, "r12_reply", "offer-1", answer="yes")
    view = agent.instance(view["id"])
    assert (view["data"]["rounds"], view["data"]["outcomes"]) == (1, ["answered yes"])
    assert waits(view) == OFFER_WAITS  # round 2 waits for all three again

    # round 2: a reminder after 45 minutes beside the waiting gateway, then the hour passes;
    # the escalation is counted without interrupting the round
    assert timed.advance(minutes=44) == 0
    assert timed.advance(minutes=1) == 1
    view = agent.instance(view["id"])
    assert (view["data"]["rounds"], view["status"]) == (1, "waiting")
    assert ("timer", "45 minutes without a reply") not in waits(view)
    assert timed.advance(minutes=15) == 1
    view = agent.instance(view["id"])
    assert view["data"]["outcomes"] == ["answered yes", "timed out"]
    assert (view["data"]["rounds"], view["data"]["late"], view["data"]["reminders"]) == (2, 1, 1)
    assert waits(view) == OFFER_WAITS  # round 3 has its own reminder waiting

    # round 3: a void reply throws the error the offer's event subprocess takes
    message(agent, "r12_reply", "offer-1", answer="void")
    view = agent.instance(view["id"])
    assert view["data"]["outcomes"] == ["answered yes", "timed out", "void"]
    assert (view["data"]["rounds"], view["data"]["voided"]) == (3, 1)
    assert view["incidents"] == []

    # round 4: the price changes; the terminate end event ends the round, not the campaign
    assert signal(agent, "r12_price_change")["delivered_to"] == [view["id"]]
    view = agent.instance(view["id"])
    assert view["status"] == "completed", view["incidents"]
    assert view["data"]["outcomes"] == ["answered yes", "timed out", "void", "repriced"]
    assert (view["data"]["rounds"], view["data"]["notes"], view["data"]["reminders"]) == (4, 1, 1)

    elements = shown(agent, view["id"])
    assert {"oo_reply", "oo_hour", "oo_price", "oov_count", "ool_count", "on_count"} <= set(
        elements["completed"]
    )
    assert "oor_count" in elements["completed"]
    assert {"oo_terminate", "o_done", "o_back"} - set(elements["completed"]) == {"o_back"}
    assert "os_note" not in elements["completed"]
    assert elements["waiting"] == [] and elements["ready"] == []


def test_a_stopped_campaign_ends_the_round_and_the_loop_at_once(timed: Timed):
    FOLDER.deploy(timed.owner, "r12_offers.bpmn")
    agent = timed.agent
    first = agent.start("r12_offers", {"max_rounds": 5}, business_key="offer-a")
    second = agent.start("r12_offers", {"max_rounds": 5}, business_key="offer-b")
    message(agent, "r12_reply", "offer-a", answer="maybe")
    answer = signal(agent, "r12_campaign_stopped")
    assert sorted(answer["delivered_to"]) == sorted([first["id"], second["id"]])
    for instance_id, outcomes in (
        (first["id"], ["answered maybe", "stopped"]),
        (second["id"], ["stopped"]),
    ):
        view = agent.instance(instance_id)
        assert view["status"] == "completed", view["incidents"]
        assert view["data"]["outcomes"] == outcomes
        assert view["waiting"] == []
    # nothing waits any more: a late reply and a late hour reach no one
    late = agent.post("/api/v1/messages", json={"name": "r12_reply", "business_key": "offer-a"})
    assert late.status_code == 404
    assert timed.advance(hours=2) == 0


# -- boundary events on call activities three levels deep; terminate in a called process -----


def start_chain(agent: Actor, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    view = agent.start("r12_chain", {}, business_key=key)
    assert view["status"] == "running", view["incidents"]
    (quote,) = view["ready_tasks"]
    assert (quote["name"], quote["lane"]) == ("c3_quote", "agent")
    return view, quote


@pytest.mark.parametrize(
    ("form", "data", "then"),
    [
        ({"budget": 0, "discount": 0, "cancel": False}, {"no_budget": True}, None),
        ({"budget": 5, "discount": 5, "cancel": True}, {"priced": True}, None),
        ({"budget": 5, "discount": 5, "cancel": False}, {"priced": True}, "c3_confirm"),
        ({"budget": 5, "discount": 30, "cancel": False}, {"priced": True}, "both"),
    ],
    ids=["error-two-levels-up", "terminate-ends-the-called-process", "plain", "escalation"],
)
def test_what_the_deepest_called_process_ends_with_reaches_the_right_level(
    timed: Timed, form, data, then
):
    FOLDER.deploy(timed.owner, "r12_chain.bpmn")
    agent = timed.agent
    view, quote = start_chain(agent, "deal-1")
    view = agent.complete_ok(quote["id"], form)
    if then == "c3_confirm":
        (confirm,) = view["ready_tasks"]
        view = agent.complete_ok(confirm["id"], {})
    elif then == "both":  # the escalation opened the approval beside the quote's confirmation
        names = [t["name"] for t in view["ready_tasks"]]
        assert sorted(names) == ["c2_approve", "c3_confirm"]
        assert view["data"].get("priced") is None
        for task in view["ready_tasks"]:
            view = agent.complete_ok(task["id"], {})
    assert view["status"] == "completed", view["incidents"]
    for key, value in data.items():
        assert view["data"][key] == value
    assert "withdrawn" not in view["data"] and "expired" not in view["data"]
    assert timed.advance(days=2) == 0  # the expiry timer stopped with the call


def test_a_message_interrupts_the_call_two_levels_down(timed: Timed):
    FOLDER.deploy(timed.owner, "r12_chain.bpmn")
    agent = timed.agent
    view, quote = start_chain(agent, "deal-2")
    assert waits(view) == [
        ("error", "No budget"),
        ("escalation", "Deep discount"),
        ("message", "r12_withdraw"),
        ("timer", "A day passed"),
    ]
    assert message(agent, "r12_withdraw", "deal-2")["delivered_to"] == [view["id"]]
    view = agent.instance(view["id"])
    assert view["status"] == "completed", view["incidents"]
    assert view["data"]["withdrawn"] is True and "priced" not in view["data"]
    assert agent.tasks("candidate=1") == []
    assert (
        agent.complete(quote["id"], {"budget": 1, "discount": 1, "cancel": False}).status_code
        == 409
    )


def test_the_timer_on_the_outer_call_cancels_all_three_levels(timed: Timed):
    FOLDER.deploy(timed.owner, "r12_chain.bpmn")
    agent = timed.agent
    view, quote = start_chain(agent, "deal-3")
    assert timed.advance(hours=23, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    view = agent.instance(view["id"])
    assert view["status"] == "completed", view["incidents"]
    assert view["data"]["expired"] is True
    assert agent.tasks("candidate=1") == []
    assert (
        agent.complete(quote["id"], {"budget": 1, "discount": 1, "cancel": False}).status_code
        == 409
    )
    late = agent.post("/api/v1/messages", json={"name": "r12_withdraw", "business_key": "deal-3"})
    assert late.status_code == 404
    elements = shown(agent, view["id"])
    assert {"ch_expiry", "ch_expired", "ch_end_expired"} <= set(elements["completed"])
    assert "ch_end" not in elements["completed"]


# -- constructs SpiffWorkflow or Dialflow may not support: refused on the element, or run ------


def aris(body: str, before: str = "") -> bytes:
    """One executable process ``r12_construct`` as ARIS writes it, one element a line."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="ID_construct"\n'
        '    targetNamespace="http://www.ids-scheer.com/aris/bpmn" exporter="ARIS Architect">\n'
        f"{before}"
        '  <bpmn:process id="r12_construct" processType="Private" isExecutable="true">\n'
        f"{body}"
        "  </bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(
        f'    <bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>\n'
        for a, b in pairs
    )


SCRIPT = '<bpmn:scriptTask id="{}"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>\n'
HOUR = (
    '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"'
    "</bpmn:timeDuration></bpmn:timerEventDefinition>"
)
MESSAGES = '  <bpmn:message id="msg_a" name="r12_a"/>\n  <bpmn:message id="msg_b" name="r12_b"/>\n'

CANCEL_IN_SUBPROCESS = aris(
    '    <bpmn:startEvent id="s"/>\n'
    '    <bpmn:subProcess id="sp">\n'
    '      <bpmn:startEvent id="sp_s"/>\n'
    '      <bpmn:endEvent id="sp_cancel"><bpmn:cancelEventDefinition/></bpmn:endEvent>\n'
    + flows(("sp_s", "sp_cancel"))
    + "    </bpmn:subProcess>\n"
    '    <bpmn:endEvent id="e"/>\n' + flows(("s", "sp"), ("sp", "e"))
)
CANCEL_AT_TOP = aris(
    '    <bpmn:startEvent id="s"/>\n'
    '    <bpmn:endEvent id="top_cancel"><bpmn:cancelEventDefinition/></bpmn:endEvent>\n'
    + flows(("s", "top_cancel"))
)


def started_by(trigger: str) -> bytes:
    return aris(
        '    <bpmn:startEvent id="s"/>\n'
        '    <bpmn:subProcess id="sp">\n'
        f'      <bpmn:startEvent id="sp_start">{trigger}</bpmn:startEvent>\n'
        '      <bpmn:endEvent id="sp_e"/>\n'
        + flows(("sp_start", "sp_e"))
        + "    </bpmn:subProcess>\n"
        '    <bpmn:endEvent id="e"/>\n' + flows(("s", "sp"), ("sp", "e")),
        MESSAGES,
    )


def event_gateway(attributes: str, start: bool = True) -> bytes:
    return aris(
        ('    <bpmn:startEvent id="s"/>\n' if start else "")
        + f'    <bpmn:eventBasedGateway id="g" {attributes}/>\n'
        '    <bpmn:intermediateCatchEvent id="a"><bpmn:messageEventDefinition messageRef="msg_a"/>'
        "</bpmn:intermediateCatchEvent>\n"
        f'    <bpmn:intermediateCatchEvent id="t">{HOUR}</bpmn:intermediateCatchEvent>\n'
        '    <bpmn:endEvent id="e1"/>\n    <bpmn:endEvent id="e2"/>\n'
        + flows(*([("s", "g")] if start else []), ("g", "a"), ("g", "t"), ("a", "e1"), ("t", "e2")),
        MESSAGES,
    )


REFUSED = {
    "compensation": (
        aris(
            '    <bpmn:startEvent id="s"/>\n    '
            + SCRIPT.format("book")
            + '    <bpmn:boundaryEvent id="undo" attachedToRef="book">'
            "<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>\n"
            '    <bpmn:scriptTask id="unbook" isForCompensation="true"><bpmn:script>x = 0'
            "</bpmn:script></bpmn:scriptTask>\n"
            '    <bpmn:endEvent id="e"/>\n'
            + flows(("s", "book"), ("book", "e"))
            + '    <bpmn:association id="as" sourceRef="undo" targetRef="unbook"/>\n'
        ),
        "undo",
        "compensation is not supported",
    ),
    "complex-gateway": (
        aris(
            '    <bpmn:startEvent id="s"/>\n    <bpmn:complexGateway id="cg"/>\n'
            '    <bpmn:endEvent id="e"/>\n' + flows(("s", "cg"), ("cg", "e"))
        ),
        "cg",
        "complex gateways are not supported",
    ),
    "conditional-catch": (
        aris(
            '    <bpmn:startEvent id="s"/>\n'
            '    <bpmn:intermediateCatchEvent id="when"><bpmn:conditionalEventDefinition>'
            '<bpmn:condition xsi:type="bpmn:tFormalExpression">x &gt; 1</bpmn:condition>'
            "</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>\n"
            '    <bpmn:endEvent id="e"/>\n' + flows(("s", "when"), ("when", "e"))
        ),
        "when",
        "conditional events are not supported",
    ),
    "ad-hoc-subprocess": (
        aris(
            '    <bpmn:startEvent id="s"/>\n'
            '    <bpmn:adHocSubProcess id="adhoc"><bpmn:userTask id="u1"/><bpmn:userTask id="u2"/>'
            "</bpmn:adHocSubProcess>\n"
            '    <bpmn:endEvent id="e"/>\n' + flows(("s", "adhoc"), ("adhoc", "e"))
        ),
        "adhoc",
        "ad-hoc subprocesses are not supported",
    ),
    "data-store": (
        aris(
            '    <bpmn:startEvent id="s"/>\n    '
            + SCRIPT.format("a")
            + '    <bpmn:endEvent id="e"/>\n'
            '    <bpmn:dataStoreReference id="ledger_ref" dataStoreRef="ledger"/>\n'
            + flows(("s", "a"), ("a", "e")),
            '  <bpmn:dataStore id="ledger" name="Ledger"/>\n',
        ),
        "ledger_ref",
        "data stores are not supported",
    ),
    "link-out-of-a-subprocess": (
        aris(
            '    <bpmn:startEvent id="s"/>\n'
            '    <bpmn:subProcess id="sp">\n'
            '      <bpmn:startEvent id="sp_s"/>\n'
            '      <bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="out"/>'
            "</bpmn:intermediateThrowEvent>\n"
            + flows(("sp_s", "jump"))
            + "    </bpmn:subProcess>\n"
            '    <bpmn:intermediateCatchEvent id="land"><bpmn:linkEventDefinition name="out"/>'
            "</bpmn:intermediateCatchEvent>\n"
            '    <bpmn:endEvent id="e"/>\n    <bpmn:endEvent id="e2"/>\n'
            + flows(("s", "sp"), ("sp", "e"), ("land", "e2"))
        ),
        "jump",
        "no link catch event named 'out' in the same process or subprocess",
    ),
    "cancel-end-in-a-subprocess": (CANCEL_IN_SUBPROCESS, "sp_cancel", "transaction subprocess"),
    "cancel-end-in-the-process": (CANCEL_AT_TOP, "top_cancel", "transaction subprocess"),
    "message-start-in-a-subprocess": (
        started_by('<bpmn:messageEventDefinition messageRef="msg_a"/>'),
        "sp_start",
        "waited for its message as an intermediate catch event would",
    ),
    "timer-start-in-a-subprocess": (
        started_by(HOUR),
        "sp_start",
        'make it an event subprocess (triggeredByEvent="true"',
    ),
    "parallel-event-gateway": (
        event_gateway('eventGatewayType="Parallel"'),
        "g",
        'eventGatewayType="Parallel" is allowed only on an event-based gateway that starts',
    ),
    "instantiating-event-gateway": (
        event_gateway('instantiate="true" eventGatewayType="Exclusive"', start=False),
        "g",
        "draw a message (or signal, or timer) start event for each of its events",
    ),
    "terminate-boundary": (
        aris(
            '    <bpmn:startEvent id="s"/>\n    <bpmn:userTask id="u"/>\n'
            '    <bpmn:boundaryEvent id="stop" attachedToRef="u"><bpmn:terminateEventDefinition/>'
            "</bpmn:boundaryEvent>\n"
            '    <bpmn:endEvent id="e"/>\n    <bpmn:endEvent id="e2"/>\n'
            + flows(("s", "u"), ("u", "e"), ("stop", "e2"))
        ),
        "stop",
        "a boundary event catches a timer, message, signal, error or escalation",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_construct_that_would_not_run_as_drawn_is_refused_on_its_element(owner, db, case):
    """Before, the cancel end events deployed and ended as plain ones, the triggered start
    events inside a subprocess waited as intermediate catches, the parallel event-based
    gateway chose one event; the instantiating gateway was "No start event found." on the
    process, the terminate boundary event said to be about compensation."""
    content, element_id, words = REFUSED[case]
    response = upload(owner, (f"{case}.bpmn", content))
    details = refused(response)
    mine = [d for d in details if d["element_id"] == element_id]
    assert mine, details
    assert words in mine[0]["message"], mine[0]["message"]
    assert mine[0]["line"] == line_in(f'id="{element_id}"', content)
    assert "compensation" not in mine[0]["message"] or case == "compensation"
    nothing_deployed(db)


TRANSACTION = aris(
    '    <bpmn:startEvent id="s"/>\n'
    '    <bpmn:transaction id="tx" name="Book the order">\n'
    '      <bpmn:startEvent id="tx_s"/>\n'
    '      <bpmn:scriptTask id="tx_book"><bpmn:script>booked = True</bpmn:script>'
    "</bpmn:scriptTask>\n"
    '      <bpmn:exclusiveGateway id="tx_ok" default="f_tx_ok_tx_e"/>\n'
    '      <bpmn:endEvent id="tx_e"/>\n'
    '      <bpmn:endEvent id="tx_cancel"><bpmn:cancelEventDefinition/></bpmn:endEvent>\n'
    + flows(("tx_s", "tx_book"), ("tx_book", "tx_ok"), ("tx_ok", "tx_e"))
    + '      <bpmn:sequenceFlow id="to_cancel" sourceRef="tx_ok" targetRef="tx_cancel">'
    "<bpmn:conditionExpression>abort</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
    "    </bpmn:transaction>\n"
    '    <bpmn:boundaryEvent id="tx_cancelled" attachedToRef="tx">'
    "<bpmn:cancelEventDefinition/></bpmn:boundaryEvent>\n"
    '    <bpmn:scriptTask id="undo"><bpmn:script>undone = True</bpmn:script></bpmn:scriptTask>\n'
    '    <bpmn:endEvent id="e"/>\n    <bpmn:endEvent id="e_cancelled"/>\n'
    + flows(("s", "tx"), ("tx", "e"), ("tx_cancelled", "undo"), ("undo", "e_cancelled"))
)


@pytest.mark.parametrize("abort", [False, True])
def test_a_transaction_and_its_cancel_end_event_run_as_drawn(owner, agent, abort):
    response = upload(owner, ("r12_transaction.bpmn", TRANSACTION))
    assert response.status_code == 201, response.get_json()
    view = agent.start("r12_construct", {"abort": abort})
    assert view["status"] == "completed", view["incidents"]
    completed = set(shown(agent, view["id"])["completed"])
    if abort:  # the transaction is cancelled: its cancel path runs with what it had set
        assert view["data"].get("undone") is True and view["data"]["booked"] is True
        assert {"tx_cancel", "tx_cancelled", "undo", "e_cancelled"} <= completed
        assert "e" not in completed
    else:
        assert view["data"]["booked"] is True and "undone" not in view["data"]
        assert {"tx_e", "e"} <= completed and "tx_cancelled" not in completed


def test_a_receive_task_after_an_event_based_gateway_runs_as_drawn(owner, agent):
    content = aris(
        '    <bpmn:startEvent id="s"/>\n    <bpmn:eventBasedGateway id="g"/>\n'
        '    <bpmn:receiveTask id="reply" messageRef="msg_a"/>\n'
        '    <bpmn:intermediateCatchEvent id="other"><bpmn:signalEventDefinition signalRef="sg"/>'
        "</bpmn:intermediateCatchEvent>\n"
        f'    <bpmn:intermediateCatchEvent id="t">{HOUR}</bpmn:intermediateCatchEvent>\n'
        '    <bpmn:endEvent id="e1"/>\n    <bpmn:endEvent id="e2"/>\n    <bpmn:endEvent id="e3"/>\n'
        + flows(
            ("s", "g"),
            ("g", "reply"),
            ("g", "other"),
            ("g", "t"),
            ("reply", "e1"),
            ("other", "e2"),
            ("t", "e3"),
        ),
        MESSAGES + '  <bpmn:signal id="sg" name="r12_other"/>\n',
    )
    assert upload(owner, ("r12_receive.bpmn", content)).status_code == 201
    view = agent.start("r12_construct", {}, business_key="rcv-1")
    assert waits(view) == [("message", "r12_a"), ("signal", "r12_other"), ("timer", "t")]
    message(agent, "r12_a", "rcv-1", answer=42)
    view = agent.instance(view["id"])
    assert (view["status"], view["data"]["answer"], view["waiting"]) == ("completed", 42, [])
    assert {"reply", "e1"} <= set(shown(agent, view["id"])["completed"])


# -- races on real threads ----------------------------------------------------------------


def posts_together(app: Flask, requests: list[tuple[str, dict, dict]]) -> list[tuple[int, Any]]:
    """POST each ``(url, headers, body)`` from a thread of its own, released by one barrier."""
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def run(index: int, url: str, headers: dict, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(url, headers=headers, json=body)
        results[index] = (response.status_code, response.get_json())

    threads = [
        threading.Thread(target=run, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_the_kickoff_tasks_of_three_lanes_completed_at_once(app, owner, actor, db):
    """Three people complete the campaign's three parallel kickoff tasks at the same moment:
    each completion is applied once, the join runs once with what each of them entered, and
    the fourteen stages after it run once."""
    FOLDER.deploy(owner, "r12_campaign.bpmn")
    people = [
        actor("agent", username="k_agent", team="West"),
        actor("manager", username="k_manager", team="East"),
        actor("agent", username="k_east", team="East"),
    ]
    routes = ["deep"] * campaign.STAGES
    view = people[0].start("r12_campaign", {"routes": routes, "extras": [], "skip": []})
    tasks = view["ready_tasks"]
    assert [t["name"] for t in tasks] == ["c_brief_agents", "c_approve_budget", "c_prepare_list"]
    results = posts_together(
        app,
        [
            (f"/api/v1/tasks/{task['id']}/complete", person.headers, {"data": {person.username: 1}})
            for task, person in zip(tasks, people, strict=True)
        ],
    )
    assert [status for status, _ in results] == [200, 200, 200], results
    final = people[0].instance(view["id"])
    assert final["status"] == "running", final["incidents"]
    (review,) = final["ready_tasks"]
    assert review["name"] == "s03_review"
    assert {p.username for p in people} <= set(final["data"])
    assert (final["data"]["s03_path"], final["data"]["s01_b1"]) == ("deep", 3)
    with db() as session:
        opened = session.scalar(
            select(func.count()).where(
                WorkItem.instance_id == view["id"], WorkItem.element_id == "s03_review"
            )
        )
    assert opened == 1


def test_two_messages_to_one_waiting_round_at_once(timed: Timed):
    """A reply and a note reach the offer round at the same moment, then two replies: each
    is delivered once, in some order; the round takes the first reply and the next round the
    second, the note counted beside them."""
    FOLDER.deploy(timed.owner, "r12_offers.bpmn")
    agent = timed.agent
    view = agent.start("r12_offers", {"max_rounds": 3}, business_key="race-1")
    url = "/api/v1/messages"
    reply = {"name": "r12_reply", "business_key": "race-1", "payload": {"answer": "a"}}
    note = {"name": "r12_note", "business_key": "race-1", "payload": {}}
    first = posts_together(timed.app, [(url, agent.headers, reply), (url, agent.headers, note)])
    assert [status for status, _ in first] == [202, 202], first
    assert all(body["delivered_to"] == [view["id"]] for _, body in first)
    second = posts_together(
        timed.app,
        [
            (url, agent.headers, {**reply, "payload": {"answer": "b"}}),
            (url, agent.headers, {**reply, "payload": {"answer": "c"}}),
        ],
    )
    assert [status for status, _ in second] == [202, 202], second
    view = agent.instance(view["id"])
    assert view["status"] == "completed", view["incidents"]
    assert (view["data"]["rounds"], view["data"]["notes"]) == (3, 1)
    outcomes = view["data"]["outcomes"]
    assert outcomes[0] == "answered a" and sorted(outcomes[1:]) == ["answered b", "answered c"]


def test_tasks_of_a_caller_and_its_called_process_completed_at_once(timed: Timed):
    """The deep discount's approval (in the process two levels down) and the quote's
    confirmation (three levels down) are completed at the same moment: both apply once and
    the chain completes."""
    FOLDER.deploy(timed.owner, "r12_chain.bpmn")
    agent = timed.agent
    view, quote = start_chain(agent, "deal-race")
    view = agent.complete_ok(quote["id"], {"budget": 5, "discount": 30, "cancel": False})
    tasks = sorted(view["ready_tasks"], key=lambda t: t["name"])
    assert [t["name"] for t in tasks] == ["c2_approve", "c3_confirm"]
    results = posts_together(
        timed.app,
        [
            (f"/api/v1/tasks/{task['id']}/complete", agent.headers, {"data": {task["name"]: 1}})
            for task in tasks
        ],
    )
    assert [status for status, _ in results] == [200, 200], results
    view = agent.instance(view["id"])
    assert view["status"] == "completed", view["incidents"]
    assert (view["data"]["priced"], view["data"]["c3_confirm"]) == (True, 1)
