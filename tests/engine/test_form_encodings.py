"""A Camunda Form or JSON-Schema form saved by Windows Notepad as "Unicode" (UTF-16 after its
byte-order mark) deploys as its UTF-8 copy does; it was refused as "binary data (an image or an
archive?)"."""

from __future__ import annotations

import codecs
import json
import pathlib

from tests.engine.conftest import Actor

FORMS = pathlib.Path(__file__).parent / "diagrams" / "c8forms"


def test_a_utf16_form_file_with_its_mark_deploys_as_its_utf8_copy(owner: Actor) -> None:
    form = json.loads((FORMS / "call-result.form").read_text(encoding="utf-8"))
    form["components"][0]["label"] = "通话结果"
    utf8 = json.dumps(form, ensure_ascii=False)
    owner.deploy("c8forms/c8_call_result.bpmn", "c8forms/call-result.form")
    expected = owner.start("c8_call_result", {"customer": "上海"})["ready_tasks"][0]

    for mark, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF32_BE, "utf-32-be")):
        text = mark + utf8.replace("\n", "\r\n").encode(codec)
        response = owner.upload("c8forms/c8_call_result.bpmn", extra=[("call-result.form", text)])
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:2000]
        [task] = owner.start("c8_call_result", {"customer": "上海"})["ready_tasks"]
        schema = json.dumps(task["form_schema"], ensure_ascii=False)
        assert "通话结果" in schema
        assert task["form_schema"].keys() == expected["form_schema"].keys()
