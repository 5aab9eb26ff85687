"""FEEL durations, wrong types and zoned dates where they still read as Python, through the API.

Before: a duration a message or signal carried, or a multi-instance task's form started with,
showed as Python's text (``28 days, 0:00:00``) where the instance's data showed ``P28D``, and
a user task whose input mapping gave its form a duration or a date could not open (500);
``floor("x")``, ``substring("abc", "x")`` and other functions given a value of the wrong type
failed the task (FEEL: null); ``list contains`` and ``distinct values`` told ``P12M`` from
``P1Y``; ``date and time("2024-03-01@Europe/Berlin")``, a date with a zone but no time, was
read as midnight (Camunda 8: null); and every deploy parsed its diagrams a second time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import validation
from tests.engine.conftest import Actor, Timed
from tests.engine.test_feel_edges import computed
from tests.engine.test_feel_everywhere import deployed, flows, q, zeebe
from tests.engine.test_review_feel import scripted

GAP = '=date("2024-03-01") - date("2024-02-02")'  # P28D
DAY = '=date("2024-03-01")'
INPUTS = f"""        <zeebe:ioMapping>
          <zeebe:input source="{q(GAP)}" target="gap" />
          <zeebe:input source="{q(DAY)}" target="day" />
        </zeebe:ioMapping>"""
CARRIED = {
    "gap": "P28D",
    "day": "2024-03-01",
}  # the duration as the data shows it, the date as before

DECLARED = (
    '  </bpmn:process>\n  <bpmn:message id="Message_gap" name="gap_found" />\n'
    '  <bpmn:signal id="Signal_gap" name="gap_seen" />\n'
)


def _declared(text: bytes) -> bytes:
    return text.replace(b"  </bpmn:process>\n", DECLARED.encode(), 1)


def _thrower(process: str, definition: str) -> bytes:
    body = f"""    <bpmn:startEvent id="Begin" />
    <bpmn:intermediateThrowEvent id="Tell">
      <bpmn:extensionElements>
{INPUTS}
      </bpmn:extensionElements>
      {definition}
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Done" />
""" + flows("Begin>Tell", "Tell>Done")
    return _declared(zeebe(process, body))


def _started_by(owner: Actor, process: str) -> dict[str, Any]:
    items = owner.get("/api/v1/process-instances").get_json()["items"]
    (found,) = [owner.instance(i["id"]) for i in items if i["process_id"] == process]
    return found


def test_a_message_carries_a_duration_as_the_data_shows_it(timed: Timed) -> None:
    owner = timed.owner
    receiver = """    <bpmn:startEvent id="Heard">
      <bpmn:messageEventDefinition id="Def_heard" messageRef="Message_gap" />
    </bpmn:startEvent>
    <bpmn:userTask id="Review" />
    <bpmn:endEvent id="Reviewed" />
""" + flows("Heard>Review", "Review>Reviewed")
    deployed(
        owner,
        (
            "gap_sender.bpmn",
            _thrower(
                "gap_sender",
                '<bpmn:messageEventDefinition id="Def_tell" messageRef="Message_gap" />',
            ),
        ),
        ("gap_listener.bpmn", _declared(zeebe("gap_listener", receiver))),
    )
    sent = owner.start("gap_sender")
    assert sent["status"] == "completed", sent["incidents"]
    assert timed.advance(seconds=1) >= 1
    data = _started_by(owner, "gap_listener")["data"]
    assert {key: data.get(key) for key in CARRIED} == CARRIED


def test_a_signal_carries_a_duration_as_the_data_shows_it(timed: Timed) -> None:
    owner = timed.owner
    receiver = """    <bpmn:startEvent id="Listen" />
    <bpmn:intermediateCatchEvent id="Seen">
      <bpmn:signalEventDefinition id="Def_seen" signalRef="Signal_gap" />
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Review" />
    <bpmn:endEvent id="Reviewed" />
""" + flows("Listen>Seen", "Seen>Review", "Review>Reviewed")
    deployed(
        owner,
        (
            "gap_thrower.bpmn",
            _thrower(
                "gap_thrower", '<bpmn:signalEventDefinition id="Def_tell" signalRef="Signal_gap" />'
            ),
        ),
        ("gap_watcher.bpmn", _declared(zeebe("gap_watcher", receiver))),
    )
    waiting = owner.start("gap_watcher")["id"]
    thrown = owner.start("gap_thrower")
    assert thrown["status"] == "completed", thrown["incidents"]
    assert timed.advance(seconds=1) >= 1
    assert owner.instance(waiting)["data"] == CARRIED


GAP_FORM = {
    "id": "gap-form",
    "type": "default",
    "components": [
        {"type": "textfield", "key": "gap", "label": "Gap"},
        {"type": "textfield", "key": "note", "label": "Note"},
    ],
}
EACH_GAP = (
    """    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Check" name="Check the gap">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:formDefinition formId="gap-form" />
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="{GAPS}" inputElement="gap" />
        </bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="Done" />
""".replace("{GAPS}", q(f'=[{GAP[1:]}, duration("PT2H30M")]'))
    + flows("Begin>Check", "Check>Done")
)


def test_a_multi_instance_form_starts_with_its_duration_as_the_data_shows_it(
    owner: Actor, agent: Actor
) -> None:
    deployed(
        owner,
        ("each_gap.bpmn", zeebe("each_gap", EACH_GAP)),
        ("gap.form", json.dumps(GAP_FORM).encode()),
    )
    started = agent.start("each_gap")
    assert started["status"] == "running", started["incidents"]
    (first,) = started["ready_tasks"]
    assert first["values"] == {"gap": "P28D"}
    (second,) = agent.complete_ok(first["id"], {"note": "ok"})["ready_tasks"]
    assert second["values"] == {"gap": "PT2H30M"}


ONE_GAP = """    <bpmn:startEvent id="Begin" />
    <bpmn:userTask id="Check" name="Check the gap">
      <bpmn:extensionElements>
        <zeebe:userTask />
        <zeebe:formDefinition formId="gap-form" />
        <zeebe:ioMapping>
          <zeebe:input source="=duration(&quot;P1DT2H&quot;)" target="gap" />
          <zeebe:input source="=date(&quot;2024-03-01&quot;)" target="note" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="Done" />
""" + flows("Begin>Check", "Check>Done")


def test_a_form_starts_with_its_task_inputs_of_a_duration_and_a_date(
    owner: Actor, agent: Actor
) -> None:
    """Before: the inputs were written to the work item as they were, and JSON has no
    duration or date, so starting the instance answered 500 and kept nothing."""
    deployed(
        owner,
        ("one_gap.bpmn", zeebe("one_gap", ONE_GAP)),
        ("gap.form", json.dumps(GAP_FORM).encode()),
    )
    started = agent.start("one_gap")
    (task,) = started["ready_tasks"]
    assert task["values"] == {"gap": "P1DT2H", "note": "2024-03-01"}


WRONG_TYPES = {
    "floor": ('floor("x")', None),
    "ceiling": ('ceiling("x")', None),
    "substring_from": ('substring("abc", "x")', None),
    "substring_length": ('substring("abc", 1, "x")', None),
    "abs": ('abs("x")', None),
    "round_half_up": ('round half up("x", 2)', None),
    "decimal": ('decimal(1.5, "x")', None),
    "sublist": ('sublist([1, 2], "x")', None),
    "still_floors": ("floor(1.5)", 1),
    "still_cuts": ('substring("abc", 2)', "bc"),
}


def test_a_function_given_the_wrong_type_is_null(owner: Actor, agent: Actor) -> None:
    """Before: each but ``abs`` failed the task (Python's TypeError or ValueError)."""
    out = computed(owner, agent, "feel_wrong_types", WRONG_TYPES)
    assert out == {name: want for name, (_feel, want) in WRONG_TYPES.items()}
    # more arguments than the function takes still fails, as it did
    deployed(owner, ("feel_floor_two.bpmn", zeebe("feel_floor_two", scripted("=floor(1.5, 2)"))))
    stopped = agent.start("feel_floor_two")
    (incident,) = stopped["incidents"]
    assert (stopped["status"], incident["element_id"]) == ("error", "Calc"), incident


YEARS_AND_MONTHS = {
    "contains": ('list contains([duration("P1Y")], duration("P12M"))', True),
    "not_contains": ('list contains([duration("P1Y")], duration("P13M"))', False),
    "not_text": ('list contains(["P1Y"], duration("P1Y"))', False),
    "distinct": (
        'distinct values([duration("P1Y"), duration("P12M"), duration("P2M")])',
        ["P1Y", "P2M"],
    ),
    "index": (
        'index of([duration("P12M"), duration("P2M"), duration("P1Y")], duration("P1Y"))',
        [1, 3],
    ),
    "union": ('union([duration("P1Y")], [duration("P12M")])', ["P1Y"]),
}


def test_list_functions_find_a_duration_of_months_by_its_months(owner: Actor, agent: Actor) -> None:
    """Before: they compared the text, so ``P12M`` was not ``P1Y`` (as ``=`` says it is now),
    and ``P1Y`` the text ``"P1Y"``."""
    out = computed(owner, agent, "feel_list_months", YEARS_AND_MONTHS)
    assert out == {name: want for name, (_feel, want) in YEARS_AND_MONTHS.items()}


ZONED = {
    "date_with_zone": ('date and time("2024-03-01@Europe/Berlin")', None),
    "with_time": (
        'string(date and time("2024-03-01T10:00:00@Europe/Berlin"))',
        "2024-03-01T10:00:00+01:00",
    ),
}


def test_a_date_with_a_zone_and_no_time_is_no_date_and_time(owner: Actor, agent: Actor) -> None:
    """Before: read as midnight in Berlin; Camunda 8's FEEL gives null."""
    out = computed(owner, agent, "feel_zoned_dates", ZONED)
    assert out == {name: want for name, (_feel, want) in ZONED.items()}


def test_a_deploy_without_a_problem_reads_its_diagrams_once(owner: Actor, monkeypatch: Any) -> None:
    """Before, validation parsed every BPMN file of a deploy a second time, to put a missing
    called process on its call activity, though there was none to put (0.2 to 0.6 ms of CPU
    for each shipped diagram); a deploy with such a problem still has it located
    (``test_listener_scopes``)."""
    reads: list[list[str]] = []
    read = validation.readable_trees

    def counted(files: Any) -> Any:
        reads.append(sorted(files))
        return read(files)

    monkeypatch.setattr(validation, "readable_trees", counted)
    shipped = Path(__file__).parents[2] / "bpmn"
    files = [
        (p.name, p.read_bytes()) for p in (shipped / "after_sale.bpmn", *shipped.glob("*.json"))
    ]
    response = owner.upload(extra=files)
    assert response.status_code == 201, response.get_data(as_text=True)[:3000]
    assert [names for names in reads if names] == [["after_sale.bpmn"]]
