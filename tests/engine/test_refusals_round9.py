"""A ninth round of bad input to the model registry: the mistakes people make when they deploy,
by hand-made files around a contract renewal drawn in bpmn.io (a reviewed contract, a DMN
discount, a multi-line planning script, a handover called in a second file, timers, a lane per
role). The wrong kind of file under the right name (XPDL, an SVG export, DMN as .bpmn and the
other way round, text in GBK or UTF-16 without a word about it, a file cut off), references
that go nowhere or too far (a called element written as an expression, calls in a circle across
files, flows between pools, a message flow inside one, a boundary event on a boundary event, a
pool naming no process), timers, forms and decision tables written wrong, and several problems
in several files at once.

Each is refused with ``422 invalid_bpmn`` (by the upload, the JSON body, the dry run and the
CLI alike) on its element, file and line, in words that say what to do; nothing is stored, and
the version deployed before still deploys and runs. What is fine (a gateway with one way in and
one out, a mixed gateway, a call to a process of an earlier deploy, processes without an
``isExecutable``) deploys and runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.models import ModelBundle, ProcessVersion, WorkItem
from tests.engine.conftest import Actor, Timed, refused
from tests.engine.diagram_folders import (
    DiagramFolder,
    cli_refuses,
    line_in,
    nothing_deployed,
    upload,
)

ROUND9 = DiagramFolder("refusals9")
R, H, D, FORM = "r9_renewal.bpmn", "r9_handover.bpmn", "r9_discount.dmn", "r9-review-form.json"
POOLS = "r9_two_pools.bpmn"
BASE = (R, H, D, FORM)

Files = list[tuple[str, bytes]]
Change = tuple[str, str, str]  # (file, old, new): ``old`` occurs once in the file


def bundle(*changes: Change, extra: Files = (), drop: tuple[str, ...] = ()) -> Files:
    """The renewal's four files with ``changes`` made, ``drop`` left out and ``extra`` added
    (an extra file of a name already there replaces it), by name."""
    files = {name: ROUND9.read(name) for name in BASE if name not in drop}
    for name, old, new in changes:
        text = files[name].decode()
        assert text.count(old) == 1, (name, old)
        files[name] = text.replace(old, new).encode()
    files.update(dict(extra))
    return sorted(files.items())  # in the order of a JSON body's names


def counts(db: Callable[..., Any]) -> tuple[int, int]:
    with db() as session:
        return (
            session.scalar(select(func.count()).select_from(ModelBundle)) or 0,
            session.scalar(select(func.count()).select_from(ProcessVersion)) or 0,
        )


@pytest.fixture
def deployed_before(owner: Actor, db: Callable[..., Any]) -> tuple[int, int]:
    """The renewal as it runs today: one bundle, its two processes at version 1."""
    ROUND9.deploy(owner, *BASE)
    return counts(db)


def still_runs(owner: Actor, agent: Actor, db: Any, before: tuple[int, int]) -> None:
    """Nothing was stored, and version 1 still deploys (unchanged) and runs: a small renewal
    is priced, planned and waits an hour for its note."""
    assert counts(db) == before
    again = upload(owner, *bundle())
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["version"] == 1
    started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
    assert started["version"] == 1
    (review,) = started["ready_tasks"]
    done = agent.complete_ok(review["id"], {"seats": 12, "plan": "team"})
    assert (done["data"]["discount"], done["data"]["price"]) == (10, 12960)
    assert [w["name"] for w in done["waiting"]] == ["1 hour"]


# -- the refusals: (files, [(element id, file, where its line is, words)]) --------------------
# ``where`` is a fragment of the file whose line the detail names, or the line itself.

Expected = list[tuple[str | None, str, str | int, list[str]]]
RENEWAL = ROUND9.read(R).decode()
HANDOVER = ROUND9.read(H).decode()
DISCOUNT = ROUND9.read(D).decode()
PLAN_LINE = "monthly = price // months"
SCRIPT_FIRST_LINE = line_in("<bpmn:script>list_price", RENEWAL)
LOOPED_FORM = {
    "type": "object",
    "$defs": {"seats": {"$ref": "#/$defs/count"}, "count": {"$ref": "#/$defs/seats"}},
    "properties": {"seats": {"$ref": "#/$defs/seats"}, "plan": {"type": "string"}},
}
CUT_HANDOVER = ROUND9.read(H)[: ROUND9.read(H).index(b'name="Book') + 9]
CUT_DISCOUNT = ROUND9.read(D)[: ROUND9.read(D).index(b'<rule id="DecisionRule_team"') + 12]
GBK_HANDOVER = (
    HANDOVER.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")
    .replace("Book the kick-off call", "预约启动电话")
    .encode("gbk")
)
BOUNDARY_ON_BOUNDARY = (
    '<bpmn:boundaryEvent id="Event_0late" name="1 more day" attachedToRef="Event_0remind">'
    '<bpmn:outgoing>Flow_late</bpmn:outgoing><bpmn:timerEventDefinition id="T_late">'
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P1D"</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:boundaryEvent>\n"
    '    <bpmn:endEvent id="Event_0lateend"><bpmn:incoming>Flow_late</bpmn:incoming>'
    "</bpmn:endEvent>\n"
    '    <bpmn:sequenceFlow id="Flow_late" sourceRef="Event_0late" targetRef="Event_0lateend" />'
    '\n    <bpmn:serviceTask id="Activity_0nudge"'
)
HOUR = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>'
TWO_DAYS = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P2D"</bpmn:timeDuration>'


def cycle(called: str, calls: str) -> bytes:
    """The handover file as a process ``called`` whose first task calls ``calls``."""
    return (
        HANDOVER.replace('id="r9_handover"', f'id="{called}"')
        .replace(
            '<bpmn:userTask id="Activity_1" name="Book the kick-off call">',
            f'<bpmn:callActivity id="Activity_1" name="Hand on" calledElement="{calls}">',
        )
        .replace("</bpmn:userTask>", "</bpmn:callActivity>")
        .encode()
    )


REFUSALS: dict[str, tuple[Files, Expected]] = {
    # -- the wrong kind of file -------------------------------------------------------------
    "xpdl-as-bpmn": (
        bundle(extra=[("renewal.bpmn", ROUND9.read("r9_xpdl_renewal.bpmn"))]),
        [(None, "renewal.bpmn", 2, ["<Package>", "XPDL file", "export", "BPMN 2.0 XML"])],
    ),
    "svg-export-as-bpmn": (
        bundle(extra=[("renewal_export.bpmn", ROUND9.read("r9_renewal_export.svg"))]),
        [(None, "renewal_export.bpmn", 4, ["SVG image", "upload the .bpmn file"])],
    ),
    # the table under .bpmn and the handover under .dmn: each file is named with what it is,
    # and what calls it is not said to call "no DMN file" or "no process of this deploy"
    "dmn-as-bpmn": (
        bundle(extra=[("r9_discount.bpmn", ROUND9.read(D))], drop=(D,)),
        [
            (
                "Definitions_r9disc",
                "r9_discount.bpmn",
                2,
                ["is a DMN file", "give it the extension .dmn"],
            )
        ],
    ),
    "bpmn-as-dmn": (
        bundle(extra=[("r9_handover.dmn", ROUND9.read(H))], drop=(H,)),
        [
            (
                "Definitions_r9h",
                "r9_handover.dmn",
                4,
                ["is a BPMN file", "give it the extension .bpmn"],
            )
        ],
    ),
    "gbk-without-declaration": (
        bundle(extra=[(H, GBK_HANDOVER)]),
        [(None, H, 8, ["byte 0xc6 on line 8 is no UTF-8", 'encoding="GBK"'])],
    ),
    "handover-cut-off": (
        bundle(extra=[(H, CUT_HANDOVER)]),
        [(None, H, 9, ["malformed XML", "cut off", "upload the whole file"])],
    ),
    "decision-table-cut-off": (
        bundle(extra=[(D, CUT_DISCOUNT)]),
        [(None, D, 17, ["malformed XML", "cut off"])],
    ),
    # -- references ----------------------------------------------------------------------------
    "one-process-id-in-two-files": (
        bundle((H, 'id="r9_handover"', 'id="r9_renewal"')),
        [
            (
                "r9_renewal",
                R,
                'id="r9_renewal"',
                [
                    "Duplicate process ID: r9_renewal, also in r9_handover.bpmn",
                    "give one of them another id",
                ],
            ),
        ],
    ),
    "called-element-as-camunda-7-expression": (
        bundle((R, 'calledElement="r9_handover"', 'calledElement="${handoverProcess}"')),
        [
            (
                "Activity_0handover",
                R,
                'id="Activity_0handover"',
                [
                    "'${handoverProcess}' is no process id",
                    "evaluates no expression",
                    "write the id of the process to call",
                ],
            )
        ],
    ),
    "called-element-as-feel": (
        bundle((R, 'calledElement="r9_handover"', 'calledElement="=handover_process"')),
        [("Activity_0handover", R, 'id="Activity_0handover"', ["'=handover_process'"])],
    ),
    "calls-in-a-circle-across-files": (
        bundle(
            extra=[
                (H, cycle("r9_handover", "r9_kickoff")),
                ("r9_kickoff.bpmn", cycle("r9_kickoff", "r9_handover")),
            ]
        ),
        [
            (
                "Activity_1",
                H,
                'id="Activity_1"',
                ["r9_handover → r9_kickoff → r9_handover", "sequence flow back"],
            ),
            (
                "Activity_1",
                "r9_kickoff.bpmn",
                'id="Activity_1"',
                ["r9_kickoff → r9_handover → r9_kickoff"],
            ),
        ],
    ),
    "sequence-flow-into-the-other-pool": (
        [
            (
                POOLS,
                ROUND9.edited(
                    POOLS,
                    (
                        'sourceRef="Activity_0sell" targetRef="Activity_0tell"',
                        'sourceRef="Activity_0sell" targetRef="Activity_0invoice"',
                    ),
                ),
            )
        ],
        [
            (
                "Flow_s2",
                POOLS,
                'id="Flow_s2"',
                ["'Activity_0invoice'", "inside process 'r9_billing'", "stays within its process"],
            ),
            ("Activity_0tell", POOLS, 'id="Activity_0tell"', ["nothing leads to this task"]),
            ("Event_0sold", POOLS, 'id="Event_0sold"', ["only 'Activity_0tell' leads here"]),
        ],
    ),
    "message-flow-inside-one-pool": (
        [
            (
                POOLS,
                ROUND9.edited(
                    POOLS,
                    (
                        'sourceRef="Activity_0tell" targetRef="Activity_0wait"',
                        'sourceRef="Activity_0sell" targetRef="Activity_0tell"',
                    ),
                ),
            )
        ],
        [
            (
                "Flow_0order",
                POOLS,
                'id="Flow_0order"',
                [
                    "both in process 'r9_sales'",
                    "a message flow goes between pools",
                    "draw a sequence flow",
                ],
            )
        ],
    ),
    "message-flow-from-a-pool-to-its-own-task": (
        [
            (
                POOLS,
                ROUND9.edited(
                    POOLS,
                    (
                        'sourceRef="Activity_0tell" targetRef="Activity_0wait"',
                        'sourceRef="Participant_0billing" targetRef="Activity_0wait"',
                    ),
                ),
            )
        ],
        [("Flow_0order", POOLS, 'id="Flow_0order"', ["both in process 'r9_billing'"])],
    ),
    "boundary-event-on-a-boundary-event": (
        bundle((R, '<bpmn:serviceTask id="Activity_0nudge"', BOUNDARY_ON_BOUNDARY)),
        [
            (
                "Event_0late",
                R,
                'id="Event_0late"',
                ["attached to boundaryEvent 'Event_0remind'", "belongs on a task"],
            )
        ],
    ),
    "lane-lists-a-task-that-is-not-there": (
        bundle(
            (
                R,
                "<bpmn:flowNodeRef>Activity_0nudge</bpmn:flowNodeRef>",
                "<bpmn:flowNodeRef>Activity_0nudge</bpmn:flowNodeRef>"
                "<bpmn:flowNodeRef>Activity_0escalate</bpmn:flowNodeRef>",
            )
        ),
        [
            (
                "Lane_0manager",
                R,
                'id="Lane_0manager"',
                ["'Activity_0escalate'", "no element of the model"],
            )
        ],
    ),
    "pool-whose-process-is-not-there": (
        bundle(
            (
                R,
                'processRef="r9_renewal" />',
                'processRef="r9_renewal" />\n    <bpmn:participant id="Participant_0finance" '
                'name="Finance" processRef="r9_finance" />',
            )
        ),
        [
            (
                "Participant_0finance",
                R,
                'id="Participant_0finance"',
                [
                    "pool 'Finance' has processRef 'r9_finance'",
                    "names no process",
                    "set processRef to the id of the pool's <bpmn:process>",
                ],
            )
        ],
    ),
    "pool-whose-process-id-is-mistyped": (
        bundle((R, 'processRef="r9_renewal"', 'processRef="r9_renewel"')),
        [
            (
                "Participant_0renewal",
                R,
                'id="Participant_0renewal"',
                ["pool 'Renewal desk' has processRef 'r9_renewel'"],
            )
        ],
    ),
    # -- timers ----------------------------------------------------------------------------
    "time-date-with-month-13": (
        bundle(
            (
                R,
                HOUR,
                '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
                '"2026-13-45T25:00:00"</bpmn:timeDate>',
            )
        ),
        [
            (
                "Event_0hour",
                R,
                'id="Event_0hour"',
                [
                    "'2026-13-45T25:00:00' is not a valid ISO 8601 date (timeDate)",
                    "'2026-06-01T09:00:00+08:00'",
                ],
            )
        ],
    ),
    "time-duration-without-its-t": (
        bundle((R, '"PT1H"', '"P1H"')),
        [
            (
                "Event_0hour",
                R,
                'id="Event_0hour"',
                [
                    "'P1H' is not a valid ISO 8601 duration (timeDuration)",
                    "'PT1H' (an hour)",
                    "come after a T",
                ],
            )
        ],
    ),
    "time-cycle-as-cron": (
        bundle(
            (
                R,
                TWO_DAYS,
                '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"0 0 9 * * ?"</bpmn:timeCycle>',
            )
        ),
        [
            (
                "Event_0remind",
                R,
                'id="Event_0remind"',
                ["'0 0 9 * * ?' is a cron expression", "'R/2026-05-04T09:00:00+08:00/P1D'"],
            )
        ],
    ),
    "time-cycle-in-words": (
        bundle(
            (
                R,
                TWO_DAYS,
                '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">"every 2 days"</bpmn:timeCycle>',
            )
        ),
        [("Event_0remind", R, 'id="Event_0remind"', ["'every 2 days'", "'R/P1D' (every day)"])],
    ),
    # -- forms ---------------------------------------------------------------------------------
    "form-refs-in-a-loop": (
        bundle(extra=[(FORM, json.dumps(LOOPED_FORM).encode())]),
        [
            (
                "Activity_0review",
                R,
                'id="Activity_0review"',
                [
                    "'r9-review-form.json'",
                    "$ref '#/$defs/count' leads back to itself",
                    "#/$defs/count → #/$defs/seats → #/$defs/count",
                    "without a field in between",
                ],
            )
        ],
    ),
    "form-ref-to-the-whole-form": (
        bundle(
            extra=[
                (
                    FORM,
                    json.dumps(
                        {"type": "object", "allOf": [{"$ref": "#"}], "properties": {}}
                    ).encode(),
                )
            ]
        ),
        [("Activity_0review", R, 'id="Activity_0review"', ["$ref '#' leads back to itself"])],
    ),
    "form-type-int": (
        bundle(extra=[(FORM, b'{"type": "object", "properties": {"seats": {"type": "int"}}}')]),
        [
            (
                "Activity_0review",
                R,
                'id="Activity_0review"',
                ["'r9-review-form.json' is not a valid JSON Schema", "'int'"],
            )
        ],
    ),
    "form-required-as-text": (
        bundle(extra=[(FORM, b'{"type": "object", "required": "seats"}')]),
        [("Activity_0review", R, 'id="Activity_0review"', ["'seats' is not of type 'array'"])],
    ),
    # -- decision tables -----------------------------------------------------------------------
    "rule-id-given-twice": (
        bundle((D, 'id="DecisionRule_team"', 'id="DecisionRule_key"')),
        [
            (
                "DecisionRule_key",
                D,
                '<rule id="DecisionRule_key">\n        <inputEntry id="UnaryTests_team1"',
                ["has the id of the rule on line 12", "give this one another id"],
            )
        ],
    ),
    "input-expression-that-does-not-compile": (
        bundle((D, "<text>seats</text>", "<text>seats &gt;</text>")),
        [
            (
                "InputExpression_seats",
                D,
                'id="InputExpression_seats"',
                ["input expression 'seats >' is not Python"],
            )
        ],
    ),
    "rule-without-its-output": (
        bundle((D, '<outputEntry id="LiteralExpression_team"><text>10</text></outputEntry>', "")),
        [
            (
                "DecisionRule_team",
                D,
                'id="DecisionRule_team"',
                ["has 0 output entries for the table's 1 outputs", "one cell per output column"],
            )
        ],
    ),
    "feel-function-in-a-cell": (
        bundle((D, '<text>"enterprise"</text>', '<text>matches(?, "^ent")</text>')),
        [
            (
                "UnaryTests_key2",
                D,
                'id="UnaryTests_key2"',
                ["rule cell 'matches(?, \"^ent\")' calls matches(…), which Dialflow does not"],
            )
        ],
    ),
    "feel-if-in-an-output": (
        bundle((D, "<text>20</text>", "<text>if seats &gt; 100 then 25 else 20</text>")),
        [
            (
                "LiteralExpression_key",
                D,
                'id="LiteralExpression_key"',
                ["output 'if seats > 100 then 25 else 20' is not a Python expression"],
            )
        ],
    ),
    "decision-in-no-file": (
        bundle(drop=(D,)),
        [
            (
                "Activity_0price",
                R,
                'id="Activity_0price"',
                [
                    "calls decision 'r9_discount', which no DMN file of this deploy has",
                    "add the .dmn file",
                ],
            )
        ],
    ),
    # -- scripts and conditions ----------------------------------------------------------------
    "script-error-on-its-seventh-line": (
        bundle((R, PLAN_LINE, PLAN_LINE + ")")),
        [
            (
                "Activity_0plan",
                R,
                'id="Activity_0plan"',
                [
                    f"syntax error on line 7 (line {SCRIPT_FIRST_LINE + 6} of the file)",
                    "unmatched ')'",
                    "'monthly = price // months)'",
                ],
            )
        ],
    ),
    "condition-that-assigns": (
        bundle(
            (
                R,
                ">big</bpmn:conditionExpression>",
                '>(plan := "enterprise") == "enterprise"</bpmn:conditionExpression>',
            )
        ),
        [
            (
                "Flow_05",
                R,
                'id="Flow_05"',
                [
                    "assigns 'plan' with ':='",
                    "a condition only tests",
                    "set 'plan' in a script task",
                    "write \"plan == 'enterprise'\"",
                ],
            )
        ],
    ),
}


def expect(details: list[dict[str, Any]], files: Files, expected: Expected) -> None:
    """Exactly the ``expected`` problems, in that order, each on its element, file and line,
    in its words."""
    found = [(d["element_id"], d.get("file")) for d in details]
    assert found == [(element, file) for element, file, _where, _words in expected], details
    contents = dict(files)
    for detail, (_element, file, where, words) in zip(details, expected, strict=True):
        line = where if isinstance(where, int) else line_in(where, contents[file])
        assert detail["line"] == line, detail
        for word in words:
            assert word in detail["message"], (word, detail)


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_mistake_is_refused_on_its_element_and_line(
    owner: Actor, agent: Actor, db: Any, deployed_before: tuple[int, int], case: str
) -> None:
    files, expected = REFUSALS[case]
    expect(refused(upload(owner, *files)), files, expected)
    still_runs(owner, agent, db, deployed_before)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


TEXT_CASES = [
    case
    for case, (files, _) in REFUSALS.items()
    if all(name.endswith(".json") or _is_utf8(body) for name, body in files)
]


def as_json(files: Files) -> dict[str, Any]:
    """The files as the JSON body of a deploy: BPMN and DMN texts by file name, forms parsed."""
    body: dict[str, Any] = {"bpmn": {}, "dmn": {}, "forms": {}}
    for name, content in files:
        if name.endswith(".json"):
            body["forms"][name] = json.loads(content)
        else:
            body["dmn" if name.endswith(".dmn") else "bpmn"][name] = content.decode()
    return body


@pytest.mark.parametrize("url", ["/api/v1/process-models", "/api/v1/process-models/validate"])
@pytest.mark.parametrize("case", TEXT_CASES, ids=TEXT_CASES)
def test_the_json_body_and_the_dry_run_say_the_same(
    owner: Actor, db: Any, deployed_before: tuple[int, int], case: str, url: str
) -> None:
    files, expected = REFUSALS[case]
    expect(refused(owner.post(url, json=as_json(files))), files, expected)
    assert counts(db) == deployed_before


CLI_CASES = [
    "svg-export-as-bpmn",
    "handover-cut-off",
    "called-element-as-camunda-7-expression",
    "pool-whose-process-is-not-there",
    "form-refs-in-a-loop",
    "script-error-on-its-seventh-line",
]


@pytest.mark.parametrize("case", CLI_CASES, ids=CLI_CASES)
def test_the_cli_prints_every_problem_and_stores_nothing(
    test_env: dict[str, str], db: Any, tmp_path: Path, case: str
) -> None:
    files, expected = REFUSALS[case]
    cli_refuses(test_env, tmp_path, files, expected)
    nothing_deployed(db)


# -- several problems in several files at once ----------------------------------------------


def test_problems_in_four_files_are_all_listed_each_on_its_file_and_line(
    owner: Actor, agent: Actor, db: Any, deployed_before: tuple[int, int]
) -> None:
    """Five mistakes in the four files of one deploy; the handover and the renewal share no
    id, but the handover's Activity_1 is named in its own file only."""
    files = bundle(
        (R, '"PT1H"', '"1 hour"'),
        (R, PLAN_LINE, PLAN_LINE + ")"),
        (
            H,
            'sourceRef="Activity_2" targetRef="Event_1"',
            'sourceRef="Activity_2" targetRef="Event_2"',
        ),
        (D, "<text>seats</text>", "<text>seats &gt;</text>"),
        extra=[(FORM, b'{"type": "object", "properties": {"seats": {"type": "int"}}}')],
    )
    details = refused(upload(owner, *files))
    contents = dict(files)
    expected = {
        (D, "InputExpression_seats"): ('id="InputExpression_seats"', "is not Python"),
        (H, "Flow_3"): ('id="Flow_3"', "targetRef 'Event_2', which is no element"),
        (H, "Event_1"): ('id="Event_1"', "nothing leads to"),
        (R, "Activity_0review"): ('id="Activity_0review"', "'int'"),
        (R, "Activity_0plan"): ('id="Activity_0plan"', "syntax error on line 7"),
        (R, "Event_0hour"): ('id="Event_0hour"', "'1 hour' is not a valid ISO 8601 duration"),
    }
    said = {(d["file"], d["element_id"]): d for d in details}
    assert set(said) >= set(expected), details
    for (file, element), (where, words) in expected.items():
        assert said[(file, element)]["line"] == line_in(where, contents[file])
        assert words in said[(file, element)]["message"], said[(file, element)]
    assert all(d["file"] in contents for d in details), details
    still_runs(owner, agent, db, deployed_before)


def test_a_cut_off_file_hides_nothing_and_is_not_said_twice(owner: Actor, db: Any) -> None:
    """With nothing deployed before, the renewal's call of the handover and its decision sit
    in files cut off: only the files are named (their call and decision were also said to be
    "neither in this deploy nor deployed before" and in "no DMN file of this deploy"), and the
    renewal's own mistake is still said."""
    files = bundle((R, '"PT1H"', '"P1H"'), extra=[(H, CUT_HANDOVER), (D, CUT_DISCOUNT)])
    details = refused(upload(owner, *files))
    assert [(d["file"], d["element_id"]) for d in details] == [
        (D, None),
        (H, None),
        (R, "Event_0hour"),
    ], details
    nothing_deployed(db)


# -- what deploys and runs --------------------------------------------------------------------


def test_a_file_in_utf_16_without_its_mark_is_read_as_utf_16(owner: Actor, agent: Actor) -> None:
    """Windows tools save "Unicode" as UTF-16 without a byte-order mark, as an XML parser
    detects it: read as UTF-8 it was "Char 0x0 out of allowed range" without a declaration,
    and with one it deployed text full of NUL characters (which PostgreSQL cannot store)."""
    chinese = HANDOVER.replace("Book the kick-off call", "预约启动电话")
    for encoding, text in (
        ("utf-16-le", chinese.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")),
        ("utf-16-be", chinese.replace('encoding="UTF-8"', 'encoding="UTF-16"')),
    ):
        files = bundle(extra=[(H, text.encode(encoding))])
        response = upload(owner, *files)
        assert response.status_code in (200, 201), response.get_json()
    xml = owner.get("/api/v1/process-models/r9_handover/versions/1/bpmn").get_data(as_text=True)
    assert "预约启动电话" in xml and "\x00" not in xml
    started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"seats": 60, "plan": "enterprise"})
    assert [(t["name"], t["title"]) for t in done["ready_tasks"]] == [
        ("Activity_1", "预约启动电话")
    ]


def test_a_new_version_with_its_table_calls_a_process_only_an_earlier_deploy_has(
    owner: Actor, agent: Actor, db: Any
) -> None:
    """The README: a call activity calls the latest version of a process deployed before.
    Version 2 of the renewal comes with its decision table, and the handover only in the
    first deploy, which has the same table: it was refused as "decision 'r9_discount' is also
    in @1/r9_discount.dmn". The renewal's own table decides."""
    ROUND9.deploy(owner, *BASE)
    files = bundle((D, "<text>20</text>", "<text>25</text>"), drop=(H,))
    response = upload(owner, *files)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["versions"] == {"r9_renewal": 2}
    started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"seats": 60, "plan": "enterprise"})
    assert done["version"] == 2 and done["data"]["discount"] == 25
    assert [t["name"] for t in done["ready_tasks"]] == ["Activity_1"]  # the handover of deploy 1
    assert counts(db) == (2, 3)


def test_gateways_with_one_way_in_and_out_or_joining_and_splitting_run(
    owner: Actor, agent: Actor
) -> None:
    ROUND9.deploy(owner, "r9_gateways.bpmn")
    started = agent.start("r9_gateways")
    tasks = {t["name"]: t["id"] for t in started["ready_tasks"]}
    assert set(tasks) == {"call", "mail"}
    agent.complete_ok(tasks["call"])
    done = agent.complete_ok(tasks["mail"])
    assert done["status"] == "completed"
    assert (done["data"]["steps"], done["data"]["noted"]) == (1, True)


def test_processes_without_is_executable_deploy_and_run(owner: Actor, agent: Actor) -> None:
    """BPMN leaves isExecutable out as "not said"; only "false" marks a pool that is only
    drawn. Two files without it deploy both processes, and they run."""
    files = bundle(
        (R, ' isExecutable="true"', ""),
        (H, ' isExecutable="true"', ""),
    )
    response = upload(owner, *files)
    assert response.status_code == 201, response.get_json()
    assert sorted(response.get_json()["process_ids"]) == ["r9_handover", "r9_renewal"]
    started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
    done = agent.complete_ok(started["ready_tasks"][0]["id"], {"seats": 60, "plan": "enterprise"})
    assert [t["name"] for t in done["ready_tasks"]] == ["Activity_1"]


def test_two_pools_with_a_message_flow_between_them_deploy_and_talk(timed: Timed) -> None:
    owner, agent = timed.owner, timed.agent
    ROUND9.deploy(owner, POOLS)
    billing = agent.start("r9_billing", business_key="order-9")
    sales = agent.start("r9_sales", business_key="order-9")
    agent.complete_ok(sales["ready_tasks"][0]["id"])
    timed.advance(seconds=1)  # the scheduler's pass delivers the message
    after = agent.instance(billing["id"])
    assert [t["name"] for t in after["ready_tasks"]] == ["Activity_0invoice"]


def test_a_task_whose_stored_form_loops_is_refused_not_a_500(
    owner: Actor, agent: Actor, db: Any, deployed_before: tuple[int, int]
) -> None:
    """A task opened with such a form before deploys refused it (its form is kept on the work
    item): completing it answered 500 after Python's stack ran out; now a coded 409 says the
    form is unusable, and nothing of the step is stored."""
    started = agent.start("r9_renewal", {"customer_id": 1, "team_lead": owner.username})
    (review,) = started["ready_tasks"]
    with db() as session:
        session.get(WorkItem, review["id"]).form_schema = LOOPED_FORM
    response = agent.complete(review["id"], {"seats": 12, "plan": "team"})
    assert response.status_code == 409, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "form_unusable" and "leads back to itself" in error["message"]
    assert agent.instance(started["id"])["ready_tasks"][0]["id"] == review["id"]
