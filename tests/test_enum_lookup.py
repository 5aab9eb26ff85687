"""Enum members are read from their classes the plain way (``dialflow.enum_lookup``)."""

from __future__ import annotations

import enum

import pytest

import crm.models
import dialflow.db  # noqa: F401  (installs the plain lookup, as every process with a database)
import engine.models
from dialflow import enum_lookup


def _enums() -> list[type[enum.Enum]]:
    found = []
    for module in (crm.models, engine.models):
        for value in vars(module).values():
            if isinstance(value, enum.EnumType) and value not in found:
                found.append(value)
    return found


def test_the_models_enums_are_found():
    assert len(_enums()) >= 5


@pytest.mark.parametrize("cls", _enums(), ids=lambda cls: cls.__name__)
def test_every_member_of_the_models_enums_is_read_from_its_class(cls: type[enum.Enum]):
    for name, member in cls.__members__.items():
        assert getattr(cls, name) is member
        assert cls[name] is member
        assert cls(member.value) is member


def test_members_named_like_properties_and_aliases_are_read_as_before():
    enum_lookup.install()  # idempotent

    class Field(enum.Enum):
        name = 1
        value = 2
        label = 1  # an alias of name

    assert Field.name is Field["name"] and Field.name.value == 1
    assert Field.value is Field["value"] and Field.value.name == "value"
    assert Field.label is Field.name
    assert Field(2) is Field.value


def test_a_missing_name_still_raises_attribute_error():
    class Colour(enum.Enum):
        RED = "red"

    with pytest.raises(AttributeError):
        Colour.BLUE  # noqa: B018
    with pytest.raises(AttributeError):
        Colour.__wrapped__  # noqa: B018
    assert not hasattr(Colour, "GREEN")


def test_enum_classes_no_longer_take_the_metaclass_getattr_path():
    assert "__getattr__" not in vars(enum.EnumType)
