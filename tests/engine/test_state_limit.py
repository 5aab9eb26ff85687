"""A step may not grow an instance's state past ``DIALFLOW_MAX_INSTANCE_STATE`` (4 MiB of
stored JSON by default): the step is kept out (its handlers' writes undone, nothing of it
stored), the instance stays where it was, in error with a ``data_too_large`` incident on
the task that grew the data, and a retry after a fix goes on from there."""

from __future__ import annotations

from datetime import timedelta

from crm.users import create_token
from engine.models import ProcessInstance
from tests.conftest import PASSWORD, sign_in
from tests.engine.conftest import Actor, notes_of, one_process
from tests.web.test_pages import csrf_token

SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM = b'{"type": "object", "properties": {"count": {"type": "integer"}}}'
GROWING = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://example.com/growth">
  <bpmn:process id="growing" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="ask" name="How many lines">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="count.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:serviceTask id="note" name="Write note">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="note_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>
            <spiffworkflow:parameter id="text" type="str" value="'lines: ' + str(count)"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:scriptTask id="grow" name="Collect lines">
      <bpmn:script>lines = []
for n in range(count):
    lines.append("x" * 1000)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="after" name="Read them"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="note"/>
    <bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="grow"/>
    <bpmn:sequenceFlow id="f4" sourceRef="grow" targetRef="after"/>
    <bpmn:sequenceFlow id="f5" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_step_that_grows_the_data_past_the_limit_is_an_incident_and_kept_out(
    owner, agent, db, make_customer
):
    customer = make_customer(actor=agent.user, name="数据客户", phone="13800138011")
    assert owner.upload(extra=[("growing.bpmn", GROWING), ("count.json", FORM)]).status_code == 201
    started = agent.start("growing", {"customer_id": customer.id})
    (ask,) = started["ready_tasks"]
    with db() as session:
        before = session.get(ProcessInstance, started["id"]).state

    grown = agent.complete(ask["id"], {"count": 5000})  # 5 MB of lines
    assert grown.status_code == 200, grown.get_json()
    instance = grown.get_json()
    assert instance["status"] == "error"
    (incident,) = instance["incidents"]
    assert (incident["kind"], incident["element_id"]) == ("data_too_large", "grow")
    assert "over the limit of 4,194,304" in incident["message"]
    assert [t["id"] for t in instance["ready_tasks"]] == [ask["id"]]  # still to be done
    assert "lines" not in instance["data"] and "count" not in instance["data"]
    assert notes_of(db, customer.id) == []  # the handler's note went with the step
    with db() as session:
        assert session.get(ProcessInstance, started["id"]).state == before
    assert agent.instance(started["id"])["incidents"] == instance["incidents"]

    retried = owner.post(f"/api/v1/process-instances/{started['id']}/retry", json={})
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "running"
    assert retried.get_json()["incidents"] == []
    done = agent.complete_ok(ask["id"], {"count": 3})
    assert [t["name"] for t in done["ready_tasks"]] == ["after"]
    assert len(done["data"]["lines"]) == 3
    assert notes_of(db, customer.id) == ["lines: 3"]


GROWING_AT_START = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://example.com/growth">
  <bpmn:process id="growing_start" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="grow" name="Collect lines">
      <bpmn:script>lines = ["x" * 1000 for n in range(count)]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grow"/>
    <bpmn:sequenceFlow id="f2" sourceRef="grow" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_start_that_grows_the_data_past_the_limit_is_refused(owner, agent, db):
    assert owner.upload(extra=[("start.bpmn", GROWING_AT_START)]).status_code == 201
    response = agent.post(
        "/api/v1/process-instances", json={"process_id": "growing_start", "data": {"count": 5000}}
    )
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "instance_data_too_large"
    assert error["details"][0]["element_id"] == "grow"
    with db() as session:
        assert session.query(ProcessInstance).count() == 0


GROWING_ON_MESSAGE = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://example.com/growth">
  <bpmn:message id="m_ready" name="lines_ready"/>
  <bpmn:process id="growing_message" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:messageEventDefinition id="med" messageRef="m_ready"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="grow" name="Collect lines">
      <bpmn:script>lines = ["x" * 1000 for n in range(count)]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="after" name="Read them"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="grow"/>
    <bpmn:sequenceFlow id="f3" sourceRef="grow" targetRef="after"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_message_whose_step_grows_past_the_limit_is_refused(owner, agent):
    """Refused by the only instance waiting: the sender gets the 422, nothing is stored and
    the instance still waits; a smaller message is taken."""
    assert owner.upload(extra=[("message.bpmn", GROWING_ON_MESSAGE)]).status_code == 201
    started = agent.start("growing_message", business_key="m-1")
    message = {"name": "lines_ready", "business_key": "m-1", "payload": {"count": 5000}}
    refused = agent.post("/api/v1/messages", json=message)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"]["code"] == "instance_data_too_large"
    waiting = agent.instance(started["id"])
    assert (waiting["status"], waiting["incidents"]) == ("waiting", [])
    taken = agent.post("/api/v1/messages", json={**message, "payload": {"count": 3}})
    assert taken.get_json()["delivered_to"] == [started["id"]]
    assert len(agent.instance(started["id"])["data"]["lines"]) == 3


def test_an_instance_that_refuses_a_message_others_take_is_left_as_it_was(owner, agent):
    """Two instances wait for the message; one takes it, the step of the other would grow
    past the limit: that one refuses it (listed as refused) and still waits, without an
    incident. Before, it was left in error with a ``data_too_large`` incident whose retry
    went back to waiting for a message that had passed."""
    sized = GROWING_ON_MESSAGE.replace(b'"x" * 1000', b'"x" * size')
    assert owner.upload(extra=[("message.bpmn", sized)]).status_code == 201
    small = agent.start("growing_message", {"size": 1}, business_key="m-2")
    large = agent.start("growing_message", {"size": 1000}, business_key="m-2")
    message = {"name": "lines_ready", "business_key": "m-2", "payload": {"count": 5000}}
    sent = agent.post("/api/v1/messages", json=message)
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [small["id"]]
    assert [r["instance_id"] for r in sent.get_json()["refused"]] == [large["id"]]
    waiting = agent.instance(large["id"])
    assert (waiting["status"], waiting["incidents"]) == ("waiting", [])
    assert [w["name"] for w in waiting["waiting"]] == ["lines_ready"]


def test_the_task_page_says_a_completion_kept_out_was_not_done(
    client, db, make_user, make_customer, owner
):
    user = make_user("agent", username="zhou", password=PASSWORD)
    with db() as session:
        token = create_token(session, user, name="test")
    zhou = Actor(client, user, {"Authorization": f"Bearer {token}"})
    customer = make_customer(actor=user, name="页面客户", phone="13800138012")
    assert owner.upload(extra=[("growing.bpmn", GROWING), ("count.json", FORM)]).status_code == 201
    started = zhou.start("growing", {"customer_id": customer.id})
    task_id = started["ready_tasks"][0]["id"]

    assert sign_in(client, "zhou").status_code == 302
    page = client.get(f"/tasks/{task_id}").text
    answer = client.post(
        f"/tasks/{task_id}", data={"csrf_token": csrf_token(page), "field:count": "5000"}
    )
    assert answer.status_code == 302 and answer.location.endswith(f"/tasks/{task_id}")
    shown = client.get(answer.location).text
    assert "未完成：完成后流程数据将超出上限" in shown
    assert zhou.instance(started["id"])["status"] == "error"


GROWING_ON_SIGNAL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="{SPIFF}" id="defs" targetNamespace="http://example.com/growth">
  <bpmn:signal id="s_ready" name="price_list_ready"/>
  <bpmn:process id="growing_signal" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:signalEventDefinition id="sed" signalRef="s_ready"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="grow" name="Collect lines">
      <bpmn:script>lines = ["x" * 1000 for n in range(count)]</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="after" name="Read them"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="grow"/>
    <bpmn:sequenceFlow id="f3" sourceRef="grow" targetRef="after"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_signal_whose_step_grows_past_the_limit_is_not_said_to_have_reached_it(owner, agent):
    """As a message: the instance whose step would grow past the limit refuses the signal
    and still waits for it, the others take it; the broadcast does not list it as reached
    (before: listed, the signal gone and the instance in error, its retry waiting for a
    signal that had passed)."""
    assert owner.upload(extra=[("signal.bpmn", GROWING_ON_SIGNAL)]).status_code == 201
    large = agent.start("growing_signal", {"count": 5000})
    small = agent.start("growing_signal", {"count": 3})
    sent = owner.post("/api/v1/signals", json={"name": "price_list_ready"})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [small["id"]]
    waiting = agent.instance(large["id"])
    assert (waiting["status"], waiting["incidents"]) == ("waiting", [])
    assert [w["name"] for w in waiting["waiting"]] == ["price_list_ready"]
    assert [t["name"] for t in agent.instance(small["id"])["ready_tasks"]] == ["after"]


def test_a_timer_start_over_the_limit_does_not_hold_up_the_other_timer_starts(timed):
    """A process whose timer start would grow past the limit is not started, and its time
    passes; before, the scheduler tried it again at every pass and, the earliest due, it
    stopped every timer start due after it."""

    def starting_in(process_id: str, minutes: int, script: str) -> tuple[str, bytes]:
        body = (
            f"<startEvent id=\"s\"><timerEventDefinition><timeDuration>'PT{minutes}M'"
            "</timeDuration></timerEventDefinition></startEvent>"
            f'<scriptTask id="grow"><script>{script}</script></scriptTask>'
            '<userTask id="look"/><endEvent id="e"/>'
            '<sequenceFlow id="f1" sourceRef="s" targetRef="grow"/>'
            '<sequenceFlow id="f2" sourceRef="grow" targetRef="look"/>'
            '<sequenceFlow id="f3" sourceRef="look" targetRef="e"/>'
        )
        return (f"{process_id}.bpmn", one_process(process_id, body))

    large = starting_in("nightly_dump", 10, 'lines = ["x" * 1000 for n in range(5000)]')
    assert timed.owner.upload(extra=[large]).status_code == 201
    small = starting_in("morning_list", 20, "lines = []")
    assert timed.owner.upload(extra=[small]).status_code == 201
    assert timed.advance(minutes=15) == 0  # refused: nothing started
    timed.advance(minutes=10)
    listed = timed.owner.get("/api/v1/process-instances").get_json()["items"]
    assert [(i["process_id"], i["status"]) for i in listed] == [("morning_list", "running")]


def test_a_migration_whose_step_grows_past_the_limit_is_refused_and_the_instance_stays(timed):
    """The move fires the timer that came due, and the new version's script after it grows
    the data too much: the move is refused (422, one by one or listed as refused in bulk), the
    instance stays on its version, waiting. Before, the instance said version 2 over the
    state of version 1, and its retry ran that state on version 2's elements."""

    def version(grow: bool) -> tuple[str, bytes]:
        after_wait = "grow" if grow else "after"
        body = (
            '<startEvent id="s"/><intermediateCatchEvent id="wait"><timerEventDefinition>'
            "<timeDuration>'PT1H'</timeDuration></timerEventDefinition></intermediateCatchEvent>"
            '<userTask id="after"/><endEvent id="e"/>'
            '<sequenceFlow id="f0" sourceRef="s" targetRef="wait"/>'
            f'<sequenceFlow id="f1" sourceRef="wait" targetRef="{after_wait}"/>'
            '<sequenceFlow id="f3" sourceRef="after" targetRef="e"/>'
        )
        if grow:
            body += (
                '<scriptTask id="grow"><script>lines = ["x" * 1000 for n in range(count)]'
                '</script></scriptTask><sequenceFlow id="f2" sourceRef="grow" targetRef="after"/>'
            )
        return ("reminder.bpmn", one_process("reminder", body))

    owner = timed.owner
    assert owner.upload(extra=[version(grow=False)]).status_code == 201
    started = owner.start("reminder", {"count": 5000})
    assert owner.upload(extra=[version(grow=True)]).status_code == 201
    timed.clock.advance(timedelta(hours=2))  # due, not yet fired

    moved = owner.post(f"/api/v1/process-instances/{started['id']}/migrate", json={"to_version": 2})
    assert moved.status_code == 422, moved.get_json()
    assert moved.get_json()["error"]["code"] == "instance_data_too_large"
    stayed = owner.instance(started["id"])
    assert (stayed["version"], stayed["status"], stayed["incidents"]) == (1, "waiting", [])
    assert [w["name"] for w in stayed["waiting"]] == ["wait"]

    bulk = owner.post("/api/v1/process-models/reminder/versions/1/migrate", json={"to_version": 2})
    assert bulk.status_code == 200, bulk.get_json()
    assert (bulk.get_json()["migrated"], [r["id"] for r in bulk.get_json()["refused"]]) == (
        [],
        [started["id"]],
    )
    assert owner.instance(started["id"])["version"] == 1
