"""The shapes of the newest rounds of unseen diagrams (11 and 12) and of the newest engine paths
(Camunda 8 jobs and keyed messages, pre-scripts on activities, due timers after a reply), drawn
small for the crash and race tests (``test_crash_shapes.py``, ``test_races_shapes.py``): every
path writes a note on a
customer through ``test.hold`` (``tests/engine/crash_diagrams.py``), the CRM write a killed
step must not leave behind and a lost race must not write."""

from __future__ import annotations

from itertools import pairwise

from tests.engine.crash_diagrams import END, HEAD, START, TASK, chain, diagram, flow


def chain_in(prefix: str, *ids: str) -> str:
    """Sequence flows from each element to the next, their ids starting with ``prefix``."""
    return "".join(flow(f"{prefix}{n}", a, b) for n, (a, b) in enumerate(pairwise(ids), 1))


def note(tid: str, text: str, customer: str = "customer_id", inner: str = "") -> str:
    """A service task noting ``text`` (a Python expression) on ``customer`` (one too)."""
    return (
        f'<bpmn:serviceTask id="{tid}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="test.hold" resultVariable="{tid}_result">'
        "<spiffworkflow:parameters>"
        f'<spiffworkflow:parameter id="customer_id" type="int" value="{customer}"/>'
        f'<spiffworkflow:parameter id="text" type="str" value="{text}"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>"
        f"</bpmn:extensionElements>{inner}</bpmn:serviceTask>"
    )


def catch(cid: str, definition: str) -> str:
    return f'<bpmn:intermediateCatchEvent id="{cid}">{definition}</bpmn:intermediateCatchEvent>'


def message(ref: str) -> str:
    return f'<bpmn:messageEventDefinition messageRef="{ref}"/>'


def timer(duration: str, kind: str = "timeDuration") -> str:
    expression = f"<bpmn:{kind}>'{duration}'</bpmn:{kind}>"
    return f"<bpmn:timerEventDefinition>{expression}</bpmn:timerEventDefinition>"


def event_subprocess(sid: str, start: str, interrupting: bool, body: str, last: str) -> str:
    """An event subprocess whose start (``start`` its definition) leads to ``body``'s first
    element ``{sid}_note``, ending after ``last``."""
    return (
        f'<bpmn:subProcess id="{sid}" triggeredByEvent="true">'
        f'<bpmn:startEvent id="{sid}_start" isInterrupting="{str(interrupting).lower()}">'
        f"{start}</bpmn:startEvent>{body}"
        f'<bpmn:endEvent id="{sid}_end"/>'
        + flow(f"{sid}_f1", f"{sid}_start", f"{sid}_note")
        + flow(f"{sid}_f2", last, f"{sid}_end")
        + "</bpmn:subProcess>"
    )


def condition(fid: str, source: str, target: str, expression: str) -> str:
    return (
        f'<bpmn:sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{expression}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def script(sid: str, text: str) -> str:
    return f'<bpmn:scriptTask id="{sid}"><bpmn:script>{text}</bpmn:script></bpmn:scriptTask>'


# Offer rounds (three at most): each round (an embedded subprocess, inside a loop) waits at an
# event-based gateway for the customer's reply or an hour; a reminder after 45 minutes
# (non-interrupting timer event subprocess) and a withdrawal (interrupting message event
# subprocess) inside the round; at the process's level a note at any time (non-interrupting)
# and a stop that ends the campaign (interrupting).
OFFERS = diagram(
    "held_offers",
    START
    + script("init", "rounds = 0")
    + '<bpmn:exclusiveGateway id="next"/>'
    + '<bpmn:subProcess id="offer"><bpmn:startEvent id="o_start"/>'
    + '<bpmn:eventBasedGateway id="o_wait"/>'
    + catch("o_reply", message("m_reply"))
    + catch("o_hour", timer("PT1H"))
    + note("o_answered", "'reply ' + answer")
    + note("o_late", "'late'")
    + '<bpmn:endEvent id="o_end"/><bpmn:endEvent id="o_end_late"/>'
    + chain_in("o_f", "o_start", "o_wait", "o_reply", "o_answered", "o_end")
    + flow("o_f5", "o_wait", "o_hour")
    + flow("o_f6", "o_hour", "o_late")
    + flow("o_f7", "o_late", "o_end_late")
    + event_subprocess(
        "o_withdraw",
        message("m_withdraw"),
        True,
        note("o_withdraw_note", "'withdrawn'"),
        "o_withdraw_note",
    )
    + event_subprocess(
        "o_remind", timer("PT45M"), False, note("o_remind_note", "'reminded'"), "o_remind_note"
    )
    + "</bpmn:subProcess>"
    + script("count", "rounds = rounds + 1")
    + '<bpmn:exclusiveGateway id="more" default="to_done"/>'
    + END
    + chain("start", "init", "next", "offer", "count", "more")
    + condition("back", "more", "next", "rounds &lt; 3")
    + flow("to_done", "more", "end")
    + event_subprocess(
        "on_note", message("m_note"), False, note("on_note_note", "'noted'"), "on_note_note"
    )
    + event_subprocess(
        "on_stop", message("m_stop"), True, note("on_stop_note", "'stopped'"), "on_stop_note"
    ),
    before='<bpmn:message id="m_reply" name="offer_reply"/>'
    '<bpmn:message id="m_withdraw" name="offer_withdrawn"/>'
    '<bpmn:message id="m_note" name="offer_note"/>'
    '<bpmn:message id="m_stop" name="offers_stopped"/>',
)


def _call(cid: str, called: str) -> str:
    return f'<bpmn:callActivity id="{cid}" calledElement="{called}"/>'


def _boundary(bid: str, host: str, definition: str, interrupting: bool = True) -> str:
    return (
        f'<bpmn:boundaryEvent id="{bid}" attachedToRef="{host}" '
        f'cancelActivity="{str(interrupting).lower()}">{definition}</bpmn:boundaryEvent>'
    )


# A deal chain: call activities three deep, a boundary event on each. The outer call expires
# after a day (timer); the second is withdrawn (message); the third's process, the quote, ends
# with no budget (error, caught on the third call), or escalates a deep discount (caught
# without interrupting on the third call: an approval beside the confirmation).
CHAIN = diagram(
    "held_chain",
    START
    + _call("call1", "held_chain1")
    + _boundary("expiry", "call1", timer("P1D"))
    + note("expired", "'expired'")
    + note("done", "'chain done'")
    + END
    + '<bpmn:endEvent id="end_expired"/>'
    + chain("start", "call1", "done", "end")
    + flow("x1", "expiry", "expired")
    + flow("x2", "expired", "end_expired"),
)
CHAIN1 = diagram(
    "held_chain1",
    START
    + _call("call2", "held_chain2")
    + _boundary("withdrawn", "call2", message("m_withdraw"))
    + note("withdrawn_note", "'withdrawn'")
    + END
    + '<bpmn:endEvent id="end_withdrawn"/>'
    + chain("start", "call2", "end")
    + flow("w1", "withdrawn", "withdrawn_note")
    + flow("w2", "withdrawn_note", "end_withdrawn"),
    before='<bpmn:message id="m_withdraw" name="deal_withdrawn"/>',
)
CHAIN2 = diagram(
    "held_chain2",
    START
    + _call("call3", "held_chain3")
    + _boundary("no_budget", "call3", '<bpmn:errorEventDefinition errorRef="err_budget"/>')
    + _boundary(
        "deep",
        "call3",
        '<bpmn:escalationEventDefinition escalationRef="esc_discount"/>',
        interrupting=False,
    )
    + note("priced", "'priced'")
    + note("budget_note", "'no budget'")
    + note("deep_note", "'deep discount'")
    + '<bpmn:userTask id="approve"/>'
    + END
    + '<bpmn:endEvent id="end_budget"/><bpmn:endEvent id="end_deep"/>'
    + chain("start", "call3", "priced", "end")
    + flow("b1", "no_budget", "budget_note")
    + flow("b2", "budget_note", "end_budget")
    + flow("d1", "deep", "deep_note")
    + flow("d2", "deep_note", "approve")
    + flow("d3", "approve", "end_deep"),
    before='<bpmn:error id="err_budget" errorCode="NO_BUDGET"/>'
    '<bpmn:escalation id="esc_discount" escalationCode="DEEP_DISCOUNT"/>',
)
CHAIN3 = diagram(
    "held_chain3",
    START
    + '<bpmn:userTask id="quote"/>'
    + '<bpmn:exclusiveGateway id="check" default="to_confirm"/>'
    + '<bpmn:endEvent id="broke"><bpmn:errorEventDefinition errorRef="err_budget"/>'
    "</bpmn:endEvent>" + '<bpmn:intermediateThrowEvent id="escalate">'
    '<bpmn:escalationEventDefinition escalationRef="esc_discount"/></bpmn:intermediateThrowEvent>'
    + '<bpmn:userTask id="confirm"/>'
    + note("quoted", "'quoted'")
    + END
    + chain("start", "quote", "check")
    + condition("to_broke", "check", "broke", "budget == 0")
    + condition("to_escalate", "check", "escalate", "discount &gt; 20")
    + flow("to_confirm", "check", "confirm")
    + flow("e1", "escalate", "confirm")
    + flow("c1", "confirm", "quoted")
    + flow("c2", "quoted", "end"),
    before='<bpmn:error id="err_budget" errorCode="NO_BUDGET"/>'
    '<bpmn:escalation id="esc_discount" escalationCode="DEEP_DISCOUNT"/>',
)
CHAINS = (CHAIN, CHAIN1, CHAIN2, CHAIN3)

# Three turns of a loop: an inclusive split and join (``a`` every turn, ``b`` on even turns,
# each a note on the lead ``customer_id``), then a multi-instance note on each of
# ``customers``, then a review.
LOOPS = diagram(
    "held_loops",
    START
    + script("init", "turn = 0")
    + '<bpmn:exclusiveGateway id="next"/>'
    + script("open", "turn = turn + 1")
    + '<bpmn:inclusiveGateway id="split"/>'
    + note("a", "'a' + str(turn)")
    + note("b", "'b' + str(turn)")
    + '<bpmn:inclusiveGateway id="join"/>'
    + note(
        "each",
        "'each' + str(turn)",
        customer="contact",
        inner='<bpmn:multiInstanceLoopCharacteristics isSequential="false">'
        "<bpmn:loopDataInputRef>customers</bpmn:loopDataInputRef>"
        '<bpmn:inputDataItem id="contact" name="contact"/>'
        "</bpmn:multiInstanceLoopCharacteristics>",
    )
    + '<bpmn:userTask id="review"/>'
    + '<bpmn:exclusiveGateway id="more" default="to_done"/>'
    + END
    + chain("start", "init", "next", "open", "split")
    + condition("to_a", "split", "a", "True")
    + condition("to_b", "split", "b", "turn % 2 == 0")
    + flow("a_join", "a", "join")
    + flow("b_join", "b", "join")
    + flow("j1", "join", "each")
    + flow("j2", "each", "review")
    + flow("j3", "review", "more")
    + condition("back", "more", "next", "turn &lt; 3")
    + flow("to_done", "more", "end"),
)

# Two branches wait for the same message: ``b`` from the start, ``a`` after a call. One
# message moves one catch, the one waiting longest (``engine/one_catch.py``).
TWO_CATCHES = diagram(
    "held_two_catches",
    START
    + '<bpmn:parallelGateway id="fork"/>'
    + '<bpmn:userTask id="call"/>'
    + catch("reply_a", message("m_reply"))
    + catch("reply_b", message("m_reply"))
    + note("noted_a", "'a'")
    + note("noted_b", "'b'")
    + '<bpmn:parallelGateway id="join"/>'
    + END
    + chain("start", "fork", "call", "reply_a", "noted_a", "join", "end")
    + flow("g1", "fork", "reply_b")
    + flow("g2", "reply_b", "noted_b")
    + flow("g3", "noted_b", "join"),
    before='<bpmn:message id="m_reply" name="two_reply"/>',
)

# A call with a reminder every hour while it is open (a non-interrupting cycle timer
# boundary event), three at most.
REMINDED = diagram(
    "held_reminded",
    START
    + '<bpmn:userTask id="call"/>'
    + _boundary("hourly", "call", timer("R3/PT1H", "timeCycle"), interrupting=False)
    + note("reminder", "'reminder'")
    + note("called", "'called'")
    + END
    + '<bpmn:endEvent id="end_reminder"/>'
    + chain("start", "call", "called", "end")
    + flow("r1", "hourly", "reminder")
    + flow("r2", "reminder", "end_reminder"),
)

# Three turns of a loop: a multi-instance user task asks each of ``contacts`` for an answer;
# their answers are noted together on ``customer_id`` once all are in.
ASKED = diagram(
    "held_asked",
    START
    + script("init", "turn = 0")
    + '<bpmn:exclusiveGateway id="next"/>'
    + script("open", "turn = turn + 1")
    + '<bpmn:userTask id="ask"><bpmn:multiInstanceLoopCharacteristics isSequential="false">'
    "<bpmn:loopDataInputRef>contacts</bpmn:loopDataInputRef>"
    "<bpmn:loopDataOutputRef>answers</bpmn:loopDataOutputRef>"
    '<bpmn:inputDataItem id="contact" name="contact"/>'
    '<bpmn:outputDataItem id="answer" name="answer"/>'
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    + note("tally", "str(turn) + ': ' + str(answers)")
    + '<bpmn:exclusiveGateway id="more" default="to_done"/>'
    + END
    + chain("start", "init", "next", "open", "ask", "tally", "more")
    + condition("back", "more", "next", "turn &lt; 3")
    + flow("to_done", "more", "end"),
)


# -- the newest engine paths: Camunda 8 jobs and keyed messages, pre-scripts on activities,
# due timers after a reply --------------------------------------------------------------------

ZEEBE_HEAD = HEAD.replace(
    "<bpmn:definitions ", '<bpmn:definitions xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
)


def zeebe_diagram(pid: str, body: str, before: str = "") -> str:
    return diagram(pid, body, before).replace(HEAD, ZEEBE_HEAD, 1)


def job(tid: str, text: str, outputs: tuple[tuple[str, str], ...] = ()) -> str:
    """A Camunda 8 job worker of type ``test.hold`` noting ``text`` (FEEL) on the lead's
    customer, its ``outputs`` (target, FEEL source) mapped from the job's result."""
    mapped = "".join(f'<zeebe:output source="{s}" target="{t}"/>' for t, s in outputs)
    return (
        f'<bpmn:serviceTask id="{tid}"><bpmn:extensionElements>'
        '<zeebe:taskDefinition type="test.hold"/><zeebe:ioMapping>'
        '<zeebe:input source="=lead.customer_id" target="customer_id"/>'
        f'<zeebe:input source="{text}" target="text"/>{mapped}'
        "</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>"
    )


def keyed(mid: str, name: str) -> str:
    """A message with a Camunda 8 subscription keyed by the lead's id."""
    return (
        f'<bpmn:message id="{mid}" name="{name}"><bpmn:extensionElements>'
        '<zeebe:subscription correlationKey="=lead.id"/></bpmn:extensionElements></bpmn:message>'
    )


# A prepared quote's job worker notes it and maps its result: the label from the note's text,
# and a total that reads ``extra`` as a number (an incident until a retry gives one: a missing
# one would be FEEL's null), then a call.
JOB_OUTPUTS = zeebe_diagram(
    "held_job_outputs",
    START
    + '<bpmn:userTask id="prepare"/>'
    + job(
        "quote",
        "=&#34;Quote for &#34; + lead.id",
        (
            ("label", "=noted + &#34; (&#34; + lead.id + &#34;)&#34;"),
            ("total", "=seats + 10 ** extra / 10 ** extra"),
        ),
    )
    + TASK
    + END
    + chain("start", "prepare", "quote", "call", "end"),
)

# The answer to a quote, by the lead's key: a receive task, then a note of the answer; then a
# follow-up (an intermediate catch by the same key), noted too, before a call.
KEYED = zeebe_diagram(
    "held_keyed",
    START
    + '<bpmn:receiveTask id="answer" messageRef="m_answer"/>'
    + job("answered", "=&#34;Answer: &#34; + answer")
    + catch("follow_up", message("m_follow_up"))
    + job("followed", "=&#34;Follow-up: &#34; + topic")
    + TASK
    + END
    + chain("start", "answer", "answered", "follow_up", "followed", "call", "end"),
    before=keyed("m_answer", "held_quote_answer") + keyed("m_follow_up", "held_follow_up"),
)

# A message thrown to the follow-up of the lead ``lead_id`` (queued, delivered by the scheduler's
# pass), its key in its payload.
KEYED_THROWER = diagram(
    "held_keyed_thrower",
    START + '<bpmn:intermediateThrowEvent id="tell">'
    '<bpmn:messageEventDefinition messageRef="m_follow_up">'
    "<bpmn:extensionElements><spiffworkflow:messagePayload>"
    '{"correlationKey": lead_id, "topic": topic}</spiffworkflow:messagePayload>'
    "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>"
    + END
    + chain("start", "tell", "end"),
    before='<bpmn:message id="m_follow_up" name="held_follow_up"/>',
)

_PRE = (
    "<bpmn:extensionElements><spiffworkflow:preScript>share = 1 / parts"
    "</spiffworkflow:preScript></bpmn:extensionElements>"
)

# A share worked out by a pre-script on a subprocess (``mode == 'sub'``) or a call activity,
# beside a call with an hour's reminder (a non-interrupting timer); the first thing in the
# subprocess or the called process notes the share, the reminder notes itself.
PRE_SCRIPTED = diagram(
    "held_pre_scripted",
    START
    + '<bpmn:parallelGateway id="fork"/>'
    + '<bpmn:exclusiveGateway id="which" default="to_call"/>'
    + f'<bpmn:subProcess id="sub">{_PRE}<bpmn:startEvent id="sub_start"/>'
    + note("sub_note", "'share ' + str(share)")
    + '<bpmn:endEvent id="sub_end"/>'
    + chain_in("sub_f", "sub_start", "sub_note", "sub_end")
    + "</bpmn:subProcess>"
    + f'<bpmn:callActivity id="called" calledElement="held_share">{_PRE}</bpmn:callActivity>'
    + '<bpmn:exclusiveGateway id="merged"/>'
    + TASK
    + _boundary("remind", "call", timer("PT1H"), interrupting=False)
    + note("reminded", "'reminded'")
    + '<bpmn:endEvent id="end_reminded"/>'
    + '<bpmn:parallelGateway id="join"/>'
    + END
    + chain("start", "fork", "which")
    + flow("r1", "remind", "reminded")
    + flow("r2", "reminded", "end_reminded")
    + condition("to_sub", "which", "sub", "mode == 'sub'")
    + flow("to_call", "which", "called")
    + flow("p1", "sub", "merged")
    + flow("p2", "called", "merged")
    + flow("p3", "merged", "join")
    + flow("p4", "fork", "call")
    + flow("p5", "call", "join")
    + flow("p6", "join", "end"),
)
SHARE = diagram(
    "held_share",
    START
    + note("called_note", "'called share ' + str(share)")
    + END
    + chain("start", "called_note", "end"),
)

# The reply awaited at an event-based gateway inside a subprocess (or two hours), noted; an
# hour's reminder on the subprocess (a non-interrupting timer) notes that it is overdue.
AWAIT_REPLY = diagram(
    "held_await_reply",
    START
    + '<bpmn:subProcess id="await"><bpmn:startEvent id="w_start"/>'
    + '<bpmn:eventBasedGateway id="w_gate"/>'
    + catch("w_reply", message("m_reply"))
    + catch("w_timeout", timer("PT2H"))
    + note("w_replied", "'replied ' + answer")
    + '<bpmn:userTask id="handle"/>'
    + '<bpmn:endEvent id="w_end"/><bpmn:endEvent id="w_end_timeout"/>'
    + chain_in("w_f", "w_start", "w_gate", "w_reply", "w_replied", "handle", "w_end")
    + flow("w_f6", "w_gate", "w_timeout")
    + flow("w_f7", "w_timeout", "w_end_timeout")
    + "</bpmn:subProcess>"
    + _boundary("overdue", "await", timer("PT1H"), interrupting=False)
    + note("overdue_note", "'overdue'")
    + '<bpmn:endEvent id="end_overdue"/>'
    + END
    + chain("start", "await", "end")
    + flow("o1", "overdue", "overdue_note")
    + flow("o2", "overdue_note", "end_overdue"),
    before='<bpmn:message id="m_reply" name="late_reply"/>',
)
