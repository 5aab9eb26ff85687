"""Review of the day's merged work, through the Flask test client: the task page carries the
instance's value of a variable a hide condition reads and no field shows, escaped."""

from __future__ import annotations

import json
import re
from html import unescape
from io import BytesIO

from tests.conftest import PASSWORD, sign_in
from tests.engine.test_camunda7_forms import c7
from tests.engine.test_review_today import BY_THE_INSTANCE
from tests.web.workspace import bearer

HOSTILE = "'><script>window.pwned = 1</script>\""


def test_the_page_carries_what_the_conditions_read_and_nothing_else(client, db, make_user):
    """``segment`` is on no field, so the page gets its value to hide "Call back when" as the
    server does (it showed the field, and the server dropped what was typed in it); the
    instance's other data stays off the page, and a hostile value stays text."""
    agent = make_user("agent", username="li", team="East", password=PASSWORD)
    owner = bearer(db, make_user("process_owner", username="po", team=None))
    files = [
        (BytesIO(c7('camunda:formRef="call-result" camunda:assignee="li"')), "c7_form_ref.bpmn"),
        (BytesIO(json.dumps(BY_THE_INSTANCE).encode()), "call-result.form"),
    ]
    deployed = client.post(
        "/api/v1/process-models",
        headers=owner,
        data={"file": files},
        content_type="multipart/form-data",
    )
    assert deployed.status_code in (200, 201), deployed.get_json()
    data = {"tier": "basic", "segment": HOSTILE, "id_card": "110101199003071234"}
    started = client.post(
        "/api/v1/process-instances",
        headers=bearer(db, agent),
        json={"process_id": "c7_form_ref", "data": data},
    ).get_json()
    [task] = started["ready_tasks"]
    assert sign_in(client, "li").status_code == 302
    page = client.get(f"/tasks/{task['id']}").text
    assert "<script>window.pwned" not in page
    [carried] = re.findall(r"data-hide-context='([^']*)'", page)
    assert json.loads(unescape(carried)) == {"segment": HOSTILE}
