"""FEEL's edge cases as Camunda 8's FEEL (feel-scala) answers them, through the API.

Before: ``date("soon")``, ``number("x")``, ``time("x")``, ``date and time("x")`` and
``duration("x")`` failed the task (FEEL: null); ``1 = true`` was true and ``"1" != 1`` true
(FEEL: values of two kinds are not compared, null); ``date("2024-03-01") - date("2024-02-02")``
showed as ``28 days, 0:00:00`` (FEEL: ``P28D``); ``date and time("…@Europe/Berlin")`` failed;
``for 客户 in 客户列表 return …`` was refused at deploy though ``客户列表[1].金额`` ran;
``sort`` with a function answering null left the list as it was (FEEL: null); and
``matches``/``replace``/``split`` ran Python's ``re``, which no time limit stops, so a pattern
that backtracks without end held the worker for hours.
"""

from __future__ import annotations

import time

import pytest

from tests.engine.test_feel_everywhere import deployed, zeebe
from tests.engine.test_review_feel import scripted


def computed(owner, agent, process: str, cases: dict[str, tuple[str, object]], data=None):
    """Run a script task setting ``out`` to a context of ``cases``' FEEL; return ``out``."""
    context = ", ".join(f"{name}: {feel}" for name, (feel, _want) in cases.items())
    deployed(owner, (f"{process}.bpmn", zeebe(process, scripted("={" + context + "}"))))
    done = agent.start(process, data or {})
    assert done["status"] == "completed", done["incidents"]
    return done["data"]["out"]


CONVERSIONS = {
    "a_date": ('date("soon")', None),
    "a_number": ('number("x")', None),
    "not_a_number": ('number("NaN")', None),
    "a_time": ('time("x")', None),
    "a_date_and_time": ('date and time("x")', None),
    "a_duration": ('duration("x")', None),
    "no_month_13": ("date(2024, 13, 1)", None),
    "still_read": ('number("1500") + 1', 1501),
}


def test_malformed_text_to_a_conversion_is_null(owner, agent):
    out = computed(owner, agent, "feel_conversions", CONVERSIONS)
    assert out == {name: want for name, (_feel, want) in CONVERSIONS.items()}


EQUALITY = {
    "one_is_true": ("1 = true", None),
    "one_is_not_true": ("1 != true", None),
    "text_is_number": ('"1" = 1', None),
    "text_is_not_number": ('"1" != 1', None),
    "zero_is_false": ("0 = false", None),
    "true_is_true": ("true = true", True),
    "one_is_one": ("1 = 1.0", True),
    "null_is_null": ("null = null", True),
    "null_is_not_one": ("null != 1", True),
    "lists": ("[1, 2] = [1, 2]", True),
    "list_of_kinds": ("[1] = [true]", None),
}


def test_values_of_two_kinds_are_not_equal_nor_unequal(owner, agent):
    out = computed(owner, agent, "feel_equality", EQUALITY)
    assert out == {name: want for name, (_feel, want) in EQUALITY.items()}


GATE = """    <bpmn:startEvent id="Begin"/>
    <bpmn:exclusiveGateway id="Tier" default="Flow_Tier_Other"/>
    <bpmn:endEvent id="Gold"/>
    <bpmn:endEvent id="Other"/>
    <bpmn:sequenceFlow id="Flow_Begin_Tier" sourceRef="Begin" targetRef="Tier"/>
    <bpmn:sequenceFlow id="Flow_Tier_Gold" sourceRef="Tier" targetRef="Gold">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        ={condition}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_Tier_Other" sourceRef="Tier" targetRef="Other"/>"""


@pytest.mark.parametrize(
    ("condition", "data"),
    [("vip = true", {"vip": 1}), ("tier != 1", {"tier": "1"})],
    ids=["number_is_true", "text_is_not_number"],
)
def test_a_condition_comparing_two_kinds_stops_the_gateway(owner, agent, condition, data):
    """Zeebe: the comparison is null, and a null condition is an incident on the gateway
    (before: ``vip = true`` with ``vip`` 1 took the flow, ``"1" != 1`` too)."""
    process = "feel_kinds_" + condition.split()[0]
    deployed(owner, (f"{process}.bpmn", zeebe(process, GATE.replace("{condition}", condition))))
    stopped = agent.start(process, data)
    (incident,) = stopped["incidents"]
    assert (stopped["status"], incident["element_id"]) == ("error", "Tier"), incident
    assert "evaluated to null" in incident["message"], incident["message"]


TEMPORAL = {
    "between": ('date("2024-03-01") - date("2024-02-02")', "P28D"),
    "as_text": ('string(date("2024-03-01") - date("2024-02-02"))', "P28D"),
    "hours": (
        'date and time("2024-03-01T10:30:00Z") - date and time("2024-03-01T08:00:00Z")',
        "PT2H30M",
    ),
    "back": ('date("2024-02-02") - date("2024-03-01")', "-P28D"),
    "still_adds": ('date("2024-02-02") + (date("2024-03-01") - date("2024-02-02"))', "2024-03-01"),
    "winter": (
        'date and time("2024-03-01T10:00:00@Europe/Berlin") = '
        'date and time("2024-03-01T09:00:00Z")',
        True,
    ),
    "summer": (
        'string(date and time("2024-07-01T10:00:00@Europe/Berlin"))',
        "2024-07-01T10:00:00+02:00",
    ),
    "no_such_zone": ('date and time("2024-07-01T10:00:00@Mars/Base")', None),
}


def test_durations_show_as_iso_and_zones_are_read(owner, agent):
    out = computed(owner, agent, "feel_temporal_edges", TEMPORAL)
    assert out == {name: want for name, (_feel, want) in TEMPORAL.items()}


UNICODE = {
    "amounts": ("for 客户 in 客户列表 return 客户.金额", [100, 250]),
    "some_big": ("some 客户 in 客户列表 satisfies 客户.金额 > 200", True),
    "every_big": ("every 客户 in 客户列表 satisfies 客户.金额 > 200", False),
    "pairs": ("for 甲 in [1, 2], 乙 in [10] return 甲 + 乙", [11, 12]),
    "sorted": ("sort(客户列表.金额, function(前, 后) 前 > 后)", [250, 100]),
    "defined": ("is defined(客户列表)", True),
}


def test_unicode_names_bind_in_for_some_every_and_functions(owner, agent):
    data = {"客户列表": [{"金额": 100}, {"金额": 250}]}
    out = computed(owner, agent, "feel_unicode_loops", UNICODE, data)
    assert out == {name: want for name, (_feel, want) in UNICODE.items()}


SORTS = {
    "null_answer": ("sort([3, 1, 2], function(a, b) null)", None),
    "number_answer": ("sort([3, 1, 2], function(a, b) 1)", None),
    "boolean_answer": ("sort([3, 1, 2], function(a, b) a < b)", [1, 2, 3]),
}


def test_sort_by_a_function_answering_no_boolean_is_null(owner, agent):
    out = computed(owner, agent, "feel_sorts", SORTS)
    assert out == {name: want for name, (_feel, want) in SORTS.items()}


@pytest.mark.parametrize(
    "feel",
    [
        'matches(text, "(a|aa)+$")',
        'replace(text, "(a|aa)+$", "x")',
        'split(text, "(a|aa)+$")',
    ],
    ids=["matches", "replace", "split"],
)
def test_a_pattern_that_backtracks_without_end_is_an_incident_within_a_second(owner, agent, feel):
    """40 letters and a ``!``: 2^40 ways to try. Python's ``re`` held the step for hours, out
    of the step time limit's reach; now the search gives up and the task has an incident."""
    process = "feel_pattern_" + feel.split("(")[0]
    deployed(owner, (f"{process}.bpmn", zeebe(process, scripted("=" + feel))))
    began = time.monotonic()
    stopped = agent.start(process, {"text": "a" * 40 + "!"})
    spent = time.monotonic() - began
    (incident,) = stopped["incidents"]
    assert (stopped["status"], incident["element_id"]) == ("error", "Calc"), incident
    assert incident["kind"] == "pattern_timeout", incident
    assert "(a|aa)+$" in incident["message"] and "retry" in incident["message"], incident
    assert spent < 8, f"{spent:.1f} s (the limit is 0.5 s; a loaded machine stretches it)"


def test_patterns_that_need_no_backtracking_answer_at_once(owner, agent):
    cases = {
        "nested": ('matches("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "(a+)+$")', False),
        "found": ('matches("Lead-42", "\\d+$")', True),
        "no_case": ('matches("VIP", "vip", "i")', True),
        "group": ('replace("13812345678", "(\\d{3})\\d{4}(\\d{4})", "$1****$2")', "138****5678"),
        "parts": ('split("a, b,c", ",\\s*")', ["a", "b", "c"]),
    }
    began = time.monotonic()
    out = computed(owner, agent, "feel_patterns_fine", cases)
    assert out == {name: want for name, (_feel, want) in cases.items()}
    assert time.monotonic() - began < 5


YEARS_AND_MONTHS = {
    "nine_months_short_of_a_year": (
        'years and months duration(date("2024-01-01"), date("2024-10-01")) >= duration("P1Y")',
        False,
    ),
    "ten_months_more_than_two": ('duration("P10M") > duration("P2M")', True),
    "twelve_months_a_year": ('duration("P12M") = duration("P1Y")', True),
    "a_year_not_thirteen_months": ('duration("P1Y") != duration("P13M")', True),
    "back_before_none": ('duration("-P1M") < duration("P0M")', True),
    "text_is_no_duration": ('duration("P1M") < "P2M"', None),
    "longest": ('max(duration("P10M"), duration("P2M"))', "P10M"),
    "in_order": (
        'sort([duration("P1Y"), duration("P10M"), duration("P2M")])',
        ["P2M", "P10M", "P1Y"],
    ),
}


def test_durations_of_years_and_months_compare_by_their_months(owner, agent):
    """Before: compared as their text, ``P9M >= P1Y`` was true (``"9" > "1"``), so a renewal
    condition on a contract's age took its flow three months in, ``P12M = P1Y`` was false,
    the longer of ``P10M`` and ``P2M`` ``P2M``, and ``sort`` put ``P10M`` first."""
    out = computed(owner, agent, "feel_years_months", YEARS_AND_MONTHS)
    assert out == {name: want for name, (_feel, want) in YEARS_AND_MONTHS.items()}


BERLIN_FALL_BACK = "2024-10-27T{}@Europe/Berlin"  # at 03:00 summer time the clocks go back
ON_THE_TIME_LINE = {
    "two_hours_on": (
        f'string(date and time("{BERLIN_FALL_BACK.format("01:30:00")}") + duration("PT2H"))',
        "2024-10-27T02:30:00+01:00",
    ),
    "two_hours_back": (
        f'string(date and time("{BERLIN_FALL_BACK.format("03:30:00")}") - duration("PT2H"))',
        "2024-10-27T02:30:00+02:00",
    ),
    "five_hours_between": (
        f'string(date and time("{BERLIN_FALL_BACK.format("04:00:00")}") - '
        f'date and time("{BERLIN_FALL_BACK.format("00:00:00")}"))',
        "PT5H",
    ),
    "an_hour_later_is_later": (
        f'date and time("{BERLIN_FALL_BACK.format("02:30:00")}") + duration("PT1H") > '
        f'date and time("{BERLIN_FALL_BACK.format("02:30:00")}")',
        True,
    ),
    "spring_gap": (
        'string(date and time("2024-03-31T01:30:00@Europe/Berlin") + duration("PT1H"))',
        "2024-03-31T03:30:00+02:00",
    ),
}


def test_a_zoned_date_and_time_moves_on_the_time_line_over_a_clock_change(owner, agent):
    """FEEL adds a duration to a zoned date and time on the time line. Before, Python added
    it to the clock: over the night Berlin's clocks go back, 01:30 + 2 hours was 03:30 (an
    hour late), 04:00 - 00:00 four hours, and 01:30 + 1 hour the night they go forward 02:30,
    a time Berlin skips; the second 02:30 of the night compares later than the first."""
    out = computed(owner, agent, "feel_time_line", ON_THE_TIME_LINE)
    assert out == {name: want for name, (_feel, want) in ON_THE_TIME_LINE.items()}


def test_a_pattern_counting_past_what_can_be_written_out_is_an_incident_at_once(owner, agent):
    """``regex`` writes a counted repeat out as that many copies when it compiles, in C,
    out of reach of the pattern's and the step's time limits: ``\\d{1000000}`` took a second
    and 260 MB before the search began, ``\\d{1000000000}`` all the worker's memory (Python's
    ``re`` kept the count). Now such a pattern is an incident naming it, before compiling."""
    feel = 'matches(text, "\\d{1000000}")'
    deployed(owner, ("feel_pattern_count.bpmn", zeebe("feel_pattern_count", scripted("=" + feel))))
    stopped = agent.start("feel_pattern_count", {"text": "13812345678"})
    (incident,) = stopped["incidents"]
    assert (stopped["status"], incident["element_id"]) == ("error", "Calc"), incident
    assert "\\d{1000000}" in incident["message"] and "retry" in incident["message"], incident
