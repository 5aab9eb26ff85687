"""Bearer-token authentication for the API, and ``POST /api/v1/auth/token``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, jsonify, request
from flask.typing import ResponseReturnValue

from crm import audit, signin_limits
from crm.models import User
from crm.users import authenticate, create_token, token_needs_touch, touch_token, user_for_token
from dialflow.db import utcnow
from dialflow.errors import Forbidden, InvalidInput, PayloadTooLarge, Unauthorized
from dialflow.strict_json import RESERVED_KEY, NotStorable, loads_strict, reserved_key_at
from web import MAX_OFFSET
from web.api import api_bp
from web.api.body_types import refuse_wrong_types
from web.api.openapi import documented
from web.api.schemas import STR, obj
from web.context import runtime, unit_of_work

F = TypeVar("F", bound=Callable[..., Any])

# A record, a form's answers, a message's payload: all far smaller. A deploy's files and an
# import's rows have their own doors and limits.
MAX_JSON_BYTES = 1024 * 1024


def json_body(
    invalid_code: str = "invalid_input", *, max_bytes: int | None = MAX_JSON_BYTES
) -> dict[str, Any]:
    """The request's JSON object, or a clear 400/422 instead of a framework error page.

    A field documented as text that holds another JSON type is a 422 with ``invalid_code``
    (the code the view's own checks answer with). A body over ``max_bytes`` is a 413 (``None``:
    only the app's limit on every request, for a deploy's files, which have their own).

    Strict JSON only (``dialflow.strict_json``): no ``NaN``, no numbers beyond a float's range, no
    NUL and no lone surrogate in a string, which the databases or our own answers cannot hold.
    """
    if max_bytes is not None and len(request.get_data(cache=True)) > max_bytes:
        raise PayloadTooLarge(
            f"A JSON body may hold at most {max_bytes // 1024} KB: an instance keeps what "
            "it is sent, and every later step reads it. Keep files and long texts in the CRM "
            "(notes, attachments) and send their ids.",
            details=[{"field": "", "message": f"at most {max_bytes} bytes"}],
        )
    data = None
    if request.is_json:
        try:
            data = loads_strict(request.get_data(cache=True))
        except NotStorable as exc:  # JSON, but what cannot be stored: said as such
            raise InvalidInput(
                f"The body holds {exc}, which cannot be stored: remove it.",
                code="invalid_json",
                details=[{"field": exc.path, "message": exc.what}],
            ) from None
        except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
            data = None
        raw = request.get_data(cache=True)
        if data is not None and (RESERVED_KEY.encode() in raw or b"\\u" in raw):
            _refuse_reserved_key(data)
    if data is None:
        raise InvalidInput(
            "Send a JSON object with Content-Type: application/json.", code="invalid_json"
        )
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object.", code="invalid_json")
    refuse_wrong_types(data, code=invalid_code)
    return data


def _refuse_reserved_key(data: Any) -> None:
    """422 for an object holding the key the engine's stored state reads as a type: an
    instance given it (as data, a payload, a fix) could not be read back (500 on every step)."""
    path = reserved_key_at(data)
    if path is not None:
        raise InvalidInput(
            f"The body has a field named '{RESERVED_KEY}'"
            + (f" in {path}" if path else "")
            + ": Dialflow keeps that name for the types of what it stores. Rename the field.",
            code="invalid_json",
            details=[{"field": path, "message": f"'{RESERVED_KEY}' is a reserved field name"}],
        )


def token_required(view: F) -> F:
    """Resolve ``Authorization: Bearer <token>`` to an active user in ``g.api_user``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send Authorization: Bearer <token>.", code="missing_token")
        with unit_of_work(read_only=True) as db:
            found = user_for_token(db, token.strip())
        if found is None:
            raise Unauthorized("The token is invalid or revoked.", code="invalid_token")
        user, token_row = found
        now = utcnow()
        if token_needs_touch(token_row, now):
            with unit_of_work() as db:
                touch_token(db, token_row.id, now)
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def api_user() -> User:
    return g.api_user


def require_role(*roles: str) -> None:
    """403 unless the token's user has one of ``roles``."""
    if api_user().role.value not in roles:
        raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.")


MAX_PAGE = 200  # a larger limit is this one


def paging() -> tuple[int, int]:
    limit, offset = request.args.get("limit", "50"), request.args.get("offset", "0")
    # ASCII digits only: int() also reads " 5", "+5", "1_0", "١٢" and "５", which the
    # document's integers are not.
    if not all(raw.isascii() and raw.isdigit() for raw in (limit, offset)):
        raise InvalidInput("limit and offset must be whole numbers.", code="invalid_paging")
    # Read no further than a page needs (int() refuses over 4300 digits): a limit of more
    # than 9 digits is the largest page, an offset of more is beyond the deepest.
    limit, offset = limit.lstrip("0") or "0", offset.lstrip("0") or "0"
    size = MAX_PAGE if len(limit) > 9 else min(int(limit), MAX_PAGE)
    skip = MAX_OFFSET + 1 if len(offset) > 9 else int(offset)
    if size < 1 or not 0 <= skip <= MAX_OFFSET:
        raise InvalidInput(
            f"limit must be ≥ 1 and offset between 0 and {MAX_OFFSET}.", code="invalid_paging"
        )
    return size, skip


@api_bp.post("/auth/token")
@documented(
    "Exchange a username and password for a bearer token",
    tag="auth",
    status=201,
    auth=False,
    errors=(401, 422, 429),
    request=obj({"username": STR, "password": STR}, required=["username", "password"]),
    response=obj({"token": STR}),
)
def issue_token() -> ResponseReturnValue:
    data = json_body()
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput(
            "Give username and password as strings.",
            details=[
                {"field": "username", "message": "required"},
                {"field": "password", "message": "required"},
            ],
        )
    now, address = runtime().clock.now(), request.remote_addr
    with unit_of_work() as db:
        signin_limits.check(db, username, address, now)
        user = authenticate(db, username, password)
        if user is None:  # recorded and committed, then refused
            signin_limits.record_failure(db, username, address, now, source="api")
        else:
            token = create_token(db, user, name="api")
            audit.record(
                db,
                actor=user,
                action="sign_in",
                entity_type="user",
                entity_id=user.id,
                source="api",
            )
    if user is None:
        raise Unauthorized("Wrong username or password.", code="invalid_credentials")
    return jsonify({"token": token}), 201
