"""Checks every request passes before a view runs: text in the URL the databases can hold.

A NUL character (``%00``) in a query parameter or a path segment cannot be stored by either
database, nor searched: SQLite refuses a statement that contains one, and PostgreSQL refuses it
in text parameters (and ends a string literal at it). No stored value can hold one, so a NUL in
a path segment is simply not found, and one in a query parameter is a 422 naming it — on the
API and on the pages alike, before any view turns it into SQL.
"""

from __future__ import annotations

from flask import Flask, request

from dialflow.errors import InvalidInput, NotFound


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_in_url)


def refuse_nul_in_url() -> None:
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and "\x00" in value:
            raise NotFound("Nothing is stored under a name with a NUL character.")
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            field = name.replace("\x00", "")
            raise InvalidInput(
                f"The query parameter {field!r} may not contain a NUL character.",
                details=[{"field": field, "message": "May not contain a NUL character."}],
            )
