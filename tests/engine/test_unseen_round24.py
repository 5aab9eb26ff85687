"""A twenty-fourth round of unseen diagrams, from four tools' exports: two no round used
(Camunda 7's example style, a process-mining export) and two seen before with other processes
and other habits. Bonita Studio 2024's BPMN 2.0 export (``model:`` prefix, EMF ids, no
incoming/outgoing lists, ``implementation="##unspecified"``, Groovy declared for the file),
Lucidchart's BPMN 2.0 export (BPMN as the default namespace, dotted ids, names with line
breaks, a text annotation in the collaboration, one process per file), Camunda 7's classic
example in the shape of its invoice approval (``embedded:app:forms/…`` form keys, a decision
assigning the work, a due date of ``${dateTime().plusDays(1).toDate()}``, ``camunda:class``
and ``camunda:delegateExpression`` service tasks) and a process-mining export as PM4Py and
ProM write a discovered model (plain tasks only, gateways with no conditions,
``isExecutable="false"``, ``id``-and-UUID ids).

The processes: a lead qualification routed by a decision table (Camunda 7), a quote approval
signed off by a manager and finance at once (Lucidchart; PM4Py), a call-back loop on a timer
that escalates to the team lead after the third miss (Bonita), a lead follow-up calling a
"call attempt" whose error end event is caught on the call activity (Lucidchart). Each is
deployed through the API and run along every path, with its data, the elements it went
through, the inbox lanes and incidents checked. Then the files with the mistakes made in
these tools, each refused with ``422 invalid_bpmn`` on its element and line.

What ran wrongly or was refused and runs or is said now: the invoice example's due date
``${dateTime().plusDays(1).toDate()}`` was refused as a Java method call (it is the task's
``dueIn``, ``engine.joda_dates``); a Java class or bean on a service task was told "choose a
service operator from the handler registry", and again by the parser that it had no operator
(it is told once, with the operator its name points at and that operator's parameters, as an
external task: ``engine.java_delegates``); a decision table's ``>= 5,000`` deployed and ran as
``>= 5`` or ``000``, routing a budget of 800 as a big one (refused, ``engine.dmn_thousands``);
an ``errorRef``/``escalationRef`` off by a character or missing Lucidchart's page prefix, and a
misspelled ``calledElement``, were told to declare a new one (they are told the one meant,
``engine.near_ids``), the escalation's catch also said to wait for what nothing throws; a
discovered model's branches were named by their UUIDs only (now by where they lead); an
instance waiting inside an embedded subprocess showed its data as it was when the subprocess
began (the call-back loop's attempts stayed 0 until the team lead took over); and a Groovy
``callback_after ?: "PT2H"`` in a timer was told what ISO 8601 durations look like (it is told
the Python, ``callback_after or "PT2H"``: ``engine.elvis``).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm.customers import create_customer
from crm.models import Activity, Call
from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    notifications_of,
    upload,
)

ROUND24 = DiagramFolder("round24")
diagram, edited, deploy = ROUND24.read, ROUND24.edited, ROUND24.deploy


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Zhao Lei", "phones": ["+8613900139000"]}, actor=None
        ).id


def notes_of(db: Any) -> list[str]:
    with db() as session:
        return [a.body for a in session.scalars(select(Activity).order_by(Activity.id))]


def calls_of(db: Any) -> list[tuple[str, int]]:
    with db() as session:
        return [
            (c.disposition.value, c.duration_s)
            for c in session.scalars(select(Call).order_by(Call.id))
        ]


def only(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    (task,) = tasks
    return task


def went_through(actor: Actor, instance_id: int) -> list[str]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["completed"]


# -- Camunda 7, the invoice approval's shape: a lead routed by a decision table ---------------

LEAD = ("camunda7_lead_qualification.bpmn", "lead_routing.dmn")
QUALIFY_FORM = """</bpmn:documentation>
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="qualified" label="Qualified" type="boolean" />
          <camunda:formField id="amount" label="Expected amount" type="long" />
        </camunda:formData>
      </bpmn:extensionElements>"""


def external(topic: str, *parameters: tuple[str, str, str]) -> str:
    """A Camunda 7 external task's attributes and its ``(kind, name, value)`` parameters."""
    lines = "".join(
        f'          <camunda:{kind}Parameter name="{name}">{value}</camunda:{kind}Parameter>\n'
        for kind, name, value in parameters
    )
    return (
        f'camunda:type="external" camunda:topic="{topic}">\n      <bpmn:extensionElements>\n'
        f"        <camunda:inputOutput>\n{lines}        </camunda:inputOutput>\n"
        "      </bpmn:extensionElements>"
    )


# What the refusals say to write instead, written: the forms drawn in the diagram, the Java
# delegates as external tasks whose topics are Dialflow's operators.
REDRAWN = [
    (' camunda:formKey="embedded:app:forms/start-form.html"', ""),
    (' camunda:formKey="embedded:app:forms/qualify-lead.html"', ""),
    ("</bpmn:documentation>", QUALIFY_FORM),
    (' camunda:formKey="embedded:app:forms/review-opportunity.html"', ""),
    (
        'camunda:class="com.dialflow.sales.CreateOpportunityDelegate">',
        external(
            "crm.create_opportunity",
            ("input", "customer_id", "${customer_id}"),
            ("input", "amount", "${amount}"),
            ("input", "title", "Lead from ${source}"),
            ("output", "deal_id", "${id}"),
        ),
    ),
    (
        'camunda:delegateExpression="${notifyAgentDelegate}">',
        external(
            "notify.user",
            ("input", "user", "agent_east"),
            ("input", "message", "Deal ${deal_id} opened"),
        ),
    ),
]


def test_the_invoice_shaped_export_is_refused_on_each_java_and_html_part(owner, db):
    """Each form key, Java class and delegate expression on its element and line, with what
    to write; a service task naming a Java class was also said to have no operator."""
    text = diagram(LEAD[0])
    details = refused(upload(owner, (LEAD[0], text), (LEAD[1], diagram(LEAD[1]))))
    said = {(d["element_id"], d["line"]): d["message"] for d in details}
    assert len(said) == len(details) == 5, details
    for element, attribute in [
        ("StartEvent_1", "start-form.html"),
        ("qualifyLead", "qualify-lead.html"),
        ("reviewOpportunity", "review-opportunity.html"),
    ]:
        message = said[(element, line_in(f'id="{element}"', text))]
        assert attribute in message and "<camunda:formData>" in message, message
    opportunity = said[("createOpportunity", line_in('id="createOpportunity"', text))]
    for words in [
        "com.dialflow.sales.CreateOpportunityDelegate",
        "Dialflow runs no Java",
        'camunda:type="external" camunda:topic="crm.create_opportunity"',
        "customer_id, amount, title",
    ]:
        assert words in opportunity, opportunity
    notify = said[("notifyAgent", line_in('id="notifyAgent"', text))]
    for words in ["${notifyAgentDelegate}", 'camunda:topic="notify.user"', "user, message"]:
        assert words in notify, notify
    nothing_deployed(db)


@pytest.mark.parametrize(
    ("start", "qualify", "path", "deal"),
    [
        ({"source": "web", "budget": 800}, None, "EndEvent_nurtured", False),
        ({"source": "web", "budget": 9000}, {"qualified": False}, "EndEvent_closed", False),
        ({"source": "referral", "budget": 100}, {"qualified": True, "amount": 7000}, None, True),
    ],
)
def test_the_redrawn_lead_qualification_runs_every_way(timed: Timed, start, qualify, path, deal):
    """``camunda:dueDate="${dateTime().plusDays(1).toDate()}"``, the invoice example's way
    of giving a task a day, was refused as a Java method call."""
    boss = timed.actor("manager", username="boss", team="East")
    db = timed.runtime.db.unit_of_work
    deploy_text = edited(LEAD[0], *REDRAWN)
    response = upload(timed.owner, (LEAD[0], deploy_text), (LEAD[1], diagram(LEAD[1])))
    assert response.status_code == 201, response.get_json()
    cid = customer(db)
    started = timed.agent.start("lead_qualification", {"customer_id": cid, **start})
    team = "KeyAccounts" if start["source"] == "referral" else "East"
    assert started["data"]["routing"] == {
        "team": team,
        "strategy": "call" if qualify else "nurture",
    }
    if qualify is None:
        assert (started["status"], started["ready_tasks"]) == ("completed", [])
        assert notes_of(db) == ["Nurture: budget 800"]
    else:
        task = only(started["ready_tasks"])
        assert (task["title"], task["lane"]) == ("Qualify the lead", "agent")
        assert task["due_at"].startswith("2026-05-05T01:00:00")  # a day after T0
        assert sorted(task["form_schema"]["properties"]) == ["amount", "qualified"]
        after = timed.agent.complete_ok(task["id"], qualify)
        assert after["incidents"] == []
    if deal:
        assert deals_of(db, cid) == [("Lead from referral", "7000.00", "qualification")]
        review = only(boss.tasks())
        assert (review["title"], review["lane"]) == ("Review the opportunity", "manager")
        assert timed.agent.tasks() == []
        done = boss.complete_ok(review["id"], {})
        assert (done["status"], done["data"]["deal_id"]) == ("completed", deals_of_id(db, cid))
        assert notifications_of(db, timed.agent) == [f"Deal {done['data']['deal_id']} opened"]
        path = "EndEvent_opened"
    else:
        assert deals_of(db, cid) == []
    instance = timed.agent.instance(started["id"])
    assert instance["status"] == "completed"
    assert path in went_through(timed.agent, started["id"])


def deals_of_id(db: Any, customer_id: int) -> int:
    from crm.models import Deal

    with db() as session:
        return session.scalars(select(Deal.id).where(Deal.customer_id == customer_id)).one()


# -- Bonita: the call-back loop, a timer between attempts and the team lead after three ------

CALLBACK = ("bonita_callback.bpmn", "callback-form.json")


def test_a_call_back_is_logged_when_the_customer_is_reached(owner, agent, db):
    deploy(owner, *CALLBACK)
    cid = customer(db)
    started = agent.start("Call_back", {"customer_id": cid})
    call = only(started["ready_tasks"])
    assert (call["title"], call["lane"]) == ("Call the customer back", "agent")
    done = agent.complete_ok(call["id"], {"reached": True})
    assert (done["status"], done["data"]["attempts"]) == ("completed", 0)
    assert notes_of(db) == ["Reached after 0 missed calls"]
    assert "_Hq0cIM4aEe-b1Nn8cRwB2g" in went_through(agent, started["id"])


def test_a_call_back_missed_three_times_goes_to_the_team_lead(timed: Timed):
    lead = timed.actor("manager", username="lead_east", team="East")
    db = timed.runtime.db.unit_of_work
    deploy(timed.owner, *CALLBACK)
    agent = timed.agent
    started = agent.start("Call_back", {"customer_id": customer(db)})
    for attempt, wait in enumerate(["PT2H", "PT30M"], start=1):
        after = agent.complete_ok(
            only(agent.tasks())["id"], {"reached": False, "callback_after": wait}
        )
        assert (after["status"], after["ready_tasks"]) == ("waiting", [])
        assert (after["data"]["attempts"], after["data"]["callback_after"]) == (attempt, wait)
        assert sorted((w["kind"], w["name"]) for w in after["waiting"]) == [
            ("escalation", "Team lead takes over"),
            ("timer", "Wait until the callback time"),
        ]
        assert timed.advance(minutes=29) == 0
        assert agent.tasks() == []
        assert timed.advance(hours=2 if wait == "PT2H" else 0, minutes=1) == 1
    assert lead.tasks() == []
    last = agent.complete_ok(only(agent.tasks())["id"], {"reached": False})
    assert (last["status"], last["data"]["attempts"], last["incidents"]) == ("running", 3, [])
    take = only(lead.tasks())
    assert (take["title"], take["lane"]) == ("Take over the lead", "manager")
    assert agent.tasks() == [] and last["waiting"] == []
    assert lead.complete_ok(take["id"])["status"] == "completed"
    assert notes_of(db) == []
    assert "_Hq0cIc4aEe-b1Nn8cRwB2g" in went_through(agent, started["id"])


# -- Lucidchart: a quote signed off by a manager and finance at once --------------------------


@pytest.mark.parametrize(("manager_ok", "finance_ok"), [(True, True), (True, False), (False, True)])
def test_a_quote_is_signed_off_by_manager_and_finance_in_their_lanes(
    owner, agent, actor, db, manager_ok, finance_ok
):
    boss = actor("manager", username="boss", team="East")
    cashier = actor("agent", username="cashier", team="Finance")
    deployed = deploy(owner, "lucid_quote.bpmn")
    assert deployed["warnings"] == []
    cid = customer(db)
    started = agent.start("quote_approval_lucid", {"customer_id": cid, "agent": agent.username})
    prepare = only(started["ready_tasks"])
    assert (prepare["title"], prepare["lane"]) == ("Prepare\nthe quote", "agent")
    split = agent.complete_ok(prepare["id"], {"title": "Seats", "amount": 12000})
    assert sorted((t["title"], t["lane"]) for t in split["ready_tasks"]) == [
        ("Finance\nsign-off", "Finance"),
        ("Manager\nsign-off", "manager"),
    ]
    assert agent.tasks() == []
    mine, theirs = only(boss.tasks()), only(cashier.tasks())
    assert cashier.complete(mine["id"], {}).status_code == 403
    half = boss.complete_ok(mine["id"], {"manager_ok": manager_ok})
    assert half["status"] == "running" and deals_of(db, cid) == []
    done = cashier.complete_ok(theirs["id"], {"finance_ok": finance_ok})
    assert (done["status"], done["incidents"]) == ("completed", [])
    if manager_ok and finance_ok:
        assert deals_of(db, cid) == [("Seats", "12000.00", "qualification")]
        assert "vT4k.EndWon" in went_through(agent, started["id"])
    else:
        assert deals_of(db, cid) == []
        assert notifications_of(db, agent) == ["Quote Seats not signed"]
        assert "vT4k.EndLost" in went_through(agent, started["id"])


# -- Lucidchart: a follow-up calls its call attempt, whose wrong number is caught -------------

FOLLOWUP = ("lucid_followup.bpmn", "lucid_call_attempt.bpmn")


def test_a_call_attempts_wrong_number_is_caught_on_the_call_activity(owner, agent, db):
    deploy(owner, *FOLLOWUP)
    cid = customer(db)
    started = agent.start("lead_followup_lucid", {"customer_id": cid, "talked_s": 0})
    dial = only(started["ready_tasks"])
    assert (dial["title"], dial["lane"]) == ("Dial the\ncustomer", None)
    wrong = agent.complete_ok(dial["id"], {"outcome": "wrong_number"})
    assert (wrong["status"], wrong["incidents"]) == ("running", [])
    fix = only(wrong["ready_tasks"])
    assert fix["title"] == "Find the right\nnumber"
    assert calls_of(db) == []
    again = agent.complete_ok(fix["id"], {"phone": "+8613900139001"})
    dial_again = only(again["ready_tasks"])
    assert dial_again["title"] == "Dial the\ncustomer"
    done = agent.complete_ok(dial_again["id"], {"outcome": "connected_interested", "talked_s": 95})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["phone"] == "+8613900139001"
    assert calls_of(db) == [("connected_interested", 95)]
    assert {"Kp3r.Wrong", "Kp3r.Fix", "Kp3r.End"} <= set(went_through(agent, started["id"]))


def test_a_call_attempt_without_an_answer_is_logged_and_ends(owner, agent, db):
    deploy(owner, *FOLLOWUP)
    started = agent.start("lead_followup_lucid", {"customer_id": customer(db), "talked_s": 0})
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {"outcome": "no_answer"})
    assert (done["status"], calls_of(db)) == ("completed", [("no_answer", 0)])
    assert "Kp3r.Wrong" not in went_through(agent, started["id"])


# -- PM4Py: a discovered quote approval, refused as exported and run once decided ------------

PM4PY = "pm4py_quote.bpmn"
CHOICE = "id0a1b2c3d-0003-4e5f-8a9b-000000000003"
TO_SIGN_OFF = "id0a1b2c3d-1003-4e5f-8a9b-000000000003"
TO_SEND = "id0a1b2c3d-1004-4e5f-8a9b-000000000004"
DECIDED = [
    ('isExecutable="false"', 'isExecutable="true"'),
    (
        f'<exclusiveGateway id="{CHOICE}" gatewayDirection="Diverging" name="">',
        f'<exclusiveGateway id="{CHOICE}" gatewayDirection="Diverging" name="" '
        f'default="{TO_SEND}">',
    ),
    (
        f'<sequenceFlow id="{TO_SIGN_OFF}" name="" sourceRef="{CHOICE}" '
        'targetRef="id0a1b2c3d-0004-4e5f-8a9b-000000000004"/>',
        f'<sequenceFlow id="{TO_SIGN_OFF}" name="" sourceRef="{CHOICE}" '
        'targetRef="id0a1b2c3d-0004-4e5f-8a9b-000000000004"><conditionExpression '
        'xsi:type="tFormalExpression">amount &gt; 10000</conditionExpression></sequenceFlow>',
    ),
]


def test_a_discovered_model_is_refused_saying_where_each_branch_leads(owner, db):
    text = diagram(PM4PY)
    details = refused(upload(owner, (PM4PY, text)))
    said = {d["element_id"]: d for d in details}
    assert set(said) == {"id5e1b2c4d-8a7f-4f3e-b2d1-0c9e8f7a6b51", TO_SIGN_OFF, TO_SEND}
    assert 'isExecutable="false"' in said["id5e1b2c4d-8a7f-4f3e-b2d1-0c9e8f7a6b51"]["message"]
    for flow, leads in [
        (TO_SIGN_OFF, "then 'Manager sign-off' and 'Finance sign-off')"),
        (TO_SEND, "then 'Send quote')"),
    ]:
        assert said[flow]["line"] == line_in(f'<sequenceFlow id="{flow}"', text)
        message = said[flow]["message"]
        assert leads in message, message
        assert "a process-mining export" in message, message
    nothing_deployed(db)


@pytest.mark.parametrize(("amount", "signed"), [(20000, True), (500, False)])
def test_a_discovered_model_once_decided_runs_its_tasks_in_the_starters_inbox(
    owner, agent, amount, signed
):
    response = upload(owner, (PM4PY, edited(PM4PY, *DECIDED)))
    assert response.status_code == 201, response.get_json()
    (process_id,) = response.get_json()["process_ids"]
    started = agent.start(process_id, {"amount": amount})
    prepare = only(started["ready_tasks"])
    assert (prepare["title"], prepare["lane"]) == ("Prepare quote", None)
    after = agent.complete_ok(prepare["id"])
    titles = sorted(t["title"] for t in after["ready_tasks"])
    if signed:
        assert titles == ["Finance sign-off", "Manager sign-off"]
        for task in after["ready_tasks"]:
            after = agent.complete_ok(task["id"])
        titles = [t["title"] for t in after["ready_tasks"]]
    assert titles == ["Send quote"]
    assert agent.complete_ok(agent.tasks()[0]["id"])["status"] == "completed"
    completed = went_through(agent, started["id"])
    assert ("id0a1b2c3d-0005-4e5f-8a9b-000000000005" in completed) is signed


# -- the files with the mistakes made in these tools: refused on the element and line ---------

BONITA_BOUNDARY = (
    '<model:escalationEventDefinition id="_Hq0cNM4aEe-b1Nn8cRwB2g" '
    'escalationRef="_Hq0cBM4aEe-b1Nn8cRwB2g"/>'
)
BONITA_TIMER = 'evaluatesToTypeRef="java:java.lang.String">callback_after</model:timeDuration>'
DMN_RULE = "<text>&gt;= 5000</text>"
NURTURE = 'camunda:type="external" camunda:topic="crm.add_note">'


@pytest.mark.parametrize(
    ("files", "file", "change", "element", "at", "words"),
    [
        pytest.param(
            CALLBACK,
            "bonita_callback.bpmn",
            (BONITA_BOUNDARY, BONITA_BOUNDARY.replace('B2g"/>', 'B2x"/>')),
            "_Hq0cE84aEe-b1Nn8cRwB2g",
            'id="_Hq0cE84aEe-b1Nn8cRwB2g"',
            ["_Hq0cBM4aEe-b1Nn8cRwB2x", "_Hq0cBM4aEe-b1Nn8cRwB2g"],
            id="bonita-escalation-ref-to-nothing",
        ),
        pytest.param(
            CALLBACK,
            "bonita_callback.bpmn",
            (BONITA_TIMER, BONITA_TIMER.replace("callback_after<", 'callback_after ?: "PT2H"<')),
            "_Hq0cHc4aEe-b1Nn8cRwB2g",
            'id="_Hq0cHc4aEe-b1Nn8cRwB2g"',
            ["uses Groovy's ?:", 'write callback_after or "PT2H"'],
            id="bonita-groovy-elvis-in-a-timer",
        ),
        pytest.param(
            ("bonita_callback.bpmn",),
            "bonita_callback.bpmn",
            None,
            "_Hq0cGc4aEe-b1Nn8cRwB2g",
            'id="_Hq0cGc4aEe-b1Nn8cRwB2g"',
            ["callback-form.json"],
            id="bonita-form-left-out-of-the-deploy",
        ),
        pytest.param(
            ("lucid_quote.bpmn",),
            "lucid_quote.bpmn",
            ('<association id="vT4k.Assoc_1"', '<association id="0~Assoc_1"'),
            "0~Assoc_1",
            'id="0~Assoc_1"',
            ["no valid XML id"],
            id="lucid-shape-id-as-an-id",
        ),
        pytest.param(
            ("lucid_quote.bpmn",),
            "lucid_quote.bpmn",
            (
                '<sequenceFlow id="vT4k.f11" sourceRef="vT4k.Refused" targetRef="vT4k.EndLost"/>',
                '<sequenceFlow id="vT4k.f11" sourceRef="vT4k.Refused"/>',
            ),
            "vT4k.f11",
            'id="vT4k.f11"',
            ["targetRef"],
            id="lucid-connector-left-unattached",
        ),
        pytest.param(
            FOLLOWUP,
            "lucid_followup.bpmn",
            ('calledElement="call_attempt_lucid"', 'calledElement="call_atempt_lucid"'),
            "Kp3r.Attempt",
            'id="Kp3r.Attempt"',
            ["call_atempt_lucid", "call_attempt_lucid"],
            id="lucid-called-process-misspelled",
        ),
        pytest.param(
            FOLLOWUP,
            "lucid_call_attempt.bpmn",
            (
                'errorRef="Zc5m.err_wrong"/>\n    </endEvent>',
                'errorRef="err_wrong"/>\n    </endEvent>',
            ),
            "Zc5m.Wrong",
            'id="Zc5m.Wrong"',
            ["err_wrong", "Zc5m.err_wrong"],
            id="lucid-error-ref-without-its-page-prefix",
        ),
        pytest.param(
            LEAD,
            "lead_routing.dmn",
            (DMN_RULE, "<text>&gt;= 5,000</text>"),
            "UnaryTests_r2b",
            'id="UnaryTests_r2b"',
            ["5,000", "reads 5, 000 instead of one number: write 5000"],
            id="camunda7-dmn-thousands-separator",
        ),
        pytest.param(
            LEAD,
            "camunda7_lead_qualification.bpmn",
            (NURTURE, 'camunda:expression="${crm.addNote(execution)}">'),
            "nurtureLead",
            'id="nurtureLead"',
            ["Dialflow runs no Java method", 'camunda:topic="crm.add_note"', "customer_id, text"],
            id="camunda7-expression-service-task",
        ),
    ],
)
def test_broken_variants_are_refused_on_the_element_and_line(
    owner, db, files, file, change, element, at, words
):
    contents = {name: diagram(name) for name in files}
    if files == LEAD:  # as redrawn, without the exported file's own refusals
        contents[LEAD[0]] = edited(LEAD[0], *REDRAWN)
    if change is not None:
        assert contents[file].decode().count(change[0]) == 1, change[0]
        contents[file] = contents[file].decode().replace(*change).encode()
    said = refused(upload(owner, *contents.items()))
    details = [d for d in said if d["element_id"] == element and words[0] in d["message"]]
    assert len(details) == 1, said
    (detail,) = details
    assert (detail["file"], detail["line"]) == (file, line_in(at, contents[file]))
    for word in words:
        assert word in detail["message"], detail["message"]
    nothing_deployed(db)
