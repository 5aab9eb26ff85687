"""A Camunda 8 (Zeebe) export whose job workers name Dialflow operators and whose call
activity names its process only in ``<zeebe:calledElement>`` deploys and runs as drawn.

Both were refused: ``<zeebe:taskDefinition type="crm.add_note"/>`` with its input mappings
("choose a service operator from the handler registry", "map data with a script task") and a
call activity without a ``calledElement`` attribute ("name the called process in the call
activity's calledElement attribute"). Now the operator runs with the inputs as its parameters
(FEEL told as Python) and the process is called; what is not what Dialflow does stays refused
on its element and line: an operator that does not exist, its parameters checked as for
Dialflow's own service tasks, an output into a field, a FEEL process id, child variables
kept. (Output mappings run: ``test_zeebe_messages``.)
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import by_element, notes_of, refused
from tests.engine.diagram_folders import DiagramFolder, line_in, nothing_deployed, upload

ZEEBE2 = DiagramFolder("zeebe2")
QUOTE, PRICING = "quote_request.bpmn", "pricing.bpmn"
NOTE = '<bpmn:serviceTask id="Activity_note"'


def test_the_operators_run_and_the_called_process_hands_its_data_back(
    owner, agent, make_customer, db
):
    ZEEBE2.deploy(owner, PRICING)  # the called process deployed before, on its own
    assert ZEEBE2.deploy(owner, QUOTE)["process_ids"] == ["z2_quote_request"]
    customer = make_customer()
    done = agent.start("z2_quote_request", {"lead": {"customer_id": customer.id}, "seats": 4})
    assert done["status"] == "completed", done["incidents"]
    assert done["data"]["price"] == 1000  # worked out by the called process
    assert notes_of(db, customer.id) == ["Quote for 4 seats", "Price: 1000"]


INPUT_TEXT = (
    '<zeebe:input source="=&#34;Quote for &#34; + string(seats) + &#34; seats&#34;" '
    'target="text" />'
)
MISTAKES = {
    # (change, element, where its line is, words)
    "type-naming-no-operator": (
        (
            '<zeebe:taskDefinition type="crm.add_note" />',
            '<zeebe:taskDefinition type="add-note" />',
        ),
        "Activity_note",
        NOTE,
        ["runs job type 'add-note'", "register a handler named 'add-note'", "crm.add_note"],
    ),
    "required-parameter-not-mapped": (
        (INPUT_TEXT, ""),
        "Activity_note",
        NOTE,
        ["crm.add_note needs parameter 'text'"],
    ),
    "input-naming-no-parameter": (
        (INPUT_TEXT, INPUT_TEXT.replace('target="text"', 'target="body"')),
        "Activity_note",
        NOTE,
        ["crm.add_note has no parameter 'body'", "crm.add_note needs parameter 'text'"],
    ),
    "literal-of-the-wrong-type": (
        (
            '<zeebe:input source="=lead.customer_id" target="customer_id" />',
            '<zeebe:input source="=&#34;Ada&#34;" target="customer_id" />',
        ),
        "Activity_note",
        NOTE,
        ["crm.add_note: parameter 'customer_id' must be"],
    ),
    "output-into-a-field": (
        (INPUT_TEXT, INPUT_TEXT + '<zeebe:output source="=note_id" target="note.id" />'),
        "Activity_note",
        "<zeebe:ioMapping>",
        [
            "<zeebe:ioMapping>",
            "sets 'note.id': a target names one variable",
        ],
    ),
    "feel-process-id": (
        ('processId="z2_pricing"', 'processId="=pricing_process"'),
        "Activity_price",
        "<zeebe:calledElement",
        ["<zeebe:calledElement>", "name one process id in its calledElement attribute"],
    ),
    "child-variables-flag-misspelt": (
        ('propagateAllChildVariables="true"', 'propagateAllChildVariables="no"'),
        "Activity_price",
        "<zeebe:calledElement",
        ["<zeebe:calledElement>", 'propagateAllChildVariables="no" takes "true" or "false"'],
    ),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_what_is_not_what_dialflow_does_is_refused_on_its_element_and_line(owner, db, mistake):
    change, element, where, words = MISTAKES[mistake]
    text = ZEEBE2.edited(QUOTE, change)
    details = refused(upload(owner, (QUOTE, text), (PRICING, ZEEBE2.read(PRICING))))
    mine = [d for d in details if d["element_id"] == element and where.strip("<") in d["message"]]
    mine = mine or [d for d in details if d["element_id"] == element]
    assert set(by_element(details)) == {element}, details
    said = by_element(details)[element]
    for word in words:
        assert word in said, (word, said)
    assert mine[0]["line"] == line_in(where, text), mine
    nothing_deployed(db)


FEEL_TEXT = "=&#34;Quote for &#34; + string(seats) + &#34; seats&#34;"
FEEL_INDEXES = "=notes[1] + lead.contacts[1].name + notes[-1]"


def test_feel_list_indexes_count_from_one(owner, agent, make_customer, db):
    """FEEL counts a list's items from 1 (``notes[1]`` is the first, ``notes[-1]`` the last),
    and an item's fields are read by path after an index too (``lead.contacts[1].name``):
    the input mapping ``=notes[1]`` gave the operator the second note, and
    ``=lead.contacts[1].name`` failed on the data's object. A range has no Python here:
    ``=for i in 1..2 return notes[i]`` is refused (a filter, ``=notes[item != ""]``, ran as
    ``notes[True]``, the second note; it runs as FEEL's filter now: ``test_feel_everywhere``)."""
    filtered = INPUT_TEXT.replace(FEEL_TEXT, "=for i in 1..2 return notes[i]")
    text = ZEEBE2.edited(QUOTE, (INPUT_TEXT, filtered))
    details = refused(upload(owner, (QUOTE, text), (PRICING, ZEEBE2.read(PRICING))))
    assert set(by_element(details)) == {"Activity_note"}, details
    text = ZEEBE2.edited(QUOTE, (INPUT_TEXT, INPUT_TEXT.replace(FEEL_TEXT, FEEL_INDEXES)))
    answer = upload(owner, (QUOTE, text), (PRICING, ZEEBE2.read(PRICING)))
    assert answer.status_code == 201, answer.get_json()
    customer = make_customer()
    lead = {"customer_id": customer.id, "contacts": [{"name": " Ada "}, {"name": " Bo "}]}
    done = agent.start("z2_quote_request", {"lead": lead, "seats": 4, "notes": ["one", "two"]})
    assert done["status"] == "completed", done["incidents"]
    assert notes_of(db, customer.id)[0] == "one Ada two"
