"""Round 26: telesales processes as the newest modellers export them, deployed and run through
the API: Camunda Web Modeler / Desktop Modeler 5.3x for Camunda 8.7–8.8, spiff-arena's own
modeller, Flowable 7.1 and Camunda 7.22.

What was refused and runs now: a Camunda 8 job worker's ``retries`` (the modeler's default
``retries="3"`` refused the whole task; now that many attempts, as Camunda counts them);
Camunda 8 execution and task listeners whose job type is an operator of the handler registry
(refused with "draw it as a service task"); a Camunda 7 external task's
``camunda:errorEventDefinition`` thrown by its expression (five refusals, one that the task had
no operator); a Flowable event registry start (ten bare refusals), now a message start.
What ran wrongly: a message giving its correlation by the property's name was matched to its
instance and then refused there (spiff-arena's ``messagePath`` reads another field); a
``kind`` property written as a word (spiff-arena's and Zeebe's properties are text) gave no
kind. What is said better: a connector's or job worker's type no operator has, named with the
handler to register (its settings were refused one by one, the type never named).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from crm.customers import create_customer
from crm.models import Activity, Call
from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, upload

ROUND26 = DiagramFolder("round26")
diagram, edited, deploy = ROUND26.read, ROUND26.edited, ROUND26.deploy
QUALIFY = ("c8_lead_qualify.bpmn", "lead_grade.dmn")
CALLBACK = ("spiff_callback_request.bpmn", "callback_priority.dmn")


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Li Na", "phones": ["+8613900139000"]}, actor=None
        ).id


def notes_of(db: Any) -> list[str]:
    with db() as session:
        return [a.body for a in session.scalars(select(Activity).order_by(Activity.id))]


def only(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    (task,) = tasks
    return task


def calls_of(db: Any) -> list[tuple[int, str]]:
    with db() as session:
        return [(c.customer_id, c.disposition.value) for c in session.scalars(select(Call))]


def test_a_camunda_88_lead_is_noted_qualified_by_named_users_graded_and_called(timed: Timed):
    """A native user task offered to ``candidateUsers`` with its priority, a decision called
    with ``bindingType="deployment"`` (a version tag on the process and the decision), a task
    listener on ``completing`` and an execution listener on ``end`` whose job types are
    operators (each run once the task is done, with the data it was completed with), and the
    job worker's ``retries="3"``: three attempts, as Camunda 8 counts them."""
    owner, agent = timed.owner, timed.agent
    db = timed.runtime.db.unit_of_work
    boss = timed.actor("manager", username="boss", team="East")
    deputy = timed.actor("manager", username="deputy", team="East")
    deploy(owner, *QUALIFY)
    cid = customer(db)
    hot = agent.start("r26_lead_qualify", {"customer_id": cid, "source": "web", "budget": 80000})
    task = only(boss.tasks())
    assert (task["name"], task["priority"]) == ("Activity_qualify", 75)
    assert only(deputy.tasks())["id"] == task["id"]
    assert agent.tasks() == []
    graded = boss.complete_ok(task["id"], {"text": "Budget confirmed"})
    assert graded["data"]["grade"] == "A"
    assert notes_of(db) == ["Lead from web", "Budget confirmed"]
    call = only(agent.tasks())
    assert call["name"] == "Activity_call"
    assert calls_of(db) == []
    done = agent.complete_ok(call["id"], {"disposition": "connected_interested"})
    assert done["status"] == "completed"
    assert calls_of(db) == [(cid, "connected_interested")]
    assert agent.instance(hot["id"])["status"] == "completed"
    agent.start("r26_lead_qualify", {"customer_id": cid, "source": "fair", "budget": 900})
    cold = deputy.complete_ok(only(deputy.tasks())["id"], {"text": "No budget"})
    assert (cold["status"], cold["data"]["grade"]) == ("completed", "C")
    assert notes_of(db)[2:] == ["Lead from fair", "No budget"]
    assert len(calls_of(db)) == 1

    # a note for a customer that does not exist: retried twice by itself, then an incident
    failing = agent.start("r26_lead_qualify", {"customer_id": 999999, "source": "web"})
    (first,) = failing["incidents"]
    assert (first["element_id"], first["attempts"]) == ("Activity_note", 1)
    assert first["retry_at"] is not None
    retry_at = datetime.fromisoformat(first["retry_at"])
    assert timed.advance(retry_at - timed.clock.now()) == 1
    (second,) = agent.instance(failing["id"])["incidents"]
    assert (second["attempts"], second["retry_at"] is not None) == (2, True)
    assert timed.advance(timedelta(hours=1)) == 1
    (last,) = agent.instance(failing["id"])["incidents"]
    assert (last["attempts"], last["retry_at"]) == (3, None)


def reply(actor: Actor, ref: str, **payload: Any) -> Any:
    body = {"name": "r26_customer_reply", "correlation": {"request_ref": ref}}
    return actor.post("/api/v1/messages", json={**body, "payload": payload})


def test_a_spiff_arena_callback_is_noted_prioritised_called_and_answered(owner, agent, db):
    """A guest's task (``allowGuest``, ``guestConfirmation``: spiff-arena's public pages, shown
    here as the agent's), Jinja instructions, a pre-script setting the correlation value the
    reply is matched by, a message caught into its ``messageVariable``, and a signal boundary
    with its button label."""
    deploy(owner, *CALLBACK)
    cid = customer(db)
    started = agent.start("r26_callback_request", {"customer_id": cid})
    request = only(started["ready_tasks"])
    assert request["instructions"] == "Leave your number and a good time to call."
    view = agent.complete_ok(
        request["id"], {"phone": "+8613900139000", "preferred_time": "15:00", "vip": True}
    )
    assert (view["data"]["priority"], list(view["data"]["noted"])) == ("high", ["note_id"])
    call = only(view["ready_tasks"])
    assert call["instructions"] == "Call +8613900139000 around 15:00 (high priority), a VIP."
    assert call["kind"] == "callback"  # a property as spiff-arena writes it: text
    waiting = agent.complete_ok(call["id"], {"outcome": "asked to confirm by SMS"})
    assert (waiting["data"]["request_ref"], waiting["data"]["called"]) == (f"CB-{cid}", True)
    assert reply(agent, "CB-999", text="wrong").status_code == 404
    answered = reply(agent, f"CB-{cid}", text="confirmed")
    assert answered.status_code == 202, answered.get_json()
    done = agent.instance(started["id"])
    assert (done["status"], done["data"]["reply"]["text"]) == ("completed", "confirmed")
    assert notes_of(db) == ["Callback requested at 15:00"]

    # a normal priority; the manager gives up while the agent has not called
    other = agent.start("r26_callback_request", {"customer_id": cid})
    view = agent.complete_ok(
        only(other["ready_tasks"])["id"],
        {"phone": "+8613900139000", "preferred_time": "09:30", "vip": False},
    )
    assert only(view["ready_tasks"])["instructions"] == (
        "Call +8613900139000 around 09:30 (normal priority)."
    )
    sent = owner.post("/api/v1/signals", json={"name": "r26_give_up", "signal_id": "gu-1"})
    assert sent.status_code in (200, 202), sent.get_json()
    gave_up = agent.instance(other["id"])
    assert (gave_up["status"], gave_up["ready_tasks"]) == ("completed", [])
    assert "called" not in gave_up["data"]


def test_a_camunda_722_external_task_throws_its_error_by_expression(owner, agent, db):
    """``<camunda:errorEventDefinition errorRef expression="${days_overdue > 30}">`` on an
    external task whose topic is an operator (refused before, with the task's mappings and a
    "must have an operator" besides): the call is logged, then the overdue error's path runs."""
    deploy(owner, "c7_payment_check.bpmn")
    cid = customer(db)
    data = {"customer_id": cid, "disposition": "connected_other"}
    paid = agent.start("r26_payment_check", {**data, "days_overdue": 30})
    assert (paid["status"], paid["ready_tasks"]) == ("completed", [])
    overdue = agent.start("r26_payment_check", {**data, "days_overdue": "45"})
    task = only(overdue["ready_tasks"])
    assert task["name"] == "Activity_collect"
    assert overdue["data"]["error_code"] == "PAYMENT_OVERDUE"
    assert not [key for key in overdue["data"] if key.startswith("_")]
    assert calls_of(db) == [(cid, "connected_other")] * 2
    assert agent.complete_ok(task["id"], {})["status"] == "completed"


def test_a_flowable_event_registry_start_runs_on_the_event_sent_as_a_message(owner, agent, db):
    """``<flowable:eventType>leadCreated</flowable:eventType>`` on a plain start event, with
    ``eventOutParameter`` mappings and a Kafka channel (nine refusals, none saying what the
    start was): the process starts on a ``leadCreated`` message, the mapped fields only in its
    data; the channel nobody reads is a deploy warning."""
    answer = deploy(owner, "flowable_web_lead.bpmn")
    (channel,) = [w for w in answer["warnings"] if w["element_id"] == "startLeadCreated"]
    assert "channelType 'kafka'" in channel["message"]
    assert '"name": "leadCreated"' in channel["message"]
    cid = customer(db)
    event = {"customerId": cid, "source": "web form", "utm": "spring"}
    sent = agent.post("/api/v1/messages", json={"name": "leadCreated", "payload": event})
    assert sent.status_code in (200, 201, 202), sent.get_json()
    (started,) = [i for i in agent.get("/api/v1/process-instances").get_json()["items"]]
    view = agent.instance(started["id"])
    assert view["data"] == {"customer_id": cid, "source": "web form"}
    call = only(view["ready_tasks"])
    assert (call["name"], call["lane"]) == ("callLead", "agent")
    assert agent.complete_ok(call["id"], {})["status"] == "completed"


def test_a_camunda_87_quote_is_noted_unless_the_customer_cancels_first(owner, agent, db):
    """A job worker from a modeler template (``zeebe:modelerTemplate``, its type an operator),
    and a message start in an interrupting event subprocess matched by ``=quote_id``."""
    deploy(owner, "c8_quote_note.bpmn")
    cid = customer(db)
    sent = agent.start("r26_quote_send", {"customer_id": cid, "quote_id": "Q-1"})
    done = agent.complete_ok(only(sent["ready_tasks"])["id"], {"amount": 12800})
    assert done["status"] == "completed"
    assert notes_of(db) == ["Quote Q-1 sent: 12800"]
    cancelled = agent.start("r26_quote_send", {"customer_id": cid, "quote_id": "Q-2"})
    body = {"name": "r26_quote_cancelled", "correlation": {"correlationKey": "Q-2"}}
    assert agent.post("/api/v1/messages", json=body).status_code == 202
    view = agent.instance(cancelled["id"])
    assert (view["status"], view["ready_tasks"]) == ("completed", [])
    assert agent.tasks() == []
    assert notes_of(db) == ["Quote Q-1 sent: 12800", "Lead closed: not interested"]


# -- what stays refused: one problem, on its element and line, saying what to do ------------


def only_problem(actor: Actor, name: str, text: bytes, *more: str) -> dict[str, Any]:
    files = [(name, text), *[(extra, diagram(extra)) for extra in more]]
    (detail,) = refused(upload(actor, *files))
    return detail


def test_a_connector_or_a_job_type_no_operator_has_is_refused_naming_the_handler(owner):
    """The REST connector's job type from its modeler template (its inputs were refused one by
    one and the type itself never named), and a task listener's unknown type."""
    text = edited(
        "c8_quote_note.bpmn",
        ('type="crm.add_note" retries="3"', 'type="io.camunda:http-json:1" retries="3"'),
        ("com.example.dialflow.note", "io.camunda.connectors.HttpJson.v2"),
    )
    detail = only_problem(owner, "c8_quote_note.bpmn", text)
    assert (detail["element_id"], detail["line"]) == (
        "Activity_send",
        line_in('<bpmn:serviceTask id="Activity_send"', text),
    )
    said = detail["message"]
    assert "the Camunda connector 'io.camunda:http-json:1'" in said
    assert "modeler template 'io.camunda.connectors.HttpJson.v2'" in said
    assert "register a handler named 'io.camunda:http-json:1'" in said
    assert "build_registry()" in said and "crm.add_note" in said

    text = edited(
        "c8_lead_qualify.bpmn", ('"completing" type="crm.add_note"', '"completing" type="x.note"')
    )
    detail = only_problem(owner, "c8_lead_qualify.bpmn", text, "lead_grade.dmn")
    assert (detail["element_id"], detail["line"]) == (
        "Activity_qualify",
        line_in("<zeebe:taskListeners>", text),
    )
    assert "no operator 'x.note' to run the listener's job" in detail["message"]
    assert "register a handler named 'x.note'" in detail["message"]


def test_a_listener_or_a_job_setting_that_cannot_run_is_refused_saying_why(owner):
    """A task listener on ``assigning`` (no place in the flow), a ``retries`` that is no
    number (the task was refused as naming no operator), a decision bound by version tag."""
    qualify = "c8_lead_qualify.bpmn"
    text = edited(qualify, ('"completing" type="crm.add_note"', '"assigning" type="crm.add_note"'))
    detail = only_problem(owner, qualify, text, "lead_grade.dmn")
    assert (detail["element_id"], detail["line"]) == (
        "Activity_qualify",
        line_in("<zeebe:taskListeners>", text),
    )
    assert "the taskListener on 'assigning' has no place in the flow" in detail["message"]
    assert "'creating' and 'completing'" in detail["message"]

    text = edited(
        qualify,
        (
            'retries="3" />\n        <zeebe:ioMapping>',
            'retries="three" />\n        <zeebe:ioMapping>',
        ),
    )
    detail = only_problem(owner, qualify, text, "lead_grade.dmn")
    assert (detail["element_id"], detail["line"]) == (
        "Activity_note",
        line_in('retries="three"', text),
    )
    assert "retries='three'" in detail["message"]
    assert "a whole number of at least 1" in detail["message"]

    text = edited(qualify, ('bindingType="deployment"', 'bindingType="versionTag" versionTag="v3"'))
    detail = only_problem(owner, qualify, text, "lead_grade.dmn")
    assert (detail["element_id"], detail["line"]) == (
        "Activity_grade",
        line_in('bindingType="versionTag"', text),
    )
    assert "by version tag 'v3', and this deploy holds decision" in detail["message"]


def test_spiff_flowable_and_camunda_7_settings_that_cannot_run_are_refused_on_their_line(owner):
    """A spiff-arena data store (as its modeller draws a kkv or JSON store), a Flowable event
    registry start matched by a correlation parameter (ten refusals before, none saying what
    the start was), and a Camunda 7 error naming no error (five, one a "service task must
    have an operator")."""
    text = edited(
        "spiff_callback_request.bpmn",
        (
            '    <bpmn:endEvent id="Event_done">',
            '    <bpmn:dataStoreReference id="DataStoreReference_contacts" name="Contacts" '
            'dataStoreRef="contacts_store" />\n    <bpmn:endEvent id="Event_done">',
        ),
        (
            '  <bpmn:signal id="give_up"',
            '  <bpmn:dataStore id="contacts_store" />\n  <bpmn:signal id="give_up"',
        ),
    )
    detail = only_problem(owner, "spiff_callback_request.bpmn", text, "callback_priority.dmn")
    assert (detail["element_id"], detail["line"]) == (
        "DataStoreReference_contacts",
        line_in('<bpmn:dataStoreReference id="DataStoreReference_contacts"', text),
    )
    assert "data stores are not supported" in detail["message"]

    text = edited(
        "flowable_web_lead.bpmn",
        (
            "<flowable:channelKey>",
            '<flowable:eventCorrelationParameter name="customerId" value="${customerId}">'
            "</flowable:eventCorrelationParameter>\n        <flowable:channelKey>",
        ),
    )
    detail = only_problem(owner, "flowable_web_lead.bpmn", text)
    assert (detail["element_id"], detail["line"]) == (
        "startLeadCreated",
        line_in("<flowable:eventCorrelationParameter", text),
    )
    assert "no correlation parameter decides whether one starts" in detail["message"]
    assert "each 'leadCreated' event sent as a message" in detail["message"]

    text = edited(
        "c7_payment_check.bpmn",
        ('errorRef="Error_overdue" expression', 'errorRef="Error_late" expression'),
    )
    detail = only_problem(owner, "c7_payment_check.bpmn", text)
    assert (detail["element_id"], detail["line"]) == (
        "Activity_check",
        line_in("<camunda:errorEventDefinition", text),
    )
    assert "errorRef='Error_late' names no <bpmn:error> of this file" in detail["message"]
    assert "(there is 'Error_overdue')" in detail["message"]
