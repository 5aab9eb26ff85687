"""Three gaps of the deploy checks, closed: DMN files checked against the schema of their DMN
version (1.1, 1.2 and 1.3, the schemas SpiffWorkflow 3.2 ships), message flows checked across
the files of a deploy and against the processes deployed before that its pools name, and
correlations naming a correlation property that does not exist.

Each mistake deployed before (or, for a pool standing for a process deployed before, a right
diagram was refused); now each is refused with ``422 invalid_bpmn`` on its element, file and
line, by the upload, the JSON body, the dry run and the CLI, nothing is stored, and the renewal
deployed before still deploys and runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import DiagramFolder, cli_refuses, upload
from tests.engine.test_refusals_round9 import (
    BASE,
    DISCOUNT,
    Expected,
    Files,
    as_json,
    bundle,
    counts,
    expect,
    still_runs,
)

ROUND9 = DiagramFolder("refusals9")
ROUND10 = DiagramFolder("refusals10")
D = "r9_discount.dmn"
SALES, BILLING = "r10_sales.bpmn", "r10_billing.bpmn"
DMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"
DMN12 = "http://www.omg.org/spec/DMN/20180521/MODEL/"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
PLAN_INPUT = (
    '<inputExpression id="InputExpression_plan" typeRef="string"><text>plan</text>'
    "</inputExpression>"
)
OUTPUT = '<output id="Output_discount" label="Discount %" name="discount" typeRef="number" />'


@pytest.fixture
def deployed_before(owner: Actor, db: Any) -> tuple[int, int]:
    """The renewal of round 9 as it runs today: one bundle, its two processes at version 1."""
    ROUND9.deploy(owner, *BASE)
    return counts(db)


def discount(*changes: tuple[str, str], version: str = DMN13) -> bytes:
    """The renewal's discount table in DMN ``version``, with ``changes`` made."""
    text = DISCOUNT.replace(DMN13, version)
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text.encode()


def without_outputs() -> bytes:
    """The table with no output column and rules of input cells only: a table that sets
    nothing."""
    text = DISCOUNT.replace(OUTPUT, "")
    for cell in ("<text>20</text>", "<text>10</text>", "<text>0</text>"):
        start = text.index(cell)
        start = text.rindex("<outputEntry", 0, start)
        end = text.index("</outputEntry>", start) + len("</outputEntry>")
        text = text[:start] + text[end:]
    return text.encode()


def sales(*changes: tuple[str, str]) -> bytes:
    return ROUND10.edited(SALES, *changes)


def billing(*changes: tuple[str, str]) -> bytes:
    return ROUND10.edited(BILLING, *changes)


POOLS_WITH_PREFIX = ROUND9.edited(
    "r9_two_pools.bpmn",
    (
        'targetNamespace="http://bpmn.io/schema/bpmn"',
        'xmlns:tns="http://bpmn.io/schema/bpmn" targetNamespace="http://bpmn.io/schema/bpmn"',
    ),
    ('processRef="r9_billing"', 'processRef="tns:r9_billing"'),
    (
        'sourceRef="Activity_0tell" targetRef="Activity_0wait"',
        'sourceRef="Participant_0billing" targetRef="Activity_0wait"',
    ),
)

REFUSALS: dict[str, tuple[Files, Expected]] = {
    # -- a. DMN files against their version's schema -----------------------------------------
    "dmn13-input-without-its-expression": (
        bundle(extra=[(D, discount((PLAN_INPUT, "")))]),
        [("Input_plan", D, 'id="Input_plan"', ["<input> 'Input_plan' lacks <inputExpression>"])],
    ),
    "dmn13-table-without-an-output": (
        bundle(extra=[(D, without_outputs())]),
        [
            (
                "DecisionTable_r9disc",
                D,
                'id="DecisionTable_r9disc"',
                ["has no <output>", "at least one output column"],
            )
        ],
    ),
    "dmn13-aggregation-dmn-does-not-know": (
        bundle(extra=[(D, discount(('hitPolicy="FIRST"', 'hitPolicy="FIRST" aggregation="AVG"')))]),
        [
            (
                "DecisionTable_r9disc",
                D,
                'id="DecisionTable_r9disc"',
                ["aggregation='AVG', which DMN does not know", "'SUM'", "DMN 1.3 schema"],
            )
        ],
    ),
    "dmn13-output-cell-without-its-text-element": (
        bundle(
            extra=[
                (
                    D,
                    discount(
                        (
                            '<outputEntry id="LiteralExpression_rest"><text>0</text>',
                            '<outputEntry id="LiteralExpression_rest">0',
                        )
                    ),
                )
            ]
        ),
        [
            (
                "LiteralExpression_rest",
                D,
                'id="LiteralExpression_rest"',
                ["holds text directly", "<text> element"],
            )
        ],
    ),
    "dmn13-rule-id-with-a-space": (
        bundle(extra=[(D, discount(('id="DecisionRule_rest"', 'id="Decision rest"')))]),
        [("Decision rest", D, 'id="Decision rest"', ["'Decision rest', which is no valid XML id"])],
    ),
    "dmn13-orientation-dmn-does-not-know": (
        bundle(
            extra=[
                (
                    D,
                    discount(
                        ('hitPolicy="FIRST"', 'hitPolicy="FIRST" preferredOrientation="Rows"')
                    ),
                )
            ]
        ),
        [
            (
                "DecisionTable_r9disc",
                D,
                'id="DecisionTable_r9disc"',
                ["preferredOrientation='Rows'", "'Rule-as-Row'"],
            )
        ],
    ),
    "dmn11-input-without-its-expression": (
        bundle(extra=[(D, discount((PLAN_INPUT, ""), version=DMN11))]),
        [("Input_plan", D, 'id="Input_plan"', ["lacks <inputExpression>", "DMN 1.1 schema"])],
    ),
    "dmn12-input-without-its-expression": (
        bundle(extra=[(D, discount((PLAN_INPUT, ""), version=DMN12))]),
        [("Input_plan", D, 'id="Input_plan"', ["lacks <inputExpression>", "DMN 1.2 schema"])],
    ),
    # -- b. message flows across files and deploys -------------------------------------------
    "message-flow-to-a-pool-of-another-file-that-waits-for-another-message": (
        bundle(
            extra=[
                (SALES, sales()),
                (BILLING, billing(('name="r10_order"', 'name="r10_order_placed"'))),
            ]
        ),
        [
            (
                "Flow_0order",
                SALES,
                'id="Flow_0order"',
                [
                    "shows message 'r10_order', which 'Activity_0tell' sends",
                    "the pool 'Billing'",
                    f"process 'r10_billing' (in {BILLING}) waits for 'r10_order_placed'",
                    "delivers messages by name",
                ],
            )
        ],
    ),
    "message-flow-from-a-pool-of-another-file-that-sends-nothing": (
        bundle(
            extra=[
                (
                    SALES,
                    sales(
                        (
                            '<bpmn:sendTask id="Activity_0tell" name="Tell billing" '
                            'messageRef="Message_0order" />',
                            '<bpmn:receiveTask id="Activity_0tell" name="Wait for the invoice" '
                            'messageRef="Message_0order" />',
                        ),
                        (
                            'sourceRef="Activity_0tell" targetRef="Participant_0billing"',
                            'sourceRef="Participant_0billing" targetRef="Activity_0tell"',
                        ),
                    ),
                ),
                (BILLING, billing()),
            ]
        ),
        [
            (
                "Flow_0order",
                SALES,
                'id="Flow_0order"',
                ["'r10_order', which 'Activity_0tell' waits for", "sends no message"],
            )
        ],
    ),
    "message-flow-from-a-prefixed-pool-to-its-own-process": (
        [("r9_two_pools.bpmn", POOLS_WITH_PREFIX)],
        [
            (
                "Flow_0order",
                "r9_two_pools.bpmn",
                'id="Flow_0order"',
                ["both in process 'r9_billing'", "a message flow goes between pools"],
            )
        ],
    ),
    # -- c. correlations naming a property that is not there ----------------------------------
    "process-variable-correlation-on-a-missing-property": (
        bundle(
            extra=[
                (
                    "order_correlation.bpmn",
                    ROUND9.path.parent.joinpath("order_correlation.bpmn")
                    .read_text()
                    .replace(
                        "<spiffworkflow:propertyId>order_ref<",
                        "<spiffworkflow:propertyId>order_reference<",
                    )
                    .encode(),
                )
            ]
        ),
        [
            (
                "wait_paid",
                "order_correlation.bpmn",
                'id="wait_paid"',
                [
                    "correlates on property 'order_reference'",
                    "the deploy's correlation properties are 'order_ref'",
                ],
            )
        ],
    ),
    "correlation-key-listing-a-missing-property": (
        bundle(
            extra=[
                (
                    "order_correlation.bpmn",
                    ROUND9.path.parent.joinpath("order_correlation.bpmn")
                    .read_text()
                    .replace(
                        '  <bpmn:message id="Message_paid"',
                        '  <bpmn:collaboration id="Collaboration_pay">\n'
                        '    <bpmn:participant id="Participant_pay" '
                        'processRef="payment_by_ref" />\n'
                        '    <bpmn:correlationKey id="CorrelationKey_order" name="order">\n'
                        "      <bpmn:correlationPropertyRef>order_id"
                        "</bpmn:correlationPropertyRef>\n"
                        "    </bpmn:correlationKey>\n"
                        "  </bpmn:collaboration>\n"
                        '  <bpmn:message id="Message_paid"',
                    )
                    .encode(),
                )
            ]
        ),
        [
            (
                "CorrelationKey_order",
                "order_correlation.bpmn",
                'id="CorrelationKey_order"',
                ["lists correlation property 'order_id'", "are 'order_ref'"],
            )
        ],
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_gap_is_refused_on_its_element_and_line(
    owner: Actor, agent: Actor, db: Any, deployed_before: tuple[int, int], case: str
) -> None:
    files, expected = REFUSALS[case]
    expect(refused(upload(owner, *files)), files, expected)
    still_runs(owner, agent, db, deployed_before)


@pytest.mark.parametrize("url", ["/api/v1/process-models", "/api/v1/process-models/validate"])
@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_the_json_body_and_the_dry_run_say_the_same(
    owner: Actor, db: Any, deployed_before: tuple[int, int], case: str, url: str
) -> None:
    files, expected = REFUSALS[case]
    expect(refused(owner.post(url, json=as_json(files))), files, expected)
    assert counts(db) == deployed_before


CLI_CASES = [
    "dmn13-input-without-its-expression",
    "dmn12-input-without-its-expression",
    "message-flow-to-a-pool-of-another-file-that-waits-for-another-message",
    "process-variable-correlation-on-a-missing-property",
]


@pytest.mark.parametrize("case", CLI_CASES, ids=CLI_CASES)
def test_the_cli_prints_each_problem_and_stores_nothing(
    test_env: dict[str, str], db: Any, tmp_path: Path, case: str
) -> None:
    files, expected = REFUSALS[case]
    cli_refuses(test_env, tmp_path, files, expected)
    assert counts(db) == (0, 0)


# -- what deploys and runs ----------------------------------------------------------------------


def test_dmn_1_1_and_1_2_tables_that_their_schema_accepts_decide(
    owner: Actor, agent: Actor
) -> None:
    """The renewal's table written in DMN 1.1, then in 1.2 with its diagram (DMNDI, whose
    schema SpiffWorkflow 3.2 ships wrong: the 1.2 schema did not even load), deploys and
    decides."""
    dmndi = (
        '  <dmndi:DMNDI><dmndi:DMNDiagram id="DMNDiagram_r9"><dmndi:DMNShape '
        'id="DMNShape_r9" dmnElementRef="r9_discount"><dc:Bounds height="80" width="180" '
        'x="150" y="80" /></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>\n</definitions>'
    )
    dmn12 = discount(
        (
            'xmlns="' + DMN12 + '"',
            'xmlns="' + DMN12 + '" xmlns:dmndi="http://www.omg.org/spec/DMN/20180521/DMNDI/" '
            'xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/"',
        ),
        ("</definitions>", dmndi),
        version=DMN12,
    )
    for version, table, expected in ((1, discount(version=DMN11), 10), (2, dmn12, 10)):
        response = upload(owner, *bundle(extra=[(D, table)]))
        assert response.status_code == 201, response.get_json()
        started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
        assert started["version"] == version
        done = agent.complete_ok(started["ready_tasks"][0]["id"], {"seats": 12, "plan": "team"})
        assert done["data"]["discount"] == expected


def test_pools_in_two_files_deploy_and_the_message_reaches_the_other_file(timed: Timed) -> None:
    owner, agent = timed.owner, timed.agent
    ROUND10.deploy(owner, SALES, BILLING)
    bill = agent.start("r10_billing", business_key="order-10")
    sell = agent.start("r10_sales", business_key="order-10")
    agent.complete_ok(sell["ready_tasks"][0]["id"])
    timed.advance(seconds=1)  # the scheduler's pass delivers the message
    after = agent.instance(bill["id"])
    assert [t["name"] for t in after["ready_tasks"]] == ["Activity_0invoice"]


def test_a_pool_standing_for_a_process_deployed_before_deploys_and_is_checked(
    owner: Actor, db: Any
) -> None:
    """Billing deployed on its own, then sales drawing billing's pool: it was refused as a
    pool that "names no process of this deploy"; now it deploys, and a message flow to that
    pool whose message billing does not wait for is refused, naming what billing waits for."""
    ROUND10.deploy(owner, BILLING)
    before = counts(db)
    files = [(SALES, sales(('name="r10_order"', 'name="r10_invoice_due"')))]
    details = refused(upload(owner, *files))
    expect(
        details,
        files,
        [
            (
                "Flow_0order",
                SALES,
                'id="Flow_0order"',
                [
                    "shows message 'r10_invoice_due'",
                    "process 'r10_billing' (deployed before) waits for 'r10_order'",
                ],
            )
        ],
    )
    assert counts(db) == before
    response = upload(owner, (SALES, sales()))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["process_ids"] == ["r10_sales"]


RENEWAL_CALLER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D_r10c"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="r10_renewal_round" isExecutable="true">
    <bpmn:startEvent id="Event_0round" />
    <bpmn:callActivity id="Activity_0sales" name="Sell" calledElement="r10_sales" />
    <bpmn:endEvent id="Event_0rounded" />
    <bpmn:sequenceFlow id="Flow_c1" sourceRef="Event_0round" targetRef="Activity_0sales" />
    <bpmn:sequenceFlow id="Flow_c2" sourceRef="Activity_0sales" targetRef="Event_0rounded" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_call_to_an_earlier_file_does_not_answer_for_that_files_message_flows(
    owner: Actor, agent: Actor
) -> None:
    """Sales drew billing's pool when billing waited for 'r10_order'; billing was then changed
    to wait for another message. A new process calling sales merges sales' file into its
    deploy: the message flow of that earlier file, checked when it was deployed, refused the
    new process (on a file the new deploy does not have). It is not checked again."""
    ROUND10.deploy(owner, BILLING)
    ROUND10.deploy(owner, SALES)
    renamed = billing(('name="r10_order"', 'name="r10_order_signed"'))
    assert upload(owner, (BILLING, renamed)).status_code == 201
    response = upload(owner, ("renewal_round.bpmn", RENEWAL_CALLER))
    assert response.status_code == 201, response.get_json()
    started = agent.start("r10_renewal_round")
    assert [t["name"] for t in started["ready_tasks"]] == ["Activity_0sell"]


def test_a_file_named_as_an_earlier_deploys_file_is_refused(owner: Actor, db: Any) -> None:
    before = counts(db)
    response = owner.post(
        "/api/v1/process-models", json={"bpmn": {"@1/sales.bpmn": ROUND10.read(SALES).decode()}}
    )
    details = refused(response)
    assert "kept for the files of earlier deploys" in details[0]["message"], details
    assert counts(db) == before
