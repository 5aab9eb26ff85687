"""Round 29 of unseen diagrams: telesales processes as eight tools no earlier round used write
BPMN 2.0 and DMN.

Intalio|Designer 6 (a lead graded by a script, sent by an exclusive gateway with a default flow
to the manager's approval or straight to the deal; ``bpmn2:``, EMF ids, its own attributes),
Cameo Systems Modeler / MagicDraw (the agent's quote and the manager's credit check in
parallel, joined, then the deal or a note; ``semantic:`` prefix, MagicDraw's ``_19_0_3_`` ids),
ProcessOn (a manager's list of leads called back one by one by a multi-instance user task
whose loop is written as the BPMN specification writes it, the interested ones noted; Chinese
labels, no incoming/outgoing lists), GenMyModel (a complaint whose subprocess throws a refund
error, caught by an interrupting boundary, or a severe escalation, caught beside it), iGrafx
(an order handover calling a credit check in another file, variables passed both ways),
Eclipse Papyrus (a collaboration of two pools, the customer's drawn only, message flows
between them, the sales pool waiting for the customer's answer), Cawemo then Camunda 7's
Desktop Modeler (a generated ``camunda:formData`` form, a list, a map and a Python script in
input/output mappings, an external task whose topic is an operator) and QPR ProcessDesigner (a
COLLECT table with a date column choosing the actions, an inclusive gateway whose default flow
is taken when none applies). Each is deployed through the API and run along its paths as the
lanes' users (403 for the wrong lane) with the CRM writes and final data checked; then the
mistakes these exports and their editors make, each refused with ``422 invalid_bpmn`` on its
element and line.

What was refused or said badly, and runs or is said now: a Camunda 7 external task with a
``camunda:script`` (Python), ``camunda:list`` or ``camunda:map`` parameter was refused whole,
four times, as if Dialflow ran no external task; it runs with the Python those build
(``engine.external_tasks``), and a JavaScript script there is said once, on its parameter's
line. A DMN input expression ``date(signed_up)`` (FEEL's date of a variable) failed the
decision ("Error evaluating expression"), Python's ``date`` wanting three numbers; it reads
the value as FEEL does, ``date and time(x)`` too (``engine.feel``). A rule cell
``>= date("2026-13-01")`` deployed and failed the decision each time its rule was reached; it
is refused on its cell (``engine.feel_temporal``). Two deploy leftovers of round 28: a column's
``typeRef="numbr"`` deployed and its values went unchecked; it is refused on its element with
the type meant (``engine.dmn_types``). A file whose root is in a wrong namespace (a BPMN
draft's, ``https``, DI's) was refused with file and line but no element; the root is named by
its id (``engine.xsd_problems``; a DMN file's root, ``engine.dmn_checks``). Not done then:
Activiti 7's extensions-file mappings stayed refused on the task; they run since
(``tests.engine.test_deploy_gaps``).
"""

from __future__ import annotations

from typing import Any

import pytest

from crm.customers import create_customer
from tests.engine.conftest import Actor, notes_of, only, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    deals_of,
    line_in,
    nothing_deployed,
    upload,
)

ROUND29 = DiagramFolder("round29")
ROUND28 = DiagramFolder("round28")
diagram, edited, deploy = ROUND29.read, ROUND29.edited, ROUND29.deploy


def customer(db: Any, name: str = "Qian Hui") -> int:
    with db() as session:
        return create_customer(session, {"name": name, "phones": ["+8613700137000"]}, actor=None).id


def went_through(actor: Actor, instance_id: int) -> list[str]:
    response = actor.get(f"/api/v1/process-instances/{instance_id}/elements")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["completed"]


# -- Intalio|Designer: a lead graded, the big ones approved by the manager, a deal opened ------

INTALIO = "intalio_lead_qualification.bpmn"
INTALIO_PROCESS = "_wdxMgfE5EeCRCL2FzlRslQ"


@pytest.mark.parametrize(
    ("seats", "approval", "deal"),
    [
        (80, True, ("Grade A: 80 seats", "9600.00")),
        (12, False, ("Grade B: 12 seats", "1440.00")),
        (3, False, None),
    ],
)
def test_the_intalio_lead_is_graded_and_routed(owner, agent, actor, db, seats, approval, deal):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, INTALIO)
    cid = customer(db)
    started = agent.start(INTALIO_PROCESS, {"customer_id": cid})
    qualify = only(started["ready_tasks"])
    assert (qualify["title"], qualify["lane"]) == ("Qualify the lead", "agent")
    assert boss.complete(qualify["id"], {"seats": seats}).status_code == 403
    view = agent.complete_ok(qualify["id"], {"seats": seats})
    assert view["incidents"] == []
    if approval:
        approve = only(boss.tasks())
        assert (approve["title"], approve["lane"]) == ("Approve the big lead", "manager")
        assert agent.complete(approve["id"], {}).status_code == 403
        view = boss.complete_ok(approve["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == ([(*deal, "qualification")] if deal else [])
    ended = "_wdxMlfE5EeCRCL2FzlRslQ" if deal else "_wdxMiPE5EeCRCL2FzlRslQ"
    assert ended in went_through(agent, started["id"])


# -- Cameo / MagicDraw: the quote and the credit check in parallel, then the deal or a note ----

CAMEO = "cameo_quote_check.bpmn"
CAMEO_PROCESS = "_19_0_3_8e2027b_1712990000001_801201_4002"


@pytest.mark.parametrize("credit_ok", [True, False])
def test_the_cameo_quote_waits_for_the_credit_check_beside_it(owner, agent, actor, db, credit_ok):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, CAMEO)
    cid = customer(db)
    started = agent.start(CAMEO_PROCESS, {"customer_id": cid})
    prepare = only(agent.tasks())
    check = only(boss.tasks())
    assert (prepare["title"], prepare["lane"]) == ("Prepare\nthe quote", "agent")
    assert (check["title"], check["lane"]) == ("Check\nthe credit", "manager")
    assert agent.complete(check["id"], {"credit_ok": True}).status_code == 403
    assert boss.complete(prepare["id"], {}).status_code == 403
    view = agent.complete_ok(prepare["id"], {"product": "Call-centre seats", "amount": 5000})
    assert (view["status"], deals_of(db, cid)) == ("running", [])  # the join waits
    view = boss.complete_ok(check["id"], {"credit_ok": credit_ok, "credit_note": "overdue"})
    assert (view["status"], view["incidents"]) == ("completed", [])
    if credit_ok:
        assert deals_of(db, cid) == [("Call-centre seats", "5000.00", "qualification")]
        assert notes_of(db, cid) == []
    else:
        assert deals_of(db, cid) == []
        assert notes_of(db, cid) == ["Credit refused for Call-centre seats: overdue"]
    assert "_19_0_3_8e2027b_1712990000001_801201_4018" in went_through(agent, started["id"])


# -- ProcessOn: the manager's list of leads called back one by one, the interested noted -------

PROCESSON = "processon_lead_followups.bpmn"


def test_the_processon_follow_ups_call_each_lead_of_the_list_in_turn(owner, agent, actor, db):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, PROCESSON)
    cid = customer(db)
    started = agent.start("process_18c2f0a1b4", {"customer_id": cid})
    assign = only(started["ready_tasks"])
    assert (assign["title"], assign["lane"]) == ("分配回访名单", "manager")
    assert agent.complete(assign["id"], {"leads": []}).status_code == 403
    leads = [
        {"name": "王芳", "phone": "+8613800000001"},
        {"name": "李强", "phone": "+8613800000002"},
    ]
    view = boss.complete_ok(assign["id"], {"leads": leads})
    answers = [True, False]
    for lead, interested in zip(leads, answers, strict=True):
        call = only(agent.tasks())
        assert (call["title"], call["lane"]) == ("回访线索", "agent")
        assert boss.complete(call["id"], {}).status_code == 403
        view = agent.complete_ok(
            call["id"], {"result": {"name": lead["name"], "interested": interested}}
        )
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert view["data"]["interested"] == ["王芳"]
    assert view["data"]["results"] == [
        {"name": "王芳", "interested": True},
        {"name": "李强", "interested": False},
    ]
    assert notes_of(db, cid) == ["回访 2 人，有意向：王芳"]


# -- GenMyModel: a complaint whose subprocess throws a refund error or a severe escalation ----

GENMYMODEL = "genmymodel_complaint.bpmn"
GMM_PROCESS = "_RkpJoxXqEeu8S6l9YvM7GQ"


@pytest.mark.parametrize("wants", ["apology", "manager"])
def test_the_genmymodel_complaint_is_handled_and_a_severe_one_called_back(
    owner, agent, actor, db, wants
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, GENMYMODEL)
    started = agent.start(GMM_PROCESS, {"customer_id": customer(db)})
    hear = only(started["ready_tasks"])
    assert (hear["title"], hear["lane"]) == ("Hear the customer out", "agent")
    assert boss.complete(hear["id"], {"wants": wants}).status_code == 403
    view = agent.complete_ok(hear["id"], {"wants": wants})
    assert view["incidents"] == []
    if wants == "manager":  # not interrupting: the subprocess finished beside the call
        call = only(boss.tasks())
        assert (call["title"], call["lane"]) == ("Call the customer", "manager")
        assert agent.complete(call["id"], {}).status_code == 403
        view = boss.complete_ok(call["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])
    completed = went_through(agent, started["id"])
    assert "_RkpJrBXqEeu8S6l9YvM7GQ" in completed  # closed
    assert ("_RkpJsxXqEeu8S6l9YvM7GQ" in completed) is (wants == "manager")


def test_the_genmymodel_refund_error_leaves_the_subprocess_for_the_manager(owner, agent, actor, db):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, GENMYMODEL)
    cid = customer(db)
    started = agent.start(GMM_PROCESS, {"customer_id": cid})
    view = agent.complete_ok(
        only(started["ready_tasks"])["id"], {"wants": "refund", "refund": "300 CNY"}
    )
    assert (view["status"], view["incidents"]) == ("running", [])
    approve = only(boss.tasks())
    assert (approve["title"], approve["lane"]) == ("Approve the refund", "manager")
    assert agent.complete(approve["id"], {}).status_code == 403
    done = boss.complete_ok(approve["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, cid) == ["Refund of 300 CNY approved"]
    completed = went_through(agent, started["id"])
    assert "_RkpJsRXqEeu8S6l9YvM7GQ" in completed and "_RkpJrBXqEeu8S6l9YvM7GQ" not in completed


# -- iGrafx: the handover calls the credit check of another file, variables both ways --------

IGRAFX = ("igrafx_order_handover.bpmn", "igrafx_credit_check.bpmn")


@pytest.mark.parametrize(("amount", "deal"), [(8000, True), (12000, False)])
def test_the_igrafx_handover_reads_what_its_called_check_answers(owner, agent, db, amount, deal):
    deploy(owner, *IGRAFX)
    cid = customer(db)
    started = agent.start("ID_5A1C2B3D_0010", {"customer_id": cid, "credit_limit": 10000})
    take = only(started["ready_tasks"])
    assert (take["title"], take["lane"]) == ("Take the order", "agent")
    view = agent.complete_ok(take["id"], {"amount": amount})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert (view["data"]["within_limit"], view["data"]["checked_by"]) == (deal, "finance")
    assert deals_of(db, cid) == (
        [("Order checked by finance", f"{amount}.00", "qualification")] if deal else []
    )
    ended = "ID_5A1C2B3D_0025" if deal else "ID_5A1C2B3D_0026"
    assert ended in went_through(agent, started["id"])


# -- Papyrus: two pools, the offer sent and the customer's answer awaited as a message -------

PAPYRUS = "papyrus_offer_collaboration.bpmn"


@pytest.mark.parametrize("accepted", [True, False])
def test_the_papyrus_offer_waits_for_the_customer_s_answer(owner, agent, actor, db, accepted):
    boss = actor("manager", username="boss", team="East")
    deployed = deploy(owner, PAPYRUS)
    assert deployed["process_ids"] == ["papyrus_offer"]  # the customer's pool is drawn only
    cid = customer(db)
    started = agent.start("papyrus_offer", {"customer_id": cid}, business_key=f"offer-{cid}")
    write = only(started["ready_tasks"])
    assert (write["title"], write["lane"]) == ("Write the offer", "agent")
    assert boss.complete(write["id"], {}).status_code == 403
    view = agent.complete_ok(write["id"], {"offer": "40 seats, one year", "amount": 48000})
    assert (view["status"], view["incidents"]) == ("waiting", [])
    assert notes_of(db, cid) == ["Offer sent: 40 seats, one year"]
    sent = agent.post(
        "/api/v1/messages",
        json={
            "name": "offer_answer",
            "business_key": f"offer-{cid}",
            "payload": {"accepted": accepted},
        },
    )
    assert sent.status_code == 202, sent.get_json()
    done = agent.instance(started["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert deals_of(db, cid) == (
        [("40 seats, one year", "48000.00", "qualification")] if accepted else []
    )


# -- Cawemo + Camunda 7: a generated form, list, map and script mappings, an external task ---

CAWEMO = "cawemo_call_outcome.bpmn"


@pytest.mark.parametrize(("seats", "wants_demo", "demo"), [(25, True, True), (5, True, False)])
def test_the_cawemo_outcome_is_mapped_noted_and_the_demo_booked(
    owner, agent, actor, db, seats, wants_demo, demo
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, CAWEMO)
    cid = customer(db)
    started = agent.start("cawemo_call_outcome", {"customer_id": cid, "channel": "wechat"})
    log = only(started["ready_tasks"])
    assert (log["title"], log["lane"]) == ("Log the outcome", "agent")
    answer = {"outcome": "interested", "seats": seats, "wants_demo": wants_demo}
    assert boss.complete(log["id"], answer).status_code == 403
    bad = agent.complete(log["id"], {**answer, "seats": 0})
    assert bad.status_code == 422, bad.get_json()  # the form's min constraint
    view = agent.complete_ok(log["id"], answer)
    assert view["incidents"] == []
    assert view["data"]["lead"] == {"outcome": "interested", "seats": seats, "reached_by": "wechat"}
    assert notes_of(db, cid) == [f"interested, {seats} seats, by wechat"]
    if demo:
        book = only(boss.tasks())
        assert (book["title"], book["lane"]) == ("Book the demo", "manager")
        assert agent.complete(book["id"], {}).status_code == 403
        view = boss.complete_ok(book["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])


# -- QPR: a COLLECT table with a date column, an inclusive gateway with a default flow -------

QPR = ("qpr_lead_routing.bpmn", "qpr_lead_actions.dmn")


@pytest.mark.parametrize(
    ("signed_up", "seats", "actions"),
    [
        ("2026-02-10", 40, ["welcome_call", "demo"]),
        ("2026-02-10", 3, ["welcome_call"]),
        ("2025-11-30", 40, ["demo"]),
        ("2025-11-30", 3, []),
    ],
)
def test_the_qpr_routing_takes_each_action_its_table_collects(
    owner, agent, actor, db, signed_up, seats, actions
):
    boss = actor("manager", username="boss", team="East")
    deploy(owner, *QPR)
    cid = customer(db)
    started = agent.start("qpr_lead_routing", {"customer_id": cid})
    size = only(started["ready_tasks"])
    assert (size["title"], size["lane"]) == ("Size the lead", "agent")
    view = agent.complete_ok(size["id"], {"signed_up": signed_up, "seats": seats})
    assert view["incidents"] == [], view["incidents"][0]["message"]
    assert view["data"]["actions"] == actions, view["data"]
    if "welcome_call" in actions:
        call = only(agent.tasks())
        assert call["title"] == "Make the welcome call"
        assert boss.complete(call["id"], {}).status_code == 403
        view = agent.complete_ok(call["id"], {})
    if "demo" in actions:
        demo = only(boss.tasks())
        assert (demo["title"], demo["lane"]) == ("Book the demo", "manager")
        assert agent.complete(demo["id"], {}).status_code == 403
        view = boss.complete_ok(demo["id"], {})
    assert (view["status"], view["incidents"]) == ("completed", [])
    assert notes_of(db, cid) == ([] if actions else ["Nurture: no action applies"])


def test_a_qpr_input_expression_reading_its_date_with_feel_s_date_function(owner, agent, db):
    """``date(signed_up)`` failed the decision ("Error evaluating expression"): Python's
    ``date`` wants a year, a month and a day. FEEL's ``date(x)`` of a variable reads it."""
    deploy(owner, *QPR)
    started = agent.start("qpr_lead_routing", {"customer_id": customer(db)})
    view = agent.complete_ok(
        only(started["ready_tasks"])["id"], {"signed_up": "2026-01-01T08:30:00+08:00", "seats": 1}
    )
    assert view["incidents"] == [], view["incidents"][0]["message"]
    assert view["data"]["actions"] == ["welcome_call"]


# -- deploy leftovers: a typeRef no type has, a root in a wrong namespace --------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [("numbr", "number"), ("Number", "number"), ("feel:nubmer", "number"), ("strng", "string")],
)
def test_a_dmn_type_ref_naming_no_type_is_refused_on_its_element(owner, db, written, meant):
    bpmn, dmn = QPR
    text = edited(dmn, ('typeRef="number"', f'typeRef="{written}"'))
    details = refused(upload(owner, (bpmn, diagram(bpmn)), (dmn, text)))
    (detail,) = details
    assert (detail["element_id"], detail["file"]) == ("qpr_ie_seats", dmn)
    assert detail["line"] == line_in('<inputExpression id="qpr_ie_seats"', text)
    assert (
        f"has typeRef {written!r}, which names no type: did you mean {meant!r}?"
        in (detail["message"])
    )
    nothing_deployed(db)


def test_an_output_type_ref_typo_without_an_id_is_said_on_its_column(owner, db):
    bpmn, dmn = QPR
    text = edited(
        dmn,
        (
            'id="qpr_out_action" label="Action" name="actions" typeRef="string"',
            'label="Action" name="actions" typeRef="sting"',
        ),
    )
    (detail,) = refused(upload(owner, (bpmn, diagram(bpmn)), (dmn, text)))
    assert (detail["element_id"], detail["file"]) == ("qpr_lead_actions_dt", dmn)
    assert "typeRef 'sting'" in detail["message"] and "'string'" in detail["message"]


@pytest.mark.parametrize(
    "type_ref", ["feel:number", "xsd:integer", "tSeats", "date and time", "Any", "double"]
)
def test_type_refs_of_feel_xml_schema_and_the_file_s_own_types_deploy(owner, type_ref):
    """Pins what deployed before: FEEL's and XML Schema's names, prefixed or not, and an
    ``itemDefinition`` of the file."""
    bpmn, dmn = QPR
    text = edited(
        dmn,
        ('typeRef="number"', f'typeRef="{type_ref}"'),
        (
            '  <decision id="qpr_lead_actions"',
            '  <itemDefinition name="tSeats"><typeRef>number</typeRef></itemDefinition>\n'
            '  <decision id="qpr_lead_actions"',
        ),
    )
    response = upload(owner, (bpmn, diagram(bpmn)), (dmn, text))
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "namespace",
    [
        "http://www.omg.org/spec/BPMN/20100524/DI",
        "https://www.omg.org/spec/BPMN/20100524/MODEL",
        "http://www.omg.org/spec/BPMN/20100501/MODEL",
    ],
)
def test_a_file_in_a_wrong_bpmn_namespace_is_refused_on_its_root(owner, db, namespace):
    text = edited(
        INTALIO,
        (
            'xmlns:bpmn2="http://www.omg.org/spec/BPMN/20100524/MODEL"',
            f'xmlns:bpmn2="{namespace}"',
        ),
    )
    (detail,) = refused(upload(owner, (INTALIO, text)))
    assert (detail["element_id"], detail["file"]) == ("_wdxMgPE5EeCRCL2FzlRslQ", INTALIO)
    assert detail["line"] == line_in("<bpmn2:definitions", text)
    assert f"is no BPMN 2.0 file: its root is <definitions> of {namespace!r}" in detail["message"]
    nothing_deployed(db)


def test_a_dmn_file_in_a_wrong_namespace_is_refused_on_its_root(owner, db):
    bpmn, dmn = QPR
    text = edited(
        dmn,
        ("https://www.omg.org/spec/DMN/20191111/MODEL/", "https://www.omg.org/spec/DMN/MODEL/"),
    )
    details = refused(upload(owner, (bpmn, diagram(bpmn)), (dmn, text)))
    (root,) = [d for d in details if d["file"] == dmn]
    assert root["element_id"] == "qpr_defs_actions"
    assert root["line"] == line_in("<definitions", text)
    assert "is no DMN file: its root is <definitions>" in root["message"]
    nothing_deployed(db)


# -- the mistakes these exports and their editors make: refused on the element and line -------

BROKEN = {
    "a default flow picked from the wrong gateway (Intalio)": (
        [(INTALIO, [('default="_wdxMkPE5EeCRCL2FzlRslQ"', 'default="_wdxMjPE5EeCRCL2FzlRslQ"')])],
        INTALIO,
        (
            "_wdxMh_E5EeCRCL2FzlRslQ",
            '<bpmn2:exclusiveGateway id="_wdxMh_E5EeCRCL2FzlRslQ"',
            "is not one of its outgoing sequence flows",
        ),
    ),
    "a flow from a deleted task, its EMF id one character off (Intalio)": (
        [
            (
                INTALIO,
                [('sourceRef="_wdxMivE5EeCRCL2FzlRslQ"', 'sourceRef="_wdxMivE5EeCRCL2FzlRslR"')],
            )
        ],
        INTALIO,
        (
            "_wdxMk_E5EeCRCL2FzlRslQ",
            '<bpmn2:sequenceFlow id="_wdxMk_E5EeCRCL2FzlRslQ"',
            "did you mean '_wdxMivE5EeCRCL2FzlRslQ'",
        ),
    ),
    "a lane listing a deleted element (Cameo)": (
        [
            (
                CAMEO,
                [
                    (
                        "<semantic:flowNodeRef>_19_0_3_8e2027b_1712990000001_801201_4013",
                        "<semantic:flowNodeRef>_19_0_3_8e2027b_1712990000001_801201_4099"
                        "</semantic:flowNodeRef>\n        "
                        "<semantic:flowNodeRef>_19_0_3_8e2027b_1712990000001_801201_4013",
                    )
                ],
            )
        ],
        CAMEO,
        (
            "_19_0_3_8e2027b_1712990000001_801201_4005",
            '<semantic:lane id="_19_0_3_8e2027b_1712990000001_801201_4005"',
            "lists flowNodeRef '_19_0_3_8e2027b_1712990000001_801201_4099', which is no element",
        ),
    ),
    "a condition on a parallel split's flow (Cameo)": (
        [
            (
                CAMEO,
                [
                    (
                        'targetRef="_19_0_3_8e2027b_1712990000001_801201_4013"/>',
                        'targetRef="_19_0_3_8e2027b_1712990000001_801201_4013">'
                        '<semantic:conditionExpression xsi:type="semantic:tFormalExpression">'
                        "amount &gt; 1000</semantic:conditionExpression></semantic:sequenceFlow>",
                    )
                ],
            )
        ],
        CAMEO,
        (
            "_19_0_3_8e2027b_1712990000001_801201_4022",
            '<semantic:sequenceFlow id="_19_0_3_8e2027b_1712990000001_801201_4022"',
            "takes every outgoing flow whatever the condition says",
        ),
    ),
    "a copied shape keeping its id (ProcessOn)": (
        [(PROCESSON, [('<userTask id="task_18c2f0a1c1"', '<userTask id="task_18c2f0a1c2"')])],
        PROCESSON,
        (
            "task_18c2f0a1c2",
            '<userTask id="task_18c2f0a1c2" name="回访线索"',
            "is given to 2 elements of this file",
        ),
    ),
    "a script typed with Chinese quotes (ProcessOn)": (
        [(PROCESSON, [('r["name"] for r', "r[“name”] for r")])],
        PROCESSON,
        ("script_18c2f0a1c3", '<scriptTask id="script_18c2f0a1c3"', "invalid character '“'"),
    ),
    "a boundary error naming an error id one character off (GenMyModel)": (
        [
            (
                GENMYMODEL,
                [
                    (
                        '"_RkpJyBXqEeu8S6l9YvM7GQ" errorRef="_RkpJoRXqEeu8S6l9YvM7GQ"',
                        '"_RkpJyBXqEeu8S6l9YvM7GQ" errorRef="_RkpJoRXqEeu8S6l9YvM7GW"',
                    )
                ],
            )
        ],
        GENMYMODEL,
        (
            "_RkpJrRXqEeu8S6l9YvM7GQ",
            '<bpmn2:boundaryEvent id="_RkpJrRXqEeu8S6l9YvM7GQ"',
            "did you mean '_RkpJoRXqEeu8S6l9YvM7GQ'",
        ),
    ),
    "an escalation thrown without its escalation (GenMyModel)": (
        [
            (
                GENMYMODEL,
                [
                    (
                        '"_RkpJxBXqEeu8S6l9YvM7GQ" escalationRef="_RkpJohXqEeu8S6l9YvM7GQ"/>',
                        '"_RkpJxBXqEeu8S6l9YvM7GQ"/>',
                    )
                ],
            )
        ],
        GENMYMODEL,
        (
            "_RkpJrhXqEeu8S6l9YvM7GQ",
            '<bpmn2:boundaryEvent id="_RkpJrhXqEeu8S6l9YvM7GQ"',
            "which nothing in this process throws",
        ),
    ),
    "a called process id with an O for a zero (iGrafx)": (
        [
            (IGRAFX[0], [('calledElement="ID_7E9F0A1B_0010"', 'calledElement="ID_7E9F0A1B_001O"')]),
            (IGRAFX[1], []),
        ],
        IGRAFX[0],
        (
            "ID_5A1C2B3D_0022",
            '<callActivity id="ID_5A1C2B3D_0022"',
            "did you mean 'ID_7E9F0A1B_0010'",
        ),
    ),
    "the called file left out of the upload (iGrafx)": (
        [(IGRAFX[0], [])],
        IGRAFX[0],
        ("ID_5A1C2B3D_0022", '<callActivity id="ID_5A1C2B3D_0022"', "neither in this deploy"),
    ),
    "a pool naming its process one letter short (Papyrus)": (
        [(PAPYRUS, [('processRef="papyrus_offer"', 'processRef="papyrus_ofer"')])],
        PAPYRUS,
        (
            "_pY2wBHs6EeSZlpzY7O3hLw",
            '<bpmn2:participant id="_pY2wBHs6EeSZlpzY7O3hLw"',
            "has processRef 'papyrus_ofer', which names no process",
        ),
    ),
    "a message flow to an element that is gone (Papyrus)": (
        [
            (
                PAPYRUS,
                [
                    (
                        'targetRef="_pY2wDns6EeSZlpzY7O3hLw" messageRef',
                        'targetRef="_pY2wDns6EeSZlpzY7O3hLq" messageRef',
                    )
                ],
            )
        ],
        PAPYRUS,
        (
            "_pY2wB3s6EeSZlpzY7O3hLw",
            '<bpmn2:messageFlow id="_pY2wB3s6EeSZlpzY7O3hLw"',
            "did you mean '_pY2wDns6EeSZlpzY7O3hLw'",
        ),
    ),
    "an enum default written as its label (Cawemo)": (
        [(CAWEMO, [('defaultValue="interested"', 'defaultValue="Interested"')])],
        CAWEMO,
        ("Activity_0log", '<camunda:formField id="outcome"', "has the default 'Interested'"),
    ),
    "a JavaScript script as an external task's parameter (Cawemo)": (
        [
            (
                CAWEMO,
                [
                    (
                        '<camunda:script scriptFormat="python">',
                        '<camunda:script scriptFormat="javascript">',
                    )
                ],
            )
        ],
        CAWEMO,
        (
            "Activity_0note",
            '<camunda:inputParameter name="text">',
            "its value is a 'javascript' script; Dialflow evaluates Python",
        ),
    ),
    "a date typed with month 13 (QPR)": (
        [(QPR[0], []), (QPR[1], [('date("2026-01-01")', 'date("2026-13-01")')])],
        QPR[1],
        ("qpr_ue_1_1", '<inputEntry id="qpr_ue_1_1"', 'date("2026-13-01") is no date'),
    ),
    "a type written numbr (QPR)": (
        [(QPR[0], []), (QPR[1], [('typeRef="number"', 'typeRef="numbr"')])],
        QPR[1],
        ("qpr_ie_seats", '<inputExpression id="qpr_ie_seats"', "did you mean 'number'"),
    ),
    "an inclusive gateway's default naming the join's flow (QPR)": (
        [(QPR[0], [('default="qpr_f006"', 'default="qpr_f010"')]), (QPR[1], [])],
        QPR[0],
        (
            "qpr_1e2f3a04",
            '<bpmn:inclusiveGateway id="qpr_1e2f3a04"',
            "'qpr_f010' leaves 'qpr_1e2f3a08'",
        ),
    ),
    "a decision id one letter short (QPR)": (
        [(QPR[0], [(">qpr_lead_actions<", ">qpr_lead_action<")]), (QPR[1], [])],
        QPR[0],
        (
            "qpr_1e2f3a03",
            '<bpmn:businessRuleTask id="qpr_1e2f3a03"',
            "calls decision 'qpr_lead_action'",
        ),
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_mistakes_of_these_exports_are_refused_on_their_element(owner, db, case):
    files, said_in, (element_id, fragment, words) = BROKEN[case]
    uploaded = [(name, edited(name, *changes)) for name, changes in files]
    details = refused(upload(owner, *uploaded))
    matching = [d for d in details if d["element_id"] == element_id and words in d["message"]]
    assert matching, details
    (detail,) = matching
    assert detail["file"] == said_in
    assert detail["line"] == line_in(fragment, dict(uploaded)[said_in]), detail
    assert "Traceback" not in detail["message"]
    nothing_deployed(db)
