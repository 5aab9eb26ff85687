"""Small diagrams for ``test_crash_matrix.py``: each kind of step runs ``test.hold`` (a note on
the customer, the CRM write a killed step must not leave behind)."""

from __future__ import annotations

from itertools import pairwise

HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="d" targetNamespace="http://dialflow.example/crash">'
)


def diagram(pid: str, body: str, before: str = "") -> str:
    return (
        f'{HEAD}{before}<bpmn:process id="{pid}" isExecutable="true">{body}'
        "</bpmn:process></bpmn:definitions>"
    )


def flow(fid: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'


def chain(*ids: str) -> str:
    """Sequence flows from each element to the next."""
    return "".join(flow(f"f{n}", a, b) for n, (a, b) in enumerate(pairwise(ids), start=1))


def hold(
    tid: str, text: str, *, operator: str = "test.hold", extra: str = "", inner: str = ""
) -> str:
    """A service task noting ``text`` (a Python expression) on ``customer_id``."""
    return (
        f'<bpmn:serviceTask id="{tid}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="{tid}_result">'
        "<spiffworkflow:parameters>"
        '<spiffworkflow:parameter id="customer_id" type="int" value="customer_id"/>'
        f'<spiffworkflow:parameter id="text" type="str" value="{text}"/>'
        f"</spiffworkflow:parameters>{extra}</spiffworkflow:serviceTaskOperator>"
        f"</bpmn:extensionElements>{inner}</bpmn:serviceTask>"
    )


START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'
TASK = '<bpmn:userTask id="call"/>'

# Started through the API: the note, then a person's call.
STARTED = diagram(
    "held_start",
    START + hold("note", "'started'") + TASK + END + chain("start", "note", "call", "end"),
)

# Started by a message (its start event), then the note and a call.
BY_MESSAGE = diagram(
    "held_by_message",
    '<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m_lead"/>'
    "</bpmn:startEvent>"
    + hold("note", "'by message'")
    + TASK
    + END
    + chain("start", "note", "call", "end"),
    before='<bpmn:message id="m_lead" name="lead_in"/>',
)

# Started by a signal (its start event), then the note and a call.
BY_SIGNAL = diagram(
    "held_by_signal",
    '<bpmn:startEvent id="start"><bpmn:signalEventDefinition signalRef="s_go"/>'
    "</bpmn:startEvent>"
    + hold("note", "'by signal'")
    + TASK
    + END
    + chain("start", "note", "call", "end"),
    before='<bpmn:signal id="s_go" name="campaign_go"/>',
)

# Waits for a message, then notes it.
MESSAGE_WAITER = diagram(
    "held_waiter",
    START + '<bpmn:intermediateCatchEvent id="go"><bpmn:messageEventDefinition messageRef="m_go"/>'
    "</bpmn:intermediateCatchEvent>"
    + hold("note", "'went'")
    + END
    + chain("start", "go", "note", "end"),
    before='<bpmn:message id="m_go" name="go"/>',
)

# Throws that message to the instance of its business key (queued, delivered by the pass).
MESSAGE_THROWER = diagram(
    "held_thrower",
    START
    + '<bpmn:intermediateThrowEvent id="send"><bpmn:messageEventDefinition messageRef="m_go"/>'
    "</bpmn:intermediateThrowEvent>" + END + chain("start", "send", "end"),
    before='<bpmn:message id="m_go" name="go"/>',
)

# An hour later, the note.
TIMER = diagram(
    "held_timer",
    START + '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>'PT1H'</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:intermediateCatchEvent>"
    + hold("note", "'an hour later'")
    + END
    + chain("start", "wait", "note", "end"),
)

# The note, retried automatically after 10 s (twice at most) while it fails.
RETRIED = diagram(
    "held_retry",
    START
    + hold("note", "'retried'", extra='<spiffworkflow:retry retries="2" backoff_base="10"/>')
    + END
    + chain("start", "note", "end"),
)

# The note, retried only by hand.
BY_HAND = diagram(
    "held_by_hand", START + hold("note", "'by hand'") + END + chain("start", "note", "end")
)

# A failing handler (it notes half of its work first) whose error boundary event takes over.
CAUGHT = diagram(
    "held_caught",
    START
    + hold("send", "'half-sent'", operator="test.fail")
    + '<bpmn:boundaryEvent id="failed" attachedToRef="send"><bpmn:errorEventDefinition/>'
    "</bpmn:boundaryEvent>"
    + hold("note", "'caught: ' + error_message")
    + '<bpmn:endEvent id="sent"/>'
    + END
    + flow("f1", "start", "send")
    + flow("f2", "send", "sent")
    + flow("f3", "failed", "note")
    + flow("f4", "note", "end"),
)

# The same failure, taken by an error event subprocess of the process.
CAUGHT_BY_EVENT_SUBPROCESS = diagram(
    "held_caught_inside",
    START
    + hold("send", "'half-sent'", operator="test.fail")
    + END
    + chain("start", "send", "end")
    + '<bpmn:subProcess id="on_failure" triggeredByEvent="true">'
    '<bpmn:startEvent id="failure_start"><bpmn:errorEventDefinition/></bpmn:startEvent>'
    + hold("note", "'caught: ' + error_message")
    + '<bpmn:endEvent id="failure_end"/>'
    + flow("e1", "failure_start", "note")
    + flow("e2", "note", "failure_end")
    + "</bpmn:subProcess>",
)

# Waits for a broadcast signal, then notes it.
SIGNAL_WAITER = diagram(
    "held_signal_waiter",
    START + '<bpmn:intermediateCatchEvent id="priced"><bpmn:signalEventDefinition signalRef="s_p"/>'
    "</bpmn:intermediateCatchEvent>"
    + hold("note", "'repriced'")
    + END
    + chain("start", "priced", "note", "end"),
    before='<bpmn:signal id="s_p" name="price_change"/>',
)
# Throws that signal as it ends.
SIGNAL_THROWER = diagram(
    "held_signal_thrower",
    START
    + '<bpmn:endEvent id="end"><bpmn:signalEventDefinition signalRef="s_p"/></bpmn:endEvent>'
    + flow("f1", "start", "end"),
    before='<bpmn:signal id="s_p" name="price_change"/>',
)

# A call activity whose process notes, then waits for a person.
CALLER = diagram(
    "held_parent",
    START
    + '<bpmn:callActivity id="child" calledElement="held_child"/>'
    + END
    + chain("start", "child", "end"),
)
CALLED = diagram(
    "held_child",
    START + hold("note", "'child'") + TASK + END + chain("start", "note", "call", "end"),
)

# A note on each customer of ``customers``, one instance each.
EACH = diagram(
    "held_each",
    START
    + hold(
        "note",
        "'each'",
        inner='<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
        "<bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="customer_id" name="customer_id"/>'
        "</bpmn:multiInstanceLoopCharacteristics>",
    )
    + '<bpmn:userTask id="review"/>'
    + END
    + chain("start", "note", "review", "end"),
)


def movable(text: str) -> str:
    """A call, then a note of ``text``: two versions differ in the note only."""
    return diagram(
        "held_move",
        START + TASK + hold("note", f"'{text}'") + END + chain("start", "call", "note", "end"),
    )
