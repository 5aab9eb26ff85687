"""Version-tag problems said with the rest of a deploy's, and the bindings and lengths a
deploy refuses.

A tag no deployed version carries was a 422 of its own: the deploy stopped there, and the
diagram's other problems came one upload later. A business rule task bound by tag beside one
calling the same decision by its latest version deployed, both getting the tagged decision;
processes were refused for that mix. A tag, or a tagged form's or decision's id, longer than
the 200 characters kept was cut (a binding naming the whole tag found nothing) or not kept at
all (the form deployed untagged).
"""

from __future__ import annotations

import json
from io import BytesIO

from sqlalchemy import delete

from engine.models import FormTag
from tests.engine.conftest import Actor, refused
from tests.engine.test_round26_gaps import ZEEBE, chain, definitions, deployed
from tests.engine.test_version_tags import carrier, deploy_three_versions, table, zeebe_caller

UNKNOWN_JOB = (
    '<bpmn:serviceTask id="svc"><bpmn:extensionElements>\n'
    '<zeebe:taskDefinition type="no.such.op" /></bpmn:extensionElements></bpmn:serviceTask>'
)


def line_of(text: bytes, needle: str) -> int:
    return next(n for n, line in enumerate(text.decode().splitlines(), 1) if needle in line)


def decision_task(n: int, binding: str) -> str:
    return (
        f'<bpmn:businessRuleTask id="grade{n}"><bpmn:extensionElements>\n<zeebe:calledDecision '
        f'decisionId="vt_grade" resultVariable="grade{n}" {binding} />'
        "\n</bpmn:extensionElements></bpmn:businessRuleTask>"
    )


def deploy_grades(owner: Actor) -> None:
    for n, (grade, tag) in enumerate((("A", "v1"), ("B", "v2"))):
        files = [(f"carrier{n}.bpmn", carrier(n)), ("grades.dmn", table(grade, tag))]
        assert owner.upload(extra=files).status_code == 201


def test_a_tag_none_carries_is_said_with_the_other_problems(owner):
    deploy_three_versions(owner)
    call = (
        '<bpmn:callActivity id="call"><bpmn:extensionElements>\n'
        '<zeebe:calledElement processId="vt_called" bindingType="versionTag" versionTag="v9" />'
        "\n</bpmn:extensionElements></bpmn:callActivity>"
    )
    text = definitions(ZEEBE, chain("vt_two_problems", call, UNKNOWN_JOB))
    details = refused(owner.upload(extra=[("caller.bpmn", text)]))
    assert [(d["element_id"], d["line"]) for d in details] == [
        ("call", line_of(text, "zeebe:calledElement")),
        ("svc", line_of(text, 'id="svc"')),
    ]
    assert "no deployed version of 'vt_called' carries version tag 'v9'" in details[0]["message"]
    assert "no operator 'no.such.op'" in details[1]["message"]

    # a decision's tag too, and nothing else is said of the task the tag is on
    deploy_grades(owner)
    text = definitions(
        ZEEBE,
        chain(
            "vt_two_rules",
            decision_task(1, 'bindingType="versionTag" versionTag="v9"'),
            UNKNOWN_JOB,
        ),
    )
    details = refused(owner.upload(extra=[("rules.bpmn", text)]))
    assert [(d["element_id"], d["line"]) for d in details] == [
        ("grade1", line_of(text, "zeebe:calledDecision")),
        ("svc", line_of(text, 'id="svc"')),
    ]
    assert "no deployed version of 'vt_grade' carries version tag 'v9'" in details[0]["message"]

    # the dry run answers the same
    response = owner.post(
        "/api/v1/process-models/validate",
        data={"file": [(BytesIO(text), "rules.bpmn")]},
        content_type="multipart/form-data",
    )
    assert [d["element_id"] for d in refused(response)] == ["grade1", "svc"]


def test_a_decision_bound_by_tag_and_by_its_latest_version_in_one_deploy_is_refused(owner):
    deploy_grades(owner)
    tagged = decision_task(1, 'bindingType="versionTag" versionTag="v1"')
    text = definitions(ZEEBE, chain("vt_mix", tagged, decision_task(2, "")))
    details = refused(owner.upload(extra=[("mix.bpmn", text)]))
    assert (details[0]["element_id"], details[0]["line"]) == ("grade1", 4)
    assert details[0]["message"] == (
        "mix.bpmn: businessRuleTask 'grade1' calls decision 'vt_grade' by version tag 'v1' and "
        "another task calls it by its latest version (businessRuleTask 'grade2'): a deploy runs "
        "one decision of each id; bind every call of it the same way"
    )

    # as a process is (this was refused before: pinned beside it)
    deploy_three_versions(owner)
    latest = '<bpmn:callActivity id="call_latest" calledElement="vt_called" />'
    text = zeebe_caller("v1").replace(
        b"<bpmn:callActivity", latest.encode() + b"<bpmn:callActivity"
    )
    text = text.replace(b'sourceRef="vt_caller_start"', b'sourceRef="call_latest"').replace(
        b"<bpmn:sequenceFlow",
        b'<bpmn:sequenceFlow id="f_latest" sourceRef="vt_caller_start" targetRef="call_latest" />'
        b"<bpmn:sequenceFlow",
        1,
    )
    (detail,) = refused(owner.upload(extra=[("caller.bpmn", text)]))
    assert detail["element_id"] == "call"
    assert (
        "and another call calls it by its latest version (callActivity 'call_latest'): a deploy "
        "runs one version of each process it calls; bind every call of it the same way"
    ) in detail["message"]


def tagged_form(form_id: str, tag: str) -> bytes:
    components = [{"type": "textfield", "key": "price", "label": "Price"}]
    return json.dumps({"id": form_id, "versionTag": tag, "components": components}).encode()


def form_caller(form_id: str) -> bytes:
    task = (
        '<bpmn:userTask id="quote_task"><bpmn:extensionElements><zeebe:userTask />\n'
        f'<zeebe:formDefinition formId="{form_id}" bindingType="versionTag" versionTag="v1" />'
        "\n</bpmn:extensionElements></bpmn:userTask>"
    )
    return definitions(ZEEBE, chain("vt_long_form", task))


def test_a_tagged_form_whose_id_is_too_long_to_keep_is_refused(owner, agent):
    long_id = "q" * 201
    files = [("carrier.bpmn", carrier(1)), ("quote.form", tagged_form(long_id, "v1"))]
    (detail,) = refused(owner.upload(extra=files))
    assert detail["file"] == "quote.form"
    assert "its id is 201 characters long" in detail["message"]
    assert "at most 200" in detail["message"]

    # 200 characters are kept, and a later diagram finds the form by its tag
    files = [("carrier.bpmn", carrier(2)), ("quote.form", tagged_form("q" * 200, "v1"))]
    assert owner.upload(extra=files).status_code == 201
    deployed(owner, "caller.bpmn", form_caller("q" * 200))
    (task,) = agent.start("vt_long_form")["ready_tasks"]
    assert list(task["form_schema"]["properties"]) == ["price"]


def test_a_version_tag_too_long_to_keep_is_refused_where_it_is_written(owner):
    long_tag = "t" * 201
    text = definitions(
        ZEEBE,
        chain("vt_tagged", '<bpmn:userTask id="work" />').replace(
            'isExecutable="true">',
            'isExecutable="true"><bpmn:extensionElements>\n'
            f'<zeebe:versionTag value="{long_tag}" /></bpmn:extensionElements>',
        ),
    )
    (detail,) = refused(owner.upload(extra=[("tagged.bpmn", text)]))
    assert (detail["element_id"], detail["line"]) == ("vt_tagged", line_of(text, "versionTag"))
    assert "a version tag of 201 characters" in detail["message"]

    dmn = table("A", long_tag)
    (detail,) = refused(owner.upload(extra=[("c.bpmn", carrier(3)), ("grades.dmn", dmn)]))
    assert (detail["element_id"], detail["file"]) == ("vt_grade", "grades.dmn")
    assert detail["line"] == line_of(dmn, "zeebe:versionTag")

    dmn = table("A", "v1").replace(b"vt_grade", b"g" * 201)
    (detail,) = refused(owner.upload(extra=[("c.bpmn", carrier(4)), ("grades.dmn", dmn)]))
    assert detail["element_id"] == "g" * 201 and detail["line"] == line_of(dmn, "<decision ")

    form = tagged_form("quote", long_tag)
    (detail,) = refused(owner.upload(extra=[("c.bpmn", carrier(5)), ("quote.form", form)]))
    assert detail["file"] == "quote.form"
    assert 'a "versionTag" of 201 characters' in detail["message"]


def test_the_same_form_deployed_again_gives_an_earlier_form_its_tag(owner, agent, db):
    files = [("carrier.bpmn", carrier(6)), ("quote.form", tagged_form("quote", "v1"))]
    assert owner.upload(extra=files).status_code == 201
    with db() as session:  # as revision 0022 left a form deployed before it: no tag stored
        session.execute(delete(FormTag))
    (detail,) = refused(owner.upload(extra=[("caller.bpmn", form_caller("quote"))]))
    assert "no deployed form of id 'quote' carries version tag 'v1'" in detail["message"]

    # as the refusal asks: the tagged form deployed (again, the same files)
    assert owner.upload(extra=files).status_code == 200
    deployed(owner, "caller.bpmn", form_caller("quote"))
    (task,) = agent.start("vt_long_form")["ready_tasks"]
    assert list(task["form_schema"]["properties"]) == ["price"]


def test_a_form_binding_longer_than_a_kept_tag_does_not_find_the_tag_it_begins_with(owner):
    kept = "t" * 200
    files = [("carrier.bpmn", carrier(7)), ("quote.form", tagged_form("quote", kept))]
    assert owner.upload(extra=files).status_code == 201
    text = form_caller("quote").replace(b'versionTag="v1"', f'versionTag="{kept}x"'.encode())
    (detail,) = refused(owner.upload(extra=[("caller.bpmn", text)]))
    assert detail["element_id"] == "quote_task"
    assert f"carries version tag '{kept}x'" in detail["message"]
