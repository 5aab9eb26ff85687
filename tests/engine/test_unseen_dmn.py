"""Decision tables as Camunda 7/8 Modeler, Trisotech, Signavio and Kogito write them, each
called from a business rule task of a small telesales process, deployed through the API and
run with several inputs: the outputs the decision sets and the path the process takes.

Before, these ran wrongly or were refused though they could run: COLLECT with SUM, MIN, MAX
or COUNT was refused; an output's ``<defaultOutputEntry>`` was ignored (null instead); an
input expression ``lead.amount`` or ``count(items)`` failed at run time; ``starts with(?,
"138")`` and ``date("2026-01-01")`` comparisons were refused; a file written under the
``semantic:`` prefix with no default namespace failed with "XPathEvalError" on no element; a
file of several decisions (a decision requirements graph) was refused; an output ``"big"``
under ``typeRef="number"`` deployed.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest

from tests.engine.conftest import Actor, by_element, refused
from tests.engine.diagram_folders import line_in, nothing_deployed

# -- the process around a decision -------------------------------------------------------------


def sales_process(process_id: str, decisions: list[str], routes: list[tuple[str, str]]) -> bytes:
    """bpmn.io's style: start → one business rule task per decision → an exclusive gateway
    whose flows (Python conditions; the last route its default) lead to one user task each."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
        ' id="Definitions_sales" targetNamespace="http://bpmn.io/schema/bpmn"'
        ' exporter="Camunda Modeler" exporterVersion="5.16.0">',
        f'  <bpmn:process id="{process_id}" isExecutable="true">',
        '    <bpmn:startEvent id="start" />',
    ]
    previous = "start"
    for index, decision in enumerate(decisions):
        lines += [
            f'    <bpmn:businessRuleTask id="decide_{index}" name="{decision}">',
            "      <bpmn:extensionElements>",
            f"        <spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>",
            "      </bpmn:extensionElements>",
            "    </bpmn:businessRuleTask>",
            f'    <bpmn:sequenceFlow id="to_{index}" sourceRef="{previous}" '
            f'targetRef="decide_{index}" />',
        ]
        previous = f"decide_{index}"
    default = routes[-1][0]
    lines += [
        f'    <bpmn:exclusiveGateway id="route" default="to_{default}" />',
        f'    <bpmn:sequenceFlow id="to_route" sourceRef="{previous}" targetRef="route" />',
    ]
    for task, condition in routes:
        lines += [
            f'    <bpmn:userTask id="{task}" />',
            f'    <bpmn:endEvent id="end_{task}" />',
            f'    <bpmn:sequenceFlow id="done_{task}" sourceRef="{task}" targetRef="end_{task}" />',
        ]
        if task == default:
            lines.append(
                f'    <bpmn:sequenceFlow id="to_{task}" sourceRef="route" targetRef="{task}" />'
            )
        else:
            lines += [
                f'    <bpmn:sequenceFlow id="to_{task}" sourceRef="route" targetRef="{task}">',
                '      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                f"{condition}</bpmn:conditionExpression>",
                "    </bpmn:sequenceFlow>",
            ]
    lines += ["  </bpmn:process>", "</bpmn:definitions>", ""]
    return "\n".join(lines).encode()


def deploy(owner: Actor, files: list[tuple[str, bytes]]) -> Any:
    return owner.post(
        "/api/v1/process-models",
        data={"file": [(BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data",
    )


def run(agent: Actor, process_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The instance's data after the decisions, and the user task it waits at."""
    started = agent.start(process_id, data)
    assert started["incidents"] == [], started["incidents"]
    (task,) = started["ready_tasks"]
    return started["data"], task["name"]


# -- Camunda 7 Modeler, DMN 1.3: lead grading (UNIQUE, FEEL unary tests, a default) ----------

CAMUNDA_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"'
    ' xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"'
    ' xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/"'
    ' xmlns:biodi="http://bpmn.io/schema/dmn/biodi/2.0"'
    ' xmlns:camunda="http://camunda.org/schema/1.0/dmn"'
    ' id="{id}" name="{id}" namespace="http://camunda.org/schema/1.0/dmn"'
    ' exporter="Camunda Modeler" exporterVersion="5.16.0">\n'
)
CAMUNDA_TAIL = (
    "  <dmndi:DMNDI>\n"
    '    <dmndi:DMNDiagram id="DMNDiagram_1">\n'
    '      <dmndi:DMNShape id="DMNShape_1" dmnElementRef="{decision}">\n'
    '        <dc:Bounds height="80" width="180" x="160" y="100" />\n'
    "      </dmndi:DMNShape>\n"
    "    </dmndi:DMNDiagram>\n"
    "  </dmndi:DMNDI>\n"
    "</definitions>\n"
)


def camunda_table(
    decision: str,
    inputs: list[tuple[str, str, str]],
    outputs: list[tuple[str, str, str | None]],
    rules: list[list[str]],
    policy: str = "UNIQUE",
    aggregation: str | None = None,
) -> bytes:
    """A Camunda Modeler DMN 1.3 file: ``inputs`` (label, expression, typeRef), ``outputs``
    (name, typeRef, default or None), ``rules`` (one cell per column, FEEL as typed)."""
    lines = [CAMUNDA_HEAD.format(id=f"Definitions_{decision}")]
    lines.append(f'  <decision id="{decision}" name="{decision}">\n')
    extra = f' aggregation="{aggregation}"' if aggregation else ""
    lines.append(f'    <decisionTable id="Table_{decision}" hitPolicy="{policy}"{extra}>\n')
    for index, (label, expression, type_ref) in enumerate(inputs):
        lines.append(
            f'      <input id="Input_{index}" label="{label}" biodi:width="192" '
            f'camunda:inputVariable="v{index}">\n'
            f'        <inputExpression id="InputExpression_{index}" typeRef="{type_ref}">'
            f"<text>{expression}</text></inputExpression>\n      </input>\n"
        )
    for index, (name, type_ref, default) in enumerate(outputs):
        if default is None:
            lines.append(
                f'      <output id="Output_{index}" name="{name}" typeRef="{type_ref}" />\n'
            )
        else:
            lines.append(
                f'      <output id="Output_{index}" name="{name}" typeRef="{type_ref}">\n'
                f'        <defaultOutputEntry id="Default_{index}"><text>{default}</text>'
                "</defaultOutputEntry>\n      </output>\n"
            )
    for row, cells in enumerate(rules):
        lines.append(f'      <rule id="Rule_{row}">\n')
        for column, cell in enumerate(cells):
            kind = "inputEntry" if column < len(inputs) else "outputEntry"
            lines.append(f'        <{kind} id="Cell_{row}_{column}"><text>{cell}</text></{kind}>\n')
        lines.append("      </rule>\n")
    lines.append("    </decisionTable>\n  </decision>\n")
    lines.append(CAMUNDA_TAIL.format(decision=decision))
    return "".join(lines).encode()


GRADING = camunda_table(
    "lead_grade",
    [
        ("Amount", "lead.amount", "number"),
        ("Source", "lead.source", "string"),
        ("Phone", "lead.phone", "string"),
        ("Created", "lead.created", "date"),
        ("Calls so far", "count(lead.calls)", "number"),
    ],
    [
        ("grade", "string", '"review"'),
        ("score", "number", None),
        ("hot", "boolean", None),
        ("note", "string", None),
    ],
    [
        [
            "&gt;= 1000",
            '"referral","event"',
            "not(null)",
            '&gt;= date("2026-01-01")',
            "[0..3)",
            '"A"',
            "90",
            "true",
            "null",
        ],
        ["[100..1000)", "-", "not(null)", "-", "-", '"B"', "60.5", "false", '"nurture"'],
        ["]0..100[", "-", "-", "-", "-", '"C"', "20", "false", '"low value"'],
    ],
)
GRADING_ROUTES = [("call_now", 'grade == "A"'), ("nurture", 'grade == "B"'), ("review", "")]


def lead(amount: float, source: str = "referral", **fields: Any) -> dict[str, Any]:
    values = {"phone": "13800138000", "created": "2026-02-01", "calls": [], **fields}
    return {"lead": {"amount": amount, "source": source, **values}}


@pytest.mark.parametrize(
    ("data", "grade", "score", "hot", "note", "path"),
    [
        (lead(5000, calls=["2026-02-02"]), "A", 90, True, None, "call_now"),
        (lead(5000, "event", created="2026-01-01"), "A", 90, True, None, "call_now"),
        # every rule misses: the default output, null for the others
        (lead(5000, "web"), "review", None, None, None, "review"),
        (lead(5000, created="2025-12-31"), "review", None, None, None, "review"),
        (lead(5000, calls=[1, 2, 3]), "review", None, None, None, "review"),
        (lead(500, "web"), "B", 60.5, False, "nurture", "nurture"),
        (lead(500, phone=None), "review", None, None, None, "review"),
        (lead(100), "B", 60.5, False, "nurture", "nurture"),
        (lead(99.5), "C", 20, False, "low value", "review"),
        (lead(0), "review", None, None, None, "review"),
    ],
)
def test_a_camunda_7_lead_grading_table_decides_and_routes(
    owner, agent, data, grade, score, hot, note, path
):
    files = [
        ("lead_grading.bpmn", sales_process("lead_grading", ["lead_grade"], GRADING_ROUTES)),
        ("lead_grade.dmn", GRADING),
    ]
    assert deploy(owner, files).status_code == 201
    decided, waits_at = run(agent, "lead_grading", data)
    assert (decided["grade"], decided["score"], decided["hot"], decided["note"]) == (
        grade,
        score,
        hot,
        note,
    )
    assert waits_at == path


def test_a_decision_input_the_data_lacks_is_an_incident_naming_it(owner, agent):
    files = [
        ("lead_grading.bpmn", sales_process("lead_grading", ["lead_grade"], GRADING_ROUTES)),
        ("lead_grade.dmn", GRADING),
    ]
    assert deploy(owner, files).status_code == 201
    started = agent.start("lead_grading", {"customer_id": 7})
    assert started["status"] == "error"
    (incident,) = started["incidents"]
    assert incident["element_id"] == "decide_0"
    assert "input 'Amount' reads 'lead[\"amount\"]'" in incident["message"]
    assert "has no 'lead' (it has customer_id)" in incident["message"]


# -- Camunda 8 Modeler: discount approval routing (COLLECT with SUM, MIN, MAX, COUNT) ---------


def discount_table(decision: str, output: str, aggregation: str) -> bytes:
    return camunda_table(
        decision,
        [
            ("Amount", "deal.amount", "number"),
            ("Segment", "deal.segment", "string"),
            ("Products", "count(deal.products)", "number"),
        ],
        [(output, "number", None)],
        [
            ["&gt;= 10000", "-", "-", "5"],
            ["-", '"enterprise","government"', "-", "3"],
            ["-", "-", "&gt;= 3", "2"],
            ["-", '"test"', "-", "null"],
        ],
        policy="COLLECT",
        aggregation=aggregation,
    )


@pytest.mark.parametrize(
    ("deal", "total", "smallest", "largest", "rules", "path"),
    [
        ({"amount": 20000, "segment": "enterprise", "products": [1, 2, 3]}, 10, 2, 5, 3, "manager"),
        ({"amount": 12000, "segment": "smb", "products": [1]}, 5, 5, 5, 1, "auto_approve"),
        (
            {"amount": 800, "segment": "government", "products": [1, 2, 3]},
            5,
            2,
            3,
            2,
            "auto_approve",
        ),
        ({"amount": 20000, "segment": "test", "products": []}, 5, 5, 5, 1, "auto_approve"),
        # no rule: a sum, minimum or maximum of nothing is null, a count 0
        ({"amount": 500, "segment": "smb", "products": []}, None, None, None, 0, "auto_approve"),
    ],
)
def test_camunda_8_aggregations_route_a_discount(
    owner, agent, deal, total, smallest, largest, rules, path
):
    decisions = ["discount_sum", "discount_min", "discount_max", "discount_rules"]
    files = [
        (
            "discount_approval.bpmn",
            sales_process(
                "discount_approval",
                decisions,
                [("manager", "(total_pct or 0) > 6"), ("auto_approve", "")],
            ),
        ),
        ("discount_sum.dmn", discount_table("discount_sum", "total_pct", "SUM")),
        ("discount_min.dmn", discount_table("discount_min", "smallest_pct", "MIN")),
        ("discount_max.dmn", discount_table("discount_max", "largest_pct", "MAX")),
        ("discount_rules.dmn", discount_table("discount_rules", "rules_matched", "COUNT")),
    ]
    assert deploy(owner, files).status_code == 201
    decided, waits_at = run(agent, "discount_approval", {"deal": deal})
    found = [decided[k] for k in ("total_pct", "smallest_pct", "largest_pct", "rules_matched")]
    assert found == [total, smallest, largest, rules]
    assert waits_at == path


# -- Trisotech, DMN 1.2 under semantic: callback priority (PRIORITY, starts with, date) --------

TRISOTECH = """<?xml version="1.0" encoding="UTF-8"?>
<semantic:definitions xmlns:semantic="http://www.omg.org/spec/DMN/20180521/MODEL/" \
xmlns:triso="http://www.trisotech.com/2015/triso/modeling" \
xmlns:feel="http://www.omg.org/spec/DMN/20180521/FEEL/" \
xmlns:trisodmn="http://www.trisotech.com/2016/triso/dmn" \
id="_c1a2" name="Callbacks" namespace="http://www.trisotech.com/definitions/_c1a2" \
triso:logoChoice="Default" exporter="Decision Modeler" exporterVersion="7.14.1">
  <semantic:decision id="_callback_priority" name="Callback priority">
    <semantic:variable id="_v1" name="Callback priority" typeRef="string"/>
    <semantic:informationRequirement id="_ir1">
      <semantic:requiredInput href="#_phone"/>
    </semantic:informationRequirement>
    <semantic:decisionTable id="_dt1" hitPolicy="PRIORITY" outputLabel="priority" \
typeRef="string">
      <semantic:input id="_in1" label="Phone">
        <semantic:inputExpression typeRef="string"><semantic:text>phone</semantic:text>\
</semantic:inputExpression>
      </semantic:input>
      <semantic:input id="_in2" label="Score">
        <semantic:inputExpression typeRef="number"><semantic:text>score</semantic:text>\
</semantic:inputExpression>
      </semantic:input>
      <semantic:input id="_in3" label="Asked for">
        <semantic:inputExpression typeRef="date"><semantic:text>callback_on</semantic:text>\
</semantic:inputExpression>
      </semantic:input>
      <semantic:output id="_out1" name="priority" typeRef="string">
        <semantic:outputValues><semantic:text>"urgent","high","normal"</semantic:text>\
</semantic:outputValues>
      </semantic:output>
      <semantic:annotation name="Why"/>
      <semantic:rule id="_r1">
        <semantic:inputEntry id="_r1i1"><semantic:text>starts with(?, "138")</semantic:text>\
</semantic:inputEntry>
        <semantic:inputEntry id="_r1i2"><semantic:text>&gt;= 80</semantic:text>\
</semantic:inputEntry>
        <semantic:inputEntry id="_r1i3"><semantic:text>-</semantic:text></semantic:inputEntry>
        <semantic:outputEntry id="_r1o1"><semantic:text>"urgent"</semantic:text>\
</semantic:outputEntry>
        <semantic:annotationEntry><semantic:text>hot mobile lead</semantic:text>\
</semantic:annotationEntry>
      </semantic:rule>
      <semantic:rule id="_r2">
        <semantic:inputEntry id="_r2i1"><semantic:text>-</semantic:text></semantic:inputEntry>
        <semantic:inputEntry id="_r2i2"><semantic:text>-</semantic:text></semantic:inputEntry>
        <semantic:inputEntry id="_r2i3"><semantic:text>&lt;= date("2026-05-05")</semantic:text>\
</semantic:inputEntry>
        <semantic:outputEntry id="_r2o1"><semantic:text>"high"</semantic:text>\
</semantic:outputEntry>
        <semantic:annotationEntry><semantic:text>asked for soon</semantic:text>\
</semantic:annotationEntry>
      </semantic:rule>
      <semantic:rule id="_r3">
        <semantic:inputEntry id="_r3i1"><semantic:text>-</semantic:text></semantic:inputEntry>
        <semantic:inputEntry id="_r3i2"><semantic:text>-</semantic:text></semantic:inputEntry>
        <semantic:inputEntry id="_r3i3"><semantic:text>-</semantic:text></semantic:inputEntry>
        <semantic:outputEntry id="_r3o1"><semantic:text>"normal"</semantic:text>\
</semantic:outputEntry>
        <semantic:annotationEntry><semantic:text></semantic:text></semantic:annotationEntry>
      </semantic:rule>
    </semantic:decisionTable>
  </semantic:decision>
  <semantic:inputData id="_phone" name="phone">
    <semantic:variable id="_v2" name="phone" typeRef="string"/>
  </semantic:inputData>
</semantic:definitions>
"""


@pytest.mark.parametrize(
    ("phone", "score", "day", "priority", "path"),
    [
        ("13812345678", 90, "2026-06-01", "urgent", "call_within_hour"),
        ("13812345678", 90, "2026-05-04", "urgent", "call_within_hour"),  # urgent outranks
        ("13912345678", 90, "2026-05-05", "high", "call_today"),
        ("13812345678", 10, "2026-05-05T18:00:00+08:00", "high", "call_today"),
        (None, 90, "2026-06-01", "normal", "schedule_callback"),
        ("13812345678", 79, "2026-05-06", "normal", "schedule_callback"),
    ],
)
def test_a_trisotech_priority_table_orders_callbacks(
    owner, agent, phone, score, day, priority, path
):
    routes = [
        ("call_within_hour", 'priority == "urgent"'),
        ("call_today", 'priority == "high"'),
        ("schedule_callback", ""),
    ]
    files = [
        ("callback.bpmn", sales_process("callback", ["_callback_priority"], routes)),
        ("callback_priority.dmn", TRISOTECH.encode()),
    ]
    assert deploy(owner, files).status_code == 201
    data = {"phone": phone, "score": score, "callback_on": day}
    decided, waits_at = run(agent, "callback", data)
    assert (decided["priority"], waits_at) == (priority, path)


# -- Kogito, DMN 1.2 under dmn: with its own default namespace: a decision requirements graph --

KOGITO = """<?xml version="1.0" encoding="UTF-8"?>
<dmn:definitions xmlns:dmn="http://www.omg.org/spec/DMN/20180521/MODEL/" \
xmlns="https://kiegroup.org/dmn/_5B3E" xmlns:feel="http://www.omg.org/spec/DMN/20180521/FEEL/" \
xmlns:kie="http://www.drools.org/kie/dmn/1.2" \
xmlns:dmndi="http://www.omg.org/spec/DMN/20180521/DMNDI/" \
xmlns:di="http://www.omg.org/spec/DMN/20180521/DI/" \
xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" \
id="_5B3E" name="call window" typeLanguage="http://www.omg.org/spec/DMN/20180521/FEEL/" \
namespace="https://kiegroup.org/dmn/_5B3E">
  <dmn:extensionElements/>
  <dmn:inputData id="_local_hour" name="local_hour">
    <dmn:variable id="_local_hour_v" name="local_hour" typeRef="number"/>
  </dmn:inputData>
  <dmn:decision id="call_window" name="call window">
    <dmn:variable id="_cw_v" name="call window" typeRef="boolean"/>
    <dmn:informationRequirement id="_cw_ir1">
      <dmn:requiredDecision href="#hour_band"/>
    </dmn:informationRequirement>
    <dmn:decisionTable id="_cw_dt" hitPolicy="FIRST" preferredOrientation="Rule-as-Row">
      <dmn:input id="_cw_i1" label="band">
        <dmn:inputExpression id="_cw_ie1" typeRef="string"><dmn:text>band</dmn:text>\
</dmn:inputExpression>
      </dmn:input>
      <dmn:input id="_cw_i2" label="do not call">
        <dmn:inputExpression id="_cw_ie2" typeRef="boolean"><dmn:text>customer.dnc</dmn:text>\
</dmn:inputExpression>
      </dmn:input>
      <dmn:input id="_cw_i3" label="last call">
        <dmn:inputExpression id="_cw_ie3" typeRef="dateTime">\
<dmn:text>customer.last_call_at</dmn:text></dmn:inputExpression>
      </dmn:input>
      <dmn:output id="_cw_o1" name="allowed" typeRef="boolean"/>
      <dmn:output id="_cw_o2" name="reason" typeRef="string"/>
      <dmn:annotation name="annotation-1"/>
      <dmn:rule id="_cw_r1">
        <dmn:inputEntry id="_cw_r1a"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r1b"><dmn:text>true</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r1c"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_cw_r1d"><dmn:text>false</dmn:text></dmn:outputEntry>
        <dmn:outputEntry id="_cw_r1e"><dmn:text>"不可致电"</dmn:text></dmn:outputEntry>
        <dmn:annotationEntry><dmn:text>DNC</dmn:text></dmn:annotationEntry>
      </dmn:rule>
      <dmn:rule id="_cw_r2">
        <dmn:inputEntry id="_cw_r2a"><dmn:text>"morning","afternoon"</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r2b"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r2c"><dmn:text>&lt; date and time("2026-05-04T00:00:00+08:00")\
</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_cw_r2d"><dmn:text>true</dmn:text></dmn:outputEntry>
        <dmn:outputEntry id="_cw_r2e"><dmn:text>"in window"</dmn:text></dmn:outputEntry>
        <dmn:annotationEntry><dmn:text></dmn:text></dmn:annotationEntry>
      </dmn:rule>
      <dmn:rule id="_cw_r3">
        <dmn:inputEntry id="_cw_r3a"><dmn:text>"morning","afternoon"</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r3b"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r3c"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_cw_r3d"><dmn:text>false</dmn:text></dmn:outputEntry>
        <dmn:outputEntry id="_cw_r3e"><dmn:text>"called today"</dmn:text></dmn:outputEntry>
        <dmn:annotationEntry><dmn:text></dmn:text></dmn:annotationEntry>
      </dmn:rule>
      <dmn:rule id="_cw_r4">
        <dmn:inputEntry id="_cw_r4a"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r4b"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:inputEntry id="_cw_r4c"><dmn:text>-</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_cw_r4d"><dmn:text>false</dmn:text></dmn:outputEntry>
        <dmn:outputEntry id="_cw_r4e"><dmn:text>"outside window"</dmn:text></dmn:outputEntry>
        <dmn:annotationEntry><dmn:text></dmn:text></dmn:annotationEntry>
      </dmn:rule>
    </dmn:decisionTable>
  </dmn:decision>
  <dmn:decision id="hour_band" name="hour band">
    <dmn:variable id="_hb_v" name="hour band" typeRef="string"/>
    <dmn:informationRequirement id="_hb_ir1">
      <dmn:requiredInput href="#_local_hour"/>
    </dmn:informationRequirement>
    <dmn:decisionTable id="_hb_dt" hitPolicy="UNIQUE">
      <dmn:input id="_hb_i1" label="local hour">
        <dmn:inputExpression id="_hb_ie1" typeRef="number"><dmn:text>local_hour</dmn:text>\
</dmn:inputExpression>
      </dmn:input>
      <dmn:output id="_hb_o1" name="band" typeRef="string">
        <dmn:defaultOutputEntry id="_hb_def"><dmn:text>"closed"</dmn:text>\
</dmn:defaultOutputEntry>
      </dmn:output>
      <dmn:rule id="_hb_r1">
        <dmn:inputEntry id="_hb_r1a"><dmn:text>[9..12)</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_hb_r1b"><dmn:text>"morning"</dmn:text></dmn:outputEntry>
      </dmn:rule>
      <dmn:rule id="_hb_r2">
        <dmn:inputEntry id="_hb_r2a"><dmn:text>[12..14)</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_hb_r2b"><dmn:text>"lunch"</dmn:text></dmn:outputEntry>
      </dmn:rule>
      <dmn:rule id="_hb_r3">
        <dmn:inputEntry id="_hb_r3a"><dmn:text>[14..21)</dmn:text></dmn:inputEntry>
        <dmn:outputEntry id="_hb_r3b"><dmn:text>"afternoon"</dmn:text></dmn:outputEntry>
      </dmn:rule>
    </dmn:decisionTable>
  </dmn:decision>
</dmn:definitions>
"""


@pytest.mark.parametrize(
    ("hour", "dnc", "last_call", "band", "allowed", "reason", "path"),
    [
        (10, False, "2026-05-03T18:00:00+08:00", "morning", True, "in window", "call"),
        (15, False, "2026-05-03T15:00:00Z", "afternoon", True, "in window", "call"),
        (15, False, "2026-05-04T09:30:00+08:00", "afternoon", False, "called today", "wait"),
        (10, True, "2026-05-01T10:00:00+08:00", "morning", False, "不可致电", "wait"),
        (13, False, "2026-05-01T10:00:00+08:00", "lunch", False, "outside window", "wait"),
        (22, False, "2026-05-01T10:00:00+08:00", "closed", False, "outside window", "wait"),
    ],
)
def test_a_kogito_decision_requirements_graph_keeps_the_call_window(
    owner, agent, hour, dnc, last_call, band, allowed, reason, path
):
    files = [
        (
            "call_window.bpmn",
            sales_process("call_gate", ["call_window"], [("call", "allowed"), ("wait", "")]),
        ),
        ("call_window.dmn", KOGITO.encode()),
    ]
    assert deploy(owner, files).status_code == 201
    data = {"local_hour": hour, "customer": {"dnc": dnc, "last_call_at": last_call}}
    decided, waits_at = run(agent, "call_gate", data)
    assert (decided["band"], decided["allowed"], decided["reason"]) == (band, allowed, reason)
    assert waits_at == path


# -- a table of 200 rules with Chinese values --------------------------------------------------


def test_a_table_of_two_hundred_rules_with_chinese_values(owner, agent):
    rules = [
        [f'"城市{i}"', "[0..50000)" if i % 2 else "&gt;= 0", f'"销售{i % 5}组"', f'"{i}号规则"']
        for i in range(200)
    ]
    table = camunda_table(
        "lead_team",
        [("城市", "lead.city", "string"), ("金额", "lead.amount", "number")],
        [("team", "string", '"人工分配"'), ("why", "string", None)],
        rules,
    )
    routes = [("first_team", 'team == "销售0组"'), ("other_teams", "")]
    files = [("team.bpmn", sales_process("team_route", ["lead_team"], routes)), ("团队.dmn", table)]
    assert deploy(owner, files).status_code == 201
    for city, amount, team, why, path in [
        ("城市0", 90000, "销售0组", "0号规则", "first_team"),
        ("城市137", 100, "销售2组", "137号规则", "other_teams"),
        ("城市199", 60000, "人工分配", None, "other_teams"),  # 50000 is past its range
        ("城市200", 100, "人工分配", None, "other_teams"),
    ]:
        decided, waits_at = run(agent, "team_route", {"lead": {"city": city, "amount": amount}})
        assert (decided["team"], decided["why"], waits_at) == (team, why, path)


# -- what cannot run is refused on its element and line, nothing deployed ----------------------

ROUTE = sales_process("lead_grading", ["lead_grade"], GRADING_ROUTES)


def grading(old: str, new: str) -> bytes:
    text = GRADING.decode()
    assert text.count(old) == 1, old
    return text.replace(old, new).encode()


def kogito(old: str, new: str) -> bytes:
    assert KOGITO.count(old) == 1, old
    return KOGITO.replace(old, new).encode()


CALL_GATE = sales_process("call_gate", ["call_window"], [("call", "allowed"), ("wait", "")])

INVALID = {
    "a-rule-with-a-cell-too-few": (
        [
            ("lead_grading.bpmn", ROUTE),
            (
                "lead_grade.dmn",
                grading('<inputEntry id="Cell_2_4"><text>-</text></inputEntry>\n', ""),
            ),
        ],
        "lead_grade.dmn",
        "Rule_2",
        ["has 4 input entries for the table's 5 inputs"],
    ),
    "an-unparsable-feel-cell": (
        [("lead_grading.bpmn", ROUTE), ("lead_grade.dmn", grading("[100..1000)", "[100..1000"))],
        "lead_grade.dmn",
        "Cell_1_0",
        ["rule cell '[100..1000'", "is not Python"],
    ),
    "a-feel-function-without-python": (
        [
            ("lead_grading.bpmn", ROUTE),
            ("lead_grade.dmn", grading('"referral","event"', 'matches(?, "^ref")')),
        ],
        "lead_grade.dmn",
        "Cell_0_1",
        ["rule cell 'matches(?, \"^ref\")' calls matches(…), which Dialflow does not know"],
    ),
    "an-output-not-of-its-typeref": (
        [("lead_grading.bpmn", ROUTE), ("lead_grade.dmn", grading(">60.5<", '>"sixty"<'))],
        "lead_grade.dmn",
        "Cell_1_6",
        ["output '\"sixty\"' is text where its column 'score' has typeRef 'number'"],
    ),
    "a-rule-cell-not-of-its-typeref": (
        [("lead_grading.bpmn", ROUTE), ("lead_grade.dmn", grading("]0..100[", '"small"'))],
        "lead_grade.dmn",
        "Cell_2_0",
        ["rule cell '\"small\"' is text where its column 'Amount' has typeRef 'number'"],
    ),
    "a-decision-the-task-names-that-is-not-there": (
        [
            ("lead_grading.bpmn", sales_process("lead_grading", ["lead_grading"], GRADING_ROUTES)),
            ("lead_grade.dmn", GRADING),
        ],
        "lead_grading.bpmn",
        "decide_0",
        ["calls decision 'lead_grading', which no DMN file of this deploy has", "lead_grade"],
    ),
    "one-decision-id-in-two-files": (
        [
            ("lead_grading.bpmn", ROUTE),
            ("lead_grade.dmn", GRADING),
            ("lead_grade_copy.dmn", grading('id="Definitions_lead_grade"', 'id="Definitions_2"')),
        ],
        "lead_grade_copy.dmn",
        "lead_grade",
        ["decision 'lead_grade' is also in lead_grade.dmn"],
    ),
    "a-required-decision-that-is-not-there": (
        [("call_window.bpmn", CALL_GATE), ("call_window.dmn", kogito("#hour_band", "#hours"))],
        "call_window.dmn",
        "_cw_ir1",
        ["requires decision 'hours', which no DMN file of this deploy has"],
    ),
    "a-business-knowledge-model": (
        [
            ("call_window.bpmn", CALL_GATE),
            (
                "call_window.dmn",
                kogito(
                    '  <dmn:decision id="hour_band" name="hour band">\n',
                    '  <dmn:businessKnowledgeModel id="_bkm_hours" name="hours">\n'
                    '    <dmn:encapsulatedLogic id="_bkm_logic" kind="FEEL">'
                    '<dmn:literalExpression id="_bkm_le"><dmn:text>9</dmn:text>'
                    "</dmn:literalExpression></dmn:encapsulatedLogic>\n"
                    "  </dmn:businessKnowledgeModel>\n"
                    '  <dmn:decision id="hour_band" name="hour band">\n'
                    '    <dmn:knowledgeRequirement id="_hb_kr">'
                    '<dmn:requiredKnowledge href="#_bkm_hours"/></dmn:knowledgeRequirement>\n',
                ),
            ),
        ],
        "call_window.dmn",
        "_bkm_hours",
        ["business knowledge model", "decision 'hour_band' requires it"],
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_what_cannot_run_is_refused_on_its_element_and_line(owner, db, case):
    files, file, element, words = INVALID[case]
    details = refused(deploy(owner, files))
    found = by_element(details)
    assert element in found, details
    for word in words:
        assert word in found[element], found[element]
    detail = next(d for d in details if d["element_id"] == element)
    assert detail["file"] == file
    text = dict(files)[file].decode()
    assert detail["line"] == line_in(f'id="{element}"', text), detail
    assert "500" not in str(details) and "Traceback" not in str(details)
    nothing_deployed(db)
