"""Diagrams written the way files of public BPMN collections are: names holding only line
breaks (what some modelers export for an unnamed gateway or a process named by its id), XML
comments left inside tasks where a modeler's user switched a part off, and a loop drawn back
into the parallel gateway it first came through are valid BPMN that Dialflow runs: they deploy
and run end to end through the API. A call two levels down to a process no file has is refused
once, on its call activity and line; an empty loop maximum once, on its task, not again in
Python's words on an event named "Error".
"""

from __future__ import annotations

from typing import Any

from tests.engine.conftest import Actor, notes_of, one_process, refused
from tests.engine.diagram_folders import line_in, nothing_deployed, upload


def deployed(owner: Actor, name: str, content: bytes) -> dict[str, Any]:
    response = upload(owner, (name, content))
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    return response.get_json()


# -- a name of line breaks alone ----------------------------------------------------------------

BLANK_NAMES = """
    <startEvent id="lead_in" />
    <sequenceFlow id="f1" sourceRef="lead_in" targetRef="qualify" />
    <userTask id="qualify" name="Qualify the lead" />
    <sequenceFlow id="f2" sourceRef="qualify" targetRef="interested" />
    <exclusiveGateway id="interested" name="&#13;&#10;" default="f_no" />
    <sequenceFlow id="f_yes" name="&#10;&#10;" sourceRef="interested" targetRef="note">
      <conditionExpression>interested</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f_no" sourceRef="interested" targetRef="done" />
    <scriptTask id="note" name="Mark as hot">
      <script>temperature = "hot"</script>
    </scriptTask>
    <sequenceFlow id="f3" sourceRef="note" targetRef="done" />
    <endEvent id="done" name="&#10;" />
"""


def test_a_lead_process_whose_gateway_has_a_name_of_line_breaks_deploys_and_runs(owner, agent):
    """An ARIS export names an unnamed gateway "&#13;&#10;"; such a name failed the deploy
    with a 500 (an internal error) instead of deploying the valid diagram."""
    body = one_process("corpus_blank_names", BLANK_NAMES).replace(
        b'isExecutable="true"', b'isExecutable="true" name="&#10;&#10;"'
    )
    assert deployed(owner, "blank_names.bpmn", body)["process_ids"] == ["corpus_blank_names"]
    started = agent.start("corpus_blank_names")
    (qualify,) = started["ready_tasks"]
    done = agent.complete_ok(qualify["id"], {"interested": True})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["temperature"] == "hot"


def test_a_name_of_line_breaks_does_not_hide_the_problems_of_a_refused_deploy(owner):
    """The same diagram with an operator no handler has is refused with that problem on
    its task, not answered with a 500."""
    body = one_process(
        "corpus_blank_refused",
        BLANK_NAMES.replace(
            '<scriptTask id="note" name="Mark as hot">\n'
            '      <script>temperature = "hot"</script>\n'
            "    </scriptTask>",
            '<serviceTask id="note" name="&#10;"><extensionElements>'
            '<spiffworkflow:serviceTaskOperator id="crm.no_such_operator">'
            "<spiffworkflow:parameters /></spiffworkflow:serviceTaskOperator>"
            "</extensionElements></serviceTask>",
        ),
    ).replace(
        b"<definitions ",
        b'<definitions xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ',
    )
    response = upload(owner, ("blank_refused.bpmn", body))
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    details = response.get_json()["error"]["details"]
    assert [(d["element_id"], "crm.no_such_operator" in d["message"]) for d in details] == [
        ("note", True)
    ]


# -- XML comments inside tasks ------------------------------------------------------------------

COMMENTED = """
    <startEvent id="lead_in" />
    <sequenceFlow id="f1" sourceRef="lead_in" targetRef="score" />
    <scriptTask id="score" name="Score the lead">
      <!-- scored by hand until the dialler sends its own score
      <dataOutputAssociation id="to_dialler"><targetRef>dialler</targetRef></dataOutputAssociation>
      -->
      <script>score = 40<!-- the base score -->
score = score + 2</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="score" targetRef="call" />
    <userTask id="call" name="Call the lead">
      <!-- the call form comes later -->
    </userTask>
    <sequenceFlow id="f3" sourceRef="call" targetRef="note" />
    <serviceTask id="note" name="Note the score">
      <extensionElements>
        <!-- the note quotes the score -->
        <spiffworkflow:serviceTaskOperator id="crm.add_note">
          <spiffworkflow:parameters>
            <!-- the lead's customer -->
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="text" type="str" value="f'Score {score}'" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </extensionElements>
    </serviceTask>
    <sequenceFlow id="f4" sourceRef="note" targetRef="done" />
    <endEvent id="done" />
"""


def test_comments_inside_a_script_task_and_a_service_task_are_ignored(
    owner, agent, make_customer, db
):
    """A comment directly inside a script task made SpiffWorkflow's parser fail, and the
    deploy was refused with "AttributeError(…'cython_function_or_method' object has no
    attribute 'endswith')". Comments mean nothing: the diagram deploys and runs, and a
    comment inside the script's text leaves the rest of the script in place."""
    body = one_process("corpus_commented", COMMENTED).replace(
        b"<definitions ",
        b'<definitions xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ',
    )
    deployed(owner, "commented.bpmn", body)
    customer = make_customer()
    started = agent.start("corpus_commented", {"customer_id": customer.id})
    assert started["data"]["score"] == 42
    (call,) = started["ready_tasks"]
    done = agent.complete_ok(call["id"])
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert notes_of(db, customer.id) == ["Score 42"]


# -- a loop drawn back into a parallel gateway --------------------------------------------------

REDIAL = """
    <startEvent id="lead_in" />
    <sequenceFlow id="f1" sourceRef="lead_in" targetRef="reset" />
    <scriptTask id="reset" name="No attempt yet">
      <script>attempts = 0</script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="reset" targetRef="merge" />
    <parallelGateway id="merge" />
    <sequenceFlow id="f3" sourceRef="merge" targetRef="dial" />
    <scriptTask id="dial" name="Dial">
      <script>attempts += 1</script>
    </scriptTask>
    <sequenceFlow id="f4" sourceRef="dial" targetRef="again" />
    <exclusiveGateway id="again" default="f_enough" />
    <sequenceFlow id="f_again" sourceRef="again" targetRef="call">
      <conditionExpression>attempts &lt; 3</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f_enough" sourceRef="again" targetRef="done" />
    <userTask id="call" name="Call the customer" />
    <sequenceFlow id="f_back" sourceRef="call" targetRef="merge" />
    <endEvent id="done" />
"""


def test_a_redial_loop_drawn_back_into_a_parallel_gateway_runs_each_pass(owner, agent):
    """SpiffWorkflow's own examples draw a loop back into the parallel gateway the process
    first came through. The first pass went on, but the second waited at the gateway for the
    flow that had come in before the loop: the instance stayed running with nothing to do.
    Each pass now waits only for the loop's own flow."""
    deployed(owner, "redial.bpmn", one_process("corpus_redial", REDIAL))
    view = agent.start("corpus_redial")
    for attempt in (1, 2):
        assert view["data"]["attempts"] == attempt
        (call,) = view["ready_tasks"]
        assert call["name"] == "call"
        view = agent.complete_ok(call["id"])
    assert (view["status"], view["incidents"], view["ready_tasks"]) == ("completed", [], [])
    assert view["data"]["attempts"] == 3


# -- a called process calling a process no file has -------------------------------------------

CALLS = """
    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="{call}" />
    <callActivity id="{call}" calledElement="{called}" />
    <sequenceFlow id="f2" sourceRef="{call}" targetRef="end" />
    <endEvent id="end" />
"""


def test_a_missing_process_two_calls_down_is_said_once_on_the_call_activity(owner, db):
    """A lead process calls the qualification, which calls a scoring process no file has.
    The deploy said so on the qualification's call activity, and again, on no element and
    no line, in the lead process's file: "The process 'corpus_score' was not found"."""
    lead = one_process("corpus_lead", CALLS.format(call="qualify", called="corpus_qualify"))
    qualify = one_process("corpus_qualify", CALLS.format(call="score", called="corpus_score"))
    response = upload(owner, ("lead.bpmn", lead), ("qualify.bpmn", qualify))
    details = refused(response)
    assert [(d["element_id"], d["file"], d["line"]) for d in details] == [
        ("score", "qualify.bpmn", line_in('<callActivity id="score"', qualify))
    ]
    assert "calls process 'corpus_score'" in details[0]["message"]
    nothing_deployed(db)


# -- a parser failure in Python's words is put on no element named like them -----------------

BUSY_LINE = """
    <startEvent id="start" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="dial" />
    <subProcess id="dial" name="Dial">
      <startEvent id="dial_start" />
      <sequenceFlow id="d1" sourceRef="dial_start" targetRef="busy_signal" />
      <endEvent id="busy_signal"><errorEventDefinition errorRef="busy" /></endEvent>
    </subProcess>
    <boundaryEvent id="on_busy" name="Error" attachedToRef="dial">
      <errorEventDefinition errorRef="busy" />
    </boundaryEvent>
    <sequenceFlow id="f_busy" sourceRef="on_busy" targetRef="call_again" />
    <userTask id="call_again" name="Call again">
      <standardLoopCharacteristics loopMaximum="" />
    </userTask>
    <sequenceFlow id="f_again" sourceRef="call_again" targetRef="given_up" />
    <endEvent id="given_up" />
    <sequenceFlow id="f2" sourceRef="dial" targetRef="reached" />
    <endEvent id="reached" />
"""


def test_an_empty_loop_maximum_is_said_once_on_its_task_not_on_an_event_named_error(owner, db):
    """iGrafx names events by their kind ("Error") and may leave a loop's maximum empty. The
    deploy said so on the task, and again as "ValueError: invalid literal for int() with base
    10: ''" on the boundary event named "Error", whose name the exception's words held."""
    body = one_process("corpus_busy_line", BUSY_LINE).replace(
        b"<process ", b'<error id="busy" name="Busy" errorCode="busy" />\n  <process '
    )
    details = refused(upload(owner, ("busy_line.bpmn", body)))
    assert [(d["element_id"], d["line"]) for d in details] == [
        ("call_again", line_in("<standardLoopCharacteristics", body))
    ]
    assert "loopMaximum" in details[0]["message"]
    nothing_deployed(db)


# -- two loops back: into the join, and before the split ----------------------------------------

CALL_BOTH = """
    <startEvent id="lead_in" />
    <sequenceFlow id="f1" sourceRef="lead_in" targetRef="round" />
    <exclusiveGateway id="round" />
    <sequenceFlow id="f2" sourceRef="round" targetRef="split" />
    <parallelGateway id="split" />
    <sequenceFlow id="f3" sourceRef="split" targetRef="call_buyer" />
    <sequenceFlow id="f4" sourceRef="split" targetRef="call_boss" />
    <userTask id="call_buyer" name="Call the buyer" />
    <userTask id="call_boss" name="Call the decision maker" />
    <sequenceFlow id="f5" sourceRef="call_buyer" targetRef="both" />
    <sequenceFlow id="f6" sourceRef="call_boss" targetRef="both" />
    <parallelGateway id="both" />
    <sequenceFlow id="f7" sourceRef="both" targetRef="review" />
    <userTask id="review" name="Review the calls" />
    <sequenceFlow id="f8" sourceRef="review" targetRef="next" />
    <exclusiveGateway id="next" default="f_done" />
    <sequenceFlow id="f_review_again" sourceRef="next" targetRef="both">
      <conditionExpression>then == 'review again'</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f_call_again" sourceRef="next" targetRef="round">
      <conditionExpression>then == 'call again'</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="f_done" sourceRef="next" targetRef="done" />
    <endEvent id="done" />
"""


def test_a_review_looped_back_into_the_join_runs_when_a_wider_loop_was_not_chosen(owner, agent):
    """Two loops leave the review: one back into the parallel gateway that joined the two
    calls (review again), one back before the split (call both again). Choosing the review
    again left the instance running with nothing to do: the gateway waited for the two
    calls, which only the other loop would have made. It now waits for what a branch may
    still bring, so the review comes back; calling again still waits for both calls."""
    deployed(owner, "call_both.bpmn", one_process("corpus_call_both", CALL_BOTH))
    view = agent.start("corpus_call_both")

    def do(name: str, data: dict | None = None) -> dict:
        (task,) = [t for t in view["ready_tasks"] if t["name"] == name]
        return agent.complete_ok(task["id"], data or {})

    def ready(view: dict) -> list[str]:
        return sorted(t["name"] for t in view["ready_tasks"])

    view = do("call_buyer")
    view = do("call_boss")
    assert ready(view) == ["review"]
    view = do("review", {"then": "review again"})
    assert (view["status"], ready(view)) == ("running", ["review"])
    view = do("review", {"then": "call again"})
    assert ready(view) == ["call_boss", "call_buyer"]
    view = do("call_buyer")
    assert ready(view) == ["call_boss"]  # the join waits for the other call
    view = do("call_boss")
    assert ready(view) == ["review"]
    view = do("review", {"then": "done"})
    assert (view["status"], view["incidents"], ready(view)) == ("completed", [], [])
