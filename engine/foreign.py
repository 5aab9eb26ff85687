"""What diagrams from other tools carry that Dialflow does not execute, element by element.

Camunda Modeler, Zeebe, Activiti, Flowable and jBPM store execution semantics in their own
namespaces (``camunda:assignee``, ``camunda:class``, ``<zeebe:taskDefinition>``,
``<drools:onEntry-script>`` …) and write
conditions in JUEL (``${amount > 100}``) or, in Camunda 8, FEEL (``=amount > 100``).
SpiffWorkflow ignores foreign attributes and would run such a model without its assignments
or service calls, or fail late on such a condition; these checks name each such place with a
hint at the Dialflow way instead. Layout-only and tool-only extensions (modeler templates,
history settings, Signavio metadata) pass. A user task's form drawn in the diagram
(``<camunda:formData>``, ``<flowable:formProperty>``) and a Camunda 8 task's Camunda Form
become its JSON-Schema form; only what of them cannot is refused (``engine.diagram_forms``,
``engine.camunda_forms``).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine import (
    aps_decisions,
    assignment_attributes,
    call_mappings,
    camunda_decisions,
    camunda_forms,
    caught_variables,
    data_object_values,
    designer_marks,
    diagram_forms,
    event_registry,
    external_tasks,
    foreign_hints,
    foreign_loops,
    io_mappings,
    java_async,
    java_delegates,
    java_schedule,
    juel,
    listeners,
    script_hints,
    skip_expressions,
    starter_groups,
    thrown_codes,
    version_tags,
    yudao_settings,
    zeebe_decisions,
    zeebe_expressions,
    zeebe_hints,
    zeebe_jobs,
    zeebe_messages,
    zeebe_schedule,
    zeebe_tasks,
)
from engine.bpmn_xml import BPMN_NS, SAFE_XML
from engine.errors import problem
from engine.expression_names import expression_name_problem

FOREIGN_ENGINES = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://camunda.org/schema/zeebe/1.0": "zeebe",
    "http://activiti.org/bpmn": "activiti",
    "http://flowable.org/bpmn": "flowable",
    # jBPM / KIE writes it with the prefix drools: or (older designers) tns:.
    "http://www.jboss.org/drools": "drools",
    # ProcessMaker 4: who works a task (pm:assignment, pm:assignedUsers), its screen and
    # the script it runs are references into ProcessMaker's own database.
    "http://processmaker.com/BPMN/2.0/Schema.xsd": "pm",
}
LABELS = {"drools": "jBPM", "pm": "ProcessMaker"}
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Tool bookkeeping with no effect on execution.
HARMLESS = {
    "modelerTemplate",
    "modelerTemplateVersion",
    "modelerTemplateIcon",
    "versionTag",
    "historyTimeToLive",
    "isStartableInTasklist",
    "properties",
    "property",
    "diagramRelationId",
    # jBPM: the package and version a KIE project files the process under, the element's
    # label again (metaData), a data item's Java type, and the canvas' colours and dockers.
    "packageName",
    "version",
    "metaData",
    "dtype",
    "selectable",
    "dockerinfo",
    "bgcolor",
    "bordercolor",
    "color",
    # jBPM repeats on an event what its standard attributes already say: cancelActivity
    # (boundaryca) and the name of the error, escalation or message it refers to.
    "boundaryca",
    "erefname",
    "esccode",
    "msgref",
    # Flowable: which tenant's process a call activity falls back to (Dialflow has none).
    "fallbackToDefaultTenant",
    # ProcessMaker: the canvas' colours and icon, the screen shown between two tasks.
    "customIcon",
    "interstitialScreenRef",
}
# Settings that have an effect only when they differ from what Dialflow does anyway.
AS_DIALFLOW = {
    "adHoc": "false",  # jBPM: the process runs by its sequence flows
    "waitForCompletion": "true",  # jBPM: a call activity waits for the called process
    "independent": "false",  # jBPM: the called process ends with its caller
    "formFieldValidation": "true",  # Flowable: completion data is checked against the form
    "exclusive": "true",  # Activiti/Flowable: jobs of one instance run one at a time
    "autoStoreVariables": "true",  # Activiti/Flowable: a script's variables are kept
    # Flowable: the caught error's variable (errorVariableName) kept, in the path's data
    "errorVariableTransient": "false",
    "errorVariableLocalScope": "false",
    "async": "false",  # Activiti/Flowable: the step runs the task in the same transaction
    # Flowable call activities: the called process by its id, with all of the caller's data
    # and its business key, from the same deploy.
    "calledElementType": "key",
    "inheritVariables": "true",
    "inheritBusinessKey": "true",
    # Activiti/Flowable signals: thrown to every instance waiting for them, as Dialflow does
    "scope": "global",
    "sameDeployment": "true",
    # ProcessMaker: no screen between tasks, no settings, tasks kept to their owners.
    "allowInterstitial": "false",
    "config": "{}",
    "assignmentLock": "false",
    "allowReassignment": "false",
    # ProcessMaker writes it empty on every sequence flow: no start event the flow begins
    "startEvent": "",
}
HINTS = {
    "assignee": "put the task in a lane (the lane names who works it)",
    "candidateUsers": "put the task in a lane (the lane names who works it)",
    "candidateGroups": "put the task in a lane (the lane names who works it)",
    "assignmentDefinition": "put the task in a lane (the lane names who works it)",
    "formKey": "pick a JSON-Schema form (formJsonSchemaFilename)",
    "formRef": "pick a JSON-Schema form (formJsonSchemaFilename)",
    "formData": "pick a JSON-Schema form (formJsonSchemaFilename)",
    "formDefinition": "pick a JSON-Schema form (formJsonSchemaFilename)",
    "class": "choose a service operator from the handler registry",
    "delegateExpression": "choose a service operator from the handler registry",
    "expression": "choose a service operator, or use a script task",
    "type": "choose a service operator from the handler registry",
    "topic": "choose a service operator from the handler registry",
    "connector": "choose a service operator from the handler registry",
    "taskDefinition": "choose a service operator from the handler registry",
    "async": "mark a service task with the property async = true",
    "asyncBefore": "mark a service task with the property async = true",
    "asyncAfter": "mark a service task with the property async = true",
    "inputOutput": "map data with a script task",
    "ioMapping": "map data with a script task",
    "executionListener": "model the listener's work as a task",
    "taskListener": "model the listener's work as a task",
    "decisionRef": "use spiffworkflow:calledDecisionId",
    "calledDecision": "use spiffworkflow:calledDecisionId",
    "resultVariable": "set the result variable on the service operator or decision",
    "rules": "call a DMN decision table with spiffworkflow:calledDecisionId",
    "ruleVariablesInput": "call a DMN decision table with spiffworkflow:calledDecisionId",
    "taskName": "choose a service operator from the handler registry",
    "serviceimplementation": "choose a service operator from the handler registry",
    "serviceinterface": "choose a service operator from the handler registry",
    "serviceoperation": "choose a service operator from the handler registry",
    "collection": "name the list in loopDataInputRef and each item in inputDataItem",
    "elementVariable": "name the list in loopDataInputRef and each item in inputDataItem",
    "in": "Dialflow reads variable mappings on a call activity only",
    "out": "Dialflow reads variable mappings on a call activity only",
    "initiator": "Dialflow sets the starter's variable from a process's start event only",
    "independent": "a called process ends with its caller; to start one that lives on, use "
    "a service task with the operator process.start",
    "waitForCompletion": "a call activity waits for the called process; to start one without "
    "waiting, use a service task with the operator process.start",
    "inheritVariables": "a called process gets all of the caller's data",
    "onEntry-script": "model the script's work as a script task",
    "onExit-script": "model the script's work as a script task",
    "autoStoreVariables": "Dialflow keeps every variable a script sets",
    "priority": "give the task the property priority",
    "dueDate": "give the task the property dueIn (a duration such as 'PT4H') or dueAt",
    "followUpDate": "give the task the property followUpIn (a duration such as 'P1D') or "
    "followUpAt",
    "formProperty": "pick a JSON-Schema form (formJsonSchemaFilename)",
    "assignment": "put the task in a lane (the lane names who works it; outside every lane, "
    "the instance's starter works it)",
    "assignedUsers": "put the task in a lane (the lane names who works it)",
    # RuoYi-Vue-Pro (yudao) BPM: who works a task, as a strategy code and its parameter
    "candidateStrategy": "put the task in a lane (the lane names who works it: a role or a "
    "team; outside every lane, the instance's starter works it)",
    "candidateParam": "put the task in a lane (the lane names who works it: a role or a "
    "team; outside every lane, the instance's starter works it)",
    "assignedGroups": "put the task in a lane (the lane names who works it)",
    "screenRef": "pick a JSON-Schema form (formJsonSchemaFilename)",
    "scriptRef": "write the Python script in the script task itself",
    "dueIn": "give the task the property dueIn (a duration such as 'PT4H')",
    # Camunda 8 (Zeebe)
    "calledElement": "name the called process in the call activity's calledElement attribute",
    "script": "write the Python the task runs in its <script>",
    "loopCharacteristics": "name the list in loopDataInputRef and each item in inputDataItem",
    "subscription": "correlate by business key, or by a correlationProperty whose retrieval "
    "expression reads the key from the data",
    "taskHeaders": "give the operator what it needs as its parameters",
    "userTask": "Dialflow works every user task itself: remove it",
}
# Where a setting means something else on a sequence flow.
FLOW_HINTS = {
    "priority": "Dialflow takes the first true condition in the order the flows are written: "
    "write the gateway's flows in the order of their priorities, lowest first",
}
EXPRESSION_TAGS = {
    "conditionExpression",
    "timeDate",
    "timeDuration",
    "timeCycle",
    "loopCardinality",
    "completionCondition",
}
# ProcessMaker 4 writes a Python script's format as its MIME type; hand-written files give
# that type without its "text/" or Python's file extension.
PYTHON_LANGUAGES = {
    "",
    "python",
    "python3",
    "py",
    "x-python",
    "text/x-python",
    "text/python",
    "application/x-python",
    "application/python",
}
# A language named by a URI in the way jBPM names Java (http://www.java.com/java): Python's own
# site, as diagrams written for Dialflow in jBPM's style name it.
PYTHON_URI = re.compile(r"^(?:https?://)?(?:www\.)?python\.org(?:/[\w./-]*)?$")


def is_python(language: str | None) -> bool:
    """Whether a ``language`` or ``scriptFormat`` value names Python (or nothing)."""
    value = (language or "").strip().lower()
    return value in PYTHON_LANGUAGES or PYTHON_URI.match(value) is not None


JUEL = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.DOTALL)
# Camunda 8 writes every expression in FEEL with a leading "=" ("=amount > 100").
FEEL = re.compile(r"^\s*=(?!=)(.*)$", re.DOTALL)
FEEL_TEMPORAL = re.compile(r'^(?:duration|date and time|date|time)\(\s*"([^"]*)"\s*\)$')
TIMER_TAGS = {"timeDate", "timeDuration", "timeCycle"}


def foreign_problems(name: str, text: str) -> list[dict[str, Any]]:
    """One problem per foreign construct in the BPMN file ``text`` (malformed XML: none)."""
    try:
        tree = etree.fromstring(text.encode("utf-8"), SAFE_XML)
    except (etree.XMLSyntaxError, ValueError):
        return []  # reported by validation
    processes = list(tree.iter(f"{{{BPMN_NS}}}process"))
    executable = [p for p in processes if p.get("isExecutable") != "false"]
    # A collaboration's other pools (a customer, a partner) are drawn, not run: when a
    # process of the file is executable, the others are left alone.
    skipped = {id(p) for p in processes} - {id(p) for p in executable} if executable else set()
    found: list[dict[str, Any]] = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        if skipped and _inside(element, skipped):
            continue
        qname = etree.QName(element)
        if qname.namespace in FOREIGN_ENGINES:
            found += _foreign_element(name, element, qname)
            continue
        if _misspelled_spiff(element, qname):
            found.append(
                _report(
                    name,
                    element,
                    f"<{element.prefix}:{qname.localname}> on {_label(_owner(element))} is in "
                    f"the namespace {qname.namespace!r}, not SpiffWorkflow's {SPIFF_NS!r}, so "
                    "Dialflow does not read it; correct the file's xmlns:"
                    f"{element.prefix or 'spiffworkflow'} declaration",
                )
            )
            continue
        if qname.namespace != BPMN_NS:
            continue
        found += _foreign_attributes(name, element)
        if qname.localname in ("error", "escalation"):
            found += _code_expression(name, element, qname.localname, tree)
        if qname.localname in EXPRESSION_TAGS:
            found += _expression(name, element, qname.localname)
        elif qname.localname == "loopCondition" and juel.condition_body(element) is not None:
            found += _juel_condition(name, element, qname.localname)
        if qname.localname == "scriptTask":
            found += _script_format(name, element)
        if qname.localname == "userTask":
            found += [_report(name, at, said) for at, said in diagram_forms.problems(element)]
        if qname.localname in ("message", "signal"):
            named = expression_name_problem(element)
            if named:
                found.append(_report(name, element, named))
        if qname.localname == "process" and element.get("isExecutable") == "false":
            found.append(
                _report(
                    name,
                    element,
                    f'process {element.get("id")!r} is marked isExecutable="false" (the '
                    "default of some modelers); mark it executable to deploy it",
                )
            )
    return found


def _misspelled_spiff(element: Any, qname: Any) -> bool:
    """An extension element meant for SpiffWorkflow (its prefix or namespace says so) whose
    namespace is not exactly SpiffWorkflow's, as a hand-typed declaration has it (a trailing
    slash, https): SpiffWorkflow skips it, and the task was "without an operator" or ran
    without its form. The outermost such element only."""
    namespace = qname.namespace or ""
    if namespace == SPIFF_NS or not (
        element.prefix == "spiffworkflow" or "spiffworkflow.org" in namespace.lower()
    ):
        return False
    parent = element.getparent()
    return parent is None or etree.QName(parent).namespace != namespace


def _inside(element: Any, processes: set[int]) -> bool:
    node = element
    while node is not None:
        if id(node) in processes:
            return True
        node = node.getparent()
    return False


# Parts of an element that carry an id of their own but have no shape on the canvas: a
# problem in them is marked on the flow node or sequence flow that holds them.
PARTS = {
    "conditionExpression",
    "condition",
    "formalExpression",
    "expression",
    "timeDate",
    "timeDuration",
    "timeCycle",
    "loopCardinality",
    "completionCondition",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
    "ioSpecification",
    "dataInput",
    "dataOutput",
    "inputSet",
    "outputSet",
    "dataInputAssociation",
    "dataOutputAssociation",
    "property",
    "script",
    "documentation",
    "extensionElements",
    "assignment",
}


def _owner(element: Any) -> Any:
    """The nearest BPMN element with an id that the canvas shows (the one to mark)."""
    node = element
    while node is not None:
        qname = etree.QName(node)
        if (
            qname.namespace == BPMN_NS
            and node.get("id")
            and not qname.localname.endswith("EventDefinition")
            and qname.localname not in PARTS
        ):
            return node
        node = node.getparent()
    return element


def _label(element: Any) -> str:
    kind = etree.QName(element).localname
    return f"{kind} {element.get('id')!r}" if element.get("id") else kind


def _report(name: str, element: Any, message: str) -> dict[str, Any]:
    owner = _owner(element)
    return problem(
        f"{name}: {message}", element_id=owner.get("id"), line=element.sourceline, file=name
    )


def _prefix(element: Any, namespace: str, engine: str) -> str:
    """The prefix the file writes ``namespace`` with (Camunda 7.0-7.3 wrote ``camunda:`` for
    Activiti's namespace), so the message names what the file holds; else the engine's."""
    if element.prefix and etree.QName(element).namespace == namespace:
        return element.prefix
    written = [p for p, uri in (element.nsmap or {}).items() if uri == namespace and p]
    return engine if engine in written or not written else written[0]


def _engine_label(engine: str) -> str:
    return LABELS.get(engine, engine.capitalize())


def _hint(local: str, element: Any, value: str | None = None) -> str:
    owner = _owner(element)
    flow = etree.QName(owner).localname == "sequenceFlow"
    zeebe = value is None and etree.QName(element).namespace == zeebe_hints.ZEEBE_NS
    hint = (
        (FLOW_HINTS.get(local) if flow else None)
        or foreign_hints.signal_hint(local, owner)
        or call_mappings.hint(element)
        or io_mappings.hint(element)
        or (zeebe_tasks.mapping_hint(element) if zeebe else None)
        or (zeebe_messages.hint_for(element) if zeebe else None)
        or (zeebe_schedule.hint_for(element) if zeebe else None)
        or (zeebe_jobs.listener_problem(element) if zeebe else None)
        or event_registry.hint(element)
        or external_tasks.error_hint(element)
        or (zeebe_expressions.script_hint(element) if zeebe else None)
        or (zeebe_hints.hint_for(element) if zeebe else None)
        or foreign_loops.hint(local, element)
        or (listeners.hint(element) if value is None else None)
        or (yudao_settings.hint(element) if value is None else None)
        or (data_object_values.hint(element) if local == "value" else None)
        or diagram_forms.form_hint(local, owner, value)
        or (assignment_attributes.hint(local, owner, value) if value is not None else None)
        or (java_schedule.hint(local, owner, value) if value is not None else None)
        or java_delegates.hint(local, owner, value)
        or foreign_hints.hint_for(local, owner, value)
        or HINTS.get(local)
    )
    return f"; {hint}" if hint else ""


def _foreign_attributes(name: str, element: Any) -> list[dict[str, Any]]:
    found = []
    for attribute, value in element.attrib.items():
        qname = etree.QName(attribute)
        engine = FOREIGN_ENGINES.get(qname.namespace or "")
        if engine is None or qname.localname in HARMLESS:
            continue
        if designer_marks.attribute_passes(attribute, value):
            continue  # an admin system's page setting: Flowable never reads it
        if qname.namespace == camunda_forms.CAMUNDA_NS:
            form_ref = camunda_forms.form_ref_passes(qname.localname, element)
            if form_ref is True:
                continue  # a Camunda 7 user task's .form file: its form (``camunda_forms``)
            if isinstance(form_ref, str):
                found.append(_report(name, element, f"{_label(element)}: {form_ref}"))
                continue
        if AS_DIALFLOW.get(qname.localname) == value.strip().lower():
            continue
        if qname.namespace == version_tags.CAMUNDA_NS and version_tags.camunda_passes(
            qname.localname, element
        ):
            continue  # a call bound by version tag: the newest version carrying it
        if foreign_hints.honoured(qname.localname, element, value):
            continue
        if starter_groups.passes(qname.namespace or "", qname.localname, element):
            continue  # candidate starters: a deploy warning (``engine.starter_groups``)
        if caught_variables.runs(qname.namespace or "", qname.localname, element, value):
            continue  # the variables a caught error's path finds it in: set
        if skip_expressions.runs(attribute, element, value):
            continue  # the gateway around the task is drawn (``engine.skip_expressions``)
        if qname.namespace in assignment_attributes.JAVA_ENGINES and assignment_attributes.runs(
            qname.localname, element, value
        ):
            continue  # who works the user task: run as drawn
        if qname.namespace == external_tasks.CAMUNDA_NS and external_tasks.runs(
            qname.localname, element
        ):
            continue  # an external task whose topic is an operator: Dialflow runs it
        if qname.namespace in java_async.JAVA_ENGINES and java_async.honoured(
            qname.localname, element, value
        ):
            continue  # a transaction setting: Dialflow saves every step (a worker's if async)
        if qname.namespace in assignment_attributes.JAVA_ENGINES and camunda_decisions.runs(
            qname.localname, element
        ):
            continue  # a business rule task's decision and result variable: run
        if qname.namespace == aps_decisions.ACTIVITI_NS and aps_decisions.runs(
            qname.localname, element
        ):
            continue  # an APS decision task: its table runs
        if qname.namespace in assignment_attributes.JAVA_ENGINES and java_schedule.runs(
            qname.localname, element, value
        ):
            continue  # a user task's due date or priority: kept
        if qname.namespace in foreign_loops.JAVA_ENGINES and foreign_loops.runs(
            qname.localname, element
        ):
            continue  # a multi-instance collection and its element variable: run
        if (
            qname.localname == "inheritVariables"
            and element.tag == f"{{{BPMN_NS}}}callActivity"
            and call_mappings.maps_variables(element)
        ):
            continue  # the called process gets what the mappings give it
        found.append(
            _report(
                name,
                element,
                f"{_prefix(element, qname.namespace, engine)}:{qname.localname}={value!r} on "
                f"{_label(_owner(element))} is "
                f"{_engine_label(engine)}-specific and Dialflow does not execute it"
                f"{_hint(qname.localname, element, value)}",
            )
        )
    return found


def _foreign_element(name: str, element: Any, qname: Any) -> list[dict[str, Any]]:
    engine = FOREIGN_ENGINES[qname.namespace]
    parent = element.getparent()
    uncomputed = external_tasks.uncomputed(element)
    if uncomputed is not None:  # the one value an external task cannot compute
        return [_report(name, element, uncomputed)]
    form = camunda_forms.problems(name, element)
    if form is not None:  # a Camunda 8 form: converted, or refused on its field's line
        return form
    if (
        qname.localname in HARMLESS
        or designer_marks.element_passes(element)  # an approval page's setting
        or yudao_settings.passes(element)  # yudao asks for what Dialflow does
        or (parent is not None and etree.QName(parent).namespace == qname.namespace)
        or foreign_hints.as_dialflow(element)
        or call_mappings.runs(element)  # a call activity's variable mappings: run
        or io_mappings.runs(element)  # an activity's or event's own mappings: run
        or zeebe_hints.as_dialflow(element)
        or zeebe_hints.said_elsewhere(element)  # an ad-hoc subprocess's: it is refused
        or zeebe_tasks.adopted(element)  # a job worker naming an operator: runs it
        or zeebe_jobs.adopted(element)  # listeners naming operators: service tasks
        or external_tasks.adopted(element)  # a Camunda 7 external task's parameters: run
        or event_registry.adopted(element)  # a Flowable event registry start: a message's
        or zeebe_messages.adopted(element)  # a message's key: its catches match by it
        or zeebe_schedule.adopted(element)  # a user task's due date or priority: kept
        or zeebe_decisions.adopted(element)  # a decision and its result variable: run
        or aps_decisions.adopted(element)  # an APS decision task's table: run
        or assignment_attributes.adopted(element)  # who works a user task: run
        or foreign_loops.adopted(element)  # a multi-instance collection: run
        or diagram_forms.is_drawn_form(element)  # a user task's form: converted
        or listeners.adopted(element)  # a listener that sets a variable: a script
        or data_object_values.adopted(element)  # a data object's value: set at the start
        or zeebe_expressions.adopted(element)  # a FEEL script task: its Python runs
    ):
        return []  # report the outermost foreign element only
    return [
        _report(
            name,
            # a mapping inside it: on its own line
            io_mappings.problem_at(call_mappings.problem_at(element)),
            f"<{_prefix(element, qname.namespace, engine)}:{qname.localname}> on "
            f"{_label(_owner(element))} is "
            f"{_engine_label(engine)}-specific and Dialflow does not execute it"
            f"{_hint(qname.localname, element)}",
        )
    ]


def _expression(name: str, element: Any, local: str) -> list[dict[str, Any]]:
    if juel.condition_body(element) is not None:
        return _juel_condition(name, element, local)
    found = []
    body = (element.text or "").strip()
    language = (element.get("language") or "").strip().lower()
    if not is_python(language):
        found.append(
            _report(
                name,
                element,
                f"{local} of {_label(_owner(element))} is written in {element.get('language')!r}; "
                "Dialflow evaluates Python expressions: write it in Python and leave out its "
                "language attribute",
            )
        )
    feel = FEEL.match(body)
    if (
        feel
        and foreign_loops.feel_condition(element) is None
        and not zeebe_expressions.expression_runs(element)
    ):  # one that runs: not refused
        found.append(
            _report(
                name,
                element,
                f"{local} {body!r} of {_label(_owner(element))} is a FEEL expression (Camunda 8)"
                f"{_untranslated(body)}; "
                f"Dialflow evaluates Python: {_feel_hint(feel.group(1).strip(), local)}",
            )
        )
    written = JUEL.match(body)
    if written:
        found.append(
            _report(
                name,
                element,
                f"{local} {body!r} of {_label(_owner(element))} is a JUEL expression; Dialflow "
                f"evaluates Python: {_juel_hint(written.group(1), local)}",
            )
        )
    return found


def _untranslated(body: str) -> str:
    """The part of a FEEL expression that keeps it from running, when one does."""
    if zeebe_expressions.python(body) is not None:
        return ""  # it runs elsewhere (a sequence flow's condition), not here
    return f" holding {zeebe_expressions.untranslated(body)}"


def _juel_condition(name: str, element: Any, local: str) -> list[dict[str, Any]]:
    """A JUEL condition (``engine.juel``) runs as drawn; one outside what runs is refused
    with why and what to write."""
    why = juel.translation_problem(element)
    if why is None:
        return []
    body = (element.text or "").strip()
    found = juel.condition_body(element) or ""
    return [
        _report(
            name,
            element,
            f"{local} {body!r} of {_label(_owner(element))} is a JUEL expression Dialflow does "
            f"not run ({why}); Dialflow runs JUEL conditions, timers and cardinalities over "
            "variables, literals and "
            f"EL's operators, and Python: {_juel_hint(found, local)}",
        )
    ]


def _code_expression(name: str, element: Any, kind: str, tree: Any) -> list[dict[str, Any]]:
    """An ``errorCode`` or ``escalationCode`` written as a JUEL ``${…}`` or FEEL ``=…``
    expression, as Camunda lets a throw compute its code: SpiffWorkflow compares codes as
    written, so a catch of the code the expression means never took it. Said on the
    declaration, with the events that use it."""
    attribute = f"{kind}Code"
    code = (element.get(attribute) or "").strip()
    if not is_juel(code) or not element.get("id") or thrown_codes.runs(element):
        return []  # a FEEL code only throws name: computed when thrown
    ref = f"{kind}Ref"
    users = sorted(
        {
            _shown(definition).get("id") or "?"
            for definition in tree.iter(f"{{{BPMN_NS}}}{kind}EventDefinition")
            if (definition.get(ref) or "").rsplit(":", 1)[-1] == element.get("id")
        }
    )
    used = f" (thrown or caught by {', '.join(repr(u) for u in users)})" if users else ""
    if FEEL.match(code) and zeebe_expressions.python(code) is None:
        return [
            _report(
                name,
                element,
                f"{kind} {element.get('id')!r}{used} has {attribute} {code!r}, a FEEL "
                f"expression holding {zeebe_expressions.untranslated(code)}, so its code "
                "cannot be computed when it is thrown: write the code itself, such as "
                f'{attribute}="late", or an expression over the data with FEEL\'s operators '
                "and string, list and number functions",
            )
        ]
    return [
        _report(
            name,
            element,
            f"{kind} {element.get('id')!r}{used} has {attribute} {code!r}, an expression; "
            "Dialflow evaluates no expression there and compares codes as written, so a "
            f"catch of the code it means would never take it: write the code itself, such "
            f'as {attribute}="late", and one {kind} per code',
        )
    ]


def _shown(element: Any) -> Any:
    """The element the canvas shows for ``element`` (itself when none is)."""
    owner = _owner(element)
    return owner if owner is not None else element


def _juel_hint(body: str, local: str = "") -> str:
    """What to write instead of the JUEL ``body``: its Python, or why there is none. A
    completion condition reads the multi-instance counters ``nrOfInstances``,
    ``nrOfCompletedInstances`` and ``nrOfActiveInstances`` (``engine.multi_instance``): the
    hint said Dialflow did not set them, and suggested no Python."""
    names = juel.engine_names(body)
    if local == "completionCondition":
        names = [name for name in names if name not in juel.COUNTERS]
    if names:
        listed = ", ".join(names)
        return (
            f"{listed} {'is' if len(names) == 1 else 'are'} set by the Java engines and not by "
            "Dialflow; write a Python expression over the process's own data instead"
        )
    python = juel.to_python(body)
    if python is None:
        return "rewrite it as a Python expression over the process's data"
    return f"write {python!r}"


def _script_format(name: str, element: Any) -> list[dict[str, Any]]:
    script_format = (element.get("scriptFormat") or "").strip().lower()
    if is_python(script_format):
        return []
    script = element.find(f"{{{BPMN_NS}}}script")
    python = (
        script_hints.python_for(script.text or "", script_format) if script is not None else None
    )
    if python is not None:
        hint = f"; in Python it reads:\n{python}"
    else:
        hint = (
            "; rewrite it in Python, where the process's data are plain variables: "
            "assign one to set it (score = 10), read it by its name"
        )
    return [
        _report(
            name,
            element,
            f"script of {_label(element)} is {element.get('scriptFormat')!r}; Dialflow runs "
            f"Python scripts{hint}",
        )
    ]


def is_reported(other: dict[str, Any], foreign: list[dict[str, Any]]) -> bool:
    """True when ``other`` (a parser problem) says again what a foreign problem said: that an
    element is not executable, that a service task has no operator where its operator was
    written in a misspelled SpiffWorkflow namespace, or that a call activity, business rule
    task or script task names no process, decision or script where Zeebe's element names it."""
    message = other.get("message", "")
    same = [f for f in foreign if f.get("element_id") == other.get("element_id")]
    if "must have an operator" in message:  # or a Zeebe job worker that is not adopted
        return any(
            marker in f["message"]
            for f in same
            for marker in (
                ":serviceTaskOperator> ",
                ":taskDefinition> ",
                ":ioMapping> ",
                ":connector> ",
                "Dialflow runs no Java",
            )
        )
    # a Camunda 8 export names the called process or decision in its own element only
    if "a call activity names the process it calls" in message:
        return any(":calledElement> " in f["message"] for f in same)
    if "a business rule task needs the decision it calls" in message:
        return any(":calledDecision> " in f["message"] for f in same)
    if "has no script; write the Python it runs" in message:
        return any(":script> " in f["message"] for f in same)
    # a multi-instance collection written as another engine's that does not run
    if "must specify a cardinality or a loop input data reference" in message:
        return any(
            marker in f["message"]
            for f in same
            for marker in (":collection=", ":loopCharacteristics> ")
        )
    return "is not executable" in message and bool(same)


def is_juel(expression: str) -> bool:
    """True for JUEL ``${…}`` / ``#{…}`` and FEEL ``=…``: reported here, so the Python checks
    skip it."""
    return bool(JUEL.match(expression or "") or FEEL.match(expression or ""))


def _feel_hint(expression: str, local: str = "") -> str:
    """What to write instead of the FEEL expression: its Python (``zeebe_hints``); in a
    timer, a FEEL literal (``duration("P7D")``, ``date and time("…")``) is its quoted ISO text,
    which is what a Python timer expression evaluates to (``"P7D"``)."""
    literal = FEEL_TEMPORAL.match(expression)
    if local in TIMER_TAGS and literal:
        return "write " + repr(f'"{literal.group(1)}"')
    python = zeebe_hints.feel_to_python(expression)
    if python is None:
        return "rewrite it as a Python expression over the process's data"
    return f"write {python!r}"
