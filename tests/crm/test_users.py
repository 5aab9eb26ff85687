"""Users: validation, duplicates, argon2 passwords, sign-in and API tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models import ApiToken, AuditEntry, Role, Team, User
from crm.users import authenticate, create_token, create_user, get_user, user_for_token
from dialflow.db import utcnow
from dialflow.errors import Conflict, InvalidInput, NotFound
from tests.conftest import PASSWORD, count


def fields(error: InvalidInput) -> set[str]:
    return {d["field"] for d in error.details}


def test_create_user_with_team_and_manager(db, make_user):
    boss = make_user("manager", username="boss", team="华东一组")
    with db() as session:
        user = create_user(
            session,
            username="zhangwei",
            role="Agent",
            password="long-enough-1",
            display_name="张伟",
            team="华东一组",
            manager="boss",
        )
        user_id = user.id
    with db() as session:
        stored = session.get(User, user_id)
        assert stored.username == "zhangwei"
        assert stored.display_name == "张伟"
        assert stored.role == Role.AGENT
        assert stored.active is True
        assert stored.manager_id == boss.id
        assert stored.team_id == boss.team_id
        assert count(session, Team) == 1


def test_display_name_defaults_to_the_username(db):
    with db() as session:
        assert create_user(session, username="li.lei", role="agent").display_name == "li.lei"


def test_password_is_stored_as_an_argon2_hash(db, make_user):
    user = make_user("agent", password="s3cret-password")
    with db() as session:
        stored = session.get(User, user.id).password_hash
    assert stored.startswith("$argon2")
    assert "s3cret-password" not in stored


def test_user_without_password_cannot_sign_in(db):
    with db() as session:
        user = create_user(session, username="bot", role="agent")
        assert user.password_hash is None
    with db() as session:
        assert authenticate(session, "bot", "") is None
        assert authenticate(session, "bot", "anything-at-all") is None


def test_every_problem_is_reported_together(db):
    with pytest.raises(InvalidInput) as caught, db() as session:
        create_user(
            session, username="no spaces!", role="wizard", password="short", manager="ghost"
        )
    assert fields(caught.value) == {"username", "password", "role", "manager"}
    assert all(d["message"] for d in caught.value.details)
    with db() as session:
        assert count(session, User) == 0


def test_bad_usernames_are_refused(db, subtests):
    for username in ["", "a", "x" * 65, "张", "a b", "semi;colon", "张\u200b伟"]:
        with subtests.test(username=username):
            with pytest.raises(InvalidInput) as caught, db() as session:
                create_user(session, username=username, role="agent")
            assert fields(caught.value) == {"username"}
    with db() as session:
        assert count(session, User) == 0


def test_password_of_exactly_eight_characters_is_enough(db):
    with db() as session:
        assert create_user(session, username="ok", role="agent", password="12345678")


def test_role_objects_and_names_are_both_accepted(db):
    with db() as session:
        assert create_user(session, username="a1", role=Role.ADMIN).role == Role.ADMIN
        assert create_user(session, username="a2", role=" process_owner ").role == (
            Role.PROCESS_OWNER
        )


def test_duplicate_username_is_a_conflict(db, make_user):
    make_user("agent", username="zhangwei")
    with pytest.raises(Conflict) as caught, db() as session:
        create_user(session, username="zhangwei", role="manager", password="another-pass")
    assert caught.value.code == "duplicate_user"
    assert caught.value.status == 409
    assert "zhangwei" in caught.value.message
    with db() as session:
        assert count(session, User) == 1
        assert session.scalar(select(User.role)) == Role.AGENT


def test_create_user_is_audited(db, make_user):
    admin = make_user("admin", username="root")
    with db() as session:
        user = create_user(session, username="newbie", role="agent", actor=admin)
        user_id = user.id
    with db() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.entity_type == "user", AuditEntry.entity_id == str(user_id)
            )
        )
        assert entry.action == "create"
        assert entry.actor_id == admin.id
        assert entry.after["username"] == "newbie"
        assert "password" not in str(entry.after)


def test_get_user(db, make_user):
    make_user("agent", username="zhangwei")
    with db() as session:
        assert get_user(session, "zhangwei").username == "zhangwei"
        with pytest.raises(NotFound) as caught:
            get_user(session, "nobody")
        assert caught.value.code == "user_not_found"


# --- authentication -------------------------------------------------------------------------


def test_authenticate_with_the_right_password(db, make_user):
    user = make_user("agent", username="zhangwei", password=PASSWORD)
    with db() as session:
        found = authenticate(session, "zhangwei", PASSWORD)
        assert found is not None
        assert found.id == user.id
        assert authenticate(session, " zhangwei ", PASSWORD).id == user.id


def test_authenticate_refuses_wrong_credentials(db, make_user, subtests):
    make_user("agent", username="zhangwei", password=PASSWORD)
    attempts = [
        ("zhangwei", "wrong-password"),
        ("zhangwei", ""),
        ("zhangwei", PASSWORD.upper()),
        ("nobody", PASSWORD),
        ("", ""),
    ]
    with db() as session:
        for username, password in attempts:
            with subtests.test(username=username, password=password):
                assert authenticate(session, username, password) is None


def test_inactive_user_cannot_sign_in(db, make_user):
    user = make_user("agent", username="leaver", password=PASSWORD)
    with db() as session:
        session.get(User, user.id).active = False
    with db() as session:
        assert authenticate(session, "leaver", PASSWORD) is None


# --- tokens ---------------------------------------------------------------------------------


def test_token_resolves_to_its_user(db, make_user):
    user = make_user("agent", username="zhangwei")
    with db() as session:
        token = create_token(session, session.get(User, user.id), name="integration")
    assert token.startswith("dft_")
    with db() as session:
        found = user_for_token(session, token)
        assert found is not None
        owner, row = found
        assert owner.id == user.id
        assert row.name == "integration"
        assert row.revoked_at is None
        assert row.token_hash != token
        assert token not in row.token_hash


def test_tokens_are_unique_and_only_their_hash_is_stored(db, make_user):
    user = make_user("agent")
    with db() as session:
        me = session.get(User, user.id)
        tokens = {create_token(session, me) for _ in range(3)}
    assert len(tokens) == 3
    with db() as session:
        hashes = set(session.scalars(select(ApiToken.token_hash)))
    assert len(hashes) == 3
    assert not hashes & tokens


def test_unknown_token_resolves_to_nobody(db, make_user, subtests):
    user = make_user("agent")
    with db() as session:
        token = create_token(session, session.get(User, user.id))
    with db() as session:
        for wrong in ["", "dft_unknown", f"Bearer {token}", token.upper(), token[:-1]]:
            with subtests.test(token=wrong):
                assert user_for_token(session, wrong) is None


def test_revoked_token_resolves_to_nobody(db, make_user):
    user = make_user("agent")
    with db() as session:
        token = create_token(session, session.get(User, user.id))
    with db() as session:
        session.scalar(select(ApiToken)).revoked_at = utcnow()
    with db() as session:
        assert user_for_token(session, token) is None


def test_token_of_an_inactive_user_resolves_to_nobody(db, make_user):
    user = make_user("agent")
    with db() as session:
        token = create_token(session, session.get(User, user.id))
        session.get(User, user.id).active = False
    with db() as session:
        assert user_for_token(session, token) is None
