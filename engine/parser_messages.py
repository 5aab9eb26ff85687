"""The parser's garbled or raw messages said in plain words.

SpiffWorkflow's parser names what it refuses with messages such as "Multiple outgoing flows
are not supported for tasks of type." or a raw ``AttributeError``. ``validation`` turns each
parser failure into a problem with :func:`rewrite_parser_message`, which also says whether the
pre-pass (``engine.constructs``) names the same construct itself, so that the parser's words
are then left out. It lives apart from the pre-pass because it reads SpiffWorkflow's messages,
not the XML.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.event_checks import ON_EVENT_SUBPROCESS

# What the parser's "Cannot resolve dataInputAssociation" is said as; left out where the
# pre-pass named the element (a data association to a process property, ``constructs``).
UNRESOLVED_ASSOCIATION = (
    "a data association of this task must connect it to a data object of its process"
)

# The parser's messages, for problems the pre-pass did not already name (and to rewrite them).
PARSER_MESSAGES = (
    (
        re.compile(r"Multiple outgoing flows are not supported for tasks of type"),
        "an activity can have only one outgoing sequence flow: put an exclusive or parallel "
        "gateway after it",
    ),
    (
        re.compile(r"There is no support implemented for this task type"),
        "this kind of element is not supported by Dialflow",
    ),
    (
        re.compile(r"Unsupported Catch Event"),
        "this kind of boundary event is not supported: a boundary event catches a timer, "
        "message, signal, error or escalation (a terminate, link or untriggered event is "
        "never caught)",
    ),
    (
        re.compile(r"'list' object has no attribute 'tag'"),
        "the decision this task calls is in a DMN file with several decisions",
    ),
    (re.compile(r"'BoundaryEventSplit' object has no attribute 'spec'"), ON_EVENT_SUBPROCESS),
    (
        # SpiffWorkflow's DMN engine takes the decision's first decision table, and there is
        # none in a literal expression, a context or an invocation.
        re.compile(r"^IndexError\('list index out of range'\)"),
        "the decision this task calls has no decision table; only decision tables are supported",
    ),
    (
        re.compile(r"Cancel Events may only be used with transactions"),
        "a cancel boundary event belongs on a transaction subprocess (bpmn:transaction), "
        "which a cancel end event inside it cancels",
    ),
    (
        re.compile(r"^Data Store with name "),
        "data stores are not supported: keep the data in the process (task data) or reach the "
        "system through a service task",
    ),
)


# Parser messages said in plainer words (fixed, or made from the match), but not named by the
# pre-pass (kept in any case).
PARSER_REWORDED: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"RecursionError|maximum recursion depth"),
        "the flow from its start event is too long: SpiffWorkflow's parser follows it "
        "element by element in nested calls and gives up after about 480 elements in a row; "
        "split it into subprocesses or call activities",
    ),
    (
        re.compile(r"multiinstance task must specify exactly one of cardinality or loop input"),
        "a multi-instance activity runs a number of times (loopCardinality) or once per item "
        "of a collection (loopDataInputRef), not both, and needs one of them: keep the one "
        "you mean (with a collection, its length is the number of instances)",
    ),
    (
        re.compile(r"^A loopMaximum or loopCondition must be specified for Loop Tasks"),
        "a standard loop needs a loopCondition (it runs the activity again while the "
        "condition holds, such as attempts < 3) or a loopMaximum (the most passes), as "
        "Eclipse BPMN2 Modeler leaves it empty when the loop marker is set; for one pass per "
        "item of a list, use multiInstanceLoopCharacteristics with loopDataInputRef",
    ),
    (
        re.compile(r"^No start event found"),
        "the process has no start event: draw one where it begins (a plain start event, or a "
        "message, timer or signal start event); an event-based gateway or a receive task with "
        'instantiate="true" does not start a process in Dialflow',
    ),
    (
        re.compile(r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
        lambda found: (
            "an embedded subprocess starts at one plain start event, and this one has "
            f"{found.group(1)}: keep exactly one start event inside it, connected to the first "
            "activity"
        ),
    ),
    (
        re.compile(r"^A Service Task must have an operator"),
        "a service task must have an operator: name the Dialflow handler it calls (such as "
        'crm.add_note) with <spiffworkflow:serviceTaskOperator id="crm.add_note"> in its '
        'extensionElements; implementation="##WebService", an operationRef and interfaces '
        "are not run",
    ),
    (
        re.compile(r"^Time Specification Error"),
        "a timer event needs a date, a duration or a cycle (timeDate, timeDuration or "
        "timeCycle), such as a timeDuration of \"'PT1H'\"",
    ),
    (
        re.compile(r"^Non-default exclusive outgoing sequence flow without condition"),
        "leaves an exclusive gateway without a condition (or with an empty one) and is not "
        "the gateway's default flow: write its condition, or name it as the gateway's "
        'default (default="<flow id>" on the gateway)',
    ),
    (
        re.compile(r'^No "calledElement" attribute for Call Activity'),
        'a call activity names the process it calls: add calledElement="<process id>" '
        "(the id of an executable process of this deploy or deployed before)",
    ),
    (
        re.compile(r"^Cannot resolve data(Input|Output)Association"),
        f"{UNRESOLVED_ASSOCIATION} (SpiffWorkflow cannot resolve what it points at)",
    ),
    (
        re.compile(
            r'^No DMN Diagram available with id "([^"]*)", Available DMN ids are: (.*?)\.?$'
        ),
        lambda found: _decision_missing(found.group(1), found.group(2).strip()),
    ),
)


def _decision_missing(decision: str, known: str) -> str:
    if decision == "None":  # the task names none
        return (
            "a business rule task needs the decision it calls: name it with "
            "spiffworkflow:calledDecisionId and deploy its .dmn file with it"
        )
    found = f"the decisions it has are {known}" if known else "add the .dmn file that has it"
    return f"calls decision {decision!r}, which no DMN file of this deploy has; {found}"


def rewrite_parser_message(message: str) -> tuple[str, bool]:
    """The parser's garbled or raw message in plain words, and whether the pre-pass names
    the same construct itself (then the parser's problem is left out)."""
    for pattern, plain in PARSER_MESSAGES:
        if pattern.search(message):
            return plain, True
    for pattern, reworded in PARSER_REWORDED:
        found = pattern.search(message)
        if found:
            return (reworded(found) if callable(reworded) else reworded), False
    return message, False
