"""Scripts, conditions and DMN cells too deeply nested for Python to compile: the deploy
answered 500 (``RecursionError``, ``MemoryError`` where the checks expect a ``SyntaxError``);
it is a 422 naming the element and its line, and nothing is deployed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from engine import fixed_depth, sandbox
from tests.engine.conftest import DIAGRAMS, Actor, one_process

LONG_SUM = "+".join(["1"] * 20_000)


def script_then_gateway(script: str, condition: str = "x == 1") -> str:
    return f"""
<startEvent id="start"><outgoing>f1</outgoing></startEvent>
<scriptTask id="calc"><incoming>f1</incoming><outgoing>f2</outgoing>
  <script>{script}</script></scriptTask>
<exclusiveGateway id="gate" default="f4"><incoming>f2</incoming><outgoing>f3</outgoing>
  <outgoing>f4</outgoing></exclusiveGateway>
<endEvent id="big"><incoming>f3</incoming></endEvent>
<endEvent id="small"><incoming>f4</incoming></endEvent>
<sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
<sequenceFlow id="f2" sourceRef="calc" targetRef="gate"/>
<sequenceFlow id="f3" sourceRef="gate" targetRef="big">
  <conditionExpression>{condition}</conditionExpression></sequenceFlow>
<sequenceFlow id="f4" sourceRef="gate" targetRef="small"/>
"""


@pytest.mark.parametrize(
    ("script", "condition", "element", "line"),
    [
        (f"x = {LONG_SUM}", "x == 1", "calc", 8),
        ("x = " + "-" * 20_000 + "1", "x == 1", "calc", 8),
        ("x = 1", f"x == {LONG_SUM}", "f3", 16),
    ],
    ids=["long-sum-script", "unary-run-script", "long-sum-condition"],
)
def test_a_script_or_condition_too_deep_to_compile_is_refused_on_its_element(
    owner: Actor, script: str, condition: str, element: str, line: int
) -> None:
    xml = one_process("deep_sum", script_then_gateway(script, condition))
    response = owner.upload(extra=[("deep_sum.bpmn", xml)])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    [detail] = error["details"]
    assert (detail["element_id"], detail["file"], detail["line"]) == (
        element,
        "deep_sum.bpmn",
        line,
    )
    assert "too deeply nested for Python to run" in detail["message"]
    assert owner.models() == []


def test_a_decision_cell_too_deep_to_compile_is_refused_on_its_cell(owner: Actor) -> None:
    table = (DIAGRAMS / "discount.dmn").read_text()
    table = table.replace("&gt;= 100000", f"&gt;= {LONG_SUM}", 1)
    response = owner.upload("deal_pricing.bpmn", extra=[("discount.dmn", table.encode())])
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert [(d["element_id"], d["file"]) for d in details] == [
        ("UnaryTests_gold_amount", "discount.dmn")
    ]
    assert owner.models() == []


def test_a_script_python_compiles_but_the_script_engine_cannot_run_is_refused(
    owner: Actor,
) -> None:
    """A sum of 900 terms compiles, but the script engine's rewrite of it recursed too deep:
    it deployed and every run failed ("maximum recursion depth exceeded")."""
    xml = one_process("long_sum", script_then_gateway("x = " + "+".join(["1"] * 900)))
    response = owner.upload(extra=[("long_sum.bpmn", xml)])
    assert response.status_code == 422, response.get_json()
    [detail] = response.get_json()["error"]["details"]
    assert detail["element_id"] == "calc"
    assert "script is too deeply nested for Python to run" in detail["message"]


def test_a_long_script_the_script_engine_runs_still_deploys_and_runs(
    owner: Actor, agent: Actor
) -> None:
    """Pins what already worked: a sum of 100 terms is no problem."""
    xml = one_process("long_sum", script_then_gateway("x = " + "+".join(["1"] * 100)))
    assert owner.upload(extra=[("long_sum.bpmn", xml)]).status_code == 201
    assert agent.start("long_sum")["data"]["x"] == 100


ELIF_CHAIN = (
    "".join(f"{'if' if i == 0 else 'elif'} x == {i}:\n    y = {i}\n" for i in range(450))
    + "else:\n    y = -1\n"
)
SUM_280 = "+".join(["1"] * 280)


@pytest.mark.parametrize(
    ("script", "condition", "data"),
    [
        (f"x = {SUM_280}", "x == 280", {"x": 280}),
        ("x = 449\n" + ELIF_CHAIN, "y == 449", {"x": 449, "y": 449}),
        ("x = ' 1 '" + ".strip()" * 160, "x == '1'", {"x": "1"}),
        ("x = 280", f"x == {SUM_280}", {"x": 280}),
    ],
    ids=["sum-280-terms", "elif-450-branches", "160-chained-calls", "condition-sum-280"],
)
def test_what_the_script_engine_can_prepare_deploys_and_runs_whoever_prepares_it(
    owner: Actor,
    agent: Actor,
    monkeypatch: pytest.MonkeyPatch,
    script: str,
    condition: str,
    data: dict[str, Any],
) -> None:
    """These ran in every step but were refused at deploy: the check prepared them 150 frames
    deeper than the deploy stood, a margin for steps standing deeper. Both now prepare them on
    one thread of fixed depth, so the check refuses only what a step could not run."""
    xml = one_process("long_text", script_then_gateway(script, condition))
    response = owner.upload(extra=[("long_text.bpmn", xml)])
    assert response.status_code == 201, response.get_json()
    # the step prepares the texts itself, as a worker that did not deploy them does
    monkeypatch.setattr(sandbox, "_GUARDED", {})
    done = agent.start("long_text")
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    assert done["data"] == data


def test_a_long_condition_with_another_literal_is_said_as_such_on_its_flow(owner: Actor) -> None:
    """A condition the script engine runs (320 terms) that writes ``true``: the check that
    suggests ``True`` rewrote it with ``ast.unparse``, which recursed deeper than the deploy
    stood, and the deploy was refused as "too deeply nested" on no element."""
    condition = "x == true or y == " + "+".join(["1"] * 320)
    xml = one_process("long_true", script_then_gateway("x = 1", condition))
    response = owner.upload(extra=[("long_true.bpmn", xml)])
    assert response.status_code == 422, response.get_json()
    [detail] = response.get_json()["error"]["details"]
    assert detail["element_id"] == "f3", detail
    assert "uses 'true'" in detail["message"] and "'True'" in detail["message"], detail
    assert owner.models() == []


def test_a_step_prepares_its_script_while_the_thread_of_fixed_depth_is_busy(
    owner: Actor, agent: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every script a step prepared went through the process's one thread of fixed depth,
    behind whatever it was preparing (a deploy's text of 40,000 lines held every step for
    seconds). A step prepares where it stands; only a text too deep there goes to it."""
    xml = one_process("while_busy", script_then_gateway("x = 1 + 1", "x == 2"))
    assert owner.upload(extra=[("while_busy.bpmn", xml)]).status_code == 201
    monkeypatch.setattr(sandbox, "_GUARDED", {})  # as a worker that did not deploy them
    begun, release = threading.Event(), threading.Event()

    def hold() -> None:
        begun.set()
        release.wait(30)  # a bound, should the step wait behind it

    holder = threading.Thread(target=fixed_depth.run, args=(hold,))
    holder.start()
    begun.wait()
    try:
        done = agent.start("while_busy")
        held = not release.is_set() and holder.is_alive()
    finally:
        release.set()
        holder.join()
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    assert held, "the step waited for the thread of fixed depth"
