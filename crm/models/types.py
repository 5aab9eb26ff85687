"""Column helpers shared by the models."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def str_enum(enum_cls: type[enum.StrEnum], length: int = 24, name: str | None = None) -> Enum:
    """Store a StrEnum by value in a VARCHAR with a CHECK constraint, the same on every backend.

    ``name`` names the CHECK constraint; give one when a table has two columns of one enum.
    """
    return Enum(
        enum_cls,
        name=name or enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
