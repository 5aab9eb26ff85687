"""An eighteenth round of unseen diagrams: Camunda 8.6 to 8.8 as Camunda Desktop Modeler 5.30+
and Web Modeler write them (``modeler:executionPlatformVersion="8.8.0"``, ``<zeebe:userTask/>``,
``zeebe:taskSchedule``, ``zeebe:priorityDefinition``, ``zeebe:versionTag``, ``zeebe:properties``,
``bindingType``, signals, an inclusive join). Telesales processes: a deal approval by the
manager and then, for a big discount, the director; a callback cadence that a campaign's stop
signal ends; a complaint handled by a refund process deployed with it.

What Dialflow has runs as drawn: a user task's due date (an ISO date-time, a FEEL path to
one, ``now() + duration(…)``) and priority (0 to 100 or a FEEL path), a business rule task's
decision with its result in ``resultVariable`` shaped as Camunda 8 shapes it (a dict of the
outputs, a COLLECT's list), a call activity bound to the process deployed with it. What has no
Dialflow meaning (a follow-up date without an offset, listeners, linked resources, Camunda
Forms, a decision or process bound to a tag the deploy's own version of it does not carry,
an ad-hoc subprocess, a FEEL expression with no Python) is refused on its element and line,
saying what to write instead; nothing is deployed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import ProcessVersion
from tests.engine.conftest import T0, Timed, by_element, notes_of, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

UNSEEN18 = DiagramFolder("unseen18")
diagram, edited, deploy = UNSEEN18.read, UNSEEN18.edited, UNSEEN18.deploy
DEAL = "deal_approval.bpmn"


def due(task: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")).astimezone(UTC)


# -- a deal approval by the manager, then the director ---------------------------------------


def test_a_camunda_8_8_deal_approval_deploys_with_its_schedules_and_priorities(owner):
    """``zeebe:taskSchedule`` and ``zeebe:priorityDefinition`` were refused with no word on
    what to write; ``zeebe:versionTag`` and ``zeebe:properties`` pass."""
    answer = deploy(owner, DEAL)
    assert answer["process_ids"] == ["r18_deal_approval"]


@pytest.mark.parametrize(
    ("discount", "director_ok", "note"),
    [(10, None, "Approved at 10% off"), (25, True, "Approved at 25% off"), (25, False, None)],
    ids=["manager-only", "director-agrees", "director-refuses"],
)
def test_a_deal_is_approved_by_the_manager_then_the_director_when_and_as_urgent_as_drawn(
    timed: Timed, make_customer, db, discount, director_ok, note
):
    deploy(timed.owner, DEAL)
    boss = timed.actor("manager", username="r18_boss", team="East")
    chief = timed.actor("director", username="r18_chief", team=None)
    customer = make_customer()
    approval = {"due": "2026-05-05T18:00:00+08:00", "rank": 70}
    started = timed.agent.start(
        "r18_deal_approval",
        {"customer_id": customer.id, "discount": discount, "approval": approval},
    )
    (quote,) = started["ready_tasks"]
    assert (quote["name"], quote["lane"]) == ("Activity_0quote", "agent")
    (listed,) = timed.agent.tasks()
    assert listed["priority"] == 60
    assert due(listed) == T0 + timedelta(hours=4)  # now() + duration("PT4H")
    view = timed.agent.complete_ok(quote["id"], {})
    (approve,) = view["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("Activity_1manager", "manager")
    (listed,) = boss.tasks()
    assert listed["priority"] == 70  # =approval.rank
    assert due(listed) == datetime(2026, 5, 5, 10, 0, tzinfo=UTC)  # =approval.due
    assert timed.agent.complete(approve["id"], {"approved": True}).status_code == 403
    view = boss.complete_ok(approve["id"], {"approved": True})
    if director_ok is not None:
        (final,) = view["ready_tasks"]
        assert (final["name"], final["lane"]) == ("Activity_2director", "director")
        (listed,) = chief.tasks()
        assert listed["priority"] == 90
        assert due(listed) == datetime(2026, 5, 8, 10, 0, tzinfo=UTC)
        assert boss.complete(final["id"], {"director_ok": True}).status_code == 403
        view = chief.complete_ok(final["id"], {"director_ok": director_ok})
    assert view["status"] == "completed", view["incidents"]
    assert notes_of(db, customer.id) == ([note] if note else [])


def test_a_deal_the_manager_rejects_ends_without_the_director(
    owner, agent, actor, make_customer, db
):
    deploy(owner, DEAL)
    boss = actor("manager", username="r18_boss", team="East")
    customer = make_customer()
    started = agent.start(
        "r18_deal_approval",
        {"customer_id": customer.id, "discount": 40, "approval": {"due": None, "rank": 50}},
    )
    (quote,) = started["ready_tasks"]
    (approve,) = agent.complete_ok(quote["id"], {})["ready_tasks"]
    (listed,) = boss.tasks()
    assert listed["due_at"] is None  # the data holds no due date: the task has none
    done = boss.complete_ok(approve["id"], {"approved": False})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == []


# -- a lead scored by DMN, its result in one variable, and nurtured on the listed channels ---

LEADS = ("lead_qualification.bpmn", "lead_score.dmn")


def lead(customer_id: int, source: str, budget: int, **more: Any) -> dict[str, Any]:
    return {"lead": {"customer_id": customer_id, "source": source, "budget": budget, **more}}


@pytest.mark.parametrize(
    ("source", "budget", "tier", "urgency"),
    [("referral", 80000, "hot", 95), ("partner", 20000, "warm", 60)],
    ids=["hot", "warm"],
)
def test_the_decision_result_lands_in_its_result_variable_and_ranks_the_call(
    timed: Timed, make_customer, source, budget, tier, urgency
):
    """``zeebe:calledDecision`` was refused, and the hint given (name the decision, drop
    ``resultVariable``) set ``tier`` and ``urgency`` where the diagram reads ``score``."""
    assert sorted(deploy(timed.owner, *LEADS)["process_ids"]) == ["r18_lead_qualification"]
    customer = make_customer()
    started = timed.agent.start("r18_lead_qualification", lead(customer.id, source, budget))
    assert started["data"]["score"] == {"tier": tier, "urgency": urgency}
    assert "tier" not in started["data"] and "urgency" not in started["data"]
    (call,) = started["ready_tasks"]
    assert (call["name"], call["lane"]) == ("Activity_call", "agent")
    (listed,) = timed.agent.tasks()
    assert listed["priority"] == urgency  # =score.urgency
    assert due(listed) == T0 + timedelta(hours=1)
    done = timed.agent.complete_ok(call["id"], {})
    assert done["status"] == "completed", done["incidents"]


@pytest.mark.parametrize(
    ("sms", "email", "channels", "notes"),
    [
        (True, True, ["sms", "email"], ["Nurture by SMS", "Nurture by email"]),
        (False, True, ["email"], ["Nurture by email"]),
        (False, False, [], []),
    ],
    ids=["both", "email-only", "none"],
)
def test_a_cold_lead_is_nurtured_on_the_channels_the_collect_table_lists(
    owner, agent, make_customer, db, sms, email, channels, notes
):
    deploy(owner, *LEADS)
    customer = make_customer()
    more = {"sms_consent": sms, "has_email": email}
    done = agent.start("r18_lead_qualification", lead(customer.id, "web", 90000, **more))
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["score"] == {"tier": "cold", "urgency": 20}
    assert done["data"]["channels"] == channels  # a COLLECT of one output: its list
    assert sorted(notes_of(db, customer.id)) == sorted(notes)


# -- a callback cadence that the campaign's stop signal ends ---------------------------------

CADENCE = "callback_cadence.bpmn"


def test_a_callback_is_due_when_the_customer_asked_and_retried_two_hours_after_a_miss(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, CADENCE)
    customer = make_customer()
    asked = "2026-05-04T15:30:00+08:00"
    started = timed.agent.start(
        "r18_callback_cadence", {"customer_id": customer.id, "callback_at": asked}
    )
    (call,) = started["ready_tasks"]
    (listed,) = timed.agent.tasks()
    assert (listed["priority"], due(listed)) == (80, datetime(2026, 5, 4, 7, 30, tzinfo=UTC))
    view = timed.agent.complete_ok(call["id"], {"reached": False, "wrong_number": False})
    assert view["ready_tasks"] == [] and view["status"] == "waiting"
    assert timed.advance(hours=1, minutes=59) == 0
    assert timed.advance(minutes=1) == 1
    (call,) = timed.agent.instance(started["id"])["ready_tasks"]
    done = timed.agent.complete_ok(call["id"], {"reached": True, "wrong_number": False})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id) == []


def test_the_campaign_stop_signal_cancels_the_callback_and_notes_it(
    timed: Timed, make_customer, db
):
    deploy(timed.owner, CADENCE)
    customers = [make_customer(), make_customer()]
    started = [
        timed.agent.start(
            "r18_callback_cadence",
            {"customer_id": c.id, "callback_at": "2026-05-04T15:30:00+08:00"},
        )
        for c in customers
    ]
    timed.agent.start("r18_stop_campaign", {})
    timed.advance()  # the broadcast reaches every waiting instance
    for instance, customer in zip(started, customers, strict=True):
        view = timed.agent.instance(instance["id"])
        assert view["status"] == "completed", view["incidents"]
        assert notes_of(db, customer.id) == ["Callback cancelled: campaign stopped"]
    assert timed.agent.tasks() == []


# -- a complaint whose refund process is deployed with it and denies by an error -------------

COMPLAINT = ("complaint_handling.bpmn", "refund.bpmn")


@pytest.mark.parametrize(
    ("vip", "rank", "refund_ok"),
    [(True, 90, True), (False, 70, False)],
    ids=["a-vip-refunded", "denied"],
)
def test_a_complaint_calls_the_refund_deployed_with_it_and_a_denial_is_explained(
    timed: Timed, make_customer, db, vip, rank, refund_ok
):
    """``bindingType="deployment"`` on ``zeebe:calledElement`` was refused, with a hint
    (name ``calledElement``) that, followed, was refused again; a FEEL ``if … then … else``
    priority was refused as having no Python."""
    answer = deploy(timed.owner, *COMPLAINT)
    assert sorted(answer["process_ids"]) == ["r18_complaint", "r18_refund"]
    boss = timed.actor("manager", username="r18_boss", team="East")
    customer = make_customer()
    started = timed.agent.start(
        "r18_complaint", {"customer_id": customer.id, "customer": {"vip": vip}}
    )
    (log,) = started["ready_tasks"]
    (listed,) = timed.agent.tasks()
    assert (listed["priority"], due(listed)) == (rank, datetime(2026, 5, 6, 4, 0, tzinfo=UTC))
    (approve,) = timed.agent.complete_ok(log["id"], {"refund_amount": 300})["ready_tasks"]
    assert (approve["name"], approve["lane"]) == ("Activity_approve_refund", "manager")
    (listed,) = boss.tasks()
    assert (listed["priority"], due(listed)) == (85, T0 + timedelta(hours=8))
    view = boss.complete_ok(approve["id"], {"refund_ok": refund_ok})
    if not refund_ok:
        (explain,) = view["ready_tasks"]
        assert (explain["name"], explain["lane"]) == ("Activity_explain", "agent")
        assert due(timed.agent.tasks()[0]) == T0 + timedelta(days=1)
        view = timed.agent.complete_ok(explain["id"], {})
    assert view["status"] == "completed", view["incidents"]
    assert notes_of(db, customer.id) == (["Refund of 300 approved"] if refund_ok else [])


# -- one mistake each, as Camunda 8 users make them: refused on element and line -------------

_DEAL_TEXT = diagram(DEAL).decode()
_NOTE_AT = _DEAL_TEXT.index('<bpmn:serviceTask id="Activity_0note"')
NOTE_TASK = _DEAL_TEXT[_NOTE_AT : _DEAL_TEXT.index("</bpmn:extensionElements>", _NOTE_AT) + 25]
GROUPS = {DEAL: (DEAL,), CADENCE: (CADENCE,), **dict.fromkeys(LEADS, LEADS)}
GROUPS.update(dict.fromkeys(COMPLAINT, COMPLAINT))
Change = tuple[tuple[str, str], ...]
MISTAKES: dict[str, tuple[str, Change, str, str, list[str]]] = {
    # (the file changed, its change, element refused, where its line is, words)
    "follow-up-date-without-offset": (
        CADENCE,
        (
            (
                'dueDate="=callback_at" />',
                'dueDate="=callback_at" followUpDate="2026-05-06T10:00:00" />',
            ),
        ),
        "Activity_callback",
        "<zeebe:taskSchedule",
        ["followUpDate '2026-05-06T10:00:00' has no offset", "'2026-05-06T10:00:00+08:00'"],
    ),
    "due-date-without-offset": (
        DEAL,
        (("2026-05-08T18:00:00+08:00", "2026-05-08T18:00:00"),),
        "Activity_2director",
        '<zeebe:taskSchedule dueDate="2026-05-08',
        ["dueDate '2026-05-08T18:00:00' has no offset", "'2026-05-08T18:00:00+08:00'"],
    ),
    "feel-date-without-offset": (
        "complaint_handling.bpmn",
        (("2026-05-06T12:00:00+08:00", "2026-05-06T12:00:00"),),
        "Activity_log",
        "<zeebe:taskSchedule",
        ["has no offset", "'2026-05-06T12:00:00+08:00'"],
    ),
    "priority-in-words": (
        DEAL,
        (
            (
                '<zeebe:priorityDefinition priority="90" />',
                '<zeebe:priorityDefinition priority="high" />',
            ),
        ),
        "Activity_2director",
        '<zeebe:priorityDefinition priority="high"',
        ["priority 'high' is no whole number from 0 to 100"],
    ),
    "priority-by-feel-function": (
        DEAL,
        ((' priority="=approval.rank"', ' priority="=remove(ranks, 1)[1]"'),),
        "Activity_1manager",
        'priority="=remove',
        ["has no Python here", "property priority"],
    ),
    "task-listener": (
        DEAL,
        (
            (
                '<zeebe:priorityDefinition priority="90" />',
                '<zeebe:priorityDefinition priority="90" />\n        <zeebe:taskListeners>\n'
                '          <zeebe:taskListener eventType="completing" type="audit-approval" />\n'
                "        </zeebe:taskListeners>",
            ),
        ),
        "Activity_2director",
        "<zeebe:taskListeners>",
        ["listener 'audit-approval'", "as a service task", "after the user task"],
    ),
    "execution-listener": (
        CADENCE,
        (
            (
                '<zeebe:taskDefinition type="crm.add_note" />',
                '<zeebe:taskDefinition type="crm.add_note" />\n        <zeebe:executionListeners>\n'
                '          <zeebe:executionListener eventType="end" type="sync-crm" />\n'
                "        </zeebe:executionListeners>",
            ),
        ),
        "Activity_stopnote",
        "<zeebe:executionListeners>",
        ["listener 'sync-crm'", "as a service task after it", "no operator 'sync-crm'"],
    ),
    "called-process-by-version-tag": (
        "complaint_handling.bpmn",
        (('bindingType="deployment"', 'bindingType="versionTag" versionTag="1.2"'),),
        "Activity_refund",
        "<zeebe:calledElement",
        [
            "calls 'r18_refund' by version tag '1.2', and this deploy holds process 'r18_refund'",
            "a deploy runs one version of each process it calls",
        ],
    ),
    "decision-by-version-tag": (
        "lead_qualification.bpmn",
        (
            (
                'resultVariable="score" bindingType="deployment"',
                'resultVariable="score" bindingType="versionTag" versionTag="v4"',
            ),
        ),
        "Activity_score",
        '<zeebe:calledDecision decisionId="r18_lead_score"',
        [
            "calls decision 'r18_lead_score' by version tag 'v4', and this deploy holds "
            "decision 'r18_lead_score' without a version tag"
        ],
    ),
    "decision-without-result-variable": (
        "lead_qualification.bpmn",
        ((' resultVariable="channels"', ""),),
        "Activity_channels",
        '<zeebe:calledDecision decisionId="r18_nurture_channels"',
        ["name the variable the decision's result goes to in resultVariable"],
    ),
    # a FEEL condition runs as drawn (``engine.zeebe_expressions``); a quantifier does not
    "feel-condition": (
        "lead_qualification.bpmn",
        (('score["tier"] in ("hot", "warm")', "=score.reasons instance of list"),),
        "Flow_hot",
        "=score.reasons instance of",
        ["is a FEEL expression (Camunda 8) holding FEEL's 'instance of'"],
    ),
    "camunda-form": (
        DEAL,
        (
            (
                '<zeebe:priorityDefinition priority="60" />',
                '<zeebe:priorityDefinition priority="60" />\n'
                '        <zeebe:formDefinition formId="quote-form" bindingType="deployment" />',
            ),
        ),
        "Activity_0quote",
        "<zeebe:formDefinition",
        ["names a Camunda Form no .form file", "deploy the .form file with the diagram"],
    ),
    "feel-script": (  # a FEEL script runs as drawn; one calling a function Dialflow lacks not
        DEAL,
        (
            (
                NOTE_TASK,
                '<bpmn:scriptTask id="Activity_0note" name="Note the approval">\n'
                "      <bpmn:extensionElements>\n"
                '        <zeebe:script expression="=remove(discounts, 1)[1] * 100" '
                'resultVariable="basis" />\n'
                "      </bpmn:extensionElements>",
            ),
            ("</bpmn:serviceTask>", "</bpmn:scriptTask>"),
        ),
        "Activity_0note",
        "<zeebe:script",
        ["its expression '=remove(discounts, 1)[1] * 100' holds FEEL's function remove()"],
    ),
    "ad-hoc-subprocess": (
        DEAL,
        (
            (
                '<bpmn:userTask id="Activity_2director" name="Approve as director">',
                '<bpmn:adHocSubProcess id="Activity_2director" name="Approve as director">',
            ),
            (
                "        <zeebe:userTask />\n"
                '        <zeebe:assignmentDefinition candidateGroups="director" />\n'
                '        <zeebe:taskSchedule dueDate="2026-05-08T18:00:00+08:00" />\n'
                '        <zeebe:priorityDefinition priority="90" />\n',
                '        <zeebe:adHoc activeElementsCollection="=[&#34;Activity_call_cfo&#34;]"'
                " />\n",
            ),
            (
                "      <bpmn:outgoing>Flow_6directed</bpmn:outgoing>\n    </bpmn:userTask>",
                "      <bpmn:outgoing>Flow_6directed</bpmn:outgoing>\n"
                '      <bpmn:userTask id="Activity_call_cfo" name="Call the CFO" />\n'
                '      <bpmn:userTask id="Activity_check_margin" name="Check the margin" />\n'
                "    </bpmn:adHocSubProcess>",
            ),
        ),
        "Activity_2director",
        '<bpmn:adHocSubProcess id="Activity_2director"',
        ["ad-hoc subprocesses are not supported", "branches of an inclusive gateway"],
    ),
    "user-task-headers": (
        DEAL,
        (
            (
                '<zeebe:priorityDefinition priority="60" />',
                '<zeebe:priorityDefinition priority="60" />\n        <zeebe:taskHeaders>\n'
                '          <zeebe:header key="crm-view" value="quote" />\n'
                "        </zeebe:taskHeaders>",
            ),
        ),
        "Activity_0quote",
        "<zeebe:taskHeaders>",
        ["Dialflow reads no headers on a user task: remove them"],
    ),
    "linked-resource": (
        DEAL,
        (
            (
                '<zeebe:priorityDefinition priority="60" />',
                '<zeebe:priorityDefinition priority="60" />\n        <zeebe:linkedResources>\n'
                '          <zeebe:linkedResource resourceId="price-list" resourceType="RPA" '
                'linkName="prices" />\n        </zeebe:linkedResources>',
            ),
        ),
        "Activity_0quote",
        "<zeebe:linkedResources>",
        ["Dialflow runs no linked resource 'price-list'", "as a service task"],
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_one_mistake_is_refused_on_its_element_and_line(owner, db, mistake):
    changed, change, element, where, words = MISTAKES[mistake]
    text = edited(changed, *change)
    files = [(n, text if n == changed else diagram(n)) for n in GROUPS[changed]]
    details = refused(upload(owner, *files))
    (detail,) = [d for d in details if d["element_id"] == element]
    assert detail["line"] == line_in(where, text), detail
    for word in words:
        assert word in detail["message"], (word, detail["message"])
    assert by_element(details).keys() == {element}, details
    nothing_deployed(db)


def test_a_refund_bound_to_its_deployment_but_not_deployed_with_it_is_refused(owner, db):
    """``bindingType="deployment"`` calls the version deployed with the caller: alone, the
    complaint would have called whatever refund an earlier deploy left."""
    deploy(owner, "refund.bpmn")
    text = diagram("complaint_handling.bpmn")
    (detail,) = refused(upload(owner, ("complaint_handling.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == (
        "Activity_refund",
        line_in("<zeebe:calledElement", text),
    )
    assert "no file of this deploy holds process 'r18_refund'" in detail["message"]
    assert "deploy its file with this one, or remove bindingType" in detail["message"]
    with db() as session:  # the refund deployed before is all there is
        assert session.scalars(select(ProcessVersion.process_id)).all() == ["r18_refund"]
