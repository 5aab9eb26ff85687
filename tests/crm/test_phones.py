"""Phone numbers: what people type becomes E.164, and what they may not see is masked."""

from __future__ import annotations

import pytest

from crm.phones import mask_phone, normalize_phone, try_normalize_phone
from dialflow.errors import InvalidInput


@pytest.mark.parametrize(
    "raw",
    [
        "138 0013 8000",
        "138-0013-8000",
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        "  138 0013 8000  ",
    ],
)
def test_mobile_numbers_in_common_formats_become_e164(raw):
    assert normalize_phone(raw) == "+8613800138000"


@pytest.mark.parametrize("raw", ["(010) 6552 9988", "010-6552 9988", "01065529988"])
def test_landline_with_area_code_becomes_e164(raw):
    assert normalize_phone(raw) == "+861065529988"


def test_numbers_from_other_regions_keep_their_country_code():
    assert normalize_phone("+1 650 253 0000") == "+16502530000"


@pytest.mark.parametrize("raw", ["12345", "abc", "", "   ", "+86 100 0000 0000", "138001380"])
def test_invalid_numbers_are_refused_with_invalid_phone(raw):
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw)
    error = caught.value
    assert error.code == "invalid_phone"
    assert error.status == 422
    assert error.message
    assert error.details == [{"field": "phone", "message": error.message}]


def test_invalid_phone_names_the_field_it_came_from():
    with pytest.raises(InvalidInput) as caught:
        normalize_phone("12345", field="phones[2]")
    assert caught.value.details[0]["field"] == "phones[2]"
    assert "12345" in caught.value.details[0]["message"]


def test_none_is_refused_like_an_empty_number():
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(None)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_phone"


def test_try_normalize_returns_none_instead_of_raising():
    assert try_normalize_phone("138-0013-8000") == "+8613800138000"
    assert try_normalize_phone("8000") is None
    assert try_normalize_phone("王小明") is None


def test_mask_phone_hides_the_middle_of_a_mainland_mobile():
    assert mask_phone("+8613800138000") == "138****8000"
    assert mask_phone("+8613912345678") == "139****5678"


def test_mask_phone_never_reveals_the_full_number():
    for e164 in ("+8613800138000", "+861065529988", "+16502530000"):
        masked = mask_phone(e164)
        assert "****" in masked
        assert e164.lstrip("+") not in masked
        assert e164[-8:] not in masked


def test_mask_phone_on_a_very_short_number_hides_everything():
    assert set(mask_phone("+123")) == {"*"}
