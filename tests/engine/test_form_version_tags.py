"""Camunda Forms bound by version tag: a user task's ``<zeebe:formDefinition formId
bindingType="versionTag" versionTag>`` shows the newest deployed ``.form`` file of that id whose
JSON carries the tag (form-js's top-level ``"versionTag"``), fixed when the diagram is deployed;
it was refused ("Dialflow keeps no version tags of a form"). A tag no form carries is refused on
the task, at the line naming the form."""

from __future__ import annotations

import json

from engine.specs import SpecCache
from tests.engine.conftest import Actor, refused
from tests.engine.test_round26_gaps import ZEEBE, chain, definitions, deployed


def quote_form(field: str, tag: str | None) -> bytes:
    content = {
        "id": "quote",
        "type": "default",
        "schemaVersion": 16,
        "components": [{"type": "textfield", "key": field, "label": field}],
    }
    if tag is not None:
        content["versionTag"] = tag
    return json.dumps(content).encode()


def carrier(n: int) -> bytes:
    return definitions(ZEEBE, chain(f"ft_carrier_{n}", f'<bpmn:userTask id="carry_{n}" />'))


def caller(process_id: str, tag: str) -> bytes:
    task = (
        '<bpmn:userTask id="quote_task"><bpmn:extensionElements><zeebe:userTask />\n'
        f'<zeebe:formDefinition formId="quote" bindingType="versionTag" versionTag="{tag}" />'
        "\n</bpmn:extensionElements></bpmn:userTask>"
    )
    return definitions(ZEEBE, chain(process_id, task))


def shown_fields(agent: Actor, process_id: str) -> list[str]:
    (task,) = agent.start(process_id)["ready_tasks"]
    return sorted(task["form_schema"]["properties"])


def deploy_forms(owner: Actor, *versions: tuple[str, str | None]) -> None:
    for n, (field, tag) in enumerate(versions):
        files = [(f"carrier_{field}.bpmn", carrier(n)), ("quote.form", quote_form(field, tag))]
        response = owner.upload(extra=files)
        assert response.status_code == 201, response.get_json()


def test_a_form_bound_by_version_tag_shows_the_newest_form_carrying_it(owner, agent):
    deploy_forms(owner, ("one", "v1"), ("two", "v2"), ("three", None), ("four", "v1"))
    deployed(owner, "quote_v2.bpmn", caller("ft_quote_v2", "v2"))
    assert shown_fields(agent, "ft_quote_v2") == ["two"]
    deployed(owner, "quote_v1.bpmn", caller("ft_quote_v1", "v1"))
    assert shown_fields(agent, "ft_quote_v1") == ["four"]

    # fixed when the diagram was deployed: a later form with the tag reaches later diagrams
    deploy_forms(owner, ("five", "v1"))
    assert shown_fields(agent, "ft_quote_v1") == ["four"]
    agent.client.application.extensions["dialflow"].engine.specs = SpecCache()  # read again
    assert shown_fields(agent, "ft_quote_v1") == ["four"]
    deployed(owner, "quote_v1_again.bpmn", caller("ft_quote_v1_again", "v1"))
    assert shown_fields(agent, "ft_quote_v1_again") == ["five"]

    # a form deployed with the diagram carrying the tag is the one shown
    files = [("quote_v3.bpmn", caller("ft_quote_v3", "v3"))]
    files.append(("quote.form", quote_form("six", "v3")))
    assert owner.upload(extra=files).status_code == 201
    assert shown_fields(agent, "ft_quote_v3") == ["six"]


def test_a_tag_no_deployed_form_carries_is_refused_on_the_user_task(owner):
    deploy_forms(owner, ("one", "v1"))
    text = caller("ft_quote_v9", "v9")
    (detail,) = refused(owner.upload(extra=[("quote_v9.bpmn", text)]))
    assert detail["element_id"] == "quote_task"
    lines = text.decode().splitlines()
    assert detail["line"] == next(n for n, line in enumerate(lines, 1) if "formDefinition" in line)
    assert "no deployed form of id 'quote' carries version tag 'v9'" in detail["message"]

    # the deploy's own form of that id with another tag is not the tagged one either
    files = [("quote_v9.bpmn", text), ("quote.form", quote_form("mine", "v8"))]
    (detail,) = refused(owner.upload(extra=files))
    assert detail["element_id"] == "quote_task"
    assert "carries version tag 'v9'" in detail["message"]
