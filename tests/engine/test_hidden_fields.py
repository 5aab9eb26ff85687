"""Hide conditions (form-js ``conditional.hide``) that read each other in a cycle are refused
at deploy, naming the fields; a field inside a group is hidden by its condition on completion.

``a`` hidden when ``b`` is empty and ``b`` hidden when ``a`` is empty has no one answer for
what the form shows: hiding one empties what hid the other. Such a form deployed, and the
page and the server flipped the fields pass after pass; now the deploy answers 422
``invalid_bpmn`` on the task, with the fields of the cycle named.
"""

from __future__ import annotations

import json
import time

from tests.engine.conftest import Actor, by_element, refused
from tests.engine.test_camunda7_forms import c7


def _form(*components: dict) -> tuple[str, bytes]:
    form = {"id": "call-result", "type": "default", "components": list(components)}
    return ("call-result.form", json.dumps(form, ensure_ascii=False).encode())


def _text(key: str, hide: str | None = None, **more) -> dict:
    component = {"type": "textfield", "key": key, "label": key, **more}
    if hide:
        component["conditional"] = {"hide": hide}
    return component


def _upload(owner: Actor, *components: dict):
    text = c7('camunda:formRef="call-result"')
    return owner.upload(extra=[("c7_form_ref.bpmn", text), _form(*components)])


def test_hide_conditions_in_a_cycle_are_refused_naming_their_fields(owner: Actor) -> None:
    two = _upload(
        owner,
        _text("outcome"),
        _text("company", "=phone = null"),
        _text("phone", '=company != null and outcome = "lost"'),
    )
    [message] = by_element(refused(two)).values()
    assert "the fields 'company', 'phone' are hidden by conditions on each other" in message
    assert "'outcome'" not in message

    nested = _upload(
        owner,
        _text("a", '=contact.b = "x"'),
        {
            "type": "group",
            "label": "Contact",
            "path": "contact",
            "components": [_text("b", '=c = "y"')],
        },
        _text("c", "=a = null"),
    )
    [message] = by_element(refused(nested)).values()
    assert "the fields 'a', 'contact.b', 'c' are hidden by conditions on each other" in message

    itself = _upload(owner, _text("note", '=note = "secret"'))
    [message] = by_element(refused(itself)).values()
    assert "'note' is hidden by a condition on its own value" in message

    chain = _upload(owner, _text("a"), _text("b", "=a = null"), _text("c", "=b = null"))
    assert chain.status_code in (200, 201), chain.get_json()


def test_a_hidden_field_inside_a_group_is_not_asked_for_nor_kept(
    owner: Actor, agent: Actor
) -> None:
    group = {
        "type": "group",
        "label": "Contact",
        "path": "contact",
        "components": [
            {
                "type": "radio",
                "key": "kind",
                "label": "Kind",
                "values": [
                    {"label": "Person", "value": "person"},
                    {"label": "Business", "value": "business"},
                ],
            },
            _text("company", '=contact.kind != "business"', validate={"required": True}),
        ],
    }
    deployed = _upload(owner, group)
    assert deployed.status_code in (200, 201), deployed.get_json()
    [task] = agent.start("c7_form_ref", {})["ready_tasks"]
    company = task["form_schema"]["properties"]["contact"]["properties"]["company"]
    assert company["x-hide-if"]["tests"] == [[["contact", "kind"], "!=", "business"]]
    asked = agent.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": {"contact": {"kind": "business"}}}
    )
    assert asked.status_code == 422, asked.get_json()
    assert [d["field"] for d in asked.get_json()["error"]["details"]] == ["contact.company"]
    done = agent.complete_ok(task["id"], {"contact": {"kind": "person", "company": "typed"}})
    assert done["status"] == "completed"
    assert done["data"]["contact"] == {"kind": "person"}  # hidden: dropped


def test_a_long_chain_of_hide_conditions_deploys_in_a_moment(owner: Actor) -> None:
    # a wizard of 300 fields, each shown once the one before is filled: each pair of fields
    # was walked for a cycle (13 s for 300, half a minute for 400)
    fields = [_text("f0"), *(_text(f"f{n}", f"=f{n - 1} = null") for n in range(1, 300))]
    began = time.process_time()  # the deploy runs in this process; load elsewhere does not count
    answer = _upload(owner, *fields)
    assert answer.status_code in (200, 201), answer.get_json()
    assert time.process_time() - began < 6
    fields[0] = _text("f0", "=f299 = null")  # round in a circle: refused, naming all 300
    [message] = by_element(refused(_upload(owner, *fields))).values()
    assert "the fields 'f0', 'f1', 'f2'," in message and "'f299' are hidden" in message
