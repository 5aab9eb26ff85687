"""DMN rule cells in FEEL, as Camunda Modeler writes them, run through a deployed process."""

from __future__ import annotations

from io import BytesIO

import pytest

from tests.engine.conftest import DIAGRAMS


@pytest.mark.parametrize(
    ("amount", "region", "discount", "review"),
    [
        (2000, "West", 3, False),  # [1000..5000]
        (5000, "West", 3, False),  # the range includes its end
        (8000, "East", 5, True),  # > 5000 and one of "East","North"
        (8000, "West", 4, True),  # ]5000..1000000] and not("East","North")
        (500, "North", 0, False),  # the catch-all row
    ],
)
def test_a_camunda_decision_table_with_feel_cells_decides(
    owner, agent, amount, region, discount, review
):
    """FEEL input cells, and FEEL's true and false as outputs."""
    bpmn = (DIAGRAMS / "deal_pricing.bpmn").read_text().replace("discount_tier", "feel_discount")
    deployed = owner.post(
        "/api/v1/process-models",
        data={
            "file": [
                (BytesIO(bpmn.encode()), "pricing.bpmn"),
                (BytesIO((DIAGRAMS / "feel_discount.dmn").read_bytes()), "feel_discount.dmn"),
            ]
        },
    )
    assert deployed.status_code == 201, deployed.get_json()
    done = agent.start("deal_pricing", {"amount": amount, "region": region})
    assert (done["status"], done["incidents"]) == ("completed", [])
    assert done["data"]["discount_pct"] == discount
    assert done["data"]["needs_review"] is review


def test_a_question_mark_inside_quotes_is_text_not_the_input():
    """``?`` stands for the input only outside quotes, as SpiffWorkflow reads it: a list of
    texts with one in it is still a list of alternatives."""
    from engine.feel import unary_test

    assert unary_test('"Callback?","Later"') == '? in ("Callback?", "Later")'
    assert unary_test("1 <= ? <= 5") == "1 <= ? <= 5"


LIMIT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_limit"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="credit_check" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="Activity_check">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>credit_rule</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_check"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_check" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
"""

LIMIT_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_credit"
  name="Credit" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="credit_rule" name="Credit rule">
    <decisionTable id="Table_credit" hitPolicy="FIRST">
      <input id="In_amount" label="Amount">
        <inputExpression id="InExpr_amount" typeRef="number"><text>amount</text></inputExpression>
      </input>
      <output id="Out_ok" name="within_limit" typeRef="string"/>
      <rule id="Rule_ok">
        <inputEntry id="Cell_ok"><text>CELL</text></inputEntry>
        <outputEntry id="Out_ok_yes"><text>"yes"</text></outputEntry>
      </rule>
      <rule id="Rule_rest">
        <inputEntry id="Cell_rest"><text>-</text></inputEntry>
        <outputEntry id="Out_ok_no"><text>"no"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize(
    "cell",
    [
        # a text with an apostrophe after the column's name: the run failed on the cell
        'amount &lt;= credit_limit and customer != "O\'Brien Trading"',
        # a negated condition on the column: refused as a FEEL negation
        "not(amount &gt; credit_limit)",
    ],
)
def test_a_condition_on_its_own_column_matches_as_written(owner, agent, cell):
    deployed = owner.post(
        "/api/v1/process-models",
        json={"bpmn": {"credit.bpmn": LIMIT_BPMN}, "dmn": [LIMIT_DMN.replace("CELL", cell)]},
    )
    assert deployed.status_code == 201, deployed.get_json()
    for amount, within in ((500, "yes"), (5000, "no")):
        data = {"amount": amount, "credit_limit": 1000, "customer": "Acme"}
        done = agent.start("credit_check", data)
        assert (done["status"], done["incidents"]) == ("completed", [])
        assert done["data"]["within_limit"] == within
