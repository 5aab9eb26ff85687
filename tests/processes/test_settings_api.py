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
