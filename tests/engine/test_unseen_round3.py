"""A third round of diagrams in styles not seen before, deployed and run through the API:
an ADONIS-style export with link events as off-page connectors, Trisotech-style ``semantic:``
files with two pools, default-namespace files with Chinese ids, and constructs that must
be refused element by element instead of deploying and then running wrongly or never.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest

from tests.engine.conftest import DIAGRAMS, Actor, by_element, refused
from tests.engine.diagram_folders import nothing_deployed

UNSEEN3 = DIAGRAMS / "unseen3"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" '
    'targetNamespace="http://dialflow.example/round3">\n'
)


def process(process_id: str, body: str, roots: str = "") -> str:
    """A one-process BPMN file around ``body``, with ``roots`` (messages …) beside it."""
    return (
        f'{HEAD}{roots}<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    )


def upload(actor: Actor, name: str, content: bytes) -> Any:
    return actor.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name)]},
        content_type="multipart/form-data",
    )


def diagram(name: str) -> bytes:
    return (UNSEEN3 / name).read_bytes()


def deploy(actor: Actor, name: str, content: bytes | None = None) -> dict[str, Any]:
    response = upload(actor, name, diagram(name) if content is None else content)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def line_of(fragment: str, text: str) -> int:
    return text.count("\n", 0, text.index(fragment)) + 1


# -- link events: off-page connectors --------------------------------------------------------


@pytest.mark.parametrize(
    ("reached", "next_task", "data"),
    [(True, "obj_contract", {"price": 1200}), (False, "obj_plan", {})],
    ids=["reached-goes-to-closing", "not-reached-goes-to-retry"],
)
def test_link_events_carry_the_flow_to_their_catch(owner, agent, reached, next_task, data):
    """SpiffWorkflow 3.2 ended the path at the link throw event: the instance completed
    right after the call, without the subprocess or the retry task."""
    assert deploy(owner, "adonis_links.bpmn")["process_ids"] == ["adonis_callback"]
    started = agent.start("adonis_callback", {"plan": "pro"})
    (call,) = started["ready_tasks"]
    assert call["name"] == "obj_call" and call["lane"] == "agent"
    after_call = agent.complete_ok(call["id"], {"reached": reached})
    assert after_call["status"] == "running"
    (task,) = after_call["ready_tasks"]
    assert task["name"] == next_task
    done = agent.complete_ok(task["id"])
    assert done["status"] == "completed"
    assert done["data"] == {"plan": "pro", "reached": reached, **data}


@pytest.mark.parametrize(
    ("old", "new", "element_id", "fragment"),
    [
        ('id="led_2" name="Retry"', 'id="led_2" name="Later"', "obj_to_retry", "no link catch"),
        ('id="led_4" name="Contract"', 'id="led_4" name="Closing"', None, None),
        (
            '<bpmn:sequenceFlow id="rel_3"',
            '<bpmn:sequenceFlow id="rel_x" sourceRef="obj_to_retry" targetRef="obj_plan"/>'
            '<bpmn:sequenceFlow id="rel_3"',
            "obj_to_retry",
            "has no outgoing sequence flow",
        ),
        (
            '<bpmn:userTask id="obj_plan"',
            '<bpmn:intermediateCatchEvent id="obj_twin"><bpmn:linkEventDefinition name="Retry"/>'
            '</bpmn:intermediateCatchEvent><bpmn:userTask id="obj_plan"',
            "obj_twin",
            "2 link catch events here are named 'Retry'",
        ),
    ],
    ids=["no-catch", "catch-in-another-scope", "throw-with-outgoing-flow", "two-catches"],
)
def test_links_that_lead_nowhere_or_twice_are_refused(owner, db, old, new, element_id, fragment):
    text = diagram("adonis_links.bpmn").decode()
    assert text.count(old) == 1
    broken = text.replace(old, new)
    found = by_element(refused(upload(owner, "links.bpmn", broken.encode())))
    if element_id is None:  # the subprocess's throw now names the top level's catch
        assert "no link catch event named 'Closing'" in found["obj_sub_jump"]
    else:
        assert fragment in found[element_id]
    nothing_deployed(db)


# -- transactions and compensation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("declined", "next_task"),
    [(False, "Id_ship"), (True, "Id_other_card")],
    ids=["paid", "declined"],
)
def test_a_cancel_end_in_a_transaction_takes_its_cancel_boundary(owner, agent, declined, next_task):
    deploy(owner, "bizagi_payment_txn.bpmn")
    (charge,) = agent.start("Id_payment")["ready_tasks"]
    after = agent.complete_ok(charge["id"], {"declined": declined})
    assert [task["name"] for task in after["ready_tasks"]] == [next_task]
    assert agent.complete_ok(after["ready_tasks"][0]["id"])["status"] == "completed"


COMPENSATING = process(
    "booking",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="book" name="Book the slot"><bpmn:script>booked = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:boundaryEvent id="undo_book" attachedToRef="book">
      <bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
    <bpmn:scriptTask id="unbook" name="Free the slot" isForCompensation="true">
      <bpmn:script>booked = False</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateThrowEvent id="roll_back" name="Undo">
      <bpmn:compensateEventDefinition/></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="book"/>
    <bpmn:sequenceFlow id="f2" sourceRef="book" targetRef="roll_back"/>
    <bpmn:sequenceFlow id="f3" sourceRef="roll_back" targetRef="end"/>
    <bpmn:association id="a1" sourceRef="undo_book" targetRef="unbook"/>
    """,
)


@pytest.mark.parametrize("keep_boundary", [True, False], ids=["with-boundary", "throw-only"])
def test_compensation_throws_and_handlers_are_refused(owner, db, keep_boundary):
    """Without the boundary event the diagram deployed and its instance completed with
    ``booked`` still true: SpiffWorkflow 3.2 passed the throw by and never ran the handler."""
    text = COMPENSATING
    if not keep_boundary:
        text = text.replace(
            '<bpmn:boundaryEvent id="undo_book" attachedToRef="book">\n'
            "      <bpmn:compensateEventDefinition/></bpmn:boundaryEvent>",
            "",
        ).replace('<bpmn:association id="a1" sourceRef="undo_book" targetRef="unbook"/>', "")
    details = refused(upload(owner, "booking.bpmn", text.encode()))
    found = by_element(details)
    expected = {"roll_back", "unbook"} | ({"undo_book"} if keep_boundary else set())
    assert set(found) == expected, details
    assert all("compensation is not supported" in message for message in found.values())
    lines = {d["element_id"]: d["line"] for d in details}
    assert lines["roll_back"] == line_of('id="roll_back"', text)
    nothing_deployed(db)


# -- Trisotech: semantic: prefix, two pools, a parallel multi-instance with a completion rule ---

ASPECTS = {"price": "12%", "term": "24 months", "volume": "50 seats"}


@pytest.fixture
def manager(actor: Any) -> Actor:
    return actor("manager", username="boss", team="East")


@pytest.mark.parametrize(
    ("verdicts", "status"),
    [([True, True, True], "waiting"), ([True, False], "completed")],
    ids=["all-approve", "one-refusal-ends-the-round"],
)
def test_trisotech_multi_instance_approvals_and_the_customer_pool(
    owner, agent, manager, verdicts, status
):
    assert deploy(owner, "trisotech_approvals.bpmn")["process_ids"] == ["_disc_approval"]
    started = agent.start("_disc_approval", {"aspects": ASPECTS}, business_key="deal-9")
    assert [t["lane"] for t in started["ready_tasks"]] == ["manager"] * 3
    items = manager.tasks("candidate=1")
    for item, verdict in zip(items, verdicts, strict=False):
        after = manager.complete_ok(item["id"], {"approved": verdict})
    assert manager.tasks("candidate=1") == []  # a refusal cancelled the third approval
    assert after["data"]["verdicts"] == dict(zip(ASPECTS, verdicts, strict=False))
    if status == "completed":
        assert after["status"] == "completed"
        return
    (offer,) = after["ready_tasks"]
    assert offer["lane"] == "agent"
    waiting = agent.complete_ok(offer["id"])
    assert waiting["status"] == status
    assert waiting["waiting"] == [{"kind": "message", "name": "customer_answer"}]
    answer = {"name": "customer_answer", "business_key": "deal-9", "payload": {"ok": True}}
    assert agent.post("/api/v1/messages", json=answer).status_code == 202
    assert agent.instance(started["id"])["status"] == "completed"


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (
            '<semantic:outputDataItem id="approved" name="approved"/>',
            '<semantic:outputDataItem id="DataOutput_7" name="approved"/>',
            "outputDataItem 'DataOutput_7' is named 'approved', but each instance's task data "
            "would be named by its id",
        ),
        (
            '<semantic:inputDataItem id="aspect" name="aspect"/>',
            '<semantic:inputDataItem id="_in_1" name="aspect"/>',
            "inputDataItem '_in_1' is named 'aspect'",
        ),
        (">not approved<", ">not approved ==<", "completionCondition is not a valid Python"),
        (
            "<semantic:loopDataInputRef>aspects</semantic:loopDataInputRef>",
            "<semantic:loopCardinality>len(aspects</semantic:loopCardinality>",
            "loopCardinality is not a valid Python",
        ),
    ],
    ids=["output-item-id-is-not-its-name", "input-item", "completion-condition", "cardinality"],
)
def test_multi_instance_items_and_expressions_are_checked_at_deploy(owner, db, old, new, fragment):
    """Each deployed before and failed only when an instance reached the task or completed
    its first approval (``Expected an output item``, or an incident on the expression)."""
    text = diagram("trisotech_approvals.bpmn").decode()
    assert text.count(old) == 1
    broken = text.replace(old, new)
    if "loopCardinality" in new:  # cardinality instead of the collection: no items then
        broken = broken.replace('<semantic:inputDataItem id="aspect" name="aspect"/>', "")
    details = refused(upload(owner, "approvals.bpmn", broken.encode()))
    found = by_element(details)
    assert fragment in found["_approve"], details
    (detail,) = [d for d in details if d["element_id"] == "_approve"]
    assert detail["line"] == line_of('<semantic:userTask id="_approve"', broken)
    nothing_deployed(db)


def test_a_standard_loop_condition_is_checked_at_deploy(owner, db):
    text = process(
        "ring_until_answered",
        """
        <bpmn:startEvent id="start"/>
        <bpmn:userTask id="ring" name="Ring">
          <bpmn:standardLoopCharacteristics loopMaximum="5">
            <bpmn:loopCondition>answered =</bpmn:loopCondition>
          </bpmn:standardLoopCharacteristics>
        </bpmn:userTask>
        <bpmn:endEvent id="end"/>
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ring"/>
        <bpmn:sequenceFlow id="f2" sourceRef="ring" targetRef="end"/>
        """,
    )
    found = by_element(refused(upload(owner, "ring.bpmn", text.encode())))
    assert "loopCondition is not a valid Python expression: 'answered ='" in found["ring"]
    nothing_deployed(db)


# -- messages that name no message -------------------------------------------------------------

WAIT_BEFORE_END = """
<bpmn:startEvent id="start"/>
{element}
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{element_id}"/>
<bpmn:sequenceFlow id="f2" sourceRef="{element_id}" targetRef="end"/>
"""


@pytest.mark.parametrize(
    ("element_id", "element", "fragment"),
    [
        (
            "tell_team",
            '<bpmn:intermediateThrowEvent id="tell_team" name="Tell the team">'
            "<bpmn:messageEventDefinition/></bpmn:intermediateThrowEvent>",
            "no messageRef",
        ),
        (
            "wait_reply",
            '<bpmn:intermediateCatchEvent id="wait_reply">'
            "<bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>",
            "no messageRef",
        ),
        ("get_reply", '<bpmn:receiveTask id="get_reply"/>', "name the message it waits for"),
        ("mail_quote", '<bpmn:sendTask id="mail_quote"/>', "name the message it sends"),
        (
            "mail_quote",
            '<bpmn:sendTask id="mail_quote" messageRef="Message_0x1"/>',
            "messageRef 'Message_0x1' names no <bpmn:message>",
        ),
    ],
    ids=["throw-event", "catch-event", "receive-task", "send-task", "send-task-to-nothing"],
)
def test_message_elements_without_a_message_are_refused(
    owner, agent, db, element_id, element, fragment
):
    """These deployed: the throw event then failed every start with a 500 (the queued
    message had no name), the catch waited for a message named ``None`` for good, the receive
    task passed at once and the send task sent nothing."""
    body = WAIT_BEFORE_END.format(element=element, element_id=element_id)
    found = by_element(
        refused(upload(owner, "messages.bpmn", process("no_message", body).encode()))
    )
    assert fragment in found[element_id]
    nothing_deployed(db)
    response = agent.post("/api/v1/process-instances", json={"process_id": "no_message"})
    assert response.status_code == 404


def test_a_timer_with_no_date_duration_or_cycle_says_so(owner, db):
    body = WAIT_BEFORE_END.format(
        element_id="pause",
        element='<bpmn:intermediateCatchEvent id="pause"><bpmn:timerEventDefinition/>'
        "</bpmn:intermediateCatchEvent>",
    )
    (detail,) = refused(upload(owner, "pause.bpmn", process("pause_flow", body).encode()))
    assert detail["element_id"] == "pause"
    assert "needs a date, a duration or a cycle" in detail["message"]
    assert "Unknown Time Specification" not in detail["message"]


# -- a file written on one line -----------------------------------------------------------------

ONE_LINE = (
    '<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="http://www.omg.org/spec/BPMN/'
    '20100524/MODEL" id="defs_min" targetNamespace="http://dialflow.example/min"><process '
    'id="minified" isExecutable="true"><startEvent id="start"/><userTask id="call" '
    'priority="high"/><userTask id="call"/><task id="note"><frob/></task><endEvent id="end"/>'
    '<sequenceFlow id="f1" sourceRef="start" targetRef="call"/><sequenceFlow id="f2" '
    'sourceRef="call" targetRef="note"/><sequenceFlow id="f3" sourceRef="note" targetRef="end"/>'
    "</process></definitions>"
)


def test_schema_problems_of_a_one_line_file_name_their_own_elements(owner, db):
    """Every problem of a minified file is on line 1: each was put on the line's last element
    with an id (``f3``), not on the element it is about."""
    details = refused(upload(owner, "minified.bpmn", ONE_LINE.encode()))
    assert {d["line"] for d in details} == {1}
    found = by_element(details)
    assert "'priority'" in found["call"] and "id 'call' is given to 2 elements" in found["call"]
    assert "frob" in found["note"]
    assert "f3" not in found
    nothing_deployed(db)


# -- very long and very deep documents --------------------------------------------------------


def chain(count: int) -> str:
    """A process of ``count`` tasks in a row."""
    body = '<bpmn:startEvent id="start"/>\n'
    for i in range(count):
        source = "start" if i == 0 else f"step_{i - 1}"
        body += f'<bpmn:task id="step_{i}"/>\n'
        body += f'<bpmn:sequenceFlow id="f{i}" sourceRef="{source}" targetRef="step_{i}"/>\n'
    body += '<bpmn:endEvent id="end"/>\n'
    body += f'<bpmn:sequenceFlow id="f_end" sourceRef="step_{count - 1}" targetRef="end"/>\n'
    return process("checklist", body)


def test_a_flow_too_long_for_the_parser_is_refused_in_plain_words(owner, db):
    details = refused(upload(owner, "checklist.bpmn", chain(1000).encode()))
    (detail,) = details
    assert "too long" in detail["message"] and "subprocesses" in detail["message"]
    assert "RecursionError" not in detail["message"]
    assert detail["element_id"].startswith("step_") and detail["line"]
    nothing_deployed(db)


def test_a_long_flow_within_the_limit_deploys_and_runs(owner, agent):
    deploy(owner, "checklist.bpmn", chain(300).encode())
    (first,) = agent.start("checklist")["ready_tasks"]
    assert first["name"] == "step_0"
    assert [t["name"] for t in agent.complete_ok(first["id"])["ready_tasks"]] == ["step_1"]


def test_elements_nested_past_the_reader_s_depth_are_refused_in_plain_words(owner, db):
    depth = 300
    opened = "".join(
        f'<bpmn:subProcess id="box_{i}"><bpmn:startEvent id="in_{i}"/>' for i in range(depth)
    )
    closed = "</bpmn:subProcess>" * depth
    text = process("nested", f'<bpmn:startEvent id="start"/>{opened}{closed}')
    (detail,) = refused(upload(owner, "nested.bpmn", text.encode()))
    assert "nested more than 256 levels deep" in detail["message"]
    assert "XML_PARSE_HUGE" not in detail["message"]
    nothing_deployed(db)


# -- a non-interrupting message boundary event catches every message while its task runs ------


def test_every_note_sent_during_the_task_opens_its_own_answer(owner, agent):
    """SpiffWorkflow 3.2 caught the first message only: the second found nothing waiting and
    was answered 404 ``no_matching_instance``, although the task it was meant for still ran."""
    deploy(owner, "signavio_customer_notes.bpmn")
    started = agent.start("sid-lead-work", business_key="lead-77")
    for number in range(3):
        note = {"name": "customer_note", "business_key": "lead-77", "payload": {"note": number}}
        response = agent.post("/api/v1/messages", json=note)
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["delivered_to"] == [started["id"]]
    during = agent.instance(started["id"])
    assert sorted(t["name"] for t in during["ready_tasks"]) == ["sid-answer"] * 3 + ["sid-work"]
    assert during["waiting"] == [{"kind": "message", "name": "customer_note"}]
    mine = agent.tasks("candidate=1")
    (work,) = [t for t in mine if t["name"] == "sid-work"]
    after_work = agent.complete_ok(work["id"])
    assert after_work["waiting"] == []  # the task ended: no more notes are taken
    late = {"name": "customer_note", "business_key": "lead-77"}
    assert agent.post("/api/v1/messages", json=late).status_code == 404
    notes = []
    for answer in [t for t in mine if t["name"] == "sid-answer"]:
        done = agent.complete_ok(answer["id"])
        notes.append(done["data"]["note"])
    assert sorted(notes) == [0, 1, 2]
    assert done["status"] == "completed"


# -- conditions that would never be evaluated ---------------------------------------------------

CONDITIONS = process(
    "follow_up_rules",
    """
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="score" name="Score"><bpmn:script>points = 3</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f_conditional" sourceRef="score" targetRef="split">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">points &gt; 5
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f_vip" sourceRef="split" targetRef="pick">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">vip</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_always" sourceRef="split" targetRef="pick_join"/>
    <bpmn:exclusiveGateway id="pick" default="f_other"/>
    <bpmn:sequenceFlow id="f_big" sourceRef="pick" targetRef="call">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">big</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_other" sourceRef="pick" targetRef="wait">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">not big</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="call" name="Call"/>
    <bpmn:eventBasedGateway id="wait"/>
    <bpmn:sequenceFlow id="f_w1" sourceRef="wait" targetRef="remind"/>
    <bpmn:userTask id="remind" name="Remind"/>
    <bpmn:parallelGateway id="pick_join"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f_s" sourceRef="start" targetRef="score"/>
    <bpmn:sequenceFlow id="f_c" sourceRef="call" targetRef="pick_join"/>
    <bpmn:sequenceFlow id="f_r" sourceRef="remind" targetRef="end"/>
    <bpmn:sequenceFlow id="f_j" sourceRef="pick_join" targetRef="end"/>
    """,
)


def test_conditions_that_would_never_be_evaluated_are_refused(owner, agent, db):
    """A condition on the flow out of a task (Camunda's conditional flow) or a parallel
    gateway was ignored and the flow always taken; a default flow's condition too; an
    event-based gateway leading to a user task failed with ``AttributeError``."""
    details = refused(upload(owner, "rules.bpmn", CONDITIONS.encode()))
    found = by_element(details)
    assert "leaves scriptTask 'score'" in found["f_conditional"]
    assert "leaves parallelGateway 'split'" in found["f_vip"]
    assert "is the default flow of 'pick'" in found["f_other"]
    assert "leads to userTask 'remind'" in found["wait"]
    assert set(found) == {"f_conditional", "f_vip", "f_other", "wait"}, details
    assert not any("AttributeError" in d["message"] for d in details)
    lines = {d["element_id"]: d["line"] for d in details}
    assert lines["f_vip"] == line_of('id="f_vip"', CONDITIONS)
    nothing_deployed(db)


# -- nested lanes and a terminate end event inside a subprocess ---------------------------------


def test_child_lanes_route_tasks_and_a_terminate_end_ends_only_its_subprocess(
    owner, agent, manager
):
    deploy(owner, "nested_lanes_terminate.bpmn")
    started = agent.start("quote_desk")
    lanes = {t["name"]: t["lane"] for t in started["ready_tasks"]}
    assert lanes == {"prepare": "agent", "check_credit": "agent", "check_stock": "agent"}
    tasks = {t["name"]: t for t in agent.tasks("candidate=1")}
    after_credit = agent.complete_ok(tasks["check_credit"]["id"], {"refused": True})
    # the terminate end closed the subprocess's other task, not the instance
    assert after_credit["status"] == "running"
    assert [t["name"] for t in after_credit["ready_tasks"]] == ["prepare"]
    assert agent.complete(tasks["check_stock"]["id"]).status_code == 409
    after_prepare = agent.complete_ok(tasks["prepare"]["id"])
    (approve,) = after_prepare["ready_tasks"]
    assert approve["lane"] == "manager"
    assert agent.tasks("candidate=1") == []
    assert manager.complete_ok(approve["id"])["status"] == "completed"
