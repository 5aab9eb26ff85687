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
