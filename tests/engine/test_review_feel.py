"""FEEL as Camunda's FEEL reads it, through the API: three-valued ``and``/``or``/``not``,
list positions out of range as null, booleans never equal to numbers in list functions, a
date plus a duration of months, and
``distinct values``/``union`` over 10^5 items within the step's time.

Before: ``null and false`` was null and ``null or false`` false (Python's ``and``/``or``),
``not(null)`` true, so ``=not(vip)`` without ``vip`` took its flow where Zeebe stops the
gateway; ``lines[3]`` of two lines failed the task (FEEL: null) and ``[1,2,3][0]`` was refused
at deploy; ``list contains([1], true)`` was true; ``distinct values`` compared each item with
every one kept, hours over 10^6 items, where the step's time limit could not stop it;
``date("2026-01-31") + duration("P1M")`` was null (FEEL: 2026-02-28).
"""

from __future__ import annotations

import time

from tests.engine.test_feel_everywhere import deployed, flows, q, zeebe


def scripted(expression: str) -> str:
    """A process whose script task sets ``out`` to the FEEL ``expression``."""
    return f"""    <bpmn:startEvent id="Begin"/>
    <bpmn:scriptTask id="Calc">
      <bpmn:extensionElements>
        <zeebe:script expression="{q(expression)}" resultVariable="out"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Done"/>
""" + flows("Begin>Calc", "Calc>Done")


# FEEL → what Camunda's FEEL gives (docs.camunda.io: boolean expressions, list expressions)
EVERYDAY = {
    "null_and_false": ("null and false", False),
    "true_and_null": ("true and null", None),
    "text_and_true": ('"a" and true', None),
    "null_or_false": ("null or false", None),
    "null_or_true": ("null or true", True),
    "not_null": ("not(vip)", None),
    "not_number": ("not(1)", None),
    "not_false": ("not(false)", True),
    "past_the_end": ("lines[3]", None),
    "before_the_start": ("lines[-3]", None),
    "position_zero": ("[1, 2, 3][0]", None),
    "last": ("lines[-1].sku", "b"),
    "of_null": ("nothing[1]", None),
    "true_is_no_one": ("list contains([1], true)", False),
    "distinct": ("distinct values([1, true, 1.0, [1], [1]])", [1, True, [1]]),
    "union": ("union([1, 2], [2, true])", [1, 2, True]),
    "index": ("index of([1, true], true)", [2]),
    "a_month_on": ('date("2026-01-31") + duration("P1M")', "2026-02-28"),
    "a_year_back": ('date("2024-02-29") - duration("P1Y")', "2023-02-28"),
    "tenure_on": (
        'date("2026-05-04") + years and months duration(date("2020-01-15"), date("2026-03-20"))',
        "2032-07-04",
    ),
    "months_kept": ('duration("P2M")', "P2M"),
}


def test_everyday_feel_reads_as_camunda_does(owner, agent):
    context = ", ".join(f"{name}: {feel}" for name, (feel, _want) in EVERYDAY.items())
    deployed(owner, ("everyday.bpmn", zeebe("feel_everyday", scripted("={" + context + "}"))))
    lines = [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]
    done = agent.start("feel_everyday", {"lines": lines})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["out"] == {name: want for name, (_feel, want) in EVERYDAY.items()}


GATE = """    <bpmn:startEvent id="Begin"/>
    <bpmn:exclusiveGateway id="Plain" default="Flow_Plain_Vip"/>
    <bpmn:endEvent id="Standard"/>
    <bpmn:endEvent id="Vip"/>
    <bpmn:sequenceFlow id="Flow_Begin_Plain" sourceRef="Begin" targetRef="Plain"/>
    <bpmn:sequenceFlow id="Flow_Plain_Standard" sourceRef="Plain" targetRef="Standard">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        =not(vip)
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_Plain_Vip" sourceRef="Plain" targetRef="Vip"/>"""


def test_not_of_a_missing_variable_stops_the_gateway(owner, agent):
    """Zeebe: ``not(null)`` is null, and a null condition is an incident on the gateway."""
    deployed(owner, ("not.bpmn", zeebe("feel_not", GATE)))
    assert agent.start("feel_not", {"vip": False})["status"] == "completed"
    stopped = agent.start("feel_not", {})
    (incident,) = stopped["incidents"]
    assert (stopped["status"], incident["element_id"]) == ("error", "Plain"), incident
    assert "evaluated to null" in incident["message"]


def test_distinct_values_of_many_items_takes_no_time(owner, agent):
    """25,600 numbers, made by two ``for``s over 160: kept by a set, not by a scan of every
    item kept so far (seconds here, hours at 10^6, and no time limit could stop it)."""
    feel = "=count(distinct values(flatten(for x in big return for y in big return x * 1000 + y)))"
    deployed(owner, ("distinct.bpmn", zeebe("feel_distinct", scripted(feel))))
    began = time.process_time()
    done = agent.start("feel_distinct", {"big": list(range(160))})
    spent = time.process_time() - began
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["out"] == 160 * 160
    assert spent < 2.5, f"{spent:.1f} s of CPU"


# -- a signal throw whose inputs no instance could hold ---------------------------------------

PAUSED = '  </bpmn:process>\n  <bpmn:signal id="Signal_paused" name="lead_paused" />\n'
THROWER = """    <bpmn:startEvent id="Begin" />
    <bpmn:intermediateThrowEvent id="Pause">
      <bpmn:extensionElements>
        <zeebe:ioMapping>
          <zeebe:input source="=for x in calls return calls" target="history" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:signalEventDefinition id="Def_pause" signalRef="Signal_paused" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Done" />
""" + flows("Begin>Pause", "Pause>Done")
RECEIVER = """    <bpmn:startEvent id="Listen" />
    <bpmn:intermediateCatchEvent id="Paused">
      <bpmn:signalEventDefinition id="Def_paused" signalRef="Signal_paused" />
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Review" />
    <bpmn:endEvent id="Reviewed" />
""" + flows("Listen>Paused", "Paused>Review", "Review>Reviewed")


def test_a_signal_too_large_for_any_instance_is_an_incident_on_its_throw(timed):
    """1,100 × 1,100 numbers (7 MB) in the signal's inputs: every receiver refused them and kept
    waiting while the thrower went on; now the throw stops with an incident a retry runs."""
    owner = timed.owner
    signal = PAUSED.encode()
    thrower = zeebe("signal_thrower", THROWER).replace(b"  </bpmn:process>\n", signal)
    receiver = zeebe("signal_receiver", RECEIVER).replace(b"  </bpmn:process>\n", signal)
    deployed(owner, ("thrower.bpmn", thrower), ("receiver.bpmn", receiver))
    waiting = owner.start("signal_receiver")["id"]
    thrown = owner.start("signal_thrower", {"calls": list(range(1100))})
    (incident,) = thrown["incidents"]
    assert (thrown["status"], incident["element_id"]) == ("error", "Pause"), incident
    assert "more than an instance may hold" in incident["message"], incident["message"]
    retried = owner.post(
        f"/api/v1/process-instances/{thrown['id']}/retry", json={"data": {"calls": [1, 2]}}
    )
    assert retried.get_json()["status"] == "completed", retried.get_json()
    assert timed.advance(seconds=1) >= 1
    assert owner.instance(waiting)["data"] == {"history": [[1, 2], [1, 2]]}
