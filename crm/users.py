"""Users, password hashing (argon2) and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm import audit
from crm.models import ApiToken, Role, Team, User
from crm.usernames import normalise_username, username_key, username_problem
from dialflow.errors import Conflict, InvalidInput, NotFound, field_error

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise field_error("role", f"Unknown role {value!r}; use one of: {allowed}.") from None


def get_or_create_team(session: Session, name: str) -> Team:
    name = name.strip()
    if not name:
        raise field_error("team", "A team name cannot be empty.")
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    return team


def create_user(
    session: Session,
    *,
    username: str,
    role: str | Role,
    password: str | None = None,
    display_name: str | None = None,
    team: str | None = None,
    manager: str | None = None,
    actor: User | None = None,
) -> User:
    """Create an active user; every problem with the input is reported in one error."""
    problems: list[dict[str, str]] = []
    username = normalise_username(username)
    username_error = username_problem(username)
    if username_error:
        problems.append({"field": "username", "message": username_error})
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            {
                "field": "password",
                "message": f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.",
            }
        )
    try:
        parsed_role = role if isinstance(role, Role) else parse_role(role)
    except InvalidInput as exc:
        problems.extend(exc.details)
        parsed_role = Role.AGENT
    manager_user = None
    if manager:
        manager_user = find_user(session, manager)
        if manager_user is None:
            problems.append({"field": "manager", "message": f"No user named {manager!r}."})
    if problems:
        raise InvalidInput("The user could not be created.", details=problems)
    key = username_key(username)
    twin = session.scalar(select(User.username).where(User.username_key == key))
    if twin == username:
        raise Conflict(f"A user named {username!r} already exists.", code="duplicate_user")
    if twin is not None:
        raise Conflict(
            f"{username!r} would look the same as the user {twin!r} in a list; "
            "choose a name that differs in what it shows.",
            code="duplicate_user",
        )

    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        role=parsed_role,
        password_hash=hash_password(password) if password else None,
        team=get_or_create_team(session, team) if team else None,
        manager=manager_user,
        active=True,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="user",
        entity_id=user.id,
        after={"username": username, "role": parsed_role.value, "team": team},
    )
    return user


def find_user(session: Session, username: str | None) -> User | None:
    """The user of this name as people type it (full-width, decomposed accents), else None."""
    name = normalise_username(username)
    return session.scalar(select(User).where(User.username == name)) if name else None


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"No user named {username!r}.", code="user_not_found")
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, else None (callers say only "wrong credentials")."""
    user = find_user(session, username)
    if user is None or not user.active:
        _hasher.hash("constant-time-padding")  # the same work whether or not the user exists
        return None
    return user if verify_password(user, password or "") else None


def create_token(session: Session, user: User, name: str = "cli") -> str:
    """Issue a bearer token; only its hash is stored, so this is the one time it is seen."""
    token = "dft_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name))
    audit.record(session, actor=user, action="create_token", entity_type="user", entity_id=user.id)
    return token


def user_for_token(session: Session, token: str) -> tuple[User, ApiToken] | None:
    """The active user a bearer token belongs to, with the token row; None if unknown/revoked."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    return row.user, row


def token_needs_touch(row: ApiToken, now: datetime) -> bool:
    """``last_used_at`` is kept to the nearest few minutes, so most requests stay read-only."""
    return row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_INTERVAL


def touch_token(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
