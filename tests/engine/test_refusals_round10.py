"""A tenth round of bad input to the model registry, on the contract renewal of round 9: forms
that their meta-schema accepts but no one can fill in (an unknown ``$schema`` draft, ``required``
naming a field the form does not have, an empty ``enum``, a ``default`` its own field refuses),
forms named by a path, a form of more than 5 MB sent in a JSON body; BPMN written by hand (a
timer with two parts in a bpmn.io file, an error declared in another file, error and escalation
codes written as expressions, a flow from a task to itself, a multi-instance activity with a
count and a collection, ids with a space, a child out of order in a ``bpmn:`` file); and files
that are no diagram at all (XML 1.1, a NUL byte, a ZIP or gzip archive, an entity bomb by every
door, a flow of 10,000 elements).

Each is refused with ``422 invalid_bpmn`` (by the upload, the JSON body, the dry run and the
CLI alike) on its element, file and line, in words that say what to do; nothing is stored, and
the version deployed before still deploys and runs. An empty lane set and a lane no task is in
deploy and run.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dialflow.cli import main
from tests.engine.conftest import Actor, refused
from tests.engine.diagram_folders import DiagramFolder, cli_refuses, upload
from tests.engine.test_refusals_round9 import (
    BASE,
    FORM,
    HANDOVER,
    Expected,
    Files,
    H,
    R,
    as_json,
    bundle,
    counts,
    expect,
    still_runs,
)
from tests.timing import collector_paused

ROUND9 = DiagramFolder("refusals9")
D = "r9_discount.dmn"
REVIEW_FORM = json.loads(ROUND9.read(FORM))
HOUR = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>'
REVIEW = 'id="Activity_0review"'


@pytest.fixture
def deployed_before(owner: Actor, db: Any) -> tuple[int, int]:
    """The renewal of round 9 as it runs today: one bundle, its two processes at version 1."""
    ROUND9.deploy(owner, *BASE)
    return counts(db)


def form(**top: Any) -> bytes:
    """The review form with ``top`` set at its top level."""
    return json.dumps({**REVIEW_FORM, **top}).encode()


def field(name: str, **keywords: Any) -> bytes:
    """The review form with ``keywords`` set on its field ``name``."""
    changed = json.loads(json.dumps(REVIEW_FORM))
    changed["properties"][name].update(keywords)
    return json.dumps(changed).encode()


def form_case(content: bytes, *words: str) -> tuple[Files, Expected]:
    return bundle(extra=[(FORM, content)]), [("Activity_0review", R, REVIEW, [FORM, *words])]


def handover(old: str, new: str, *more: tuple[str, str]) -> bytes:
    text = HANDOVER
    for before, after in ((old, new), *more):
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    return text.encode()


def coded_end(kind: str, code: str) -> bytes:
    """The handover ending with an error or escalation whose code is ``code``."""
    return handover(
        '<bpmn:endEvent id="Event_1">\n      <bpmn:incoming>Flow_3</bpmn:incoming>',
        '<bpmn:endEvent id="Event_1">\n      <bpmn:incoming>Flow_3</bpmn:incoming>\n'
        f'      <bpmn:{kind}EventDefinition id="Def_1" {kind}Ref="Late_1" />',
        (
            '  <bpmn:process id="r9_handover"',
            f'  <bpmn:{kind} id="Late_1" name="late" {kind}Code="{code}" />\n'
            '  <bpmn:process id="r9_handover"',
        ),
    )


NO_SLOT_CATCH = (
    '<bpmn:boundaryEvent id="Event_0noslot" name="No slot" attachedToRef="Activity_0handover">'
    '<bpmn:outgoing>Flow_ns</bpmn:outgoing><bpmn:errorEventDefinition id="ErrorDef_ns" '
    'errorRef="Error_noslot" /></bpmn:boundaryEvent>\n'
    '    <bpmn:endEvent id="Event_0ns"><bpmn:incoming>Flow_ns</bpmn:incoming></bpmn:endEvent>\n'
    '    <bpmn:sequenceFlow id="Flow_ns" sourceRef="Event_0noslot" targetRef="Event_0ns" />\n'
    '    <bpmn:serviceTask id="Activity_0nudge"'
)
NO_SLOT_THROW = handover(
    '  <bpmn:process id="r9_handover"',
    '  <bpmn:error id="Error_noslot" name="No slot" errorCode="no_slot" />\n'
    '  <bpmn:process id="r9_handover"',
)
SELF_FLOW = (
    '<bpmn:sequenceFlow id="Flow_self" sourceRef="Activity_0review" targetRef="Activity_0review" />'
)
MULTI = (
    "<bpmn:outgoing>Flow_2</bpmn:outgoing>\n"
    '      <bpmn:multiInstanceLoopCharacteristics isSequential="true">'
    "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
    "<bpmn:loopDataInputRef>contacts</bpmn:loopDataInputRef>"
    '<bpmn:inputDataItem id="contact" name="contact" /></bpmn:multiInstanceLoopCharacteristics>'
    "\n    </bpmn:userTask>"
)

REFUSALS: dict[str, tuple[Files, Expected]] = {
    # -- forms ---------------------------------------------------------------------------------
    "form-of-a-draft-that-does-not-exist": form_case(
        form(**{"$schema": "http://json-schema.org/draft-99/schema#"}),
        "$schema 'http://json-schema.org/draft-99/schema#' is no JSON Schema draft",
        "'https://json-schema.org/draft/2020-12/schema'",
    ),
    "form-requires-a-field-it-does-not-have": form_case(
        form(required=["seats", "plan", "notes"]),
        "requires 'notes', which is not among its properties ('plan', 'seats')",
        "the form could never be sent",
    ),
    "form-field-with-an-empty-enum": form_case(
        field("plan", enum=[]), "plan has an empty enum", "no value is ever valid"
    ),
    "form-default-of-another-type": form_case(
        field("seats", default="twelve"),
        'the default "twelve" of seats does not fit its own field',
        "'twelve' is not of type 'integer'",
    ),
    "form-default-not-among-its-choices": form_case(
        field("plan", default="gold"),
        'the default "gold" of plan',
        "'gold' is not one of ['team', 'enterprise']",
    ),
    "form-named-by-a-path-out-of-the-folder": (
        bundle((R, 'value="r9-review-form.json"', 'value="../../etc/passwd"')),
        [
            (
                "Activity_0review",
                R,
                REVIEW,
                ["'../../etc/passwd' is a path", "named by its file name alone", "reads no file"],
            )
        ],
    ),
    "form-named-by-its-folder": (
        bundle((R, 'value="r9-review-form.json"', 'value="forms/r9-review-form.json"')),
        [("Activity_0review", R, REVIEW, ["is a path", "write 'r9-review-form.json'"])],
    ),
    "form-with-a-nul-byte-in-a-string": (
        bundle(extra=[(FORM, ROUND9.read(FORM).replace(b'"Seats"', b'"Se\x00ats"'))]),
        [(None, FORM, 6, ["invalid JSON: a control character", "column 60", "escaped"])],
    ),
    # -- BPMN written by hand ------------------------------------------------------------------
    "timer-with-a-duration-and-a-date": (
        bundle(
            (
                R,
                HOUR,
                HOUR + '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
                '"2026-06-01T09:00:00+08:00"</bpmn:timeDate>',
            )
        ),
        [
            (
                "TimerEventDefinition_0hour",
                R,
                HOUR,
                ["A timer has one of timeDate, timeDuration or timeCycle", "keep the one"],
            )
        ],
    ),
    "incoming-after-outgoing-in-a-bpmn-prefixed-file": (
        bundle(
            (
                R,
                "<bpmn:incoming>Flow_01</bpmn:incoming>\n"
                "      <bpmn:outgoing>Flow_02</bpmn:outgoing>",
                "<bpmn:outgoing>Flow_02</bpmn:outgoing>\n"
                "      <bpmn:incoming>Flow_01</bpmn:incoming>",
            )
        ),
        [
            (
                "Activity_0review",
                R,
                "<bpmn:incoming>Flow_01</bpmn:incoming>\n    </bpmn:userTask>",
                ["<incoming> is out of order in <userTask> 'Activity_0review'", "move it before"],
            )
        ],
    ),
    "error-boundary-on-an-error-declared-in-the-called-file": (
        bundle(
            (R, '<bpmn:serviceTask id="Activity_0nudge"', NO_SLOT_CATCH),
            extra=[(H, NO_SLOT_THROW)],
        ),
        [
            (
                "Event_0noslot",
                R,
                'id="Event_0noslot"',
                [
                    "errorRef 'Error_noslot' names no <bpmn:error> of this file",
                    f"{H} declares it",
                    'declare it in this file too with the same errorCode="no_slot"',
                ],
            )
        ],
    ),
    "escalation-code-as-an-expression": (
        bundle(extra=[(H, coded_end("escalation", "${lateCode}"))]),
        [
            (
                "Late_1",
                H,
                'id="Late_1"',
                [
                    "(thrown or caught by 'Event_1') has escalationCode '${lateCode}'",
                    "compares codes as written",
                    'escalationCode="late"',
                ],
            )
        ],
    ),
    # (a FEEL error code that only throws name is computed when thrown: engine.thrown_codes)
    "escalation-code-as-a-feel-expression": (
        # a FEEL code computes when thrown (``engine.thrown_codes``): one that cannot is refused
        bundle(extra=[(H, coded_end("escalation", "=remove(codes, 1)[1]"))]),
        [
            (
                "Late_1",
                H,
                'id="Late_1"',
                [
                    "has escalationCode '=remove(codes, 1)[1]', a FEEL expression holding FEEL's "
                    "function remove()"
                ],
            )
        ],
    ),
    "sequence-flow-from-a-task-to-itself": (
        bundle(
            (
                R,
                '<bpmn:sequenceFlow id="Flow_01"',
                SELF_FLOW + '\n    <bpmn:sequenceFlow id="Flow_01"',
            )
        ),
        [
            ("Activity_0review", R, REVIEW, ["has 2 outgoing sequence flows"]),
            ("Flow_self", R, 'id="Flow_self"', ["goes from 'Activity_0review' back to itself"]),
        ],
    ),
    "multi-instance-with-a-count-and-a-collection": (
        bundle(
            extra=[
                (H, handover("<bpmn:outgoing>Flow_2</bpmn:outgoing>\n    </bpmn:userTask>", MULTI))
            ]
        ),
        [
            (
                "Activity_1",
                H,
                'id="Activity_1"',
                ["(loopCardinality) or once per item of a collection (loopDataInputRef), not both"],
            )
        ],
    ),
    "id-with-a-space-after-it": (
        bundle(extra=[(H, handover('id="Activity_2"', 'id="Activity_2 "'))]),
        [
            (
                "Activity_2 ",
                H,
                'id="Activity_2 "',
                ["its id has a space after it", "the references to 'Activity_2' name nothing"],
            )
        ],
    ),
    "reference-with-a-space-before-the-id": (
        bundle(
            extra=[
                (
                    H,
                    handover(
                        'sourceRef="Activity_2" targetRef="Event_1"',
                        'sourceRef="Activity_2" targetRef=" Event_1"',
                    ),
                )
            ]
        ),
        [
            (
                "Flow_3",
                H,
                'id="Flow_3"',
                ["targetRef ' Event_1', which is no element", "(it has a space: write 'Event_1')"],
            ),
            ("Event_1", H, "<bpmn:incoming>Flow_3", ["lists incoming 'Flow_3'"]),
            ("Event_1", H, 'id="Event_1"', ["nothing leads to this element"]),
        ],
    ),
    # -- files that are no diagram -----------------------------------------------------------
    "bpmn-in-xml-1-1": (
        bundle(extra=[(H, handover('version="1.0"', 'version="1.1"'))]),
        [(None, H, 1, ["declares XML version '1.1'", "XML 1.0", '<?xml version="1.0"'])],
    ),
    "dmn-in-xml-1-1": (
        bundle(extra=[(D, ROUND9.read(D).replace(b'version="1.0"', b'version="1.1"'))]),
        [(None, D, 1, ["declares XML version '1.1'"])],
    ),
    "bpmn-with-a-nul-byte": (
        bundle(extra=[(H, HANDOVER.replace("Book the", "Book\x00 the").encode())]),
        [(None, H, 9, ["holds a NUL character (a zero byte) on line 9", "delete it"])],
    ),
    "a-zip-of-the-files": (
        bundle(extra=[("renewal.zip", b"PK\x03\x04" + b"\x00" * 40)]),
        [(None, "renewal.zip", None, ["is a ZIP archive", "unpack it"])],
    ),
    "a-gzip-under-bpmn": (
        bundle(extra=[(H, gzip.compress(HANDOVER.encode()))]),
        [(None, H, None, ["is a gzip archive", "unpack it"])],
    ),
}


def expect_lines(details: list[dict[str, Any]], files: Files, expected: Expected) -> None:
    """``expect`` of round 9, with a line of None for a problem of a whole file."""
    if all(where is not None for _e, _f, where, _w in expected):
        expect(details, files, expected)
        return
    assert [(d["element_id"], d.get("file")) for d in details] == [
        (element, file) for element, file, _where, _words in expected
    ], details
    for detail, (_element, _file, where, words) in zip(details, expected, strict=True):
        assert detail["line"] == where, detail
        for word in words:
            assert word in detail["message"], (word, detail)


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_mistake_is_refused_on_its_element_and_line(
    owner: Actor, agent: Actor, db: Any, deployed_before: tuple[int, int], case: str
) -> None:
    files, expected = REFUSALS[case]
    expect_lines(refused(upload(owner, *files)), files, expected)
    still_runs(owner, agent, db, deployed_before)


def _as_text(name: str, content: bytes) -> bool:
    """Whether a JSON body can carry the file: UTF-8 text without NUL of a known kind."""
    if not name.endswith((".bpmn", ".dmn", ".json")):
        return False
    try:
        return "\x00" not in content.decode("utf-8")
    except UnicodeDecodeError:
        return False


TEXT_CASES = [
    case for case, (files, _) in REFUSALS.items() if all(_as_text(n, c) for n, c in files)
]


@pytest.mark.parametrize("url", ["/api/v1/process-models", "/api/v1/process-models/validate"])
@pytest.mark.parametrize("case", TEXT_CASES, ids=TEXT_CASES)
def test_the_json_body_and_the_dry_run_say_the_same(
    owner: Actor, db: Any, deployed_before: tuple[int, int], case: str, url: str
) -> None:
    files, expected = REFUSALS[case]
    expect_lines(refused(owner.post(url, json=as_json(files))), files, expected)
    assert counts(db) == deployed_before


CLI_CASES = [
    "form-requires-a-field-it-does-not-have",
    "form-default-of-another-type",
    "timer-with-a-duration-and-a-date",
    "escalation-code-as-an-expression",
    "bpmn-in-xml-1-1",
    "bpmn-with-a-nul-byte",
]


@pytest.mark.parametrize("case", CLI_CASES, ids=CLI_CASES)
def test_the_cli_prints_every_problem_and_stores_nothing(
    test_env: dict[str, str], db: Any, tmp_path: Path, case: str
) -> None:
    files, expected = REFUSALS[case]
    cli_refuses(test_env, tmp_path, files, expected)
    assert counts(db) == (0, 0)


# -- sizes and bombs, by every door -----------------------------------------------------------


def test_a_form_of_more_than_5_mb_in_a_json_body_is_refused_as_an_upload_is(
    owner: Actor, agent: Actor, db: Any, deployed_before: tuple[int, int]
) -> None:
    """An uploaded form over 5 MB was refused, the same form in a JSON body stored."""
    files = bundle(extra=[(FORM, form(description="x" * (5 * 1024 * 1024)))])
    for response in (
        upload(owner, *files),
        owner.post("/api/v1/process-models", json=as_json(files)),
        owner.post("/api/v1/process-models/validate", json=as_json(files)),
    ):
        (detail,) = refused(response)
        assert detail["file"] == FORM and "larger than 5120 KB" in detail["message"]
    still_runs(owner, agent, db, deployed_before)


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE d [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + ("" if i == 1 else str(i - 1)) + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
    + HANDOVER.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "").replace(
        'name="Book the kick-off call"', 'name="&lol9;"'
    )
)


def test_an_entity_bomb_is_refused_at_once_by_the_json_body_the_dry_run_and_the_cli(
    owner: Actor,
    db: Any,
    deployed_before: tuple[int, int],
    test_env: dict[str, str],
    tmp_path: Path,
) -> None:
    files = bundle(extra=[(H, LAUGHS.encode())])
    started = time.perf_counter()
    for url in ("/api/v1/process-models", "/api/v1/process-models/validate"):
        (detail,) = refused(owner.post(url, json=as_json(files)))
        assert detail["file"] == H and "<!DOCTYPE>" in detail["message"], detail
    for name, content in files:
        (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(main, ["deploy", str(tmp_path)], env=test_env)
    assert result.exit_code == 1 and "<!DOCTYPE>" in result.stderr, result.output
    assert time.perf_counter() - started < 5
    assert counts(db) == deployed_before


def chain(tasks: int) -> str:
    """One process: a start event, ``tasks`` tasks in a row, an end event."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="http://x">\n<bpmn:process id="chain" isExecutable="true">\n'
        '<bpmn:startEvent id="s"/>\n'
    ]
    before = "s"
    for i in range(tasks):
        parts.append(
            f'<bpmn:task id="t{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="{before}" '
            f'targetRef="t{i}"/>\n'
        )
        before = f"t{i}"
    parts.append(
        f'<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="fe" sourceRef="{before}" '
        'targetRef="e"/>\n</bpmn:process>\n</bpmn:definitions>\n'
    )
    return "".join(parts)


def _cpu_seconds() -> float:
    """CPU time of this process (the test client runs the check) and of its ended children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def test_ten_thousand_elements_in_a_row_are_refused_in_seconds(owner: Actor, db: Any) -> None:
    """5,000 tasks and their flows in one row: SpiffWorkflow's parser follows a flow in nested
    calls, so the deploy is refused on the element where it would give up, in seconds (about
    4 s on a quiet machine). Checked as this process's CPU time, which other processes on a
    busy machine do not add to (its wall time failed "within 15 s" under load), and as
    growth: four times the elements cost about four times (4.5) what 1,250 tasks cost,
    measured in this test, not the sixteen times of work that grows with the square of the
    row's length, and never a minute."""

    def refused_in(tasks: int) -> float:
        started = _cpu_seconds()
        details = refused(
            owner.post("/api/v1/process-models/validate", json={"bpmn": chain(tasks)})
        )
        took = _cpu_seconds() - started
        assert details[0]["element_id"].startswith("t")
        assert "the flow from its start event is too long" in details[0]["message"]
        return took

    with collector_paused():
        quarter = min(refused_in(1250) for _ in range(2))
        whole = refused_in(5000)
    print(f"1,250 tasks {quarter:.2f} s, 5,000 tasks {whole:.2f} s")
    assert whole < 60
    assert whole < 6.5 * quarter + 0.3, (quarter, whole)
    assert counts(db) == (0, 0)


# -- what deploys and runs ----------------------------------------------------------------------


def test_an_empty_lane_set_and_a_lane_with_no_task_deploy_and_run(
    owner: Actor, agent: Actor
) -> None:
    files = bundle(
        (
            R,
            '<bpmn:lane id="Lane_0manager" name="manager">',
            '<bpmn:lane id="Lane_0finance" name="finance" />\n'
            '      <bpmn:lane id="Lane_0manager" name="manager">',
        ),
        extra=[
            (
                H,
                handover(
                    '<bpmn:startEvent id="StartEvent_1">',
                    '<bpmn:laneSet id="LaneSet_h" />\n    <bpmn:startEvent id="StartEvent_1">',
                ),
            )
        ],
    )
    response = upload(owner, *files)
    assert response.status_code == 201, response.get_json()
    started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"seats": 60, "plan": "enterprise"})
    assert [t["name"] for t in done["ready_tasks"]] == ["Activity_1"]
