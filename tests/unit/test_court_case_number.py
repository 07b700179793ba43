"""Court case numbers (案号): parsing, canonical form, errors and division routing."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from plugins.court.case_number import (
    CASE_TYPES,
    PROVINCES,
    CaseNumber,
    parse_case_number,
    route_division,
)

TODAY = date(2025, 6, 1)
EXAMPLE = "(2024)京0105民初12345号"


def parse(text: str) -> CaseNumber:
    return parse_case_number(text, today=TODAY)


def error_of(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse(text)
    return info.value


def test_basic_court_civil_first_instance() -> None:
    case = parse(EXAMPLE)
    assert case == CaseNumber(
        text=EXAMPLE,
        year=2024,
        court_code="京0105",
        province="北京市",
        case_type="民初",
        sequence=12345,
        category="civil",
        stage="first_instance",
    )
    assert case.court_level == "basic"
    assert str(case) == EXAMPLE


@pytest.mark.parametrize(
    ("text", "court_code", "level", "province"),
    [
        ("(2023)京01民终88号", "京01", "intermediate", "北京市"),
        ("(2023)京73民初1号", "京73", "intermediate", "北京市"),  # 知识产权法院
        ("(2023)粤民再5号", "粤", "high", "广东省"),
        ("(2022)最高法民申1234号", "最高法", "supreme", ""),
        ("(2021)新0102刑初9号", "新0102", "basic", "新疆维吾尔自治区"),
        ("(2021)兵0101民初9号", "兵0101", "basic", "新疆生产建设兵团"),
    ],
)
def test_court_code_determines_court_level(
    text: str, court_code: str, level: str, province: str
) -> None:
    case = parse(text)
    assert (case.court_code, case.court_level, case.province) == (court_code, level, province)


@pytest.mark.parametrize(
    "spelling",
    [
        "（2024）京0105民初12345号",
        "〔2024〕京0105民初12345号",
        "[2024]京0105民初12345号",
        "【2024】京0105民初12345号",
        " (2024) 京0105 民初 12345 号 ",
        "（２０２４）京０１０５民初１２３４５号",
        "(2024)京0105民初第12345号",
        "(2024)京0105民初012345号",
    ],
)
def test_bracket_width_spaces_and_stray_di_are_canonicalised(spelling: str) -> None:
    assert parse(spelling).text == EXAMPLE


def test_plate_style_abbreviations_fold_to_official_court_codes() -> None:
    assert parse("(2023)蒙01执异7号").court_code == "内01"
    assert parse("(2023)贵0102民初7号").text == "(2023)黔0102民初7号"


@pytest.mark.parametrize(
    ("case_type", "category", "stage"),
    [
        ("民初", "civil", "first_instance"),
        ("民终", "civil", "appeal"),
        ("民申", "civil", "retrial_review"),
        ("民再", "civil", "retrial"),
        ("民特", "civil", "other"),
        ("民催", "civil", "other"),
        ("民督", "civil", "other"),
        ("刑初", "criminal", "first_instance"),
        ("刑终", "criminal", "appeal"),
        ("刑申", "criminal", "retrial_review"),
        ("刑再", "criminal", "retrial"),
        ("行初", "administrative", "first_instance"),
        ("行终", "administrative", "appeal"),
        ("行申", "administrative", "retrial_review"),
        ("行再", "administrative", "retrial"),
        ("执", "execution", "execution"),
        ("执恢", "execution", "execution"),
        ("执异", "execution", "execution_objection"),
        ("执复", "execution", "execution_review"),
        ("执监", "execution", "execution_review"),
        ("执保", "execution", "preservation"),
        ("破", "civil", "other"),
        ("赔", "state_compensation", "other"),
        ("法赔", "state_compensation", "first_instance"),
        ("司救", "other", "other"),
    ],
)
def test_required_case_types_map_to_category_and_stage(
    case_type: str, category: str, stage: str
) -> None:
    case = parse(f"(2024)京0105{case_type}7号")
    assert (case.case_type, case.category, case.stage) == (case_type, category, stage)


@pytest.mark.parametrize(
    ("case_type", "division"),
    [
        ("民初", "trial"),
        ("民终", "trial"),
        ("民再", "trial"),
        ("刑初", "trial"),
        ("行终", "trial"),
        ("民申", "filing"),
        ("刑申", "filing"),
        ("行申", "filing"),
        ("民监", "filing"),
        ("财保", "filing"),
        ("司救民", "filing"),
        ("执", "execution"),
        ("执异", "execution"),
        ("执复", "execution"),
        ("执恢", "execution"),
        ("执保", "execution"),
        ("执监", "execution"),
    ],
)
def test_route_division(case_type: str, division: str) -> None:
    assert route_division(parse(f"(2024)京01{case_type}1号")) == division


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "case_number_format"),
        ("2024京0105民初12345号", "case_number_format"),
        ("(2024)京0105民初12345", "case_number_format"),
        ("(2010)海民初字第1234号", "case_number_format"),
        ("(24)京0105民初1号", "case_number_year"),
        ("(1989)京0105民初1号", "case_number_year"),
        ("(2026)京0105民初1号", "case_number_year"),
        ("(二〇二四)京0105民初1号", "case_number_year"),
        ("(2024)港01民初1号", "case_number_court"),
        ("(2024)0105民初1号", "case_number_court"),
        ("(2024)京010民初1号", "case_number_court"),
        ("(2024)京01051民初1号", "case_number_court"),
        ("(2024)最高法01民初1号", "case_number_court"),
        ("(2024)京0105民x1号", "case_number_type"),
        ("(2024)京0105民事1号", "case_number_type"),
        ("(2024)京012345号", "case_number_type"),
        ("(2024)京0105号", "case_number_type"),
        ("(2024)京0105民初号", "case_number_sequence"),
        ("(2024)京0105民初0号", "case_number_sequence"),
        ("(2024)京0105民初12a号", "case_number_sequence"),
        ("(2024)京0105民初123456789号", "case_number_sequence"),
    ],
)
def test_each_wrong_part_has_its_own_error_code(text: str, code: str) -> None:
    error = error_of(text)
    assert error.code == code
    assert error.field == "case_number"
    assert EXAMPLE in error.message


def test_error_names_the_wrong_part() -> None:
    assert "收案年度" in error_of("(2030)京0105民初1号").message
    assert "法院代字" in error_of("(2024)港01民初1号").message
    assert "类型代字" in error_of("(2024)京0105民x1号").message
    assert "案件编号" in error_of("(2024)京0105民初0号").message


@pytest.mark.parametrize("misplaced", ["110105199001011232", "13812345678", "(13812345678)"])
def test_personal_data_typed_into_the_field_is_not_echoed(misplaced: str) -> None:
    error = error_of(misplaced)
    assert error.code == "case_number_format"
    assert misplaced.strip("()") not in error.message


def test_current_year_is_accepted_and_next_year_is_not() -> None:
    assert parse(f"({TODAY.year})京01民初1号").year == TODAY.year
    assert error_of(f"({TODAY.year + 1})京01民初1号").code == "case_number_year"


def test_custom_field_name() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_case_number("x", today=TODAY, field="original_case_number")
    assert info.value.field == "original_case_number"


# --- properties --------------------------------------------------------------------

court_codes = st.one_of(
    st.just("最高法"),
    st.builds(
        lambda p, digits: p + digits,
        st.sampled_from(sorted(PROVINCES)),
        st.one_of(
            st.just(""),
            st.integers(1, 99).map(lambda n: f"{n:02d}"),
            st.integers(101, 9999).map(lambda n: f"{n:04d}"),
        ),
    ),
)
case_parts = st.tuples(
    st.integers(1990, TODAY.year),
    court_codes,
    st.sampled_from(sorted(CASE_TYPES)),
    st.integers(1, 99_999_999),
)


@given(case_parts)
def test_generated_case_numbers_parse_to_their_parts(
    parts: tuple[int, str, str, int],
) -> None:
    year, court_code, case_type, sequence = parts
    text = f"({year}){court_code}{case_type}{sequence}号"
    case = parse(text)
    assert (case.text, case.year, case.court_code, case.case_type, case.sequence) == (
        text,
        year,
        court_code,
        case_type,
        sequence,
    )
    assert (case.category, case.stage) == CASE_TYPES[case_type]


@given(case_parts, st.sampled_from(["（）", "〔〕", "[]", "()"]), st.sampled_from(["", " ", "  "]))
def test_canonical_text_is_a_fixed_point(
    parts: tuple[int, str, str, int], brackets: str, space: str
) -> None:
    year, court_code, case_type, sequence = parts
    messy = (
        f"{brackets[0]}{year}{brackets[1]}{space}{court_code}{space}{case_type}{space}{sequence}号"
    )
    canonical = parse(messy).text
    assert parse(canonical).text == canonical
    assert "(" in canonical and "（" not in canonical


@given(case_parts)
def test_routing_is_total_and_execution_cases_go_to_execution(
    parts: tuple[int, str, str, int],
) -> None:
    year, court_code, case_type, sequence = parts
    case = parse(f"({year}){court_code}{case_type}{sequence}号")
    division = route_division(case)
    assert division in ("filing", "execution", "trial")
    assert (division == "execution") == case_type.startswith("执")
