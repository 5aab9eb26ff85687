# ruff: noqa: E501  (BPMN elements kept one per line, as in diagrams/)
"""Diagrams for ``test_interrupts.py``: an activity with open work inside, and what interrupts it.

The activity ``work`` is a plain or multi-instance embedded subprocess or call activity. Inside
(the subprocess, or the called process ``inner_work``), each run waits at the user task
``call_one`` for a person, with a non-interrupting reminder timer (a day, then a CRM note) and
an interrupting ``reply`` message on it; completed with ``outcome`` it writes the note
``called <customer>`` (``crm.add_note``), or, for ``error``, ``escalate`` or ``terminate``,
ends at an error, escalation or terminate end event instead. What interrupts ``work`` leads to
the user task ``after``.
"""

from __future__ import annotations

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)
# what may interrupt ``work``; ``None`` leaves it to an end event inside or the API
BOUNDARIES = {
    "timer": "<bpmn:timerEventDefinition><bpmn:timeDuration>'PT1H'</bpmn:timeDuration>"
    "</bpmn:timerEventDefinition>",
    "message": '<bpmn:messageEventDefinition messageRef="msg_stop" />',
    "signal": '<bpmn:signalEventDefinition signalRef="sig_stop" />',
    "error": '<bpmn:errorEventDefinition errorRef="err_inner" />',
    "escalation": '<bpmn:escalationEventDefinition escalationRef="esc_inner" />',
}
# what starts the event subprocess
STARTS = {
    "message": '<bpmn:messageEventDefinition messageRef="msg_stop" />',
    "error": '<bpmn:errorEventDefinition errorRef="err_inner" />',
}
# what the inner path ends at for each ``outcome``
THROWS = {
    "error": '<bpmn:errorEventDefinition errorRef="err_inner" />',
    "escalate": '<bpmn:escalationEventDefinition escalationRef="esc_inner" />',
    "terminate": "<bpmn:terminateEventDefinition />",
}


def _note(task_id: str, text: str, incoming: str, outgoing: str) -> str:
    return f"""
    <bpmn:serviceTask id="{task_id}">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="crm.add_note" resultVariable="{task_id}_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="customer_id" type="int" value="customer_id" />
            <spiffworkflow:parameter id="text" type="str" value="{text}" />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
    </bpmn:serviceTask>"""


def inner(throw: str | None, prelude: bool = False) -> str:
    """The inside of ``work``: flow nodes and flows, ids unique in the file; with
    ``prelude`` a note ``preparing <customer>`` is written before ``call_one``."""
    thrown = ""
    if throw is not None:
        thrown = f"""
    <bpmn:endEvent id="thrown_end"><bpmn:incoming>i_thrown</bpmn:incoming>{THROWS[throw]}</bpmn:endEvent>
    <bpmn:sequenceFlow id="i_thrown" sourceRef="route" targetRef="thrown_end">
      <bpmn:conditionExpression>outcome == '{throw}'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>"""
    first = "i1"
    if prelude:
        first = "i0"
        thrown += f"""
    {_note("prepare_note", "'preparing ' + str(customer_id)", "i0", "i1")}
    <bpmn:sequenceFlow id="i0" sourceRef="inner_start" targetRef="prepare_note" />"""
    return f"""
    <bpmn:startEvent id="inner_start"><bpmn:outgoing>{first}</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="call_one" name="Call one"><bpmn:incoming>i1</bpmn:incoming><bpmn:outgoing>i2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="remind" attachedToRef="call_one" cancelActivity="false">
      <bpmn:outgoing>i_remind</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>'P1D'</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    {_note("remind_note", "'reminder ' + str(customer_id)", "i_remind", "i_remind_end")}
    <bpmn:endEvent id="remind_end"><bpmn:incoming>i_remind_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="replied" attachedToRef="call_one">
      <bpmn:outgoing>i_replied</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="msg_reply" />
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="replied_end"><bpmn:incoming>i_replied</bpmn:incoming></bpmn:endEvent>
    <bpmn:exclusiveGateway id="route" default="i3"><bpmn:incoming>i2</bpmn:incoming><bpmn:outgoing>i3</bpmn:outgoing>{"<bpmn:outgoing>i_thrown</bpmn:outgoing>" if throw else ""}</bpmn:exclusiveGateway>
    {_note("write_note", "'called ' + str(customer_id)", "i3", "i4")}
    <bpmn:endEvent id="inner_end"><bpmn:incoming>i4</bpmn:incoming></bpmn:endEvent>{thrown}
    <bpmn:sequenceFlow id="i1" sourceRef="{"prepare_note" if prelude else "inner_start"}" targetRef="call_one" />
    <bpmn:sequenceFlow id="i2" sourceRef="call_one" targetRef="route" />
    <bpmn:sequenceFlow id="i3" sourceRef="route" targetRef="write_note" />
    <bpmn:sequenceFlow id="i4" sourceRef="write_note" targetRef="inner_end" />
    <bpmn:sequenceFlow id="i_remind" sourceRef="remind" targetRef="remind_note" />
    <bpmn:sequenceFlow id="i_remind_end" sourceRef="remind_note" targetRef="remind_end" />
    <bpmn:sequenceFlow id="i_replied" sourceRef="replied" targetRef="replied_end" />"""


def diagram(
    kind: str,
    *,
    multi: str | None = None,
    boundary: str | None = None,
    throw: str | None = None,
    event_subprocess: str | None = None,
    prelude: bool = False,
    process_id: str = "interrupts",
) -> str:
    """The BPMN file: ``kind`` is ``subprocess`` or ``call``; ``multi`` ``parallel`` or
    ``sequential`` (over ``customers``, one ``customer_id`` each) or ``None``; ``boundary`` the
    interrupting boundary event on ``work`` (``BOUNDARIES``); ``throw`` what the inside may end
    at; ``event_subprocess`` an interrupting event subprocess of the process started by the
    message ``stop_work`` (``message``) or the error ``INNER`` (``error``). ``multi="loop"``
    makes ``work`` a standard loop of three passes."""
    loop = ""
    if multi == "loop":
        loop = '\n      <bpmn:standardLoopCharacteristics loopMaximum="3" />'
    elif multi is not None:
        loop = f"""
      <bpmn:multiInstanceLoopCharacteristics isSequential="{"true" if multi == "sequential" else "false"}">
        <bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="customer_id" name="customer_id" />
      </bpmn:multiInstanceLoopCharacteristics>"""
    if kind == "subprocess":
        work = f"""
    <bpmn:subProcess id="work" name="Work">
      <bpmn:incoming>f_work</bpmn:incoming><bpmn:outgoing>f_done</bpmn:outgoing>{loop}{inner(throw, prelude)}
    </bpmn:subProcess>"""
        called = ""
    else:
        work = f"""
    <bpmn:callActivity id="work" name="Work" calledElement="inner_work">
      <bpmn:incoming>f_work</bpmn:incoming><bpmn:outgoing>f_done</bpmn:outgoing>{loop}
    </bpmn:callActivity>"""
        called = f"""
  <bpmn:process id="inner_work" name="Inner work" isExecutable="true">
    <bpmn:laneSet id="inner_lanes"><bpmn:lane id="inner_lane" name="agent"><bpmn:flowNodeRef>call_one</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>{inner(throw, prelude)}
  </bpmn:process>"""
    signal_branch = boundary == "signal"
    start = "f_work" if not signal_branch else "f_fork"
    fork = ""
    if signal_branch:
        fork = """
    <bpmn:parallelGateway id="fork"><bpmn:incoming>f_fork</bpmn:incoming><bpmn:outgoing>f_work</bpmn:outgoing><bpmn:outgoing>f_stop</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="stop" name="Stop"><bpmn:incoming>f_stop</bpmn:incoming><bpmn:outgoing>f_throw</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateThrowEvent id="throw_stop"><bpmn:incoming>f_throw</bpmn:incoming><bpmn:outgoing>f_thrown</bpmn:outgoing><bpmn:signalEventDefinition signalRef="sig_stop" /></bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="stop_end"><bpmn:incoming>f_thrown</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_fork" sourceRef="start" targetRef="fork" />
    <bpmn:sequenceFlow id="f_stop" sourceRef="fork" targetRef="stop" />
    <bpmn:sequenceFlow id="f_throw" sourceRef="stop" targetRef="throw_stop" />
    <bpmn:sequenceFlow id="f_thrown" sourceRef="throw_stop" targetRef="stop_end" />"""
    else:
        fork = '\n    <bpmn:sequenceFlow id="f_work" sourceRef="start" targetRef="work" />'
    if signal_branch:
        fork += '\n    <bpmn:sequenceFlow id="f_work" sourceRef="fork" targetRef="work" />'
    after = ""
    if boundary is not None:
        after = f"""
    <bpmn:boundaryEvent id="interrupt" attachedToRef="work"><bpmn:outgoing>f_interrupted</bpmn:outgoing>{BOUNDARIES[boundary]}</bpmn:boundaryEvent>
    <bpmn:userTask id="after" name="After"><bpmn:incoming>f_interrupted</bpmn:incoming><bpmn:outgoing>f_after</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="after_end"><bpmn:incoming>f_after</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_interrupted" sourceRef="interrupt" targetRef="after" />
    <bpmn:sequenceFlow id="f_after" sourceRef="after" targetRef="after_end" />"""
    elif event_subprocess:
        after = f"""
    <bpmn:subProcess id="stop_all" triggeredByEvent="true">
      <bpmn:startEvent id="stop_all_start"><bpmn:outgoing>e1</bpmn:outgoing>{STARTS[event_subprocess]}</bpmn:startEvent>
      <bpmn:userTask id="after" name="After"><bpmn:incoming>e1</bpmn:incoming><bpmn:outgoing>e2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="after_end"><bpmn:incoming>e2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="e1" sourceRef="stop_all_start" targetRef="after" />
      <bpmn:sequenceFlow id="e2" sourceRef="after" targetRef="after_end" />
    </bpmn:subProcess>"""
    lanes = ["call_one"] if kind == "subprocess" else []
    lanes += ["after"] if (boundary or event_subprocess) else []
    lanes += ["stop"] if signal_branch else []
    refs = "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in lanes)
    lane_set = (
        f'\n    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_agent" name="agent">{refs}'
        "</bpmn:lane></bpmn:laneSet>"
        if refs
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="defs_{process_id}" targetNamespace="http://dialflow.example/bpmn">
  <bpmn:message id="msg_stop" name="stop_work" />
  <bpmn:message id="msg_reply" name="reply" />
  <bpmn:signal id="sig_stop" name="stop_signal" />
  <bpmn:error id="err_inner" name="Inner failure" errorCode="INNER" />
  <bpmn:escalation id="esc_inner" name="Inner escalation" escalationCode="ESC" />
  <bpmn:process id="{process_id}" name="Interrupted work" isExecutable="true">{lane_set}
    <bpmn:startEvent id="start"><bpmn:outgoing>{start}</bpmn:outgoing></bpmn:startEvent>{fork}{work}
    <bpmn:endEvent id="done_end"><bpmn:incoming>f_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_done" sourceRef="work" targetRef="done_end" />{after}
  </bpmn:process>{called}
</bpmn:definitions>
"""
