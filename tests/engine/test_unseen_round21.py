"""A twenty-first round of unseen diagrams: Flowable diagrams as the Chinese admin systems
telesales teams run export them (RuoYi-Flowable's and RuoYi-Flowable-Plus's designer,
RuoYi-Vue-Pro / yudao, Flowable UI's modeler, bpmn-process-designer), with Chinese names,
documentation, conditions and process ids. The processes: a lead follow-up (线索跟进), a
callback cadence (回访), a discount countersign (折扣会签), an order review (订单审核), a
complaint (投诉处理) and a refund approval (退款审批), each deployed through the API and run.

What they held that was refused and runs now: the designers' own marks for their approval
pages (``flowable:dataType``, ``flowable:text``, ``userType``, ``isSign``, ``buttonList``,
``<flowable:buttonsSetting>``, ``<flowable:fieldsPermission>``, an empty ``formKey``), which
Flowable never reads (``engine.designer_marks``); execution and task listeners that only set
a variable (``engine.listeners``); ``flowable:skipExpression`` (``engine.skip_expressions``).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import Timed, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

ROUND21 = DiagramFolder("round21")
diagram, edited, deploy = ROUND21.read, ROUND21.edited, ROUND21.deploy
SKIPPING = {"_FLOWABLE_SKIP_EXPRESSION_ENABLED": True}


def one(tasks: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (task,) = [task for task in tasks if task["name"] == name]
    return task


def test_a_lead_follow_up_with_the_designers_marks_runs_by_its_assignments(owner, agent, actor):
    """RuoYi-Flowable's picker labels and buttons, an empty formKey: each was refused."""
    boss = actor("manager", username="boss", team="East")
    assert upload(owner, ("lead_followup.bpmn", diagram("lead_followup.bpmn"))).status_code == 201
    routes = []
    for intent in ["高", "低"]:
        started = agent.start("r21_lead_followup", {})
        (first,) = started["ready_tasks"]
        assert (first["title"], first["candidates"]) == ("首次联系", ["user:agent_east"])
        after = agent.complete_ok(first["id"], {"意向": intent})
        routes.append((after["status"], [(t["title"], t["lane"]) for t in after["ready_tasks"]]))
    assert routes == [("running", [("主管审核", "manager")]), ("completed", [])]
    review = one(boss.tasks(), "Activity_04n1a8v")
    assert boss.complete_ok(review["id"], {})["status"] == "completed"


@pytest.mark.parametrize(
    ("condition", "data", "routed"),
    [
        ("${意向.equals('高')}", {"意向": "高"}, True),
        ("${意向.equals('高')}", {"意向": "中"}, False),
        ("${level.equals(1)}", {"level": 1}, True),
        ("${level.equals(1)}", {"level": "1"}, False),  # Java's equals: a String is no Long
        ("${tags.contains('vip') || note.trim().isEmpty()}", {"tags": ["vip"], "note": "x"}, True),
        (
            "${tags.size() > 1 and note.startsWith('回访')}",
            {"tags": [1, 2], "note": "回访中"},
            True,
        ),
        ("${意向.equalsIgnoreCase('HIGH')}", {"意向": "high"}, True),
        ("${note.trim().isEmpty()}", {"note": "\u3000 "}, False),  # Java trims ≤ U+0020 only
        ("${name.length() == 2}", {"name": "𠮷"}, True),  # UTF-16 units: 𠮷 is two
    ],
)
def test_conditions_calling_javas_string_and_list_methods_run_as_java_runs_them(
    owner, agent, actor, condition, data, routed
):
    """``${审批结果.equals('通过')}``, as Chinese tutorials write every condition: refused with
    ".equals(…) calls a Java method"."""
    actor("manager", username="boss", team="East")
    text = edited(
        "lead_followup.bpmn",
        ("${意向 == '高'}", condition),
        ("${!意向.equals('高')}", f"${{!({condition[2:-1]})}}"),
    )
    assert upload(owner, ("lead_followup.bpmn", text)).status_code == 201
    started = agent.start("r21_lead_followup", {})
    after = agent.complete_ok(started["ready_tasks"][0]["id"], data)
    assert (after["status"], after["incidents"]) == ("running" if routed else "completed", [])


def test_a_java_method_on_a_missing_variable_is_an_incident_on_the_gateway(owner, agent):
    deploy(owner, "lead_followup.bpmn")
    started = agent.start("r21_lead_followup", {})
    after = agent.complete_ok(started["ready_tasks"][0]["id"], {"意向": "高"})
    assert after["status"] == "running"
    failed = agent.complete(agent.start("r21_lead_followup", {})["ready_tasks"][0]["id"], {})
    (incident,) = failed.get_json()["incidents"]
    assert incident["element_id"] in ("Gateway_1k2j3h4", "Flow_low", "Flow_high")
    assert "calling equals(…) on null" in incident["message"], incident


def test_a_callback_cadence_counts_its_calls_in_listeners(timed: Timed):
    """A start event's listener sets the count, the call's end listener adds one, the flow
    to a daily timer marks the wait; the third unanswered call goes to the manager."""
    boss = timed.actor("manager", username="boss", team="East")
    deploy(timed.owner, "callback_cadence.bpmn")
    agent = timed.agent
    started = agent.start("r21-callback-cadence", {})
    assert started["data"] == {"attempts": 0}
    for attempt in (1, 2, 3):
        after = agent.complete_ok(one(agent.tasks(), "Activity_0x9k2l3")["id"], {"reached": False})
        assert (after["data"]["attempts"], after["incidents"]) == (attempt, [])
        if attempt < 3:
            assert [w["name"] for w in after["waiting"]] == ["等待一天"]
            assert after["data"]["waiting"] is True  # the flow's take listener
            assert timed.advance(days=1) == 1
    assert [t["title"] for t in after["ready_tasks"]] == ["主管处理"]
    assert boss.complete_ok(one(boss.tasks(), "Activity_1manager")["id"])["status"] == "completed"

    reached = agent.start("r21-callback-cadence", {})
    done = agent.complete_ok(reached["ready_tasks"][0]["id"], {"reached": True})
    assert (done["status"], done["data"]["attempts"]) == ("completed", 1)


def test_a_discount_countersign_ends_when_half_have_signed(owner, agent, actor):
    """``flowable:collection``/``elementVariable``, the assignee per instance, Flowable's
    counters in the completion condition and a task listener run for each task."""
    managers = [actor("manager", username=f"m{i}", team="East") for i in range(4)]
    deploy(owner, "discount_countersign.bpmn20.xml")
    started = agent.start("r21_discount_countersign", {"userList": ["m0", "m1", "m2", "m3"]})
    assert sorted(t["candidates"][0] for t in started["ready_tasks"]) == [
        "user:m0",
        "user:m1",
        "user:m2",
        "user:m3",
    ]
    (first,) = managers[0].tasks()
    after = managers[0].complete_ok(first["id"], {"pass": True})
    assert (len(after["ready_tasks"]), after["data"]["signer"]) == (3, "m0")
    (second,) = managers[1].tasks()
    after = managers[1].complete_ok(second["id"], {"pass": True})
    assert [(t["title"], t["candidates"]) for t in after["ready_tasks"]] == [
        ("执行折扣", ["user:agent_east"])
    ]
    assert (after["data"]["signer"], after["incidents"]) == ("m1", [])
    assert managers[2].tasks() == []


@pytest.mark.parametrize(
    ("data", "titles"),
    [
        ({"amount": 3000, "day": 2}, ["组长审核"]),  # without the variable nothing is skipped
        ({**SKIPPING, "amount": 3000, "day": 2}, []),
        ({**SKIPPING, "amount": 8000, "day": 2}, ["组长审核"]),
        ({**SKIPPING, "amount": 3000, "day": 5}, ["财务审核"]),
    ],
)
def test_an_order_review_skips_the_reviews_its_skip_expressions_name(owner, agent, data, titles):
    deploy(owner, "order_review.bpmn20.xml")
    started = agent.start("r21_order_review", data)
    assert [t["title"] for t in started["ready_tasks"]] == titles
    assert (started["status"], started["incidents"]) == (
        "running" if titles else "completed",
        [],
    )


# A review drawn beside another in parallel, skipped for a small order.
SKIPPED_BESIDE_A_PARALLEL_BRANCH = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowable="http://flowable.org/bpmn" targetNamespace="http://flowable.org/bpmn">
  <process id="r21_parallel_review" isExecutable="true">
    <startEvent id="start" />
    <parallelGateway id="fork" />
    <userTask id="leader" name="Leader" flowable:skipExpression="${amount &lt; 100}" />
    <userTask id="finance" name="Finance" />
    <parallelGateway id="join" />
    <userTask id="ship" name="Ship" />
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <sequenceFlow id="f2" sourceRef="fork" targetRef="leader" />
    <sequenceFlow id="f3" sourceRef="fork" targetRef="finance" />
    <sequenceFlow id="f4" sourceRef="leader" targetRef="join" />
    <sequenceFlow id="f5" sourceRef="finance" targetRef="join" />
    <sequenceFlow id="f6" sourceRef="join" targetRef="ship" />
    <sequenceFlow id="f7" sourceRef="ship" targetRef="end" />
  </process>
</definitions>
"""


@pytest.mark.parametrize(("amount", "first"), [(50, ["finance"]), (500, ["finance", "leader"])])
def test_a_task_skipped_before_a_parallel_join_lets_the_join_go_on(owner, agent, amount, first):
    """The skip rejoins the task's own flow before the join: the join waited for a flow of
    its own from the skip too, and the order stayed running with no task open."""
    text = SKIPPED_BESIDE_A_PARALLEL_BRANCH
    assert upload(owner, ("parallel_review.bpmn", text)).status_code == 201
    started = agent.start("r21_parallel_review", {**SKIPPING, "amount": amount})
    assert sorted(t["name"] for t in started["ready_tasks"]) == first
    for task in sorted(started["ready_tasks"], key=lambda t: t["name"]):
        after = agent.complete_ok(task["id"], {})
    assert ([t["name"] for t in after["ready_tasks"]], after["incidents"]) == (["ship"], [])


def test_a_refund_skipped_below_500_and_approved_above(owner, agent, actor):
    """yudao's approval-page settings pass; the leader's approval is skipped for a small
    refund and decides a large one."""
    leader = actor("manager", username="boss", team="East")
    chief = actor("director", username="chief", team=None)
    deploy(owner, "refund_approval.bpmn")
    small = agent.start("r21_refund_approval", {**SKIPPING, "amount": 300, "pass": True})
    assert [(t["title"], t["lane"]) for t in small["ready_tasks"]] == [("财务退款", "director")]
    large = agent.start("r21_refund_approval", {**SKIPPING, "amount": 3000})
    after = leader.complete_ok(large["ready_tasks"][0]["id"], {"pass": False})
    assert (after["status"], after["incidents"]) == ("completed", [])
    assert len(chief.tasks()) == 1


def test_a_complaint_keeps_its_state_in_listeners_and_escalates_after_48_hours(timed: Timed):
    """A process id in Chinese; task listeners on create and complete, an end event's
    listener, a start listener on the manager's task reached by a timer."""
    boss = timed.actor("manager", username="boss", team="East")
    deploy(timed.owner, "complaint.bpmn")
    agent = timed.agent
    handled = agent.start("投诉处理_r21", {})
    done = agent.complete_ok(handled["ready_tasks"][0]["id"], {})
    assert (done["status"], done["data"]["状态"], done["data"]["closed"]) == (
        "completed",
        "已处理",
        True,
    )
    late = agent.start("投诉处理_r21", {})
    assert timed.advance(hours=48) == 1
    escalated = one(boss.tasks(), "Activity_escalate")
    closed = boss.complete_ok(escalated["id"])
    assert (closed["id"], closed["data"]["状态"], closed["data"]["closed"]) == (
        late["id"],
        "已升级",
        True,
    )


# -- what still cannot run: refused on the element and line, with what to draw -------------


@pytest.mark.parametrize(
    ("old", "new", "element", "words"),
    [
        (  # a listener doing more than setting a variable
            '<flowable:executionListener event="take" '
            "expression=\"${execution.setVariable('waiting', true)}\" />",
            '<flowable:executionListener event="take" '
            'expression="${smsService.send(execution)}" />',
            "Flow_4",
            ["<flowable:executionListener>", "model the listener's work as a task"],
        ),
        (  # Java: nothing Dialflow can run
            'name="主管处理" flowable:candidateGroups="manager" />',
            'name="主管处理" flowable:candidateGroups="manager">'
            '<bpmn:extensionElements><flowable:taskListener event="create" '
            'class="com.ruoyi.flowable.listener.UserTaskListener" /></bpmn:extensionElements>'
            "</bpmn:userTask>",
            "Activity_1manager",
            ["<flowable:taskListener>", "model the listener's work as a task"],
        ),
    ],
)
def test_listeners_that_cannot_run_are_refused_where_drawn(owner, db, old, new, element, words):
    text = edited("callback_cadence.bpmn", (old, new))
    (detail,) = refused(upload(owner, ("callback_cadence.bpmn", text)))
    assert (detail["element_id"], detail["line"]) == (element, line_in(new, text))
    for word in words:
        assert word in detail["message"], detail["message"]
    nothing_deployed(db)


def test_a_listener_on_an_event_an_event_based_gateway_waits_for_is_refused(owner, db):
    """Its script task cannot stand between the gateway and the event: said with the one to
    draw after the event."""
    text = edited(
        "order_confirm.bpmn20.xml",
        (
            '<intermediateCatchEvent id="sid-3days" name="三天未确认">',
            '<intermediateCatchEvent id="sid-3days" name="三天未确认"><extensionElements>'
            '<flowable:executionListener event="start" '
            "expression=\"${execution.setVariable('chasing', true)}\"/></extensionElements>",
        ),
    )
    (detail,) = refused(upload(owner, ("order_confirm.bpmn20.xml", text)))
    assert (detail["element_id"], detail["line"]) == ("sid-3days", line_in('id="sid-3days"', text))
    assert (
        "draw a script task after the intermediateCatchEvent whose script is 'chasing = True'"
        in detail["message"]
    )
    nothing_deployed(db)


def test_a_listener_on_an_event_based_gateways_flow_is_refused(owner, db):
    text = edited(
        "order_confirm.bpmn20.xml",
        (
            '<sequenceFlow id="sid-4" sourceRef="sid-wait" targetRef="sid-3days"></sequenceFlow>',
            '<sequenceFlow id="sid-4" sourceRef="sid-wait" targetRef="sid-3days">'
            '<extensionElements><flowable:executionListener event="take" '
            "expression=\"${execution.setVariable('chasing', true)}\"/></extensionElements>"
            "</sequenceFlow>",
        ),
    )
    (detail,) = refused(upload(owner, ("order_confirm.bpmn20.xml", text)))
    assert (detail["element_id"], detail["line"]) == ("sid-4", line_in('id="sid-4"', text))
    assert (
        "draw a script task after that event whose script is 'chasing = True'"
        in (detail["message"])
    )
    nothing_deployed(db)


def test_a_skip_expression_on_a_task_with_two_ways_out_is_refused(owner, db):
    text = edited(
        "order_review.bpmn20.xml",
        (
            '<endEvent id="end" name="审核完成"></endEvent>',
            '<endEvent id="end" name="审核完成"></endEvent><endEvent id="end2"></endEvent>'
            '<sequenceFlow id="f4" sourceRef="financeReview" targetRef="end2"></sequenceFlow>',
        ),
    )
    details = refused(upload(owner, ("order_review.bpmn20.xml", text)))
    skip = [d for d in details if "skipExpression" in d["message"]]
    assert [(d["element_id"], d["line"]) for d in skip] == [
        ("financeReview", line_in('id="financeReview"', text))
    ]
    assert "draw an exclusive gateway before the task" in skip[0]["message"]
    nothing_deployed(db)


def test_an_order_confirmation_waits_for_the_customer_or_calls_again(timed: Timed):
    """Flowable UI's export: ``flowable:async``/``exclusive`` on the agent's task (refused with
    "remove it"), data objects with values (refused with no hint) that the start data
    overrides, a process's start listener, a form property, and an event-based gateway
    between a message and a timer."""
    deploy(timed.owner, "order_confirm.bpmn20.xml")
    agent = timed.agent
    confirmed = agent.start("r21_order_confirm", {"maxCalls": 5}, business_key="order-1")
    (submit,) = confirmed["ready_tasks"]
    assert [f for f in submit["form_schema"]["properties"]] == ["remark"]
    after = agent.complete_ok(submit["id"], {"remark": "加急"})
    assert (after["data"]["orderStatus"], after["data"]["maxCalls"]) == ("待确认", 5)
    assert after["data"]["channel"] == "电销"  # the process's start listener
    assert sorted(w["kind"] for w in after["waiting"]) == ["message", "timer"]
    sent = agent.post(
        "/api/v1/messages", json={"name": "客户确认", "business_key": "order-1", "payload": {}}
    )
    assert sent.status_code in (200, 201, 202), sent.get_json()
    assert agent.instance(confirmed["id"])["status"] == "completed"

    silent = agent.start("r21_order_confirm", {})
    agent.complete_ok(silent["ready_tasks"][0]["id"], {})
    assert timed.advance(days=3) == 1
    (recall,) = agent.tasks()
    assert recall["title"] == "再次联系客户"
    done = agent.complete_ok(recall["id"])
    assert (done["status"], done["data"]["maxCalls"], done["data"]["orderStatus"]) == (
        "completed",
        3,
        "待确认",
    )


def test_a_service_task_flowable_runs_asynchronously_is_left_to_a_worker(timed: Timed):
    """``flowable:async="true"`` on a service task: Dialflow's async property, as Flowable
    runs it in a job after the request."""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:flowable="http://flowable.org/bpmn" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'targetNamespace="http://flowable.org/bpmn">\n'
        '  <process id="r21_notify_later" name="通知坐席" isExecutable="true">\n'
        '    <startEvent id="start" />\n'
        '    <serviceTask id="tell" name="通知" flowable:async="true" flowable:exclusive="true">\n'
        "      <extensionElements>\n"
        '        <spiffworkflow:serviceTaskOperator id="notify.user" resultVariable="told">\n'
        "          <spiffworkflow:parameters>\n"
        '            <spiffworkflow:parameter id="user" type="str" value="recipient" />\n'
        '            <spiffworkflow:parameter id="message" type="str" value="\'新线索\'" />\n'
        "          </spiffworkflow:parameters>\n"
        "        </spiffworkflow:serviceTaskOperator>\n"
        "      </extensionElements>\n"
        "    </serviceTask>\n"
        '    <endEvent id="end" />\n'
        '    <sequenceFlow id="f1" sourceRef="start" targetRef="tell" />\n'
        '    <sequenceFlow id="f2" sourceRef="tell" targetRef="end" />\n'
        "  </process>\n"
        "</definitions>\n"
    ).encode()
    assert upload(timed.owner, ("notify_later.bpmn20.xml", text)).status_code == 201
    started = timed.owner.start("r21_notify_later", {"recipient": "agent_east"})
    assert started["status"] == "running"  # answered before the handler ran
    assert timed.advance(seconds=1) == 1
    assert timed.owner.instance(started["id"])["status"] == "completed"


REJECT = "        <flowable:rejectHandlerType>1</flowable:rejectHandlerType>\n"


def test_a_lead_transfer_from_yudao_runs_when_its_settings_ask_for_what_dialflow_does(
    owner, agent, actor
):
    """yudao's approval settings: a person approves, the starter approves their own, no
    approver goes to the managers, empty lists, its page's buttons and field permissions."""
    boss = actor("manager", username="boss", team="East")
    text = edited("lead_transfer_yudao.bpmn", (REJECT, ""))
    assert upload(owner, ("lead_transfer_yudao.bpmn", text)).status_code == 201
    started = agent.start("r21_lead_transfer", {"leadId": 7})
    (review,) = boss.tasks()
    assert (review["title"], review["lane"]) == ("主管审批", "manager")
    assert boss.complete_ok(review["id"])["id"] == started["id"]


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (REJECT, REJECT, ["Dialflow has no reject button", "exclusive gateway after the task"]),
        (
            "<flowable:approveType>1</flowable:approveType>",
            "<flowable:approveType>2</flowable:approveType>",
            ["script task setting the outcome (pass = True)"],
        ),
        (
            "<flowable:assignStartUserHandlerType>1</flowable:assignStartUserHandlerType>",
            "<flowable:assignStartUserHandlerType>2</flowable:assignStartUserHandlerType>",
            ["flowable:skipExpression such as"],
        ),
        (
            "<flowable:assignEmptyHandlerType>4</flowable:assignEmptyHandlerType>",
            "<flowable:assignEmptyHandlerType>3</flowable:assignEmptyHandlerType>",
            ["on every manager's board", "lane_owners"],
        ),
    ],
)
def test_yudao_settings_dialflow_does_not_run_are_refused_with_what_to_draw(
    owner, db, old, new, words
):
    text = edited("lead_transfer_yudao.bpmn", (old, new))
    if old != REJECT:
        text = text.replace(REJECT.encode(), b"")
    (detail,) = refused(upload(owner, ("lead_transfer_yudao.bpmn", text)))
    setting = new.strip().split(">")[0].lstrip("<")
    assert (detail["element_id"], detail["line"]) == (
        "Activity_1x0ptjx",
        line_in(f"<{setting}>", text),
    )
    for word in words:
        assert word in detail["message"], detail["message"]
    nothing_deployed(db)


def data_objects(*objects: tuple[str, str, str]) -> bytes:
    """A Flowable process whose data objects (name, xsd type, value) are set at its start."""
    declared = "".join(
        f'<dataObject id="d{n}" name="{name}" itemSubjectRef="xsd:{kind}"><extensionElements>'
        f"<flowable:value>{value}</flowable:value></extensionElements></dataObject>\n"
        for n, (name, kind, value) in enumerate(objects)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '  xmlns:flowable="http://flowable.org/bpmn"\n'
        '  xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="http://flowable.org/bpmn">\n'
        f'<process id="r21_data_objects" isExecutable="true">\n{declared}'
        '<startEvent id="start" /><userTask id="check" name="Check" /><endEvent id="end" />\n'
        '<sequenceFlow id="f1" sourceRef="start" targetRef="check" />\n'
        '<sequenceFlow id="f2" sourceRef="check" targetRef="end" />\n'
        "</process></definitions>\n"
    ).encode()


def test_data_objects_named_like_pythons_builtins_are_set_at_the_start(owner, agent):
    """``max`` and ``type`` read Python's functions, so the value was never set."""
    text = data_objects(
        ("max", "int", "3"), ("type", "string", "新客户"), ("rate", "double", "1.5d")
    )
    assert upload(owner, ("data_objects.bpmn", text)).status_code == 201
    started = agent.start("r21_data_objects", {})
    assert (started["status"], started["incidents"]) == ("running", [])
    assert {k: started["data"].get(k) for k in ("max", "type", "rate")} == {
        "max": 3,
        "type": "新客户",
        "rate": 1.5,
    }
    given = agent.start("r21_data_objects", {"max": 9})
    assert (given["data"]["max"], given["data"]["type"]) == (9, "新客户")


@pytest.mark.parametrize("value", ["1e400", "NaN", "1_000"])
def test_a_data_objects_number_java_would_not_read_as_json_is_refused_on_it(owner, db, value):
    """1e400 deployed and every start was an incident: "name 'inf' is not defined"."""
    text = data_objects(("rate", "double" if "_" not in value else "int", value))
    (detail,) = refused(upload(owner, ("data_objects.bpmn", text)))
    assert "Dialflow sets rate from a data object's value" in detail["message"], detail
    nothing_deployed(db)


# A task whose complete listener counts the approval and whose end listener reads the count.
COUNT_THEN_READ = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:flowable="http://flowable.org/bpmn" targetNamespace="http://flowable.org/bpmn">
  <process id="r21_listener_order" isExecutable="true">
    <startEvent id="start" />
    <userTask id="approve" name="Approve">
      <extensionElements>
        <flowable:executionListener event="end"
          expression="${execution.setVariable('all_approved', approvals == 2)}" />
        <flowable:taskListener event="complete"
          expression="${task.setVariable('approvals', approvals + 1)}" />
        <flowable:taskListener event="create"
          expression="${task.setVariable('opened', approvals)}" />
        <flowable:executionListener event="start"
          expression="${execution.setVariable('approvals', approvals + 1)}" />
      </extensionElements>
    </userTask>
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve" />
    <sequenceFlow id="f2" sourceRef="approve" targetRef="end" />
  </process>
</definitions>
"""


def test_a_tasks_listeners_run_in_the_order_flowable_fires_them(owner, agent):
    """Execution start, task create; then task complete, execution end, however the
    designer listed them: the end listener ran before the complete listener it reads."""
    assert upload(owner, ("listener_order.bpmn", COUNT_THEN_READ)).status_code == 201
    started = agent.start("r21_listener_order", {"approvals": 0})
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {})
    assert (done["status"], done["incidents"]) == ("completed", [])
    said = {k: done["data"][k] for k in ("opened", "approvals", "all_approved")}
    assert said == {"opened": 1, "approvals": 2, "all_approved": True}


def test_a_skip_expression_on_an_event_is_refused_on_it_at_its_line(owner, db):
    """A gateway was drawn before the start and boundary events: the deploy was refused on
    ``start_skip`` and ``start_run``, elements the file does not have, at no line."""
    text = edited(
        "order_review.bpmn20.xml",
        ('<startEvent id="start"', '<startEvent id="start" flowable:skipExpression="${true}"'),
    )
    (detail,) = refused(upload(owner, ("order_review.bpmn20.xml", text)))
    assert (detail["element_id"], detail["line"]) == ("start", line_in('id="start"', text))
    assert "on an activity only: remove it from the event" in detail["message"]
    nothing_deployed(db)
