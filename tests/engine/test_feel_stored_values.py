"""Durations and dates where the data still held Python's text or lost their type, through the API.

Before: a service task's result, a handler's business error data and a script's ``fail()``
data holding a duration were stored as Python's text (``28 days, 0:00:00``), where the data
shows ``P28D`` elsewhere; a duration of years and months kept in the data came back as plain
text after the instance waited, so ``ym = duration("P12M")`` was null; ``list contains``,
``distinct values``, ``index of`` and ``union`` told lists and contexts apart by their JSON
text, so ``[duration("P1Y")]`` was not ``[duration("P12M")]`` nor ``[1]`` ``[1.0]``; and
``string length(12)`` was 2 (FEEL: null, as for any string function given no string).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dialflow.runtime import Runtime
from engine.service import ProcessEngine
from handlers import build_registry
from handlers.registry import HandlerContext, HandlerError
from tests.engine.conftest import Actor, Timed, only
from tests.engine.test_feel_edges import computed
from tests.engine.test_feel_everywhere import deployed, flows, q, zeebe

WAIT = timedelta(days=28)
GAPS = [timedelta(hours=2, minutes=30), timedelta(seconds=-1.5)]


@pytest.fixture
def cooldown_engine(runtime: Runtime) -> ProcessEngine:
    """The runtime's engine with ``test.cooldown``: how long to wait before calling customer
    ``customer_id`` again; customer 13 asked not to be called, a business error with how long
    and since when."""
    registry = build_registry()

    @registry.register("test.cooldown", "How long before the next call")
    def cooldown(ctx: HandlerContext, customer_id: int) -> dict[str, Any]:
        if customer_id == 13:
            raise HandlerError(
                "customer 13 asked not to be called",
                code="DNC",
                data={"wait": WAIT, "since": date(2026, 3, 1), "gaps": GAPS},
            )
        return {"wait": WAIT, "plan": {"gaps": GAPS}, "since": date(2026, 3, 1)}

    engine = ProcessEngine(registry=registry, clock=runtime.clock)
    runtime._engine = engine
    return engine


DNC = '  <bpmn:error id="Error_dnc" name="Do not call" errorCode="DNC" />\n'


def _screened(process: str, work: str) -> bytes:
    """``work`` (a task ``Screen``) with a boundary event taking the error ``DNC``."""
    body = f"""    <bpmn:startEvent id="Begin" />
{work}
    <bpmn:boundaryEvent id="Refused" attachedToRef="Screen">
      <bpmn:errorEventDefinition id="Def_refused" errorRef="Error_dnc" />
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Close" />
    <bpmn:userTask id="Call" />
    <bpmn:endEvent id="Closed" />
    <bpmn:endEvent id="Called" />
""" + flows("Begin>Screen", "Screen>Call", "Refused>Close", "Close>Closed", "Call>Called")
    return zeebe(process, body, before=DNC)


SERVICE = """    <bpmn:serviceTask id="Screen">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="test.cooldown" />
        <zeebe:ioMapping>
          <zeebe:input source="=customer_id" target="customer_id" />
          <zeebe:output source="=wait" target="wait" />
          <zeebe:output source="=since" target="since" />
          <zeebe:output source="=plan" target="plan" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:serviceTask>"""

STORED = {"wait": "P28D", "since": "2026-03-01"}
STORED_GAPS = ["PT2H30M", "-PT1.5S"]


def test_a_service_tasks_result_and_error_data_store_durations_as_iso(
    cooldown_engine: ProcessEngine, owner: Actor, agent: Actor
) -> None:
    deployed(owner, ("cooldown.bpmn", _screened("cooldown", SERVICE)))
    fine = agent.start("cooldown", {"customer_id": 7})
    assert (fine["status"], fine["incidents"]) == ("running", [])
    assert {key: fine["data"][key] for key in STORED} == STORED
    assert fine["data"]["plan"] == {"gaps": STORED_GAPS}

    refused = agent.start("cooldown", {"customer_id": 13})
    assert [task["name"] for task in refused["ready_tasks"]] == ["Close"]
    assert {key: refused["data"][key] for key in STORED} == STORED
    assert refused["data"]["gaps"] == STORED_GAPS
    assert refused["data"]["error_code"] == "DNC"


FAILING = """    <bpmn:scriptTask id="Screen">
      <bpmn:script>
data = {"wait": timedelta(days=28), "since": date(2026, 3, 1)}
data["gaps"] = [timedelta(hours=2, minutes=30)]
fail("DNC", "asked not to be called", data)
      </bpmn:script>
    </bpmn:scriptTask>"""


def test_a_scripts_failure_data_stores_durations_as_iso(owner: Actor, agent: Actor) -> None:
    deployed(owner, ("refusing.bpmn", _screened("refusing", FAILING)))
    refused = agent.start("refusing", {})
    assert [task["name"] for task in refused["ready_tasks"]] == ["Close"]
    assert {key: refused["data"][key] for key in STORED} == STORED
    assert refused["data"]["gaps"] == ["PT2H30M"]


NESTED = {
    "same": ('([duration("P1Y")] = [duration("P12M")])', True),  # right before too
    "contains": ('list contains([[duration("P1Y")]], [duration("P12M")])', True),
    "contains_not": ('list contains([[duration("P1Y")]], [duration("P13M")])', False),
    "contains_context": ('list contains([{gap: duration("P1Y")}], {gap: duration("P12M")})', True),
    "contains_number": ("list contains([[1]], [1.0])", True),
    "distinct": (
        'distinct values([[duration("P1Y")], [duration("P12M")], [duration("P2M")]])',
        None,
    ),
    "distinct_days": ('distinct values([[duration("PT24H")], [duration("P1D")]])', [["P1D"]]),
    "index": ('index of([[duration("P12M")], [duration("P2M")]], [duration("P1Y")])', [1]),
    "union": ('union([[duration("P1Y")]], [[duration("P12M")], [1]])', [["P1Y"], [1]]),
    "not_true": ("distinct values([[1], [true]])", [[1], [True]]),
}
NESTED["distinct"] = (NESTED["distinct"][0], [["P1Y"], ["P2M"]])


def test_durations_inside_lists_and_contexts_are_compared_by_value(
    owner: Actor, agent: Actor
) -> None:
    out = computed(owner, agent, "feel_nested_durations", NESTED)
    assert out == {name: want for name, (_feel, want) in NESTED.items()}


NO_STRINGS = {
    "length": ("string length(12)", None),
    "length_of_months": ('string length(duration("P1Y"))', None),
    "upper": ("upper case(12)", None),
    "lower": ("lower case(true)", None),
    "trim": ("trim(12)", None),
    "contains": ('contains(12, "1")', None),
    "starts": ("starts with(12, 1)", None),
    "ends": ('ends with("12", 2)', None),
    "substring": ("substring(12345, 2)", None),
    "before": ('substring before(12345, "3")', None),
    "still_length": ('string length("电话 12")', 5),
    "still_upper": ('upper case("vip")', "VIP"),
    "still_after": ('substring after("a@b", "@")', "b"),
}


def test_a_string_function_given_no_string_is_null(owner: Actor, agent: Actor) -> None:
    out = computed(owner, agent, "feel_no_strings", NO_STRINGS)
    assert out == {name: want for name, (_feel, want) in NO_STRINGS.items()}


KEPT = (
    '={ym: duration("P1Y"), days: duration("P1D"), day: date("2024-03-01"), '
    'at: date and time("2024-03-01T10:00:00+08:00"), listed: [duration("P2M")]}'
)
COMPARED = {
    "ym": ('kept.ym = duration("P12M")', True),
    "ym_less": ('kept.ym < duration("P13M")', True),
    "ym_plus": ('date("2024-01-31") + kept.ym', "2025-01-31"),
    "listed": ('list contains(kept.listed, duration("P2M"))', True),
    "days": ('kept.days = duration("PT24H")', True),
    "day": ('kept.day < date("2024-03-02")', True),
    "at": ('kept.at = date and time("2024-03-01T02:00:00Z")', True),
}


def _kept_then(waiting: str) -> str:
    """A script keeping typed values in ``kept``, ``waiting``, then one comparing them."""
    compared = "={" + ", ".join(f"{k}: {feel}" for k, (feel, _want) in COMPARED.items()) + "}"
    return f"""    <bpmn:startEvent id="Begin"/>
    <bpmn:scriptTask id="Keep">
      <bpmn:extensionElements>
        <zeebe:script expression="{q(KEPT)}" resultVariable="kept"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
{waiting}
    <bpmn:scriptTask id="Compare">
      <bpmn:extensionElements>
        <zeebe:script expression="{q(compared)}" resultVariable="out"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Done"/>
""" + flows("Begin>Keep", "Keep>Wait", "Wait>Compare", "Compare>Done")


def test_durations_and_dates_kept_in_the_data_compare_as_such_after_a_wait(
    timed: Timed,
) -> None:
    owner, agent = timed.owner, timed.agent
    task = '    <bpmn:userTask id="Wait"/>'
    timer = """    <bpmn:intermediateCatchEvent id="Wait">
      <bpmn:timerEventDefinition id="Def_wait">
        <bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>"""
    deployed(owner, ("kept_task.bpmn", zeebe("kept_task", _kept_then(task))))
    deployed(owner, ("kept_timer.bpmn", zeebe("kept_timer", _kept_then(timer))))
    want = {name: value for name, (_feel, value) in COMPARED.items()}

    started = agent.start("kept_task")
    assert started["data"]["kept"]["ym"] == "P1Y"
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {})
    assert (done["status"], done["data"]["out"]) == ("completed", want)

    waiting = agent.start("kept_timer")["id"]
    assert timed.advance(hours=1) == 1
    done = owner.instance(waiting)
    assert (done["status"], done["data"]["out"]) == ("completed", want)
