"""A message correlated by an instance's variables (``correlation`` naming a variable, the catch
declaring no correlation property, as the Java engines correlate): which catch of an instance
it reaches (``engine.messages._held_otherwise``)."""

from __future__ import annotations

from typing import Any

import pytest

from engine import messages

URL = "/api/v1/messages"


def bpmn(process_id: str, body: str, messages: tuple[str, ...]) -> bytes:
    declared = "".join(f'  <message id="m_{m}" name="{m}"/>\n' for m in messages)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        '  id="defs" targetNamespace="http://example.com/held">\n'
        f"{declared}"
        f'  <process id="{process_id}" isExecutable="true">\n{body}\n  </process>\n'
        "</definitions>\n"
    ).encode()


EACH_CONTRACT = bpmn(
    "each_contract",
    """
    <startEvent id="start"><outgoing>f1</outgoing></startEvent>
    <receiveTask id="signed" name="Renewal signed" messageRef="m_renewal_signed">
      <incoming>f1</incoming><outgoing>f2</outgoing>
      <multiInstanceLoopCharacteristics isSequential="false">
        <loopDataInputRef>contracts</loopDataInputRef>
        <inputDataItem id="contract_no" name="contract_no"/>
      </multiInstanceLoopCharacteristics>
    </receiveTask>
    <endEvent id="end"><incoming>f2</incoming></endEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="signed"/>
    <sequenceFlow id="f2" sourceRef="signed" targetRef="end"/>
    """,
    ("renewal_signed",),
)


CANCELLABLE = bpmn(
    "cancellable",
    """
    <startEvent id="start"><outgoing>f1</outgoing></startEvent>
    <userTask id="review" name="Review the contract">
      <incoming>f1</incoming><outgoing>f2</outgoing>
    </userTask>
    <userTask id="sign" name="Sign the contract">
      <incoming>f2</incoming><outgoing>f3</outgoing>
    </userTask>
    <endEvent id="end"><incoming>f3</incoming></endEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="sign"/>
    <sequenceFlow id="f3" sourceRef="sign" targetRef="end"/>
    <subProcess id="on_cancel" triggeredByEvent="true">
      <startEvent id="cancelled" name="Contract cancelled">
        <outgoing>c1</outgoing>
        <messageEventDefinition id="med_cancel" messageRef="m_contract_cancelled"/>
      </startEvent>
      <endEvent id="cancel_end"><incoming>c1</incoming></endEvent>
      <sequenceFlow id="c1" sourceRef="cancelled" targetRef="cancel_end"/>
    </subProcess>
    """,
    ("contract_cancelled",),
)


ONE_CONTRACT = bpmn(
    "one_contract",
    """
    <startEvent id="start"><outgoing>f1</outgoing></startEvent>
    <scriptTask id="dated" name="Date the contract" scriptFormat="python">
      <incoming>f1</incoming><outgoing>f2</outgoing>
      <script>signed_on = date(2026, 12, 6)</script>
    </scriptTask>
    <intermediateCatchEvent id="signed" name="Renewal signed">
      <incoming>f2</incoming><outgoing>f3</outgoing>
      <messageEventDefinition id="med_signed" messageRef="m_renewal_signed"/>
    </intermediateCatchEvent>
    <endEvent id="end"><incoming>f3</incoming></endEvent>
    <sequenceFlow id="f1" sourceRef="start" targetRef="dated"/>
    <sequenceFlow id="f2" sourceRef="dated" targetRef="signed"/>
    <sequenceFlow id="f3" sourceRef="signed" targetRef="end"/>
    """,
    ("renewal_signed",),
)


def deploy(owner: Any, name: str, content: bytes) -> None:
    response = owner.upload(extra=[(name, content)])
    assert response.status_code in (200, 201), response.get_json()


def test_a_message_for_one_item_of_a_multi_instance_catch_reaches_that_item(owner, agent):
    deploy(owner, "each_contract.bpmn", EACH_CONTRACT)
    started = agent.start("each_contract", {"contracts": ["C-1", "C-2"]})
    assert started["status"] == "waiting", started
    sent = agent.post(URL, json={"name": "renewal_signed", "correlation": {"contract_no": "C-2"}})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [started["id"]]
    again = agent.post(URL, json={"name": "renewal_signed", "correlation": {"contract_no": "C-2"}})
    assert again.status_code == 404, again.get_json()  # C-2's item took it; C-1's waits
    last = agent.post(URL, json={"name": "renewal_signed", "correlation": {"contract_no": "C-1"}})
    assert last.status_code == 202, last.get_json()
    assert agent.instance(started["id"])["status"] == "completed"


def test_an_event_subprocess_compares_the_variable_as_it_is_now(owner, agent):
    deploy(owner, "cancellable.bpmn", CANCELLABLE)
    started = agent.start("cancellable", {"contract_no": "C-1"})
    review = next(t for t in started["ready_tasks"] if t["title"] == "Review the contract")
    agent.complete_ok(review["id"], {"contract_no": "C-2"})  # the contract was renumbered
    old = agent.post(
        URL, json={"name": "contract_cancelled", "correlation": {"contract_no": "C-1"}}
    )
    assert old.status_code == 404, old.get_json()
    new = agent.post(
        URL, json={"name": "contract_cancelled", "correlation": {"contract_no": "C-2"}}
    )
    assert new.status_code == 202, new.get_json()
    assert agent.instance(started["id"])["status"] == "completed"


def test_a_message_reaches_the_contract_it_names_among_more_than_are_read(
    owner, agent, monkeypatch
):
    """Only so many waiting instances are read for one message (``MAX_CANDIDATES``); those
    whose data holds the value named are read first. The contract after the first three was
    never reached (404), and every message read the three that passed it over."""
    monkeypatch.setattr(messages, "MAX_CANDIDATES", 3)
    deploy(owner, "one_contract.bpmn", ONE_CONTRACT)
    ids = [agent.start("one_contract", {"contract_no": f"C-{n}"})["id"] for n in range(5)]
    sent = agent.post(URL, json={"name": "renewal_signed", "correlation": {"contract_no": "C-4"}})
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["delivered_to"] == [ids[4]]
    assert [agent.instance(i)["status"] for i in ids] == ["waiting"] * 4 + ["completed"]


@pytest.mark.parametrize(
    ("held", "sent"),
    [(7.0, "7"), (7.0, 7), (7, "7"), ("7", 7)],
)
def test_a_number_is_named_by_its_digits(owner, agent, held, sent):
    """A JSON client's ``7.0`` held, ``"7"`` sent (as ``wait_keys`` stores a key, ``7``) was
    another value, and the instance holding it passed the message over; the other pairs pin
    what this round's rule already compared so."""
    deploy(owner, "one_contract.bpmn", ONE_CONTRACT)
    started = agent.start("one_contract", {"contract_no": held})
    other = agent.start("one_contract", {"contract_no": 8})
    response = agent.post(
        URL, json={"name": "renewal_signed", "correlation": {"contract_no": sent}}
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["delivered_to"] == [started["id"]]
    assert agent.instance(other["id"])["status"] == "waiting"


def test_a_date_a_script_set_is_named_by_its_iso_text(owner, agent):
    """JSON has no dates: the date a script set was another value than any text, and the
    instance passed every message naming it over."""
    deploy(owner, "one_contract.bpmn", ONE_CONTRACT)
    started = agent.start("one_contract", {})
    wrong = agent.post(
        URL, json={"name": "renewal_signed", "correlation": {"signed_on": "2026-12-07"}}
    )
    assert wrong.status_code == 404, wrong.get_json()
    right = agent.post(
        URL, json={"name": "renewal_signed", "correlation": {"signed_on": "2026-12-06"}}
    )
    assert right.status_code == 202, right.get_json()
    assert agent.instance(started["id"])["status"] == "completed"
