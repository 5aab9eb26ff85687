"""Page filters that name an id: a number no id can have is no such thing, never a 500."""

from __future__ import annotations

import pytest

from tests.web.test_process_model_pages import signed_in

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (f"/team?team={HUGE}", {404}),
        ("/team?team=-3", {200, 404}),
        (f"/customers?owner={HUGE}", {200}),
        (f"/process-models/lead_intake/instances?version={HUGE}", {404}),
        (f"/process-models/lead_intake/versions?deployed={HUGE}", {200, 404}),
        (f"/pipeline?owner={HUGE}&team={HUGE}", {200}),
    ],
)
def test_an_impossible_id_in_a_page_filter_is_no_such_thing(client, make_user, url, allowed):
    signed_in(client, make_user, "admin")
    response = client.get(url)
    assert response.status_code in allowed, (response.status_code, response.data[:300])
