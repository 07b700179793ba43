"""Personal data: ID numbers, phones, masking and lookup canonicalisation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from core.domain.identity import (
    birth_date_from_id,
    gender_from_id,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_for_lookup,
    normalize_id_number,
    normalize_phone,
)
from core.errors import InvalidInput

TODAY = date(2025, 6, 1)
# Region codes listed without a date range in the national table (valid for any birth year).
REGIONS = ("110105", "110101", "310104", "120101")


def make_id(region: str, born: date, order: int) -> str:
    body = f"{region}{born:%Y%m%d}{order:03d}"
    return body + ric.calc_check_digit(body + "0")


def wrong_check_digit(number: str) -> str:
    return number[:17] + next(c for c in "0123456789X" if c != number[17])


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    born = draw(st.dates(min_value=date(1896, 1, 1), max_value=TODAY))
    order = draw(st.integers(min_value=0, max_value=999))
    return make_id(region, born, order)


def id_error(value: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        normalize_id_number(value, today=TODAY)
    return info.value


# --- ID numbers ----------------------------------------------------------------------


@given(valid_ids())
def test_valid_id_numbers_are_accepted_unchanged(number: str) -> None:
    assert normalize_id_number(number, today=TODAY) == number


@given(valid_ids())
def test_spaces_and_lowercase_x_normalize_to_the_same_number(number: str) -> None:
    spaced = f" {number[:6]} {number[6:14]} {number[14:].lower()} "
    assert normalize_id_number(spaced, today=TODAY) == number


def test_full_width_characters_from_chinese_input_methods_are_folded() -> None:
    number = make_id("110105", date(1990, 1, 1), 123)
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert normalize_id_number(full_width, today=TODAY) == number


@given(valid_ids())
def test_a_wrong_check_digit_is_reported_as_checksum_error(number: str) -> None:
    error = id_error(wrong_check_digit(number))
    assert error.code == "id_number_checksum"
    assert error.field == "id_number"


@given(valid_ids(), st.integers(min_value=0, max_value=16), st.integers(1, 9))
def test_any_single_digit_change_is_detected(number: str, pos: int, delta: int) -> None:
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    with pytest.raises(InvalidInput):
        normalize_id_number(changed, today=TODAY)


def test_fifteen_digit_old_card_number_asks_for_the_18_digit_number() -> None:
    error = id_error("110105900101123")
    assert error.code == "id_number_length"
    assert "15位" in error.message and "18位" in error.message


@pytest.mark.parametrize("value", ["", "1101051990", "1101051990010112345"])
def test_other_lengths_are_length_errors(value: str) -> None:
    assert id_error(value).code == "id_number_length"


@pytest.mark.parametrize(
    "value", ["11010519900101123A", "1101051990010112X4", "11010519900101١٢٣4"]
)
def test_letters_or_foreign_digits_are_format_errors(value: str) -> None:
    assert id_error(value).code == "id_number_format"


def test_impossible_birth_date_is_a_birth_date_error() -> None:
    body = "11010519900230123"  # 30 February
    assert id_error(body + ric.calc_check_digit(body + "0")).code == "id_number_birth_date"


def test_birth_date_after_today_is_refused() -> None:
    error = id_error(make_id("110105", TODAY + timedelta(days=1), 1))
    assert error.code == "id_number_birth_date"


def test_birth_today_is_accepted() -> None:
    number = make_id("110105", TODAY, 1)
    assert normalize_id_number(number, today=TODAY) == number


def test_age_130_is_accepted_but_older_is_refused() -> None:
    # TODAY is 2025-06-01: born 1894-06-02 is 130 years old, born 1894-06-01 turns 131.
    oldest = make_id("110105", date(1894, 6, 2), 1)
    assert normalize_id_number(oldest, today=TODAY) == oldest
    assert id_error(make_id("110105", date(1894, 6, 1), 1)).code == "id_number_birth_date"


def test_unknown_region_code_is_refused() -> None:
    assert id_error(make_id("999999", date(1990, 1, 1), 1)).code == "id_number_region"


def test_region_created_after_birth_year_is_still_accepted() -> None:
    # 330106 西湖区 exists since 1983; people born earlier hold cards with that code.
    number = make_id("330106", date(1950, 3, 1), 12)
    assert normalize_id_number(number, today=TODAY) == number


def test_custom_field_name_is_reported() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_id_number("123", today=TODAY, field="representatives[2].id_number")
    assert info.value.field == "representatives[2].id_number"


@st.composite
def invalid_ids(draw: st.DrawFn) -> str:
    number = draw(valid_ids())
    kind = draw(st.sampled_from(["checksum", "truncate", "letter", "future"]))
    if kind == "checksum":
        return wrong_check_digit(number)
    if kind == "truncate":
        return number[: draw(st.integers(6, 17))]
    if kind == "letter":
        pos = draw(st.integers(0, 16))
        return number[:pos] + "A" + number[pos + 1 :]
    return make_id("110105", TODAY + timedelta(days=draw(st.integers(1, 3000))), 5)


@given(invalid_ids())
def test_error_messages_never_contain_the_id_number(value: str) -> None:
    error = id_error(value)
    assert error.code.startswith("id_number_")
    for text in (error.message, str(error), repr(error.as_dict())):
        assert value not in text
        assert value[-6:] not in text


@given(valid_ids())
def test_birth_date_and_gender_are_read_from_the_number(number: str) -> None:
    assert birth_date_from_id(number) == date(
        int(number[6:10]), int(number[10:12]), int(number[12:14])
    )
    expected = "male" if int(number[16]) % 2 else "female"
    assert gender_from_id(number) == expected


def test_gender_from_known_numbers() -> None:
    assert gender_from_id(make_id("110105", date(1990, 1, 1), 123)) == "male"
    assert gender_from_id(make_id("110105", date(1990, 1, 1), 124)) == "female"


def test_birth_date_from_an_invalid_number_raises() -> None:
    with pytest.raises(InvalidInput):
        birth_date_from_id("110105199001011239X")


# --- phones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("010-12345678", "010-12345678"),
        ("01065123456", "010-65123456"),
        ("(010) 6512 3456", "010-65123456"),
        ("0571 8888 8888", "0571-88888888"),
        ("0571-8888-8888", "0571-88888888"),
        ("+86 10 6512 3456", "010-65123456"),
        ("020-8888666", "020-8888666"),
        ("010-12345678转123", "010-12345678转123"),
        ("010-12345678 分机 123", "010-12345678转123"),
        ("010-12345678-123", "010-12345678转123"),
        ("010-12345678 ext. 9", "010-12345678转9"),
    ],
)
def test_phone_spellings_normalize_to_canonical_form(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",  # 12345 government hotline
        "95598",  # State Grid service number
        "110",
        "4008123123",
        "1381234567",  # 10 digits
        "138123456789",
        "12812345678",  # no 12x mobile prefix
        "65123456",  # landline without area code
        "011-65123456",
        "010-0123456",
        "13812345678转12",  # mobiles have no extensions
        "138abc45678",
        "+1 415 555 0100",
    ],
)
def test_numbers_that_cannot_reach_the_petitioner_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(raw, field="contact_phone")
    assert info.value.code == "phone_format"
    assert info.value.field == "contact_phone"


mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}",
    st.sampled_from("3456789"),
    st.integers(0, 10**9 - 1),
)


@given(mobiles, st.sampled_from(["", "+86 ", "86", "0086-"]), st.sampled_from(["", " ", "-"]))
def test_mobile_numbers_round_trip_through_any_spelling(mobile: str, cc: str, sep: str) -> None:
    spelled = cc + sep.join([mobile[:3], mobile[3:7], mobile[7:]])
    assert normalize_phone(spelled) == mobile
    assert normalize_phone(normalize_phone(spelled)) == mobile


@given(st.text(alphabet="0123456789 -+()转", max_size=20))
def test_phone_errors_never_echo_the_input(raw: str) -> None:
    try:
        normalize_phone(raw)
    except InvalidInput as error:
        digits = "".join(c for c in raw if c.isdigit())
        if len(digits) >= 4:
            assert digits not in error.message
        if len(raw.strip()) >= 4:
            assert raw.strip() not in error.message


# --- masking ---------------------------------------------------------------------


def test_id_number_is_masked_to_region_and_last_four() -> None:
    assert mask_id_number("110105199001011234") == "110105********1234"
    assert mask_id_number("11010519900101123x") == "110105********123X"


def test_malformed_id_number_is_fully_masked() -> None:
    assert mask_id_number("1101051990") == "**********"
    assert "1990" not in mask_id_number("1101051990")


@given(valid_ids())
def test_masked_id_hides_the_birth_date(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == 18
    assert number[6:14] not in masked


def test_mobile_is_masked_in_the_middle() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"


def test_landline_keeps_area_code_and_last_four_and_drops_extension() -> None:
    assert mask_phone("010-65123456") == "010-****3456"
    assert mask_phone("0571-88889999转123") == "0571-****9999"


def test_unparsable_phone_keeps_only_last_four() -> None:
    assert mask_phone("12345678901234") == "**********1234"
    assert mask_phone("123") == "****"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张**"), ("张三", "张*"), ("张", "*"), ("欧阳娜娜", "欧***"), ("", "")],
)
def test_names_keep_only_the_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("北京市朝阳区建国路88号院3号楼", "北京市朝阳区****"),
        ("浙江省杭州市西湖区文三路1号", "浙江省杭州市西湖区****"),
        ("内蒙古自治区呼和浩特市新城区某街道", "内蒙古自治区呼和浩特市新城区****"),
        ("山东省济南市市中区经十路1号", "山东省济南市市中区****"),
        ("海淀区中关村大街1号", "海淀区****"),
    ],
)
def test_address_keeps_the_county_level_prefix(address: str, masked: str) -> None:
    assert mask_address(address) == masked


def test_address_without_district_reveals_no_building_number() -> None:
    masked = mask_address("和平里小区3号楼2单元")
    assert masked.endswith("****")
    assert "3号楼" not in masked


@given(st.text(alphabet="北京市朝阳区小路号12省县旗自治州", min_size=1, max_size=40))
def test_masked_address_is_a_prefix_followed_by_stars(address: str) -> None:
    masked = mask_address(address)
    assert masked.endswith("****")
    assert address.startswith(masked[:-4])
    if len(address) > 1:
        assert masked[:-4], "some administrative context stays visible"


# --- lookup canonicalisation ---------------------------------------------------------


@given(valid_ids())
def test_id_lookup_text_matches_the_stored_normalized_number(number: str) -> None:
    stored = normalize_id_number(number, today=TODAY)
    assert normalize_for_lookup("id_number", number.lower() + " ") == stored
    assert normalize_for_lookup("id_number", " " + number) == stored


def test_id_lookup_rejects_a_number_with_a_bad_checksum() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_for_lookup("id_number", wrong_check_digit(make_id("110105", TODAY, 1)))
    assert info.value.code == "id_number_checksum"


@given(mobiles)
def test_phone_lookup_text_ignores_spelling(mobile: str) -> None:
    assert normalize_for_lookup("phone", f"+86 {mobile[:3]}-{mobile[3:]}") == mobile


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("张三", " 张 三 "),
        ("阿卜杜拉·买买提", "阿卜杜拉・买买提"),
        ("阿卜杜拉·买买提", "阿卜杜拉．买买提"),
        ("John Smith", "JOHN SMITH"),
    ],
)
def test_name_lookup_text_ignores_spacing_case_and_dot_variants(a: str, b: str) -> None:
    assert normalize_for_lookup("name", a) == normalize_for_lookup("name", b)


def test_different_names_have_different_lookup_text() -> None:
    assert normalize_for_lookup("name", "张三") != normalize_for_lookup("name", "张山")


def test_blank_name_lookup_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_for_lookup("name", "   ")
    assert info.value.code == "name_required"


@given(valid_ids())
def test_lookup_text_is_idempotent(number: str) -> None:
    once = normalize_for_lookup("id_number", number)
    assert normalize_for_lookup("id_number", once) == once
