"""The Dialflow way for a Camunda 7, Activiti or Flowable setting, where it depends on the
element that carries it or on the setting's value.

``foreign.py`` names every such setting with one hint per name; that hint was wrong or missing
for the ones teams bring most: ``asyncBefore`` on a start event or user task was told to mark
"a service task" async, ``flowable:type="dmn"`` to "choose a service operator" (a decision is a
business rule task), ``assignee="${initiator}"`` (Activiti's modeler: ``$INITIATOR``) to put
the task in a lane (outside every lane the starter already works it), a business rule task's
``resultVariable`` to set it "on the service operator or decision", and ``skipExpression``,
``triggerable``, retry cycles, ``exclusive="false"``, starter groups and decision or process
bindings had no hint at all.

A call activity's ``<camunda:in variables="all"/>``, ``<camunda:out variables="all"/>`` and
``<camunda:in businessKey="…"/>`` say what a Dialflow call activity does anyway (the called
process gets all of the caller's data, the caller gets all of its data back, one business
key for both), so they pass (``as_dialflow``). So do assignments that say what the drawing
makes Dialflow do (``honoured``): ``candidateGroups`` naming the task's own lane, the
instance's starter as the assignee of a task outside every lane, and a process start event's
``initiator``, whose variable Dialflow sets to the starter's username (``engine.starter``).
(A signal's ``scope="global"`` is in ``foreign.AS_DIALFLOW``: Dialflow's signals reach every
instance.)
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any

from lxml import etree

from engine.assignment_attributes import split_list
from engine.bpmn_xml import BPMN_NS
from engine.starter import initiator_variable, sets_starter
from engine.subprocess_lanes import own_lanes

_HUMAN = {"userTask", "manualTask"}
_ROLES = ("agent", "manager", "director", "process_owner", "admin")
_ONE_NAME = re.compile(r"^\s*[$#]\{\s*([A-Za-z_]\w*)\s*\}\s*$")
_ALL_VARIABLES = {"in", "out"}
_SERVICE_TYPES = {
    "dmn": "draw a business rule task with spiffworkflow:calledDecisionId naming the decision",
    "mail": "use a service task with the operator notify.user",
    "external": "choose a service operator from the handler registry (Dialflow runs it "
    "itself, no external worker fetches it)",
}


def as_dialflow(element: Any) -> bool:
    """True for a call activity mapping that says what Dialflow does anyway (the same mapping
    on a signal is no call activity's: ``hint_for``)."""
    qname = etree.QName(element)
    if qname.localname not in _ALL_VARIABLES or element.get("local", "false") != "false":
        return False
    holder = element.getparent()
    holder = holder.getparent() if holder is not None else None
    if holder is None or holder.tag != f"{{{BPMN_NS}}}callActivity":
        return False
    keys = set(element.attrib) - {"local"}
    if keys == {"variables"}:
        return element.get("variables") == "all"
    return qname.localname == "in" and keys == {"businessKey"}


def honoured(local: str, owner: Any, value: str) -> bool:
    """True for an assignment that says what the drawing makes Dialflow do anyway: candidate
    groups naming only the task's lane, the starter as assignee of a task outside every lane
    (``${initiator}``, Activiti's ``$INITIATOR``), and a process's start event's ``initiator``
    (Dialflow sets that variable to the starter: ``engine.starter``)."""
    kind = etree.QName(owner).localname
    if local == "candidateGroups" and kind in _HUMAN:
        lane = lane_of(owner)
        group = value.strip()
        if lane is None:  # the role named is the task's lane (``candidate_roles``)
            return group.lower() in _ROLES and role_named(owner) == group.lower()
        return lane == group or (lane.lower() in _ROLES and lane.lower() == group.lower())
    if local == "assignee" and kind in _HUMAN:
        return _is_starter(owner, value) and lane_of(owner) is None
    if local == "initiator" and kind == "startEvent":
        return initiator_variable(owner) == value.strip() and sets_starter(owner, value.strip())
    if local == "priority" and kind == "sequenceFlow":
        return _priority_as_written(owner)
    if local == "config":
        return _no_settings(value)
    if local == "scriptRef" and kind == "scriptTask":
        # ProcessMaker's stored script, written out in the task itself: the task runs that
        script = owner.find(f"{{{BPMN_NS}}}script")
        return script is not None and bool((script.text or "").strip())
    # jBPM's name of a human task: Dialflow names it by its own name
    return local == "taskName" and kind in _HUMAN


def _no_settings(value: str) -> bool:
    """Whether a ProcessMaker ``pm:config`` sets nothing: ``{}``, or every setting empty
    (``{"web_entry":null}``, as ProcessMaker writes a task without a web entry)."""
    try:
        settings = json.loads(value)
    except ValueError:
        return False
    return isinstance(settings, dict) and all(v in (None, "", [], {}) for v in settings.values())


def _priority_as_written(flow: Any) -> bool:
    """Whether a sequence flow's jBPM ``priority`` (Eclipse BPMN2 Modeler writes
    ``tns:priority="1"`` on every flow) orders nothing Dialflow would order otherwise: it
    matters only on a conditional flow out of an exclusive gateway, where jBPM tries the
    conditions by priority, lowest first, and Dialflow in the order the flows are written;
    the two agree when the priorities of those flows never fall in that order. A flow after
    one of a higher priority is refused (said where the order breaks)."""
    scope = flow.getparent()
    if scope is None:
        return False
    source_id = flow.get("sourceRef")
    source = next((el for el in scope if el.get("id") == source_id), None)
    if source is None or etree.QName(source).localname != "exclusiveGateway":
        return True
    conditional = [
        f
        for f in scope
        if f.tag == flow.tag
        and f.get("sourceRef") == source_id
        and f.find(f"{{{BPMN_NS}}}conditionExpression") is not None
    ]
    if flow not in conditional:
        return True  # the default flow, or one without a condition: taken last either way
    priorities = [_priority(f) for f in conditional]
    if any(p is None for p in priorities):
        return False
    mine = priorities[conditional.index(flow)]
    return all(earlier <= mine for earlier in priorities[: conditional.index(flow)])


def _priority(flow: Any) -> int | None:
    for attribute, value in flow.attrib.items():
        if etree.QName(attribute).localname == "priority":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


_CANDIDATE_GROUPS = tuple(
    f"{{{namespace}}}candidateGroups"
    for namespace in (
        "http://camunda.org/schema/1.0/bpmn",
        "http://activiti.org/bpmn",
        "http://flowable.org/bpmn",
    )
)


def candidate_roles(scope: Any) -> dict[str, str]:
    """The user and manual tasks of ``scope`` (a process or subprocess element) that are in
    no lane and whose ``camunda:candidateGroups`` (Activiti's, Flowable's), or one
    ``<bpmn:potentialOwner>`` (``owner_role``), names one of Dialflow's roles, by id → that
    role: such a task runs as if in a lane of that name (its role works it), as chat
    assistants write the role on a task of a process without lanes; without it the
    instance's starter worked it. One group naming no role, or several, is refused with the
    lane to draw (``hint_for``, ``constructs``)."""
    found: dict[str, str] = {}
    for kind in _HUMAN:
        for task in scope.iter(f"{{{BPMN_NS}}}{kind}"):
            if not task.get("id") or lane_of(task) is not None:
                continue
            if (role := role_named(task)) is not None:
                found[task.get("id")] = role
    return found


def role_named(task: Any) -> str | None:
    """The one Dialflow role a task's ``candidateGroups`` and its one ``potentialOwner`` (or
    ``humanPerformer``) name; None when they name none or disagree (``candidateGroups="agent"``
    beside a potential owner ``manager``): the task was given to the last one read, and the
    other was dropped without a word. Each is then refused with the lane to draw."""
    named: set[str | None] = set()
    for attribute in _CANDIDATE_GROUPS:
        if group := (task.get(attribute) or "").strip().lower():
            named.add(group)
    owners = [c for c in task if isinstance(c.tag, str) and c.tag in _OWNER_TAGS]
    if len(owners) > 1:
        return None
    if owners and (owner := owner_role(owners[0])) is not None:
        named.add(owner)  # one naming no role is refused on its own
    role = named.pop() if len(named) == 1 else None
    return role if role in _ROLES else None


_OWNER_TAGS = {f"{{{BPMN_NS}}}potentialOwner", f"{{{BPMN_NS}}}humanPerformer"}


def owner_role(owner: Any) -> str | None:
    """The Dialflow role a ``<bpmn:potentialOwner>`` (or ``<bpmn:humanPerformer>``) names in
    its ``<resourceAssignmentExpression><formalExpression>`` (``manager``, ``'manager'``), as
    assistants write BPMN's own way of giving a task to a group; None for anything else."""
    expressions = list(owner.iter(f"{{{BPMN_NS}}}formalExpression"))
    if len(expressions) != 1 or owner.get("resourceRef"):
        return None
    text = (expressions[0].text or "").strip().strip("'\"").strip().lower()
    return text if text in _ROLES else None


def honoured_owner(task: Any, owner: Any) -> bool:
    """Whether a task's one ``potentialOwner`` or ``humanPerformer`` names a role that works
    it: the task is in no lane (it runs in that role's, ``candidate_roles``) or in a lane of
    that role's name."""
    role = owner_role(owner)
    owners = [c for c in task if isinstance(c.tag, str) and c.tag in _OWNER_TAGS]
    if role is None or len(owners) != 1:
        return False
    lane = lane_of(task)
    if lane is None:
        return role_named(task) == role
    return lane.strip().lower() == role


def lane_of(element: Any) -> str | None:
    """The name of the lane ``element`` runs in (the innermost listing it, else the one of
    the subprocess around it), as ``work_items`` gives its candidates; ``None``: no lane."""
    node = element
    while node is not None:
        scope = node.getparent()
        if scope is None or etree.QName(scope).namespace != BPMN_NS:
            return None
        lane = own_lanes(scope).get(node.get("id") or "")
        if lane is not None:
            return (lane.get("name") or "").strip()
        if etree.QName(scope).localname == "process":
            return None
        node = scope
    return None


def _is_starter(owner: Any, value: str) -> bool:
    name = _ONE_NAME.match(value)
    return value.strip() == "$INITIATOR" or bool(name and name.group(1) in _initiator_names(owner))


def hint_for(local: str, owner: Any, value: str | None) -> str | None:
    """The hint for the foreign setting ``local`` (of value ``value``, ``None`` for an
    element) on ``owner``, the BPMN element that carries it; ``None``: the general hint."""
    kind = etree.QName(owner).localname
    if local in ("async", "asyncBefore", "asyncAfter") and kind != "serviceTask":
        return (
            "remove it: Dialflow saves each step of an instance in its own transaction; only "
            "a service task can be left to a worker (its property async = true)"
        )
    if local == "type" and value is not None:
        return _SERVICE_TYPES.get(value.strip().lower())
    if local == "field" and kind == "serviceTask":
        if any(_is_dmn_type(a, v) for a, v in owner.attrib.items()):
            return "name the decision in a business rule task's spiffworkflow:calledDecisionId"
        return "give the operator what it needs as spiffworkflow:parameters"
    if local == "connector" and value is None:
        return _connector_hint(owner)
    if local == "assignee" and value is not None:
        return _assignee(owner, value)
    if local == "dueIn" and value is not None and value.strip().isdigit():
        # ProcessMaker counts a task's due time in hours
        return f"give the task the property dueIn = 'PT{int(value.strip())}H'"
    if local == "initiator" and kind == "startEvent" and value is not None:
        return _initiator(owner, value.strip())
    if local in ("candidateGroups", "candidateUsers") and value is not None:
        return _candidates(local, value)
    if local in ("resultVariable", "mapDecisionResult") and kind == "businessRuleTask":
        return (
            "remove it: the decision's outputs become variables named after its output "
            "columns (the output's name)"
        )
    if local == "skipExpression" and kind.endswith("Event"):
        return (
            "Dialflow runs a skip expression on an activity only: remove it from the event, "
            "or draw an exclusive gateway whose default flow goes around what is skipped"
        )
    if local == "resultVariable" and kind == "scriptTask":
        return "assign the result in the script itself (result = …)"
    if local == "resultVariable":
        return "name it in spiffworkflow:serviceTaskOperator's resultVariable"
    return _FIXED.get(local)


_THROWING = ("endEvent", "intermediateThrowEvent")


def signal_hint(local: str, owner: Any) -> str | None:
    """What a signal carries in Dialflow, for the data a Camunda 7 ``<camunda:in>`` or a
    Camunda 8 ``<zeebe:ioMapping>`` gives a signal event: Camunda copies the variables named
    (``variables="all"``: every one) into each instance the signal reaches; Dialflow's signal
    carries its payload expression only, so such a diagram deployed and every catch got
    nothing (``variables="all"`` passed as a call activity's would). Copying the thrower's
    whole data into every instance a broadcast reaches would overwrite each one's own
    customer and deal, so the fields are named instead. ``None`` on what is no signal
    event."""
    definition = owner.find(f"{{{BPMN_NS}}}signalEventDefinition")
    if local not in (*_ALL_VARIABLES, "ioMapping") or definition is None:
        return None
    if local == "ioMapping" and etree.QName(owner).localname in _THROWING:
        return None  # a throw's inputs are what its signal carries (``signal_inputs``)
    ref = definition.get("signalRef")
    signal = f'<bpmn:signal id="{ref}">' if ref else "the <bpmn:signal>"
    return (
        "a Dialflow signal carries what spiffworkflow:payloadExpression in the "
        f"extensionElements of {signal} evaluates to, and each instance it reaches gets those "
        'fields: name the ones to pass, such as {"reason": reason}, rather than copying '
        "the thrower's data into every instance"
    )


def _is_dmn_type(attribute: str, value: str) -> bool:
    return etree.QName(attribute).localname == "type" and value.strip().lower() == "dmn"


def _assignee(owner: Any, value: str) -> str:
    name = _ONE_NAME.match(value)
    # Activiti's modeler writes the starter as $INITIATOR (with modeler:activiti-idm-initiator)
    if value.strip() == "$INITIATOR" or (name and name.group(1) in _initiator_names(owner)):
        return (
            "remove it and draw the task outside every lane: Dialflow gives such a task to "
            "whoever started the instance"
        )
    who = name.group(1) if name else repr(value.strip())
    return (
        "put the task in a lane and name who works it in the data before it: lane_owners = "
        f"{{'<lane name>': {who}}} (a username)"
    )


def _initiator(start: Any, variable: str) -> str:
    """Why a start event's ``initiator`` Dialflow does not set is refused (``sets_starter``)."""
    if not variable.isidentifier() or keyword.iskeyword(variable):
        return (
            f"name the variable the starter's username goes in with a Python name, not {variable!r}"
        )
    return (
        "remove it: Dialflow sets the starter's variable from a process's start event only "
        "(a subprocess sees the process's data, that variable included)"
    )


def _candidates(local: str, value: str) -> str:
    entries = split_list(value, people=local != "candidateGroups")
    if local == "candidateGroups":
        roles = [e for e in entries if e.lower() in _ROLES]
        if roles and len(roles) == len(entries) == 1:
            return f"put the task in a lane named {roles[0].lower()!r} (a role or team name)"
        return (
            "put the task in a lane named after the role or team that works it (agent, "
            "manager, director or a team's name); several groups: lane_owners = "
            f"{{'<lane name>': {['group:' + e for e in entries]!r}}}"
        )
    users = ", ".join(_as_python(e) for e in entries)
    return (
        "put the task in a lane and name the users in the data before it: lane_owners = "
        f"{{'<lane name>': [{users}]}}"
    )


def _as_python(entry: str) -> str:
    """A candidate as Python: ``${salesRep}`` the variable, a username its text."""
    name = _ONE_NAME.match(entry)
    return name.group(1) if name else repr(entry)


def _initiator_names(owner: Any) -> set[str]:
    """The variables the file's start events store the starter in (``camunda:initiator``)."""
    names = {"initiator"}
    for start in owner.getroottree().iter(f"{{{BPMN_NS}}}startEvent"):
        for attribute, value in start.attrib.items():
            if etree.QName(attribute).localname == "initiator":
                names.add(value.strip())
    return names


_CAUGHT = (
    "remove it: after a failing script or service task the catch's path reads error_code and "
    "error_message; an error end event's code is the one its catch names"
)
_FIXED = {
    "errorCodeVariable": _CAUGHT,
    "errorMessageVariable": _CAUGHT,
    "errorVariableName": _CAUGHT,
    "escalationCodeVariable": "remove it: the escalation caught is the one its catch names",
    "category": "remove it: Dialflow files a task under its process",
    "scope": "Dialflow's signals reach every instance waiting for them; to reach this "
    "instance only, send a message correlated by its business key",
    "candidateStarterGroups": "remove it: whoever may use the API may start an instance",
    "candidateStarterUsers": "remove it: whoever may use the API may start an instance",
    "skipExpression": "Dialflow runs a skip expression that is a JUEL condition over the "
    "process's variables, on a task with one unconditional outgoing flow; otherwise draw an "
    "exclusive gateway before the task whose default flow goes around it",
    "triggerable": "wait for the answer with a receive task or message catch event after it",
    "failedJobRetryTimeCycle": 'retry the operator with <spiffworkflow:retry retries="3" '
    'backoff_base="2"/> inside its spiffworkflow:serviceTaskOperator',
    "exclusive": "remove it: Dialflow runs one step of an instance at a time",
    "decisionRefBinding": "remove it: a version calls the decision deployed with it",
    "decisionRefVersion": "remove it: a version calls the decision deployed with it",
    "decisionRefVersionTag": "remove it: a version calls the decision deployed with it",
    "calledElementBinding": "remove it: a call activity calls the version of the process "
    "current when it was deployed",
    "calledElementVersion": "remove it: a call activity calls the version of the process "
    "current when it was deployed",
    "calledElementVersionTag": "remove it: a call activity calls the version of the process "
    "current when it was deployed",
}


_HTTP_CONNECTORS = {"http-connector", "soap-http-connector"}


def _connector_hint(owner: Any) -> str | None:
    """Camunda 7's HTTP connector: a call to a web address, which no Dialflow diagram makes."""
    ids = {
        (element.text or "").strip()
        for element in owner.iter()
        if isinstance(element.tag, str) and etree.QName(element).localname == "connectorId"
    }
    if not ids & _HTTP_CONNECTORS:
        return None
    return (
        "Dialflow calls no web address from a diagram: name the handler that does the work "
        "with <spiffworkflow:serviceTaskOperator> (such as crm.add_note), and to tell another "
        "system, subscribe a webhook to the event (task.completed, process_instance.completed)"
    )
