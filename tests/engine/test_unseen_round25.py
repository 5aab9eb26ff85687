"""A twenty-fifth round of unseen diagrams, from five tools no round used: Modelio 5
(``bpmn:`` prefix, ``_`` and a UUID for every id, ``expressionLanguage`` XPath declared for
conditions written in Python, nested lanes in a ``childLaneSet``, a data object, a group with
its category, a message flow from a black-box pool, no DI), Imixs-BPMN on Eclipse BPMN2
Modeler (``bpmn2:`` prefix, ``Task_1``-style ids, ``imixs:item`` settings in
``<extensionElements>`` of ``<definitions>`` and of each task and event, catch events without
a trigger as its "events", a quoted ``"PT1H"`` timer, a signal thrown to nobody, half a DI),
QPR ProcessDesigner with a decision file from Sparx Enterprise Architect (BPMN as default
namespace, ``QPR_`` ids, ``qpr:attributes``, DI naming an element that is not there; DMN 1.3
with ``EAID_`` ids, COLLECT SUM and FIRST), TIBCO Business Studio (EMF ids, ``tibex:xpdlId``,
a subprocess whose tasks are listed in the pool's lanes, an escalation end event caught on
the subprocess, a send task to a black-box pool) and MEGA HOPEX (ids from its ``_idAbs``,
``mega:property`` settings, a call activity into another file whose error end event is caught
on the call activity, with a non-interrupting timer beside it).

The processes: a lead intake qualified by an agent and approved by the sales manager
(Modelio), a call cadence that retries on a timer and gives up after three calls (Imixs), a
lead scored and routed by two decision tables (QPR + EA), a quote reviewed by a manager and
finance at once, a discount too high escalated to a director (TIBCO), a lead follow-up whose
wrong number is caught and fixed (HOPEX). Each is deployed through the API and run along
every path, with its data, the elements it went through, the inbox lanes and incidents
checked; then the mistakes made in these tools, each refused with ``422 invalid_bpmn`` on its
element and line.

What ran wrongly or was refused and runs or is said now: Imixs's model settings in
``<extensionElements>`` directly in ``<definitions>`` refused the whole file (taken out before
the schema, ``engine.xsd_problems``); a task writing Modelio's data object "Lead sheet",
whose id is a UUID no variable can have, deployed and failed when the agent completed it
(said at deploy, with a name to give it; a data object named as a variable with Modelio's id
is renamed as bpmn.io's are, ``engine.data_objects``); a FIRST table testing ``>= 60`` on the
null score a COLLECT SUM table gives when no rule matches failed the decision instead of
going on to its catch-all rule (``engine.hit_policies``); and a manager's review inside a
subprocess, listed in the pool's manager lane as TIBCO writes it, was offered to the agents
in the subprocess's lane (``engine.event_subprocesses.ScopeParser.parse_node``).
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

ROUND25 = DiagramFolder("round25")
diagram, edited, deploy = ROUND25.read, ROUND25.edited, ROUND25.deploy


def customer(db: Any) -> int:
    with db() as session:
        return create_customer(
            session, {"name": "Qian Mei", "phones": ["+8613700137000"]}, actor=None
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


# -- Modelio 5: a lead intake in nested lanes, with a lead sheet drawn as a data object -------

MODELIO = "modelio_lead_intake.bpmn"
MODELIO_PROCESS = "_6dbe7035-4fa2-4161-c259-703f1b8eaf46"
QUALIFY = "_e536f8bd-c7ea-49e9-aad1-f8b796d4c6ce"
LEAD_SHEET = (
    'name="Lead sheet" isCollection="false"/>',
    'name="lead_sheet" isCollection="false"/>',
)


def test_a_task_writing_modelios_lead_sheet_is_refused_with_a_name_to_give_it(owner, db):
    """The data object's id is a UUID no variable can have: the agent's task failed when
    completed ("'_5ad07bce-…' not exist in the task")."""
    text = diagram(MODELIO)
    (detail,) = refused(upload(owner, (MODELIO, text)))
    assert (detail["element_id"], detail["line"]) == (QUALIFY, line_in(f'id="{QUALIFY}"', text))
    for words in ["'Lead sheet'", "'_5ad07bce-d751-4f4f-a037-5e1df6349224'", "'lead_sheet'"]:
        assert words in detail["message"], detail["message"]
    nothing_deployed(db)


@pytest.mark.parametrize(
    ("qualified", "approved", "deal", "end"),
    [
        ({"budget": 800, "seats": 3, "referral": False}, None, None, "_297ac3f1-0b2e"),
        ({"budget": 9000, "seats": 40, "referral": False}, True, "40 seats", "_7cf09de0"),
        ({"budget": 9000, "seats": 40, "referral": False}, False, None, "_297ac3f1-0b2e"),
        ({"budget": 300, "seats": 2, "referral": True}, None, "2 seats", "_7cf09de0"),
    ],
)
def test_the_modelio_lead_intake_runs_every_way(
    owner, agent, actor, db, qualified, approved, deal, end
):
    boss = actor("manager", username="boss", team="East")
    response = upload(owner, (MODELIO, edited(MODELIO, LEAD_SHEET)))
    assert response.status_code == 201, response.get_json()
    cid = customer(db)
    started = agent.start(MODELIO_PROCESS, {"customer_id": cid})
    task = only(started["ready_tasks"])
    assert (task["title"], task["lane"]) == ("Qualify the lead", "agent")  # the inner lane
    after = agent.complete_ok(task["id"], {**qualified, "lead_sheet": "asked for a demo"})
    assert after["incidents"] == []
    assert after["data"]["data_objects"] == {"lead_sheet": "asked for a demo"}
    if approved is not None:
        review = only(boss.tasks())
        assert (review["title"], review["lane"]) == ("Approve the large lead", "manager")
        assert agent.tasks() == []
        after = boss.complete_ok(review["id"], {"approved": approved})
    assert (after["status"], after["incidents"]) == ("completed", [])
    if deal:
        assert deals_of(db, cid) == [(deal, f"{qualified['budget']}.00", "qualification")]
        assert notes_of(db) == []
    else:
        assert deals_of(db, cid) == []
        expected = [] if approved is False else ["Nurture: budget 800, 3 seats"]
        assert notes_of(db) == expected
    assert any(e.startswith(end) for e in went_through(agent, started["id"]))


# -- Imixs-BPMN: a call cadence, retried on a timer, given up after three calls ---------------

IMIXS = "imixs_call_cadence.bpmn"
IMIXS_EVENT = '<bpmn2:intermediateCatchEvent id="IntermediateCatchEvent_1"'
AS_THROW = [
    (IMIXS_EVENT, '<bpmn2:intermediateThrowEvent id="IntermediateCatchEvent_1"'),
    (
        "<bpmn2:outgoing>SequenceFlow_3</bpmn2:outgoing>\n    </bpmn2:intermediateCatchEvent>",
        "<bpmn2:outgoing>SequenceFlow_3</bpmn2:outgoing>\n    </bpmn2:intermediateThrowEvent>",
    ),
]


def test_an_imixs_model_is_refused_for_its_untriggered_event_alone(owner, db):
    """Its model settings in ``<definitions>``'s extension elements were refused by the
    schema too ("<extensionElements> cannot stand directly in <definitions>")."""
    text = diagram(IMIXS)
    (detail,) = refused(upload(owner, (IMIXS, text)))
    assert (detail["element_id"], detail["line"]) == (
        "IntermediateCatchEvent_1",
        line_in(IMIXS_EVENT, text),
    )
    assert "intermediate throw event" in detail["message"], detail["message"]
    nothing_deployed(db)


def test_the_imixs_cadence_sends_the_offer_to_an_interested_customer(owner, agent, db):
    response = upload(owner, (IMIXS, edited(IMIXS, *AS_THROW)))
    assert response.status_code == 201, response.get_json()
    started = agent.start("call_cadence_imixs", {"customer_id": customer(db), "calls": []})
    call = only(started["ready_tasks"])
    assert (call["title"], call["lane"]) == ("Call the customer", "agent")
    after = agent.complete_ok(call["id"], {"outcome": "connected_interested", "talked_s": 120})
    offer = only(after["ready_tasks"])
    assert offer["title"] == "Send the offer"
    assert agent.complete_ok(offer["id"])["status"] == "completed"
    assert calls_of(db) == [("connected_interested", 120)]
    assert "EndEvent_1" in went_through(agent, started["id"])


def test_the_imixs_cadence_retries_hourly_and_gives_up_after_three_calls(timed: Timed):
    deploy_text = edited(IMIXS, *AS_THROW)
    assert upload(timed.owner, (IMIXS, deploy_text)).status_code == 201
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    started = agent.start("call_cadence_imixs", {"customer_id": customer(db), "calls": []})
    for attempt in (1, 2, 3):
        calls = ["no_answer"] * attempt
        after = agent.complete_ok(
            only(agent.tasks())["id"], {"outcome": "no_answer", "talked_s": 0, "calls": calls}
        )
        if attempt == 3:
            break
        assert (after["status"], after["incidents"]) == ("waiting", [])
        assert [(w["kind"], w["name"]) for w in after["waiting"]] == [("timer", "wait an hour")]
        assert timed.advance(minutes=59) == 0 and agent.tasks() == []
        assert timed.advance(minutes=1) == 1
    assert (after["status"], after["incidents"]) == ("completed", [])
    assert calls_of(db) == [("no_answer", 0)] * 3
    assert "EndEvent_2" in went_through(agent, started["id"])


# -- QPR ProcessDesigner with Sparx EA's decisions: a lead scored, then routed ----------------

QPR = ("qpr_lead_routing.bpmn", "ea_lead_rules.dmn")


@pytest.mark.parametrize(
    ("lead", "score", "route", "task"),
    [
        (
            {"source": "referral", "seats": 60},
            90,
            "key_account",
            ("Key account call", "KeyAccounts"),
        ),
        ({"source": "web", "seats": 20}, 35, "call", ("Call the lead", "agent")),
        ({"source": "fair", "seats": 2}, 10, "nurture", None),
        # no scoring rule matches: the sum is null, and ">= 60" does not match it
        ({"source": "cold", "seats": 3}, None, "nurture", None),
    ],
)
def test_the_qpr_lead_is_scored_and_routed(owner, agent, actor, db, lead, score, route, task):
    keys = actor("agent", username="ka_li", team="KeyAccounts")
    deploy(owner, *QPR)
    cid = customer(db)
    started = agent.start("QPR_Process_4711", {"customer_id": cid, **lead})
    assert started["incidents"] == []
    assert (started["data"]["score"], started["data"]["route"]) == (score, route)
    if task is None:
        assert started["status"] == "completed"
        assert notes_of(db) == [f"Nurture, score {score}"]
        return
    ready = only(started["ready_tasks"])
    assert (ready["title"], ready["lane"]) == task
    worker = keys if task[1] == "KeyAccounts" else agent
    if worker is keys:
        assert agent.tasks() == []  # the team's, not every agent's
    assert worker.complete_ok(ready["id"])["status"] == "completed"


# -- TIBCO Business Studio: a quote reviewed at once by a manager and the agent --------------

TIBCO = "tibco_quote_review.bpmn"


@pytest.mark.parametrize(("discount", "director_ok"), [(10, None), (30, True), (30, False)])
def test_the_tibco_quote_review_runs_in_its_lanes(owner, agent, actor, db, discount, director_ok):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, TIBCO)
    cid = customer(db)
    started = agent.start("QuoteReview_Process", {"customer_id": cid})
    prepare = only(started["ready_tasks"])
    split = agent.complete_ok(
        prepare["id"], {"title": "Seats", "amount": 9000, "discount": discount}
    )
    assert sorted((t["title"], t["lane"]) for t in split["ready_tasks"]) == [
        ("Check the margin", "agent"),
        ("Manager review", "manager"),  # listed in the pool's manager lane
    ]
    review = only(boss.tasks())
    assert agent.complete(review["id"], {}).status_code == 403
    margin = only(agent.tasks())
    boss.complete_ok(review["id"], {})
    after = agent.complete_ok(margin["id"], {})
    if director_ok is not None:
        assert after["status"] == "running" and agent.tasks() == []
        director = only(boss.tasks())
        assert (director["title"], director["lane"]) == ("Director approval", "manager")
        after = boss.complete_ok(director["id"], {"director_ok": director_ok})
    assert (after["status"], after["incidents"]) == ("completed", [])
    completed = went_through(agent, started["id"])
    if director_ok is False:
        assert deals_of(db, cid) == []
        assert "_kQ3xZc4bEe-TbS7pLw9aQg" in completed
    else:
        assert deals_of(db, cid) == [("Seats", "9000.00", "qualification")]
        assert "_kQ3xZM4bEe-TbS7pLw9aQg" in completed
    assert ("_kQ3xfs4bEe-TbS7pLw9aQg" in completed) is (discount > 20)


# -- MEGA HOPEX: a follow-up's wrong number caught on the call activity, a reminder beside ---

HOPEX = ("hopex_lead_followup.bpmn", "hopex_call_attempt.bpmn")


def test_the_hopex_follow_up_catches_a_wrong_number_and_reminds_the_agent(timed: Timed):
    deploy(timed.owner, *HOPEX)
    db, agent = timed.runtime.db.unit_of_work, timed.agent
    cid = customer(db)
    started = agent.start("_Jq2mC7vN_Cd3", {"customer_id": cid, "agent": agent.username})
    dial = only(started["ready_tasks"])
    assert sorted((w["kind"], w["name"]) for w in started["waiting"]) == [
        ("error", "Wrong number"),
        ("timer", "Four hours"),
    ]
    wrong = agent.complete_ok(dial["id"], {"outcome": "wrong_number", "talked_s": 0})
    assert (wrong["status"], wrong["incidents"], wrong["waiting"]) == ("running", [], [])
    fix = only(wrong["ready_tasks"])
    assert fix["title"] == "Find the right number" and calls_of(db) == []
    again = agent.complete_ok(fix["id"], {"phone": "+8613700137001"})
    assert only(again["ready_tasks"])["title"] == "Dial the customer"
    assert timed.advance(hours=4, minutes=1) == 1
    assert notifications_of(db, agent) == ["The follow-up call is still open"]
    done = agent.complete_ok(
        only(agent.tasks())["id"], {"outcome": "connected_interested", "talked_s": 80}
    )
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert calls_of(db) == [("connected_interested", 80)]
    assert {"_Jq2mH7vN_Hi8", "_Jq2mI7vN_Ij9", "_Jq2mJ7vN_Jk0"} <= set(
        went_through(agent, started["id"])
    )


# -- the mistakes made in these tools: refused on the element and line ------------------------

BROKEN = {
    "a flow into an end event off by a character (Modelio)": (
        [
            (
                MODELIO,
                [
                    LEAD_SHEET,
                    (
                        'a18a002"/>\n    <bpmn:sequenceFlow id="_28bc',
                        'a18a00"/>\n    <bpmn:sequenceFlow id="_28bc',
                    ),
                ],
            )
        ],
        MODELIO,
        [
            (
                "_069a378a-930c-4b0b-2cf3-1ad9b2f04ee0",
                '<bpmn:sequenceFlow id="_069a378a',
                "did you mean '_297ac3f1-0b2e-4d2d-ae15-3cfbda18a002'",
            )
        ],
    ),
    "a Modelio file cut off": (
        [(MODELIO, [LEAD_SHEET, ("  </bpmn:process>\n</bpmn:definitions>\n", "")])],
        MODELIO,
        [(None, None, "looks cut off")],
    ),
    "a decision id misspelled (QPR)": (
        [(QPR[0], [(">lead_route_qpr<", ">lead_rout_qpr<")]), (QPR[1], [])],
        QPR[0],
        [("QPR_A_102", 'id="QPR_A_102"', "calls decision 'lead_rout_qpr', which no DMN file")],
    ),
    "a default flow that does not leave the gateway (QPR)": (
        [(QPR[0], [('default="QPR_F_6"', 'default="QPR_F_60"')]), (QPR[1], [])],
        QPR[0],
        [("QPR_G_103", 'id="QPR_G_103"', "its default flow 'QPR_F_60' is not one of its outgoing")],
    ),
    "a rule with a cell left out (EA)": (
        [
            (QPR[0], []),
            (
                QPR[1],
                [
                    (
                        '<dmn:inputEntry id="EAID_UT000004_1A2B_4c3d_9E8F_001122334455">'
                        "<dmn:text>-</dmn:text></dmn:inputEntry>\n",
                        "",
                    )
                ],
            ),
        ],
        QPR[1],
        [
            (
                "EAID_RU000002_1A2B_4c3d_9E8F_001122334455",
                'id="EAID_RU000002',
                "has 1 input entry for the table's 2 inputs",
            )
        ],
    ),
    "an escalation reference off by a character (TIBCO)": (
        [
            (
                TIBCO,
                [
                    (
                        'escalationRef="_kQ3xUs4bEe-TbS7pLw9aQg"/>\n    </bpmn2:boundaryEvent>',
                        'escalationRef="_kQ3xUs4bEe-TbS7pLw9aQh"/>\n    </bpmn2:boundaryEvent>',
                    )
                ],
            )
        ],
        TIBCO,
        [
            (
                "_kQ3xXc4bEe-TbS7pLw9aQg",
                '<bpmn2:boundaryEvent id="_kQ3xXc4bEe',
                "did you mean '_kQ3xUs4bEe-TbS7pLw9aQg'",
            )
        ],
    ),
    "a flow out of the subprocess (TIBCO)": (
        [
            (
                TIBCO,
                [
                    (
                        'sourceRef="_kQ3xfc4bEe-TbS7pLw9aQg" targetRef="_kQ3xgM4bEe-TbS7pLw9aQg"/>',
                        'sourceRef="_kQ3xfc4bEe-TbS7pLw9aQg" targetRef="_kQ3xYs4bEe-TbS7pLw9aQg"/>',
                    )
                ],
            )
        ],
        TIBCO,
        [
            (
                "_kQ3xe84bEe-TbS7pLw9aQg",
                '<bpmn2:sequenceFlow id="_kQ3xe84bEe',
                "which is outside subProcess '_kQ3xW84bEe-TbS7pLw9aQg'",
            )
        ],
    ),
    "the follow-up deployed without the process it calls (HOPEX)": (
        [(HOPEX[0], [])],
        HOPEX[0],
        [
            (
                "_Jq2mG7vN_Gh7",
                '<bpmn:callActivity id="_Jq2mG7vN_Gh7"',
                "calls process '_Hx8kT2lQ_Hd3', which is neither in this deploy",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_mistakes_made_in_these_tools_are_refused_on_their_element(owner, db, case):
    files, said_in, expected = BROKEN[case]
    uploaded = [(name, edited(name, *changes)) for name, changes in files]
    details = refused(upload(owner, *uploaded))
    text = dict(uploaded)[said_in].decode()
    for element_id, fragment, words in expected:
        matching = [d for d in details if d["element_id"] == element_id and words in d["message"]]
        assert matching, details
        (detail,) = matching
        assert detail["file"] == said_in
        if fragment is not None:
            assert detail["line"] == line_in(fragment, text), detail
        else:
            assert detail["line"] == text.count("\n") + 1, detail
    nothing_deployed(db)
