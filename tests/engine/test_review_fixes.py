"""Engine defects found in review, each reproduced through the HTTP API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ModelBundle
from tests.engine.conftest import Actor, by_element, one_process, refused
from tests.engine.test_reported_gaps import LANES, line_of


def retry(owner: Actor, instance_id: int, body: Any = None) -> Any:
    return owner.post(f"/api/v1/process-instances/{instance_id}/retry", json=body)


# -- 1. a gateway where no condition holds -----------------------------------------------------

GATEWAY = """
    <startEvent id="start"/>
    <{kind} id="route" name="Route by score"/>
    <endEvent id="hot_end"/>
    <endEvent id="cold_end"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="route"/>
    <sequenceFlow id="to_hot" sourceRef="route" targetRef="hot_end">
      <conditionExpression>score &gt;= 80</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="to_cold" sourceRef="route" targetRef="cold_end">
      <conditionExpression>score &lt; 20 and region == "East"</conditionExpression>
    </sequenceFlow>
"""


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_gateway_where_no_condition_holds_says_which_conditions_it_evaluated(
    owner: Actor, agent: Actor, kind: str
) -> None:
    content = one_process("routing", GATEWAY.format(kind=kind))
    assert owner.upload(extra=[("routing.bpmn", content)]).status_code == 201
    failed = agent.start("routing", {"score": 50, "region": "East"})
    assert failed["status"] == "error"
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("route", "gateway_error")
    message = incident["message"]
    assert "Route by score" in message
    assert "no default flow" in message
    assert "score >= 80" in message and 'score < 20 and region == "East"' in message
    assert "score = 50" in message and "region = 'East'" in message

    assert retry(owner, failed["id"], {"data": [90]}).status_code == 422
    # The data is fixed with the retry, which then goes on.
    fixed = retry(owner, failed["id"], {"data": {"score": 90}})
    assert fixed.status_code == 200, fixed.get_json()
    body = fixed.get_json()
    assert (body["status"], body["incidents"], body["data"]["score"]) == ("completed", [], 90)


def test_a_gateway_condition_that_fails_names_its_flow(owner: Actor, agent: Actor) -> None:
    content = one_process("routing", GATEWAY.format(kind="exclusiveGateway"))
    assert owner.upload(extra=[("routing.bpmn", content)]).status_code == 201
    failed = agent.start("routing", {"score": 10})  # no region
    [incident] = failed["incidents"]
    assert (incident["element_id"], incident["kind"]) == ("route", "gateway_error")
    message = incident["message"]
    assert "flow to 'cold_end'" in message and "region not set" in message
    assert "name 'region' is not defined" in message and "Did you mean 'score'" in message
    fixed = retry(owner, failed["id"], {"data": {"region": "East"}}).get_json()
    assert (fixed["status"], fixed["incidents"]) == ("completed", [])


# -- 2. a multi-instance subprocess's input item -----------------------------------------------

MI = """
    <multiInstanceLoopCharacteristics isSequential="{sequential}">
      <loopDataInputRef>managers</loopDataInputRef>
      <loopDataOutputRef>approvals</loopDataOutputRef>
      <inputDataItem id="manager" name="manager"/>
      <outputDataItem id="approval" name="approval"/>
    </multiInstanceLoopCharacteristics>"""

EMBEDDED = """
    <startEvent id="start"/>
    <subProcess id="ask_each" name="Ask each manager">{mi}
      <startEvent id="sub_start"/>
      <scriptTask id="decide"><script>approval = manager + " approves"</script></scriptTask>
      <endEvent id="sub_end"/>
      <sequenceFlow id="s1" sourceRef="sub_start" targetRef="decide"/>
      <sequenceFlow id="s2" sourceRef="decide" targetRef="sub_end"/>
    </subProcess>
    <userTask id="review" name="Review the approvals"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="ask_each"/>
    <sequenceFlow id="f2" sourceRef="ask_each" targetRef="review"/>
    <sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
"""

CALLED = """
  <process id="ask_one" isExecutable="true">
    <startEvent id="one_start"/>
    <scriptTask id="one_decide"><script>approval = manager + " approves"</script></scriptTask>
    <endEvent id="one_end"/>
    <sequenceFlow id="o1" sourceRef="one_start" targetRef="one_decide"/>
    <sequenceFlow id="o2" sourceRef="one_decide" targetRef="one_end"/>
  </process>
"""

CALLING = """
    <startEvent id="start"/>
    <callActivity id="ask_each" name="Ask each manager" calledElement="ask_one">{mi}
    </callActivity>
    <userTask id="review" name="Review the approvals"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="ask_each"/>
    <sequenceFlow id="f2" sourceRef="ask_each" targetRef="review"/>
    <sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
"""

TASK = """
    <startEvent id="start"/>
    <scriptTask id="ask_each">{mi}
      <script>approval = manager + " approves"</script>
    </scriptTask>
    <userTask id="review" name="Review the approvals"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="ask_each"/>
    <sequenceFlow id="f2" sourceRef="ask_each" targetRef="review"/>
    <sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
"""


def _with_called(content: bytes) -> bytes:
    return content.replace(b"</definitions>", CALLED.encode() + b"</definitions>")


@pytest.mark.parametrize("collected", [True, False], ids=["output", "no-output"])
@pytest.mark.parametrize("sequential", ["false", "true"])
@pytest.mark.parametrize("body", ["task", "embedded", "call"])
def test_a_multi_instance_activity_leaves_no_input_item_behind(
    owner: Actor, agent: Actor, body: str, sequential: str, collected: bool
) -> None:
    """The item variable belongs to each instance, after an embedded subprocess or a call
    activity as after a task; the parent keeps the output collection. Without one,
    SpiffWorkflow merged each instance's data, its item too (a sequential one then failed
    its second instance: the item "already exists")."""
    loop = MI.format(sequential=sequential)
    if not collected:
        loop = loop.replace("<loopDataOutputRef>approvals</loopDataOutputRef>", "")
        loop = loop.replace('<outputDataItem id="approval" name="approval"/>', "")
    diagram = {"task": TASK, "embedded": EMBEDDED, "call": CALLING}[body]
    content = one_process("approvals", diagram.format(mi=loop))
    if body == "call":
        content = _with_called(content)
    response = owner.upload(extra=[("approvals.bpmn", content)])
    assert response.status_code == 201, response.get_json()
    started = agent.start("approvals", {"managers": ["wang", "li"]})
    assert (started["status"], started["incidents"]) == ("running", []), started
    data = started["data"]
    assert "manager" not in data
    if collected:
        assert data["approvals"] == ["wang approves", "li approves"]
        assert "approval" not in data
    else:  # a variable an instance sets still reaches the process, as before
        assert data["approval"] in ("wang approves", "li approves")
    [task] = started["ready_tasks"]
    done = agent.complete_ok(task["id"])
    assert done["status"] == "completed"
    assert "manager" not in done["data"]
    assert done["data"].get("approvals") == (
        ["wang approves", "li approves"] if collected else None
    )


# -- 3. retrying an error nothing catches ------------------------------------------------------

UNCAUGHT = """
    <startEvent id="start"/>
    <parallelGateway id="fork"/>
    <scriptTask id="ratio"><script>ratio = 1 / divisor</script></scriptTask>
    <endEvent id="ratio_end"/>
    <subProcess id="check" name="Check the deal">
      <startEvent id="check_start"/>
      <endEvent id="needs_cfo" name="Needs the CFO">
        <errorEventDefinition errorRef="cfo_error"/>
      </endEvent>
      <sequenceFlow id="c1" sourceRef="check_start" targetRef="needs_cfo"/>
    </subProcess>
    <endEvent id="check_end"/>
    <scriptTask id="prepare"><script>checked = True</script></scriptTask>
    <sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <sequenceFlow id="f2" sourceRef="fork" targetRef="ratio"/>
    <sequenceFlow id="f3" sourceRef="ratio" targetRef="ratio_end"/>
    <sequenceFlow id="f4" sourceRef="fork" targetRef="prepare"/>
    <sequenceFlow id="f6" sourceRef="prepare" targetRef="check"/>
    <sequenceFlow id="f5" sourceRef="check" targetRef="check_end"/>
"""


def _uncaught() -> bytes:
    content = one_process("uncaught", UNCAUGHT)
    error = b'  <error id="cfo_error" name="Needs the CFO" errorCode="NEEDS_CFO"/>\n'
    return content.replace(b"  <process ", error + b"  <process ", 1)


def test_a_retry_cannot_help_an_error_the_diagram_throws_and_nothing_catches(
    owner: Actor, agent: Actor
) -> None:
    assert owner.upload(extra=[("uncaught.bpmn", _uncaught())]).status_code == 201
    failed = agent.start("uncaught", {"divisor": 0})
    assert failed["status"] == "error"
    kinds = {i["element_id"]: i["kind"] for i in failed["incidents"]}
    assert kinds == {"ratio": "script_error", "needs_cfo": "uncaught_error"}

    # The script's incident retries as before, with its fix; the thrown error stays.
    again = retry(owner, failed["id"], {"data": {"divisor": 4}})
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["status"] == "error"
    assert [(i["element_id"], i["attempts"]) for i in body["incidents"]] == [("needs_cfo", 1)]

    # Only the thrown error is left: a retry would throw it again, so it is refused.
    refused = retry(owner, failed["id"])
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "retry_cannot_help"
    assert "'needs_cfo'" in error["message"] and "thrown by the diagram itself" in error["message"]
    assert "migrate" in error["message"] and "terminate" in error["message"]
    still = agent.instance(failed["id"])
    assert [(i["element_id"], i["attempts"]) for i in still["incidents"]] == [("needs_cfo", 1)]
    ended = owner.post(f"/api/v1/process-instances/{failed['id']}/terminate").get_json()
    assert (ended["status"], ended["incidents"]) == ("terminated", [])


BESIDE_UNCAUGHT = """
    <startEvent id="start"/>
    <parallelGateway id="split"/>
    <endEvent id="needs_cfo"><errorEventDefinition errorRef="cfo_error"/></endEvent>
    <scriptTask id="prepare"><script>prepared = True</script></scriptTask>
    <userTask id="call_back" name="Call back"/>
    <endEvent id="done"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <sequenceFlow id="f2" sourceRef="split" targetRef="needs_cfo"/>
    <sequenceFlow id="f3" sourceRef="split" targetRef="prepare"/>
    <sequenceFlow id="f4" sourceRef="prepare" targetRef="call_back"/>
    <sequenceFlow id="f5" sourceRef="call_back" targetRef="done"/>
"""


def test_an_error_nothing_catches_stops_its_own_path_only(owner: Actor, agent: Actor) -> None:
    """The incident is on the error end event; the parallel branch reached after it in the
    same step still runs to its user task, which can be completed."""
    content = one_process("beside_uncaught", BESIDE_UNCAUGHT)
    error = b'  <error id="cfo_error" name="Needs the CFO" errorCode="NEEDS_CFO"/>\n'
    content = content.replace(b"  <process ", error + b"  <process ", 1)
    assert owner.upload(extra=[("beside.bpmn", content)]).status_code == 201
    started = agent.start("beside_uncaught")
    assert started["status"] == "error"
    assert [(i["element_id"], i["kind"]) for i in started["incidents"]] == [
        ("needs_cfo", "uncaught_error")
    ]
    (task,) = started["ready_tasks"]
    assert task["name"] == "call_back"
    after = agent.complete_ok(task["id"])
    assert after["status"] == "error" and after["data"]["prepared"] is True
    assert retry(owner, started["id"]).status_code == 409


# -- 4. validate answers the deploy's warnings -------------------------------------------------


def test_validate_answers_the_warnings_a_deploy_would(
    owner: Actor, agent: Actor, actor: Any, db: Any
) -> None:
    """Lanes that name no role and no existing team (the agent makes team East exist): the
    same warnings as the deploy's, with nothing stored; none once the team exists."""
    validated = owner.post("/api/v1/process-models/validate", json={"bpmn": LANES})
    assert validated.status_code == 200, validated.get_json()
    answer = validated.get_json()
    assert (answer["valid"], answer["process_ids"]) == (True, ["key_accounts"])
    (warning,) = answer["warnings"]
    assert warning["element_id"] == "lane_key"
    assert warning["line"] == line_of('<bpmn:lane id="lane_key"', LANES)
    assert "'Key Accounts'" in warning["message"] and "no role and no team" in warning["message"]
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ModelBundle)) == 0
    deployed = owner.post("/api/v1/process-models", json={"bpmn": LANES}).get_json()
    assert deployed["warnings"] == answer["warnings"]

    actor("agent", username="ka_agent", team="Key Accounts")
    again = owner.post("/api/v1/process-models/validate", json={"bpmn": LANES}).get_json()
    assert again["warnings"] == []


# -- 5. a called process's own ioSpecification -------------------------------------------------

CALLER = """
    <startEvent id="start"/>
    <callActivity id="approve" name="Approve" calledElement="approval"/>
    <userTask id="next" name="Next"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <sequenceFlow id="f2" sourceRef="approve" targetRef="next"/>
    <sequenceFlow id="f3" sourceRef="next" targetRef="end"/>
"""


def _called(inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The called process ``approval``; ``inputs`` and ``outputs`` map ids to names."""
    declared = "".join(f'<dataInput id="{i}" name="{n}"/>' for i, n in inputs.items())
    declared += "".join(f'<dataOutput id="{i}" name="{n}"/>' for i, n in outputs.items())
    refs = "".join(f"<dataInputRefs>{i}</dataInputRefs>" for i in inputs)
    out_refs = "".join(f"<dataOutputRefs>{i}</dataOutputRefs>" for i in outputs)
    return f"""
  <process id="approval" isExecutable="true">
    <ioSpecification>{declared}
      <inputSet>{refs}</inputSet>
      <outputSet>{out_refs}</outputSet>
    </ioSpecification>
    <startEvent id="a_start"/>
    <scriptTask id="decide"><script>knows_customer = "customer_id" in dir()
approved = amount &lt; 1000
internal = 1</script></scriptTask>
    <endEvent id="a_end"/>
    <sequenceFlow id="a1" sourceRef="a_start" targetRef="decide"/>
    <sequenceFlow id="a2" sourceRef="decide" targetRef="a_end"/>
  </process>
"""


def _calling(called: str) -> bytes:
    content = one_process("caller", CALLER)
    return content.replace(b"</definitions>", called.encode() + b"</definitions>")


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [
        ({"amount": "amount"}, {"approved": "approved"}),  # ran, until something was missing
        ({"amount": "amount"}, {}),  # the caller got the called process's data
        ({}, {"approved": "approved"}),
        ({"in_amount": "amount"}, {"out_ok": "approved"}),  # read by id: "missing" input
    ],
    ids=["in-and-out", "in-only", "out-only", "ids-not-names"],
)
def test_a_called_process_with_data_inputs_or_outputs_of_its_own_is_refused(
    owner: Actor, inputs: dict[str, str], outputs: dict[str, str]
) -> None:
    """SpiffWorkflow runs a process-level ioSpecification only while nothing is missing: a
    missing input is an incident no retry gets past (the retry ran the called process without
    its inputs, failing inside it), so each such process is refused on its line."""
    content = _calling(_called(inputs, outputs))
    details = refused(owner.upload(extra=[("caller.bpmn", content)]))
    found = by_element(details)
    assert set(found) == {"approval"}
    assert "the process's ioSpecification declares data inputs or outputs" in found["approval"]
    for name in [*inputs.values(), *outputs.values()]:
        assert repr(name) in found["approval"]
    assert "leave them out" in found["approval"]
    [detail] = details
    assert (
        content.decode()
        .splitlines()[detail["line"] - 1]
        .strip()
        .startswith('<process id="approval"')
    )


def test_an_empty_process_io_specification_still_deploys_and_passes_all_data(
    owner: Actor, agent: Actor
) -> None:
    content = _calling(_called({}, {}))
    assert owner.upload(extra=[("caller.bpmn", content)]).status_code == 201
    done = agent.start("caller", {"customer_id": 7, "amount": 500})
    assert done["status"] == "running", done
    assert done["data"]["customer_id"] == 7 and done["data"]["approved"] is True
    assert done["data"]["knows_customer"] is True
