"""Gaps reported in the engine, each reproduced through the HTTP API:

1. signals caught in one step: each catch gets the payload of the signal that reached it,
   also a catch event listing several signals (SpiffWorkflow 3.2 dropped those payloads);
2. a message thrown without ``messagePayload`` carries the sending task's data;
3. lanes that name no role and no existing team deploy with a warning, and their tasks stay
   within reach of managers and administrators;
4. deploy refuses every element no path from a start reaches, not only the first one.
"""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, select

from dialflow.cli import main
from engine.models import ModelBundle, ProcessVersion, ReceivedMessage
from tests.engine.conftest import Actor, by_element, refused

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="defs" targetNamespace="http://dialflow.example/gaps">\n'
)


def definitions(body: str) -> str:
    return f"{HEAD}{body}\n</bpmn:definitions>\n"


def process(process_id: str, body: str, before: str = "") -> str:
    return definitions(
        f'{before}<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>'
    )


def deploy(actor: Actor, xml: str) -> Any:
    return actor.post("/api/v1/process-models", json={"bpmn": xml})


def deployed(actor: Actor, xml: str) -> dict[str, Any]:
    response = deploy(actor, xml)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def names(instance: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in instance["ready_tasks"])


def the(instance: dict[str, Any], name: str) -> dict[str, Any]:
    return next(task for task in instance["ready_tasks"] if task["name"] == name)


def line_of(fragment: str, text: str) -> int:
    return text.count("\n", 0, text.index(fragment)) + 1


def nothing_deployed(db: Any) -> None:
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 0


# -- 1. signal payloads ----------------------------------------------------------------------


def signal(signal_id: str, name: str, variable: str) -> str:
    """A signal whose throw carries the thrower's ``note``, caught into ``variable``."""
    return (
        f'<bpmn:signal id="{signal_id}" name="{name}"><bpmn:extensionElements>'
        "<spiffworkflow:payloadExpression>note</spiffworkflow:payloadExpression>"
        f"<spiffworkflow:variableName>{variable}</spiffworkflow:variableName>"
        "</bpmn:extensionElements></bpmn:signal>\n"
    )


SIGNALS = signal("sig_one", "one", "got_one") + signal("sig_two", "two", "got_two")


def thrower(throws: list[tuple[str, str]]) -> str:
    """A branch: the user task ``go``, then for each ``(signal id, note)`` a script setting the
    note and a throw of the signal, all in the step that completes ``go``."""
    parts, previous = [], "go"
    for index, (signal_id, note) in enumerate(throws):
        parts.append(
            f'<bpmn:scriptTask id="note_{index}"><bpmn:script>note = "{note}"</bpmn:script>'
            f'</bpmn:scriptTask><bpmn:intermediateThrowEvent id="throw_{index}">'
            f'<bpmn:signalEventDefinition signalRef="{signal_id}"/></bpmn:intermediateThrowEvent>'
            f'<bpmn:sequenceFlow id="tn_{index}" sourceRef="{previous}" targetRef="note_{index}"/>'
            f'<bpmn:sequenceFlow id="tt_{index}" sourceRef="note_{index}" '
            f'targetRef="throw_{index}"/>'
        )
        previous = f"throw_{index}"
    parts.append(
        '<bpmn:endEvent id="thrown"/>'
        f'<bpmn:sequenceFlow id="t_end" sourceRef="{previous}" targetRef="thrown"/>'
    )
    return '<bpmn:userTask id="go" name="go"/>\n' + "\n".join(parts)


def heard(branch: str, condition: str, catch: str) -> str:
    """After ``catch``, the user task ``<branch>_heard`` if ``condition`` holds on the caught
    data, else ``<branch>_missed``."""
    return (
        f'<bpmn:exclusiveGateway id="{branch}_check" default="{branch}_no"/>'
        f'<bpmn:userTask id="{branch}_heard" name="{branch}_heard"/>'
        f'<bpmn:userTask id="{branch}_missed" name="{branch}_missed"/>'
        f'<bpmn:endEvent id="{branch}_e1"/><bpmn:endEvent id="{branch}_e2"/>'
        f'<bpmn:sequenceFlow id="{branch}_in" sourceRef="{catch}" targetRef="{branch}_check"/>'
        f'<bpmn:sequenceFlow id="{branch}_yes" sourceRef="{branch}_check" '
        f'targetRef="{branch}_heard"><bpmn:conditionExpression>{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        f'<bpmn:sequenceFlow id="{branch}_no" sourceRef="{branch}_check" '
        f'targetRef="{branch}_missed"/>'
        f'<bpmn:sequenceFlow id="{branch}_o1" sourceRef="{branch}_heard" targetRef="{branch}_e1"/>'
        f'<bpmn:sequenceFlow id="{branch}_o2" sourceRef="{branch}_missed" '
        f'targetRef="{branch}_e2"/>'
    )


def forked(process_id: str, branches: list[str], throws: list[tuple[str, str]]) -> str:
    """Start (no payload yet: ``got_one``/``got_two`` are None), fork into ``branches`` (each
    begins with the element id ``<branch>``) and the thrower."""
    targets = [*branches, "go"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="fork_{t}" sourceRef="fork" targetRef="{t}"/>' for t in targets
    )
    return process(
        process_id,
        '<bpmn:startEvent id="start"/>'
        '<bpmn:scriptTask id="init"><bpmn:script>got_one = None\ngot_two = None</bpmn:script>'
        '</bpmn:scriptTask><bpmn:parallelGateway id="fork"/>'
        '<bpmn:sequenceFlow id="s1" sourceRef="start" targetRef="init"/>'
        '<bpmn:sequenceFlow id="s2" sourceRef="init" targetRef="fork"/>'
        f"{flows}\n{thrower(throws)}",
        before=SIGNALS,
    )


def catch(catch_id: str, *signal_ids: str, parallel: bool = False) -> str:
    definitions = "".join(f'<bpmn:signalEventDefinition signalRef="{s}"/>' for s in signal_ids)
    attribute = ' parallelMultiple="true"' if parallel else ""
    return (
        f'<bpmn:intermediateCatchEvent id="{catch_id}"{attribute}>{definitions}'
        "</bpmn:intermediateCatchEvent>"
    )


def test_two_signals_thrown_in_one_step_reach_their_catches_with_their_own_payloads(
    owner: Actor, agent: Actor
) -> None:
    """Two signals, one after the other in the step that completes ``go``, each caught by its
    own intermediate catch event: each catch has the note thrown with its signal."""
    body = forked("two_signals", ["a", "b"], [("sig_one", "first"), ("sig_two", "second")])
    body = body.replace(
        '<bpmn:userTask id="go"',
        catch("a", "sig_one")
        + catch("b", "sig_two")
        + heard("one", 'got_one == "first"', "a")
        + heard("two", 'got_two == "second"', "b")
        + '<bpmn:userTask id="go"',
    )
    deployed(owner, body)
    instance = agent.start("two_signals")
    assert names(instance) == ["go"]
    instance = agent.complete_ok(the(instance, "go")["id"])
    assert names(instance) == ["one_heard", "two_heard"]


def test_a_boundary_event_hit_twice_in_one_step_starts_a_path_with_each_payload(
    owner: Actor, agent: Actor
) -> None:
    """One non-interrupting boundary event, one signal thrown twice in one step: two paths,
    the first with the first note, the second with the second."""
    body = forked("twice", ["work"], [("sig_one", "first"), ("sig_one", "second")])
    body = body.replace(
        '<bpmn:userTask id="go"',
        '<bpmn:userTask id="work" name="work"/><bpmn:endEvent id="worked"/>'
        '<bpmn:sequenceFlow id="w1" sourceRef="work" targetRef="worked"/>'
        '<bpmn:boundaryEvent id="on_signal" attachedToRef="work" cancelActivity="false">'
        '<bpmn:signalEventDefinition signalRef="sig_one"/></bpmn:boundaryEvent>'
        '<bpmn:exclusiveGateway id="which" default="to_second"/>'
        '<bpmn:userTask id="react_first" name="react_first"/>'
        '<bpmn:userTask id="react_second" name="react_second"/>'
        '<bpmn:endEvent id="r1"/><bpmn:endEvent id="r2"/>'
        '<bpmn:sequenceFlow id="b1" sourceRef="on_signal" targetRef="which"/>'
        '<bpmn:sequenceFlow id="to_first" sourceRef="which" targetRef="react_first">'
        '<bpmn:conditionExpression>got_one == "first"</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="to_second" sourceRef="which" targetRef="react_second"/>'
        '<bpmn:sequenceFlow id="b2" sourceRef="react_first" targetRef="r1"/>'
        '<bpmn:sequenceFlow id="b3" sourceRef="react_second" targetRef="r2"/>'
        '<bpmn:userTask id="go"',
    )
    # sig_two is declared for the other tests; nothing here waits for it
    deployed(owner, body)
    instance = agent.start("twice", business_key="b")
    instance = agent.complete_ok(the(instance, "go")["id"])
    assert names(instance) == ["react_first", "react_second", "work"]


def test_a_parallel_multiple_catch_gets_the_payloads_of_both_signals(
    owner: Actor, agent: Actor
) -> None:
    """A catch waiting for both signals (parallelMultiple), both thrown in one step: it got
    neither payload (SpiffWorkflow's multiple event definition dropped them)."""
    body = forked("both", ["wait_both"], [("sig_one", "first"), ("sig_two", "second")])
    body = body.replace(
        '<bpmn:userTask id="go"',
        catch("wait_both", "sig_one", "sig_two", parallel=True)
        + heard("both", 'got_one == "first" and got_two == "second"', "wait_both")
        + '<bpmn:userTask id="go"',
    )
    deployed(owner, body)
    instance = agent.start("both")
    instance = agent.complete_ok(the(instance, "go")["id"])
    assert names(instance) == ["both_heard"]


def test_a_multiple_catch_gets_the_payload_of_the_signal_that_reached_it(
    owner: Actor, agent: Actor
) -> None:
    """A catch waiting for either signal: the second is thrown first and reaches it, with its
    note; the first, thrown after, finds nothing waiting any more."""
    body = forked("either", ["wait_either"], [("sig_two", "second"), ("sig_one", "first")])
    body = body.replace(
        '<bpmn:userTask id="go"',
        catch("wait_either", "sig_one", "sig_two")
        + heard("either", 'got_two == "second" and got_one is None', "wait_either")
        + '<bpmn:userTask id="go"',
    )
    deployed(owner, body)
    instance = agent.start("either")
    instance = agent.complete_ok(the(instance, "go")["id"])
    assert names(instance) == ["either_heard"]


def test_a_boundary_event_of_two_signals_hands_each_path_its_payload(
    owner: Actor, agent: Actor
) -> None:
    """A non-interrupting boundary event listing both signals, both thrown in one step: one
    path per signal, each with the payload of its own."""
    body = forked("two_on_boundary", ["work"], [("sig_one", "first"), ("sig_two", "second")])
    body = body.replace(
        '<bpmn:userTask id="go"',
        '<bpmn:userTask id="work" name="work"/><bpmn:endEvent id="worked"/>'
        '<bpmn:sequenceFlow id="w1" sourceRef="work" targetRef="worked"/>'
        '<bpmn:boundaryEvent id="on_signal" attachedToRef="work" cancelActivity="false">'
        '<bpmn:signalEventDefinition signalRef="sig_one"/>'
        '<bpmn:signalEventDefinition signalRef="sig_two"/></bpmn:boundaryEvent>'
        '<bpmn:exclusiveGateway id="which" default="to_none"/>'
        '<bpmn:userTask id="react_one" name="react_one"/>'
        '<bpmn:userTask id="react_two" name="react_two"/>'
        '<bpmn:userTask id="react_none" name="react_none"/>'
        '<bpmn:endEvent id="r1"/><bpmn:endEvent id="r2"/><bpmn:endEvent id="r3"/>'
        '<bpmn:sequenceFlow id="b1" sourceRef="on_signal" targetRef="which"/>'
        '<bpmn:sequenceFlow id="to_one" sourceRef="which" targetRef="react_one">'
        '<bpmn:conditionExpression>got_one == "first" and got_two is None'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="to_two" sourceRef="which" targetRef="react_two">'
        '<bpmn:conditionExpression>got_two == "second" and got_one is None'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="to_none" sourceRef="which" targetRef="react_none"/>'
        '<bpmn:sequenceFlow id="b2" sourceRef="react_one" targetRef="r1"/>'
        '<bpmn:sequenceFlow id="b3" sourceRef="react_two" targetRef="r2"/>'
        '<bpmn:sequenceFlow id="b4" sourceRef="react_none" targetRef="r3"/>'
        '<bpmn:userTask id="go"',
    )
    deployed(owner, body)
    instance = agent.start("two_on_boundary")
    instance = agent.complete_ok(the(instance, "go")["id"])
    assert names(instance) == ["react_one", "react_two", "work"]


# -- 2. messages without a payload expression ------------------------------------------------

# As Camunda Modeler draws them: no spiffworkflow extension anywhere.
ORDER_MESSAGE = '<bpmn:message id="msg_order" name="order_confirmed"/>\n'
ORDER_SENDER = process(
    "order_sender",
    '<bpmn:startEvent id="start"/>'
    '<bpmn:scriptTask id="confirm"><bpmn:script>confirmed_by = "sales"</bpmn:script>'
    "</bpmn:scriptTask>"
    '<bpmn:endEvent id="announce"><bpmn:messageEventDefinition messageRef="msg_order"/>'
    "</bpmn:endEvent>"
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="confirm"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="confirm" targetRef="announce"/>',
    before=ORDER_MESSAGE,
)
ORDER_WAITER = process(
    "order_waiter",
    '<bpmn:startEvent id="start"/>'
    '<bpmn:intermediateCatchEvent id="wait_order">'
    '<bpmn:messageEventDefinition messageRef="msg_order"/></bpmn:intermediateCatchEvent>'
    '<bpmn:userTask id="fulfil" name="fulfil"/><bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_order"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="wait_order" targetRef="fulfil"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="fulfil" targetRef="end"/>',
    before=ORDER_MESSAGE,
)


def test_a_message_end_event_without_payload_sends_the_task_data(timed: Any) -> None:
    """The waiting instance of the same business key gets the sender's data (it got nothing);
    the sender's lane_owners, which route its own lanes, stay behind."""
    owner = timed.owner
    deployed(owner, ORDER_WAITER)
    deployed(owner, ORDER_SENDER)
    mine = owner.start("order_waiter", {"amount": 1}, business_key="customer-7")
    other = owner.start("order_waiter", business_key="customer-8")
    data = {"amount": 18800, "product": "CRM Pro", "lane_owners": {"Sales": ["po"]}}
    sender = owner.start("order_sender", data, business_key="customer-7")
    assert sender["status"] == "completed"

    assert timed.advance(seconds=1) >= 1
    delivered = owner.instance(mine["id"])
    assert names(delivered) == ["fulfil"]
    assert delivered["data"]["amount"] == 18800  # the message's value wins
    assert delivered["data"]["product"] == "CRM Pro"
    assert delivered["data"]["confirmed_by"] == "sales"
    assert "lane_owners" not in delivered["data"]
    assert owner.instance(other["id"])["status"] == "waiting"
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        record = session.scalar(select(ReceivedMessage))
        assert (record.status, record.delivered_to) == ("delivered", [mine["id"]])
        assert record.payload["product"] == "CRM Pro"


PAYMENT = (
    '<bpmn:message id="msg_paid" name="payment_confirmed"/>'
    '<bpmn:correlationProperty id="order_ref" name="Order reference">'
    '<bpmn:correlationPropertyRetrievalExpression messageRef="msg_paid">'
    "<bpmn:formalExpression>order_ref</bpmn:formalExpression>"
    "</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>\n"
)
PAYMENT_NOTICE = process(
    "payment_notice",
    '<bpmn:startEvent id="start"/>'
    '<bpmn:intermediateThrowEvent id="announce">'
    '<bpmn:messageEventDefinition messageRef="msg_paid"/></bpmn:intermediateThrowEvent>'
    '<bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="announce"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="announce" targetRef="end"/>',
    before=PAYMENT,
)


def test_an_intermediate_throw_without_payload_is_correlated_by_the_task_data(
    timed: Any,
) -> None:
    """The payment notice names no payload: its data carries ``order_ref``, the waiting
    instance's correlation property, so the payment reaches the instance of that order only
    (before, an empty message could not be delivered to it: marked failed)."""
    owner = timed.owner
    owner.deploy("order_correlation.bpmn")
    deployed(owner, PAYMENT_NOTICE)
    first = owner.start("payment_by_ref", {"order_ref": "A-1"}, business_key="customer-3")
    second = owner.start("payment_by_ref", {"order_ref": "A-2"}, business_key="customer-3")
    owner.start("payment_notice", {"order_ref": "A-2", "amount": 5}, business_key="customer-3")

    timed.advance(seconds=1)
    done = owner.instance(second["id"])
    assert done["status"] == "completed"
    assert (done["data"]["paid"], done["data"]["amount"]) == (True, 5)
    assert owner.instance(first["id"])["status"] == "waiting"
    with timed.runtime.db.unit_of_work(read_only=True) as session:
        record = session.scalar(select(ReceivedMessage))
        assert (record.status, record.delivered_to) == ("delivered", [second["id"]])


def test_a_payload_expression_still_decides_what_a_message_carries(timed: Any) -> None:
    owner = timed.owner
    deployed(owner, ORDER_WAITER)
    deployed(
        owner,
        ORDER_SENDER.replace(
            '<bpmn:messageEventDefinition messageRef="msg_order"/>',
            '<bpmn:messageEventDefinition messageRef="msg_order"><bpmn:extensionElements>'
            '<spiffworkflow:messagePayload>{"product": product}</spiffworkflow:messagePayload>'
            "</bpmn:extensionElements></bpmn:messageEventDefinition>",
        ),
    )
    waiting = owner.start("order_waiter", business_key="customer-7")
    owner.start("order_sender", {"amount": 1, "product": "Pro"}, business_key="customer-7")
    timed.advance(seconds=1)
    data = owner.instance(waiting["id"])["data"]
    assert data["product"] == "Pro"
    assert "amount" not in data and "confirmed_by" not in data


def test_an_instance_at_a_task_before_a_message_end_moves_to_a_new_version(
    timed: Any,
) -> None:
    """Migration compares the versions' specs through the state's serializer, which must know
    the message that sends the task data; the moved instance still sends it."""
    owner = timed.owner
    deployed(owner, ORDER_WAITER)
    sender = ORDER_SENDER.replace(
        '<bpmn:scriptTask id="confirm"><bpmn:script>confirmed_by = "sales"</bpmn:script>'
        "</bpmn:scriptTask>",
        '<bpmn:userTask id="confirm" name="confirm"/>',
    )
    deployed(owner, sender)
    waiting = owner.start("order_waiter", business_key="customer-9")
    started = owner.start("order_sender", {"product": "Pro"}, business_key="customer-9")
    deployed(owner, sender.replace('name="confirm"', 'name="Confirm the order"'))
    response = owner.post(
        f"/api/v1/process-instances/{started['id']}/migrate", json={"to_version": 2}
    )
    assert response.status_code == 200, response.get_json()
    owner.complete_ok(response.get_json()["ready_tasks"][0]["id"], {"confirmed_by": "me"})
    timed.advance(seconds=1)
    data = owner.instance(waiting["id"])["data"]
    assert (data["product"], data["confirmed_by"]) == ("Pro", "me")


# -- 3. lanes nobody matches -----------------------------------------------------------------

LANES = definitions(
    '<bpmn:collaboration id="collab">'
    '<bpmn:participant id="p_sales" processRef="key_accounts"/>'
    '<bpmn:participant id="p_customer" processRef="customer"/></bpmn:collaboration>\n'
    '<bpmn:process id="key_accounts" isExecutable="true">\n'
    '<bpmn:laneSet id="lanes">\n'
    '<bpmn:lane id="lane_agents" name="agent"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>'
    "<bpmn:flowNodeRef>prepare</bpmn:flowNodeRef></bpmn:lane>\n"
    '<bpmn:lane id="lane_east" name="East"><bpmn:flowNodeRef>review</bpmn:flowNodeRef>'
    "</bpmn:lane>\n"
    '<bpmn:lane id="lane_key" name="Key Accounts"><bpmn:flowNodeRef>pitch</bpmn:flowNodeRef>'
    "</bpmn:lane>\n"
    '<bpmn:lane id="lane_robots" name="Robots"><bpmn:flowNodeRef>log</bpmn:flowNodeRef>'
    "<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>\n"
    '<bpmn:lane id="lane_region" name="North region">'
    "<bpmn:flowNodeRef>sign</bpmn:flowNodeRef><bpmn:childLaneSet id='inner'>"
    '<bpmn:lane id="lane_directors" name="Director"><bpmn:flowNodeRef>sign</bpmn:flowNodeRef>'
    "</bpmn:lane></bpmn:childLaneSet></bpmn:lane>\n"
    "</bpmn:laneSet>\n"
    '<bpmn:startEvent id="start"/><bpmn:userTask id="prepare" name="prepare"/>'
    '<bpmn:userTask id="review" name="review"/><bpmn:userTask id="pitch" name="pitch"/>'
    '<bpmn:userTask id="sign" name="sign"/>'
    '<bpmn:scriptTask id="log"><bpmn:script>logged = True</bpmn:script></bpmn:scriptTask>'
    '<bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="pitch"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="pitch" targetRef="sign"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="sign" targetRef="log"/>'
    '<bpmn:sequenceFlow id="f6" sourceRef="log" targetRef="end"/>'
    "\n</bpmn:process>\n"
    '<bpmn:process id="customer" isExecutable="false"><bpmn:laneSet id="c_lanes">'
    '<bpmn:lane id="lane_buyer" name="Buyer"><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>'
    '</bpmn:lane></bpmn:laneSet><bpmn:userTask id="decide"/></bpmn:process>'
)


def test_a_lane_nobody_matches_deploys_with_a_warning(owner: Actor, agent: Actor) -> None:
    """Roles (``agent``, ``Director`` in any case) and the existing team ``East`` match; the
    lane of only a script task, the outer lane of a nested one and a drawn-only pool's lane
    decide nothing. ``Key Accounts`` is no team: one warning on that lane."""
    answer = deployed(owner, LANES)
    assert answer["process_ids"] == ["key_accounts"] and answer["version"] == 1
    (warning,) = answer["warnings"]
    assert warning["element_id"] == "lane_key"
    assert warning["line"] == line_of('<bpmn:lane id="lane_key"', LANES)
    assert "'Key Accounts'" in warning["message"] and "no role and no team" in warning["message"]


def test_the_warning_goes_once_the_team_exists(owner: Actor, agent: Actor, actor: Any) -> None:
    """A redeploy of the same content answers as things stand: the team created meanwhile
    matches the lane."""
    assert [w["element_id"] for w in deployed(owner, LANES)["warnings"]] == ["lane_key"]
    actor("agent", username="ka_agent", team="Key Accounts")
    again = deploy(owner, LANES)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["warnings"] == []


def test_a_task_in_a_lane_nobody_matches_can_be_seen_and_assigned_by_a_manager(
    owner: Actor, agent: Actor, actor: Any
) -> None:
    """Nobody is a candidate for ``pitch``: it is in no agent's list, but a manager lists all
    tasks, assigns it, and the agent works it; an administrator may complete such a task
    directly."""
    deployed(owner, LANES)
    manager = actor("manager", username="boss", team="East")
    admin = actor("admin", username="root", team=None)
    instance = agent.start("key_accounts")
    instance = agent.complete_ok(the(instance, "prepare")["id"])
    instance = manager.complete_ok(the(instance, "review")["id"])  # East: the manager's team
    pitch = the(instance, "pitch")
    assert pitch["candidates"] == ["group:Key Accounts"]
    for viewer in (agent, manager):
        assert all(t["id"] != pitch["id"] for t in viewer.tasks())
    assert agent.post(f"/api/v1/tasks/{pitch['id']}/claim").status_code == 403

    listed = [t["id"] for t in manager.tasks("all=1")]
    assert pitch["id"] in listed
    response = manager.post(f"/api/v1/tasks/{pitch['id']}/assign", json={"user": agent.username})
    assert response.status_code == 200, response.get_json()
    assert [t["id"] for t in agent.tasks("mine=1")] == [pitch["id"]]
    instance = agent.complete_ok(pitch["id"])
    assert names(instance) == ["sign"]

    second = agent.start("key_accounts")
    second = agent.complete_ok(the(second, "prepare")["id"])
    second = manager.complete_ok(the(second, "review")["id"])
    assert names(admin.complete_ok(the(second, "pitch")["id"])) == ["sign"]


def test_the_cli_deploys_and_writes_the_warning_to_stderr(
    test_env: Any, db: Any, tmp_path: Any
) -> None:
    """(``db`` empties the test database first.)"""
    path = tmp_path / "key_accounts.bpmn"
    path.write_text(LANES)
    result = CliRunner().invoke(main, ["deploy", str(path)], env=test_env)
    assert result.exit_code == 0, result.output
    assert "deployed: key_accounts v1" in result.stdout
    assert "lane 'lane_key' names no role and no team" in result.stderr


# -- 4. reachability ------------------------------------------------------------------------

CALL = (
    '<bpmn:startEvent id="start"/><bpmn:userTask id="call" name="call"/>'
    '<bpmn:endEvent id="end"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>\n'
)


def test_every_element_of_an_unreached_chain_is_refused_once(owner: Actor, db: Any) -> None:
    """Nothing leads to ``brochure``; only it leads to ``follow_up``, which leads to the end:
    before, ``brochure`` alone was refused and the two after it deployed, never to run."""
    xml = process(
        "with_chain",
        CALL + '<bpmn:userTask id="brochure"/>\n<bpmn:userTask id="follow_up"/>\n'
        '<bpmn:endEvent id="chain_end"/>\n'
        '<bpmn:sequenceFlow id="c1" sourceRef="brochure" targetRef="follow_up"/>'
        '<bpmn:sequenceFlow id="c2" sourceRef="follow_up" targetRef="chain_end"/>',
    )
    details = refused(deploy(owner, xml))
    assert [d["element_id"] for d in details] == ["brochure", "follow_up", "chain_end"]
    found = by_element(details)
    assert "userTask 'brochure': nothing leads to this task" in found["brochure"]
    assert "userTask 'follow_up': nothing that runs leads to this task" in found["follow_up"]
    assert "only 'brochure' leads here" in found["follow_up"]
    assert "only 'follow_up' leads here" in found["chain_end"]
    for detail in details:
        assert detail["line"] == line_of(f'id="{detail["element_id"]}"', xml)
    nothing_deployed(db)


def test_a_loop_only_reached_from_itself_is_refused(owner: Actor, db: Any) -> None:
    """``retry`` and ``again`` lead to each other and nothing else leads in: neither runs."""
    xml = process(
        "with_loop",
        CALL + '<bpmn:userTask id="retry"/><bpmn:exclusiveGateway id="again" default="l2"/>'
        '<bpmn:endEvent id="gave_up"/>'
        '<bpmn:sequenceFlow id="l1" sourceRef="retry" targetRef="again"/>'
        '<bpmn:sequenceFlow id="l2" sourceRef="again" targetRef="retry"/>'
        '<bpmn:sequenceFlow id="l3" sourceRef="again" targetRef="gave_up">'
        "<bpmn:conditionExpression>done</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    found = by_element(refused(deploy(owner, xml)))
    assert {"retry", "again", "gave_up"} <= set(found)
    assert "nothing that runs leads to this task: only 'again' leads here" in found["retry"]
    assert "call" not in found and "end" not in found
    nothing_deployed(db)


def test_an_unreached_subprocess_is_refused_as_one_element(owner: Actor, db: Any) -> None:
    """Its inside, reached from its own start event, runs whenever the subprocess does: the
    subprocess is the problem, and what follows it, and boundary events on it lead nowhere."""
    xml = process(
        "with_stray_sub",
        CALL + '<bpmn:subProcess id="qualify"><bpmn:startEvent id="q_start"/>'
        '<bpmn:userTask id="q_ask"/><bpmn:endEvent id="q_end"/>'
        '<bpmn:sequenceFlow id="q1" sourceRef="q_start" targetRef="q_ask"/>'
        '<bpmn:sequenceFlow id="q2" sourceRef="q_ask" targetRef="q_end"/></bpmn:subProcess>'
        '<bpmn:boundaryEvent id="late" attachedToRef="qualify">'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>'P1D'</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:userTask id="chase"/><bpmn:endEvent id="qualified"/><bpmn:endEvent id="chased"/>'
        '<bpmn:sequenceFlow id="s1" sourceRef="qualify" targetRef="qualified"/>'
        '<bpmn:sequenceFlow id="s2" sourceRef="late" targetRef="chase"/>'
        '<bpmn:sequenceFlow id="s3" sourceRef="chase" targetRef="chased"/>',
    )
    found = by_element(refused(deploy(owner, xml)))
    assert set(found) == {"qualify", "qualified", "chase", "chased"}
    nothing_deployed(db)


AD_HOC = (
    '<bpmn:adHocSubProcess id="extras"><bpmn:userTask id="x_mail" name="x_mail"/>'
    '<bpmn:userTask id="x_visit" name="x_visit"/><bpmn:scriptTask id="x_after">'
    "<bpmn:script>visited = True</bpmn:script></bpmn:scriptTask>"
    '<bpmn:sequenceFlow id="x1" sourceRef="x_visit" targetRef="x_after"/>'
    "</bpmn:adHocSubProcess>"
)


def test_what_starts_without_a_flow_and_what_follows_it_deploys(owner: Actor, agent: Actor) -> None:
    """A boundary event on a task that runs, and the chain after it; a subprocess entered at
    its start event; a link throw's catch and what follows it; a pool that is only drawn."""
    xml = definitions(
        '<bpmn:collaboration id="collab">'
        '<bpmn:participant id="p_us" processRef="all_reached"/>'
        '<bpmn:participant id="p_them" processRef="drawn"/></bpmn:collaboration>\n'
        '<bpmn:process id="all_reached" isExecutable="true">'
        '<bpmn:startEvent id="start"/><bpmn:userTask id="call" name="call"/>'
        '<bpmn:boundaryEvent id="late" attachedToRef="call" cancelActivity="false">'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>'P1D'</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:userTask id="remind"/><bpmn:scriptTask id="note_late"><bpmn:script>late = True'
        '</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="reminded"/>'
        '<bpmn:subProcess id="qualify"><bpmn:startEvent id="q_start"/>'
        '<bpmn:userTask id="q_ask" name="q_ask"/><bpmn:endEvent id="q_end"/>'
        '<bpmn:sequenceFlow id="q1" sourceRef="q_start" targetRef="q_ask"/>'
        '<bpmn:sequenceFlow id="q2" sourceRef="q_ask" targetRef="q_end"/></bpmn:subProcess>'
        '<bpmn:intermediateThrowEvent id="jump"><bpmn:linkEventDefinition name="page2"/>'
        "</bpmn:intermediateThrowEvent>"
        '<bpmn:intermediateCatchEvent id="landed"><bpmn:linkEventDefinition name="page2"/>'
        '</bpmn:intermediateCatchEvent><bpmn:userTask id="close" name="close"/>'
        '<bpmn:endEvent id="end"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="qualify"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="qualify" targetRef="jump"/>'
        '<bpmn:sequenceFlow id="f5" sourceRef="landed" targetRef="close"/>'
        '<bpmn:sequenceFlow id="f6" sourceRef="close" targetRef="end"/>'
        '<bpmn:sequenceFlow id="b1" sourceRef="late" targetRef="remind"/>'
        '<bpmn:sequenceFlow id="b2" sourceRef="remind" targetRef="note_late"/>'
        '<bpmn:sequenceFlow id="b3" sourceRef="note_late" targetRef="reminded"/>'
        "</bpmn:process>\n"
        '<bpmn:process id="drawn" isExecutable="false"><bpmn:task id="think"/>'
        '<bpmn:task id="answer"/><bpmn:sequenceFlow id="d1" sourceRef="think" '
        'targetRef="answer"/></bpmn:process>'
    )
    deployed(owner, xml)
    instance = agent.start("all_reached")
    instance = agent.complete_ok(the(instance, "call")["id"])
    assert names(instance) == ["q_ask"]
    instance = agent.complete_ok(the(instance, "q_ask")["id"])
    assert names(instance) == ["close"]  # along the link
    assert agent.complete_ok(the(instance, "close")["id"])["status"] == "completed"


def test_event_subprocesses_and_compensation_handlers_are_not_called_unreached(
    owner: Actor,
) -> None:
    """They start without an incoming flow, and so does what their start event leads to.
    Dialflow refuses both for what they are (``engine.constructs``), never as unreached."""
    xml = process(
        "with_handlers",
        CALL + '<bpmn:subProcess id="on_cancel" triggeredByEvent="true">'
        '<bpmn:startEvent id="e_start"><bpmn:messageEventDefinition messageRef="msg_cancel"/>'
        '</bpmn:startEvent><bpmn:userTask id="e_undo"/><bpmn:endEvent id="e_end"/>'
        '<bpmn:sequenceFlow id="e1" sourceRef="e_start" targetRef="e_undo"/>'
        '<bpmn:sequenceFlow id="e2" sourceRef="e_undo" targetRef="e_end"/></bpmn:subProcess>'
        '<bpmn:userTask id="refund" isForCompensation="true"/>',
        before='<bpmn:message id="msg_cancel" name="cancel"/>',
    )
    response = deploy(owner, xml)
    if response.status_code != 201:
        for message in by_element(refused(response)).values():
            assert "leads to this" not in message


def test_an_ad_hoc_subprocess_is_refused_for_what_it_is_not_its_loose_activities(
    owner: Actor, db: Any
) -> None:
    """Its activities start without an incoming flow; the reachability check leaves them
    alone, and the ad-hoc subprocess itself is refused (``engine.constructs``)."""
    xml = process(
        "extras_only",
        '<bpmn:startEvent id="a_start"/>' + AD_HOC + '<bpmn:endEvent id="a_end"/>'
        '<bpmn:sequenceFlow id="a1" sourceRef="a_start" targetRef="extras"/>'
        '<bpmn:sequenceFlow id="a2" sourceRef="extras" targetRef="a_end"/>',
    )
    found = by_element(refused(deploy(owner, xml)))
    assert set(found) == {"extras"}, found
    assert "ad-hoc subprocesses are not supported" in found["extras"]
    nothing_deployed(db)
