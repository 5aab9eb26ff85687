"""Activiti 7 extensions files run as Activiti's ``ExtensionsVariablesMappingProvider`` runs them.

A mapping's ``mappingType`` (``MAP_ALL``, ``MAP_ALL_INPUTS``, ``MAP_ALL_OUTPUTS``, read ignoring
case) was refused as something Dialflow does not read: ``MAP_ALL_INPUTS`` hands the connector
every variable over its constants, ``MAP_ALL_OUTPUTS`` sets all it answers, ``MAP_ALL`` both; a
value that is none of them (Activiti cannot read the file) is refused with the three. A
mapping's ``type`` written ``VARIABLE`` or ``Value`` (Activiti reads it ignoring case) was
refused. A task a file keyed by process (Activiti 7.1 and later) only hands constants got every
variable and set all it answered, as Activiti 7.0 ran it: since 7.1.0-M10 it gets the constants
alone and sets nothing (refused when an operator's required parameter is then missing). A file
as Activiti 7.0 wrote it applied to every process with a task of that id, though Activiti reads
it for the process of its ``id`` only (the connector ran unmapped there): refused on the task.
An output mapping a variable the connector did not answer was an incident, where Activiti sets
nothing; a value holding ``${…}``, which Activiti resolves, was handed on as its text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine.conftest import notes_of, only, refused
from tests.engine.diagram_folders import line_in, nothing_deployed, upload
from tests.engine.test_deploy_gaps import (
    A7,
    A7_PROCESS,
    NOTE_TASK,
    ROUND28,
    customer,
    extensions,
    not_interested,
)

FILE = f"{A7_PROCESS}-extensions.json"
REASON = {"type": "variable", "value": "reason"}
CUSTOMER = {"type": "variable", "value": "customer_id"}


@pytest.mark.parametrize(
    ("mapping", "note", "data"),
    [
        ({"mappingType": "MAP_ALL"}, "Has a supplier", {"note_id"}),
        (
            {
                "mappingType": "map_all_inputs",
                "outputs": {"note": {"type": "variable", "value": "note_id"}},
            },
            "Has a supplier",
            {"note"},
        ),
        (
            {
                "mappingType": "MAP_ALL_OUTPUTS",
                "inputs": {
                    "text": {"type": "Value", "value": "Not interested"},
                    "customer_id": {"type": "VARIABLE", "value": "customer_id"},
                },
            },
            "Not interested",
            {"note_id"},
        ),
    ],
    ids=["MAP_ALL", "MAP_ALL_INPUTS", "MAP_ALL_OUTPUTS"],
)
def test_a_mapping_type_hands_every_variable_or_sets_every_answer(
    owner, agent, db, mapping, note, data
):
    """Refused before ("it says mappingType, which Dialflow does not read"); a type written
    ``Value`` or ``VARIABLE`` was refused as no type."""
    done = not_interested(owner, agent, db, extensions(mapping), {"text": "Has a supplier"})
    assert notes_of(db, done["customer_id"]) == [note]
    assert {"note", "note_id"} & set(done["data"]) == data, done["data"]


def test_a_keyed_file_handing_only_constants_gives_the_connector_those_alone(owner, agent, db):
    """The task got every variable too and set the note's id, as Activiti 7.0 ran it."""
    cid = customer(db)
    given = {"text": {"value": "Not interested"}, "customer_id": {"value": cid}}
    answer = upload(owner, (A7, ROUND28.read(A7)), (FILE, extensions({}, constants=given)))
    assert answer.status_code == 201, answer.get_json()
    started = agent.start(A7_PROCESS, {"customer_id": cid})
    done = agent.complete_ok(only(started["ready_tasks"])["id"], {"interested": False})
    assert (done["status"], done["incidents"]) == ("completed", []), done["incidents"]
    assert notes_of(db, cid) == ["Not interested"]
    assert "note_id" not in done["data"], done["data"]


def test_a_connector_whose_output_was_not_answered_sets_nothing(owner, agent, db):
    """Its post-script failed on the name: an incident on the task."""
    mapping = {
        "inputs": {"text": REASON, "customer_id": CUSTOMER},
        "outputs": {
            "note": {"type": "variable", "value": "note_number"},
            "logged": {"type": "value", "value": True},
        },
    }
    done = not_interested(owner, agent, db, extensions(mapping), {"reason": "Too dear"})
    assert notes_of(db, done["customer_id"]) == ["Too dear"]
    assert "note" not in done["data"] and done["data"]["logged"] is True, done["data"]


@pytest.mark.parametrize(
    ("file", "said"),
    [
        (
            extensions({}, constants={"text": {"value": "Not interested"}}),
            f"{FILE} maps this Activiti 7 connector (crm.add_note), but it only hands the "
            "connector constants, and Activiti 7.1 and later hand a task the file does not map "
            "nothing else: customer_id, which crm.add_note needs, would be missing",
        ),
        (
            extensions(
                {
                    "inputs": {
                        "text": {"type": "value", "value": "Lost: ${reason}"},
                        "customer_id": CUSTOMER,
                    }
                }
            ),
            "its input 'text' is the value \"Lost: ${reason}\", whose ${…} Activiti resolves",
        ),
        (
            json.dumps(
                {
                    "id": "process-model-1",
                    "extensions": {"mappings": {NOTE_TASK: {"inputs": {"text": REASON}}}},
                }
            ).encode(),
            f"{FILE} maps a task of this id under its \"id\" 'process-model-1', but this task's "
            f"process is '{A7_PROCESS}': Activiti reads a file's mappings for the process they "
            f'are filed under only, so the connector would run unmapped; give the file "id": '
            f'"{A7_PROCESS}"',
        ),
    ],
    ids=["keyed constants only", "placeholder value", "7.0 file of another process"],
)
def test_a_mapping_activiti_would_run_otherwise_is_refused_on_its_task(
    owner, db, file: Any, said: str
):
    """Each deployed (the first two) or ran as if it mapped this task (the third)."""
    text = ROUND28.read(A7)
    (detail,) = refused(upload(owner, (A7, text), (FILE, file)))
    assert (detail["element_id"], detail["file"]) == (NOTE_TASK, A7)
    assert detail["line"] == line_in(f'<bpmn2:serviceTask id="{NOTE_TASK}"', text)
    assert said in detail["message"], detail["message"]
    nothing_deployed(db)
