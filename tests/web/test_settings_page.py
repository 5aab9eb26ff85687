"""The settings page: default, inherited, stored and effective values; managers change their
team, directors the global value or any team; per-field errors; CSRF."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm.models import AuditEntry
from crm.models import Team as TeamRow
from processes import settings as process_settings
from tests.processes.conftest import EAST, SOUTH, Team
from tests.web.sales_pages import browser, submit


def team_id(team: Team, name: str) -> int:
    with team.db() as db:
        return db.scalar(select(TeamRow.id).where(TeamRow.name == name))


def cells(html: str, key: str, field: str) -> list[str]:
    section = re.search(rf'data-setting="{key}">(.*?)</section>', html, re.S).group(1)
    row = re.search(rf'<tr class="[^"]*" data-field="{field}">(.*?)</tr>', section, re.S).group(1)
    return [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def effective(team: Team, key: str, team_name: str | None) -> dict:
    with team.db() as db:
        return process_settings.effective(db, key, team_id(team, team_name) if team_name else None)


def test_manager_changes_their_team_and_sees_default_inherited_and_effective(team: Team) -> None:
    manager = browser(team, "m_east")
    page = manager.get("/settings")
    assert page.status_code == 200
    for key in process_settings.DEFINITIONS:
        assert f'data-setting="{key}"' in page.text
    east = team_id(team, EAST)
    saved = submit(
        manager,
        "/settings",
        "/settings/cadence",
        {
            "team": str(east),
            "retry_backoff": "PT30M, pt2h",
            "max_attempts_per_day": "4",
            "max_attempts_total": "",
        },
    )
    assert saved.status_code == 302
    assert effective(team, "cadence", EAST) == {
        "retry_backoff": ["PT30M", "PT2H"],
        "max_attempts_per_day": 4,
        "max_attempts_total": 6,
    }
    assert effective(team, "cadence", SOUTH)["max_attempts_per_day"] == 3
    page = manager.get("/settings").text
    default, inherited, stored, in_force = cells(page, "cadence", "retry_backoff")[1:]
    assert default == "PT1H, PT3H" and inherited == "PT1H, PT3H"
    assert 'value="PT30M, PT2H"' in stored and in_force == "<strong>PT30M, PT2H</strong>"
    with team.db() as db:
        entry = db.scalar(select(AuditEntry).where(AuditEntry.entity_type == "setting"))
    assert entry.entity_id == f"cadence@team:{east}"


def test_invalid_values_are_refused_per_field_and_nothing_is_stored(team: Team) -> None:
    manager = browser(team, "m_east")
    east = str(team_id(team, EAST))
    bad = submit(
        manager,
        "/settings",
        "/settings/calling_window",
        {"team": east, "start": "07:00", "end": "21:00"},
    )
    assert bad.status_code == 422
    assert "Calls may not start before 08:00." in bad.text
    assert 'value="07:00"' in bad.text  # what was typed stays
    for data, field in [
        ({"start": "9am"}, "start"),
        ({"end": "08:00", "start": "09:00"}, "end"),
    ]:
        response = submit(manager, "/settings", "/settings/calling_window", {"team": east, **data})
        assert response.status_code == 422 and f'data-error="{field}"' in response.text
    for data, field in [
        ({"retry_backoff": "one hour"}, "retry_backoff"),
        ({"max_attempts_per_day": "lots"}, "max_attempts_per_day"),
        ({"max_attempts_total": "99999"}, "max_attempts_total"),
    ]:
        response = submit(manager, "/settings", "/settings/cadence", {"team": east, **data})
        assert response.status_code == 422 and f'data-error="{field}"' in response.text, data
    assert effective(team, "calling_window", EAST) == {"start": "09:00", "end": "21:00"}
    assert effective(team, "cadence", EAST)["retry_backoff"] == ["PT1H", "PT3H"]
    assert submit(manager, "/settings", "/settings/nope", {"team": east}).status_code == 404
    assert (
        manager.post(
            "/settings/cadence", data={"team": east, "max_attempts_per_day": "2"}
        ).status_code
        == 400
    )


def test_managers_only_their_team_directors_global_and_any_team(team: Team) -> None:
    manager = browser(team, "m_east")
    south = str(team_id(team, SOUTH))
    assert manager.get(f"/settings?team={south}").status_code == 404
    refused = submit(
        manager, "/settings", "/settings/pool", {"team": south, "daily_claim_cap": "9"}
    )
    assert refused.status_code == 404
    assert (
        submit(
            manager, "/settings", "/settings/pool", {"team": "global", "daily_claim_cap": "9"}
        ).status_code
        == 404
    )
    assert effective(team, "pool", SOUTH)["daily_claim_cap"] == 5
    assert browser(team, "a1").get("/settings").status_code == 403

    director = browser(team, "boss")
    assert 'value="global" selected' in director.get("/settings").text
    saved = submit(
        director, "/settings", "/settings/pool", {"team": "global", "daily_claim_cap": "8"}
    )
    assert saved.status_code == 302
    assert effective(team, "pool", EAST)["daily_claim_cap"] == 8  # inherited by every team
    saved = submit(
        director,
        f"/settings?team={south}",
        "/settings/pool",
        {"team": south, "daily_claim_cap": "2"},
    )
    assert saved.status_code == 302
    assert effective(team, "pool", SOUTH)["daily_claim_cap"] == 2
    page = director.get(f"/settings?team={south}").text
    assert cells(page, "pool", "daily_claim_cap")[1:3] == ["5", "8"]  # default, inherited
    assert director.get("/settings?team=abc").status_code == 404


def test_process_owners_change_the_cadence_for_everyone(team: Team) -> None:
    """How the processes behave is the process owner's: the retry limit, for example."""
    owner = browser(team, "flow_owner")
    assert owner.get("/settings").status_code == 200
    saved = submit(
        owner, "/settings", "/settings/cadence", {"team": "global", "max_attempts_total": "4"}
    )
    assert saved.status_code == 302
    assert effective(team, "cadence", EAST)["max_attempts_total"] == 4
