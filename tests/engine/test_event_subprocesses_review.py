"""Event subprocesses attacked through the HTTP API with cases beyond the first round of tests.

The defects found: SpiffWorkflow 3.2 builds an event subprocess as a plain subprocess (it
looks for ``triggeredByEvent`` in the BPMN namespace), so the engine could not tell a run from
the main path: a run started with the data of another run, the data of a run that finished
before its scope ended was lost, and an escalation a run threw was caught by the run's own
event subprocess again and again. At deploy, an event subprocess with sequence flows in or
out, two event subprocesses of one scope started by the same message (or error, or
escalation), and a boundary event on an event subprocess deployed or were refused without
naming their element. The cases that held (called processes, error codes, correlation,
concurrent requests, a worker killed mid-run, …) are kept here as well.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest

from engine.kept import KeptWorkflows
from tests.engine.conftest import by_element, refused
from tests.engine.test_crash import ROOT, run_until_killed, snapshot
from tests.engine.test_crash import sleepy_engine as sleepy_engine

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="defs" targetNamespace="http://dialflow.example/evsub-review">\n'
)


@pytest.fixture(autouse=True)
def decoded_at_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every step decodes the stored state (see ``test_event_subprocesses``)."""
    monkeypatch.setattr(KeptWorkflows, "take", lambda self, *args: None)


def definitions(body: str) -> str:
    return f"{HEAD}{body}\n</bpmn:definitions>\n"


def deploy(owner: Any, xml: str) -> None:
    response = owner.post("/api/v1/process-models", json={"bpmn": xml})
    assert response.status_code in (200, 201), response.get_json()


def names(instance: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in instance["ready_tasks"])


def the(instance: dict[str, Any], name: str) -> dict[str, Any]:
    return next(task for task in instance["ready_tasks"] if task["name"] == name)


def send(actor: Any, name: str, key: str, **payload: Any) -> Any:
    body = {"name": name, "business_key": key, "payload": payload}
    return actor.post("/api/v1/messages", json=body)


def handler(
    element_id: str, trigger: str, body: str, interrupting: bool = False, first: str = "reply"
) -> str:
    """An event subprocess whose start event (``trigger``) flows into ``first``, an element of
    ``body``, which holds the rest of the run and its flows."""
    return f"""<bpmn:subProcess id="{element_id}" triggeredByEvent="true">
    <bpmn:startEvent id="{element_id}_start" isInterrupting="{str(interrupting).lower()}">
      {trigger}
    </bpmn:startEvent>
    {body}
    <bpmn:sequenceFlow id="{element_id}_f1" sourceRef="{element_id}_start" targetRef="{first}"/>
  </bpmn:subProcess>"""


MESSAGE = '<bpmn:messageEventDefinition messageRef="msg_poke"/>'
REPLY = """<bpmn:userTask id="reply" name="reply"/>
    <bpmn:endEvent id="replied"/>
    <bpmn:sequenceFlow id="r1" sourceRef="reply" targetRef="replied"/>"""
WORK = """<bpmn:startEvent id="start"/>
  <bpmn:userTask id="work" name="work"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""


def process(process_id: str, body: str, defs: str = "") -> str:
    return definitions(
        f'{defs}<bpmn:message id="msg_poke" name="poke"/>\n'
        f'<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>'
    )


# -- the runs of a non-interrupting event subprocess -----------------------------------------

NOTE_STAGE = """<bpmn:scriptTask id="note" name="note">
      <bpmn:script>seen = {reason: stage}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="reply" name="reply"/>
    <bpmn:endEvent id="replied"/>
    <bpmn:sequenceFlow id="r0" sourceRef="note" targetRef="reply"/>
    <bpmn:sequenceFlow id="r1" sourceRef="reply" targetRef="replied"/>"""


def test_each_run_starts_from_the_main_path_not_from_another_run(owner, agent):
    """The second message's run saw the first message's payload (``stage`` of the first run
    over the main path's): the runs were taken for tasks of the main path. Each run's own
    data reaches the end, the first one's too, though it finished two steps before."""
    deploy(owner, process("noted", WORK + handler("on_poke", MESSAGE, NOTE_STAGE, first="note")))
    instance = agent.start("noted", {"stage": "working"}, business_key="n-1")
    assert send(agent, "poke", "n-1", reason="r1", stage="escalated").status_code == 202
    assert send(agent, "poke", "n-1", reason="r2").status_code == 202
    instance = agent.instance(instance["id"])
    assert names(instance) == ["reply", "reply", "work"]
    for task in [task for task in instance["ready_tasks"] if task["name"] == "reply"]:
        instance = agent.complete_ok(task["id"])
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert instance["status"] == "completed"
    assert instance["data"]["seen"] == {"r1": "escalated", "r2": "working"}
    assert instance["data"]["stage"] == "working"  # the main path's value wins at the end


def test_the_data_of_runs_finished_earlier_reaches_the_end_of_their_scope(owner, agent):
    """A finished run is dropped from the state (``drop_finished_runs``) while another
    listener waits; its data went with it, so what the first run's user task was given never
    reached the process's end (the run still open at the end kept its own)."""
    deploy(owner, process("kept", WORK + handler("on_poke", MESSAGE, NOTE_STAGE, first="note")))
    instance = agent.start("kept", {"stage": "working"}, business_key="k-1")
    assert send(agent, "poke", "k-1", reason="first").status_code == 202
    assert send(agent, "poke", "k-1", reason="second").status_code == 202
    instance = agent.instance(instance["id"])
    replies = [task["id"] for task in instance["ready_tasks"] if task["name"] == "reply"]
    for number, task_id in enumerate(replies, 1):
        instance = agent.complete_ok(task_id, {f"answer{number}": "called back"})
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert instance["status"] == "completed"
    assert instance["data"]["answer1"] == instance["data"]["answer2"] == "called back"
    assert instance["data"]["seen"] == {"first": "working", "second": "working"}


def test_the_scope_waits_for_a_runs_user_task_whichever_is_completed_first(owner, agent):
    sub = f"""<bpmn:startEvent id="start"/>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="s_start"/>
    <bpmn:userTask id="work" name="work"/>
    <bpmn:endEvent id="s_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="work"/>
    <bpmn:sequenceFlow id="s2" sourceRef="work" targetRef="s_end"/>
    {handler("on_poke", MESSAGE, REPLY)}
  </bpmn:subProcess>
  <bpmn:userTask id="after" name="after"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/>
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>"""
    deploy(owner, process("waits", sub))
    for key, order in (("w-1", ("work", "reply")), ("w-2", ("reply", "work"))):
        instance = agent.start("waits", business_key=key)
        assert send(agent, "poke", key).status_code == 202
        assert sorted(t["name"] for t in agent.tasks(f"business_key={key}")) == ["reply", "work"]
        first, second = order
        instance = agent.complete_ok(the(agent.instance(instance["id"]), first)["id"], {first: 1})
        assert names(instance) == [second]  # the subprocess waits for the other
        instance = agent.complete_ok(the(instance, second)["id"], {second: 2})
        assert names(instance) == ["after"]
        assert instance["data"]["work"] and instance["data"]["reply"]


# -- errors and escalations ------------------------------------------------------------------

ERRORS = """<bpmn:error id="err_a" name="a" errorCode="A"/>
<bpmn:error id="err_b" name="b" errorCode="B"/>
"""
ERROR_A = '<bpmn:errorEventDefinition errorRef="err_a"/>'
ERROR_B = '<bpmn:errorEventDefinition errorRef="err_b"/>'


def fix(task: str) -> str:
    return f"""<bpmn:userTask id="{task}" name="{task}"/>
    <bpmn:endEvent id="{task}_end"/>
    <bpmn:sequenceFlow id="{task}_f" sourceRef="{task}" targetRef="{task}_end"/>"""


def test_an_error_thrown_in_a_run_is_taken_by_another_event_subprocess_of_its_scope(owner, agent):
    """A message run inside ``sub`` ends in an error end event; ``sub``'s error event
    subprocess takes it (the run is a lower scope of ``sub``, as in Camunda's engines), not
    the error boundary event on ``sub`` further out, and interrupts ``sub``."""
    rethrow = """<bpmn:userTask id="reply" name="reply"/>
    <bpmn:endEvent id="rethrow"><bpmn:errorEventDefinition errorRef="err_a"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="reply" targetRef="rethrow"/>"""
    body = f"""<bpmn:startEvent id="start"/>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="s_start"/>
    <bpmn:userTask id="work" name="work"/>
    <bpmn:endEvent id="s_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="work"/>
    <bpmn:sequenceFlow id="s2" sourceRef="work" targetRef="s_end"/>
    {handler("on_poke", MESSAGE, rethrow)}
    {handler("beside", ERROR_A, fix("fix_beside"), interrupting=True, first="fix_beside")}
  </bpmn:subProcess>
  <bpmn:boundaryEvent id="on_a" attachedToRef="sub">{ERROR_A}</bpmn:boundaryEvent>
  {fix("fix_outside")}
  <bpmn:userTask id="after" name="after"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="after"/>
  <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  <bpmn:sequenceFlow id="f4" sourceRef="on_a" targetRef="fix_outside"/>"""
    deploy(owner, process("taken_beside", body, ERRORS))
    instance = agent.start("taken_beside", business_key="o-1")
    assert send(agent, "poke", "o-1").status_code == 202
    instance = agent.complete_ok(the(agent.instance(instance["id"]), "reply")["id"])
    assert names(instance) == ["fix_beside"]
    instance = agent.complete_ok(the(instance, "fix_beside")["id"])
    assert names(instance) == ["after"]


def test_a_run_that_throws_its_own_escalation_does_not_start_itself_again(owner, agent):
    """A non-interrupting escalation event subprocess whose run throws the escalation it
    listens for: the next listener of the same event subprocess caught it, whose run threw it
    again, until the step's runaway guard stopped it. The escalation now goes past the run's
    own event subprocess to the enclosing scope's."""
    escalate = """<bpmn:intermediateThrowEvent id="pass_on">
      <bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:intermediateThrowEvent>
    <bpmn:userTask id="reply" name="reply"/>
    <bpmn:endEvent id="replied"/>
    <bpmn:sequenceFlow id="r0" sourceRef="pass_on" targetRef="reply"/>
    <bpmn:sequenceFlow id="r1" sourceRef="reply" targetRef="replied"/>"""
    esc = '<bpmn:escalationEventDefinition escalationRef="esc"/>'
    body = f"""<bpmn:startEvent id="start"/>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="s_start"/>
    <bpmn:userTask id="work" name="work"/>
    <bpmn:intermediateThrowEvent id="raise">{esc}</bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="s_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="work"/>
    <bpmn:sequenceFlow id="s2" sourceRef="work" targetRef="raise"/>
    <bpmn:sequenceFlow id="s3" sourceRef="raise" targetRef="s_end"/>
    {handler("inner_esc", esc, escalate, first="pass_on")}
  </bpmn:subProcess>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
  {handler("outer_esc", esc, fix("outer_look"), first="outer_look")}"""
    escalation = '<bpmn:escalation id="esc" name="esc" escalationCode="ESC"/>\n'
    deploy(owner, process("passed_on", body, escalation))
    instance = agent.start("passed_on")
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert instance["status"] == "running" and instance["incidents"] == []
    assert names(instance) == ["outer_look", "reply"]
    for task in instance["ready_tasks"]:
        instance = agent.complete_ok(task["id"])
    assert instance["status"] == "completed"


def test_an_interrupting_handler_rethrows_to_the_enclosing_scope(owner, agent):
    inner = f"""<bpmn:startEvent id="start"/>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="s_start"/>
    <bpmn:userTask id="work" name="work"/>
    <bpmn:endEvent id="s_fail">{ERROR_A}</bpmn:endEvent>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="work"/>
    <bpmn:sequenceFlow id="s2" sourceRef="work" targetRef="s_fail"/>
    {
        handler(
            "inner_a",
            ERROR_A,
            f'''<bpmn:userTask id="look" name="look"/>
    <bpmn:endEvent id="again">{ERROR_A}</bpmn:endEvent>
    <bpmn:sequenceFlow id="l1" sourceRef="look" targetRef="again"/>''',
            interrupting=True,
            first="look",
        )
    }
  </bpmn:subProcess>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sub"/>
  <bpmn:sequenceFlow id="f2" sourceRef="sub" targetRef="end"/>
  {handler("outer_a", ERROR_A, fix("fix_outer"), interrupting=True, first="fix_outer")}"""
    deploy(owner, process("rethrown", inner, ERRORS))
    instance = agent.start("rethrown")
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert names(instance) == ["look"]
    instance = agent.complete_ok(the(instance, "look")["id"])
    assert names(instance) == ["fix_outer"]
    assert agent.complete_ok(the(instance, "fix_outer")["id"])["status"] == "completed"


CODES = f"""<bpmn:startEvent id="start"/>
  <bpmn:userTask id="work" name="work"/>
  <bpmn:exclusiveGateway id="which" default="fine"/>
  <bpmn:endEvent id="throw_a">{ERROR_A}</bpmn:endEvent>
  <bpmn:endEvent id="throw_b">{ERROR_B}</bpmn:endEvent>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="which"/>
  <bpmn:sequenceFlow id="fa" sourceRef="which" targetRef="throw_a">
    <bpmn:conditionExpression>code == "A"</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="fb" sourceRef="which" targetRef="throw_b">
    <bpmn:conditionExpression>code == "B"</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="fine" sourceRef="which" targetRef="end"/>
  {handler("on_a", ERROR_A, fix("fix_a"), interrupting=True, first="fix_a")}
  {handler("on_b", ERROR_B, fix("fix_b"), interrupting=True, first="fix_b")}
  {handler("on_any", "<bpmn:errorEventDefinition/>", fix("fix_any"), True, "fix_any")}"""


@pytest.mark.parametrize(("code", "taken_by"), [("A", "fix_a"), ("B", "fix_b")])
def test_the_error_event_subprocess_of_the_code_wins_over_the_catch_all(
    owner, agent, code, taken_by
):
    deploy(owner, process("codes", CODES, ERRORS))
    instance = agent.start("codes")
    instance = agent.complete_ok(the(instance, "work")["id"], {"code": code})
    assert names(instance) == [taken_by]


CALLED = f"""{ERRORS}<bpmn:escalation id="esc" name="esc" escalationCode="ESC"/>
<bpmn:process id="child" isExecutable="true">
  <bpmn:startEvent id="c_start"/>
  <bpmn:userTask id="c_work" name="c_work"/>
  <bpmn:intermediateThrowEvent id="c_tell">
    <bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:intermediateThrowEvent>
  <bpmn:exclusiveGateway id="c_which" default="c_fine"/>
  <bpmn:endEvent id="c_fail">{ERROR_A}</bpmn:endEvent>
  <bpmn:endEvent id="c_end"/>
  <bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="c_work"/>
  <bpmn:sequenceFlow id="c2" sourceRef="c_work" targetRef="c_tell"/>
  <bpmn:sequenceFlow id="c3" sourceRef="c_tell" targetRef="c_which"/>
  <bpmn:sequenceFlow id="c4" sourceRef="c_which" targetRef="c_fail">
    <bpmn:conditionExpression>fail</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="c_fine" sourceRef="c_which" targetRef="c_end"/>
  CHILD_HANDLER
</bpmn:process>
<bpmn:process id="parent" isExecutable="true">
  <bpmn:startEvent id="p_start"/>
  <bpmn:callActivity id="call" calledElement="child"/>
  <bpmn:boundaryEvent id="on_err" attachedToRef="call">{ERROR_A}</bpmn:boundaryEvent>
  <bpmn:userTask id="p_after" name="p_after"/>
  {fix("p_recover")}
  <bpmn:endEvent id="p_end"/>
  <bpmn:sequenceFlow id="p1" sourceRef="p_start" targetRef="call"/>
  <bpmn:sequenceFlow id="p2" sourceRef="call" targetRef="p_after"/>
  <bpmn:sequenceFlow id="p3" sourceRef="p_after" targetRef="p_end"/>
  <bpmn:sequenceFlow id="p4" sourceRef="on_err" targetRef="p_recover"/>
  {
    handler(
        "p_on_esc",
        '<bpmn:escalationEventDefinition escalationRef="esc"/>',
        fix("p_escalated"),
        first="p_escalated",
    )
}
</bpmn:process>"""


@pytest.mark.parametrize("child_catches", [True, False])
def test_an_error_in_a_called_process_and_an_escalation_to_its_caller(owner, agent, child_catches):
    """The called process's own error event subprocess is nearer than the error boundary
    event on the call activity; without it the boundary event takes the error. The child's
    escalation starts the caller's non-interrupting escalation event subprocess."""
    child = handler("c_on_a", ERROR_A, fix("c_fix"), True, "c_fix") if child_catches else ""
    deploy(owner, definitions(CALLED.replace("CHILD_HANDLER", child)))
    instance = agent.start("parent")
    instance = agent.complete_ok(the(instance, "c_work")["id"], {"fail": True})
    if child_catches:
        assert names(instance) == ["c_fix", "p_escalated"]
        instance = agent.complete_ok(the(instance, "c_fix")["id"])
        assert names(instance) == ["p_after", "p_escalated"]
    else:
        assert names(instance) == ["p_escalated", "p_recover"]


# -- messages --------------------------------------------------------------------------------

CORRELATED = """<bpmn:correlationProperty id="order_ref" name="Order reference">
  <bpmn:correlationPropertyRetrievalExpression messageRef="msg_poke">
    <bpmn:formalExpression>order_ref</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
"""
PARALLEL = """<bpmn:startEvent id="start"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="a" name="a"/>
  <bpmn:userTask id="b" name="b"/>
  <bpmn:parallelGateway id="join"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a"/>
  <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="b"/>
  <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/>
  <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>
  <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>"""


BY_ORDER_REF = """<bpmn:messageEventDefinition messageRef="msg_poke"><bpmn:extensionElements>
        <spiffworkflow:processVariableCorrelation>
          <spiffworkflow:propertyId>order_ref</spiffworkflow:propertyId>
          <spiffworkflow:expression>order_ref</spiffworkflow:expression>
        </spiffworkflow:processVariableCorrelation>
      </bpmn:extensionElements></bpmn:messageEventDefinition>"""


def test_a_correlated_message_reaches_one_of_two_waiting_instances_even_at_a_join(owner, agent):
    body = PARALLEL + handler("on_poke", BY_ORDER_REF, REPLY)
    deploy(owner, process("pinged", body, CORRELATED))
    first = agent.start("pinged", {"order_ref": "A-1"})
    second = agent.start("pinged", {"order_ref": "B-2"})
    agent.complete_ok(the(second, "a")["id"])  # its main path now waits at the join
    for _ in range(2):
        body = {"name": "poke", "correlation": {"order_ref": "B-2"}}
        response = agent.post("/api/v1/messages", json=body)
        assert response.status_code == 202, response.get_json()
        assert response.get_json()["delivered_to"] == [second["id"]]
    assert names(agent.instance(first["id"])) == ["a", "b"]
    instance = agent.instance(second["id"])
    assert names(instance) == ["b", "reply", "reply"]
    instance = agent.complete_ok(the(instance, "b")["id"])
    assert names(instance) == ["reply", "reply"]
    for task in instance["ready_tasks"]:
        instance = agent.complete_ok(task["id"])
    assert instance["status"] == "completed"


def test_concurrent_message_and_completion_lose_nothing(owner, agent, app):
    """Three requests on one instance from three threads: a message, the main path's last
    task and a run's task. One order wins for each; no 500, no message lost."""
    deploy(owner, process("crowded", WORK + handler("on_poke", MESSAGE, REPLY)))
    for round_ in range(3):
        key = f"crowd-{round_}"
        instance = agent.start("crowded", business_key=key)
        assert send(agent, "poke", key).status_code == 202
        instance = agent.instance(instance["id"])
        work, reply = the(instance, "work")["id"], the(instance, "reply")["id"]
        results = _together(
            app,
            [
                ("/api/v1/messages", agent.headers, {"name": "poke", "business_key": key}),
                (f"/api/v1/tasks/{work}/complete", agent.headers, {"data": {}}),
                (f"/api/v1/tasks/{reply}/complete", agent.headers, {"data": {}}),
            ],
        )
        assert [status for status, _ in results[1:]] == [200, 200], results
        assert results[0][0] in (202, 404), results
        instance = agent.instance(instance["id"])
        expected = ["reply"] if results[0][0] == 202 else []
        assert names(instance) == expected, (results, instance)
        assert instance["status"] == ("running" if expected else "completed")


def _together(app: Any, calls: list[tuple[str, dict, dict]]) -> list[Any]:
    """POST each ``(url, headers, body)`` from its own thread, released at once."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, url: str, headers: dict, body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(url, headers=headers, json=body)
        results[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# -- inside a run: terminate, loops, multi-instance, incidents -------------------------------


def test_a_terminate_end_event_in_a_run_ends_the_run_only(owner, agent):
    """As in an embedded subprocess (BPMN; Camunda's engines alike): the main path and the
    other runs go on."""
    body = """<bpmn:userTask id="reply" name="reply"/>
    <bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="reply" targetRef="stop"/>"""
    deploy(owner, process("stopped", WORK + handler("on_poke", MESSAGE, body)))
    instance = agent.start("stopped", business_key="t-1")
    assert send(agent, "poke", "t-1").status_code == 202
    assert send(agent, "poke", "t-1").status_code == 202
    instance = agent.instance(instance["id"])
    instance = agent.complete_ok(the(instance, "reply")["id"])
    assert names(instance) == ["reply", "work"] and instance["status"] == "running"
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert names(instance) == ["reply"]
    assert agent.complete_ok(the(instance, "reply")["id"])["status"] == "completed"


def test_a_run_with_a_loop_and_a_multi_instance_task(owner, agent):
    body = """<bpmn:userTask id="each" name="each">
      <bpmn:multiInstanceLoopCharacteristics isSequential="false">
        <bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
    <bpmn:exclusiveGateway id="merge"/>
    <bpmn:scriptTask id="count" name="count">
      <bpmn:script>rounds = rounds + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="enough"/>
    <bpmn:endEvent id="counted"/>
    <bpmn:sequenceFlow id="m1" sourceRef="each" targetRef="merge"/>
    <bpmn:sequenceFlow id="m2" sourceRef="merge" targetRef="count"/>
    <bpmn:sequenceFlow id="m3" sourceRef="count" targetRef="more"/>
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="merge">
      <bpmn:conditionExpression>rounds &lt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="enough" sourceRef="more" targetRef="counted"/>"""
    deploy(owner, process("looped", WORK + handler("on_poke", MESSAGE, body, first="each")))
    instance = agent.start("looped", business_key="l-1")
    assert send(agent, "poke", "l-1", rounds=0).status_code == 202
    instance = agent.instance(instance["id"])
    assert names(instance) == ["each", "each", "work"]
    for task in [task for task in instance["ready_tasks"] if task["name"] == "each"]:
        instance = agent.complete_ok(task["id"])
    assert names(instance) == ["work"]
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert instance["status"] == "completed" and instance["data"]["rounds"] == 5


def test_an_incident_in_a_run_is_retried_and_shown_while_the_next_run_goes_on(
    owner, agent, client, make_user
):
    from tests.web.test_process_model_pages import signed_in

    body = """<bpmn:scriptTask id="divide" name="divide">
      <bpmn:script>share = 10 / parts</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="reply" name="reply"/>
    <bpmn:endEvent id="replied"/>
    <bpmn:sequenceFlow id="d1" sourceRef="divide" targetRef="reply"/>
    <bpmn:sequenceFlow id="d2" sourceRef="reply" targetRef="replied"/>"""
    deploy(owner, process("shares", WORK + handler("on_poke", MESSAGE, body, first="divide")))
    instance = agent.start("shares", business_key="s-1")
    assert send(agent, "poke", "s-1", parts=0).status_code == 202
    instance = agent.instance(instance["id"])
    assert instance["status"] == "error" and names(instance) == ["work"]
    assert [incident["element_id"] for incident in instance["incidents"]] == ["divide"]
    retried = owner.post(f"/api/v1/process-instances/{instance['id']}/retry")
    assert retried.status_code == 200 and retried.get_json()["status"] == "error"
    assert send(agent, "poke", "s-1", parts=2).status_code == 202
    instance = agent.instance(instance["id"])
    assert names(instance) == ["reply", "work"] and instance["status"] == "error"
    signed_in(client, make_user, "process_owner")
    page = client.get(f"/process-instances/{instance['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "divide" in page.text
    listed = client.get("/process-models/shares/instances", headers={"Accept-Language": "en"})
    assert listed.status_code == 200
    elements = agent.get(f"/api/v1/process-instances/{instance['id']}/elements").get_json()
    assert "divide" in elements["error"] and "reply" in elements["ready"]


def test_an_interrupting_timer_ends_a_process_in_error_and_closes_its_incident(timed):
    owner, agent = timed.owner, timed.agent
    body = """<bpmn:startEvent id="start"/>
  <bpmn:userTask id="work" name="work"/>
  <bpmn:scriptTask id="divide" name="divide">
    <bpmn:script>share = 10 / parts</bpmn:script></bpmn:scriptTask>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="divide"/>
  <bpmn:sequenceFlow id="f3" sourceRef="divide" targetRef="end"/>"""
    timer = (
        "<bpmn:timerEventDefinition><bpmn:timeDuration>"
        '"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
    )
    expire = """<bpmn:scriptTask id="expire" name="expire">
      <bpmn:script>expired = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="expired"/>
    <bpmn:sequenceFlow id="x1" sourceRef="expire" targetRef="expired"/>"""
    deploy(owner, process("late", body + handler("expiry", timer, expire, True, "expire")))
    instance = agent.start("late", {"parts": 0})
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert instance["status"] == "error"
    assert timed.advance(days=1, seconds=1) == 1
    instance = agent.instance(instance["id"])
    assert instance["status"] == "completed" and instance["incidents"] == []
    assert instance["data"]["expired"] is True


# -- refused at deploy -----------------------------------------------------------------------


def plain_handler(element_id: str, trigger: str) -> str:
    """An event subprocess whose start event leads straight to its end."""
    return f"""<bpmn:subProcess id="{element_id}" triggeredByEvent="true">
    <bpmn:startEvent id="{element_id}_start">{trigger}</bpmn:startEvent>
    <bpmn:endEvent id="{element_id}_end"/>
    <bpmn:sequenceFlow id="{element_id}_f" sourceRef="{element_id}_start"
      targetRef="{element_id}_end"/>
  </bpmn:subProcess>"""


def line_of(xml: str, element_id: str) -> int:
    return 1 + next(n for n, line in enumerate(xml.splitlines()) if f'id="{element_id}"' in line)


def test_an_event_subprocess_with_sequence_flows_is_refused_on_it(owner):
    """BPMN gives an event subprocess no incoming or outgoing flows; drawn anyway, they were
    deployed and run as a plain step of the main path."""
    body = """<bpmn:startEvent id="start"/>
  <bpmn:userTask id="work" name="work"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:sequenceFlow id="into" sourceRef="work" targetRef="on_poke"/>
  <bpmn:sequenceFlow id="out" sourceRef="on_poke" targetRef="end"/>
  """ + plain_handler("on_poke", MESSAGE)
    xml = process("flows", body)
    details = refused(owner.post("/api/v1/process-models", json={"bpmn": xml}))
    found = by_element(details)
    assert set(found) == {"on_poke"}, details
    assert "no incoming or outgoing sequence flows" in found["on_poke"]
    assert "'into', 'out'" in found["on_poke"]
    assert details[0]["line"] == line_of(xml, "on_poke")


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (MESSAGE, MESSAGE, "message 'poke'"),
        (ERROR_A, ERROR_A, "error 'A'"),
        ("<bpmn:errorEventDefinition/>", "<bpmn:errorEventDefinition/>", "any error"),
    ],
)
def test_two_event_subprocesses_of_one_scope_on_the_same_trigger_are_refused(
    owner, first, second, words
):
    """One message started both (each its own run); which of two interrupting ones ran was
    chance. The second is refused on its start event; other triggers still deploy."""
    handlers = plain_handler("one", first) + "<!-- beside it -->" + plain_handler("two", second)
    xml = process("twice", WORK + handlers, ERRORS)
    details = refused(owner.post("/api/v1/process-models", json={"bpmn": xml}))
    found = by_element(details)
    assert set(found) == {"two_start"}, details
    assert "'one_start'" in found["two_start"] and words in found["two_start"]
    assert details[0]["line"] == line_of(xml, "two_start")
    apart = plain_handler("one", ERROR_A) + plain_handler("two", ERROR_B)
    deploy(owner, process("apart", WORK + apart, ERRORS))


def test_a_boundary_event_on_an_event_subprocess_is_refused_on_it(owner):
    """It was refused with the parser's ``AttributeError`` and no element."""
    boundary = """<bpmn:boundaryEvent id="too_late" attachedToRef="on_poke">
    <bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="late"/>
  <bpmn:sequenceFlow id="b1" sourceRef="too_late" targetRef="late"/>"""
    xml = process("bounded", WORK + plain_handler("on_poke", MESSAGE) + boundary)
    details = refused(owner.post("/api/v1/process-models", json={"bpmn": xml}))
    found = by_element(details)
    assert set(found) == {"too_late"}, details
    assert "cannot be attached to an event subprocess" in found["too_late"]


# -- a worker killed while a run starts ------------------------------------------------------


@pytest.mark.parametrize("point", ["save", "commit"])
def test_a_worker_killed_while_a_message_starts_a_run_leaves_the_instance_resumable(
    sleepy_engine, owner, agent, db, test_env, tmp_path, point
):
    owner.deploy("event_subprocesses/call_in.bpmn")
    instance = agent.start("call_in", business_key="k-1")
    assert send(agent, "customer_called_back", "k-1", reason="first").status_code == 202
    before = snapshot(db, instance["id"])
    message = {
        "name": "customer_called_back",
        "business_key": "k-1",
        "message_id": "crm-k-2",
        "payload": {"reason": "second"},
    }
    marker = tmp_path / "stopped"
    token = agent.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, **test_env, "PYTHONPATH": str(ROOT)}
    run_until_killed(
        [f"message:{json.dumps(message)}", str(marker), token, point], marker, env, point
    )
    assert snapshot(db, instance["id"]) == before
    response = agent.post("/api/v1/messages", json=message)
    assert response.status_code == 202, response.get_json()
    instance = agent.instance(instance["id"])
    assert names(instance) == ["call_back", "call_back", "work"]
    for task in instance["ready_tasks"]:
        instance = agent.complete_ok(task["id"])
    assert instance["status"] == "completed"
