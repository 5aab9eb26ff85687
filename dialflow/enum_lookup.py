"""Enum members read from their class without Python 3.11's ``EnumType.__getattr__``.

On Python 3.11 ``EnumType`` still defines ``__getattr__`` to find a member by name, which
members no longer need: each one is in its class's dictionary (a member named like a property
of the members, such as ``name``, is a property there that returns it). A metaclass with
``__getattr__`` sends every attribute read of its classes down CPython's slower, generic path,
even the reads it never serves: ``InstanceStatus.RUNNING``, and the states SQLAlchemy's
sessions and transactions check several times per unit of work, each time. Python 3.12
removed the method as no longer needed for attribute access (gh-95083); :func:`install`
removes it on 3.11 too, after checking on a sample enum that members are found without it.
What a read of a missing name raises stays ``AttributeError``.
"""

from __future__ import annotations

import enum


def install() -> None:
    """Idempotent; does nothing where ``EnumType`` has no ``__getattr__`` (3.12 and later)."""
    if "__getattr__" in vars(enum.EnumType) and _members_found_without_it():
        del enum.EnumType.__getattr__  # type: ignore[misc]


def _members_found_without_it() -> bool:
    """Whether the ordinary class lookup finds every member of a sample enum, aliases and
    members named like the members' own properties included."""

    class Sample(enum.Enum):
        first = 1
        alias = 1
        name = 2
        value = 3

    lookup = type.__getattribute__
    try:
        return all(lookup(Sample, key) is member for key, member in Sample.__members__.items())
    except AttributeError:
        return False
