"""The settings API: team ids checked like every id, partial changes merged into what the team
stored, and the value then in force checked as a whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.processes.conftest import Team


def put(team: Team, key: str, body: dict[str, Any], by: str = "boss") -> Any:
    return team[by].client.put(f"/api/v1/settings/{key}", headers=team[by].headers, json=body)


@pytest.mark.parametrize("huge", [2**31, 2**40, 2**63, 2**70])
def test_a_team_id_too_large_for_an_id_is_a_422(team: Team, huge: int) -> None:
    response = put(team, "calling_window", {"team_id": huge, "value": {"start": "10:00"}})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"][0]["field"] == "team_id"
    for url in (
        f"/api/v1/settings/calling_window?team_id={huge}",
        f"/api/v1/settings?team_id={huge}",
    ):
        got = team["boss"].get(url)
        assert got.status_code == 422, got.get_json()


def test_an_unknown_team_is_a_404(team: Team) -> None:
    response = put(team, "calling_window", {"team_id": 999_999, "value": {"start": "10:00"}})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "team_not_found"
    for url in (
        "/api/v1/settings/calling_window?team_id=999999",
        "/api/v1/settings?team_id=999999",
    ):
        got = team["boss"].get(url)
        assert got.status_code == 404 and got.get_json()["error"]["code"] == "team_not_found"
    for bad in ("0", "-1", "x"):
        assert team["boss"].get(f"/api/v1/settings/pool?team_id={bad}").status_code == 422


def test_a_partial_change_keeps_the_teams_other_keys(team: Team) -> None:
    team_id = team["a1"].user.team_id
    first = put(
        team, "pool", {"team_id": team_id, "value": {"holding_cap": 50, "protection_days": 5}}
    )
    assert first.status_code == 200, first.get_json()
    second = put(team, "pool", {"team_id": team_id, "value": {"daily_claim_cap": 2}})
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["stored"] == {
        "holding_cap": 50,
        "protection_days": 5,
        "daily_claim_cap": 2,
    }
    got = team["m_east"].get("/api/v1/settings/pool").get_json()
    assert got["value"]["holding_cap"] == 50 and got["value"]["daily_claim_cap"] == 2


def test_the_merged_window_must_end_after_it_starts(team: Team) -> None:
    team_id = team["a1"].user.team_id
    assert (
        put(team, "calling_window", {"team_id": team_id, "value": {"end": "12:00"}}).status_code
        == 200
    )
    late_start = put(team, "calling_window", {"team_id": team_id, "value": {"start": "13:00"}})
    assert late_start.status_code == 422, late_start.get_json()
    assert late_start.get_json()["error"]["details"][0]["field"] == "value.end"
    got = team["boss"].get(f"/api/v1/settings/calling_window?team_id={team_id}").get_json()
    assert got["stored"] == {"end": "12:00"}
    # the global window is what a team's partial value falls back to
    south = team["a4"].user.team_id
    assert (
        put(team, "calling_window", {"value": {"start": "10:00", "end": "12:00"}}).status_code
        == 200
    )
    refused = put(team, "calling_window", {"team_id": south, "value": {"start": "12:30"}})
    assert refused.status_code == 422, refused.get_json()
    ok = put(team, "calling_window", {"team_id": south, "value": {"start": "11:00"}})
    assert ok.get_json()["value"] == {"start": "11:00", "end": "12:00"}


# -- durations: a wait longer than any date (SpiffWorkflow counts its months out one by one) ----


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("assignment", {"first_call_sla": "P99999999Y"}, "value.first_call_sla"),
        ("approval", {"escalate_after": "PT999999999999999999H"}, "value.escalate_after"),
        ("cadence", {"retry_backoff": ["PT1H", "P99999W"]}, "value.retry_backoff.1"),
        ("after_sale", {"visits": ["P3D", "P5Y1D"]}, "value.visits.1"),
    ],
)
def test_a_duration_longer_than_five_years_is_refused_and_not_stored(
    team: Team, key: str, value: dict[str, Any], field: str
) -> None:
    before = team["boss"].get(f"/api/v1/settings/{key}").get_json()
    response = put(team, key, {"value": value})
    assert response.status_code == 422, response.get_json()
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]
    assert team["boss"].get(f"/api/v1/settings/{key}").get_json() == before


def test_a_duration_of_five_years_is_kept(team: Team) -> None:
    response = put(team, "after_sale", {"value": {"visits": ["P3D", "P5Y"]}})
    assert response.status_code == 200, response.get_json()
    assert team["boss"].get("/api/v1/settings/after_sale").get_json()["value"]["visits"] == [
        "P3D",
        "P5Y",
    ]


def test_a_too_long_duration_stored_before_fails_the_step_instead_of_holding_it(
    team: Team,
) -> None:
    """A value stored before the check (or pinned in a diagram) makes an incident of the
    operator that reads it; the lead is answered at once."""
    import signal

    from crm.models import Setting

    with team.db() as db:
        db.add(Setting(key="assignment", value={"first_call_sla": "P99999999Y"}))

    def too_slow(*_: object) -> None:
        raise TimeoutError("the lead's intake is still counting out the duration")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(20)
    try:
        response = team["boss"].post(
            "/api/v1/leads", json={"name": "慢客户", "phone": "13700000099", "region": "上海"}
        )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert response.status_code == 201, response.get_json()
    instance = response.get_json()["instance"]
    assert instance["status"] == "error"
    assert "too long" in instance["incidents"][0]["message"]
