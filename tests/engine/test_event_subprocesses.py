"""Event subprocesses through the HTTP API: error, escalation, message, signal and timer
starts, interrupting and not, at the process level and inside an embedded subprocess.

SpiffWorkflow 3.2 alone ran an error or escalation event subprocess at once with the process
(it parses those start events as plain ones) and a timer one at once beside the main path
(its timer waiting inside, never interrupting), and listed no wait for a message event
subprocess, so a message to it was answered 404;
``engine.event_subprocesses`` runs them as BPMN says. Every API call is a step of its own, and
each step decodes the stored state (``decoded_at_every_step``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from engine.kept import KeptWorkflows
from engine.models import EventWait, Incident, ProcessInstance
from tests.engine.conftest import DIAGRAMS, Actor, by_element, refused

HERE = "event_subprocesses"


@pytest.fixture(autouse=True)
def decoded_at_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every step reads the instance from its stored state, never from the workflow this
    process kept after the previous step (``engine.kept``): listeners, runs and carried data
    must survive the codec."""
    monkeypatch.setattr(KeptWorkflows, "take", lambda self, *args: None)


def deploy(owner: Actor, name: str) -> None:
    owner.deploy(f"{HERE}/{name}.bpmn")


def names(instance: dict[str, Any]) -> list[str]:
    return sorted(task["name"] for task in instance["ready_tasks"])


def the(instance: dict[str, Any], name: str) -> dict[str, Any]:
    return next(task for task in instance["ready_tasks"] if task["name"] == name)


def elements(actor: Actor, instance_id: int) -> dict[str, list[str]]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def send(actor: Actor, name: str, business_key: str, **payload: Any) -> Any:
    return actor.post(
        "/api/v1/messages", json={"name": name, "business_key": business_key, "payload": payload}
    )


def waits(db: Any, instance_id: int) -> list[tuple[str, str | None]]:
    with db() as session:
        rows = session.scalars(select(EventWait).where(EventWait.instance_id == instance_id))
        return sorted(((row.kind, row.name) for row in rows), key=lambda w: (w[0], w[1] or ""))


def state_size(db: Any, instance_id: int) -> int:
    with db() as session:
        return len(session.get(ProcessInstance, instance_id).state)


# -- error -----------------------------------------------------------------------------------


def test_an_error_end_event_interrupts_the_process_for_its_event_subprocess(owner, agent, db):
    deploy(owner, "fraud_case")
    instance = agent.start("fraud_case", {"amount": 500}, business_key="case-1")
    assert names(instance) == ["collect_docs", "resolve"]
    assert waits(db, instance["id"]) == [("error", "Fraud suspected")]
    view = elements(agent, instance["id"])
    assert "fraud_start" in view["waiting"] and "fraud_review" not in view["ready"]

    instance = agent.complete_ok(the(instance, "resolve")["id"], {"fraud": True})
    # the open task of the other branch is cancelled, the handler runs with the thrower's data
    assert names(instance) == ["fraud_review"]
    assert [t["name"] for t in agent.tasks("business_key=case-1")] == ["fraud_review"]
    assert instance["status"] == "running"
    assert instance["data"]["amount"] == 500 and instance["data"]["fraud"] is True
    view = elements(agent, instance["id"])
    assert {"throw_fraud", "fraud_start"} <= set(view["completed"])
    assert view["ready"] == ["fraud_review", "on_fraud"]
    assert "collect_docs" not in view["ready"] + view["completed"]
    assert waits(db, instance["id"]) == []

    instance = agent.complete_ok(the(instance, "fraud_review")["id"], {"confirmed": True})
    assert instance["status"] == "completed"
    assert instance["data"]["confirmed"] is True
    assert "on_fraud" in elements(agent, instance["id"])["completed"]


def test_without_the_error_the_process_ends_and_stops_listening(owner, agent, db):
    deploy(owner, "fraud_case")
    instance = agent.start("fraud_case", business_key="case-2")
    instance = agent.complete_ok(the(instance, "resolve")["id"], {"fraud": False})
    assert names(instance) == ["collect_docs"]
    assert waits(db, instance["id"]) == [("error", "Fraud suspected")]
    instance = agent.complete_ok(the(instance, "collect_docs")["id"])
    assert instance["status"] == "completed"
    assert waits(db, instance["id"]) == []
    view = elements(agent, instance["id"])
    assert "fraud_start" not in view["completed"] + view["waiting"]
    assert "on_fraud" not in view["completed"]


def test_a_failing_script_goes_to_the_catch_all_and_the_nearest_event_subprocess_takes_the_error(
    owner, agent, db
):
    """A script or service task that fails throws a BPMN error at itself: nothing in the
    embedded subprocess catches this one (its error event subprocess waits for another code),
    so the process's catch-all error event subprocess takes it and ends the process. An error
    end event inside the embedded subprocess is caught by the subprocess's own error event
    subprocess, not by the process's catch-all one, and the process goes on after the
    subprocess."""
    deploy(owner, "negotiation")
    failing = agent.start("negotiation", business_key="deal-9")
    failing = agent.complete_ok(the(failing, "haggle")["id"], {"walked": False})
    assert (failing["status"], failing["incidents"]) == ("completed", [])
    assert failing["data"]["failed"] is True and "lost" not in failing["data"]
    assert failing["data"]["error_code"] is None
    assert failing["data"]["error_message"].startswith("NameError")
    assert waits(db, failing["id"]) == []

    instance = agent.start("negotiation", business_key="deal-1")
    assert names(instance) == ["haggle"]
    instance = agent.complete_ok(the(instance, "haggle")["id"], {"walked": True})
    assert names(instance) == ["wrap_up"]
    assert instance["data"]["lost"] is True and "failed" not in instance["data"]
    view = elements(agent, instance["id"])
    assert {"walk_start", "mark_lost", "on_walk_away", "negotiate"} <= set(view["completed"])
    assert "any_error_start" in view["waiting"] and "mark_failed" not in view["completed"]
    instance = agent.complete_ok(the(instance, "wrap_up")["id"])
    assert instance["status"] == "completed"


# An error end event inside ``inner`` has an error boundary event on ``inner`` around it and
# the process's catch-all error event subprocess further out: the boundary event takes it.
BOUNDARY_FIRST = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
  targetNamespace="http://dialflow.example/evsub">
<bpmn:error id="err" name="failed" errorCode="E"/>
<bpmn:process id="boundary_first" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="inner">
    <bpmn:startEvent id="i_start"/>
    <bpmn:userTask id="try_it" name="Try"/>
    <bpmn:endEvent id="i_fail"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="i1" sourceRef="i_start" targetRef="try_it"/>
    <bpmn:sequenceFlow id="i2" sourceRef="try_it" targetRef="i_fail"/>
  </bpmn:subProcess>
  <bpmn:boundaryEvent id="on_fail" attachedToRef="inner">
    <bpmn:errorEventDefinition errorRef="err"/>
  </bpmn:boundaryEvent>
  <bpmn:userTask id="recover" name="Recover"/>
  <bpmn:endEvent id="end"/>
  <bpmn:endEvent id="recovered"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inner"/>
  <bpmn:sequenceFlow id="f2" sourceRef="inner" targetRef="end"/>
  <bpmn:sequenceFlow id="f3" sourceRef="on_fail" targetRef="recover"/>
  <bpmn:sequenceFlow id="f4" sourceRef="recover" targetRef="recovered"/>
  <bpmn:subProcess id="on_any" triggeredByEvent="true">
    <bpmn:startEvent id="any_start"><bpmn:errorEventDefinition/></bpmn:startEvent>
    <bpmn:userTask id="give_up" name="Give up"/>
    <bpmn:endEvent id="any_end"/>
    <bpmn:sequenceFlow id="a1" sourceRef="any_start" targetRef="give_up"/>
    <bpmn:sequenceFlow id="a2" sourceRef="give_up" targetRef="any_end"/>
  </bpmn:subProcess>
</bpmn:process>
</bpmn:definitions>
"""


def test_an_error_boundary_event_nearer_to_the_thrower_takes_the_error_first(owner, agent):
    response = owner.post("/api/v1/process-models", json={"bpmn": BOUNDARY_FIRST})
    assert response.status_code == 201, response.get_json()
    instance = agent.start("boundary_first")
    instance = agent.complete_ok(the(instance, "try_it")["id"])
    assert names(instance) == ["recover"]  # not give_up: the boundary event is nearer
    assert "any_start" in elements(agent, instance["id"])["waiting"]
    instance = agent.complete_ok(the(instance, "recover")["id"])
    assert instance["status"] == "completed"


# -- message ---------------------------------------------------------------------------------


def test_a_non_interrupting_message_event_subprocess_runs_for_every_message(owner, agent, db):
    deploy(owner, "call_in")
    instance = agent.start("call_in", business_key="order-1")
    assert names(instance) == ["work"]
    assert waits(db, instance["id"]) == [
        ("message", "customer_called_back"),
        ("message", "order_cancelled"),
    ]
    response = send(agent, "customer_called_back", "order-1", reason="wants a discount")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["delivered_to"] == [instance["id"]]
    instance = agent.instance(instance["id"])
    assert names(instance) == ["call_back", "work"]  # the main path's task stays open
    view = elements(agent, instance["id"])
    assert "call_start" in view["waiting"] and "log_call" in view["completed"]
    assert set(view["ready"]) >= {"work", "call_back", "on_call"}

    response = send(agent, "customer_called_back", "order-1", reason="asks again")
    assert response.status_code == 202, response.get_json()
    instance = agent.instance(instance["id"])
    assert names(instance) == ["call_back", "call_back", "work"]
    assert instance["status"] == "running"

    instance = agent.complete_ok(the(instance, "work")["id"], {"done": True})
    assert names(instance) == ["call_back", "call_back"]  # the scope ends after its runs
    for task in instance["ready_tasks"]:
        instance = agent.complete_ok(task["id"])
    assert instance["status"] == "completed"
    assert instance["data"]["done"] is True
    # each run started from the scope's data as it was then, plus the message's payload
    assert instance["data"]["heard"] in ("at working: wants a discount", "at working: asks again")
    assert waits(db, instance["id"]) == []
    late = send(agent, "customer_called_back", "order-1", reason="too late")
    assert late.status_code == 404
    assert late.get_json()["error"]["code"] == "no_matching_instance"


def test_an_interrupting_message_event_subprocess_cancels_the_open_task(owner, agent, db):
    deploy(owner, "call_in")
    instance = agent.start("call_in", business_key="order-2")
    response = send(agent, "order_cancelled", "order-2", why="changed their mind")
    assert response.status_code == 202, response.get_json()
    instance = agent.instance(instance["id"])
    assert instance["ready_tasks"] == [] and agent.tasks("business_key=order-2") == []
    assert instance["status"] == "completed"
    assert instance["data"]["stage"] == "cancelled"
    assert instance["data"]["why"] == "changed their mind"
    view = elements(agent, instance["id"])
    assert {"cancel_start", "mark_cancelled", "on_cancel"} <= set(view["completed"])
    assert "work" not in view["completed"] and view["waiting"] == []
    assert waits(db, instance["id"]) == []
    assert send(agent, "customer_called_back", "order-2", reason="x").status_code == 404


def test_a_failure_in_a_run_is_an_incident_at_its_element_until_an_interrupt_ends_it(
    owner, agent, db
):
    deploy(owner, "call_in")
    instance = agent.start("call_in", business_key="order-5")
    assert send(agent, "customer_called_back", "order-5").status_code == 202  # no reason
    instance = agent.instance(instance["id"])
    assert instance["status"] == "error"
    (incident,) = instance["incidents"]
    assert incident["element_id"] == "log_call" and "reason" in incident["message"]
    assert names(instance) == ["work"]  # the main path is not held up by the failed run
    assert "log_call" in elements(agent, instance["id"])["error"]

    assert send(agent, "order_cancelled", "order-5").status_code == 202
    instance = agent.instance(instance["id"])
    assert instance["status"] == "completed" and instance["ready_tasks"] == []
    with db() as session:  # closed: its task was cancelled with the rest of the process
        rows = session.scalars(select(Incident).where(Incident.instance_id == instance["id"]))
        assert [row.resolved_at is not None for row in rows] == [True]


def test_a_message_event_subprocess_of_a_subprocess_listens_only_while_it_runs(owner, agent, db):
    deploy(owner, "negotiation")
    instance = agent.start("negotiation", business_key="deal-2")
    small = state_size(db, instance["id"])
    sizes = []
    for offer in range(1, 31):
        response = send(agent, "counter_offer", "deal-2", offer=offer * 100)
        assert response.status_code == 202, response.get_json()
        sizes.append(state_size(db, instance["id"]))
    # the finished runs are dropped from the state: it holds the last run and one copy of
    # the data the runs left for the scope's end, not thirty
    assert max(sizes) - sizes[0] < 200 and max(sizes) < small + 5000, (small, sizes)
    instance = agent.instance(instance["id"])
    assert names(instance) == ["haggle"]
    assert instance["status"] == "running"

    instance = agent.complete_ok(the(instance, "haggle")["id"], {"walked": False, "amount": 7})
    assert names(instance) == ["wrap_up"]
    assert instance["data"]["total"] == 14
    assert ("message", "counter_offer") not in waits(db, instance["id"])
    late = send(agent, "counter_offer", "deal-2", offer=1)
    assert late.status_code == 404  # the negotiation is over: nothing waits for it


# -- migration -------------------------------------------------------------------------------


def test_an_instance_with_a_run_under_way_migrates_to_a_new_version(owner, agent, db):
    """Migration's diff compares the specs through the state codec's registry, which converts
    the listeners and scope tasks as SpiffWorkflow's own."""
    deploy(owner, "call_in")
    instance = agent.start("call_in", business_key="order-3")
    assert send(agent, "customer_called_back", "order-3", reason="r").status_code == 202
    xml = (DIAGRAMS / HERE / "call_in.bpmn").read_text()
    xml = xml.replace('name="Work the order"', 'name="Work the order now"')
    response = owner.post("/api/v1/process-models", json={"bpmn": xml})
    assert response.status_code == 201, response.get_json()
    url = f"/api/v1/process-instances/{instance['id']}/migrate"
    response = owner.post(url, json={"to_version": 2})
    assert response.status_code == 200, response.get_json()
    instance = agent.instance(instance["id"])
    assert instance["version"] == 2 and names(instance) == ["call_back", "work"]
    assert send(agent, "customer_called_back", "order-3", reason="s").status_code == 202
    assert names(agent.instance(instance["id"])) == ["call_back", "call_back", "work"]
    assert send(agent, "order_cancelled", "order-3").status_code == 202
    assert agent.instance(instance["id"])["status"] == "completed"


def test_an_instance_of_a_version_without_them_listens_once_migrated(owner, agent, db):
    """The old version's tree has no listener; the move arms the new version's event
    subprocesses. Back to a version without them is refused at the listeners."""
    full = (DIAGRAMS / HERE / "call_in.bpmn").read_text()
    plain = re.sub(r"<bpmn:subProcess .*?</bpmn:subProcess>", "", full, flags=re.S)
    assert owner.post("/api/v1/process-models", json={"bpmn": plain}).status_code == 201
    instance = agent.start("call_in", business_key="order-4")
    assert waits(db, instance["id"]) == []
    assert owner.post("/api/v1/process-models", json={"bpmn": full}).status_code == 201
    url = f"/api/v1/process-instances/{instance['id']}/migrate"
    assert owner.post(url, json={"to_version": 2}).status_code == 200
    assert waits(db, instance["id"]) == [
        ("message", "customer_called_back"),
        ("message", "order_cancelled"),
    ]
    assert send(agent, "customer_called_back", "order-4", reason="r").status_code == 202
    assert names(agent.instance(instance["id"])) == ["call_back", "work"]
    back = owner.post(url, json={"to_version": 1})
    assert back.status_code == 409
    blocking = {d["element_id"] for d in back.get_json()["error"]["details"]}
    assert {"call_start", "cancel_start"} <= blocking


# -- timer -----------------------------------------------------------------------------------


def test_timer_event_subprocesses_warn_beside_the_work_and_then_expire_it(timed):
    owner, agent = timed.owner, timed.agent
    owner.deploy(f"{HERE}/sla.bpmn")
    instance = agent.start("sla_case", business_key="case-7")
    due = sorted(w["due_at"] for w in instance["waiting"] if w["kind"] == "timer")
    assert due == ["2026-05-06T01:00:00+00:00", "2026-05-09T01:00:00+00:00"]
    assert timed.advance(days=1) == 0

    assert timed.advance(days=1, seconds=1) == 1  # the SLA warning, beside the work
    instance = agent.instance(instance["id"])
    assert names(instance) == ["warn", "work"]
    assert [w["kind"] for w in instance["waiting"]] == ["timer"]  # fires once; expiry waits
    assert "warn_start" in elements(agent, instance["id"])["completed"]

    assert timed.advance(days=3) == 1  # expiry interrupts both
    instance = agent.instance(instance["id"])
    assert instance["status"] == "completed" and instance["ready_tasks"] == []
    assert instance["data"]["expired"] is True
    assert agent.tasks("business_key=case-7") == []
    view = elements(agent, instance["id"])
    assert {"expire_start", "expire", "expiry"} <= set(view["completed"])
    assert "work" not in view["completed"] and view["waiting"] == []


def test_timers_of_event_subprocesses_stop_when_the_process_ends(timed):
    owner, agent = timed.owner, timed.agent
    owner.deploy(f"{HERE}/sla.bpmn")
    instance = agent.start("sla_case", business_key="case-8")
    instance = agent.complete_ok(the(instance, "work")["id"])
    assert instance["status"] == "completed" and instance["waiting"] == []
    assert timed.advance(days=6) == 0
    assert agent.instance(instance["id"])["data"].get("expired") is None


# -- escalation and signal -------------------------------------------------------------------

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'id="defs" targetNamespace="http://dialflow.example/evsub">\n'
)

# ``ask`` throws, each time it is done, an escalation (or signal) and asks again; ``work``
# stays open beside it. Each throw runs the event subprocess once.
THROWN = f"""{HEAD}<bpmn:escalation id="esc_vip" name="vip" escalationCode="VIP"/>
<bpmn:signal id="sig_price" name="price_changed"/>
<bpmn:process id="thrown" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:userTask id="work" name="Work"/>
  <bpmn:endEvent id="worked"/>
  <bpmn:exclusiveGateway id="merge"/>
  <bpmn:userTask id="ask" name="Ask"/>
  <bpmn:intermediateThrowEvent id="tell">THROW</bpmn:intermediateThrowEvent>
  <bpmn:exclusiveGateway id="more" default="g6"/>
  <bpmn:endEvent id="asked"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
  <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="work"/>
  <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="worked"/>
  <bpmn:sequenceFlow id="g1" sourceRef="fork" targetRef="merge"/>
  <bpmn:sequenceFlow id="g2" sourceRef="merge" targetRef="ask"/>
  <bpmn:sequenceFlow id="g3" sourceRef="ask" targetRef="tell"/>
  <bpmn:sequenceFlow id="g4" sourceRef="tell" targetRef="more"/>
  <bpmn:sequenceFlow id="g5" sourceRef="more" targetRef="merge">
    <bpmn:conditionExpression>again</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="g6" sourceRef="more" targetRef="asked"/>
  <bpmn:subProcess id="on_event" triggeredByEvent="true">
    <bpmn:startEvent id="event_start" isInterrupting="INTERRUPTING">CATCH</bpmn:startEvent>
    <bpmn:userTask id="handle" name="Handle"/>
    <bpmn:endEvent id="handled"/>
    <bpmn:sequenceFlow id="h1" sourceRef="event_start" targetRef="handle"/>
    <bpmn:sequenceFlow id="h2" sourceRef="handle" targetRef="handled"/>
  </bpmn:subProcess>
</bpmn:process>
</bpmn:definitions>
"""
ESCALATION = '<bpmn:escalationEventDefinition escalationRef="esc_vip"/>'
SIGNAL = '<bpmn:signalEventDefinition signalRef="sig_price"/>'


def thrown(definition: str, interrupting: bool) -> str:
    return (
        THROWN.replace("THROW", definition)
        .replace("CATCH", definition)
        .replace("INTERRUPTING", "true" if interrupting else "false")
    )


def test_non_interrupting_escalation_and_signal_event_subprocesses_run_per_throw(owner, agent):
    for definition in (ESCALATION, SIGNAL):
        response = owner.post("/api/v1/process-models", json={"bpmn": thrown(definition, False)})
        assert response.status_code in (200, 201), response.get_json()
        instance = agent.start("thrown")
        instance = agent.complete_ok(the(instance, "ask")["id"], {"again": True})
        assert names(instance) == ["ask", "handle", "work"]
        instance = agent.complete_ok(the(instance, "ask")["id"], {"again": False})
        assert names(instance) == ["handle", "handle", "work"]
        instance = agent.complete_ok(the(instance, "work")["id"])
        for task in instance["ready_tasks"]:
            instance = agent.complete_ok(task["id"])
        assert instance["status"] == "completed"


def test_an_interrupting_escalation_event_subprocess_cancels_the_rest(owner, agent):
    response = owner.post("/api/v1/process-models", json={"bpmn": thrown(ESCALATION, True)})
    assert response.status_code == 201, response.get_json()
    instance = agent.start("thrown")
    instance = agent.complete_ok(the(instance, "ask")["id"], {"again": True})
    assert names(instance) == ["handle"]
    instance = agent.complete_ok(the(instance, "handle")["id"])
    assert instance["status"] == "completed"


# -- refused ---------------------------------------------------------------------------------

PLAIN = f"""{HEAD}<bpmn:error id="err" name="failed" errorCode="E"/>
<bpmn:process id="refusals" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:userTask id="work" name="Work"/>
  <bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  <bpmn:subProcess id="on_event" triggeredByEvent="true">
    <bpmn:startEvent id="event_start"ATTRS>CATCH</bpmn:startEvent>
    <bpmn:userTask id="handle" name="Handle"/>
    <bpmn:endEvent id="handled"/>
    <bpmn:sequenceFlow id="h1" sourceRef="event_start" targetRef="handle"/>
    <bpmn:sequenceFlow id="h2" sourceRef="handle" targetRef="handled"/>
  </bpmn:subProcess>
</bpmn:process>
</bpmn:definitions>
"""
CYCLE = (
    "<bpmn:timerEventDefinition><bpmn:timeCycle>"
    '"R/P1D"</bpmn:timeCycle></bpmn:timerEventDefinition>'
)
ERROR = '<bpmn:errorEventDefinition errorRef="err"/>'
TIMER = (
    "<bpmn:timerEventDefinition><bpmn:timeDuration>"
    '"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
)


def test_event_subprocesses_that_cannot_run_as_drawn_are_refused_on_their_start_event(owner, db):
    cases = [
        ("", "", "needs a trigger"),
        (' isInterrupting="false"', ERROR, "an error start event always interrupts"),
        ("", CYCLE, "a cycle timer is not supported"),
        ("", TIMER + ERROR, "may have one trigger only"),
        ("", "<bpmn:compensateEventDefinition/>", "compensation is not supported"),
        (
            "",
            "<bpmn:conditionalEventDefinition><bpmn:condition>late</bpmn:condition>"
            "</bpmn:conditionalEventDefinition>",
            "conditional events are not supported",
        ),
    ]
    for attrs, catch, fragment in cases:
        xml = PLAIN.replace("ATTRS", attrs).replace("CATCH", catch)
        details = refused(owner.post("/api/v1/process-models", json={"bpmn": xml}))
        found = by_element(details)
        assert set(found) == {"event_start"}, details
        assert fragment in found["event_start"], found
        (detail,) = details
        lines = xml.splitlines()
        assert detail["line"] == 1 + next(
            number for number, line in enumerate(lines) if 'id="event_start"' in line
        )
    ad_hoc = PLAIN.replace("ATTRS", "").replace("CATCH", TIMER)
    ad_hoc = ad_hoc.replace(
        '<bpmn:userTask id="work" name="Work"/>',
        '<bpmn:adHocSubProcess id="work"><bpmn:userTask id="a"/>'
        '<bpmn:subProcess id="inner" triggeredByEvent="true"><bpmn:startEvent id="s2">'
        f"{TIMER}</bpmn:startEvent><bpmn:endEvent id='e2'/>"
        '<bpmn:sequenceFlow id="x" sourceRef="s2" targetRef="e2"/></bpmn:subProcess>'
        "</bpmn:adHocSubProcess>",
    )
    found = by_element(refused(owner.post("/api/v1/process-models", json={"bpmn": ad_hoc})))
    assert "ad-hoc subprocesses are not supported" in found["work"], found
