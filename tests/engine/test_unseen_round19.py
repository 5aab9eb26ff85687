"""A nineteenth round of unseen diagrams: the less common BPMN constructs of real telesales
processes, drawn in Signavio's style (default namespace, ``sid-`` ids, Signavio metadata),
bpmn.io's (``bpmn:`` prefix, generated ids, incoming/outgoing lists, diagram layout) and by
hand (default namespace, no layout). What runs is run end to end through the API: a contract
signing transaction cancelled while the invoice is being prepared, a call list worked by every
agent until three reached the customer, reminder texts and calls in standard loops with a
condition and a maximum, a long lead follow-up split into pages by link events with an
inclusive join after nested branches, and signal boundary events on the negotiation. What
Dialflow does not run (compensation, conditional events, complex gateways, ad-hoc
subprocesses, data stores, an event subprocess on a repeating timer) is refused at deploy on
its element and line with what to draw instead, nothing deployed; so are the mistakes made
around transactions, links and loops. Where a refusal says how to redraw (reminders on a
cycle timer boundary event, a transaction per signer in a multi-instance subprocess), the
redrawn diagram runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Actor, notes_of, one_process, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

UNSEEN19 = DiagramFolder("unseen19")
diagram, edited, deploy = UNSEEN19.read, UNSEEN19.edited, UNSEEN19.deploy


def elements(actor: Actor, instance_id: int) -> dict[str, Any]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def open_tasks(view: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in view["ready_tasks"])


def task_named_first(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(task for task in view["ready_tasks"] if task["name"] == name)


def task_named(view: dict[str, Any], name: str) -> dict[str, Any]:
    (task,) = [task for task in view["ready_tasks"] if task["name"] == name]
    return task


# -- contract signing (bpmn.io): a transaction with a cancel end event -------------------------

SIGNING = "bpmnio_contract_signing.bpmn"


def test_a_signed_contract_and_its_invoice_go_on_to_delivery(owner, agent, make_customer, db):
    deploy(owner, SIGNING)
    customer = make_customer()
    started = agent.start("r19_contract_signing", {"customer_id": customer.id})
    assert open_tasks(started) == ["Activity_0invoice", "Activity_0send"]
    after = agent.complete_ok(task_named(started, "Activity_0send")["id"])
    after = agent.complete_ok(task_named(after, "Activity_1answer")["id"], {"signed": True})
    assert open_tasks(after) == ["Activity_0invoice"]  # the transaction waits for the invoice
    after = agent.complete_ok(task_named(after, "Activity_0invoice")["id"], {"invoice": "F-19"})
    assert open_tasks(after) == ["Activity_1handover"]
    done = agent.complete_ok(after["ready_tasks"][0]["id"])
    assert (done["status"], done["data"]["invoice"]) == ("completed", "F-19")
    shown = elements(agent, started["id"])
    assert "Event_1cancelled" not in shown["completed"]
    assert notes_of(db, customer.id) == []


def test_a_refused_contract_cancels_the_transaction_and_takes_the_cancel_path(
    owner, agent, make_customer, db
):
    """The customer refuses while the invoice is still being prepared: the cancel end event
    cancels the whole transaction (the invoice task leaves the inbox), and the path of the
    cancel boundary event runs, not the one after the transaction."""
    deploy(owner, SIGNING)
    customer = make_customer()
    started = agent.start("r19_contract_signing", {"customer_id": customer.id})
    invoice = task_named(started, "Activity_0invoice")
    after = agent.complete_ok(task_named(started, "Activity_0send")["id"])
    done = agent.complete_ok(
        task_named(after, "Activity_1answer")["id"], {"signed": False, "reason": "too dear"}
    )
    assert done["incidents"] == []  # the note quotes the reason the agent recorded
    assert (done["status"], done["ready_tasks"]) == ("completed", [])
    assert agent.tasks() == []
    assert agent.complete(invoice["id"], {"invoice": "F-20"}).status_code in (404, 409)
    assert notes_of(db, customer.id) == ["Contract refused: too dear"]
    shown = elements(agent, started["id"])
    assert {"Event_0refused", "Event_1cancelled", "Activity_0note", "Event_0lost"} <= set(
        shown["completed"]
    )
    assert not {"Activity_0invoice", "Activity_1handover", "Event_0won"} & set(shown["completed"])


# -- the call list (Signavio): a multi-instance with a completion condition --------------------

CALLERS = ["li", "wang", "zhao", "qian", "sun"]


@pytest.fixture
def callers(actor) -> dict[str, Actor]:
    return {name: actor("agent", username=name) for name in CALLERS}


def call_list(owner: Actor, agent: Actor) -> dict[str, Any]:
    deploy(owner, "signavio_call_list.bpmn")
    return agent.start("r19_call_list", {"callers": CALLERS})


def my_call(caller: Actor) -> dict[str, Any]:
    (task,) = caller.tasks()
    assert task["name"] == "sid-CL-CALL"
    return task


def test_each_agent_on_the_call_list_gets_a_call_and_three_reached_are_enough(
    owner, agent, callers
):
    started = call_list(owner, agent)
    assert len(started["ready_tasks"]) == 5
    for name in ("sun", "li", "qian"):  # sun and qian reach the customer, li does not
        callers[name].complete_ok(my_call(callers[name])["id"], {"reached": name != "li"})
    assert [len(callers[name].tasks()) for name in ("wang", "zhao")] == [1, 1]
    # three reached: zhao's call is no longer needed, the outputs stand in the list's order
    zhaos_call = my_call(callers["zhao"])
    after = callers["wang"].complete_ok(my_call(callers["wang"])["id"], {"reached": True})
    assert [task["name"] for task in callers["zhao"].tasks()] == ["sid-CL-BOOK"]
    assert callers["zhao"].complete(zhaos_call["id"], {"reached": True}).status_code in (404, 409)
    assert after["data"]["reached_by"] == [False, True, True, True]
    assert open_tasks(after) == ["sid-CL-BOOK"]
    assert "caller" not in after["data"] and "reached" not in after["data"]


def test_a_call_list_with_fewer_than_three_reached_marks_the_customer_unreachable(
    owner, agent, callers
):
    started = call_list(owner, agent)
    for index, name in enumerate(CALLERS):
        after = callers[name].complete_ok(my_call(callers[name])["id"], {"reached": index < 2})
    assert after["id"] == started["id"]
    assert (after["status"], after["data"]["status"]) == ("completed", "unreachable")
    assert after["data"]["reached_by"] == [True, True, False, False, False]


# -- reminder texts and calls (Signavio): standard loops with a condition and a maximum --------


@pytest.mark.parametrize(
    ("wanted", "answers", "texts", "note"),
    [
        (0, [True], 0, "Reached on call 1 after 0 texts"),  # tested before: no text at all
        (2, [False, True], 2, "Reached on call 2 after 2 texts"),
        (9, [False, False, False], 4, "Not reached in 3 calls after 4 texts"),  # both maxima
    ],
)
def test_the_loops_run_while_their_condition_holds_and_no_more_than_their_maximum(
    owner, agent, make_customer, db, wanted, answers, texts, note
):
    deploy(owner, "signavio_callback_loop.bpmn")
    customer = make_customer()
    view = agent.start(
        "r19_callback_loop",
        {"customer_id": customer.id, "texts_wanted": wanted, "texts_sent": 0, "attempts": 0},
    )
    assert view["data"]["texts_sent"] == texts
    for answer in answers:
        (call,) = view["ready_tasks"]
        assert call["name"] == "sid-CB-CALL"
        view = agent.complete_ok(call["id"], {"reached": answer})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert view["data"]["attempts"] == len(answers)
    assert notes_of(db, customer.id) == [note]


# -- the lead's pages (bpmn.io): link events, an inclusive join after nested branches, signals -


def lead(owner: Actor, agent: Actor, **qualified: Any) -> dict[str, Any]:
    deploy(owner, "bpmnio_lead_pages.bpmn")
    started = agent.start("r19_lead_pages", {"seats": 10})
    (qualify,) = started["ready_tasks"]
    assert qualify["name"] == "Activity_0qualify"
    return agent.complete_ok(qualify["id"], qualified)


def test_a_lead_not_interested_jumps_to_the_closing_page(owner, agent):
    done = lead(owner, agent, interested=False)
    assert (done["status"], done["data"]["outcome"]) == ("completed", "not interested")
    shown = elements(agent, done["id"])
    assert {"Event_1toclose", "Event_0fromclose", "Activity_0close"} <= set(shown["completed"])
    assert "Event_0topage2" not in shown["completed"]


def test_the_inclusive_join_waits_for_every_nested_branch_it_started(owner, agent):
    after = lead(owner, agent, interested=True, wants=["demo", "quote"], onsite=True)
    assert open_tasks(after) == ["Activity_0onsite", "Activity_1stock"]
    assert after["data"]["quote_total"] == 1200
    after = agent.complete_ok(task_named(after, "Activity_1stock")["id"], {"in_stock": True})
    assert open_tasks(after) == ["Activity_0onsite"]  # the quote's branch waits at the join
    after = agent.complete_ok(task_named(after, "Activity_0onsite")["id"], {"demo": "on site"})
    assert open_tasks(after) == ["Activity_1negotiate"]
    data = after["data"]
    assert (data["demo"], data["in_stock"], data["quote_total"]) == ("on site", True, 1200)
    assert "brochure" not in data
    shown = elements(agent, after["id"])
    assert "Activity_0finance" not in shown["completed"]
    done = agent.complete_ok(after["ready_tasks"][0]["id"])
    assert (done["status"], done["data"]["outcome"]) == ("completed", "won")


def test_a_lead_asking_for_nothing_gets_the_brochure_and_goes_to_negotiation(owner, agent):
    after = lead(owner, agent, interested=True, wants=[])
    assert open_tasks(after) == ["Activity_1negotiate"]
    assert after["data"]["brochure"] is True


def test_a_video_demo_and_financing_join_before_negotiation(owner, agent):
    after = lead(owner, agent, interested=True, wants=["demo", "financing"], onsite=False)
    assert open_tasks(after) == ["Activity_0finance"]
    assert after["data"]["demo"] == "video"
    after = agent.complete_ok(after["ready_tasks"][0]["id"], {"financed": True})
    assert open_tasks(after) == ["Activity_1negotiate"]


def signal(actor: Actor, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    response = actor.post("/api/v1/signals", json={"name": name, "payload": payload or {}})
    assert response.status_code in (200, 202), response.get_json()
    return response.get_json()


def test_signals_on_the_negotiation_recheck_the_price_then_stop_the_deal(owner, agent):
    after = lead(owner, agent, interested=True, wants=[])
    negotiate = task_named(after, "Activity_1negotiate")
    signal(owner, "r19_price_list_changed", {"price_list": "2026-06"})
    view = agent.instance(after["id"])
    assert open_tasks(view) == ["Activity_0recheck", "Activity_1negotiate"]
    signal(owner, "r19_price_list_changed", {"price_list": "2026-07"})  # each one re-checks
    view = agent.instance(after["id"])
    assert open_tasks(view) == ["Activity_0recheck", "Activity_0recheck", "Activity_1negotiate"]
    assert task_named(view, "Activity_1negotiate")["id"] == negotiate["id"]
    signal(owner, "r19_campaign_stopped")
    view = agent.instance(after["id"])
    # the re-checks go on; the deal stopped
    assert open_tasks(view) == ["Activity_0recheck", "Activity_0recheck"]
    assert view["data"]["outcome"] == "stopped"
    assert agent.complete(negotiate["id"]).status_code in (404, 409)
    first, second = view["ready_tasks"]
    checked = agent.complete_ok(first["id"], {"checked": True})
    done = agent.complete_ok(second["id"], {"checked": True})
    assert (done["status"], done["data"]["outcome"]) == ("completed", "stopped")
    # each re-check ran with its own signal's payload
    assert {checked["data"]["price_list"], done["data"]["price_list"]} == {"2026-06", "2026-07"}


# -- constructs Dialflow does not run: refused at deploy with what to draw instead -------------

REFUSED_CONSTRUCTS = [
    pytest.param(
        "signavio_discount_undo.bpmn",
        {
            "sid-DN-UNDO-GRANT": '<boundaryEvent attachedToRef="sid-DN-GRANT"',
            "sid-DN-WITHDRAW": '<scriptTask completionQuantity="1" id="sid-DN-WITHDRAW"',
            "sid-DN-UNDO": '<intermediateThrowEvent id="sid-DN-UNDO"',
        },
        ["compensation is not supported", "draw the undo step as an ordinary task"],
        id="signavio-compensation-of-a-discount",
    ),
    pytest.param(
        "plain_follow_up.bpmn",
        {"back_from_holiday": '<intermediateCatchEvent id="back_from_holiday"'},
        ["conditional events are not supported", "draw a message catch event"],
        id="hand-written-wait-until-a-condition",
    ),
    pytest.param(
        "bpmnio_lead_routing.bpmn",
        {"Gateway_0route": '<bpmn:complexGateway id="Gateway_0route"'},
        ["complex gateways are not supported", "split with an exclusive gateway"],
        id="bpmnio-complex-gateway",
    ),
    pytest.param(
        "plain_optional_tasks.bpmn",
        {"extras": '<adHocSubProcess id="extras"'},
        ["ad-hoc subprocesses are not supported", "branches of an inclusive gateway"],
        id="hand-written-ad-hoc-extras",
    ),
    pytest.param(
        "signavio_quote_ledger.bpmn",
        {"sid-QL-LEDGER": '<dataStoreReference dataStoreRef="sid-QL-STORE"'},
        ["data stores are not supported", "through a service task"],
        id="signavio-data-store",
    ),
    pytest.param(
        "plain_reminders.bpmn",
        {"every_day": '<startEvent id="every_day"'},
        ["a cycle timer is not supported on the start event of an event subprocess"],
        id="hand-written-event-subprocess-on-a-cycle",
    ),
]


@pytest.mark.parametrize(("name", "at", "expected"), REFUSED_CONSTRUCTS)
def test_a_construct_dialflow_does_not_run_is_refused_on_its_element(owner, db, name, at, expected):
    """Each element is named once, on its line, with what to draw instead; nothing else is
    said (the complex gateway's conditions are BPMN's own: they were said to be ignored)."""
    text = diagram(name)
    details = refused(upload(owner, (name, text)))
    assert {(d["element_id"], d["line"]) for d in details} == {
        (element, line_in(fragment, text)) for element, fragment in at.items()
    }
    for detail in details:
        for words in expected:
            assert words in detail["message"], (words, detail["message"])
    nothing_deployed(db)


def test_the_follow_up_redrawn_as_the_refusal_says_waits_for_the_customers_return(owner, agent):
    """The conditional event, redrawn as its refusal says: a message catch event for the
    message sent when the customer is back (it said only "use an exclusive gateway, a timer
    or a message")."""
    deploy(owner, "plain_follow_up_redrawn.bpmn")
    started = agent.start("r19_follow_up", business_key="customer-19")
    assert (started["ready_tasks"], started["waiting"][0]["name"]) == ([], "r19_customer_back")
    sent = agent.post(
        "/api/v1/messages",
        json={
            "name": "r19_customer_back",
            "business_key": "customer-19",
            "payload": {"back_on": "2026-05-11"},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    view = agent.instance(started["id"])
    assert (open_tasks(view), view["data"]["back_on"]) == (["call"], "2026-05-11")


def test_the_reminders_redrawn_as_the_refusal_says_remind_three_times(timed):
    """The event subprocess on a repeating timer, redrawn as a non-interrupting cycle timer
    boundary event on the subprocess: a reminder a day, three in all, beside the call."""
    assert (
        'cancelActivity="false"'
        in refused(upload(timed.owner, ("plain_reminders.bpmn", diagram("plain_reminders.bpmn"))))[
            0
        ]["message"]
    )
    deploy(timed.owner, "plain_reminders_redrawn.bpmn")
    started = timed.agent.start("r19_reminders")
    assert open_tasks(started) == ["call"]
    for _ in range(4):
        timed.advance(days=1)
    view = timed.agent.instance(started["id"])
    assert open_tasks(view) == ["call", "remind", "remind", "remind"]
    call = task_named_first(view, "call")
    after = timed.agent.complete_ok(call["id"])
    assert open_tasks(after) == ["remind", "remind", "remind"]
    for task in after["ready_tasks"]:
        after = timed.agent.complete_ok(task["id"])
    assert after["status"] == "completed"


# -- mistakes around transactions, links and loops: refused on the element and line -----------

CANCEL_BOUNDARY = (
    (
        '    <bpmn:boundaryEvent id="Event_1cancelled" name="Contract cancelled" '
        'attachedToRef="Activity_1sign">\n'
    )
    + """      <bpmn:outgoing>Flow_0lost</bpmn:outgoing>
      <bpmn:cancelEventDefinition id="CancelEventDefinition_1f0w9nn" />
    </bpmn:boundaryEvent>
"""
)
SECOND_CANCEL = """    <bpmn:boundaryEvent id="Event_0cancelled2" attachedToRef="Activity_1sign">
      <bpmn:outgoing>Flow_0lost2</bpmn:outgoing>
      <bpmn:cancelEventDefinition id="CancelEventDefinition_0x" />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="Event_0lost2">
      <bpmn:incoming>Flow_0lost2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_0lost2" sourceRef="Event_0cancelled2" targetRef="Event_0lost2" />
"""
REFUSED_END = '<bpmn:endEvent id="Event_0refused" name="Contract refused">'
CANCEL_THROW = """      <bpmn:intermediateThrowEvent id="Event_0refused" name="Contract refused">
        <bpmn:incoming>Flow_0refused</bpmn:incoming>
        <bpmn:outgoing>Flow_0afterrefusal</bpmn:outgoing>
        <bpmn:cancelEventDefinition id="CancelEventDefinition_0p2v1cj" />
      </bpmn:intermediateThrowEvent>
      <bpmn:endEvent id="Event_0afterrefusal">
        <bpmn:incoming>Flow_0afterrefusal</bpmn:incoming>
      </bpmn:endEvent>
      <bpmn:sequenceFlow id="Flow_0afterrefusal" sourceRef="Event_0refused"
        targetRef="Event_0afterrefusal" />
"""
REFUSED_END_ELEMENT = """      <bpmn:endEvent id="Event_0refused" name="Contract refused">
        <bpmn:incoming>Flow_0refused</bpmn:incoming>
        <bpmn:cancelEventDefinition id="CancelEventDefinition_0p2v1cj" />
      </bpmn:endEvent>
"""

MISTAKES = [
    pytest.param(
        SIGNING,
        [  # an error boundary event drawn where the cancel boundary event belongs
            (
                '<bpmn:cancelEventDefinition id="CancelEventDefinition_1f0w9nn" />',
                '<bpmn:errorEventDefinition id="ErrorEventDefinition_1f0w9nn" />',
            )
        ],
        "Event_0refused",
        REFUSED_END,
        ["has no cancel boundary event", "ended the transaction as if it had completed"],
        id="cancel-end-without-a-cancel-boundary-event",
    ),
    pytest.param(
        SIGNING,
        [
            (
                'name="Contract cancelled" attachedToRef',
                'name="Contract cancelled" cancelActivity="false" attachedToRef',
            )
        ],
        "Event_1cancelled",
        '<bpmn:boundaryEvent id="Event_1cancelled"',
        ["always interrupts its transaction", 'remove cancelActivity="false"'],
        id="non-interrupting-cancel-boundary-event",
    ),
    pytest.param(
        SIGNING,
        [(CANCEL_BOUNDARY, CANCEL_BOUNDARY + SECOND_CANCEL)],
        "Event_0cancelled2",
        '<bpmn:boundaryEvent id="Event_0cancelled2"',
        ["second cancel boundary event on 'Activity_1sign'", "'Event_1cancelled'"],
        id="two-cancel-boundary-events",
    ),
    pytest.param(
        SIGNING,
        [
            (
                "      <bpmn:outgoing>Flow_1a8yq2x</bpmn:outgoing>\n",
                "      <bpmn:outgoing>Flow_1a8yq2x</bpmn:outgoing>\n"
                "      <bpmn:multiInstanceLoopCharacteristics>\n"
                "        <bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>\n"
                '        <bpmn:inputDataItem id="signer" name="signer" />\n'
                "      </bpmn:multiInstanceLoopCharacteristics>\n",
            )
        ],
        "Event_1cancelled",
        '<bpmn:boundaryEvent id="Event_1cancelled"',
        ["'Activity_1sign' is a multi-instance or looping transaction", "Put the transaction"],
        id="cancel-boundary-event-on-a-multi-instance-transaction",
    ),
    pytest.param(
        SIGNING,
        [(REFUSED_END_ELEMENT, CANCEL_THROW)],
        "Event_0refused",
        '<bpmn:intermediateThrowEvent id="Event_0refused"',
        ["a cancel event is thrown by an end event only", "Make it a cancel end event"],
        id="cancel-intermediate-throw-event",
    ),
    pytest.param(
        "signavio_callback_loop.bpmn",
        [('loopMaximum="3"', 'loopMaximum="0"')],
        "sid-CB-CALL",
        '<userTask completionQuantity="1" id="sid-CB-CALL"',
        ["loopMaximum"],
        id="loop-maximum-zero",
    ),
    pytest.param(
        "signavio_call_list.bpmn",
        [
            (
                '<inputDataItem id="caller" name="caller"/>',
                '<inputDataItem id="caller" name="agent"/>',
            )
        ],
        "sid-CL-CALL",
        '<userTask completionQuantity="1" id="sid-CL-CALL"',
        ["'agent'", "'caller'"],
        id="multi-instance-item-named-apart-from-its-id",
    ),
    pytest.param(
        "signavio_call_list.bpmn",
        [("len([r for r in reached_by if r]) >= 3]]", "(reached := len(reached_by)) >= 3]]")],
        "sid-CL-CALL",
        '<userTask completionQuantity="1" id="sid-CL-CALL"',
        [":="],
        id="completion-condition-assigning",
    ),
    pytest.param(
        "bpmnio_lead_pages.bpmn",
        [('signalRef="Signal_1stopped"', 'signalRef="Signal_1stop"')],
        "Event_1stopped",
        '<bpmn:boundaryEvent id="Event_1stopped"',
        ["Signal_1stop"],
        id="signal-boundary-naming-no-signal",
    ),
]


@pytest.mark.parametrize(("name", "changes", "element", "at", "expected"), MISTAKES)
def test_a_mistake_is_refused_on_its_element_and_line(
    owner, db, name, changes, element, at, expected
):
    text = edited(name, *changes)
    details = refused(upload(owner, (name, text)))
    assert {(d["element_id"], d["line"]) for d in details} == {(element, line_in(at, text))}, (
        details
    )
    said = " | ".join(d["message"] for d in details)
    for words in expected:
        assert words in said, (words, said)
    nothing_deployed(db)


def test_a_link_named_differently_at_its_two_ends_is_refused_on_both_only(owner, db):
    """The throw says no catch has its name, the catch that no throw names says so (it was
    told to get a sequence flow), and the elements after it are not refused one by one as
    unreached (the negotiation page's nine elements were)."""
    text = edited(
        "bpmnio_lead_pages.bpmn",
        (
            '<bpmn:linkEventDefinition id="LinkEventDefinition_0b2" name="negotiate" />',
            '<bpmn:linkEventDefinition id="LinkEventDefinition_0b2" name="negotiation" />',
        ),
    )
    details = refused(upload(owner, ("bpmnio_lead_pages.bpmn", text)))
    assert {(d["element_id"], d["line"]) for d in details} == {
        ("Event_0topage3", line_in('<bpmn:intermediateThrowEvent id="Event_0topage3"', text)),
        ("Event_1frompage2", line_in('<bpmn:intermediateCatchEvent id="Event_1frompage2"', text)),
    }
    said = {d["element_id"]: d["message"] for d in details}
    assert "no link catch event named 'negotiation'" in said["Event_0topage3"]
    assert "no link throw event named 'negotiate'" in said["Event_1frompage2"]
    assert "give the link throw event that should go on here the name" in said["Event_1frompage2"]
    assert "sequence flow" not in said["Event_1frompage2"]
    nothing_deployed(db)


def test_a_transaction_per_signer_redrawn_as_the_refusal_says_cancels_one_signer_only(owner, agent):
    """The multi-instance transaction refused above, drawn as its refusal says: the
    transaction and its cancel boundary event in a multi-instance subprocess. One signer's
    refusal cancels that signer's transaction and takes its cancel path; the other signs."""
    body = """
    <startEvent id="start"/>
    <subProcess id="each_signer" name="Each signer">
      <multiInstanceLoopCharacteristics>
        <loopDataInputRef>signers</loopDataInputRef>
        <inputDataItem id="signer" name="signer"/>
      </multiInstanceLoopCharacteristics>
      <startEvent id="each_start"/>
      <transaction id="sign" name="Sign">
        <startEvent id="sign_start"/>
        <userTask id="answer" name="Record the signer's answer"/>
        <exclusiveGateway id="signed" default="to_refused"/>
        <endEvent id="sign_done"/>
        <endEvent id="refused"><cancelEventDefinition/></endEvent>
        <sequenceFlow id="s1" sourceRef="sign_start" targetRef="answer"/>
        <sequenceFlow id="s2" sourceRef="answer" targetRef="signed"/>
        <sequenceFlow id="s3" sourceRef="signed" targetRef="sign_done">
          <conditionExpression>yes</conditionExpression>
        </sequenceFlow>
        <sequenceFlow id="to_refused" sourceRef="signed" targetRef="refused"/>
      </transaction>
      <boundaryEvent id="sign_cancelled" attachedToRef="sign">
        <cancelEventDefinition/>
      </boundaryEvent>
      <userTask id="follow_up" name="Call the signer who refused"/>
      <endEvent id="each_done"/>
      <endEvent id="each_refused"/>
      <sequenceFlow id="e1" sourceRef="each_start" targetRef="sign"/>
      <sequenceFlow id="e2" sourceRef="sign" targetRef="each_done"/>
      <sequenceFlow id="e3" sourceRef="sign_cancelled" targetRef="follow_up"/>
      <sequenceFlow id="e4" sourceRef="follow_up" targetRef="each_refused"/>
    </subProcess>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="each_signer"/>
    <sequenceFlow id="f2" sourceRef="each_signer" targetRef="end"/>
"""
    response = upload(owner, ("r19_signers.bpmn", one_process("r19_signers", body)))
    assert response.status_code == 201, response.get_json()
    started = agent.start("r19_signers", {"signers": ["buyer", "guarantor"]})
    first, second = started["ready_tasks"]
    after = agent.complete_ok(first["id"], {"yes": False, "why": "price"})
    assert sorted(open_tasks(after)) == ["answer", "follow_up"]
    follow_up = task_named(after, "follow_up")
    assert agent.complete_ok(second["id"], {"yes": True})["status"] == "running"
    done = agent.complete_ok(follow_up["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])


def test_link_definitions_left_unnamed_are_told_the_name_to_write(owner, db):
    """BPMN requires the link's name on the definition; a file naming only the events was
    refused with libxml2's "The attribute 'name' is required but missing"."""
    text = edited(
        "signavio_callback_loop.bpmn",
        (
            '<linkEventDefinition id="sid-CB-LINK-1" name="Calls"/>',
            '<linkEventDefinition id="sid-CB-LINK-1"/>',
        ),
        (
            '<linkEventDefinition id="sid-CB-LINK-2" name="Calls"/>',
            '<linkEventDefinition id="sid-CB-LINK-2"/>',
        ),
    )
    details = refused(upload(owner, ("signavio_callback_loop.bpmn", text)))
    assert {(d["element_id"], d["line"]) for d in details} == {
        ("sid-CB-LINK-1", line_in('<linkEventDefinition id="sid-CB-LINK-1"', text)),
        ("sid-CB-LINK-2", line_in('<linkEventDefinition id="sid-CB-LINK-2"', text)),
    }
    for detail in details:
        assert 'write name="Calls" on it' in detail["message"], detail["message"]
    nothing_deployed(db)


NESTED_CANCEL = """
    <startEvent id="start"/>
    <transaction id="contract" name="Sign the contract">
      <startEvent id="contract_start"/>
      <parallelGateway id="both"/>
      <userTask id="invoice" name="Prepare the invoice"/>
      <subProcess id="legal" name="Legal review">
        <startEvent id="legal_start"/>
        <subProcess id="clauses" name="Clauses"{looping}>
          <startEvent id="clauses_start"/>
          <userTask id="review" name="Review the clauses"/>
          <exclusiveGateway id="acceptable" default="to_cancel"/>
          <endEvent id="clauses_ok"/>
          <endEvent id="cancel"><cancelEventDefinition/></endEvent>
          <sequenceFlow id="c1" sourceRef="clauses_start" targetRef="review"/>
          <sequenceFlow id="c2" sourceRef="review" targetRef="acceptable"/>
          <sequenceFlow id="c3" sourceRef="acceptable" targetRef="clauses_ok">
            <conditionExpression>ok</conditionExpression>
          </sequenceFlow>
          <sequenceFlow id="to_cancel" sourceRef="acceptable" targetRef="cancel"/>
        </subProcess>
        <endEvent id="legal_done"/>
        <sequenceFlow id="l1" sourceRef="legal_start" targetRef="clauses"/>
        <sequenceFlow id="l2" sourceRef="clauses" targetRef="legal_done"/>
      </subProcess>
      <parallelGateway id="joined"/>
      <endEvent id="contract_done"/>
      <sequenceFlow id="t1" sourceRef="contract_start" targetRef="both"/>
      <sequenceFlow id="t2" sourceRef="both" targetRef="invoice"/>
      <sequenceFlow id="t3" sourceRef="both" targetRef="legal"/>
      <sequenceFlow id="t4" sourceRef="invoice" targetRef="joined"/>
      <sequenceFlow id="t5" sourceRef="legal" targetRef="joined"/>
      <sequenceFlow id="t6" sourceRef="joined" targetRef="contract_done"/>
    </transaction>
    <boundaryEvent id="cancelled" attachedToRef="contract"><cancelEventDefinition/></boundaryEvent>
    <userTask id="deliver" name="Hand over to delivery"/>
    <userTask id="win_back" name="Call to win the customer back"/>
    <endEvent id="won"/>
    <endEvent id="lost"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="contract"/>
    <sequenceFlow id="f2" sourceRef="contract" targetRef="deliver"/>
    <sequenceFlow id="f3" sourceRef="deliver" targetRef="won"/>
    <sequenceFlow id="f4" sourceRef="cancelled" targetRef="win_back"/>
    <sequenceFlow id="f5" sourceRef="win_back" targetRef="lost"/>
"""


def test_a_cancel_end_event_two_subprocesses_deep_cancels_its_transaction(owner, agent):
    """Legal's clause review, a subprocess in a subprocess of the contract transaction, finds
    the clauses unacceptable: the whole transaction is cancelled (the invoice leaves the
    inbox) and its cancel path runs with the reviewer's reason. This was refused as a cancel
    end event "outside a transaction subprocess"."""
    content = one_process("r19_legal", NESTED_CANCEL.format(looping=""))
    response = upload(owner, ("r19_legal.bpmn", content))
    assert response.status_code == 201, response.get_json()
    started = agent.start("r19_legal")
    assert open_tasks(started) == ["invoice", "review"]
    after = agent.complete_ok(
        task_named(started, "review")["id"], {"ok": False, "reason": "liability clause"}
    )
    assert open_tasks(after) == ["win_back"]
    assert after["data"]["reason"] == "liability clause"
    assert [task["name"] for task in agent.tasks()] == ["win_back"]


def test_a_cancel_end_event_in_a_looping_subprocess_of_a_transaction_is_refused(owner, db):
    looping = ' ><standardLoopCharacteristics loopMaximum="2"/'
    content = one_process("r19_legal", NESTED_CANCEL.format(looping=looping))
    (detail,) = refused(upload(owner, ("r19_legal.bpmn", content)))
    assert (detail["element_id"], detail["line"]) == (
        "cancel",
        line_in('<endEvent id="cancel">', content.decode()),
    )
    assert "'clauses', an event subprocess or a multi-instance or looping" in detail["message"]
    nothing_deployed(db)
