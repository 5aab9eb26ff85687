"""Camunda 8's FEEL wherever a Zeebe diagram writes it, run as Zeebe runs it, through the API.

Before, only script tasks, flow conditions, timers and escalation codes ran the real FEEL
translation (``engine.zeebe_expressions``: FEEL's functions, decimals, a missing variable or
field as null); input/output mappings of tasks and call activities, a multi-instance
completion condition, a message's correlation key and a user task's due date ran an older
one with no FEEL function (refused at deploy), float arithmetic and a missing field failing.
``for``/``some``/``every``, ``sort(…, function(a, b) …)`` and the list, number, string and
calendar functions people use daily were refused everywhere. A condition that is null took
no flow (Zeebe: an incident on the gateway), text plus a number failed (FEEL: null), and a
FEEL timer past the longest duration was an incident on no element.
"""

from __future__ import annotations

from typing import Any

from crm.customers import create_customer
from tests.engine.conftest import Actor, Timed, notes_of, refused
from tests.engine.diagram_folders import line_in, upload

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Defs_feel" '
    'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" '
    'exporterVersion="5.36.0" modeler:executionPlatform="{platform}" '
    'modeler:executionPlatformVersion="8.7.0">\n'
)


def zeebe(process: str, body: str, *, before: str = "", platform: str = "Camunda Cloud") -> bytes:
    """A Camunda 8 file with one executable process ``process`` of ``body`` (and ``before``:
    messages, other processes)."""
    return (
        HEAD.format(platform=platform)
        + before
        + f'  <bpmn:process id="{process}" isExecutable="true">\n{body}\n  </bpmn:process>\n'
        + "</bpmn:definitions>\n"
    ).encode()


def deployed(owner: Actor, *files: tuple[str, bytes]) -> None:
    response = upload(owner, *files)
    assert response.status_code == 201, response.get_data(as_text=True)[:3000]


def flows(*pairs: str) -> str:
    """Sequence flows ``a>b`` as ``Flow_a_b``."""
    return "\n".join(
        f'    <bpmn:sequenceFlow id="Flow_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in (pair.split(">") for pair in pairs)
    )


def only(items: list[dict[str, Any]]) -> dict[str, Any]:
    (item,) = items
    return item


def q(text: str) -> str:
    """FEEL text for an XML attribute: its quotes as ``&quot;``."""
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def mappings(*pairs: tuple[str, str, str]) -> str:
    """``<zeebe:ioMapping>`` of (side, FEEL source, target)."""
    rows = "\n".join(
        f'          <zeebe:{side} source="{q(source)}" target="{target}"/>'
        for side, source, target in pairs
    )
    return f"        <zeebe:ioMapping>\n{rows}\n        </zeebe:ioMapping>"


# -- mappings of a user task, a job worker and a call activity -------------------------------

REVIEW_OUTPUTS = {
    "total": "=total",
    "skus": "=skus",
    "bulk": "=some l in lines satisfies l.qty > 5",
    "priced": "=every l in lines satisfies l.price > 0",
    "exact": "=0.1 + 0.2",
    "nickname": "=upper case(lead.nickname)",
    "weekday": "=day of week(date(signed_on))",
    "month": "=month of year(date(signed_on))",
    "prices": "=sort(for l in lines return l.price, function(a, b) a > b)",
    "odd": '="n" + 1',
    "mailbox": '=substring before(lead.email, "@")',
    "domain": '=upper case(substring after(lead.email, "@"))',
    "average": "=round down(mean(for l in lines return l.price), 1)",
    "tenure": '=years and months duration(date("2020-01-15"), date(signed_on))',
    "vip_at": '=index of(lead.tags, "vip")',
    "tags": '=distinct values(flatten([lead.tags, ["vip", "new"]]))',
    "parts": '=split(lead.phone, "-")',
    "round": "=modulo(attempt, 3)",
    "biggest": "=max(for l in lines return l.qty)",
    "outcome": '=replace(outcome, "^(\\w+) .*$", "$1")',
    "callback": '=string(date and time(date(signed_on), time("18:00:00")))',
    "repeat": '=cycle(3, duration("P1D"))',
}
ORDER = (
    """    <bpmn:startEvent id="Begin"/>
    <bpmn:userTask id="Review" name="Review the order">
      <bpmn:extensionElements>
        <zeebe:userTask/>
"""
    + mappings(
        ("input", "=sum(for l in lines return l.qty * l.price)", "total"),
        ("input", '=string join(for l in lines return upper case(l.sku), "/")', "skus"),
        *(("output", source, target) for target, source in REVIEW_OUTPUTS.items()),
    )
    + """
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:serviceTask id="Note" name="Note the order">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="crm.add_note"/>
"""
    + mappings(
        ("input", "=customer_id", "customer_id"),
        ("input", '="Order " + skus + " on " + weekday + ", " + string(total)', "text"),
        ("output", "=note_id > 0", "noted"),
    )
    + """
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:callActivity id="Weigh" name="Weigh the order">
      <bpmn:extensionElements>
        <zeebe:calledElement processId="feel_weigh" propagateAllChildVariables="false"/>
"""
    + mappings(
        ("input", "=for l in lines return l.sku", "codes"),
        ("input", "=lead.missing.deep", "missing"),
        ("output", "=result.joined", "joined"),
        ("output", "=result.n * 1.5", "weight"),
        ("output", "=result.missing", "was_missing"),
    )
    + """
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:endEvent id="Done"/>
"""
    + flows("Begin>Review", "Review>Note", "Note>Weigh", "Weigh>Done")
)
WEIGH = (
    """  <bpmn:process id="feel_weigh" isExecutable="true">
    <bpmn:startEvent id="WeighBegin"/>
    <bpmn:scriptTask id="Count">
      <bpmn:extensionElements>
        <zeebe:script expression="="""
    + q('={n: count(codes), joined: string join(codes, "+"), missing: missing}')[1:]
    + """" resultVariable="result"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:endEvent id="WeighDone"/>
"""
    + flows("WeighBegin>Count", "Count>WeighDone")
    + "\n  </bpmn:process>\n"
)
LINES = [
    {"sku": "ab-1", "qty": 2, "price": 10.1},
    {"sku": "cd-2", "qty": 7, "price": 0.2},
]


def test_mappings_of_a_task_a_job_and_a_call_run_feel_as_zeebe_does(owner, agent, db):
    """Each mapping was refused at deploy (a FEEL function, a loop, a quantifier) or ran
    with floats; here they run as Zeebe computes them, a missing field null."""
    with db() as session:
        cid = create_customer(
            session, {"name": "Li Wei", "phones": ["+8613800138000"]}, actor=None
        ).id
    deployed(owner, ("order.bpmn", zeebe("feel_order", ORDER, before=WEIGH)))
    lead = {"email": "li@example.cn", "tags": ["new", "vip", "new"], "phone": "138-0013-8000"}
    data = {"lines": LINES, "lead": lead, "signed_on": "2026-05-04", "customer_id": cid}
    started = agent.start("feel_order", data)
    review = only(started["ready_tasks"])
    done = agent.complete_ok(review["id"], {"attempt": 7, "outcome": "agreed by phone"})
    assert done["status"] == "completed", done["incidents"]
    got = done["data"]
    assert {key: got.get(key) for key in REVIEW_OUTPUTS} == {
        "total": 21.6,  # 2 * 10.1 + 7 * 0.2 in decimals
        "skus": "AB-1/CD-2",
        "bulk": True,
        "priced": True,
        "exact": 0.3,
        "nickname": None,
        "weekday": "Monday",
        "month": "May",
        "prices": [10.1, 0.2],
        "odd": None,
        "mailbox": "li",
        "domain": "EXAMPLE.CN",
        "average": 5.1,
        "tenure": "P6Y3M",
        "vip_at": [2],
        "tags": ["new", "vip"],
        "parts": ["138", "0013", "8000"],
        "round": 1,
        "biggest": 7,
        "outcome": "agreed",
        "callback": "2026-05-04T18:00:00+08:00",  # the installation's zone
        "repeat": "R3/P1D",
    }
    assert got["noted"] is True and "note_id" not in got
    assert (got["joined"], got["weight"], got["was_missing"]) == ("ab-1+cd-2", 3, None)
    assert "result" not in got and "codes" not in got
    assert notes_of(db, cid) == ["Order AB-1/CD-2 on Monday, 21.6"]


# -- a multi-instance completion condition and a message's correlation key -------------------

APPROVAL = """    <bpmn:startEvent id="Begin"/>
    <bpmn:userTask id="Approve" name="Approve">
      <bpmn:extensionElements>
        <zeebe:userTask/>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=distinct values(approvers)"
            inputElement="approver"
            outputCollection="decisions" outputElement="={who: approver, ok: approved}"/>
        </bpmn:extensionElements>
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">
          =some d in decisions satisfies d.ok = false
        </bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:receiveTask id="Await" messageRef="Message_paid"/>
    <bpmn:endEvent id="Done"/>
""" + flows("Begin>Approve", "Approve>Await", "Await>Done")
PAID = """  <bpmn:message id="Message_paid" name="feel_paid">
    <bpmn:extensionElements>
      <zeebe:subscription correlationKey="=upper case(trim(order.code))"/>
    </bpmn:extensionElements>
  </bpmn:message>
"""


def test_a_quantifier_ends_a_countersign_and_a_computed_key_takes_the_message(owner, agent):
    deployed(owner, ("approval.bpmn", zeebe("feel_approval", APPROVAL, before=PAID)))
    data = {"approvers": ["wang", "zhao", "wang", "li"], "order": {"code": " ab-7 "}}
    started = agent.start("feel_approval", data)
    first, *_others = started["ready_tasks"]
    assert len(started["ready_tasks"]) == 3
    after = agent.complete_ok(first["id"], {"approved": False})
    assert after["ready_tasks"] == [], "one refusal ends the countersign"
    assert [w["kind"] for w in after["waiting"]] == ["message"]
    (decided,) = [d for d in after["data"]["decisions"] if d]  # a context per instance
    assert decided["ok"] is False and decided["who"] in {"wang", "zhao", "li"}, decided
    other = agent.post(
        "/api/v1/messages",
        json={"name": "feel_paid", "correlation": {"correlationKey": "ab-7"}},
    )
    assert agent.instance(started["id"])["status"] == "waiting", other.get_json()
    paid = agent.post(
        "/api/v1/messages",
        json={"name": "feel_paid", "correlation": {"correlationKey": "AB-7"}},
    )
    assert paid.status_code == 202, paid.get_json()
    assert agent.instance(started["id"])["status"] == "completed"


# -- a user task's due date ------------------------------------------------------------------

SCHEDULED = """    <bpmn:startEvent id="Begin"/>
    <bpmn:userTask id="Call" name="Call back">
      <bpmn:extensionElements>
        <zeebe:userTask/>
        <zeebe:taskSchedule
          dueDate="=now() + duration(&quot;P1D&quot;) * max(for a in attempts return a)"/>
        <zeebe:assignmentDefinition
          assignee="=if amount &gt; 1000 then &quot;boss&quot;
            else &quot;agent_&quot; + lower case(region)"
          candidateGroups="=if amount &gt; 1000 then &quot;manager&quot; else &quot;agent&quot;"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Done"/>
""" + flows("Begin>Call", "Call>Done")


def test_a_due_date_and_an_assignee_computed_in_feel_are_the_tasks(timed: Timed):
    """Both were refused at deploy: a FEEL function, a loop, an ``if`` that is no path."""
    boss = timed.actor("manager", username="boss", team="East")
    deployed(timed.owner, ("due.bpmn", zeebe("feel_due", SCHEDULED)))
    data = {"attempts": [1, 3, 2], "amount": 500, "region": "EAST"}
    started = timed.agent.start("feel_due", data)
    task = only(started["ready_tasks"])
    (listed,) = [t for t in timed.agent.tasks() if t["id"] == task["id"]]
    assert listed["due_at"][:19] == "2026-05-07T01:00:00"  # three days after the clock's T0
    assert listed["assignee"] == timed.agent.user.id
    assert listed["candidates"] == ["group:agent", "user:agent_east"]
    big = timed.agent.start("feel_due", {**data, "amount": 5000})
    (mine,) = [t for t in boss.tasks() if t["process_instance_id"] == big["id"]]
    assert mine["assignee"] == boss.user.id


# -- a condition that is null: an incident on the gateway ------------------------------------

GATE = """    <bpmn:startEvent id="Begin"/>
    <bpmn:exclusiveGateway id="Keen" name="Keen?" default="Flow_Keen_Cold"/>
    <bpmn:endEvent id="Hot"/>
    <bpmn:endEvent id="Cold"/>
    <bpmn:sequenceFlow id="Flow_Begin_Keen" sourceRef="Begin" targetRef="Keen"/>
    <bpmn:sequenceFlow id="Flow_Keen_Hot" sourceRef="Keen" targetRef="Hot">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        =contains(lower case(reply), "yes") or score + bonus &gt;= 8
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_Keen_Cold" sourceRef="Keen" targetRef="Cold"/>"""


def test_a_condition_that_is_null_is_an_incident_on_its_gateway(owner, agent):
    """No score, or a score sent as text (text plus a number is null): the condition is null,
    which took the default flow; Zeebe stops the gateway with an incident."""
    deployed(owner, ("gate.bpmn", zeebe("feel_gate", GATE)))
    yes = agent.start("feel_gate", {"reply": "YES", "bonus": 0})
    no = agent.start("feel_gate", {"reply": "no", "score": 3, "bonus": 0})
    assert (yes["status"], no["status"]) == ("completed", "completed")
    for data in ({"reply": "no", "bonus": 0}, {"reply": "no", "score": "9", "bonus": 0}):
        stopped = agent.start("feel_gate", data)
        (incident,) = stopped["incidents"]
        assert (stopped["status"], incident["element_id"]) == ("error", "Keen"), incident
        assert "score + bonus >= 8" in incident["message"]
        assert "evaluated to null" in incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{stopped['id']}/retry", json={"data": {"score": 9}}
    )
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "completed"
    # a Camunda 7 file's engine reads no FEEL: its condition stays refused
    text = zeebe("feel_gate7", GATE, platform="Camunda Platform")
    (detail,) = refused(upload(owner, ("gate7.bpmn", text)))
    assert detail["element_id"] == "Flow_Keen_Hot"


# -- what stays refused: on the element's line, naming the part -----------------------------


def test_feel_that_does_not_run_is_refused_on_its_line_naming_the_part(owner):
    body = ORDER.replace(q("=lead.missing.deep"), q("=for i in 1..3 return i"))
    text = zeebe("feel_order", body, before=WEIGH)
    (detail,) = refused(upload(owner, ("order.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == ("Weigh", line_in("1..3", text.decode()))
    assert "FEEL's range '1..3'" in detail["message"], detail["message"]
    body = ORDER.replace(q('=substring before(lead.email, "@")'), q("=list replace(tags, 1, 0)"))
    text = zeebe("feel_order", body, before=WEIGH)
    (detail,) = refused(upload(owner, ("order.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == (
        "Review",
        line_in("list replace", text.decode()),
    )
    assert "FEEL's function list replace()" in detail["message"], detail["message"]


# -- a FEEL timer past the longest duration --------------------------------------------------

TIMER = """    <bpmn:startEvent id="Begin"/>
    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">=duration(wait_for)</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="Done"/>
""" + flows("Begin>Wait", "Wait>Done")


def test_a_feel_timer_past_the_longest_duration_is_an_incident_on_the_timer(timed: Timed):
    deployed(timed.owner, ("timer.bpmn", zeebe("feel_timer", TIMER)))
    started = timed.agent.start("feel_timer", {"wait_for": "P99999999999Y"})
    (incident,) = started["incidents"]
    assert (started["status"], incident["element_id"]) == ("error", "Wait"), incident
    assert "the timer of 'Wait' cannot be set" in incident["message"]
    assert "longer than 100 years" in incident["message"]
    retried = timed.owner.post(
        f"/api/v1/process-instances/{started['id']}/retry", json={"data": {"wait_for": "PT1H"}}
    )
    assert retried.status_code == 200, retried.get_json()
    assert [w["kind"] for w in retried.get_json()["waiting"]] == ["timer"]
    assert timed.advance(hours=1) == 1
    assert timed.agent.instance(started["id"])["status"] == "completed"
